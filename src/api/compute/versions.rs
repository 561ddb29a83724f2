//! Version discovery documents (`GET /`, `/v2`, `/v2.1`), with links built
//! from the host the request came to, and their wire types.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::extract::{ApiContext, Ids};
use crate::api::fault::NovaFault;
use crate::api::response::{base_url, json_response, Link, MediaType};
use crate::domain::ApiVersion;
use crate::error::Fault;

const V21_UPDATED: &str = "2013-07-23T11:33:21Z";
const V20_UPDATED: &str = "2025-07-04T12:00:00Z";

// --- wire types

/// A compute API version.
#[derive(Serialize, ToSchema)]
pub struct Version {
    /// `v2.1` or `v2.0`.
    #[schema(example = "v2.1")]
    pub id: &'static str,
    /// `CURRENT` or `DEPRECATED`.
    pub status: &'static str,
    /// The maximum microversion (empty for v2.0).
    #[schema(example = "2.104")]
    pub version: String,
    /// The minimum microversion (empty for v2.0).
    #[schema(example = "2.1")]
    pub min_version: String,
    pub updated: &'static str,
    pub links: Vec<Link>,
    /// In version documents only.
    #[serde(rename = "media-types", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub media_types: Option<Vec<MediaType>>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionList {
    pub versions: Vec<Version>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionDocument {
    pub version: Version,
}

/// One choice of the 300 answer.
#[derive(Serialize, ToSchema)]
pub struct Choice {
    pub id: &'static str,
    pub status: &'static str,
    pub links: Vec<Link>,
    #[serde(rename = "media-types")]
    pub media_types: Vec<MediaType>,
}

#[derive(Serialize, ToSchema)]
pub struct Choices {
    pub choices: Vec<Choice>,
}

fn v21_entry(base: &str) -> Version {
    Version {
        id: "v2.1",
        status: "CURRENT",
        version: ApiVersion::MAX.to_string(),
        min_version: ApiVersion::MIN.to_string(),
        updated: V21_UPDATED,
        links: vec![Link::new("self", format!("{base}/v2.1/"))],
        media_types: None,
    }
}

fn v20_entry(base: &str) -> Version {
    Version {
        id: "v2.0",
        status: "DEPRECATED",
        version: String::new(),
        min_version: String::new(),
        updated: V20_UPDATED,
        links: vec![Link::new("self", format!("{base}/v2/"))],
        media_types: None,
    }
}

fn compute_media_type(version: &str) -> MediaType {
    MediaType {
        base: "application/json",
        media_type: format!("application/vnd.openstack.compute+json;version={version}"),
    }
}

/// A version document: the list entry plus `describedby` and `media-types`.
fn version_document(mut entry: Version, media_version: &str) -> Response {
    entry
        .links
        .push(Link::described_by("http://docs.openstack.org/"));
    entry.media_types = Some(vec![compute_media_type(media_version)]);
    json_response(StatusCode::OK, &VersionDocument { version: entry })
}

// --- handlers

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
    let body = VersionList {
        versions: vec![v20_entry(&base), v21_entry(&base)],
    };
    json_response(StatusCode::OK, &body)
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
    version_document(v21_entry(&base_url(&headers)), "2.1")
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
    version_document(v20_entry(&base_url(&headers)), "2")
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
        "v2.1" => Ok(version_document(v21_entry(&base), "2.1")),
        "v2.0" => {
            // Nova builds this self link from the mount it was asked under.
            let mut entry = v20_entry(&base);
            entry.links[0].href = format!("{base}/v2.1/");
            Ok(version_document(entry, "2"))
        }
        _ => Err(Fault::ResourceNotFound),
    }
}

/// Any other path outside the API mounts: 300 with the choices.
pub fn multiple_choices(headers: &HeaderMap, path: &str) -> Response {
    let base = base_url(headers);
    let path = path.trim_start_matches('/');
    let choice = |id, status, mount: &str, media: &str| Choice {
        id,
        status,
        links: vec![Link::new("self", format!("{base}/{mount}/{path}"))],
        media_types: vec![compute_media_type(media)],
    };
    let body = Choices {
        choices: vec![
            choice("v2.0", "DEPRECATED", "v2", "2"),
            choice("v2.1", "CURRENT", "v2.1", "2.1"),
        ],
    };
    json_response(StatusCode::MULTIPLE_CHOICES, &body)
}
