//! Who is calling: one [`Authenticator`], chosen at start-up, turns a
//! request's token into a [`Caller`]; the HTTP layer renders its refusals.
//!
//! - [`noauth`]: no Keystone; headers name the caller (tests, curl).
//! - [`builtin`]: porthole's own Keystone (`/identity/v3`): directory,
//!   issued and static tokens.
//! - [`keystone`]: an external Keystone, asked over HTTP with a service
//!   token, answers cached.

use std::sync::Arc;

use crate::domain::directory::Token;
use crate::domain::{Caller, Policy, Roles};
use crate::service::Cloud;

pub mod builtin;
pub mod keystone;
pub mod noauth;

pub use builtin::BuiltinKeystone;
pub use keystone::KeystoneClient;

/// The auth mode in force (`--auth`).
pub enum Authenticator {
    NoAuth,
    Builtin(BuiltinKeystone),
    Keystone(KeystoneClient),
}

/// Why a request was refused before it reached the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No token, or not a valid one: keystonemiddleware's 401. `None`: the
    /// builtin Keystone, whose URL is the request's own.
    Unauthorized { www_authenticate: Option<String> },
    /// The external Keystone could not answer: 503.
    Unavailable(String),
    /// The store (the builtin Keystone's tokens) could not answer: Nova's
    /// 503 `serviceUnavailable`.
    StoreUnavailable,
}

/// The caller of a request, and the project its token is scoped to (the
/// compute API checks the URL's project against it).
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub caller: std::sync::Arc<Caller>,
    pub token_project: TokenProject,
}

/// What the URL's project is checked against (Nova's `context.project_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenProject {
    /// noauth without a project: the URL's.
    Unbound,
    Project(String),
    /// A Keystone token scoped to no project (unscoped, domain, system):
    /// Nova's `context.project_id` is `None`.
    NoProject,
}

impl Authenticator {
    /// The builtin Keystone, in `builtin` mode.
    pub fn builtin(&self) -> Option<&BuiltinKeystone> {
        match self {
            Authenticator::Builtin(builtin) => Some(builtin),
            _ => None,
        }
    }

    /// keystonemiddleware's check of `X-Auth-Token`, then the caller.
    /// `noauth_headers` are consulted in `noauth` mode only.
    pub async fn authenticate(
        &self,
        cloud: &Cloud,
        policy: &Arc<Policy>,
        request: &Credentials<'_>,
    ) -> Result<Authenticated, Refusal> {
        let token = request.token.unwrap_or("");
        // The validations are boxed: each request's future holds this one,
        // and every layer above it moves it.
        let token = match self {
            Authenticator::NoAuth => return Ok(noauth::caller(request, policy)),
            Authenticator::Builtin(builtin) => Box::pin(builtin.validate(cloud, token))
                .await
                .map_err(|error| {
                    tracing::error!(%error, "cannot validate a token");
                    Refusal::StoreUnavailable
                })?
                .ok_or(Refusal::Unauthorized {
                    www_authenticate: None,
                })?,
            Authenticator::Keystone(keystone) => match Box::pin(keystone.validate(token)).await {
                Ok(Some(token)) => token,
                Ok(None) => {
                    return Err(Refusal::Unauthorized {
                        www_authenticate: Some(keystone.www_authenticate_uri.clone()),
                    })
                }
                Err(unavailable) => return Err(Refusal::Unavailable(unavailable.0)),
            },
        };
        Ok(caller_of_token(&token, policy))
    }
}

/// What a request says about its caller.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// `X-Auth-Token`.
    pub token: Option<&'a str>,
    /// `X-Roles` (noauth only).
    pub roles: Option<&'a str>,
    /// The URL's `{project_id}`, if the route has one (noauth only).
    pub url_project: Option<&'a str>,
}

/// The one place a validated token becomes a caller.
pub fn caller_of_token(token: &Token, policy: &Arc<Policy>) -> Authenticated {
    let caller = Caller::new(
        token.user_id.clone(),
        // A token without a project acts in none (Nova: project_id None).
        Some(token.project_id.clone().unwrap_or_default()),
        Roles::from_names(token.roles.iter().map(String::as_str)),
        policy.clone(),
    );
    // oslo.policy (6: scope always enforced) refuses a system- or
    // domain-scoped token every one of Nova's rules, all `scope_types:
    // ['project']`; an unscoped token counts as project-scoped.
    let caller = if token.system || token.domain_id.is_some() {
        caller.outside_project_scope()
    } else {
        caller
    };
    Authenticated {
        caller: caller.into(),
        token_project: token
            .project_id
            .clone()
            .map_or(TokenProject::NoProject, TokenProject::Project),
    }
}
