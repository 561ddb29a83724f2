//! Operations endpoints, outside Nova's pipeline (no auth, no microversion,
//! no request id headers): `/healthz` (the process answers), `/readyz` (the
//! store answers too), `/metrics` and `/openapi.json`.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;

use super::response::{json_response, with_content_type, JSON_CONTENT_TYPE};
use crate::app::AppState;
use crate::metrics::{network_stats, OPENMETRICS_CONTENT_TYPE};
use crate::VERSION;

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
    let mut response = json_response(status, body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
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

/// Prometheus metrics.
///
/// OpenMetrics text: requests by operation, status and microversion group,
/// latency histograms, store commit latency, attachments and free IPs per
/// network. No token, no microversion.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "meta",
    responses((
        status = 200,
        description = "The metrics.",
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8",
        body = String
    )),
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    // The figures of this process's world: metrics never wait for the store.
    let networks = state.cloud.read_local(network_stats).await;
    let text = state.metrics.encode(&networks);
    with_content_type(StatusCode::OK, text, OPENMETRICS_CONTENT_TYPE)
}

/// This document: the routes the running configuration serves.
///
/// No token, no microversion.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "This OpenAPI document.", content_type = "application/json", body = Object)),
)]
pub async fn openapi_json(State(state): State<AppState>) -> Response {
    with_content_type(StatusCode::OK, state.openapi_document(), JSON_CONTENT_TYPE)
}
