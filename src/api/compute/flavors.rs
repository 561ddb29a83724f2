//! `/flavors`: list, detail, show, with Nova 34's bodies per microversion
//! (2.55 `description`, 2.61 `extra_specs`, 2.75 `swap` 0 instead of `""`).

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::servers::{LinkBase, ProjectPath};
use crate::api::extract::{ApiContext, Ids};
use crate::api::fault::NovaFault;
use crate::api::response::json_response;
use crate::app::AppState;
use crate::domain::catalog::Flavor;
use crate::domain::ApiVersion;
use crate::error::Fault;

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FlavorPath {
    /// The project (second URL form): the token's project (else 400).
    pub project_id: Option<String>,
    /// The flavor's id.
    pub flavor_id: String,
}

fn flavor_view(flavor: &Flavor, version: ApiVersion, links: &LinkBase, detail: bool) -> Value {
    let mut f = Map::new();
    f.insert("id".into(), json!(flavor.id));
    f.insert("name".into(), json!(flavor.name));
    if detail {
        f.insert("ram".into(), json!(flavor.ram));
        f.insert("disk".into(), json!(flavor.disk));
        let swap = if flavor.swap == 0 && version < ApiVersion::new(2, 75) {
            json!("")
        } else {
            json!(flavor.swap)
        };
        f.insert("swap".into(), swap);
        f.insert("OS-FLV-EXT-DATA:ephemeral".into(), json!(flavor.ephemeral));
        f.insert("OS-FLV-DISABLED:disabled".into(), json!(false));
        f.insert("vcpus".into(), json!(flavor.vcpus));
        f.insert("os-flavor-access:is_public".into(), json!(flavor.is_public));
        f.insert("rxtx_factor".into(), json!(flavor.rxtx_factor));
    }
    f.insert("links".into(), links.links("flavors", &flavor.id));
    if version >= ApiVersion::new(2, 55) {
        f.insert("description".into(), json!(flavor.description));
    }
    if detail && version >= ApiVersion::new(2, 61) {
        f.insert("extra_specs".into(), json!(flavor.extra_specs));
    }
    Value::Object(f)
}

fn list(
    app: &AppState,
    ctx: &ApiContext,
    project_id: Option<&str>,
    query: Option<&str>,
    headers: &HeaderMap,
    detail: bool,
) -> Result<Response, Fault> {
    ctx.check_url_project(project_id)?;
    let links = LinkBase::new(headers, project_id);
    let mut limit = None;
    let mut marker = None;
    let mut min_ram = 0;
    let mut min_disk = 0;
    let mut pairs = Vec::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let number = || {
            v.parse::<u64>().map_err(|_| {
                Fault::Validation(format!(
                    "Invalid input for query parameters {k}. Value: {v}. '{v}' does not match '^[0-9]*$'"
                ))
            })
        };
        match k.as_ref() {
            "limit" => limit = Some(number()? as usize),
            "marker" => marker = Some(v.to_string()),
            "minRam" => min_ram = number()?,
            "minDisk" => min_disk = number()?,
            _ => {}
        }
        pairs.push((k.into_owned(), v.into_owned()));
    }
    let mut flavors: Vec<&Flavor> = app
        .options
        .catalog
        .flavors
        .iter()
        .filter(|f| {
            (f.is_public || ctx.caller.is_admin()) && f.ram >= min_ram && f.disk >= min_disk
        })
        .collect();
    if let Some(marker) = &marker {
        let at = flavors
            .iter()
            .position(|f| f.id == *marker)
            .ok_or_else(|| Fault::MarkerNotFound(marker.clone()))?;
        flavors.drain(..=at);
    }
    if let Some(limit) = limit {
        flavors.truncate(limit);
    }
    let mut body = Map::new();
    body.insert(
        "flavors".into(),
        flavors
            .iter()
            .map(|f| flavor_view(f, ctx.version, &links, detail))
            .collect(),
    );
    if let (Some(limit), Some(last)) = (limit, flavors.last()) {
        if flavors.len() == limit {
            let mut q = form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs.iter().filter(|(k, _)| k != "marker") {
                q.append_pair(k, v);
            }
            q.append_pair("marker", &last.id);
            let path = if detail { "flavors/detail" } else { "flavors" };
            body.insert(
                "flavors_links".into(),
                json!([{"rel": "next", "href": format!("{}?{}", links.href(path), q.finish())}]),
            );
        }
    }
    Ok(json_response(StatusCode::OK, &Value::Object(body)))
}

/// List flavors: id, name, links (2.55: description). `minRam`,
/// `minDisk`, `limit`, `marker`.
#[utoipa::path(
    get,
    path = "/v2.1/{project_id}/flavors",
    tag = "flavors",
    params(ProjectPath),
    responses(
        (status = 200, description = "The flavors.", body = Object),
        (status = 400, description = "A bad query parameter; an unknown marker.", body = NovaFault),
    )
)]
pub async fn list_flavors(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<ProjectPath>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Fault> {
    list(
        &app,
        &ctx,
        path.project_id.as_deref(),
        query.as_deref(),
        &headers,
        false,
    )
}

/// List flavors with details.
#[utoipa::path(
    get,
    path = "/v2.1/{project_id}/flavors/detail",
    tag = "flavors",
    params(ProjectPath),
    responses(
        (status = 200, description = "The flavors, in full.", body = Object),
        (status = 400, description = "A bad query parameter; an unknown marker.", body = NovaFault),
    )
)]
pub async fn list_flavors_detail(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<ProjectPath>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Fault> {
    list(
        &app,
        &ctx,
        path.project_id.as_deref(),
        query.as_deref(),
        &headers,
        true,
    )
}

/// Show a flavor; Nova's 404 `Flavor <id> could not be found.`
#[utoipa::path(
    get,
    path = "/v2.1/{project_id}/flavors/{flavor_id}",
    tag = "flavors",
    params(FlavorPath),
    responses(
        (status = 200, description = "The flavor.", body = Object),
        (status = 404, description = "No such flavor.", body = NovaFault),
    )
)]
pub async fn show_flavor(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<FlavorPath>,
    headers: HeaderMap,
) -> Result<Response, Fault> {
    ctx.check_url_project(path.project_id.as_deref())?;
    let links = LinkBase::new(&headers, path.project_id.as_deref());
    let flavor = app
        .options
        .catalog
        .flavor(&path.flavor_id)
        .ok_or_else(|| Fault::FlavorNotFound(path.flavor_id.clone()))?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"flavor": flavor_view(flavor, ctx.version, &links, true)}),
    ))
}
