//! Nova's policy: oslo.policy rules (check strings) with Nova's defaults for
//! the calls porthole serves, operator overrides, and their evaluation
//! against a caller's credentials and a target (`{project_id: …}`).
//!
//! The check-string grammar is oslo.policy's: `role:<name>`, `rule:<name>`,
//! `<key>:<value>` (the value a literal, or `%(<target key>)s`), `@` (always),
//! `!` (never), `and`, `or`, `not`, parentheses; `and` binds tighter than
//! `or`; the empty string is "always". Unlike oslo.policy, which logs and
//! denies, a check it cannot understand or a `rule:` naming no rule is an
//! error when the policy is loaded.

use std::collections::BTreeMap;
use std::fmt;

/// A parsed check string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// `@` or the empty string.
    Always,
    /// `!`.
    Never,
    /// `role:<name>` (case-insensitive).
    Role(String),
    /// `rule:<name>`.
    Rule(String),
    /// `<key>:<value>`: the credential `key` equals the literal or target value.
    Generic {
        key: String,
        value: Value,
    },
    Not(Box<Check>),
    And(Vec<Check>),
    Or(Vec<Check>),
}

/// The right-hand side of a generic check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Literal(String),
    /// `%(<key>)s`: taken from the target.
    Target(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    Check(String),
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    for word in text.split_whitespace() {
        let trimmed = word.trim_start_matches('(');
        tokens.extend(std::iter::repeat_n(Token::Open, word.len() - trimmed.len()));
        let inner = trimmed.trim_end_matches(')');
        let closes = trimmed.len() - inner.len();
        if !inner.is_empty() {
            tokens.push(match inner.to_ascii_lowercase().as_str() {
                "and" => Token::And,
                "or" => Token::Or,
                "not" => Token::Not,
                _ => Token::Check(inner.to_owned()),
            });
        }
        tokens.extend(std::iter::repeat_n(Token::Close, closes));
    }
    tokens
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn or_expr(&mut self) -> Result<Check, ParseError> {
        let mut terms = vec![self.and_expr()?];
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            terms.push(self.and_expr()?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().expect("one")
        } else {
            Check::Or(terms)
        })
    }

    fn and_expr(&mut self) -> Result<Check, ParseError> {
        let mut terms = vec![self.not_expr()?];
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            terms.push(self.not_expr()?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().expect("one")
        } else {
            Check::And(terms)
        })
    }

    fn not_expr(&mut self) -> Result<Check, ParseError> {
        match self.next() {
            Some(Token::Not) => Ok(Check::Not(Box::new(self.not_expr()?))),
            Some(Token::Open) => {
                let inner = self.or_expr()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err(ParseError("unbalanced parentheses".into())),
                }
            }
            Some(Token::Check(text)) => parse_check(&text),
            Some(Token::Close) => Err(ParseError("unexpected ')'".into())),
            Some(Token::And) => Err(ParseError("unexpected 'and'".into())),
            Some(Token::Or) => Err(ParseError("unexpected 'or'".into())),
            None => Err(ParseError("unexpected end of rule".into())),
        }
    }
}

fn parse_check(text: &str) -> Result<Check, ParseError> {
    match text {
        "@" => return Ok(Check::Always),
        "!" => return Ok(Check::Never),
        _ => {}
    }
    let Some((kind, rest)) = text.split_once(':') else {
        return Err(ParseError(format!("'{text}' is not a check (kind:match)")));
    };
    if kind.is_empty() || rest.is_empty() {
        return Err(ParseError(format!("'{text}' is not a check (kind:match)")));
    }
    Ok(match kind {
        "role" => Check::Role(rest.to_ascii_lowercase()),
        "rule" => Check::Rule(rest.to_owned()),
        "http" | "https" => {
            return Err(ParseError(format!(
                "'{text}': remote (http) checks are not supported"
            )))
        }
        _ => {
            let value = match rest.strip_prefix("%(").and_then(|r| r.strip_suffix(")s")) {
                Some(key) if !key.is_empty() => Value::Target(key.to_owned()),
                _ => Value::Literal(rest.trim_matches(|c| c == '\'' || c == '"').to_owned()),
            };
            Check::Generic {
                key: kind.to_owned(),
                value,
            }
        }
    })
}

/// Parse one check string.
pub fn parse(text: &str) -> Result<Check, ParseError> {
    let tokens = tokenize(text);
    if tokens.is_empty() {
        return Ok(Check::Always);
    }
    let mut parser = Parser { tokens, at: 0 };
    let check = parser.or_expr()?;
    if parser.at < parser.tokens.len() {
        return Err(ParseError(format!(
            "unexpected {:?} after a complete rule",
            parser.tokens[parser.at]
        )));
    }
    Ok(check)
}

/// What a check is evaluated against (from the caller's token).
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    pub user_id: &'a str,
    /// `None`: noauth without a project, which stands for every project.
    pub project_id: Option<&'a str>,
    /// Lower-case role names, implications applied.
    pub roles: &'a [String],
    pub is_admin: bool,
}

/// The object of the call: `{project_id: <server's project>}` in Nova.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub project_id: &'a str,
}

impl Target<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "project_id" => Some(self.project_id),
            _ => None,
        }
    }
}

pub const CONTEXT_IS_ADMIN: &str = "context_is_admin";
pub const ATTACH_EXTERNAL_NETWORK: &str = "network:attach_external_network";

/// Nova's defaults (nova/policies/base.py and the policies of the routes served).
pub const DEFAULT_RULES: &[(&str, &str)] = &[
    (CONTEXT_IS_ADMIN, "role:admin"),
    ("admin_api", "role:admin"),
    (
        "project_reader_api",
        "role:reader and project_id:%(project_id)s",
    ),
    (
        "project_member_api",
        "role:member and project_id:%(project_id)s",
    ),
    (
        "project_reader_or_admin",
        "rule:project_reader_api or rule:context_is_admin",
    ),
    (
        "project_member_or_admin",
        "rule:project_member_api or rule:context_is_admin",
    ),
    (
        "os_compute_api:os-attach-interfaces:list",
        "rule:project_reader_or_admin",
    ),
    (
        "os_compute_api:os-attach-interfaces:show",
        "rule:project_reader_or_admin",
    ),
    (
        "os_compute_api:os-attach-interfaces:create",
        "rule:project_member_or_admin",
    ),
    (
        "os_compute_api:os-attach-interfaces:delete",
        "rule:project_member_or_admin",
    ),
    (
        "os_compute_api:os-instance-actions:list",
        "rule:project_reader_or_admin",
    ),
    (
        "os_compute_api:os-instance-actions:show",
        "rule:project_reader_or_admin",
    ),
    (
        "os_compute_api:os-instance-actions:events",
        "rule:admin_api",
    ),
    (
        "os_compute_api:os-instance-actions:events:details",
        "rule:project_reader_or_admin",
    ),
    (ATTACH_EXTERNAL_NETWORK, "rule:context_is_admin"),
    (
        "os_compute_api:servers:index",
        "rule:project_reader_or_admin",
    ),
    (
        "os_compute_api:servers:detail",
        "rule:project_reader_or_admin",
    ),
    (
        "os_compute_api:servers:index:get_all_tenants",
        "rule:admin_api",
    ),
    (
        "os_compute_api:servers:detail:get_all_tenants",
        "rule:admin_api",
    ),
    (
        "os_compute_api:servers:show",
        "rule:project_reader_or_admin",
    ),
    (
        "os_compute_api:servers:create",
        "rule:project_member_or_admin",
    ),
    (
        "os_compute_api:servers:delete",
        "rule:project_member_or_admin",
    ),
    (
        "os_compute_api:os-lock-server:lock",
        "rule:project_member_or_admin",
    ),
    (
        "os_compute_api:os-lock-server:unlock",
        "rule:project_member_or_admin",
    ),
    (
        "os_compute_api:servers:stop",
        "rule:project_member_or_admin",
    ),
    (
        "os_compute_api:servers:start",
        "rule:project_member_or_admin",
    ),
    (
        "os_compute_api:os-pause-server:pause",
        "rule:project_member_or_admin",
    ),
    (
        "os_compute_api:os-pause-server:unpause",
        "rule:project_member_or_admin",
    ),
    (
        "os_compute_api:os-suspend-server:suspend",
        "rule:project_member_or_admin",
    ),
    (
        "os_compute_api:os-suspend-server:resume",
        "rule:project_member_or_admin",
    ),
];

/// A loaded policy: every rule parsed, every `rule:` reference resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    rules: BTreeMap<String, Check>,
    /// The same rules for evaluation: a `rule:` reference is an index into
    /// `compiled` (every compute call evaluates a chain of them).
    compiled: Vec<Compiled>,
    index: HashMap<String, usize>,
}

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A [`Check`] with its references resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Compiled {
    Always,
    Never,
    Role(String),
    Rule(usize),
    Generic { key: Credential, value: Value },
    Not(Box<Compiled>),
    And(Vec<Compiled>),
    Or(Vec<Compiled>),
}

/// The credential a generic check compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    ProjectId,
    UserId,
    IsAdmin,
    /// Any other key: never matches.
    Other,
}

impl Compiled {
    /// `check` with each `rule:` as its index in `index` (every reference
    /// was checked to exist).
    fn of(check: &Check, index: &HashMap<String, usize>) -> Self {
        let all = |checks: &[Check]| checks.iter().map(|c| Compiled::of(c, index)).collect();
        match check {
            Check::Always => Compiled::Always,
            Check::Never => Compiled::Never,
            Check::Role(role) => Compiled::Role(role.clone()),
            Check::Rule(name) => index
                .get(name)
                .map_or(Compiled::Never, |&i| Compiled::Rule(i)),
            Check::Generic { key, value } => Compiled::Generic {
                key: match key.as_str() {
                    "project_id" => Credential::ProjectId,
                    "user_id" => Credential::UserId,
                    "is_admin" => Credential::IsAdmin,
                    _ => Credential::Other,
                },
                value: value.clone(),
            },
            Check::Not(inner) => Compiled::Not(Box::new(Compiled::of(inner, index))),
            Check::And(checks) => Compiled::And(all(checks)),
            Check::Or(checks) => Compiled::Or(all(checks)),
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::with_overrides(std::iter::empty::<(String, String)>()).expect("defaults are valid")
    }
}

impl Policy {
    /// Nova's defaults with `overrides` (rule → check string) on top.
    pub fn with_overrides<K: Into<String>, V: AsRef<str>>(
        overrides: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, String> {
        let mut rules = BTreeMap::new();
        for (name, text) in DEFAULT_RULES {
            rules.insert(
                (*name).to_owned(),
                parse(text).expect("default rule parses"),
            );
        }
        for (name, text) in overrides {
            let name = name.into();
            let check = parse(text.as_ref()).map_err(|e| {
                format!(
                    "policy rule '{name}': cannot parse \"{}\": {e}",
                    text.as_ref()
                )
            })?;
            rules.insert(name, check);
        }
        let mut policy = Policy {
            rules,
            compiled: Vec::new(),
            index: HashMap::default(),
        };
        policy.check_references()?;
        policy.index = (policy.rules.keys().cloned()).zip(0..).collect();
        policy.compiled = (policy.rules.values())
            .map(|check| Compiled::of(check, &policy.index))
            .collect();
        Ok(policy)
    }

    /// Parse an oslo.policy YAML (or JSON) document: a map of rule → check string.
    pub fn from_yaml(text: &str) -> Result<Self, String> {
        let overrides: BTreeMap<String, String> = if text.trim().is_empty() {
            BTreeMap::new()
        } else {
            serde_norway::from_str(text)
                .map_err(|e| format!("not a map of rule names to check strings: {e}"))?
        };
        Self::with_overrides(overrides)
    }

    fn check_references(&self) -> Result<(), String> {
        fn walk<'c>(check: &'c Check, out: &mut Vec<&'c str>) {
            match check {
                Check::Rule(name) => out.push(name),
                Check::Not(inner) => walk(inner, out),
                Check::And(all) | Check::Or(all) => all.iter().for_each(|c| walk(c, out)),
                _ => {}
            }
        }
        for (name, check) in &self.rules {
            let mut refs = Vec::new();
            walk(check, &mut refs);
            if let Some(missing) = refs.iter().find(|r| !self.rules.contains_key(**r)) {
                return Err(format!(
                    "policy rule '{name}' refers to rule:{missing}, which is not defined"
                ));
            }
        }
        // A cycle would recurse forever at evaluation time.
        for name in self.rules.keys() {
            self.depth(name, 0)?;
        }
        Ok(())
    }

    fn depth(&self, name: &str, depth: usize) -> Result<(), String> {
        if depth > 32 {
            return Err(format!("policy rule '{name}' refers to itself"));
        }
        fn refs(check: &Check, out: &mut Vec<String>) {
            match check {
                Check::Rule(name) => out.push(name.clone()),
                Check::Not(inner) => refs(inner, out),
                Check::And(all) | Check::Or(all) => all.iter().for_each(|c| refs(c, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        if let Some(check) = self.rules.get(name) {
            refs(check, &mut out);
        }
        for next in out {
            self.depth(&next, depth + 1)?;
        }
        Ok(())
    }

    pub fn rule(&self, name: &str) -> Option<&Check> {
        self.rules.get(name)
    }

    /// oslo.policy's `enforce`: an undefined rule denies.
    pub fn allows(&self, rule: &str, credentials: &Credentials, target: &Target) -> bool {
        self.index
            .get(rule)
            .is_some_and(|&i| self.eval(&self.compiled[i], credentials, target))
    }

    fn eval(&self, check: &Compiled, credentials: &Credentials, target: &Target) -> bool {
        match check {
            Compiled::Always => true,
            Compiled::Never => false,
            Compiled::Role(role) => credentials.roles.iter().any(|r| r == role),
            Compiled::Rule(i) => self.eval(&self.compiled[*i], credentials, target),
            Compiled::Not(inner) => !self.eval(inner, credentials, target),
            Compiled::And(all) => all.iter().all(|c| self.eval(c, credentials, target)),
            Compiled::Or(any) => any.iter().any(|c| self.eval(c, credentials, target)),
            Compiled::Generic { key, value } => {
                let wanted = match value {
                    Value::Literal(literal) => literal.as_str(),
                    Value::Target(key) => match target.get(key) {
                        Some(v) => v,
                        None => return false,
                    },
                };
                match key {
                    // noauth without a project acts in every project.
                    Credential::ProjectId => credentials.project_id.is_none_or(|p| p == wanted),
                    Credential::UserId => credentials.user_id == wanted,
                    Credential::IsAdmin => wanted.eq_ignore_ascii_case(if credentials.is_admin {
                        "true"
                    } else {
                        "false"
                    }),
                    Credential::Other => false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn creds<'a>(roles: &'a [String], project: Option<&'a str>) -> Credentials<'a> {
        Credentials {
            user_id: "u",
            project_id: project,
            roles,
            is_admin: roles.iter().any(|r| r == "admin"),
        }
    }

    fn roles(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn grammar() {
        assert_eq!(parse("").unwrap(), Check::Always);
        assert_eq!(parse("@").unwrap(), Check::Always);
        assert_eq!(parse("!").unwrap(), Check::Never);
        assert_eq!(parse("role:Admin").unwrap(), Check::Role("admin".into()));
        assert_eq!(
            parse("role:a or role:b and role:c").unwrap(),
            Check::Or(vec![
                Check::Role("a".into()),
                Check::And(vec![Check::Role("b".into()), Check::Role("c".into())])
            ])
        );
        assert_eq!(
            parse("(role:a or role:b) and not role:c").unwrap(),
            Check::And(vec![
                Check::Or(vec![Check::Role("a".into()), Check::Role("b".into())]),
                Check::Not(Box::new(Check::Role("c".into())))
            ])
        );
        assert_eq!(
            parse("project_id:%(project_id)s").unwrap(),
            Check::Generic {
                key: "project_id".into(),
                value: Value::Target("project_id".into())
            }
        );
        assert_eq!(
            parse("is_admin:True").unwrap(),
            Check::Generic {
                key: "is_admin".into(),
                value: Value::Literal("True".into())
            }
        );
        for bad in [
            "role:a or",
            "(role:a",
            "role:a)",
            "admin",
            "and role:a",
            "role:",
            "role:a role:b",
        ] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn nova_defaults() {
        let policy = Policy::default();
        let target = Target { project_id: "p1" };
        let reader = roles(&["reader"]);
        let member = roles(&["member", "reader"]);
        let admin = roles(&["admin", "member", "reader"]);
        let list = "os_compute_api:os-attach-interfaces:list";
        let create = "os_compute_api:os-attach-interfaces:create";
        assert!(policy.allows(list, &creds(&reader, Some("p1")), &target));
        assert!(!policy.allows(create, &creds(&reader, Some("p1")), &target));
        assert!(!policy.allows(list, &creds(&reader, Some("p2")), &target));
        assert!(policy.allows(create, &creds(&member, Some("p1")), &target));
        assert!(!policy.allows(create, &creds(&member, Some("p2")), &target));
        assert!(policy.allows(create, &creds(&admin, Some("p2")), &target));
        assert!(!policy.allows(
            ATTACH_EXTERNAL_NETWORK,
            &creds(&member, Some("p1")),
            &target
        ));
        assert!(policy.allows(ATTACH_EXTERNAL_NETWORK, &creds(&admin, Some("p1")), &target));
        assert!(!policy.allows("no-such-rule", &creds(&admin, Some("p1")), &target));
    }

    #[test]
    fn overrides_and_errors() {
        let policy = Policy::from_yaml(
            "\"os_compute_api:os-attach-interfaces:create\": \"rule:project_reader_or_admin\"\n\
             \"context_is_admin\": \"role:admin or role:operator\"\n",
        )
        .unwrap();
        let reader = roles(&["reader"]);
        let target = Target { project_id: "p1" };
        assert!(policy.allows(
            "os_compute_api:os-attach-interfaces:create",
            &creds(&reader, Some("p1")),
            &target
        ));
        let operator = roles(&["operator"]);
        assert!(policy.allows(CONTEXT_IS_ADMIN, &creds(&operator, Some("p9")), &target));
        let err = Policy::from_yaml("\"x\": \"role:a or\"").unwrap_err();
        assert!(err.contains("policy rule 'x'"), "{err}");
        let err = Policy::from_yaml("\"x\": \"rule:nope\"").unwrap_err();
        assert!(err.contains("rule:nope"), "{err}");
        let err = Policy::from_yaml("\"x\": \"rule:y\"\n\"y\": \"rule:x\"").unwrap_err();
        assert!(err.contains("refers to itself"), "{err}");
        assert!(Policy::from_yaml("- a list").is_err());
    }

    fn arb_check() -> impl Strategy<Value = Check> {
        let leaf = prop_oneof![
            Just(Check::Always),
            Just(Check::Never),
            "[a-z]{1,6}".prop_map(Check::Role),
            Just(Check::Generic {
                key: "project_id".into(),
                value: Value::Target("project_id".into())
            }),
        ];
        leaf.prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(|c| Check::Not(Box::new(c))),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Check::And),
                prop::collection::vec(inner, 2..4).prop_map(Check::Or),
            ]
        })
    }

    /// Fully parenthesised rendering of a check.
    fn render(check: &Check) -> String {
        match check {
            Check::Always => "@".into(),
            Check::Never => "!".into(),
            Check::Role(r) => format!("role:{r}"),
            Check::Rule(r) => format!("rule:{r}"),
            Check::Generic { key, value } => match value {
                Value::Literal(l) => format!("{key}:{l}"),
                Value::Target(t) => format!("{key}:%({t})s"),
            },
            Check::Not(inner) => format!("not ({})", render(inner)),
            Check::And(all) => all
                .iter()
                .map(|c| format!("({})", render(c)))
                .collect::<Vec<_>>()
                .join(" and "),
            Check::Or(all) => all
                .iter()
                .map(|c| format!("({})", render(c)))
                .collect::<Vec<_>>()
                .join(" or "),
        }
    }

    proptest! {
        #[test]
        fn render_then_parse_keeps_the_meaning(check in arb_check(), role in "[a-z]{1,6}", own in any::<bool>()) {
            let text = render(&check);
            let parsed = parse(&text).unwrap();
            let policy = Policy::default();
            let roles = vec![role];
            let c = creds(&roles, Some(if own { "p1" } else { "p2" }));
            let target = Target { project_id: "p1" };
            let eval = |check: &Check| policy.eval(&Compiled::of(check, &policy.index), &c, &target);
            prop_assert_eq!(eval(&check), eval(&parsed));
        }

        #[test]
        fn parser_never_panics(text in "[a-z:()@! %]{0,40}") {
            let _ = parse(&text);
        }
    }
}
