//! `keystone` mode: tokens validated against an external Keystone, as
//! keystonemiddleware's auth_token does (`GET /v3/auth/tokens` with the
//! service's own token), with valid tokens cached for a configured time.
//! Keystone unreachable (or failing) is "unavailable", never "valid".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::config::KeystoneConfig;
use crate::domain::directory::{implied_roles, Token};

/// Keystone could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

pub struct KeystoneClient {
    http: reqwest::Client,
    /// `…/v3`, no trailing slash.
    auth_url: String,
    /// For `WWW-Authenticate: Keystone uri="…"`.
    pub www_authenticate_uri: String,
    credentials: Value,
    cache_for: Duration,
    service_token: tokio::sync::Mutex<Option<String>>,
    /// Valid tokens (`Some`) and, like keystonemiddleware, invalid ones (`None`).
    cache: Mutex<HashMap<String, CacheEntry>>,
}

/// A token's answer (`None`: invalid) and when it was fetched.
type CacheEntry = (Option<Arc<Token>>, Instant);

/// How many cached tokens before the cache is swept.
const CACHE_SWEEP: usize = 10_000;

impl KeystoneClient {
    pub fn from_config(config: &KeystoneConfig) -> Result<Self, String> {
        let auth_url = config.auth_url.trim_end_matches('/').to_owned();
        if !auth_url.starts_with("http://") && !auth_url.starts_with("https://") {
            return Err(format!(
                "keystone: auth_url '{auth_url}' is not an http(s) URL"
            ));
        }
        let www_authenticate_uri = config
            .www_authenticate_uri
            .clone()
            .unwrap_or_else(|| auth_url.strip_suffix("/v3").unwrap_or(&auth_url).to_owned());
        let user_domain = config.user_domain.as_deref().unwrap_or("Default");
        let project_domain = config.project_domain.as_deref().unwrap_or("Default");
        let credentials = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": config.username, "domain": {"name": user_domain}, "password": config.password}}},
            "scope": {"project": {"name": config.project, "domain": {"name": project_domain}}},
        }});
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout.unwrap_or(5)))
            .build()
            .map_err(|e| format!("keystone: HTTP client: {e}"))?;
        Ok(KeystoneClient {
            http,
            auth_url,
            www_authenticate_uri,
            credentials,
            cache_for: Duration::from_secs(config.cache_seconds.unwrap_or(300)),
            service_token: tokio::sync::Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// `Some(answer)` when the cache knows the token.
    fn cached(&self, token: &str) -> Option<Option<Arc<Token>>> {
        let cache = self.cache.lock().expect("cache lock");
        let (found, at) = cache.get(token)?;
        if at.elapsed() >= self.cache_for {
            return None;
        }
        let now = crate::domain::model::now();
        Some(found.as_ref().filter(|t| t.valid_at(now)).cloned())
    }

    fn remember(&self, token: &str, answer: Option<Arc<Token>>) {
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.len() >= CACHE_SWEEP {
            let ttl = self.cache_for;
            cache.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        cache.insert(token.to_owned(), (answer, Instant::now()));
    }

    /// The token's identity, `None` if Keystone says it is not valid.
    pub async fn validate(&self, token: &str) -> Result<Option<Arc<Token>>, Unavailable> {
        if token.is_empty() {
            return Ok(None);
        }
        if let Some(answer) = self.cached(token) {
            return Ok(answer);
        }
        // One retry with a fresh service token if ours was refused.
        for attempt in 0..2 {
            let service = self.service_token(attempt > 0).await?;
            let response = self
                .http
                .get(format!("{}/auth/tokens?nocatalog", self.auth_url))
                .header("X-Auth-Token", &service)
                .header("X-Subject-Token", token)
                .send()
                .await
                .map_err(|e| Unavailable(format!("cannot reach Keystone: {e}")))?;
            match response.status().as_u16() {
                200 => {
                    let body: Value = response
                        .json()
                        .await
                        .map_err(|e| Unavailable(format!("bad Keystone answer: {e}")))?;
                    let Some(found) = parse_token(token, &body).map(Arc::new) else {
                        return Err(Unavailable("bad Keystone token body".into()));
                    };
                    self.remember(token, Some(found.clone()));
                    return Ok(Some(found));
                }
                404 => {
                    self.remember(token, None);
                    return Ok(None);
                }
                401 | 403 if attempt == 0 => continue,
                status => {
                    return Err(Unavailable(format!(
                        "Keystone answered {status} to a token validation"
                    )))
                }
            }
        }
        Err(Unavailable(
            "Keystone refused the service credentials".into(),
        ))
    }

    async fn service_token(&self, refresh: bool) -> Result<String, Unavailable> {
        let mut slot = self.service_token.lock().await;
        if let (Some(token), false) = (slot.as_ref(), refresh) {
            return Ok(token.clone());
        }
        let response = self
            .http
            .post(format!("{}/auth/tokens", self.auth_url))
            .json(&self.credentials)
            .send()
            .await
            .map_err(|e| Unavailable(format!("cannot reach Keystone: {e}")))?;
        if response.status().as_u16() != 201 {
            return Err(Unavailable(format!(
                "Keystone refused the service credentials ({})",
                response.status()
            )));
        }
        let token = response
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| Unavailable("no X-Subject-Token from Keystone".into()))?;
        *slot = Some(token.clone());
        Ok(token)
    }
}

/// Keystone's token body → what porthole needs of it.
fn parse_token(id: &str, body: &Value) -> Option<Token> {
    let token = body.get("token")?;
    let user_id = token.pointer("/user/id")?.as_str()?.to_owned();
    let project_id = token
        .pointer("/project/id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let roles: Vec<&str> = token
        .get("roles")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(|r| r["name"].as_str()).collect())
        .unwrap_or_default();
    let expires_at = token
        .get("expires_at")
        .and_then(Value::as_str)
        .and_then(parse_time);
    Some(Token {
        id: id.to_owned(),
        user_id,
        project_id,
        domain_id: token
            .pointer("/domain/id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        system: token.pointer("/system/all") == Some(&Value::Bool(true)),
        roles: implied_roles(roles),
        methods: Vec::new(),
        issued_at: 0,
        expires_at,
        audit_id: String::new(),
        parent_audit_id: None,
        revoked: false,
    })
}

/// `2026-11-28T05:00:00.000000Z` → microseconds since the epoch.
fn parse_time(text: &str) -> Option<i64> {
    let parsed =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some((parsed.unix_timestamp_nanos() / 1000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keystone_token_bodies() {
        let body = json!({"token": {"user": {"id": "u"}, "project": {"id": "p"},
            "roles": [{"id": "1", "name": "member"}], "expires_at": "2030-01-01T00:00:00.000000Z"}});
        let token = parse_token("t", &body).unwrap();
        assert_eq!(token.project_id.as_deref(), Some("p"));
        assert_eq!(token.roles, ["member", "reader"]);
        assert_eq!(token.expires_at, Some(1_893_456_000_000_000));
        assert!(parse_token("t", &json!({})).is_none());
    }
}
