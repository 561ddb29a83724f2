//! Extractors whose every rejection is the API's own answer: the request
//! context set by the pipeline, path parameters, and the request body.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde::de::DeserializeOwned;

use super::fault::{not_found_page, webob_error_page};
use crate::auth::TokenProject;
use crate::domain::ids::IdSource;
use crate::domain::{ApiVersion, Caller};
use crate::error::Fault;

/// oslo.middleware's `max_request_body_size` default.
pub const MAX_REQUEST_BODY: usize = 114_688;

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
    pub caller: std::sync::Arc<Caller>,
    /// The project the token is scoped to, if any (checked against the URL's).
    pub token_project: TokenProject,
}

impl ApiContext {
    /// Nova's `Malformed request URL` check of the URL project against the token's.
    pub fn check_url_project(&self, url_project: Option<&str>) -> Result<(), Fault> {
        let context = match (url_project, &self.token_project) {
            (Some(url), TokenProject::Project(token)) if url != token => token.as_str(),
            // Python's str(None).
            (Some(_), TokenProject::NoProject) => "None",
            _ => return Ok(()),
        };
        Err(Fault::ProjectMismatch {
            url: url_project.unwrap_or_default().to_owned(),
            context: context.to_owned(),
        })
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

/// Path parameters; a path that cannot be decoded is a router 404.
pub struct Ids<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Ids<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Ids(value)),
            Err(_) => Err(not_found_page(&parts.method, &parts.headers)),
        }
    }
}

/// Path parameters of an API whose every error is a Nova fault (the
/// control plane): a path that cannot be decoded is a 404 fault.
pub struct FaultPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for FaultPath<T> {
    type Rejection = Fault;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(FaultPath(value)),
            Err(_) => Err(Fault::ControlNotFound(
                "The resource could not be found.".to_owned(),
            )),
        }
    }
}

/// What an API answers for a path parameter it cannot decode (not UTF-8):
/// each API its own "not found".
pub trait Undecodable {
    fn response(parts: &Parts) -> Response;
}

/// Path parameters whose rejection is `A`'s answer.
pub struct PathIn<A, T>(pub T, pub std::marker::PhantomData<fn() -> A>);

impl<S: Send + Sync, A: Undecodable, T: DeserializeOwned + Send> FromRequestParts<S>
    for PathIn<A, T>
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(PathIn(value, std::marker::PhantomData)),
            Err(_) => Err(A::response(parts)),
        }
    }
}

/// A body up to `LIMIT` bytes; over it, a 413 fault (the control plane).
pub struct LimitedBody<const LIMIT: usize>(pub Bytes);

impl<S: Send + Sync, const LIMIT: usize> axum::extract::FromRequest<S> for LimitedBody<LIMIT> {
    type Rejection = Fault;

    async fn from_request(request: axum::extract::Request, _: &S) -> Result<Self, Fault> {
        axum::body::to_bytes(request.into_body(), LIMIT)
            .await
            .map(LimitedBody)
            .map_err(|_| Fault::ControlTooLarge(format!("Request is larger than {LIMIT} bytes.")))
    }
}

/// The body, up to Nova's limit; over it, WebOb's 413 page.
pub async fn read_body(
    method: &Method,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, MAX_REQUEST_BODY)
        .await
        .map_err(|_| too_large_page(method, headers))
}

/// oslo.middleware's sizelimit refusal.
pub fn too_large_page(method: &Method, headers: &HeaderMap) -> Response {
    webob_error_page(
        method,
        headers,
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request is too large. Larger than max_request_body_size (%s).",
    )
}

/// Read a JSON body as Nova does: empty is JSON `null`; anything
/// unparsable is `Malformed request body`.
pub fn parse_json_body(bytes: &[u8]) -> Result<serde_json::Value, Fault> {
    if bytes.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|_| Fault::MalformedBody)
}
