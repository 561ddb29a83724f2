//! The builtin identity service: the directory from the config, static
//! tokens, and issued tokens kept in the world (durable like everything else).
//! Validation is a memory lookup.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::IdentityConfig;
use crate::domain::directory::{AuthError, Directory, Domain, NewToken, Project, Token, User};
use crate::domain::model::{now, Timestamp};
use crate::domain::Change;
use crate::service::Cloud;
use crate::store::StoreError;

pub struct BuiltinKeystone {
    pub directory: Directory,
    static_tokens: HashMap<String, Arc<Token>>,
    /// Token lifetime, microseconds.
    pub expiration: Timestamp,
    pub region: String,
    pub public_url: Option<String>,
}

/// A random, opaque token id: 256 bits as 64 hex digits.
pub fn new_token_id() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl BuiltinKeystone {
    /// Validate the configuration into a directory; any dangling reference is an error.
    pub fn from_config(config: &IdentityConfig) -> Result<Self, String> {
        let mut directory = Directory::default();
        for d in &config.domains {
            directory.domains.push(Domain {
                id: d.id.clone(),
                name: d.name.clone(),
            });
        }
        if directory.domains.is_empty() {
            directory.domains.push(Domain {
                id: "default".into(),
                name: "Default".into(),
            });
        }
        let domain = |id: &Option<String>, what: &str| -> Result<String, String> {
            let id = id.clone().unwrap_or_else(|| "default".into());
            if config.domains.is_empty() && id == "default"
                || config.domains.iter().any(|d| d.id == id)
            {
                Ok(id)
            } else {
                Err(format!("identity: {what} names unknown domain '{id}'"))
            }
        };
        for p in &config.projects {
            if directory.project(&p.id).is_some() {
                return Err(format!("identity: duplicate project id '{}'", p.id));
            }
            directory.projects.push(Project {
                id: p.id.clone(),
                name: p.name.clone(),
                domain_id: domain(&p.domain, &format!("project '{}'", p.name))?,
            });
        }
        let projects = directory.projects.clone();
        let project_id = |key: &str, what: &str| -> Result<String, String> {
            let found: Vec<_> = projects
                .iter()
                .filter(|p| p.id == key || p.name == key)
                .collect();
            match found.as_slice() {
                [one] => Ok(one.id.clone()),
                [] => Err(format!("identity: {what} names unknown project '{key}'")),
                _ => Err(format!("identity: {what}: project '{key}' is ambiguous")),
            }
        };
        let mut users = Vec::new();
        for u in &config.users {
            users.push(User {
                id: u.id.clone(),
                name: u.name.clone(),
                domain_id: domain(&u.domain, &format!("user '{}'", u.name))?,
                password: u.password.clone(),
                default_project_id: u
                    .default_project
                    .as_deref()
                    .map(|p| project_id(p, &format!("user '{}'", u.name)))
                    .transpose()?,
            });
        }
        let user_id = |key: &str, what: &str| -> Result<String, String> {
            let found: Vec<_> = users
                .iter()
                .filter(|u| u.id == key || u.name == key)
                .collect();
            match found.as_slice() {
                [one] => Ok(one.id.clone()),
                [] => Err(format!("identity: {what} names unknown user '{key}'")),
                _ => Err(format!("identity: {what}: user '{key}' is ambiguous")),
            }
        };
        let domains = directory.domains.clone();
        let domain_id = |key: &str, what: &str| -> Result<String, String> {
            domains
                .iter()
                .find(|d| d.id == key)
                .or_else(|| domains.iter().find(|d| d.name == key))
                .map(|d| d.id.clone())
                .ok_or_else(|| format!("identity: {what} names unknown domain '{key}'"))
        };
        for a in &config.assignments {
            let roles = a.roles.iter().cloned();
            match (&a.project, &a.domain, &a.system) {
                (Some(project), None, None) => {
                    let what = format!("assignment of '{}' on '{project}'", a.user);
                    let key = (user_id(&a.user, &what)?, project_id(project, &what)?);
                    directory.assignments.entry(key).or_default().extend(roles);
                }
                (None, Some(domain), None) => {
                    let what = format!("assignment of '{}' on domain '{domain}'", a.user);
                    let key = (user_id(&a.user, &what)?, domain_id(domain, &what)?);
                    directory
                        .domain_assignments
                        .entry(key)
                        .or_default()
                        .extend(roles);
                }
                (None, None, Some(system)) if system == "all" => {
                    let what = format!("assignment of '{}' on the system", a.user);
                    let key = user_id(&a.user, &what)?;
                    directory
                        .system_assignments
                        .entry(key)
                        .or_default()
                        .extend(roles);
                }
                (None, None, Some(system)) => {
                    return Err(format!(
                        "identity: assignment of '{}': system must be \"all\", not '{system}'",
                        a.user
                    ))
                }
                _ => {
                    return Err(format!(
                        "identity: assignment of '{}' needs exactly one of project, domain, system",
                        a.user
                    ))
                }
            }
        }
        let mut statics = Vec::new();
        for t in &config.static_tokens {
            let what = "static token";
            if t.token.len() < 8 {
                return Err("identity: a static token must have at least 8 characters".into());
            }
            statics.push((t, user_id(&t.user, what)?, project_id(&t.project, what)?));
        }
        directory.users = users;
        let mut static_tokens = HashMap::new();
        for (t, user, project) in statics {
            let roles = directory.roles_on(&user, &project).map_err(|_| {
                format!(
                    "identity: static token: '{}' has no role on '{}'",
                    t.user, t.project
                )
            })?;
            static_tokens.insert(
                t.token.clone(),
                Arc::new(Token {
                    id: t.token.clone(),
                    user_id: user,
                    project_id: Some(project),
                    domain_id: None,
                    system: false,
                    roles,
                    methods: vec!["token".into()],
                    issued_at: 0,
                    expires_at: None,
                    audit_id: crate::domain::directory::derived_id("static", &t.token),
                    parent_audit_id: None,
                    revoked: false,
                }),
            );
        }
        Ok(BuiltinKeystone {
            directory,
            static_tokens,
            expiration: config.token_expiration.unwrap_or(3600) as Timestamp * 1_000_000,
            region: config.region.clone().unwrap_or_else(|| "RegionOne".into()),
            public_url: config
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_owned()),
        })
    }

    /// A valid (known, unexpired, unrevoked) token.
    pub async fn validate(
        &self,
        cloud: &Cloud,
        id: &str,
    ) -> Result<Option<Arc<Token>>, StoreError> {
        Ok(match self.lookup(cloud, id, 0).await? {
            Lookup::Valid(token) => Some(token),
            _ => None,
        })
    }

    /// A token as Keystone's validation sees it; `window` (microseconds)
    /// lets an expired one through (`?allow_expired=1`), never a revoked one.
    pub async fn lookup(
        &self,
        cloud: &Cloud,
        id: &str,
        window: Timestamp,
    ) -> Result<Lookup, StoreError> {
        if id.is_empty() {
            return Ok(Lookup::Missing);
        }
        if let Some(token) = self.static_tokens.get(id) {
            return Ok(Lookup::Valid(token.clone()));
        }
        let now = now();
        cloud
            .read(|world| match world.token(id) {
                None => Lookup::Unknown,
                Some(t) if t.revoked || t.expired_at(now - window) => Lookup::Invalid,
                Some(t) => Lookup::Valid(t.clone()),
            })
            .await
    }

    /// Issue a new token and make it durable before returning it. Times are
    /// whole seconds, as in Keystone's (fernet) tokens.
    pub async fn issue(
        &self,
        cloud: &Cloud,
        new: NewToken,
    ) -> Result<Result<Token, AuthError>, StoreError> {
        let issued = now() / 1_000_000 * 1_000_000;
        let expires_at = new.expires_at.unwrap_or(issued + self.expiration);
        let token = self.directory.issue(
            new_token_id(),
            new_token_id()[..22].to_owned(),
            new,
            issued,
            expires_at,
        );
        let Ok(token) = token else {
            return Ok(token);
        };
        cloud
            .write(|txn| {
                // Tokens are dropped as new ones are issued, once even
                // `?allow_expired=1` would not show them.
                let expired: Vec<String> = txn
                    .world()
                    .tokens()
                    .filter(|t| t.expired_at(issued - ALLOW_EXPIRED_WINDOW))
                    .map(|t| t.id.clone())
                    .take(64)
                    .collect();
                for id in expired {
                    txn.put(Change::DeleteToken(id));
                }
                txn.put(Change::PutToken(token.clone()));
            })
            .await?;
        Ok(Ok(token))
    }

    /// Revoke a valid token and, with `cascade`, every token obtained from
    /// it with the token method (those whose chain starts with it), as
    /// Keystone's revocation by audit id and audit chain id does.
    /// `false`: a static token, which cannot be revoked.
    pub async fn revoke(
        &self,
        cloud: &Cloud,
        token: &Token,
        cascade: bool,
    ) -> Result<bool, StoreError> {
        if self.static_tokens.contains_key(&token.id) {
            return Ok(false);
        }
        let audit_id = token.audit_id.clone();
        cloud
            .write(|txn| {
                let revoked: Vec<Token> = txn
                    .world()
                    .tokens()
                    .filter(|t| !t.revoked)
                    .filter(|t| {
                        t.audit_id == audit_id
                            || cascade && t.parent_audit_id.as_deref() == Some(&audit_id)
                    })
                    .cloned()
                    .collect();
                for mut t in revoked {
                    t.revoked = true;
                    txn.put(Change::PutToken(t));
                }
                true
            })
            .await
    }
}

/// Keystone's `[token] allow_expired_window`: 48 hours, in microseconds.
pub const ALLOW_EXPIRED_WINDOW: Timestamp = 48 * 3600 * 1_000_000;

/// What validating a token found.
#[derive(Debug, Clone)]
pub enum Lookup {
    Valid(Arc<Token>),
    /// No token given: `No token in the request`.
    Missing,
    /// Never issued here: `Could not recognize Fernet token`.
    Unknown,
    /// Expired or revoked: `Failed to validate token`.
    Invalid,
}

impl Lookup {
    /// Keystone's 404 message for a token that is not valid.
    pub fn not_found_message(&self) -> &'static str {
        match self {
            Lookup::Valid(_) => "",
            Lookup::Missing => "No token in the request",
            Lookup::Unknown => "Could not recognize Fernet token",
            Lookup::Invalid => "Failed to validate token",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_builds() {
        let identity = BuiltinKeystone::from_config(&crate::config::default_identity()).unwrap();
        assert_eq!(identity.directory.users.len(), 3);
        assert_eq!(identity.expiration, 3_600_000_000);
    }

    #[test]
    fn dangling_references_are_refused() {
        let mut config = crate::config::default_identity();
        config.assignments[0].project = Some("nope".into());
        let err = BuiltinKeystone::from_config(&config).err().unwrap();
        assert!(err.contains("unknown project 'nope'"), "{err}");
    }

    #[test]
    fn token_ids_are_long_and_distinct() {
        let a = new_token_id();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_token_id());
    }
}
