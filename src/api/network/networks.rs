//! `/networking/v2.0/networks`: list, show, create (single and bulk),
//! update, delete, and the network's wire type.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::IdPath;
use super::{
    create_all, created_response, json_body, list_response, neutron_time, no_content, one_response,
    reorder, resource_objects, store_fault, to_object, Attributes, ListQuery,
};
use crate::api::extract::{ApiContext, PathIn};
use crate::api::fault::NeutronErrorBody;
use crate::app::AppState;
use crate::domain::network::{self as rules, NetworkRequest, NeutronFault};
use crate::domain::{model, Caller, Network, World};

/// A network, in Neutron's field order.
#[derive(Serialize, ToSchema)]
pub struct NetworkBody {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    pub tenant_id: String,
    pub project_id: String,
    pub admin_state_up: bool,
    #[schema(example = 1450)]
    pub mtu: u32,
    /// Always `ACTIVE`.
    pub status: String,
    /// Its subnets' ids.
    pub subnets: Vec<String>,
    pub shared: bool,
    pub availability_zone_hints: Vec<String>,
    pub availability_zones: Vec<String>,
    #[schema(value_type = Option<String>)]
    pub ipv4_address_scope: Option<String>,
    #[schema(value_type = Option<String>)]
    pub ipv6_address_scope: Option<String>,
    #[serde(rename = "router:external")]
    pub router_external: bool,
    pub description: String,
    pub port_security_enabled: bool,
    pub tags: Vec<String>,
    #[schema(example = "2026-11-30T12:23:27Z")]
    pub created_at: String,
    pub updated_at: String,
    pub revision_number: u64,
}

impl NetworkBody {
    pub fn new(world: &World, n: &Network) -> Self {
        NetworkBody {
            id: n.id.to_string(),
            name: n.name.clone(),
            tenant_id: n.project_id.clone(),
            project_id: n.project_id.clone(),
            admin_state_up: n.neutron.admin_state_up,
            mtu: n.neutron.mtu,
            status: "ACTIVE".to_owned(),
            subnets: world.subnets_of(&n.id).map(|s| s.id.to_string()).collect(),
            shared: n.shared,
            availability_zone_hints: Vec::new(),
            availability_zones: Vec::new(),
            ipv4_address_scope: None,
            ipv6_address_scope: None,
            router_external: n.external,
            description: n.neutron.description.clone(),
            port_security_enabled: n.port_security_enabled,
            tags: n.neutron.tags.clone(),
            created_at: neutron_time(n.neutron.created_at),
            updated_at: neutron_time(n.neutron.updated_at),
            revision_number: n.neutron.revision_number,
        }
    }
}

/// `{"network": {...}}`.
#[derive(Serialize, ToSchema)]
pub struct OneNetwork {
    pub network: NetworkBody,
}

/// `{"networks": [...]}` (and `networks_links` when paged).
#[derive(Serialize, ToSchema)]
pub struct NetworkList {
    pub networks: Vec<NetworkBody>,
}

const SORTABLE: &[&str] = &[
    "id",
    "name",
    "project_id",
    "tenant_id",
    "admin_state_up",
    "mtu",
    "status",
    "shared",
    "router:external",
    "created_at",
    "updated_at",
    "revision_number",
];

/// The order of a create's answer.
const CREATE_ORDER: &[&str] = &[
    "id",
    "name",
    "tenant_id",
    "project_id",
    "admin_state_up",
    "mtu",
    "status",
    "subnets",
    "shared",
    "port_security_enabled",
    "router:external",
    "is_default",
    "availability_zone_hints",
    "availability_zones",
    "ipv4_address_scope",
    "ipv6_address_scope",
    "description",
    "tags",
    "created_at",
    "updated_at",
    "revision_number",
];

const KNOWN: &[&str] = &[
    "name",
    "project_id",
    "tenant_id",
    "admin_state_up",
    "shared",
    "router:external",
    "port_security_enabled",
    "mtu",
    "description",
];

fn request(map: Map<String, Value>) -> Result<NetworkRequest, NeutronFault> {
    let a = Attributes::new(map, KNOWN)?;
    Ok(NetworkRequest {
        name: a.string("name")?,
        project_id: a.project()?,
        admin_state_up: a.boolean("admin_state_up")?,
        shared: a.boolean("shared")?,
        external: a.boolean("router:external")?,
        port_security_enabled: a.boolean("port_security_enabled")?,
        mtu: a
            .integer("mtu")?
            .map(|m| {
                u32::try_from(m).ok().filter(|m| *m >= 68).ok_or_else(|| {
                    NeutronFault::bad_request(format!(
                        "Invalid input for mtu. Reason: '{m}' is too small - must be at least '68'."
                    ))
                })
            })
            .transpose()?,
        description: a.string("description")?,
    })
}

fn item(world: &World, network: &Network) -> Map<String, Value> {
    to_object(&NetworkBody::new(world, network))
}

pub fn visible(world: &World, caller: &Caller) -> Vec<Map<String, Value>> {
    world
        .networks()
        .filter(|n| rules::sees_network(caller, n))
        .map(|n| item(world, n))
        .collect()
}

/// List networks.
///
/// The caller's own, shared and external networks (admin: all). Filters on
/// any attribute (several values OR'ed), `fields`, `sort_key`/`sort_dir`,
/// `limit`/`marker`/`page_reverse` with `networks_links`.
#[utoipa::path(
    get,
    path = "/networking/v2.0/networks",
    tag = "network",
    responses(
        (status = 200, description = "The networks.", body = NetworkList),
        (status = 400, description = "Bad paging or sort parameter.", body = NeutronErrorBody),
        (status = 404, description = "No such marker.", body = NeutronErrorBody),
    )
)]
pub async fn list_networks(
    State(app): State<AppState>,
    ctx: ApiContext,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, NeutronFault> {
    let query = ListQuery::parse(query.as_deref())?;
    let items = app
        .cloud
        .read(|world| visible(world, &ctx.caller))
        .await
        .map_err(store_fault)?;
    list_response(&headers, "networks", items, &query, SORTABLE)
}

/// Show a network.
#[utoipa::path(
    get,
    path = "/networking/v2.0/networks/{network_id}",
    tag = "network",
    params(("network_id" = String, Path, description = "The network's id.")),
    responses(
        (status = 200, description = "The network.", body = OneNetwork),
        (status = 404, description = "`NetworkNotFound` (or not visible).", body = NeutronErrorBody),
    )
)]
pub async fn show_network(
    State(app): State<AppState>,
    ctx: ApiContext,
    PathIn(id, _): IdPath,
    RawQuery(query): RawQuery,
) -> Result<Response, NeutronFault> {
    let query = ListQuery::parse(query.as_deref())?;
    app.cloud
        .read(|world| {
            let network = rules::show_network(world, &ctx.caller, &id)?;
            Ok(one_response(
                StatusCode::OK,
                "network",
                item(world, network),
                &query.fields,
            ))
        })
        .await
        .map_err(store_fault)?
}

/// Create a network, or several (`{"networks": [...]}`, all or nothing).
#[utoipa::path(
    post,
    path = "/networking/v2.0/networks",
    tag = "network",
    request_body(content = Object, content_type = "application/json",
        description = "`{\"network\": {name, admin_state_up, shared, router:external, port_security_enabled, mtu, description, project_id}}` or `{\"networks\": [...]}`."),
    responses(
        (status = 201, description = "Created.", body = OneNetwork),
        (status = 400, description = "`HTTPBadRequest`: an unknown or invalid attribute.", body = NeutronErrorBody),
        (status = 403, description = "`PolicyNotAuthorized` (a reader; `shared`/`router:external` for non-admins).", body = NeutronErrorBody),
    )
)]
pub async fn create_network(
    State(app): State<AppState>,
    ctx: ApiContext,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, NeutronFault> {
    let body = match json_body(&headers, &Method::POST, body).await {
        Ok(body) => body,
        Err(response) => return Ok(response),
    };
    let (objects, bulk) = resource_objects(&body, "network", "networks")?;
    let requests = objects
        .into_iter()
        .map(request)
        .collect::<Result<Vec<_>, _>>()?;
    let now = model::now();
    app.cloud
        .write(|txn| {
            let created = create_all(txn, requests, |txn, r| {
                rules::create_network(txn, &ctx.caller, now, r)
            })?;
            let items = created
                .iter()
                .map(|n| {
                    let mut created = item(txn.world(), n);
                    // Shown on create only (the auto-allocated-topology extension).
                    created.insert("is_default".to_owned(), Value::Bool(false));
                    reorder(created, CREATE_ORDER)
                })
                .collect();
            Ok(created_response("network", "networks", items, bulk))
        })
        .await
        .map_err(store_fault)?
}

/// Update a network.
#[utoipa::path(
    put,
    path = "/networking/v2.0/networks/{network_id}",
    tag = "network",
    params(("network_id" = String, Path, description = "The network's id.")),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "Updated.", body = OneNetwork),
        (status = 400, description = "`HTTPBadRequest`.", body = NeutronErrorBody),
        (status = 403, description = "`PolicyNotAuthorized`.", body = NeutronErrorBody),
        (status = 404, description = "`NetworkNotFound`.", body = NeutronErrorBody),
    )
)]
pub async fn update_network(
    State(app): State<AppState>,
    ctx: ApiContext,
    PathIn(id, _): IdPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, NeutronFault> {
    let body = match json_body(&headers, &Method::PUT, body).await {
        Ok(body) => body,
        Err(response) => return Ok(response),
    };
    let (mut objects, bulk) = resource_objects(&body, "network", "networks")?;
    if bulk {
        return Err(NeutronFault::bad_request(
            "Unable to find 'network' in request body",
        ));
    }
    let request = request(objects.remove(0))?;
    let now = model::now();
    app.cloud
        .write(|txn| {
            let network = rules::update_network(txn, &ctx.caller, now, &id, request)?;
            Ok(one_response(
                StatusCode::OK,
                "network",
                item(txn.world(), &network),
                &[],
            ))
        })
        .await
        .map_err(store_fault)?
}

/// Delete a network (and its subnets); 409 `NetworkInUse` while it has ports.
#[utoipa::path(
    delete,
    path = "/networking/v2.0/networks/{network_id}",
    tag = "network",
    params(("network_id" = String, Path, description = "The network's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "`PolicyNotAuthorized`.", body = NeutronErrorBody),
        (status = 404, description = "`NetworkNotFound`.", body = NeutronErrorBody),
        (status = 409, description = "`NetworkInUse`.", body = NeutronErrorBody),
    )
)]
pub async fn delete_network(
    State(app): State<AppState>,
    ctx: ApiContext,
    PathIn(id, _): IdPath,
) -> Result<Response, NeutronFault> {
    app.cloud
        .write(|txn| rules::delete_network(txn, &ctx.caller, &id))
        .await
        .map_err(store_fault)??;
    Ok(no_content())
}
