//! porthole's own minimal Keystone: the directory of domains, projects, users
//! and role assignments (from the config file), password and token
//! authentication, and the tokens it issues. No HTTP here.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::model::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub domain_id: String,
}

#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub password: String,
    pub default_project_id: Option<String>,
}

/// What a token is scoped to (Keystone: at most one of project, domain, system).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Unscoped,
    Project(String),
    Domain(String),
    /// `{"system": {"all": true}}`.
    System,
}

/// An issued token. Opaque id; scoped to a project, a domain, the system,
/// or unscoped (at most one of `project_id`, `domain_id`, `system`).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Token {
    pub id: String,
    pub user_id: String,
    pub project_id: Option<String>,
    pub domain_id: Option<String>,
    pub system: bool,
    /// Role names, implications applied.
    pub roles: Vec<String>,
    pub methods: Vec<String>,
    pub issued_at: Timestamp,
    /// `None`: a static token from the configuration, which never expires.
    pub expires_at: Option<Timestamp>,
    pub audit_id: String,
    /// The audit id of the first token of its chain when it was obtained
    /// with the token method (Keystone's second audit id): revoking that
    /// token revokes this one too.
    pub parent_audit_id: Option<String>,
    /// Revoked tokens are kept (until they expire) so that they are told
    /// apart from tokens that never were.
    pub revoked: bool,
}

/// What `Debug` shows of a secret.
pub const REDACTED: &str = "<redacted>";

// Hand-written so that a password or a token id never reaches a log line.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("domain_id", &self.domain_id)
            .field("password", &REDACTED)
            .field("default_project_id", &self.default_project_id)
            .finish()
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("id", &REDACTED)
            .field("user_id", &self.user_id)
            .field("project_id", &self.project_id)
            .field("domain_id", &self.domain_id)
            .field("system", &self.system)
            .field("roles", &self.roles)
            .field("methods", &self.methods)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("audit_id", &self.audit_id)
            .field("parent_audit_id", &self.parent_audit_id)
            .field("revoked", &self.revoked)
            .finish()
    }
}

impl Token {
    /// Neither expired nor revoked.
    pub fn valid_at(&self, now: Timestamp) -> bool {
        !self.revoked && !self.expired_at(now)
    }

    pub fn expired_at(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }

    pub fn scope(&self) -> Scope {
        match (&self.project_id, &self.domain_id, self.system) {
            (Some(project), _, _) => Scope::Project(project.clone()),
            (None, Some(domain), _) => Scope::Domain(domain.clone()),
            (None, None, true) => Scope::System,
            (None, None, false) => Scope::Unscoped,
        }
    }

    /// Keystone's `audit_ids`: its own, then its chain's first.
    pub fn audit_ids(&self) -> Vec<String> {
        std::iter::once(self.audit_id.clone())
            .chain(self.parent_audit_id.clone())
            .collect()
    }

    /// The audit id a token obtained from this one names as its chain's first.
    pub fn chain_root(&self) -> &str {
        self.parent_audit_id.as_deref().unwrap_or(&self.audit_id)
    }
}

/// What a new token is made of, besides its ids and times.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub user_id: String,
    pub scope: Scope,
    pub methods: Vec<String>,
    /// `None`: the configured lifetime from now.
    pub expires_at: Option<Timestamp>,
    pub parent_audit_id: Option<String>,
}

/// A user as a request names it: by id, or by name within a domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedRef {
    pub id: Option<String>,
    pub name: Option<String>,
    pub domain_id: Option<String>,
    pub domain_name: Option<String>,
}

/// Why authentication failed (all are 401 but the last two).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// Unknown user, wrong password, bad or expired token, no role on the project.
    Unauthorized,
    /// The request names a project that does not exist (Keystone: 401 too).
    ProjectNotFound,
    /// The request is malformed (Keystone: 400 `ValidationError`).
    Invalid(String),
}

/// Role names implied by `names`, Keystone's bootstrap chain
/// (admin ⇒ manager ⇒ member ⇒ reader) applied, sorted.
pub fn implied_roles<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut roles: Vec<String> = super::caller::Roles::from_names(names).names().to_vec();
    if roles.iter().any(|r| r == "admin") {
        roles.push("manager".into());
    }
    roles.sort();
    roles.dedup();
    roles
}

/// A stable id for a name (roles and catalog entries have no configured id).
pub fn derived_id(kind: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("porthole:{kind}:{name}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub domains: Vec<Domain>,
    pub projects: Vec<Project>,
    pub users: Vec<User>,
    /// (user id, project id) → role names as configured.
    pub assignments: HashMap<(String, String), Vec<String>>,
    /// (user id, domain id) → role names as configured.
    pub domain_assignments: HashMap<(String, String), Vec<String>>,
    /// user id → role names on the system (`all`) as configured.
    pub system_assignments: HashMap<String, Vec<String>>,
}

impl Directory {
    pub fn domain(&self, id: &str) -> Option<&Domain> {
        self.domains.iter().find(|d| d.id == id)
    }

    pub fn project(&self, id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.id == id)
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    fn domain_of(&self, r: &NamedRef) -> Result<Option<&Domain>, AuthError> {
        match (&r.domain_id, &r.domain_name) {
            (Some(id), _) => Ok(self.domain(id)),
            (None, Some(name)) => Ok(self.domains.iter().find(|d| &d.name == name)),
            (None, None) => Err(AuthError::Invalid(
                "Expecting to find domain in user or project".into(),
            )),
        }
    }

    pub fn find_user(&self, r: &NamedRef) -> Result<&User, AuthError> {
        if let Some(id) = &r.id {
            return self.user(id).ok_or(AuthError::Unauthorized);
        }
        let name = r
            .name
            .as_ref()
            .ok_or_else(|| AuthError::Invalid("Expecting to find id or name in user".into()))?;
        let domain = self.domain_of(r)?.ok_or(AuthError::Unauthorized)?;
        self.users
            .iter()
            .find(|u| &u.name == name && u.domain_id == domain.id)
            .ok_or(AuthError::Unauthorized)
    }

    pub fn find_project(&self, r: &NamedRef) -> Result<&Project, AuthError> {
        if let Some(id) = &r.id {
            return self.project(id).ok_or(AuthError::ProjectNotFound);
        }
        let name = r
            .name
            .as_ref()
            .ok_or_else(|| AuthError::Invalid("Expecting to find id or name in project".into()))?;
        let domain = self.domain_of(r)?.ok_or(AuthError::ProjectNotFound)?;
        self.projects
            .iter()
            .find(|p| &p.name == name && p.domain_id == domain.id)
            .ok_or(AuthError::ProjectNotFound)
    }

    /// The password method.
    pub fn check_password(&self, r: &NamedRef, password: &str) -> Result<&User, AuthError> {
        let user = self.find_user(r)?;
        if constant_time_eq(user.password.as_bytes(), password.as_bytes()) {
            Ok(user)
        } else {
            Err(AuthError::Unauthorized)
        }
    }

    /// Whether `password` is the user's (in constant time).
    pub fn password_matches(&self, user: &User, password: &str) -> bool {
        constant_time_eq(user.password.as_bytes(), password.as_bytes())
    }

    /// The effective roles of `user_id` on `project_id`, or 401 when none.
    pub fn roles_on(&self, user_id: &str, project_id: &str) -> Result<Vec<String>, AuthError> {
        self.roles_in(user_id, &Scope::Project(project_id.to_owned()))
    }

    /// The effective roles of `user_id` in `scope` (none when unscoped), or
    /// 401 when a scoped token would have none.
    pub fn roles_in(&self, user_id: &str, scope: &Scope) -> Result<Vec<String>, AuthError> {
        let user = user_id.to_owned();
        let assigned = match scope {
            Scope::Unscoped => return Ok(Vec::new()),
            Scope::Project(project) => self.assignments.get(&(user, project.clone())),
            Scope::Domain(domain) => self.domain_assignments.get(&(user, domain.clone())),
            Scope::System => self.system_assignments.get(&user),
        };
        let assigned = assigned
            .filter(|r| !r.is_empty())
            .ok_or(AuthError::Unauthorized)?;
        Ok(implied_roles(assigned.iter().map(String::as_str)))
    }

    /// A new token (roles resolved here).
    pub fn issue(
        &self,
        id: String,
        audit_id: String,
        new: NewToken,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<Token, AuthError> {
        let roles = self.roles_in(&new.user_id, &new.scope)?;
        let (project_id, domain_id, system) = match new.scope {
            Scope::Unscoped => (None, None, false),
            Scope::Project(project) => (Some(project), None, false),
            Scope::Domain(domain) => (None, Some(domain), false),
            Scope::System => (None, None, true),
        };
        Ok(Token {
            id,
            user_id: new.user_id,
            project_id,
            domain_id,
            system,
            roles,
            methods: new.methods,
            issued_at: now,
            expires_at: Some(expires_at),
            audit_id,
            parent_audit_id: new.parent_audit_id,
            revoked: false,
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let da = Sha256::digest(a);
    let db = Sha256::digest(b);
    da.iter()
        .zip(db.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> Directory {
        let mut d = Directory {
            domains: vec![Domain {
                id: "default".into(),
                name: "Default".into(),
            }],
            projects: vec![Project {
                id: "p1".into(),
                name: "demo".into(),
                domain_id: "default".into(),
            }],
            users: vec![User {
                id: "u1".into(),
                name: "demo".into(),
                domain_id: "default".into(),
                password: "secret".into(),
                default_project_id: Some("p1".into()),
            }],
            ..Default::default()
        };
        d.assignments
            .insert(("u1".into(), "p1".into()), vec!["member".into()]);
        d
    }

    fn by_name(name: &str) -> NamedRef {
        NamedRef {
            name: Some(name.into()),
            domain_name: Some("Default".into()),
            ..Default::default()
        }
    }

    #[test]
    fn passwords_and_roles() {
        let d = directory();
        assert_eq!(
            d.check_password(&by_name("demo"), "secret").unwrap().id,
            "u1"
        );
        assert_eq!(
            d.check_password(&by_name("demo"), "wrong"),
            Err(AuthError::Unauthorized)
        );
        assert_eq!(
            d.check_password(&by_name("nobody"), "secret"),
            Err(AuthError::Unauthorized)
        );
        assert_eq!(d.roles_on("u1", "p1").unwrap(), ["member", "reader"]);
        assert_eq!(d.roles_on("u1", "p2"), Err(AuthError::Unauthorized));
        assert_eq!(d.find_project(&by_name("demo")).unwrap().id, "p1");
        let new = NewToken {
            user_id: "u1".into(),
            scope: Scope::Project("p1".into()),
            methods: vec![],
            expires_at: None,
            parent_audit_id: None,
        };
        let token = d.issue("t".into(), "a".into(), new, 10, 20).unwrap();
        assert!(token.valid_at(19));
        assert!(!token.valid_at(20));
    }
}
