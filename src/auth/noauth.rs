//! `noauth`: `X-Auth-Token: <user>:<project>` names user and project; any
//! other token, or none, leaves the project to the URL (or, without one,
//! every project). Roles from `X-Roles`, else all three.

use std::sync::Arc;

use super::{Authenticated, Credentials, TokenProject};
use crate::domain::{Caller, Policy, Roles};

/// The caller a request names.
pub fn caller(request: &Credentials<'_>, policy: &Arc<Policy>) -> Authenticated {
    let scoped = request
        .token
        .and_then(|t| t.split_once(':'))
        .filter(|(u, p)| !u.is_empty() && !p.is_empty());
    let (user_id, token_project) = match scoped {
        Some((user, project)) => (user.to_owned(), Some(project.to_owned())),
        None => ("admin".to_owned(), None),
    };
    let roles = match request.roles {
        Some(names) => Roles::from_names(names.split(',')),
        None => Roles::all(),
    };
    let project_id = token_project
        .clone()
        .or_else(|| request.url_project.map(str::to_owned));
    Authenticated {
        caller: Caller::new(user_id, project_id, roles, policy.clone()),
        token_project: token_project.map_or(TokenProject::Unbound, TokenProject::Project),
    }
}
