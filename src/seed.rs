//! The declarative seed document: parse, validate every entry, and turn it
//! into changes applied all at once (or not at all).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::domain::ids::IdSource;
use crate::domain::ipam;
use crate::domain::ops::DEVICE_OWNER;
use crate::domain::states::UnknownState;
use crate::domain::*;

/// A seed document: the seed file's format (TOML), or JSON on the control plane.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeedDocument {
    #[serde(default)]
    pub networks: Vec<SeedNetwork>,
    #[serde(default)]
    pub subnets: Vec<SeedSubnet>,
    #[serde(default)]
    pub ports: Vec<SeedPort>,
    #[serde(default)]
    pub servers: Vec<SeedServer>,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeedNetwork {
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    pub project_id: String,
    #[serde(default)]
    pub shared: bool,
    #[serde(default)]
    pub external: bool,
    #[serde(default = "yes")]
    pub port_security_enabled: bool,
    /// Neutron's other attributes (all optional, Neutron's defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neutron: Option<NeutronAttrs>,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeedPool {
    #[schema(value_type = String, example = "192.168.1.2")]
    pub start: IpAddr,
    #[schema(value_type = String, example = "192.168.1.254")]
    pub end: IpAddr,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeedSubnet {
    pub id: Option<String>,
    pub network_id: String,
    pub cidr: String,
    /// Absent: the subnet's first address; `null` or `""`: no gateway.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "192.168.1.1")]
    pub gateway_ip: Option<Option<String>>,
    pub allocation_pools: Option<Vec<SeedPool>>,
    /// Neutron's other attributes (all optional, Neutron's defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neutron: Option<NeutronAttrs>,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeedFixedIp {
    pub subnet_id: Option<String>,
    #[schema(value_type = Option<String>, example = "192.168.1.5")]
    pub ip_address: Option<IpAddr>,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeedPort {
    pub id: Option<String>,
    pub network_id: String,
    pub project_id: String,
    pub mac_address: Option<String>,
    pub fixed_ips: Option<Vec<SeedFixedIp>>,
    #[serde(default)]
    pub device_id: String,
    pub device_owner: Option<String>,
    pub status: Option<String>,
    #[serde(default = "yes")]
    pub preserve_on_delete: bool,
    pub tag: Option<String>,
    /// Neutron's other attributes (all optional, Neutron's defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neutron: Option<NeutronAttrs>,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeedServer {
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    pub project_id: String,
    pub user_id: Option<String>,
    #[serde(default = "active")]
    pub vm_state: String,
    #[serde(default)]
    pub task_state: String,
    #[serde(default)]
    pub locked: bool,
    #[serde(default = "yes")]
    pub launched: bool,
    /// The flavor's id (default `1`, m1.tiny).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavor: Option<String>,
    /// The image's id (default: the first configured image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub metadata: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_reason: Option<String>,
}

/// Tells a key given as `null` (`Some(None)`) from an absent one (`None`).
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A `vm_state` Nova knows, or the problem with it.
pub fn check_vm_state(value: &str) -> Result<VmState, String> {
    value.parse().map_err(|e: UnknownState| e.to_string())
}

/// A `task_state` Nova knows (`""` for none), or the problem with it.
pub fn check_task_state(value: &str) -> Result<Option<TaskState>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|e: UnknownState| e.to_string())
}

impl From<&Network> for SeedNetwork {
    fn from(n: &Network) -> Self {
        SeedNetwork {
            id: Some(n.id.to_string()),
            name: n.name.clone(),
            project_id: n.project_id.clone(),
            shared: n.shared,
            external: n.external,
            port_security_enabled: n.port_security_enabled,
            neutron: Some(n.neutron.clone()),
        }
    }
}

impl From<&Subnet> for SeedSubnet {
    fn from(s: &Subnet) -> Self {
        SeedSubnet {
            id: Some(s.id.to_string()),
            network_id: s.network_id.to_string(),
            cidr: s.cidr.to_string(),
            gateway_ip: Some(s.gateway_ip.map(|g| g.to_string())),
            allocation_pools: Some(
                s.allocation_pools
                    .iter()
                    .map(|p| SeedPool {
                        start: p.start,
                        end: p.end,
                    })
                    .collect(),
            ),
            neutron: Some(s.neutron.clone()),
        }
    }
}

impl From<&Port> for SeedPort {
    fn from(p: &Port) -> Self {
        SeedPort {
            id: Some(p.id.to_string()),
            network_id: p.network_id.to_string(),
            project_id: p.project_id.clone(),
            mac_address: Some(p.mac_address.clone()),
            fixed_ips: Some(
                p.fixed_ips
                    .iter()
                    .map(|ip| SeedFixedIp {
                        subnet_id: Some(ip.subnet_id.to_string()),
                        ip_address: Some(ip.ip_address),
                    })
                    .collect(),
            ),
            device_id: p.device_id.clone(),
            device_owner: Some(p.device_owner.clone()),
            status: Some(p.status.to_string()),
            preserve_on_delete: p.preserve_on_delete,
            tag: p.tag.clone(),
            neutron: Some((*p.neutron).clone()),
        }
    }
}

impl From<&Server> for SeedServer {
    fn from(s: &Server) -> Self {
        SeedServer {
            id: Some(s.id.to_string()),
            name: s.name.clone(),
            project_id: s.project_id.clone(),
            user_id: Some(s.user_id.clone()),
            vm_state: s.vm_state.to_string(),
            task_state: s.task_state.map(|t| t.to_string()).unwrap_or_default(),
            locked: s.locked,
            launched: s.launched,
            flavor: Some(s.details.flavor_id.clone()),
            image: Some(s.details.image_id.clone()),
            metadata: s.details.metadata.clone(),
            tags: s.details.tags.clone(),
            description: s.details.description.clone(),
            locked_reason: s.details.locked_reason.clone(),
        }
    }
}

fn yes() -> bool {
    true
}
fn active() -> String {
    "active".to_owned()
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read seed file {path}: {error}")]
    Read { path: String, error: String },
    #[error("malformed seed: {0}")]
    Syntax(String),
    #[error("bad seed entry {entry}: {problem}")]
    Entry { entry: String, problem: String },
}

impl SeedDocument {
    /// Everything `world` holds, in the seed format (instance actions and
    /// tokens are history, not state, and are left out).
    pub fn from_world(world: &World) -> Self {
        let mut servers: Vec<&Server> = world.servers().collect();
        servers.sort_by(|a, b| a.id.cmp(&b.id));
        let mut subnets: Vec<&Subnet> = world.subnets().collect();
        subnets.sort_by(|a, b| (&a.network_id, &a.id).cmp(&(&b.network_id, &b.id)));
        let mut ports: Vec<&Port> = world.ports().collect();
        ports.sort_by_key(|p| p.seq);
        SeedDocument {
            networks: world.networks().map(SeedNetwork::from).collect(),
            subnets: world
                .networks()
                .flat_map(|n| world.subnets_of(&n.id))
                .map(SeedSubnet::from)
                .collect(),
            ports: ports.into_iter().map(SeedPort::from).collect(),
            servers: servers.into_iter().map(SeedServer::from).collect(),
        }
    }

    pub fn from_toml(text: &str) -> Result<Self, SeedError> {
        toml::from_str(text).map_err(|e| SeedError::Syntax(e.to_string()))
    }

    pub fn from_file(path: &Path) -> Result<Self, SeedError> {
        let text = std::fs::read_to_string(path).map_err(|e| SeedError::Read {
            path: path.display().to_string(),
            error: e.to_string(),
        })?;
        Self::from_toml(&text)
    }

    /// Validate everything, then describe the world as changes, in the
    /// order a store can apply them (random ids where none are given).
    pub fn into_changes(self) -> Result<Vec<Change>, SeedError> {
        self.into_changes_with(&IdSource::random())
    }

    /// As [`Self::into_changes`], new ids from `ids`.
    pub fn into_changes_with(self, ids: &IdSource) -> Result<Vec<Change>, SeedError> {
        self.changes_over(&World::default(), ids)
    }

    /// The changes that add this document to `world`: entries may refer to
    /// what `world` holds; an id it already holds is an error.
    pub fn changes_over(self, world: &World, ids: &IdSource) -> Result<Vec<Change>, SeedError> {
        let mut builder = Builder::over(world, ids);
        for (i, s) in self.servers.into_iter().enumerate() {
            builder.server(i, s)?;
        }
        for (i, n) in self.networks.into_iter().enumerate() {
            builder.network(i, n)?;
        }
        for (i, s) in self.subnets.into_iter().enumerate() {
            builder.subnet(i, s)?;
        }
        for (i, p) in self.ports.into_iter().enumerate() {
            builder.port(i, p)?;
        }
        Ok(builder.changes)
    }
}

struct Builder<'a> {
    ids: &'a IdSource,
    changes: Vec<Change>,
    servers: HashSet<ServerId>,
    networks: HashSet<NetworkId>,
    subnets: HashMap<SubnetId, Subnet>,
    subnets_by_network: HashMap<NetworkId, Vec<SubnetId>>,
    ports: HashSet<PortId>,
    used_ips: HashMap<SubnetId, BTreeSet<IpAddr>>,
    macs: HashSet<String>,
    next_seq: u64,
}

fn entry(kind: &str, index: usize, id: Option<&str>) -> String {
    match id {
        Some(id) => format!("{kind}[{index}] (id {id})"),
        None => format!("{kind}[{index}]"),
    }
}

fn fail<T>(
    kind: &str,
    index: usize,
    id: Option<&str>,
    problem: impl Into<String>,
) -> Result<T, SeedError> {
    Err(SeedError::Entry {
        entry: entry(kind, index, id),
        problem: problem.into(),
    })
}

/// A given id checked, or a new one; `taken` tells the ids already used.
fn check_id<I: From<String>>(
    kind: &str,
    index: usize,
    id: &Option<String>,
    taken: impl Fn(&str) -> bool,
    ids: &IdSource,
) -> Result<I, SeedError> {
    match id {
        Some(id) if id.is_empty() => fail(kind, index, Some(id), "id must not be empty"),
        Some(id) if taken(id) => fail(kind, index, Some(id), "duplicate id"),
        Some(id) if id.len() > 255 || id.chars().any(|c| c.is_control() || c == '/') => fail(
            kind,
            index,
            Some(id),
            "id must be at most 255 characters, without '/' or control characters",
        ),
        Some(id) => Ok(id.clone().into()),
        // A deterministic source may repeat an id an earlier run used.
        None => Ok(std::iter::repeat_with(|| ids.uuid())
            .find(|id| !taken(id))
            .expect("an endless iterator")
            .into()),
    }
}

impl<'a> Builder<'a> {
    /// A builder that knows everything `world` holds.
    fn over(world: &World, ids: &'a IdSource) -> Self {
        let mut builder = Builder {
            ids,
            changes: Vec::new(),
            servers: world.servers().map(|s| s.id.clone()).collect(),
            networks: world.networks().map(|n| n.id.clone()).collect(),
            subnets: world.subnets().map(|s| (s.id.clone(), s.clone())).collect(),
            subnets_by_network: HashMap::new(),
            ports: HashSet::new(),
            used_ips: HashMap::new(),
            macs: HashSet::new(),
            next_seq: 0,
        };
        for network in world.networks() {
            builder.subnets_by_network.insert(
                network.id.clone(),
                world
                    .subnets_of(&network.id)
                    .map(|s| s.id.clone())
                    .collect(),
            );
        }
        for port in world.ports() {
            builder.ports.insert(port.id.clone());
            builder.macs.insert(port.mac_address.clone());
            builder.next_seq = builder.next_seq.max(port.seq + 1);
            for ip in &port.fixed_ips {
                builder
                    .used_ips
                    .entry(ip.subnet_id.clone())
                    .or_default()
                    .insert(ip.ip_address);
            }
        }
        for action in world.all_actions() {
            builder.next_seq = builder.next_seq.max(action.seq + 1);
        }
        builder
    }

    fn server(&mut self, i: usize, s: SeedServer) -> Result<(), SeedError> {
        let id: ServerId = check_id(
            "servers",
            i,
            &s.id,
            |id| self.servers.contains(id),
            self.ids,
        )?;
        if s.project_id.is_empty() {
            return fail(
                "servers",
                i,
                Some(id.as_str()),
                "project_id must not be empty",
            );
        }
        let states =
            check_vm_state(&s.vm_state).and_then(|vm| Ok((vm, check_task_state(&s.task_state)?)));
        let (vm_state, task_state) = match states {
            Ok(states) => states,
            Err(problem) => return fail("servers", i, Some(id.as_str()), problem),
        };
        self.servers.insert(id.clone());
        // One microsecond apart: Nova's default order (newest first) is the seed's, reversed.
        let now = crate::domain::model::now() + i as i64;
        let mut tags = s.tags;
        tags.sort();
        tags.dedup();
        let details = crate::domain::ServerDetails {
            flavor_id: s.flavor.unwrap_or_else(|| "1".to_owned()),
            image_id: s
                .image
                .unwrap_or_else(|| crate::domain::catalog::DEFAULT_IMAGE_ID.to_owned()),
            created_at: now,
            updated_at: now,
            launched_at: s.launched.then_some(now),
            metadata: s.metadata,
            tags,
            description: s.description,
            locked_reason: s.locked_reason,
            ..Default::default()
        };
        self.changes.push(Change::PutServer(Server {
            id,
            name: s.name,
            project_id: s.project_id,
            user_id: s.user_id.unwrap_or_else(|| "admin".to_owned()),
            vm_state,
            task_state,
            locked: s.locked,
            launched: s.launched,
            details,
        }));
        Ok(())
    }

    fn network(&mut self, i: usize, n: SeedNetwork) -> Result<(), SeedError> {
        let id: NetworkId = check_id(
            "networks",
            i,
            &n.id,
            |id| self.networks.contains(id),
            self.ids,
        )?;
        if n.project_id.is_empty() {
            return fail(
                "networks",
                i,
                Some(id.as_str()),
                "project_id must not be empty",
            );
        }
        self.networks.insert(id.clone());
        self.changes.push(Change::PutNetwork(Network {
            id,
            name: n.name,
            project_id: n.project_id,
            shared: n.shared,
            external: n.external,
            port_security_enabled: n.port_security_enabled,
            neutron: n.neutron.unwrap_or_default(),
        }));
        Ok(())
    }

    fn subnet(&mut self, i: usize, s: SeedSubnet) -> Result<(), SeedError> {
        let id: SubnetId = check_id(
            "subnets",
            i,
            &s.id,
            |id| self.subnets.contains_key(id),
            self.ids,
        )?;
        let bad = |problem: String| fail("subnets", i, Some(id.as_str()), problem);
        if !self.networks.contains(s.network_id.as_str()) {
            return bad(format!(
                "network_id '{}' is not a seeded network",
                s.network_id
            ));
        }
        let cidr: IpNet = match s.cidr.parse() {
            Ok(cidr) => cidr,
            Err(_) => return bad(format!("cidr '{}' is not a valid CIDR", s.cidr)),
        };
        let cidr = cidr.trunc();
        let gateway = match s.gateway_ip {
            None => ipam::default_gateway(cidr),
            Some(None) => None,
            Some(Some(g)) if g.is_empty() => None,
            Some(Some(g)) => match g.parse::<IpAddr>() {
                Ok(g) if cidr.contains(&g) => Some(g),
                Ok(g) => return bad(format!("gateway_ip {g} is outside {cidr}")),
                Err(_) => return bad(format!("gateway_ip '{g}' is not an IP address")),
            },
        };
        let overlaps = self
            .subnets_by_network
            .get(s.network_id.as_str())
            .into_iter()
            .flatten()
            .filter_map(|other| self.subnets.get(other))
            .find(|other| other.cidr.contains(&cidr) || cidr.contains(&other.cidr));
        if let Some(other) = overlaps {
            return bad(format!(
                "cidr {cidr} overlaps subnet {} ({}) of network {}",
                other.id, other.cidr, s.network_id
            ));
        }
        let allocation_pools = match s.allocation_pools {
            None => ipam::default_pools(cidr, gateway),
            Some(pools) => {
                let mut out = Vec::new();
                for pool in pools {
                    if !cidr.contains(&pool.start)
                        || !cidr.contains(&pool.end)
                        || pool.start > pool.end
                    {
                        return bad(format!(
                            "allocation pool {}-{} is not a range inside {cidr}",
                            pool.start, pool.end
                        ));
                    }
                    let range = pool.start..=pool.end;
                    if let Some(g) = gateway.filter(|g| range.contains(g)) {
                        return bad(format!(
                            "allocation pool {}-{} holds the gateway {g}",
                            pool.start, pool.end
                        ));
                    }
                    let edges = cidr.prefix_len() + 1 < cidr.max_prefix_len();
                    if edges && cidr.addr().is_ipv4() {
                        for edge in [cidr.network(), cidr.broadcast()] {
                            if range.contains(&edge) {
                                return bad(format!(
                                    "allocation pool {}-{} holds {edge}, the network or broadcast address",
                                    pool.start, pool.end
                                ));
                            }
                        }
                    }
                    out.push(IpRange {
                        start: pool.start,
                        end: pool.end,
                    });
                }
                out
            }
        };
        let subnet = Subnet {
            id: id.clone(),
            network_id: s.network_id.into(),
            cidr,
            gateway_ip: gateway,
            allocation_pools,
            neutron: s.neutron.unwrap_or_default(),
        };
        self.subnets_by_network
            .entry(subnet.network_id.clone())
            .or_default()
            .push(id.clone());
        self.subnets.insert(id, subnet.clone());
        self.changes.push(Change::PutSubnet(subnet));
        Ok(())
    }

    fn port(&mut self, i: usize, p: SeedPort) -> Result<(), SeedError> {
        let id: PortId = check_id("ports", i, &p.id, |id| self.ports.contains(id), self.ids)?;
        let bad = |problem: String| fail::<()>("ports", i, Some(id.as_str()), problem);
        if !self.networks.contains(p.network_id.as_str()) {
            return bad(format!(
                "network_id '{}' is not a seeded network",
                p.network_id
            ));
        }
        if p.project_id.is_empty() {
            return bad("project_id must not be empty".into());
        }
        let mac_address = match p.mac_address {
            Some(mac) => match ipam::normalize_mac(&mac) {
                Some(mac) if self.macs.contains(&mac) => {
                    return bad(format!("mac_address {mac} is already used"))
                }
                Some(mac) => mac,
                None => return bad(format!("mac_address '{mac}' is not a MAC address")),
            },
            None => loop {
                let mac = self.ids.mac();
                if !self.macs.contains(&mac) {
                    break mac;
                }
            },
        };
        let network_subnets: Vec<Subnet> = self
            .subnets_by_network
            .get(p.network_id.as_str())
            .into_iter()
            .flatten()
            .filter_map(|s| self.subnets.get(s).cloned())
            .collect();
        let requested = p.fixed_ips.unwrap_or_else(|| {
            if network_subnets.is_empty() {
                Vec::new()
            } else {
                vec![SeedFixedIp {
                    subnet_id: None,
                    ip_address: None,
                }]
            }
        });
        let mut fixed_ips = Vec::new();
        for (k, want) in requested.into_iter().enumerate() {
            let subnet = match (&want.subnet_id, want.ip_address) {
                (Some(sid), _) => match network_subnets.iter().find(|s| s.id == sid.as_str()) {
                    Some(s) => s,
                    None => {
                        return bad(format!(
                            "fixed_ips[{k}]: subnet '{sid}' is not a subnet of network {}",
                            p.network_id
                        ))
                    }
                },
                (None, Some(ip)) => match network_subnets.iter().find(|s| s.cidr.contains(&ip)) {
                    Some(s) => s,
                    None => {
                        return bad(format!(
                            "fixed_ips[{k}]: {ip} is in no subnet of network {}",
                            p.network_id
                        ))
                    }
                },
                (None, None) => match network_subnets.iter().find(|s| {
                    ipam::first_free(s, self.used_ips.get(&s.id).unwrap_or(&BTreeSet::new()))
                        .is_some()
                }) {
                    Some(s) => s,
                    None => {
                        return bad(format!(
                            "fixed_ips[{k}]: no free address on network {}",
                            p.network_id
                        ))
                    }
                },
            };
            let used = self.used_ips.entry(subnet.id.clone()).or_default();
            let ip = match want.ip_address {
                Some(ip) if !ipam::is_valid_for_subnet(subnet, ip) => {
                    return bad(format!(
                        "fixed_ips[{k}]: {ip} is not a valid address of subnet {}",
                        subnet.id
                    ))
                }
                Some(ip) if used.contains(&ip) || subnet.gateway_ip == Some(ip) => {
                    return bad(format!("fixed_ips[{k}]: {ip} is already in use"))
                }
                Some(ip) => ip,
                None => match ipam::first_free(subnet, used) {
                    Some(ip) => ip,
                    None => {
                        return bad(format!(
                            "fixed_ips[{k}]: subnet {} has no free address",
                            subnet.id
                        ))
                    }
                },
            };
            used.insert(ip);
            fixed_ips.push(FixedIp {
                subnet_id: subnet.id.clone(),
                ip_address: ip,
            });
        }
        let bound_to_server =
            !p.device_id.is_empty() && self.servers.contains(p.device_id.as_str());
        let device_owner = p.device_owner.unwrap_or_else(|| {
            if bound_to_server {
                DEVICE_OWNER.to_owned()
            } else {
                String::new()
            }
        });
        let status = match p.status {
            Some(status) => match status.parse::<PortStatus>() {
                Ok(status) => status,
                Err(unknown) => return bad(unknown.to_string()),
            },
            None if bound_to_server => PortStatus::Active,
            None => PortStatus::Down,
        };
        self.macs.insert(mac_address.clone());
        self.ports.insert(id.clone());
        let seq = self.next_seq;
        self.next_seq += 1;
        self.changes.push(Change::PutPort(Port {
            id,
            network_id: p.network_id.into(),
            project_id: p.project_id,
            mac_address,
            fixed_ips,
            device_id: p.device_id,
            device_owner,
            status,
            preserve_on_delete: p.preserve_on_delete,
            tag: p.tag,
            seq,
            neutron: p.neutron.unwrap_or_default().into(),
        }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_bad_entry() {
        let doc = SeedDocument::from_toml(
            r#"
            [[networks]]
            id = "n1"
            project_id = "p"
            [[ports]]
            id = "port-a"
            network_id = "n2"
            project_id = "p"
            "#,
        )
        .unwrap();
        let err = doc.into_changes().unwrap_err().to_string();
        assert_eq!(
            err,
            "bad seed entry ports[0] (id port-a): network_id 'n2' is not a seeded network"
        );
    }

    #[test]
    fn allocates_and_defaults() {
        let doc = SeedDocument::from_toml(
            r#"
            [[servers]]
            id = "s1"
            project_id = "p"
            [[networks]]
            id = "n1"
            project_id = "p"
            [[subnets]]
            id = "sub1"
            network_id = "n1"
            cidr = "10.0.0.0/24"
            [[ports]]
            id = "port-a"
            network_id = "n1"
            project_id = "p"
            device_id = "s1"
            "#,
        )
        .unwrap();
        let changes = doc.into_changes().unwrap();
        let Some(Change::PutPort(port)) = changes.last() else {
            panic!("no port")
        };
        assert_eq!(port.fixed_ips[0].ip_address.to_string(), "10.0.0.2");
        assert_eq!(port.device_owner, "compute:nova");
        assert_eq!(port.status, PortStatus::Active);
        let Some(Change::PutSubnet(subnet)) = changes.get(2) else {
            panic!("no subnet")
        };
        assert_eq!(subnet.gateway_ip, Some("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn refuses_unknown_states_naming_the_entry() {
        let error = |toml: &str| {
            SeedDocument::from_toml(toml)
                .unwrap()
                .into_changes()
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error("[[servers]]\nid = \"s1\"\nproject_id = \"p\"\nvm_state = \"running\"\n"),
            format!(
                "bad seed entry servers[0] (id s1): vm_state 'running' is not one of {}",
                "active, building, paused, suspended, stopped, rescued, resized, soft-delete, \
                 deleted, error, shelved, shelved_offloaded"
            )
        );
        assert!(
            error("[[servers]]\nid = \"s1\"\nproject_id = \"p\"\ntask_state = \"warping\"\n")
                .starts_with(
                    "bad seed entry servers[0] (id s1): task_state 'warping' is not one of \
                     scheduling, block_device_mapping,"
                )
        );
        assert_eq!(
            error(
                "[[networks]]\nid = \"n1\"\nproject_id = \"p\"\n\
                 [[ports]]\nid = \"port-a\"\nnetwork_id = \"n1\"\nproject_id = \"p\"\n\
                 status = \"active\"\n"
            ),
            "bad seed entry ports[0] (id port-a): status 'active' is not one of ACTIVE, DOWN, BUILD, ERROR"
        );
    }

    #[test]
    fn states_keep_their_spelling_in_the_dump() {
        let doc = SeedDocument::from_toml(
            r#"
            [[servers]]
            id = "s1"
            project_id = "p"
            vm_state = "soft-delete"
            task_state = "powering-off"
            [[servers]]
            id = "s2"
            project_id = "p"
            [[networks]]
            id = "n1"
            project_id = "p"
            [[ports]]
            id = "port-a"
            network_id = "n1"
            project_id = "p"
            status = "BUILD"
            "#,
        )
        .unwrap();
        let mut world = World::default();
        for change in doc.into_changes().unwrap() {
            world.apply(change);
        }
        let dump = serde_json::to_value(SeedDocument::from_world(&world)).unwrap();
        assert_eq!(dump["servers"][0]["vm_state"], "soft-delete");
        assert_eq!(dump["servers"][0]["task_state"], "powering-off");
        assert_eq!(dump["servers"][1]["vm_state"], "active");
        assert_eq!(dump["servers"][1]["task_state"], "");
        assert_eq!(dump["ports"][0]["status"], "BUILD");
    }

    #[test]
    fn rejects_unknown_keys() {
        assert!(SeedDocument::from_toml("[[servers]]\nproject_id = \"p\"\nbogus = 1\n").is_err());
    }
}
