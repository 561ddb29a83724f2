//! `noauth`: `X-Auth-Token: <user>:<project>` names user and project; any
//! other token, or none, leaves the project to the URL (or, without one,
//! every project). Roles from `X-Roles`, else all three.

use std::sync::Arc;

use super::{Authenticated, Credentials, TokenProject};
use crate::domain::{Caller, Policy, Roles};

/// The last caller made on this thread, and what it was made from: a
/// client sends the same headers request after request, and a copy costs
/// less than the roles and the admin rule again.
struct Last {
    token: Option<String>,
    roles: Option<String>,
    url_project: Option<String>,
    /// Held, not just compared by address: no other policy can take its place.
    policy: Arc<Policy>,
    answer: Authenticated,
}

thread_local! {
    static LAST: std::cell::RefCell<Option<Last>> = const { std::cell::RefCell::new(None) };
}

/// The caller a request names.
pub fn caller(request: &Credentials<'_>, policy: &Arc<Policy>) -> Authenticated {
    LAST.with(|last| {
        if let Some(last) = &*last.borrow() {
            if Arc::ptr_eq(&last.policy, policy)
                && last.token.as_deref() == request.token
                && last.roles.as_deref() == request.roles
                && last.url_project.as_deref() == request.url_project
            {
                return last.answer.clone();
            }
        }
        let answer = make_caller(request, policy);
        *last.borrow_mut() = Some(Last {
            token: request.token.map(str::to_owned),
            roles: request.roles.map(str::to_owned),
            url_project: request.url_project.map(str::to_owned),
            policy: policy.clone(),
            answer: answer.clone(),
        });
        answer
    })
}

fn make_caller(request: &Credentials<'_>, policy: &Arc<Policy>) -> Authenticated {
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
        caller: std::sync::Arc::new(Caller::new(user_id, project_id, roles, policy.clone())),
        token_project: token_project.map_or(TokenProject::Unbound, TokenProject::Project),
    }
}
