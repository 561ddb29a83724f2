//! `/healthz` (the process answers) and `/readyz` (the store answers too),
//! outside Nova's pipeline: no auth, no microversion, no request id headers.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;

use super::json::to_json;
use crate::app::AppState;

/// The crate's version, reported by both probes.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How long `/readyz` waits for the store's round trip.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// A probe's answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health<'a> {
    /// `ok` or `unavailable`.
    status: &'a str,
    /// porthole's version.
    version: &'a str,
    /// The store's backend (`/readyz` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<&'a str>,
    /// Why the store is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn answer(status: StatusCode, body: &Health) -> Response {
    let mut response = Response::new(Body::from(to_json(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Alive: no I/O, no lock.
///
/// No token, no microversion.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    responses((status = 200, description = "The process answers.", body = Health)),
)]
pub async fn healthz() -> Response {
    answer(
        StatusCode::OK,
        &Health {
            status: "ok",
            version: VERSION,
            store: None,
            error: None,
        },
    )
}

/// Ready: the store answers a round trip.
///
/// sqlite: `SELECT 1` through its writer thread, behind any commits queued
/// before it; no answer within 2 s is a failure. No token, no microversion.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "meta",
    responses(
        (status = 200, description = "The store answers.", body = Health),
        (status = 503, description = "The store does not answer.", body = Health),
    ),
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let store = state.cloud.store_name();
    match state.cloud.ping(READY_TIMEOUT).await {
        Ok(()) => answer(
            StatusCode::OK,
            &Health {
                status: "ok",
                version: VERSION,
                store: Some(store),
                error: None,
            },
        ),
        Err(error) => {
            tracing::warn!(%error, store, "readiness check failed");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                &Health {
                    status: "unavailable",
                    version: VERSION,
                    store: Some(store),
                    error: Some(error.to_string()),
                },
            )
        }
    }
}
