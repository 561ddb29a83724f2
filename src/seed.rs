//! The declarative seed document: parse, validate every entry, and turn it
//! into changes applied all at once (or not at all).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use serde::Deserialize;

use crate::domain::ids::new_uuid;
use crate::domain::ipam;
use crate::domain::ops::DEVICE_OWNER;
use crate::domain::*;

#[derive(Debug, Default, Deserialize)]
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

#[derive(Debug, Deserialize)]
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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedPool {
    pub start: IpAddr,
    pub end: IpAddr,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSubnet {
    pub id: Option<String>,
    pub network_id: String,
    pub cidr: String,
    pub gateway_ip: Option<IpAddr>,
    pub allocation_pools: Option<Vec<SeedPool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFixedIp {
    pub subnet_id: Option<String>,
    pub ip_address: Option<IpAddr>,
}

#[derive(Debug, Deserialize)]
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
}

#[derive(Debug, Deserialize)]
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
    /// order a store can apply them.
    pub fn into_changes(self) -> Result<Vec<Change>, SeedError> {
        let mut builder = Builder::default();
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

#[derive(Default)]
struct Builder {
    changes: Vec<Change>,
    servers: HashSet<String>,
    networks: HashSet<String>,
    subnets: HashMap<String, Subnet>,
    subnets_by_network: HashMap<String, Vec<String>>,
    ports: HashSet<String>,
    used_ips: HashMap<String, BTreeSet<IpAddr>>,
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

fn check_id(
    kind: &str,
    index: usize,
    id: &Option<String>,
    seen: &HashSet<String>,
) -> Result<String, SeedError> {
    match id {
        Some(id) if id.is_empty() => fail(kind, index, Some(id), "id must not be empty"),
        Some(id) if seen.contains(id) => fail(kind, index, Some(id), "duplicate id"),
        Some(id) => Ok(id.clone()),
        None => Ok(new_uuid()),
    }
}

impl Builder {
    fn server(&mut self, i: usize, s: SeedServer) -> Result<(), SeedError> {
        let id = check_id("servers", i, &s.id, &self.servers)?;
        if s.project_id.is_empty() {
            return fail("servers", i, Some(&id), "project_id must not be empty");
        }
        self.servers.insert(id.clone());
        self.changes.push(Change::PutServer(Server {
            id,
            name: s.name,
            project_id: s.project_id,
            user_id: s.user_id.unwrap_or_else(|| "admin".to_owned()),
            vm_state: s.vm_state,
            task_state: Some(s.task_state).filter(|t| !t.is_empty()),
            locked: s.locked,
            launched: s.launched,
        }));
        Ok(())
    }

    fn network(&mut self, i: usize, n: SeedNetwork) -> Result<(), SeedError> {
        let id = check_id("networks", i, &n.id, &self.networks)?;
        if n.project_id.is_empty() {
            return fail("networks", i, Some(&id), "project_id must not be empty");
        }
        self.networks.insert(id.clone());
        self.changes.push(Change::PutNetwork(Network {
            id,
            name: n.name,
            project_id: n.project_id,
            shared: n.shared,
            external: n.external,
            port_security_enabled: n.port_security_enabled,
        }));
        Ok(())
    }

    fn subnet(&mut self, i: usize, s: SeedSubnet) -> Result<(), SeedError> {
        let known: HashSet<String> = self.subnets.keys().cloned().collect();
        let id = check_id("subnets", i, &s.id, &known)?;
        let bad = |problem: String| fail("subnets", i, Some(&id), problem);
        if !self.networks.contains(&s.network_id) {
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
            Some(g) if !cidr.contains(&g) => {
                return bad(format!("gateway_ip {g} is outside {cidr}"))
            }
            Some(g) => Some(g),
            None => ipam::default_gateway(cidr),
        };
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
            network_id: s.network_id,
            cidr,
            gateway_ip: gateway,
            allocation_pools,
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
        let id = check_id("ports", i, &p.id, &self.ports)?;
        let bad = |problem: String| fail::<()>("ports", i, Some(&id), problem);
        if !self.networks.contains(&p.network_id) {
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
                let mac = ipam::random_mac();
                if !self.macs.contains(&mac) {
                    break mac;
                }
            },
        };
        let network_subnets: Vec<Subnet> = self
            .subnets_by_network
            .get(&p.network_id)
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
                (Some(sid), _) => match network_subnets.iter().find(|s| &s.id == sid) {
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
        let bound_to_server = !p.device_id.is_empty() && self.servers.contains(&p.device_id);
        let device_owner = p.device_owner.unwrap_or_else(|| {
            if bound_to_server {
                DEVICE_OWNER.to_owned()
            } else {
                String::new()
            }
        });
        let status = p
            .status
            .unwrap_or_else(|| if bound_to_server { "ACTIVE" } else { "DOWN" }.to_owned());
        self.macs.insert(mac_address.clone());
        self.ports.insert(id.clone());
        let seq = self.next_seq;
        self.next_seq += 1;
        self.changes.push(Change::PutPort(Port {
            id,
            network_id: p.network_id,
            project_id: p.project_id,
            mac_address,
            fixed_ips,
            device_id: p.device_id,
            device_owner,
            status,
            preserve_on_delete: p.preserve_on_delete,
            tag: p.tag,
            seq,
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
        assert_eq!(port.status, "ACTIVE");
        let Some(Change::PutSubnet(subnet)) = changes.get(2) else {
            panic!("no subnet")
        };
        assert_eq!(subnet.gateway_ip, Some("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn rejects_unknown_keys() {
        assert!(SeedDocument::from_toml("[[servers]]\nproject_id = \"p\"\nbogus = 1\n").is_err());
    }
}
