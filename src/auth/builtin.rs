//! The builtin identity service: the directory from the config, static
//! tokens, and issued tokens kept in the world (durable like everything else).
//! Validation is a memory lookup.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::IdentityConfig;
use crate::domain::directory::{AuthError, Directory, Domain, Project, Token, User};
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
        for a in &config.assignments {
            let what = format!("assignment of '{}' on '{}'", a.user, a.project);
            let key = (user_id(&a.user, &what)?, project_id(&a.project, &what)?);
            directory
                .assignments
                .entry(key)
                .or_default()
                .extend(a.roles.iter().cloned());
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
                    roles,
                    methods: vec!["token".into()],
                    issued_at: 0,
                    expires_at: None,
                    audit_id: crate::domain::directory::derived_id("static", &t.token),
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

    /// A valid (known, unexpired, unrevoked) token. No I/O.
    pub async fn validate(&self, cloud: &Cloud, id: &str) -> Option<Arc<Token>> {
        if let Some(token) = self.static_tokens.get(id) {
            return Some(token.clone());
        }
        let now = now();
        cloud
            .read(|world| world.token(id).filter(|t| t.valid_at(now)).cloned())
            .await
    }

    /// Issue a new token and make it durable before returning it.
    pub async fn issue(
        &self,
        cloud: &Cloud,
        user_id: &str,
        project_id: Option<&str>,
        methods: Vec<String>,
        expires_at: Option<Timestamp>,
    ) -> Result<Result<Token, AuthError>, StoreError> {
        let issued = now();
        let token = self.directory.issue(
            new_token_id(),
            new_token_id()[..22].to_owned(),
            user_id,
            project_id,
            methods,
            issued,
            expires_at.unwrap_or(issued + self.expiration),
        );
        let Ok(token) = token else {
            return Ok(token);
        };
        cloud
            .write(|txn| {
                // Expired tokens are dropped as new ones are issued.
                let expired: Vec<String> = txn
                    .world()
                    .tokens()
                    .filter(|t| !t.valid_at(issued))
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

    /// Revoke a token; `false` if it was not a valid one. Static tokens cannot be revoked.
    pub async fn revoke(&self, cloud: &Cloud, id: &str) -> Result<bool, StoreError> {
        let now = now();
        cloud
            .write(|txn| {
                let known = txn.world().token(id).is_some_and(|t| t.valid_at(now));
                if known {
                    txn.put(Change::DeleteToken(id.to_owned()));
                }
                known
            })
            .await
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
        config.assignments[0].project = "nope".into();
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
