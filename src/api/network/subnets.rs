//! `/networking/v2.0/subnets`: list, show, create (single and bulk),
//! update, delete, and the subnet's wire type.

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
    resource_objects, store_fault, to_object, Attributes, ListQuery,
};
use crate::api::extract::{ApiContext, PathIn};
use crate::api::fault::NeutronErrorBody;
use crate::app::AppState;
use crate::domain::network::{self as rules, NeutronFault, SubnetRequest};
use crate::domain::{model, HostRoute, Subnet, World};

/// An allocation pool.
#[derive(Serialize, ToSchema)]
pub struct PoolBody {
    #[schema(example = "10.0.0.2")]
    pub start: String,
    #[schema(example = "10.0.0.254")]
    pub end: String,
}

/// A subnet, in Neutron's field order.
#[derive(Serialize, ToSchema)]
pub struct SubnetBody {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    pub project_id: String,
    #[schema(format = Uuid)]
    pub network_id: String,
    /// 4 or 6.
    pub ip_version: u8,
    #[schema(value_type = Option<String>)]
    pub subnetpool_id: Option<String>,
    pub enable_dhcp: bool,
    #[schema(value_type = Option<String>)]
    pub ipv6_ra_mode: Option<String>,
    #[schema(value_type = Option<String>)]
    pub ipv6_address_mode: Option<String>,
    #[schema(example = "10.0.0.1")]
    pub gateway_ip: Option<String>,
    #[schema(example = "10.0.0.0/24")]
    pub cidr: String,
    pub allocation_pools: Vec<PoolBody>,
    pub host_routes: Vec<HostRoute>,
    pub dns_nameservers: Vec<String>,
    pub description: String,
    /// Its network's `router:external`.
    #[serde(rename = "router:external")]
    pub router_external: bool,
    pub service_types: Vec<String>,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub revision_number: u64,
    pub tenant_id: String,
}

impl SubnetBody {
    pub fn new(world: &World, s: &Subnet) -> Self {
        let project = rules::subnet_project(world, s).to_owned();
        SubnetBody {
            id: s.id.to_string(),
            name: s.neutron.name.clone(),
            project_id: project.clone(),
            network_id: s.network_id.to_string(),
            ip_version: if s.cidr.addr().is_ipv4() { 4 } else { 6 },
            subnetpool_id: None,
            enable_dhcp: s.neutron.enable_dhcp,
            ipv6_ra_mode: None,
            ipv6_address_mode: None,
            gateway_ip: s.gateway_ip.map(|g| g.to_string()),
            cidr: s.cidr.to_string(),
            allocation_pools: s
                .allocation_pools
                .iter()
                .map(|p| PoolBody {
                    start: p.start.to_string(),
                    end: p.end.to_string(),
                })
                .collect(),
            host_routes: s.neutron.host_routes.clone(),
            dns_nameservers: s.neutron.dns_nameservers.clone(),
            description: s.neutron.description.clone(),
            router_external: world.network(&s.network_id).is_some_and(|n| n.external),
            service_types: Vec::new(),
            tags: s.neutron.tags.clone(),
            created_at: neutron_time(s.neutron.created_at),
            updated_at: neutron_time(s.neutron.updated_at),
            revision_number: s.neutron.revision_number,
            tenant_id: project,
        }
    }
}

/// `{"subnet": {...}}`.
#[derive(Serialize, ToSchema)]
pub struct OneSubnet {
    pub subnet: SubnetBody,
}

/// `{"subnets": [...]}` (and `subnets_links` when paged).
#[derive(Serialize, ToSchema)]
pub struct SubnetList {
    pub subnets: Vec<SubnetBody>,
}

const SORTABLE: &[&str] = &[
    "id",
    "name",
    "project_id",
    "tenant_id",
    "network_id",
    "ip_version",
    "cidr",
    "gateway_ip",
    "enable_dhcp",
    "created_at",
    "updated_at",
    "revision_number",
];

const KNOWN: &[&str] = &[
    "name",
    "network_id",
    "project_id",
    "tenant_id",
    "cidr",
    "ip_version",
    "gateway_ip",
    "allocation_pools",
    "enable_dhcp",
    "dns_nameservers",
    "host_routes",
    "description",
];

fn request(map: Map<String, Value>) -> Result<SubnetRequest, NeutronFault> {
    let a = Attributes::new(map, KNOWN)?;
    let pools = a
        .objects("allocation_pools")?
        .map(|pools| {
            pools
                .into_iter()
                .map(|p| {
                    let get = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_owned);
                    match (get("start"), get("end")) {
                        (Some(start), Some(end)) if p.len() == 2 => Ok((start, end)),
                        _ => Err(NeutronFault::bad_request(format!(
                            "Invalid input for allocation_pools. Reason: Invalid data format for IP pool: '{}'.",
                            Value::Object(p.clone())
                        ))),
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let routes = a
        .objects("host_routes")?
        .map(|routes| {
            routes
                .into_iter()
                .map(|r| {
                    let get = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
                    match (get("destination"), get("nexthop")) {
                        (Some(destination), Some(nexthop)) => Ok(HostRoute {
                            destination,
                            nexthop,
                        }),
                        _ => Err(NeutronFault::bad_request(format!(
                            "Invalid input for host_routes. Reason: Invalid data format for hostroute: '{}'.",
                            Value::Object(r.clone())
                        ))),
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(SubnetRequest {
        name: a.string("name")?,
        network_id: a.string("network_id")?,
        project_id: a.project()?,
        cidr: a.string("cidr")?,
        ip_version: a
            .integer("ip_version")?
            .map(|v| u8::try_from(v).unwrap_or(0)),
        gateway_ip: a.nullable_string("gateway_ip")?,
        allocation_pools: pools,
        enable_dhcp: a.boolean("enable_dhcp")?,
        dns_nameservers: a.strings("dns_nameservers")?,
        host_routes: routes,
        description: a.string("description")?,
    })
}

fn item(world: &World, subnet: &Subnet) -> Map<String, Value> {
    to_object(&SubnetBody::new(world, subnet))
}

/// List subnets.
///
/// The caller's own and those of shared networks (admin: all); filters,
/// `fields`, sorting and paging as for networks.
#[utoipa::path(
    get,
    path = "/networking/v2.0/subnets",
    tag = "network",
    responses(
        (status = 200, description = "The subnets.", body = SubnetList),
        (status = 400, description = "Bad paging or sort parameter.", body = NeutronErrorBody),
    )
)]
pub async fn list_subnets(
    State(app): State<AppState>,
    ctx: ApiContext,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, NeutronFault> {
    let query = ListQuery::parse(query.as_deref())?;
    let items = app
        .cloud
        .read(|world| {
            world
                .subnets()
                .filter(|s| rules::sees_subnet(&ctx.caller, world, s))
                .map(|s| item(world, s))
                .collect()
        })
        .await
        .map_err(store_fault)?;
    list_response(&headers, "subnets", items, &query, SORTABLE)
}

/// Show a subnet.
#[utoipa::path(
    get,
    path = "/networking/v2.0/subnets/{subnet_id}",
    tag = "network",
    params(("subnet_id" = String, Path, description = "The subnet's id.")),
    responses(
        (status = 200, description = "The subnet.", body = OneSubnet),
        (status = 404, description = "`SubnetNotFound`.", body = NeutronErrorBody),
    )
)]
pub async fn show_subnet(
    State(app): State<AppState>,
    ctx: ApiContext,
    PathIn(id, _): IdPath,
    RawQuery(query): RawQuery,
) -> Result<Response, NeutronFault> {
    let query = ListQuery::parse(query.as_deref())?;
    app.cloud
        .read(|world| {
            let subnet = rules::show_subnet(world, &ctx.caller, &id)?;
            Ok(one_response(
                StatusCode::OK,
                "subnet",
                item(world, subnet),
                &query.fields,
            ))
        })
        .await
        .map_err(store_fault)?
}

/// Create a subnet, or several (all or nothing). Default gateway: the
/// first address; default pools: the rest but the broadcast address.
#[utoipa::path(
    post,
    path = "/networking/v2.0/subnets",
    tag = "network",
    request_body(content = Object, content_type = "application/json",
        description = "`{\"subnet\": {network_id, cidr, ip_version, name, gateway_ip, allocation_pools, enable_dhcp, dns_nameservers, host_routes, description}}` or `{\"subnets\": [...]}`."),
    responses(
        (status = 201, description = "Created.", body = OneSubnet),
        (status = 400, description = "`HTTPBadRequest`: unknown or invalid attribute, overlapping CIDR.", body = NeutronErrorBody),
        (status = 403, description = "`PolicyNotAuthorized`.", body = NeutronErrorBody),
        (status = 404, description = "`NetworkNotFound`.", body = NeutronErrorBody),
        (status = 409, description = "`GatewayConflictWithAllocationPools`.", body = NeutronErrorBody),
    )
)]
pub async fn create_subnet(
    State(app): State<AppState>,
    ctx: ApiContext,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, NeutronFault> {
    let body = match json_body(&headers, &Method::POST, body).await {
        Ok(body) => body,
        Err(response) => return Ok(response),
    };
    let (objects, bulk) = resource_objects(&body, "subnet", "subnets")?;
    let requests = objects
        .into_iter()
        .map(request)
        .collect::<Result<Vec<_>, _>>()?;
    let now = model::now();
    app.cloud
        .write(|txn| {
            let created = create_all(txn, requests, |txn, r| {
                rules::create_subnet(txn, &ctx.caller, now, r)
            })?;
            let items = created.iter().map(|s| item(txn.world(), s)).collect();
            Ok(created_response("subnet", "subnets", items, bulk))
        })
        .await
        .map_err(store_fault)?
}

/// Update a subnet.
#[utoipa::path(
    put,
    path = "/networking/v2.0/subnets/{subnet_id}",
    tag = "network",
    params(("subnet_id" = String, Path, description = "The subnet's id.")),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "Updated.", body = OneSubnet),
        (status = 400, description = "`HTTPBadRequest`.", body = NeutronErrorBody),
        (status = 403, description = "`PolicyNotAuthorized`.", body = NeutronErrorBody),
        (status = 404, description = "`SubnetNotFound`.", body = NeutronErrorBody),
    )
)]
pub async fn update_subnet(
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
    let (mut objects, bulk) = resource_objects(&body, "subnet", "subnets")?;
    if bulk {
        return Err(NeutronFault::bad_request(
            "Unable to find 'subnet' in request body",
        ));
    }
    let request = request(objects.remove(0))?;
    let now = model::now();
    app.cloud
        .write(|txn| {
            let subnet = rules::update_subnet(txn, &ctx.caller, now, &id, request)?;
            Ok(one_response(
                StatusCode::OK,
                "subnet",
                item(txn.world(), &subnet),
                &[],
            ))
        })
        .await
        .map_err(store_fault)?
}

/// Delete a subnet; 409 `SubnetInUse` while a port has an address on it.
#[utoipa::path(
    delete,
    path = "/networking/v2.0/subnets/{subnet_id}",
    tag = "network",
    params(("subnet_id" = String, Path, description = "The subnet's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "`PolicyNotAuthorized`.", body = NeutronErrorBody),
        (status = 404, description = "`SubnetNotFound`.", body = NeutronErrorBody),
        (status = 409, description = "`SubnetInUse`.", body = NeutronErrorBody),
    )
)]
pub async fn delete_subnet(
    State(app): State<AppState>,
    ctx: ApiContext,
    PathIn(id, _): IdPath,
) -> Result<Response, NeutronFault> {
    app.cloud
        .write(|txn| rules::delete_subnet(txn, &ctx.caller, &id))
        .await
        .map_err(store_fault)??;
    Ok(no_content())
}
