//! `GET /networking/` (the version list, no token) and
//! `GET /networking/v2.0/extensions` (the extensions whose behaviour is
//! served, as Neutron describes them).

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::MOUNT;
use crate::api::extract::ApiContext;
use crate::api::response::{base_url, json_response};

/// One API version.
#[derive(Serialize, ToSchema)]
pub struct NetworkVersion {
    #[schema(example = "v2.0")]
    pub id: &'static str,
    #[schema(example = "CURRENT")]
    pub status: &'static str,
    pub links: Vec<NetworkLink>,
}

#[derive(Serialize, ToSchema)]
pub struct NetworkLink {
    pub rel: &'static str,
    pub href: String,
}

/// `{"versions": [...]}`.
#[derive(Serialize, ToSchema)]
pub struct NetworkVersions {
    pub versions: Vec<NetworkVersion>,
}

/// One extension.
#[derive(Serialize, ToSchema)]
pub struct Extension {
    pub name: &'static str,
    pub alias: &'static str,
    pub description: &'static str,
    pub updated: &'static str,
    pub links: Vec<NetworkLink>,
}

/// `{"extensions": [...]}`.
#[derive(Serialize, ToSchema)]
pub struct Extensions {
    pub extensions: Vec<Extension>,
}

/// The served extensions, in Neutron 29's order, with its texts.
const SERVED: &[(&str, &str, &str, &str)] = &[
    ("Neutron external network", "external-net", "Adds external network attribute to network resource.", "2013-01-14T10:00:00-00:00"),
    ("Network MTU", "net-mtu", "Provides MTU attribute for a network resource.", "2015-03-25T10:00:00-00:00"),
    ("Pagination support", "pagination", "Extension that indicates that pagination is enabled.", "2016-06-12T00:00:00-00:00"),
    ("Port Binding", "binding", "Expose port bindings of a virtual port to external application", "2014-02-03T10:00:00-00:00"),
    ("Port Security", "port-security", "Provides port security", "2012-07-23T10:00:00-00:00"),
    ("project_id field enabled", "project-id", "Extension that indicates that project_id field is enabled.", "2016-09-09T09:09:09-09:09"),
    ("Resource revision numbers", "standard-attr-revisions", "This extension will display the revision number of neutron resources.", "2016-04-11T10:00:00-00:00"),
    ("Sorting support", "sorting", "Extension that indicates that sorting is enabled.", "2016-06-12T00:00:00-00:00"),
    ("standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes", "2016-02-10T10:00:00-00:00"),
    ("Resource timestamps", "standard-attr-timestamp", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.", "2016-09-12T10:00:00-00:00"),
];

/// The network API's versions (no token needed).
#[utoipa::path(
    get,
    path = "/networking/",
    tag = "network",
    responses((status = 200, description = "The one version, v2.0.", body = NetworkVersions))
)]
pub async fn network_versions(headers: HeaderMap) -> Response {
    let body = NetworkVersions {
        versions: vec![NetworkVersion {
            id: "v2.0",
            status: "CURRENT",
            links: vec![NetworkLink {
                rel: "self",
                href: format!("{}{MOUNT}/v2.0/", base_url(&headers)),
            }],
        }],
    };
    json_response(StatusCode::OK, &body)
}

/// The extensions whose behaviour porthole serves.
#[utoipa::path(
    get,
    path = "/networking/v2.0/extensions",
    tag = "network",
    responses((status = 200, description = "The served extensions.", body = Extensions))
)]
pub async fn list_extensions(_ctx: ApiContext) -> Response {
    let body = Extensions {
        extensions: SERVED
            .iter()
            .map(|&(name, alias, description, updated)| Extension {
                name,
                alias,
                description,
                updated,
                links: Vec::new(),
            })
            .collect(),
    };
    json_response(StatusCode::OK, &body)
}
