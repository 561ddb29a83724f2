//! Neutron's rules for networks, subnets and ports: visibility and default
//! policy, validation, Neutron's errors, and the changes create, update and
//! delete make (IPAM shared with os-interface: [`super::ipam`]). No HTTP.

use std::net::IpAddr;

use ipnet::IpNet;

use super::caller::Caller;
use super::ipam;
use super::model::*;
use super::world::{Change, Txn, World};

/// A Neutron error: its status, its `type` and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeutronFault {
    pub status: u16,
    pub kind: &'static str,
    pub message: String,
}

impl NeutronFault {
    pub fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        NeutronFault {
            status,
            kind,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "HTTPBadRequest", message)
    }
    pub fn network_not_found(id: &str) -> Self {
        Self::new(
            404,
            "NetworkNotFound",
            format!("Network {id} could not be found."),
        )
    }
    pub fn subnet_not_found(id: &str) -> Self {
        Self::new(
            404,
            "SubnetNotFound",
            format!("Subnet {id} could not be found."),
        )
    }
    pub fn port_not_found(id: &str) -> Self {
        Self::new(
            404,
            "PortNotFound",
            format!("Port {id} could not be found."),
        )
    }
    pub fn policy(rule: &str) -> Self {
        Self::new(
            403,
            "PolicyNotAuthorized",
            format!("rule:{rule} is disallowed by policy"),
        )
    }
    /// An attribute's rule refused: Neutron names both rules it checked.
    pub fn attribute_policy(action: &str, attribute: &str) -> Self {
        Self::new(
            403,
            "PolicyNotAuthorized",
            format!("(rule:{action} and rule:{action}:{attribute}) is disallowed by policy"),
        )
    }
    /// neutron-lib's `InvalidInput`.
    pub fn invalid_input(message: impl std::fmt::Display) -> Self {
        Self::new(
            400,
            "InvalidInput",
            format!("Invalid input for operation: {message}"),
        )
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "HTTPInternalServerError", message)
    }
}

// --- default policy (neutron/conf/policies, 2023.2 and later defaults)

/// `admin_or_project_member`: may create or change in `project_id`.
pub fn is_member_of(caller: &Caller, project_id: &str) -> bool {
    caller.is_admin()
        || (caller.in_project(project_id)
            && (caller.roles.has("member") || caller.roles.has("admin")))
}

/// A service token (`X-Service-Roles` or the `service` role).
pub fn is_service(caller: &Caller) -> bool {
    caller.roles.has("service")
}

pub fn sees_network(caller: &Caller, network: &Network) -> bool {
    caller.sees_project(&network.project_id) || network.shared || network.external
}

pub fn sees_subnet(caller: &Caller, world: &World, subnet: &Subnet) -> bool {
    let network = world.network(&subnet.network_id);
    caller.sees_project(subnet_project(world, subnet))
        || network.is_some_and(|n| n.shared || caller.sees_project(&n.project_id))
}

/// A subnet's project: its network's (porthole keeps no other).
pub fn subnet_project<'w>(world: &'w World, subnet: &Subnet) -> &'w str {
    world
        .network(&subnet.network_id)
        .map(|n| n.project_id.as_str())
        .unwrap_or_default()
}

pub fn sees_port(caller: &Caller, world: &World, port: &Port) -> bool {
    caller.sees_project(&port.project_id)
        || world
            .network(&port.network_id)
            .is_some_and(|n| caller.is_admin() || (!n.shared && caller.sees_project(&n.project_id)))
}

fn visible_network<'w>(
    world: &'w World,
    caller: &Caller,
    id: &str,
) -> Result<&'w Network, NeutronFault> {
    world
        .network(id)
        .filter(|n| sees_network(caller, n))
        .ok_or_else(|| NeutronFault::network_not_found(id))
}

pub fn show_network<'w>(
    world: &'w World,
    caller: &Caller,
    id: &str,
) -> Result<&'w Network, NeutronFault> {
    visible_network(world, caller, id)
}

pub fn show_subnet<'w>(
    world: &'w World,
    caller: &Caller,
    id: &str,
) -> Result<&'w Subnet, NeutronFault> {
    world
        .subnet(id)
        .filter(|s| sees_subnet(caller, world, s))
        .ok_or_else(|| NeutronFault::subnet_not_found(id))
}

pub fn show_port<'w>(
    world: &'w World,
    caller: &Caller,
    id: &str,
) -> Result<&'w Port, NeutronFault> {
    world
        .port(id)
        .filter(|p| sees_port(caller, world, p))
        .ok_or_else(|| NeutronFault::port_not_found(id))
}

/// The project a create names (`project_id` or `tenant_id`), checked.
fn owner(caller: &Caller, requested: Option<&str>, rule: &str) -> Result<String, NeutronFault> {
    let project = match (requested, caller.project_id.as_deref()) {
        (Some(p), _) => p.to_owned(),
        (None, Some(p)) => p.to_owned(),
        (None, None) => return Err(NeutronFault::bad_request("'project_id' is required")),
    };
    if !is_member_of(caller, &project) {
        return Err(NeutronFault::policy(rule));
    }
    Ok(project)
}

fn new_id(txn: &Txn, taken: impl Fn(&World, &str) -> bool) -> String {
    loop {
        let id = txn.ids().uuid();
        if !taken(txn.world(), &id) {
            return id;
        }
    }
}

// --- networks

#[derive(Debug, Clone, Default)]
pub struct NetworkRequest {
    pub name: Option<String>,
    pub project_id: Option<String>,
    pub admin_state_up: Option<bool>,
    pub shared: Option<bool>,
    pub external: Option<bool>,
    pub port_security_enabled: Option<bool>,
    pub mtu: Option<u32>,
    pub description: Option<String>,
}

pub fn create_network(
    txn: &mut Txn,
    caller: &Caller,
    now: Timestamp,
    request: NetworkRequest,
) -> Result<Network, NeutronFault> {
    let project_id = owner(caller, request.project_id.as_deref(), "create_network")?;
    if request.shared == Some(true) && !caller.is_admin() {
        return Err(NeutronFault::attribute_policy("create_network", "shared"));
    }
    if request.external == Some(true) && !caller.is_admin() {
        return Err(NeutronFault::attribute_policy(
            "create_network",
            "router:external",
        ));
    }
    let id = new_id(txn, |w, id| w.network(id).is_some());
    let mut neutron = NeutronAttrs::created(now);
    neutron.revision_number = 1;
    neutron.mtu = request.mtu.unwrap_or(1450);
    neutron.admin_state_up = request.admin_state_up.unwrap_or(true);
    neutron.description = request.description.unwrap_or_default();
    let network = Network {
        id: id.into(),
        name: request.name.unwrap_or_default(),
        project_id,
        shared: request.shared.unwrap_or(false),
        external: request.external.unwrap_or(false),
        port_security_enabled: request.port_security_enabled.unwrap_or(true),
        neutron,
    };
    txn.put(Change::PutNetwork(network.clone()));
    Ok(network)
}

pub fn update_network(
    txn: &mut Txn,
    caller: &Caller,
    now: Timestamp,
    id: &str,
    request: NetworkRequest,
) -> Result<Network, NeutronFault> {
    let mut network = visible_network(txn.world(), caller, id)?.clone();
    if !is_member_of(caller, &network.project_id) {
        return Err(NeutronFault::policy("update_network"));
    }
    if (request.shared.is_some() || request.external.is_some()) && !caller.is_admin() {
        let attribute = if request.shared.is_some() {
            "shared"
        } else {
            "router:external"
        };
        return Err(NeutronFault::attribute_policy("update_network", attribute));
    }
    if request.project_id.is_some() {
        return Err(NeutronFault::bad_request(
            "Attribute 'project_id' cannot be updated.",
        ));
    }
    if let Some(name) = request.name {
        network.name = name;
    }
    if let Some(v) = request.admin_state_up {
        network.neutron.admin_state_up = v;
    }
    if let Some(v) = request.shared {
        network.shared = v;
    }
    if let Some(v) = request.external {
        network.external = v;
    }
    if let Some(v) = request.port_security_enabled {
        network.port_security_enabled = v;
    }
    if let Some(v) = request.mtu {
        network.neutron.mtu = v;
    }
    if let Some(v) = request.description {
        network.neutron.description = v;
    }
    network.neutron.touch(now);
    txn.put(Change::PutNetwork(network.clone()));
    Ok(network)
}

/// Neutron deletes the network's unbound DHCP-style ports itself; any other
/// port is `NetworkInUse`; subnets go with the network.
pub fn delete_network(txn: &mut Txn, caller: &Caller, id: &str) -> Result<(), NeutronFault> {
    let network = visible_network(txn.world(), caller, id)?.clone();
    if !is_member_of(caller, &network.project_id) {
        return Err(NeutronFault::policy("delete_network"));
    }
    let mut in_use: Vec<&Port> = txn
        .world()
        .ports()
        .filter(|p| p.network_id == network.id)
        .collect();
    if !in_use.is_empty() {
        in_use.sort_by_key(|p| p.seq);
        let ids: Vec<&str> = in_use.iter().map(|p| p.id.as_str()).collect();
        return Err(NeutronFault::new(
            409,
            "NetworkInUse",
            format!(
                "Unable to complete operation on network {id}. There are one or more ports still in use on the network, id for these ports is: {}.",
                ids.join(",")
            ),
        ));
    }
    let subnets: Vec<SubnetId> = txn
        .world()
        .subnets_of(&network.id)
        .map(|s| s.id.clone())
        .collect();
    for subnet in subnets {
        txn.put(Change::DeleteSubnet(subnet));
    }
    txn.put(Change::DeleteNetwork(network.id));
    Ok(())
}

// --- subnets

#[derive(Debug, Clone, Default)]
pub struct SubnetRequest {
    pub name: Option<String>,
    pub network_id: Option<String>,
    pub project_id: Option<String>,
    pub cidr: Option<String>,
    pub ip_version: Option<u8>,
    /// `Some(None)`: no gateway.
    pub gateway_ip: Option<Option<String>>,
    pub allocation_pools: Option<Vec<(String, String)>>,
    pub enable_dhcp: Option<bool>,
    pub dns_nameservers: Option<Vec<String>>,
    pub host_routes: Option<Vec<HostRoute>>,
    pub description: Option<String>,
}

fn parse_ip(value: &str, attribute: &str) -> Result<IpAddr, NeutronFault> {
    value.parse().map_err(|_| {
        NeutronFault::bad_request(format!(
            "Invalid input for {attribute}. Reason: '{value}' is not a valid IP address."
        ))
    })
}

pub fn create_subnet(
    txn: &mut Txn,
    caller: &Caller,
    now: Timestamp,
    request: SubnetRequest,
) -> Result<Subnet, NeutronFault> {
    let Some(network_id) = request.network_id.as_deref() else {
        return Err(NeutronFault::bad_request(
            "Failed to parse request. Required attribute 'network_id' not specified",
        ));
    };
    let Some(cidr_text) = request.cidr.as_deref() else {
        return Err(NeutronFault::new(
            400,
            "BadRequest",
            "Bad subnets request: a subnetpool must be specified in the absence of a cidr.",
        ));
    };
    let cidr: IpNet = cidr_text.parse().map_err(|_| {
        NeutronFault::invalid_input(format_args!("{cidr_text} is not in a CIDR format."))
    })?;
    let cidr = cidr.trunc();
    let version = if cidr.addr().is_ipv4() { 4 } else { 6 };
    if let Some(asked) = request.ip_version {
        if asked != 4 && asked != 6 {
            return Err(NeutronFault::bad_request(format!(
                "Invalid input for ip_version. Reason: {asked} is not in [4, 6]."
            )));
        }
        if asked != version {
            return Err(NeutronFault::invalid_input(format_args!(
                "cidr '{cidr_text}' does not match the ip_version '{asked}'."
            )));
        }
    }
    let network = visible_network(txn.world(), caller, network_id)?.clone();
    let project_id = owner(caller, request.project_id.as_deref(), "create_subnet")?;
    if network.project_id != project_id && !caller.is_admin() {
        return Err(NeutronFault::policy("create_subnet"));
    }
    for other in txn.world().subnets_of(&network.id) {
        if other.cidr.contains(&cidr.network()) || cidr.contains(&other.cidr.network()) {
            return Err(NeutronFault::invalid_input(format_args!(
                "Requested subnet with cidr: {cidr} for network: {} overlaps with another subnet.",
                network.id
            )));
        }
    }
    let gateway = match &request.gateway_ip {
        // Neutron: an IPv6 subnet's default gateway is its subnet-router
        // anycast address (the network address), an IPv4 one's the first host.
        None if version == 6 => Some(cidr.network()),
        None => ipam::default_gateway(cidr),
        Some(None) => None,
        Some(Some(g)) => {
            let ip = parse_ip(g, "gateway_ip")?;
            Some(ip)
        }
    };
    let allocation_pools = match &request.allocation_pools {
        None => ipam::default_pools(cidr, gateway),
        Some(pools) => {
            let mut out = Vec::new();
            for (start, end) in pools {
                let start = parse_ip(start, "allocation_pools")?;
                let end = parse_ip(end, "allocation_pools")?;
                if !cidr.contains(&start) || !cidr.contains(&end) || start > end {
                    return Err(NeutronFault::bad_request(format!(
                        "The allocation pool {start}-{end} spans beyond the subnet cidr {cidr}."
                    )));
                }
                if gateway.is_some_and(|g| (start..=end).contains(&g)) {
                    return Err(NeutronFault::new(
                        409,
                        "GatewayConflictWithAllocationPools",
                        format!(
                            "Gateway ip {} conflicts with allocation pool {start}-{end}.",
                            gateway.expect("checked")
                        ),
                    ));
                }
                out.push(IpRange { start, end });
            }
            out
        }
    };
    let mut neutron = NeutronAttrs::created(now);
    neutron.name = request.name.unwrap_or_default();
    neutron.description = request.description.unwrap_or_default();
    neutron.enable_dhcp = request.enable_dhcp.unwrap_or(true);
    neutron.dns_nameservers = request.dns_nameservers.unwrap_or_default();
    neutron.host_routes = request.host_routes.unwrap_or_default();
    let subnet = Subnet {
        id: new_id(txn, |w, id| w.subnet(id).is_some()).into(),
        network_id: network.id.clone(),
        cidr,
        gateway_ip: gateway,
        allocation_pools,
        neutron,
    };
    txn.put(Change::PutSubnet(subnet.clone()));
    let mut network = network;
    network.neutron.touch(now);
    txn.put(Change::PutNetwork(network));
    Ok(subnet)
}

pub fn update_subnet(
    txn: &mut Txn,
    caller: &Caller,
    now: Timestamp,
    id: &str,
    request: SubnetRequest,
) -> Result<Subnet, NeutronFault> {
    let world = txn.world();
    let mut subnet = show_subnet(world, caller, id)?.clone();
    if !is_member_of(caller, subnet_project(world, &subnet)) {
        return Err(NeutronFault::policy("update_subnet"));
    }
    for (given, name) in [
        (request.cidr.is_some(), "cidr"),
        (request.network_id.is_some(), "network_id"),
        (request.ip_version.is_some(), "ip_version"),
        (request.project_id.is_some(), "project_id"),
    ] {
        if given {
            return Err(NeutronFault::bad_request(format!(
                "Cannot update read-only attribute {name}"
            )));
        }
    }
    if let Some(gateway) = request.gateway_ip {
        subnet.gateway_ip = gateway.map(|g| parse_ip(&g, "gateway_ip")).transpose()?;
    }
    if let Some(v) = request.name {
        subnet.neutron.name = v;
    }
    if let Some(v) = request.description {
        subnet.neutron.description = v;
    }
    if let Some(v) = request.enable_dhcp {
        subnet.neutron.enable_dhcp = v;
    }
    if let Some(v) = request.dns_nameservers {
        subnet.neutron.dns_nameservers = v;
    }
    if let Some(v) = request.host_routes {
        subnet.neutron.host_routes = v;
    }
    subnet.neutron.touch(now);
    txn.put(Change::PutSubnet(subnet.clone()));
    Ok(subnet)
}

pub fn delete_subnet(txn: &mut Txn, caller: &Caller, id: &str) -> Result<(), NeutronFault> {
    let world = txn.world();
    let subnet = show_subnet(world, caller, id)?.clone();
    if !is_member_of(caller, subnet_project(world, &subnet)) {
        return Err(NeutronFault::policy("delete_subnet"));
    }
    if world.used_ips(&subnet.id).is_some_and(|u| !u.is_empty()) {
        return Err(NeutronFault::new(
            409,
            "SubnetInUse",
            format!("Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet."),
        ));
    }
    txn.put(Change::DeleteSubnet(subnet.id));
    Ok(())
}

// --- ports

#[derive(Debug, Clone, Default)]
pub struct RequestedFixedIp {
    pub subnet_id: Option<String>,
    pub ip_address: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PortRequest {
    pub name: Option<String>,
    pub network_id: Option<String>,
    pub project_id: Option<String>,
    pub admin_state_up: Option<bool>,
    pub mac_address: Option<String>,
    pub fixed_ips: Option<Vec<RequestedFixedIp>>,
    pub device_id: Option<String>,
    pub device_owner: Option<String>,
    pub description: Option<String>,
    pub security_groups: Option<Vec<String>>,
    pub binding_host_id: Option<String>,
    pub binding_vnic_type: Option<String>,
}

/// The fixed IPs a port asks for, checked and allocated (lowest free when
/// no address is given) on `network`, `own` being the port's current ones.
fn allocate(
    world: &World,
    network: &Network,
    requested: Option<&[RequestedFixedIp]>,
    own: &[FixedIp],
) -> Result<Vec<FixedIp>, NeutronFault> {
    let subnets: Vec<&Subnet> = world.subnets_of(&network.id).collect();
    let Some(requested) = requested else {
        // Neutron: one address from the first IPv4 subnet with room, and one per IPv6 subnet.
        let mut out = Vec::new();
        let mut v4_done = false;
        for subnet in &subnets {
            if subnet.cidr.addr().is_ipv4() && v4_done {
                continue;
            }
            if let Some(ip) = world.first_free_ip(subnet, &[]) {
                v4_done |= subnet.cidr.addr().is_ipv4();
                out.push(FixedIp {
                    subnet_id: subnet.id.clone(),
                    ip_address: ip,
                });
            }
        }
        if out.is_empty() && !subnets.is_empty() {
            return Err(NeutronFault::new(
                409,
                "IpAddressGenerationFailure",
                format!("No more IP addresses available on network {}.", network.id),
            ));
        }
        return Ok(out);
    };
    let mut out: Vec<FixedIp> = Vec::new();
    for want in requested {
        let ip = want
            .ip_address
            .as_deref()
            .map(|ip| parse_ip(ip, "fixed_ips"))
            .transpose()?;
        let subnet = match (&want.subnet_id, ip) {
            (Some(sid), _) => {
                let subnet = subnets
                    .iter()
                    .find(|s| s.id.as_str() == sid)
                    .ok_or_else(|| match world.subnet(sid.as_str()) {
                        // A subnet of another network.
                        Some(_) => NeutronFault::bad_request(format!(
                            "Invalid input for operation: Failed to create port on network {}, because fixed_ips included invalid subnet {sid}.",
                            network.id
                        )),
                        None => NeutronFault::subnet_not_found(sid),
                    })?;
                if let Some(ip) = ip {
                    if !ipam::is_valid_for_subnet(subnet, ip) {
                        return Err(NeutronFault::bad_request(format!(
                            "IP address {ip} is not a valid IP for the specified subnet."
                        )));
                    }
                }
                *subnet
            }
            (None, Some(ip)) => subnets
                .iter()
                .find(|s| ipam::is_valid_for_subnet(s, ip))
                .copied()
                .ok_or_else(|| {
                    NeutronFault::new(
                        400,
                        "InvalidIpForNetwork",
                        format!("IP address {ip} is not a valid IP for any of the subnets on the specified network."),
                    )
                })?,
            (None, None) => {
                return Err(NeutronFault::bad_request(
                    "Invalid input for operation: IP allocation requires subnet_id or ip_address.",
                ))
            }
        };
        let ip = match ip {
            Some(ip) => {
                let mine = own
                    .iter()
                    .any(|f| f.ip_address == ip && f.subnet_id == subnet.id);
                let taken = out.iter().any(|f| f.ip_address == ip);
                if !mine && (world.ip_in_use(&subnet.id, ip) || taken) {
                    return Err(NeutronFault::new(
                        409,
                        "IpAddressAlreadyAllocated",
                        format!("IP address {ip} already allocated in subnet {}", subnet.id),
                    ));
                }
                ip
            }
            None => {
                let also: Vec<IpAddr> = out.iter().map(|f| f.ip_address).collect();
                world.first_free_ip(subnet, &also).ok_or_else(|| {
                    NeutronFault::new(
                        409,
                        "IpAddressGenerationFailure",
                        format!("No more IP addresses available on network {}.", network.id),
                    )
                })?
            }
        };
        out.push(FixedIp {
            subnet_id: subnet.id.clone(),
            ip_address: ip,
        });
    }
    Ok(out)
}

fn check_binding_attributes(
    caller: &Caller,
    request: &PortRequest,
    rule: &str,
) -> Result<(), NeutronFault> {
    if request.binding_host_id.is_some() && !caller.is_admin() {
        return Err(NeutronFault::attribute_policy(rule, "binding:host_id"));
    }
    Ok(())
}

pub fn create_port(
    txn: &mut Txn,
    caller: &Caller,
    now: Timestamp,
    request: PortRequest,
) -> Result<Port, NeutronFault> {
    let Some(network_id) = request.network_id.as_deref() else {
        return Err(NeutronFault::bad_request(
            "Failed to parse request. Required attribute 'network_id' not specified",
        ));
    };
    let world = txn.world();
    let network = visible_network(world, caller, network_id)?.clone();
    let project_id = owner(caller, request.project_id.as_deref(), "create_port")?;
    check_binding_attributes(caller, &request, "create_port")?;
    if request.mac_address.is_some() && !caller.is_admin() && network.project_id != project_id {
        return Err(NeutronFault::attribute_policy("create_port", "mac_address"));
    }
    if request.fixed_ips.is_some() && !caller.is_admin() && network.project_id != project_id {
        return Err(NeutronFault::attribute_policy("create_port", "fixed_ips"));
    }
    let mac_address = match request.mac_address.as_deref() {
        Some(mac) => {
            let mac = ipam::normalize_mac(mac).ok_or_else(|| {
                NeutronFault::bad_request(format!(
                    "Invalid input for mac_address. Reason: '{mac}' is not a valid MAC address."
                ))
            })?;
            if world.mac_in_use(&mac) {
                return Err(NeutronFault::new(
                    409,
                    "MacAddressInUse",
                    format!(
                        "Unable to complete operation for network {}. The mac address {mac} is in use.",
                        network.id
                    ),
                ));
            }
            mac
        }
        None => loop {
            let mac = txn.ids().mac();
            if !world.mac_in_use(&mac) {
                break mac;
            }
        },
    };
    let fixed_ips = allocate(world, &network, request.fixed_ips.as_deref(), &[])?;
    let id = new_id(txn, |w, id| w.port(id).is_some());
    let mut neutron = NeutronAttrs::created(now);
    neutron.revision_number = 1;
    neutron.name = request.name.unwrap_or_default();
    neutron.description = request.description.unwrap_or_default();
    neutron.admin_state_up = request.admin_state_up.unwrap_or(true);
    neutron.security_groups = request.security_groups.unwrap_or_default();
    neutron.binding_host_id = request.binding_host_id.unwrap_or_default();
    neutron.binding_vnic_type = request
        .binding_vnic_type
        .unwrap_or_else(|| "normal".to_owned());
    let device_id = request.device_id.unwrap_or_default();
    let status = if neutron.binding_host_id.is_empty() || device_id.is_empty() {
        PortStatus::Down
    } else {
        PortStatus::Active
    };
    let port = Port {
        id: id.into(),
        network_id: network.id.clone(),
        project_id,
        mac_address,
        fixed_ips,
        device_id,
        device_owner: request.device_owner.unwrap_or_default(),
        status,
        preserve_on_delete: true,
        tag: None,
        seq: txn.next_seq(),
        neutron: neutron.into(),
    };
    txn.put(Change::PutPort(port.clone()));
    Ok(port)
}

pub fn update_port(
    txn: &mut Txn,
    caller: &Caller,
    now: Timestamp,
    id: &str,
    request: PortRequest,
) -> Result<Port, NeutronFault> {
    let world = txn.world();
    let mut port = show_port(world, caller, id)?.clone();
    if !is_member_of(caller, &port.project_id) {
        return Err(NeutronFault::policy("update_port"));
    }
    check_binding_attributes(caller, &request, "update_port")?;
    if request.network_id.is_some() || request.project_id.is_some() {
        let name = if request.network_id.is_some() {
            "network_id"
        } else {
            "project_id"
        };
        return Err(NeutronFault::bad_request(format!(
            "Cannot update read-only attribute {name}"
        )));
    }
    if let Some(mac) = request.mac_address.as_deref() {
        if !caller.is_admin() {
            return Err(NeutronFault::attribute_policy("update_port", "mac_address"));
        }
        let mac = ipam::normalize_mac(mac).ok_or_else(|| {
            NeutronFault::bad_request(format!(
                "Invalid input for mac_address. Reason: '{mac}' is not a valid MAC address."
            ))
        })?;
        if mac != port.mac_address && world.mac_in_use(&mac) {
            return Err(NeutronFault::new(
                409,
                "MacAddressInUse",
                format!(
                    "Unable to complete operation for network {}. The mac address {mac} is in use.",
                    port.network_id
                ),
            ));
        }
        port.mac_address = mac;
    }
    if let Some(requested) = request.fixed_ips.as_deref() {
        let network = world
            .network(&port.network_id)
            .ok_or_else(|| NeutronFault::network_not_found(port.network_id.as_str()))?;
        port.fixed_ips = allocate(world, network, Some(requested), &port.fixed_ips)?;
    }
    let attrs = std::sync::Arc::make_mut(&mut port.neutron);
    if let Some(v) = request.name {
        attrs.name = v;
    }
    if let Some(v) = request.description {
        attrs.description = v;
    }
    if let Some(v) = request.admin_state_up {
        attrs.admin_state_up = v;
    }
    if let Some(v) = request.security_groups {
        attrs.security_groups = v;
    }
    if let Some(v) = request.binding_vnic_type {
        attrs.binding_vnic_type = v;
    }
    if let Some(v) = request.binding_host_id {
        attrs.binding_host_id = v;
    }
    if let Some(v) = request.device_id {
        port.device_id = v;
    }
    if let Some(v) = request.device_owner {
        port.device_owner = v;
    }
    if port.device_id.is_empty() {
        port.tag = None;
    }
    attrs.touch(now);
    txn.put(Change::PutPort(port.clone()));
    Ok(port)
}

/// Neutron refuses a plain member deleting a `compute:*` port (Nova's);
/// admins and services may. A bound port leaves its server's interfaces.
pub fn delete_port(txn: &mut Txn, caller: &Caller, id: &str) -> Result<(), NeutronFault> {
    let port = show_port(txn.world(), caller, id)?.clone();
    if !is_member_of(caller, &port.project_id) {
        return Err(NeutronFault::policy("delete_port"));
    }
    if port.device_owner.starts_with("compute:") && !caller.is_admin() && !is_service(caller) {
        return Err(NeutronFault::policy("delete_port"));
    }
    txn.put(Change::DeletePort(port.id));
    Ok(())
}
