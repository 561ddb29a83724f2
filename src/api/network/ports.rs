//! `/networking/v2.0/ports`: list, show, create (single and bulk), update,
//! delete, and the port's wire type. The same ports os-interface attaches.

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
use crate::domain::network::{self as rules, NeutronFault, PortRequest, RequestedFixedIp};
use crate::domain::{model, Caller, Port, World};

/// One fixed IP.
#[derive(Serialize, ToSchema)]
pub struct PortFixedIp {
    #[schema(format = Uuid)]
    pub subnet_id: String,
    #[schema(example = "10.0.0.2")]
    pub ip_address: String,
}

/// A port, in Neutron's field order. The `binding:*` attributes but
/// `binding:vnic_type` are shown to admins only.
#[derive(Serialize, ToSchema)]
pub struct PortBody {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    #[schema(format = Uuid)]
    pub network_id: String,
    pub project_id: String,
    #[schema(example = "fa:16:3e:4c:2c:30")]
    pub mac_address: String,
    pub admin_state_up: bool,
    /// `ACTIVE`, `DOWN`, `BUILD`, ...
    pub status: String,
    pub device_id: String,
    #[schema(example = "compute:nova")]
    pub device_owner: String,
    pub fixed_ips: Vec<PortFixedIp>,
    pub allowed_address_pairs: Vec<Value>,
    pub extra_dhcp_opts: Vec<Value>,
    pub security_groups: Vec<String>,
    pub description: String,
    #[serde(rename = "binding:vnic_type")]
    pub binding_vnic_type: String,
    #[serde(rename = "binding:profile", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub binding_profile: Option<Value>,
    #[serde(rename = "binding:host_id", skip_serializing_if = "Option::is_none")]
    pub binding_host_id: Option<String>,
    #[serde(rename = "binding:vif_type", skip_serializing_if = "Option::is_none")]
    #[schema(example = "ovs")]
    pub binding_vif_type: Option<String>,
    #[serde(
        rename = "binding:vif_details",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<Object>)]
    pub binding_vif_details: Option<Value>,
    pub port_security_enabled: bool,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub revision_number: u64,
    pub tenant_id: String,
}

impl PortBody {
    pub fn new(world: &World, caller: &Caller, p: &Port) -> Self {
        let admin = caller.is_admin();
        let bound = !p.neutron.binding_host_id.is_empty();
        PortBody {
            id: p.id.to_string(),
            name: p.neutron.name.clone(),
            network_id: p.network_id.to_string(),
            project_id: p.project_id.clone(),
            mac_address: p.mac_address.clone(),
            admin_state_up: p.neutron.admin_state_up,
            status: p.status.as_str().to_owned(),
            device_id: p.device_id.clone(),
            device_owner: p.device_owner.clone(),
            fixed_ips: p
                .fixed_ips
                .iter()
                .map(|ip| PortFixedIp {
                    subnet_id: ip.subnet_id.to_string(),
                    ip_address: ip.ip_address.to_string(),
                })
                .collect(),
            allowed_address_pairs: Vec::new(),
            extra_dhcp_opts: Vec::new(),
            security_groups: p.neutron.security_groups.clone(),
            description: p.neutron.description.clone(),
            binding_vnic_type: p.neutron.binding_vnic_type.clone(),
            binding_profile: admin.then(|| serde_json::json!({})),
            binding_host_id: admin.then(|| p.neutron.binding_host_id.clone()),
            binding_vif_type: admin.then(|| if bound { "ovs" } else { "unbound" }.to_owned()),
            binding_vif_details: admin.then(|| {
                if bound {
                    serde_json::json!({"connectivity": "l2", "port_filter": true, "ovs_hybrid_plug": null, "ovs_create_tap": true, "datapath_type": "system", "bridge_name": "br-int", "bound_drivers": {"0": "openvswitch"}})
                } else {
                    serde_json::json!({})
                }
            }),
            port_security_enabled: world
                .network(&p.network_id)
                .is_none_or(|n| n.port_security_enabled),
            tags: p.neutron.tags.clone(),
            created_at: neutron_time(p.neutron.created_at),
            updated_at: neutron_time(p.neutron.updated_at),
            revision_number: p.neutron.revision_number,
            tenant_id: p.project_id.clone(),
        }
    }
}

/// `{"port": {...}}`.
#[derive(Serialize, ToSchema)]
pub struct OnePort {
    pub port: PortBody,
}

/// `{"ports": [...]}` (and `ports_links` when paged).
#[derive(Serialize, ToSchema)]
pub struct PortList {
    pub ports: Vec<PortBody>,
}

const SORTABLE: &[&str] = &[
    "id",
    "name",
    "network_id",
    "project_id",
    "tenant_id",
    "mac_address",
    "admin_state_up",
    "status",
    "device_id",
    "device_owner",
    "created_at",
    "updated_at",
    "revision_number",
];

/// The order of a create's answer.
const CREATE_ORDER: &[&str] = &[
    "id",
    "name",
    "network_id",
    "project_id",
    "mac_address",
    "admin_state_up",
    "status",
    "device_id",
    "device_owner",
    "fixed_ips",
    "tenant_id",
    "port_security_enabled",
    "security_groups",
    "binding:vnic_type",
    "allowed_address_pairs",
    "extra_dhcp_opts",
    "description",
    "tags",
    "created_at",
    "updated_at",
    "revision_number",
];

const KNOWN: &[&str] = &[
    "name",
    "network_id",
    "project_id",
    "tenant_id",
    "admin_state_up",
    "mac_address",
    "fixed_ips",
    "device_id",
    "device_owner",
    "description",
    "security_groups",
    "binding:host_id",
    "binding:vnic_type",
];

fn request(map: Map<String, Value>) -> Result<PortRequest, NeutronFault> {
    let a = Attributes::new(map, KNOWN)?;
    let fixed_ips = a
        .objects("fixed_ips")?
        .map(|ips| {
            ips.into_iter()
                .map(|ip| {
                    let known = ip.keys().all(|k| k == "subnet_id" || k == "ip_address");
                    let get = |k: &str| ip.get(k).and_then(Value::as_str).map(str::to_owned);
                    if !known {
                        return Err(NeutronFault::bad_request(format!(
                            "Invalid input for fixed_ips. Reason: Invalid data format for fixed IP: '{}'.",
                            Value::Object(ip.clone())
                        )));
                    }
                    Ok(RequestedFixedIp {
                        subnet_id: get("subnet_id"),
                        ip_address: get("ip_address"),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(PortRequest {
        name: a.string("name")?,
        network_id: a.string("network_id")?,
        project_id: a.project()?,
        admin_state_up: a.boolean("admin_state_up")?,
        mac_address: a.string("mac_address")?,
        fixed_ips,
        device_id: a.string("device_id")?,
        device_owner: a.string("device_owner")?,
        description: a.string("description")?,
        security_groups: a.strings("security_groups")?,
        binding_host_id: a.string("binding:host_id")?,
        binding_vnic_type: a.string("binding:vnic_type")?,
    })
}

fn item(world: &World, caller: &Caller, port: &Port) -> Map<String, Value> {
    to_object(&PortBody::new(world, caller, port))
}

/// List ports.
///
/// The caller's own (admin: all), in creation order. Filters (e.g.
/// `device_id`, `network_id`, `fixed_ips=ip_address=…`,
/// `fixed_ips=subnet_id=…`; several values OR'ed), `fields`, sorting and
/// paging.
#[utoipa::path(
    get,
    path = "/networking/v2.0/ports",
    tag = "network",
    responses(
        (status = 200, description = "The ports.", body = PortList),
        (status = 400, description = "Bad paging or sort parameter.", body = NeutronErrorBody),
    )
)]
pub async fn list_ports(
    State(app): State<AppState>,
    ctx: ApiContext,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, NeutronFault> {
    let query = ListQuery::parse(query.as_deref())?;
    let items = app
        .cloud
        .read(|world| {
            let mut ports: Vec<&Port> = world
                .ports()
                .filter(|p| rules::sees_port(&ctx.caller, world, p))
                .collect();
            ports.sort_by_key(|p| p.seq);
            ports
                .into_iter()
                .map(|p| item(world, &ctx.caller, p))
                .collect()
        })
        .await
        .map_err(store_fault)?;
    list_response(&headers, "ports", items, &query, SORTABLE)
}

/// Show a port.
#[utoipa::path(
    get,
    path = "/networking/v2.0/ports/{port_id}",
    tag = "network",
    params(("port_id" = String, Path, description = "The port's id.")),
    responses(
        (status = 200, description = "The port.", body = OnePort),
        (status = 404, description = "`PortNotFound`.", body = NeutronErrorBody),
    )
)]
pub async fn show_port(
    State(app): State<AppState>,
    ctx: ApiContext,
    PathIn(id, _): IdPath,
    RawQuery(query): RawQuery,
) -> Result<Response, NeutronFault> {
    let query = ListQuery::parse(query.as_deref())?;
    app.cloud
        .read(|world| {
            let port = rules::show_port(world, &ctx.caller, &id)?;
            Ok(one_response(
                StatusCode::OK,
                "port",
                item(world, &ctx.caller, port),
                &query.fields,
            ))
        })
        .await
        .map_err(store_fault)?
}

/// Create a port, or several (all or nothing): the lowest free address of
/// the network's first subnet unless `fixed_ips` asks; a `fa:16:3e` MAC
/// unless `mac_address` gives one.
#[utoipa::path(
    post,
    path = "/networking/v2.0/ports",
    tag = "network",
    request_body(content = Object, content_type = "application/json",
        description = "`{\"port\": {network_id, name, fixed_ips, mac_address, device_id, device_owner, admin_state_up, description, security_groups, binding:host_id, binding:vnic_type}}` or `{\"ports\": [...]}`."),
    responses(
        (status = 201, description = "Created.", body = OnePort),
        (status = 400, description = "`HTTPBadRequest`: unknown or invalid attribute, an address outside the network.", body = NeutronErrorBody),
        (status = 403, description = "`PolicyNotAuthorized` (a reader; `binding:host_id` for non-admins).", body = NeutronErrorBody),
        (status = 404, description = "`NetworkNotFound`.", body = NeutronErrorBody),
        (status = 409, description = "`IpAddressAlreadyAllocated`, `MacAddressInUse`, `IpAddressGenerationFailure`.", body = NeutronErrorBody),
    )
)]
pub async fn create_port(
    State(app): State<AppState>,
    ctx: ApiContext,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, NeutronFault> {
    let body = match json_body(&headers, &Method::POST, body).await {
        Ok(body) => body,
        Err(response) => return Ok(response),
    };
    let (objects, bulk) = resource_objects(&body, "port", "ports")?;
    let requests = objects
        .into_iter()
        .map(request)
        .collect::<Result<Vec<_>, _>>()?;
    let now = model::now();
    app.cloud
        .write(|txn| {
            let created = create_all(txn, requests, |txn, r| {
                rules::create_port(txn, &ctx.caller, now, r)
            })?;
            let items = created
                .iter()
                .map(|p| reorder(item(txn.world(), &ctx.caller, p), CREATE_ORDER))
                .collect();
            Ok(created_response("port", "ports", items, bulk))
        })
        .await
        .map_err(store_fault)?
}

/// Update a port.
#[utoipa::path(
    put,
    path = "/networking/v2.0/ports/{port_id}",
    tag = "network",
    params(("port_id" = String, Path, description = "The port's id.")),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "Updated.", body = OnePort),
        (status = 400, description = "`HTTPBadRequest`.", body = NeutronErrorBody),
        (status = 403, description = "`PolicyNotAuthorized`.", body = NeutronErrorBody),
        (status = 404, description = "`PortNotFound`.", body = NeutronErrorBody),
        (status = 409, description = "`IpAddressAlreadyAllocated`, `MacAddressInUse`.", body = NeutronErrorBody),
    )
)]
pub async fn update_port(
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
    let (mut objects, bulk) = resource_objects(&body, "port", "ports")?;
    if bulk {
        return Err(NeutronFault::bad_request(
            "Unable to find 'port' in request body",
        ));
    }
    let request = request(objects.remove(0))?;
    let now = model::now();
    app.cloud
        .write(|txn| {
            let port = rules::update_port(txn, &ctx.caller, now, &id, request)?;
            Ok(one_response(
                StatusCode::OK,
                "port",
                item(txn.world(), &ctx.caller, &port),
                &[],
            ))
        })
        .await
        .map_err(store_fault)?
}

/// Delete a port. A port bound to a server leaves its interfaces; a
/// `compute:*` port is refused to plain members (403), as in Neutron.
#[utoipa::path(
    delete,
    path = "/networking/v2.0/ports/{port_id}",
    tag = "network",
    params(("port_id" = String, Path, description = "The port's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "`PolicyNotAuthorized`.", body = NeutronErrorBody),
        (status = 404, description = "`PortNotFound`.", body = NeutronErrorBody),
    )
)]
pub async fn delete_port(
    State(app): State<AppState>,
    ctx: ApiContext,
    PathIn(id, _): IdPath,
) -> Result<Response, NeutronFault> {
    app.cloud
        .write(|txn| rules::delete_port(txn, &ctx.caller, &id))
        .await
        .map_err(store_fault)??;
    Ok(no_content())
}
