//! Who the caller is. `noauth`: `X-Auth-Token: <user>:<project>` names user
//! and project; any other token, or none, leaves the project to the URL (or,
//! without one, every project). Roles from `X-Roles`, else all three.

use axum::http::HeaderMap;

use std::sync::Arc;

use crate::domain::{Caller, Policy, Roles};

/// The caller, and the project its token is scoped to (if it names one).
pub fn noauth_caller(
    headers: &HeaderMap,
    url_project: Option<&str>,
    policy: &Arc<Policy>,
) -> (Caller, Option<String>) {
    let token = headers.get("x-auth-token").and_then(|v| v.to_str().ok());
    let scoped = token
        .and_then(|t| t.split_once(':'))
        .filter(|(u, p)| !u.is_empty() && !p.is_empty());
    let (user_id, token_project) = match scoped {
        Some((user, project)) => (user.to_owned(), Some(project.to_owned())),
        None => ("admin".to_owned(), None),
    };
    let roles = match headers.get("x-roles").and_then(|v| v.to_str().ok()) {
        Some(names) => Roles::from_names(names.split(',')),
        None => Roles::all(),
    };
    let project_id = token_project
        .clone()
        .or_else(|| url_project.map(str::to_owned));
    (
        Caller::new(user_id, project_id, roles, policy.clone()),
        token_project,
    )
}
