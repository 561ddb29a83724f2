//! The per-request context: request id, negotiated microversion and caller.

use axum::http::HeaderValue;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::domain::ids::IdSource;
use crate::domain::{ApiVersion, Caller};
use crate::error::Fault;

/// `req-<uuid>`, also the request id of any instance action the call records.
/// Kept as a header value: cloning it onto two headers costs no copy.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

impl RequestId {
    pub fn generate(ids: &IdSource) -> Self {
        RequestId(
            HeaderValue::from_maybe_shared(bytes::Bytes::from(ids.request_id())).expect("ascii"),
        )
    }

    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }
}

/// Everything a compute handler needs to know about the request.
#[derive(Debug, Clone)]
pub struct ApiContext {
    pub request_id: RequestId,
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
        // Taken, not cloned: one handler per request.
        parts
            .extensions
            .remove::<ApiContext>()
            .ok_or_else(|| Fault::Internal("porthole.MissingApiContext".into()))
    }
}
