//! The per-request context: request id, negotiated microversion and caller.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::domain::{ApiVersion, Caller};
use crate::error::Fault;

/// `req-<uuid>`, also the request id of any instance action the call records.
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

/// Everything a compute handler needs to know about the request.
#[derive(Debug, Clone)]
pub struct ApiContext {
    pub request_id: Arc<str>,
    pub version: ApiVersion,
    pub caller: Caller,
    /// The project the token is scoped to, if any (checked against the URL's).
    pub token_project: Option<String>,
}

impl ApiContext {
    /// Nova's `Malformed request URL` check of the URL project against the token's.
    pub fn check_url_project(&self, url_project: Option<&str>) -> Result<(), Fault> {
        match (url_project, &self.token_project) {
            (Some(url), Some(token)) if url != token => Err(Fault::ProjectMismatch {
                url: url.to_owned(),
                context: token.clone(),
            }),
            _ => Ok(()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiContext {
    type Rejection = Fault;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ApiContext>()
            .cloned()
            .ok_or_else(|| Fault::Internal("porthole.MissingApiContext".into()))
    }
}
