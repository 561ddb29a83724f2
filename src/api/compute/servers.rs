//! `/servers`: show, list, list with details, with Nova 34's body at each
//! microversion.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha224};

use super::ServerPath;
use crate::api::extract::{ApiContext, Ids};
use crate::api::fault::NovaFault;
use crate::api::response::{base_url, format_time, json_response};
use crate::app::AppState;
use crate::domain::catalog::Catalog;
use crate::domain::servers::{self, ServerQuery, SortKey};
use crate::domain::{model, ApiVersion, Server, World};
use crate::error::Fault;

/// Where links point: `http://host/v2.1[/project]` and the bookmark root.
pub struct LinkBase {
    versioned: String,
    bookmark: String,
}

impl LinkBase {
    /// Nova puts the project in links only when the URL had it.
    pub fn new(headers: &HeaderMap, url_project: Option<&str>) -> Self {
        let base = base_url(headers);
        let project = url_project.map(|p| format!("/{p}")).unwrap_or_default();
        LinkBase {
            versioned: format!("{base}/v2.1{project}"),
            bookmark: format!("{base}{project}"),
        }
    }

    pub fn links(&self, collection: &str, id: &str) -> Value {
        json!([
            {"rel": "self", "href": format!("{}/{collection}/{id}", self.versioned)},
            {"rel": "bookmark", "href": format!("{}/{collection}/{id}", self.bookmark)},
        ])
    }

    /// `http://host/v2.1[/project]/<path>`.
    pub fn href(&self, path: &str) -> String {
        format!("{}/{path}", self.versioned)
    }

    fn bookmark(&self, collection: &str, id: &str) -> Value {
        json!([{"rel": "bookmark", "href": format!("{}/{collection}/{id}", self.bookmark)}])
    }
}

/// Nova's `utils.isotime`: seconds and `Z`.
fn isotime(micros: model::Timestamp) -> String {
    let text = format_time(micros);
    format!("{}Z", text.split('.').next().unwrap_or_default())
}

/// `addresses`: network name → the server's fixed IPs on it, port by port.
fn addresses(world: &World, server: &Server) -> Value {
    let mut by_network = Map::new();
    for port in world.ports_of_device(server.id.as_str()) {
        let name = world
            .network(&port.network_id)
            .map(|n| n.name.clone())
            .unwrap_or_default();
        let entry = by_network
            .entry(name)
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            for ip in &port.fixed_ips {
                list.push(json!({
                    "version": if ip.ip_address.is_ipv4() { 4 } else { 6 },
                    "addr": ip.ip_address.to_string(),
                    "OS-EXT-IPS:type": "fixed",
                    "OS-EXT-IPS-MAC:mac_addr": port.mac_address,
                }));
            }
        }
    }
    Value::Object(by_network)
}

/// Nova's `hostId`: sha224(project_id + host), `""` without a host.
fn host_id(server: &Server) -> String {
    if server.details.host.is_empty() {
        return String::new();
    }
    let digest = Sha224::digest(format!("{}{}", server.project_id, server.details.host));
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Nova's `hostname` from the display name.
fn hostname(name: &str) -> String {
    let mut out: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    out = out.trim_matches('-').to_owned();
    out.truncate(63);
    out
}

/// One server as `GET /servers/{id}` and `/servers/detail` show it.
pub fn server_view(
    world: &World,
    catalog: &Catalog,
    server: &Server,
    ctx: &ApiContext,
    links: &LinkBase,
) -> Value {
    let v = ctx.version;
    let at = |minor| v >= ApiVersion::new(2, minor);
    let admin = ctx.caller.is_admin();
    let d = &server.details;
    let status = model::server_status(server.vm_state, server.task_state);
    let image = if d.image_id.is_empty() {
        json!("")
    } else {
        let mut image = Map::new();
        image.insert("id".into(), json!(d.image_id));
        image.insert("links".into(), links.bookmark("images", &d.image_id));
        if at(98) {
            image.insert("properties".into(), json!({}));
        }
        Value::Object(image)
    };
    let flavor = if at(47) {
        let f = catalog.flavor(&d.flavor_id);
        json!({
            "vcpus": f.map_or(0, |f| f.vcpus),
            "ram": f.map_or(0, |f| f.ram),
            "disk": f.map_or(0, |f| f.disk),
            "ephemeral": f.map_or(0, |f| f.ephemeral),
            "swap": f.map_or(0, |f| f.swap),
            "original_name": f.map_or("", |f| f.name.as_str()),
            "extra_specs": f.map(|f| f.extra_specs.clone()).unwrap_or_default(),
        })
    } else {
        json!({"id": d.flavor_id, "links": links.bookmark("flavors", &d.flavor_id)})
    };
    let mut s = Map::new();
    s.insert("accessIPv4".into(), json!(""));
    s.insert("accessIPv6".into(), json!(""));
    s.insert("addresses".into(), addresses(world, server));
    s.insert("created".into(), json!(isotime(d.created_at)));
    s.insert("flavor".into(), flavor);
    s.insert("hostId".into(), json!(host_id(server)));
    s.insert("id".into(), json!(server.id.as_str()));
    s.insert("image".into(), image);
    s.insert("links".into(), links.links("servers", server.id.as_str()));
    s.insert("metadata".into(), json!(d.metadata));
    s.insert("name".into(), json!(server.name));
    s.insert("status".into(), json!(status));
    s.insert("tenant_id".into(), json!(server.project_id));
    s.insert("user_id".into(), json!(server.user_id));
    s.insert("updated".into(), json!(isotime(d.updated_at)));
    s.insert("OS-DCF:diskConfig".into(), json!("MANUAL"));
    if matches!(
        status,
        "ACTIVE" | "BUILD" | "REBUILD" | "RESIZE" | "VERIFY_RESIZE" | "MIGRATING"
    ) {
        s.insert("progress".into(), json!(0));
    }
    s.insert("OS-EXT-AZ:availability_zone".into(), json!("nova"));
    s.insert("config_drive".into(), json!(""));
    s.insert("key_name".into(), Value::Null);
    s.insert(
        "OS-SRV-USG:launched_at".into(),
        json!(d.launched_at.map(format_time)),
    );
    s.insert("OS-SRV-USG:terminated_at".into(), Value::Null);
    if world.ports_of_device(server.id.as_str()).next().is_some() {
        s.insert("security_groups".into(), json!([{"name": "default"}]));
    }
    if admin {
        s.insert("OS-EXT-SRV-ATTR:host".into(), json!(d.host));
        s.insert(
            "OS-EXT-SRV-ATTR:instance_name".into(),
            json!(format!(
                "instance-{}",
                &server.id.as_str()[..8.min(server.id.as_str().len())]
            )),
        );
        s.insert("OS-EXT-SRV-ATTR:hypervisor_hostname".into(), json!(d.host));
        if at(3) {
            s.insert(
                "OS-EXT-SRV-ATTR:hostname".into(),
                json!(hostname(&server.name)),
            );
            s.insert("OS-EXT-SRV-ATTR:kernel_id".into(), json!(""));
            s.insert("OS-EXT-SRV-ATTR:launch_index".into(), json!(0));
            s.insert("OS-EXT-SRV-ATTR:ramdisk_id".into(), json!(""));
            s.insert(
                "OS-EXT-SRV-ATTR:reservation_id".into(),
                json!(d.reservation_id),
            );
            s.insert("OS-EXT-SRV-ATTR:root_device_name".into(), json!("/dev/vda"));
            s.insert("OS-EXT-SRV-ATTR:user_data".into(), Value::Null);
        }
    }
    s.insert(
        "OS-EXT-STS:task_state".into(),
        json!(server.task_state.map(|t| t.as_str())),
    );
    s.insert(
        "OS-EXT-STS:vm_state".into(),
        json!(server.vm_state.as_str()),
    );
    s.insert(
        "OS-EXT-STS:power_state".into(),
        json!(model::power_state(server.vm_state)),
    );
    s.insert("os-extended-volumes:volumes_attached".into(), json!([]));
    if at(9) {
        s.insert("locked".into(), json!(server.locked));
    }
    if at(16) && admin {
        s.insert("host_status".into(), json!("UP"));
    }
    if at(19) {
        s.insert("description".into(), json!(d.description));
    }
    if at(26) {
        s.insert("tags".into(), json!(d.tags));
    }
    if at(63) {
        s.insert("trusted_image_certificates".into(), Value::Null);
    }
    if at(71) {
        s.insert("server_groups".into(), json!([]));
    }
    if at(73) {
        s.insert("locked_reason".into(), json!(d.locked_reason));
    }
    if at(90) && !admin {
        s.insert(
            "OS-EXT-SRV-ATTR:hostname".into(),
            json!(hostname(&server.name)),
        );
    }
    if at(96) {
        s.insert("pinned_availability_zone".into(), Value::Null);
    }
    if at(100) {
        s.insert("scheduler_hints".into(), json!({}));
    }
    Value::Object(s)
}

/// In lists Nova adds `security_groups` to all servers at once, last, and
/// shows no `server_groups` (2.71: show only).
fn detail_view(
    world: &World,
    catalog: &Catalog,
    server: &Server,
    ctx: &ApiContext,
    links: &LinkBase,
) -> Value {
    let mut view = server_view(world, catalog, server, ctx, links);
    if let Some(object) = view.as_object_mut() {
        object.shift_remove("server_groups");
        if let Some(groups) = object.shift_remove("security_groups") {
            object.insert("security_groups".into(), groups);
        }
    }
    view
}

fn invalid_query(name: &str, value: &str, why: &str) -> Fault {
    Fault::Validation(format!(
        "Invalid input for query parameters {name}. Value: {value}. {why}"
    ))
}

/// The list filters Nova's query schema accepts, parsed.
fn parse_query(query: Option<&str>) -> Result<(ServerQuery, Vec<(String, String)>), Fault> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut q = ServerQuery::default();
    let mut keys = Vec::new();
    let mut dirs = Vec::new();
    for (name, value) in &pairs {
        match name.as_str() {
            "name" => q.name = Some(value.clone()),
            "status" => q.status = Some(value.to_uppercase()),
            "changes-since" | "changes_since" => {
                let parsed = time::OffsetDateTime::parse(
                    value,
                    &time::format_description::well_known::Rfc3339,
                )
                .or_else(|_| {
                    time::PrimitiveDateTime::parse(
                        value,
                        time::macros::format_description!(
                            "[year]-[month]-[day]T[hour]:[minute]:[second]"
                        ),
                    )
                    .map(|t| t.assume_utc())
                })
                .map_err(|_| {
                    invalid_query(name, value, &format!("'{value}' is not a 'date-time'"))
                })?;
                q.changes_since = Some((parsed.unix_timestamp_nanos() / 1000) as i64);
            }
            "limit" => {
                let n = value
                    .parse::<usize>()
                    .ok()
                    .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        invalid_query(name, value, &format!("'{value}' does not match '^[0-9]*$'"))
                    })?;
                q.limit = Some(n);
            }
            "marker" => q.marker = Some(value.clone()),
            "all_tenants" => {
                q.all_tenants =
                    !matches!(value.to_lowercase().as_str(), "0" | "false" | "off" | "no")
            }
            "project_id" | "tenant_id" => q.project_id = Some(value.clone()),
            "sort_key" => keys.push(SortKey::parse(value).ok_or_else(|| {
                invalid_query(
                    name,
                    value,
                    &format!("'{value}' is not a supported sort key"),
                )
            })?),
            "sort_dir" => match value.as_str() {
                "asc" => dirs.push(false),
                "desc" => dirs.push(true),
                _ => {
                    return Err(invalid_query(
                        name,
                        value,
                        &format!("'{value}' is not one of ['asc', 'desc']"),
                    ))
                }
            },
            _ => {}
        }
    }
    q.sort = keys
        .into_iter()
        .enumerate()
        .map(|(i, k)| (k, dirs.get(i).copied().unwrap_or(true)))
        .collect();
    Ok((q, pairs))
}

/// `servers_links` when a page is full: the query again with the last id as `marker`.
fn next_link(links: &LinkBase, path: &str, pairs: &[(String, String)], last: &str) -> Value {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(k, _)| k != "marker") {
        query.append_pair(k, v);
    }
    query.append_pair("marker", last);
    json!([{"rel": "next", "href": format!("{}/{path}?{}", links.versioned, query.finish())}])
}

async fn list(
    app: AppState,
    ctx: ApiContext,
    project_id: Option<String>,
    query: Option<String>,
    headers: HeaderMap,
    detail: bool,
) -> Result<Response, Fault> {
    ctx.check_url_project(project_id.as_deref())?;
    let (q, pairs) = parse_query(query.as_deref())?;
    let links = LinkBase::new(&headers, project_id.as_deref());
    let catalog = app.options.catalog.clone();
    app.cloud
        .read(|world| {
            let found = servers::list_servers(world, &ctx.caller, detail, &q)?;
            let items: Vec<Value> = found
                .iter()
                .map(|s| {
                    if detail {
                        detail_view(world, &catalog, s, &ctx, &links)
                    } else {
                        json!({"id": s.id.as_str(), "name": s.name, "links": links.links("servers", s.id.as_str())})
                    }
                })
                .collect();
            let mut body = Map::new();
            body.insert("servers".into(), Value::Array(items));
            if let (Some(limit), Some(last)) = (q.limit, found.last()) {
                if found.len() == limit {
                    let path = if detail { "servers/detail" } else { "servers" };
                    body.insert(
                        "servers_links".into(),
                        next_link(&links, path, &pairs, last.id.as_str()),
                    );
                }
            }
            Ok(json_response(StatusCode::OK, &Value::Object(body)))
        })
        .await?
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProjectPath {
    /// The project (second URL form): the token's project (else 400).
    pub project_id: Option<String>,
}

/// List servers: id, name and links.
///
/// Filters `name` (a regular expression), `status`, `changes-since`,
/// `all_tenants` (admins; with `project_id`), paging `limit`/`marker`
/// (`servers_links` when the page is full), `sort_key`/`sort_dir`.
#[utoipa::path(
    get,
    path = "/v2.1/{project_id}/servers",
    tag = "servers",
    params(ProjectPath),
    responses(
        (status = 200, description = "The servers.", body = Object),
        (status = 400, description = "A bad query parameter; an unknown marker.", body = NovaFault),
        (status = 403, description = "Policy `os_compute_api:servers:index` (or `:get_all_tenants`) denies.", body = NovaFault),
    )
)]
pub async fn list_servers(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<ProjectPath>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Fault> {
    list(app, ctx, path.project_id, query, headers, false).await
}

/// List servers with details: each as `GET /servers/{id}` shows it.
#[utoipa::path(
    get,
    path = "/v2.1/{project_id}/servers/detail",
    tag = "servers",
    params(ProjectPath),
    responses(
        (status = 200, description = "The servers, in full.", body = Object),
        (status = 400, description = "A bad query parameter; an unknown marker.", body = NovaFault),
        (status = 403, description = "Policy `os_compute_api:servers:detail` (or `:get_all_tenants`) denies.", body = NovaFault),
    )
)]
pub async fn list_servers_detail(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<ProjectPath>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Fault> {
    list(app, ctx, path.project_id, query, headers, true).await
}

/// Show a server: Nova 34's body at the request's microversion (2.3
/// extended attributes for admins, 2.9 `locked`, 2.16 `host_status`, 2.19
/// `description`, 2.26 `tags`, 2.47 embedded flavor, 2.73 `locked_reason`...).
#[utoipa::path(
    get,
    path = "/v2.1/{project_id}/servers/{server_id}",
    tag = "servers",
    params(ServerPath),
    responses(
        (status = 200, description = "The server.", body = Object),
        (status = 400, description = "URL project is not the token's.", body = NovaFault),
        (status = 403, description = "Policy `os_compute_api:servers:show` denies.", body = NovaFault),
        (status = 404, description = "`Instance <id> could not be found.`", body = NovaFault),
    )
)]
pub async fn show_server(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<ServerPath>,
    headers: HeaderMap,
) -> Result<Response, Fault> {
    ctx.check_url_project(path.project_id.as_deref())?;
    let links = LinkBase::new(&headers, path.project_id.as_deref());
    let catalog = app.options.catalog.clone();
    app.cloud
        .read(|world| {
            let server = servers::show_server(world, &ctx.caller, &path.server_id)?;
            let body = json!({"server": server_view(world, &catalog, server, &ctx, &links)});
            Ok(json_response(StatusCode::OK, &body))
        })
        .await?
}

/// Create a server.
///
/// `name`, `imageRef`, `flavorRef`, `networks` (`auto`, `none` — from
/// 2.37, where `networks` is required — or a list of `{uuid[, fixed_ip]}`
/// / `{port}`), `metadata`, `description` (2.19), `tags` (2.52). Answers
/// 202 with the id, links and `adminPass`, and `Location`; the server is
/// `ACTIVE` at once, or `BUILD` for `--server-build-delay-ms`. Its ports
/// are made as os-interface attach makes them.
#[utoipa::path(
    post,
    path = "/v2.1/{project_id}/servers",
    tag = "servers",
    params(ProjectPath),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted: `id`, `links`, `OS-DCF:diskConfig`, `security_groups`, `adminPass`.", body = Object),
        (status = 400, description = "Schema violation; unknown flavor, image or network; no network to choose.", body = NovaFault),
        (status = 403, description = "Policy `os_compute_api:servers:create` denies.", body = NovaFault),
        (status = 404, description = "A requested port does not exist.", body = NovaFault),
        (status = 409, description = "A requested port is in use.", body = NovaFault),
        (status = 413, description = "Body larger than 114688 bytes (a WebOb error page, not a fault)."),
    )
)]
pub async fn create_server(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<ProjectPath>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, Fault> {
    let bytes =
        match crate::api::extract::read_body(&axum::http::Method::POST, &headers, body).await {
            Ok(bytes) => bytes,
            Err(too_large) => return Ok(too_large),
        };
    let body = crate::api::extract::parse_json_body(&bytes)?;
    ctx.check_url_project(path.project_id.as_deref())?;
    let request = super::validation::create_request(&body, ctx.version)?;
    let op = crate::domain::ops::OpContext {
        caller: &ctx.caller,
        request_id: ctx.request_id.as_str(),
        now: model::now(),
        host: &app.host,
        attached_status: app.options.attached_status(),
    };
    let delay = app.options.server_build_delay;
    let catalog = app.options.catalog.clone();
    let server = app
        .cloud
        .write(|txn| servers::create_server(txn, &op, &catalog, &request, !delay.is_zero()))
        .await??;
    if !delay.is_zero() {
        let app = app.clone();
        let id = server.id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let done = app
                .cloud
                .write(|txn| servers::finish_build(txn, &id, model::now()))
                .await;
            if let Err(error) = done {
                tracing::error!(%error, server_id = %id, "could not finish a build");
            }
        });
    }
    let links = LinkBase::new(&headers, path.project_id.as_deref());
    let self_link = format!("{}/servers/{}", links.versioned, server.id);
    let password: String = app.cloud.ids().uuid().replace('-', "")[..12].to_owned();
    let body = json!({"server": {
        "id": server.id.as_str(),
        "links": links.links("servers", server.id.as_str()),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": "default"}],
        "adminPass": password,
    }});
    let mut response = json_response(StatusCode::ACCEPTED, &body);
    if let Ok(location) = axum::http::HeaderValue::from_str(&self_link) {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, location);
    }
    Ok(response)
}

/// Delete a server: 204. Its ports go as a detach treats them (ports
/// given by `port` kept and unbound, created ones deleted); the instance
/// action `delete` is recorded and the server soft-deleted: gone from the
/// server lookups, its instance actions readable from 2.21.
#[utoipa::path(
    delete,
    path = "/v2.1/{project_id}/servers/{server_id}",
    tag = "servers",
    params(ServerPath),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "Policy `os_compute_api:servers:delete` denies.", body = NovaFault),
        (status = 404, description = "`Instance <id> could not be found.`", body = NovaFault),
        (status = 409, description = "`Instance <id> is locked`.", body = NovaFault),
    )
)]
pub async fn delete_server(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<ServerPath>,
) -> Result<Response, Fault> {
    ctx.check_url_project(path.project_id.as_deref())?;
    let op = crate::domain::ops::OpContext {
        caller: &ctx.caller,
        request_id: ctx.request_id.as_str(),
        now: model::now(),
        host: &app.host,
        attached_status: app.options.attached_status(),
    };
    app.cloud
        .write(|txn| servers::delete_server(txn, &op, &path.server_id))
        .await??;
    Ok(crate::api::response::raw_json_response(
        StatusCode::NO_CONTENT,
        Vec::new(),
    ))
}
