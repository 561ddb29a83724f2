//! Version discovery documents (`GET /`, `/v2`, `/v2.1`), with links built
//! from the host the request came to.

use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::context::ApiContext;
use super::interfaces::{json_response, Ids};
use super::json::to_json;
use super::openapi::{NovaFault, VersionDocument, VersionList};
use crate::error::Fault;

const V21_UPDATED: &str = "2013-07-23T11:33:21Z";
const V20_UPDATED: &str = "2025-07-04T12:00:00Z";

/// `http://<host>` of the request.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn v21_entry(base: &str) -> Value {
    json!({
        "id": "v2.1",
        "status": "CURRENT",
        "version": crate::domain::ApiVersion::MAX.to_string(),
        "min_version": crate::domain::ApiVersion::MIN.to_string(),
        "updated": V21_UPDATED,
        "links": [{"rel": "self", "href": format!("{base}/v2.1/")}],
    })
}

fn v20_entry(base: &str) -> Value {
    json!({
        "id": "v2.0",
        "status": "DEPRECATED",
        "version": "",
        "min_version": "",
        "updated": V20_UPDATED,
        "links": [{"rel": "self", "href": format!("{base}/v2/")}],
    })
}

/// A version document: the list entry plus `describedby` and `media-types`.
fn version_document(mut entry: Value, media_version: &str) -> Value {
    entry["links"].as_array_mut().expect("links").push(
        json!({"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}),
    );
    entry["media-types"] = json!([{
        "base": "application/json",
        "type": format!("application/vnd.openstack.compute+json;version={media_version}"),
    }]);
    json!({ "version": entry })
}

fn ok(value: &Value) -> Response {
    json_response(StatusCode::OK, to_json(value))
}

/// `GET /`: both versions, v2.0 first.
///
/// Answers any method.
#[utoipa::path(
    get,
    path = "/",
    tag = "versions",
    responses((status = 200, description = "Both API versions.", body = VersionList)),
)]
pub async fn root(headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    ok(&json!({ "versions": [v20_entry(&base), v21_entry(&base)] }))
}

/// `GET /v2.1`, `/v2.1/`, `/v2.1/{project_id}/`.
///
/// The v2.1 version document, with the microversion range (2.1 to 2.104).
/// Answers any method; `/v2.1` and `/v2.1/` need no token.
#[utoipa::path(
    get,
    path = "/v2.1/{project_id}/",
    tag = "versions",
    params(("project_id" = String, Path, description = "The project (second URL form): lower-case hex digits and dashes.")),
    responses((status = 200, description = "The v2.1 version document.", body = VersionDocument)),
)]
pub async fn v21(_ctx: ApiContext, headers: HeaderMap) -> Response {
    ok(&version_document(v21_entry(&base_url(&headers)), "2.1"))
}

/// `GET /v2`, `/v2/`.
///
/// The deprecated v2.0 version document. Answers any method.
#[utoipa::path(
    get,
    path = "/v2/",
    tag = "versions",
    responses((status = 200, description = "The v2.0 version document.", body = VersionDocument)),
)]
pub async fn v20(headers: HeaderMap) -> Response {
    ok(&version_document(v20_entry(&base_url(&headers)), "2"))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct VersionPath {
    /// The project (second URL form): lower-case hex digits and dashes,
    /// and the token's project (else 400).
    pub project_id: Option<String>,
    /// `v2.1` or `v2.0`.
    pub version_id: String,
}

/// `GET /v2.1[/{project_id}]/versions/{id}`.
///
/// One version document by id.
#[utoipa::path(
    get,
    path = "/v2.1/{project_id}/versions/{version_id}",
    tag = "versions",
    params(VersionPath),
    responses(
        (status = 200, description = "The version document.", body = VersionDocument),
        (status = 400, description = "URL project is not the token's.", body = NovaFault),
        (status = 404, description = "No such version.", body = NovaFault),
    ),
)]
pub async fn show_version(
    ctx: ApiContext,
    Ids(path): Ids<VersionPath>,
    headers: HeaderMap,
) -> Result<Response, Fault> {
    ctx.check_url_project(path.project_id.as_deref())?;
    let base = base_url(&headers);
    match path.version_id.as_str() {
        "v2.1" => Ok(ok(&version_document(v21_entry(&base), "2.1"))),
        "v2.0" => {
            // Nova builds this self link from the mount it was asked under.
            let mut entry = v20_entry(&base);
            entry["links"][0]["href"] = format!("{base}/v2.1/").into();
            Ok(ok(&version_document(entry, "2")))
        }
        _ => Err(Fault::ResourceNotFound),
    }
}

/// Any other path outside the API mounts: 300 with the choices.
pub async fn multiple_choices(request: Request) -> Response {
    let base = base_url(request.headers());
    let path = request.uri().path().trim_start_matches('/').to_owned();
    let choice = |id: &str, status: &str, mount: &str, media: &str| {
        json!({
            "id": id,
            "status": status,
            "links": [{"rel": "self", "href": format!("{base}/{mount}/{path}")}],
            "media-types": [{"base": "application/json", "type": format!("application/vnd.openstack.compute+json;version={media}")}],
        })
    };
    let body = json!({"choices": [
        choice("v2.0", "DEPRECATED", "v2", "2"),
        choice("v2.1", "CURRENT", "v2.1", "2.1"),
    ]});
    json_response(StatusCode::MULTIPLE_CHOICES, to_json(&body))
}
