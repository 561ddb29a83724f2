//! The whole state, in memory, with the indexes the read path needs.
//! Every mutation goes through [`Txn`], which records the [`Change`]s a
//! store must make durable.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hash;
use std::net::IpAddr;

use super::directory::Token;
use super::faults::FaultRule;
use super::ids::IdSource;
use super::model::*;

/// The world's hash maps: foldhash, not std's SipHash. Every request hashes
/// a few ids (SipHash was about 1.5k instructions of a GET); the seed is
/// still random per process.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// One durable change; stores apply them in order, idempotently, and the
/// change log keeps them as they are (serialised).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Change {
    PutServer(Server),
    PutNetwork(Network),
    PutSubnet(Subnet),
    PutPort(Port),
    DeletePort(PortId),
    /// A network gone (the network API; its subnets and ports go first).
    DeleteNetwork(NetworkId),
    /// A subnet gone (the network API; no port has an address on it).
    DeleteSubnet(SubnetId),
    PutAction(InstanceAction),
    /// An issued Keystone token (builtin identity).
    PutToken(Token),
    /// A revoked token.
    DeleteToken(String),
    /// A server gone for good, with its instance actions (its ports are
    /// changed first): the control plane's hard delete.
    DeleteServer(ServerId),
    /// A server deleted through the compute API: gone from every server
    /// lookup, kept (with its instance actions) for the instance-action
    /// lookups, as Nova's soft-deleted instance rows are.
    SoftDeleteServer(ServerId),
    /// Everything but tokens and fault rules dropped (the control plane's
    /// reset; see [`Change::ClearFaultRules`]).
    Reset,
    /// A fault rule set, or its firing counted.
    PutFaultRule(FaultRule),
    DeleteFaultRule(String),
    ClearFaultRules,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct World {
    servers: HashMap<ServerId, Server>,
    /// Servers deleted through the compute API (see
    /// [`Change::SoftDeleteServer`]).
    deleted_servers: HashMap<ServerId, Server>,
    networks: BTreeMap<NetworkId, Network>,
    subnets: BTreeMap<SubnetId, Subnet>,
    /// network id → its subnet ids, in creation order.
    subnets_by_network: HashMap<NetworkId, Vec<SubnetId>>,
    /// Boxed: a million ports would otherwise leave the table's empty
    /// slots (up to half of them) each a port's size.
    ports: HashMap<PortId, Box<Port>>,
    /// device id → `(seq, id)` of the ports bound to it, ordered by `seq`
    /// (kept beside the id: ordering needs no lookup of each port).
    ports_by_device: HashMap<String, Vec<(u64, PortId)>>,
    /// subnet id → addresses in use.
    used_ips: HashMap<SubnetId, BTreeSet<IpAddr>>,
    /// subnet id → an address below which every pool address is in use
    /// (absent: unknown, search from the pools' start). Derived; keeps
    /// allocation O(1) amortised as a subnet fills.
    ip_floors: HashMap<SubnetId, IpAddr>,
    macs: MacSet,
    /// server id → its actions, oldest first, with a request-id index.
    actions: HashMap<ServerId, ServerActions>,
    next_seq: u64,
    /// Issued tokens by id (builtin identity).
    tokens: HashMap<String, std::sync::Arc<Token>>,
    /// Fault rules, in the order they were set.
    fault_rules: Vec<FaultRule>,
    /// How many instance actions per server are kept in memory (`None`:
    /// [`DEFAULT_ACTIONS_IN_MEMORY`]); older ones are dropped from memory
    /// (a durable store still has them).
    actions_in_memory: Option<usize>,
}

/// MAC addresses in use. The canonical form (`fa:16:3e:01:02:03`, lowercase)
/// is kept as its 48 bits, any other text as text: a million ports' MACs
/// take no allocation each, and two MACs are the same exactly when their
/// texts are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct MacSet {
    canonical: HashSet<u64>,
    other: HashSet<Box<str>>,
}

impl MacSet {
    fn reserve(&mut self, n: usize) {
        self.canonical.reserve(n);
    }
    fn contains(&self, mac: &str) -> bool {
        match canonical_mac(mac) {
            Some(bits) => self.canonical.contains(&bits),
            None => self.other.contains(mac),
        }
    }
    fn insert(&mut self, mac: &str) {
        match canonical_mac(mac) {
            Some(bits) => self.canonical.insert(bits),
            None => self.other.insert(mac.into()),
        };
    }
    fn remove(&mut self, mac: &str) {
        match canonical_mac(mac) {
            Some(bits) => self.canonical.remove(&bits),
            None => self.other.remove(mac),
        };
    }
}

/// The 48 bits of a MAC in the canonical form (six pairs of lowercase hex
/// digits joined by `:`); `None` for any other text.
fn canonical_mac(mac: &str) -> Option<u64> {
    let bytes = mac.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(u64::from(c - b'0')),
        b'a'..=b'f' => Some(u64::from(c - b'a' + 10)),
        _ => None,
    };
    let mut bits = 0u64;
    for (i, pair) in bytes.chunks(3).enumerate() {
        if i < 5 && pair[2] != b':' {
            return None;
        }
        bits = bits << 8 | digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(bits)
}

/// Instance actions kept in memory per server unless configured otherwise.
pub const DEFAULT_ACTIONS_IN_MEMORY: usize = 1000;

impl World {
    /// Make room for this many servers and ports (a store's load knows
    /// them up front: no rehashing of the large maps while it fills them).
    pub fn reserve(&mut self, servers: usize, ports: usize) {
        self.servers.reserve(servers);
        self.ports.reserve(ports);
        self.macs.reserve(ports);
        self.ports_by_device.reserve(servers);
    }

    /// The sequence number the next port or action will take.
    pub fn next_sequence(&self) -> u64 {
        self.next_seq
    }

    pub fn is_empty(&self) -> bool {
        self.servers.is_empty() && self.networks.is_empty() && self.ports.is_empty()
    }

    // Lookups take the typed id or a plain `&str` (a URL's, a test's),
    // never another kind of id.
    pub fn server<Q>(&self, id: &Q) -> Option<&Server>
    where
        ServerId: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.servers.get(id)
    }
    pub fn servers(&self) -> impl Iterator<Item = &Server> {
        self.servers.values()
    }
    /// A server deleted through the compute API (only the instance-action
    /// lookups read these).
    pub fn deleted_server<Q>(&self, id: &Q) -> Option<&Server>
    where
        ServerId: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.deleted_servers.get(id)
    }
    pub fn deleted_servers(&self) -> impl Iterator<Item = &Server> {
        self.deleted_servers.values()
    }
    pub fn network<Q>(&self, id: &Q) -> Option<&Network>
    where
        NetworkId: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.networks.get(id)
    }
    pub fn networks(&self) -> impl Iterator<Item = &Network> {
        self.networks.values()
    }
    pub fn subnet<Q>(&self, id: &Q) -> Option<&Subnet>
    where
        SubnetId: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.subnets.get(id)
    }
    pub fn subnets(&self) -> impl Iterator<Item = &Subnet> {
        self.subnets.values()
    }
    pub fn subnets_of<'a, Q>(&'a self, network_id: &Q) -> impl Iterator<Item = &'a Subnet> + 'a
    where
        NetworkId: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.subnets_by_network
            .get(network_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.subnets.get(id))
    }
    pub fn port<Q>(&self, id: &Q) -> Option<&Port>
    where
        PortId: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.ports.get(id).map(|p| &**p)
    }
    pub fn ports(&self) -> impl Iterator<Item = &Port> {
        self.ports.values().map(|p| &**p)
    }
    /// Ports whose `device_id` is `device_id`, in creation order.
    pub fn ports_of_device<'a>(&'a self, device_id: &str) -> impl Iterator<Item = &'a Port> + 'a {
        self.ports_by_device
            .get(device_id)
            .into_iter()
            .flatten()
            .filter_map(|(_, id)| self.ports.get(id).map(|p| &**p))
    }
    pub fn ip_in_use(&self, subnet_id: &SubnetId, ip: IpAddr) -> bool {
        self.used_ips
            .get(subnet_id)
            .is_some_and(|s| s.contains(&ip))
    }
    pub fn used_ips(&self, subnet_id: &SubnetId) -> Option<&BTreeSet<IpAddr>> {
        self.used_ips.get(subnet_id)
    }
    /// The lowest free address of `subnet` (Neutron's IPAM order), also
    /// skipping `also_taken` (addresses of the same request).
    pub fn first_free_ip(&self, subnet: &Subnet, also_taken: &[IpAddr]) -> Option<IpAddr> {
        let empty = BTreeSet::new();
        let used = self.used_ips.get(&subnet.id).unwrap_or(&empty);
        super::ipam::first_free_from(
            subnet,
            used,
            self.ip_floors.get(&subnet.id).copied(),
            also_taken,
        )
    }
    pub fn mac_in_use(&self, mac: &str) -> bool {
        self.macs.contains(mac)
    }
    pub fn actions_of<Q>(&self, server_id: &Q) -> &[InstanceAction]
    where
        ServerId: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.actions
            .get(server_id)
            .map(|a| a.list.as_slice())
            .unwrap_or_default()
    }
    /// Whether memory holds every instance action of the server (older
    /// ones may have been dropped: see `actions_in_memory`).
    pub fn actions_complete<Q>(&self, server_id: &Q) -> bool
    where
        ServerId: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.actions.get(server_id).is_none_or(|a| !a.dropped)
    }
    /// Keep at most `limit` instance actions per server in memory.
    pub fn set_actions_in_memory(&mut self, limit: usize) {
        self.actions_in_memory = Some(limit.max(1));
    }
    pub fn action<Q>(&self, server_id: &Q, request_id: &str) -> Option<&InstanceAction>
    where
        ServerId: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let actions = self.actions.get(server_id)?;
        actions
            .by_request
            .get(request_id)
            .map(|&i| &actions.list[i])
    }
    /// Shared, so that validating a token copies nothing.
    pub fn token(&self, id: &str) -> Option<&std::sync::Arc<Token>> {
        self.tokens.get(id)
    }
    pub fn tokens(&self) -> impl Iterator<Item = &Token> {
        self.tokens.values().map(|t| t.as_ref())
    }
    pub fn fault_rules(&self) -> &[FaultRule] {
        &self.fault_rules
    }
    /// Whether any fault rule can still fire.
    pub fn has_live_fault_rules(&self) -> bool {
        self.fault_rules.iter().any(|rule| !rule.exhausted())
    }
    pub fn all_actions(&self) -> impl Iterator<Item = &InstanceAction> {
        self.actions.values().flat_map(|a| a.list.iter())
    }

    /// Apply one change (used by stores to rebuild state, and by [`Txn`]).
    pub fn apply(&mut self, change: Change) {
        self.apply_undoable(change);
    }

    /// Apply one change; what it replaced or removed comes back, so that
    /// [`Self::undo`] can put it back (moved out, not copied: only ids are
    /// cloned).
    fn apply_undoable(&mut self, change: Change) -> Undo {
        match change {
            Change::PutServer(server) => {
                let id = server.id.clone();
                // A put revives a deleted server of that id (stores agree).
                let deleted = self.deleted_servers.remove(&id);
                let prior = self.servers.insert(id.clone(), server);
                Undo::Server { id, prior, deleted }
            }
            Change::PutNetwork(network) => {
                let id = network.id.clone();
                let prior = self.networks.insert(id.clone(), network);
                Undo::Network(id, prior)
            }
            Change::PutSubnet(subnet) => {
                let ids = self
                    .subnets_by_network
                    .entry(subnet.network_id.clone())
                    .or_default();
                let listed = !ids.contains(&subnet.id);
                if listed {
                    ids.push(subnet.id.clone());
                }
                let id = subnet.id.clone();
                let network_id = subnet.network_id.clone();
                // Its pools may have changed: the floor is unknown again.
                self.ip_floors.remove(&id);
                let prior = self.subnets.insert(id.clone(), subnet);
                Undo::Subnet {
                    id,
                    prior,
                    listed_under: listed.then_some(network_id),
                }
            }
            Change::PutPort(mut port) => {
                self.share_ids(&mut port);
                let id = port.id.clone();
                self.next_seq = self.next_seq.max(port.seq + 1);
                if !self.ports.contains_key(&id) {
                    // A new port (every port of a load): nothing to unindex.
                    self.index_port(&port);
                } else if self.addresses_kept(&port) {
                    // An attach or detach: only the device index moves.
                    self.unindex_device(&id);
                    self.index_device(&port);
                } else {
                    self.unindex_port(&id);
                    self.index_port(&port);
                }
                let prior = self.ports.insert(id.clone(), Box::new(port));
                Undo::Port(id, prior)
            }
            Change::DeletePort(id) => {
                self.unindex_port(&id);
                let prior = self.ports.remove(&id);
                Undo::Port(id, prior)
            }
            Change::DeleteNetwork(id) => {
                let prior = self.networks.remove(&id);
                Undo::Network(id, prior)
            }
            Change::DeleteSubnet(id) => {
                self.ip_floors.remove(&id);
                let subnet = self.subnets.remove(&id);
                let position = subnet.as_ref().and_then(|s| {
                    let ids = self.subnets_by_network.get_mut(&s.network_id)?;
                    let at = ids.iter().position(|x| *x == id)?;
                    ids.remove(at);
                    if ids.is_empty() {
                        self.subnets_by_network.remove(&s.network_id);
                    }
                    Some(at)
                });
                Undo::SubnetGone {
                    id,
                    subnet,
                    position,
                }
            }
            Change::PutAction(action) => {
                self.next_seq = self.next_seq.max(action.seq + 1);
                let server_id = action.server_id.clone();
                let request_id = action.request_id.clone();
                let limit = self.actions_in_memory.unwrap_or(DEFAULT_ACTIONS_IN_MEMORY);
                let actions = self.actions.entry(server_id.clone()).or_default();
                let prior = actions.put(action);
                actions.keep_newest(limit);
                Undo::Action {
                    server_id,
                    request_id,
                    prior,
                }
            }
            Change::PutToken(token) => {
                let id = token.id.clone();
                let prior = self.tokens.insert(id.clone(), std::sync::Arc::new(token));
                Undo::Token(id, prior)
            }
            Change::DeleteToken(id) => {
                let prior = self.tokens.remove(&id);
                Undo::Token(id, prior)
            }
            Change::DeleteServer(id) => {
                let server = self.servers.remove(&id);
                let deleted = self.deleted_servers.remove(&id);
                let actions = self.actions.remove(&id);
                Undo::ServerGone {
                    id,
                    server,
                    deleted,
                    actions,
                }
            }
            Change::SoftDeleteServer(id) => match self.servers.remove(&id) {
                Some(server) => {
                    let prior = self.deleted_servers.insert(id.clone(), server);
                    Undo::SoftDeleted { id, prior }
                }
                None => Undo::Nothing,
            },
            Change::Reset => {
                let tokens = std::mem::take(&mut self.tokens);
                let fault_rules = std::mem::take(&mut self.fault_rules);
                let before = std::mem::replace(
                    self,
                    World {
                        tokens,
                        fault_rules,
                        ..World::default()
                    },
                );
                Undo::Reset(Box::new(before))
            }
            Change::PutFaultRule(rule) => {
                let before = self.fault_rules.clone();
                match self.fault_rules.iter_mut().find(|r| r.id == rule.id) {
                    Some(existing) => *existing = rule,
                    None => self.fault_rules.push(rule),
                }
                Undo::FaultRules(before)
            }
            Change::DeleteFaultRule(id) => {
                let before = self.fault_rules.clone();
                self.fault_rules.retain(|r| r.id != id);
                Undo::FaultRules(before)
            }
            Change::ClearFaultRules => Undo::FaultRules(std::mem::take(&mut self.fault_rules)),
        }
    }

    /// Put back what one change replaced or removed; undos run newest first.
    fn undo(&mut self, undo: Undo) {
        match undo {
            Undo::Server { id, prior, deleted } => {
                if let Some(deleted) = deleted {
                    self.deleted_servers.insert(id.clone(), deleted);
                }
                restore(&mut self.servers, id, prior);
            }
            Undo::Network(id, prior) => restore_ordered(&mut self.networks, id, prior),
            Undo::Subnet {
                id,
                prior,
                listed_under,
            } => {
                if let Some(network_id) = listed_under {
                    if let Some(ids) = self.subnets_by_network.get_mut(&network_id) {
                        ids.retain(|s| *s != id);
                        if ids.is_empty() {
                            self.subnets_by_network.remove(&network_id);
                        }
                    }
                }
                self.ip_floors.remove(&id);
                restore_ordered(&mut self.subnets, id, prior);
            }
            Undo::SubnetGone {
                id,
                subnet,
                position,
            } => {
                if let Some(subnet) = subnet {
                    if let Some(at) = position {
                        let ids = self
                            .subnets_by_network
                            .entry(subnet.network_id.clone())
                            .or_default();
                        ids.insert(at.min(ids.len()), id.clone());
                    }
                    self.subnets.insert(id, subnet);
                }
            }
            Undo::Port(id, prior) => {
                self.unindex_port(&id);
                self.ports.remove(&id);
                if let Some(port) = prior {
                    self.index_port(&port);
                    self.ports.insert(id, port);
                }
            }
            Undo::Action {
                server_id,
                request_id,
                prior,
            } => {
                let Some(actions) = self.actions.get_mut(&server_id) else {
                    return;
                };
                match prior {
                    Some(prior) => {
                        actions.put(prior);
                    }
                    None => {
                        actions.remove(&request_id);
                        if actions.list.is_empty() {
                            self.actions.remove(&server_id);
                        }
                    }
                }
            }
            Undo::Token(id, prior) => restore(&mut self.tokens, id, prior),
            Undo::ServerGone {
                id,
                server,
                deleted,
                actions,
            } => {
                if let Some(actions) = actions {
                    self.actions.insert(id.clone(), actions);
                }
                if let Some(deleted) = deleted {
                    self.deleted_servers.insert(id.clone(), deleted);
                }
                if let Some(server) = server {
                    self.servers.insert(id, server);
                }
            }
            Undo::SoftDeleted { id, prior } => {
                let server = match prior {
                    Some(prior) => self.deleted_servers.insert(id.clone(), prior),
                    None => self.deleted_servers.remove(&id),
                };
                if let Some(server) = server {
                    self.servers.insert(id, server);
                }
            }
            Undo::Nothing => {}
            Undo::Reset(before) => {
                // Tokens and fault rules outlive a reset; their later changes
                // are undone already.
                let tokens = std::mem::take(&mut self.tokens);
                let fault_rules = std::mem::take(&mut self.fault_rules);
                *self = *before;
                self.tokens = tokens;
                self.fault_rules = fault_rules;
            }
            Undo::FaultRules(before) => self.fault_rules = before,
        }
    }

    /// Point the port's network and subnet ids at the network's and
    /// subnets' own (one copy of each id, not one per port: a million
    /// ports on ten thousand networks).
    fn share_ids(&self, port: &mut Port) {
        if let Some((id, _)) = self.networks.get_key_value(&port.network_id) {
            port.network_id = id.clone();
        }
        for ip in &mut port.fixed_ips {
            if let Some((id, _)) = self.subnets.get_key_value(&ip.subnet_id) {
                ip.subnet_id = id.clone();
            }
        }
    }

    fn index_device(&mut self, port: &Port) {
        if port.device_id.is_empty() {
            return;
        }
        let entry = (port.seq, port.id.clone());
        // Keys are cloned only when new (a load indexes a million ports).
        match self.ports_by_device.get_mut(port.device_id.as_str()) {
            Some(ids) => {
                let at = ids.partition_point(|(seq, _)| *seq < port.seq);
                ids.insert(at, entry);
            }
            None => {
                self.ports_by_device
                    .insert(port.device_id.clone(), vec![entry]);
            }
        }
    }

    fn unindex_device(&mut self, id: &PortId) {
        let Some(old) = self.ports.get(id) else {
            return;
        };
        if let Some(ids) = self.ports_by_device.get_mut(&old.device_id) {
            ids.retain(|(_, p)| p != id);
            if ids.is_empty() {
                self.ports_by_device.remove(&old.device_id);
            }
        }
    }

    /// Whether re-putting `port` leaves the address indexes (used
    /// addresses, floors, MACs) exactly as unindexing and indexing it would:
    /// the port exists with the same MAC and fixed IPs, one per subnet, and
    /// each subnet's floor stays. Unindexing an address below the floor
    /// lowers the floor to it, and indexing it again walks back up over the
    /// used run (the cost of every attach and detach otherwise). The floor
    /// is known to stay when
    /// - the address is above it and it is not the pools' lowest address
    ///   (unindexing drops a floor that is back at the lowest), or
    /// - the address is in `[lowest, floor)` and the floor is neither used
    ///   nor the gateway: every address from the lowest up to a floor is
    ///   used or the gateway (each way a floor is set keeps that true), so
    ///   the walk up from the address stops at the floor again.
    fn addresses_kept(&self, port: &Port) -> bool {
        let Some(old) = self.ports.get(&port.id) else {
            return false;
        };
        if old.mac_address != port.mac_address || old.fixed_ips != port.fixed_ips {
            return false;
        }
        port.fixed_ips.iter().enumerate().all(|(i, ip)| {
            let once = port.fixed_ips[..i]
                .iter()
                .all(|other| other.subnet_id != ip.subnet_id);
            once && self.floor_kept(&ip.subnet_id, ip.ip_address)
        })
    }

    fn floor_kept(&self, subnet_id: &SubnetId, ip: IpAddr) -> bool {
        let (Some(subnet), Some(&floor)) =
            (self.subnets.get(subnet_id), self.ip_floors.get(subnet_id))
        else {
            return false;
        };
        let Some(lowest) = super::ipam::lowest_pool_address(subnet) else {
            return false;
        };
        let family = subnet.cidr.addr().is_ipv4();
        if ip.is_ipv4() != family || floor.is_ipv4() != family || lowest.is_ipv4() != family {
            return false;
        }
        if ip > floor {
            return floor != lowest;
        }
        let floor_free = Some(floor) != subnet.gateway_ip
            && !self
                .used_ips
                .get(subnet_id)
                .is_some_and(|used| used.contains(&floor));
        lowest <= ip && ip < floor && floor_free
    }

    fn index_port(&mut self, port: &Port) {
        self.index_device(port);
        for ip in &port.fixed_ips {
            let used = self.used_ips.entry(ip.subnet_id.clone()).or_default();
            used.insert(ip.ip_address);
            // Taken at the floor (or at the pools' start): raise the floor.
            let Some(subnet) = self.subnets.get(&ip.subnet_id) else {
                continue;
            };
            let at_floor = match self.ip_floors.get(&ip.subnet_id) {
                Some(floor) => *floor == ip.ip_address,
                None => super::ipam::lowest_pool_address(subnet) == Some(ip.ip_address),
            };
            if at_floor {
                match super::ipam::raise_floor(subnet, used, ip.ip_address) {
                    Some(floor) => self.ip_floors.insert(ip.subnet_id.clone(), floor),
                    None => self.ip_floors.remove(&ip.subnet_id),
                };
            }
        }
        self.macs.insert(&port.mac_address);
    }

    fn unindex_port(&mut self, id: &PortId) {
        self.unindex_device(id);
        let Some(old) = self.ports.get(id) else {
            return;
        };
        for ip in &old.fixed_ips {
            if let Some(floor) = self.ip_floors.get_mut(&ip.subnet_id) {
                *floor = (*floor).min(ip.ip_address);
                // Back at the pools' start: as good as unknown (and equal
                // to a world that never had a floor there).
                let lowest = self
                    .subnets
                    .get(&ip.subnet_id)
                    .and_then(super::ipam::lowest_pool_address);
                if lowest == Some(*floor) {
                    self.ip_floors.remove(&ip.subnet_id);
                }
            }
            if let Some(set) = self.used_ips.get_mut(&ip.subnet_id) {
                set.remove(&ip.ip_address);
                // Emptied sets go, so that an undone attach leaves no trace.
                if set.is_empty() {
                    self.used_ips.remove(&ip.subnet_id);
                }
            }
        }
        self.macs.remove(&old.mac_address);
    }

    /// Start a transaction: changes applied now, recorded for the store
    /// and for [`Txn::rollback`]; new ids drawn from `ids`.
    pub fn txn<'w>(&'w mut self, ids: &'w IdSource) -> Txn<'w> {
        Txn {
            next_seq_before: self.next_seq,
            world: self,
            ids,
            changes: Vec::new(),
            undo: Vec::new(),
        }
    }

    /// Every entity as `Put` changes (a full dump), servers and networks first.
    pub fn dump(&self) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut servers: Vec<_> = self.servers.values().collect();
        servers.sort_by(|a, b| a.id.cmp(&b.id));
        changes.extend(servers.into_iter().cloned().map(Change::PutServer));
        let mut deleted: Vec<_> = self.deleted_servers.values().collect();
        deleted.sort_by(|a, b| a.id.cmp(&b.id));
        for server in deleted {
            changes.push(Change::PutServer(server.clone()));
            changes.push(Change::SoftDeleteServer(server.id.clone()));
        }
        changes.extend(self.networks.values().cloned().map(Change::PutNetwork));
        changes.extend(self.subnets.values().cloned().map(Change::PutSubnet));
        let mut ports: Vec<_> = self.ports().collect();
        ports.sort_by_key(|p| p.seq);
        changes.extend(ports.into_iter().cloned().map(Change::PutPort));
        let mut actions: Vec<_> = self.all_actions().collect();
        actions.sort_by_key(|a| a.seq);
        changes.extend(actions.into_iter().cloned().map(Change::PutAction));
        let mut tokens: Vec<&Token> = self.tokens().collect();
        tokens.sort_by(|a, b| (a.issued_at, &a.id).cmp(&(b.issued_at, &b.id)));
        changes.extend(tokens.into_iter().cloned().map(Change::PutToken));
        changes.extend(self.fault_rules.iter().cloned().map(Change::PutFaultRule));
        changes
    }
}

/// Where a transaction was (see [`Txn::savepoint`]).
#[derive(Debug, Clone, Copy)]
pub struct Savepoint {
    changes: usize,
    next_seq: u64,
}

/// What one applied change replaced or removed.
#[derive(Debug)]
enum Undo {
    Server {
        id: ServerId,
        prior: Option<Server>,
        /// The deleted server of that id the put revived.
        deleted: Option<Server>,
    },
    Network(NetworkId, Option<Network>),
    Subnet {
        id: SubnetId,
        prior: Option<Subnet>,
        /// The network whose list the subnet joined, if it was not listed.
        listed_under: Option<NetworkId>,
    },
    /// A deleted subnet, and where it was in its network's list.
    SubnetGone {
        id: SubnetId,
        subnet: Option<Subnet>,
        position: Option<usize>,
    },
    Port(PortId, Option<Box<Port>>),
    Action {
        server_id: ServerId,
        request_id: String,
        prior: Option<InstanceAction>,
    },
    Token(String, Option<std::sync::Arc<Token>>),
    ServerGone {
        id: ServerId,
        server: Option<Server>,
        deleted: Option<Server>,
        actions: Option<ServerActions>,
    },
    /// A server moved to the deleted ones, and the deleted one it replaced.
    SoftDeleted {
        id: ServerId,
        prior: Option<Server>,
    },
    /// The change changed nothing.
    Nothing,
    /// The whole world before the reset, tokens aside.
    Reset(Box<World>),
    /// The fault rules before (a short list).
    FaultRules(Vec<FaultRule>),
}

fn restore<K: Eq + Hash, V>(map: &mut HashMap<K, V>, key: K, prior: Option<V>) {
    match prior {
        Some(value) => map.insert(key, value),
        None => map.remove(&key),
    };
}

fn restore_ordered<K: Ord, V>(map: &mut BTreeMap<K, V>, key: K, prior: Option<V>) {
    match prior {
        Some(value) => map.insert(key, value),
        None => map.remove(&key),
    };
}

/// One server's actions in `seq` order, indexed by request id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ServerActions {
    list: Vec<InstanceAction>,
    by_request: HashMap<String, usize>,
    /// Older actions were dropped from memory.
    dropped: bool,
}

impl ServerActions {
    /// Drop the oldest beyond `limit`, a quarter of it at a time (so the
    /// reindexing costs O(1) per action, amortised). The index keeps its
    /// keys: the kept actions only move down by the number dropped.
    fn keep_newest(&mut self, limit: usize) {
        if self.list.len() <= limit.saturating_add(limit / 4) {
            return;
        }
        let excess = self.list.len() - limit;
        for dropped in self.list.drain(..excess) {
            self.by_request.remove(&dropped.request_id);
        }
        for index in self.by_request.values_mut() {
            *index -= excess;
        }
        self.dropped = true;
    }

    /// Add `action`, or replace the one with its request id (returned).
    fn put(&mut self, action: InstanceAction) -> Option<InstanceAction> {
        if let Some(&i) = self.by_request.get(&action.request_id) {
            return Some(std::mem::replace(&mut self.list[i], action));
        }
        if self.list.last().is_none_or(|last| last.seq < action.seq) {
            // The usual case: a new action is the newest.
            self.by_request
                .insert(action.request_id.clone(), self.list.len());
            self.list.push(action);
        } else {
            let at = self.list.partition_point(|a| a.seq < action.seq);
            self.list.insert(at, action);
            self.reindex();
        }
        None
    }

    fn remove(&mut self, request_id: &str) {
        if let Some(i) = self.by_request.remove(request_id) {
            self.list.remove(i);
            if i < self.list.len() {
                self.reindex();
            }
        }
    }

    fn reindex(&mut self) {
        self.by_request = self
            .list
            .iter()
            .enumerate()
            .map(|(i, a)| (a.request_id.clone(), i))
            .collect();
    }
}

/// A set of mutations applied to the world and recorded for the store,
/// with what each overwrote, so that a transaction cut short by a panic can
/// be rolled back before anyone sees half of it.
pub struct Txn<'w> {
    world: &'w mut World,
    ids: &'w IdSource,
    changes: Vec<Change>,
    undo: Vec<Undo>,
    next_seq_before: u64,
}

impl<'w> Txn<'w> {
    pub fn world(&self) -> &World {
        self.world
    }
    pub fn ids(&self) -> &'w IdSource {
        self.ids
    }
    pub fn next_seq(&mut self) -> u64 {
        let seq = self.world.next_seq;
        self.world.next_seq += 1;
        seq
    }
    pub fn put(&mut self, change: Change) {
        let undo = self.world.apply_undoable(change.clone());
        self.undo.push(undo);
        self.changes.push(change);
    }
    pub fn into_changes(self) -> Vec<Change> {
        self.changes
    }
    /// A point [`Self::rollback_to`] can go back to.
    pub fn savepoint(&self) -> Savepoint {
        Savepoint {
            changes: self.changes.len(),
            next_seq: self.world.next_seq,
        }
    }
    /// Undo the changes made since `savepoint`, newest first (a bulk
    /// create that fails half-way leaves nothing).
    pub fn rollback_to(&mut self, savepoint: Savepoint) {
        while self.undo.len() > savepoint.changes {
            let undo = self.undo.pop().expect("checked");
            self.world.undo(undo);
        }
        self.changes.truncate(savepoint.changes);
        self.world.next_seq = savepoint.next_seq;
    }
    /// Undo every change, newest first: the world is as it was when the
    /// transaction began, and nothing is left for the store.
    pub fn rollback(self) {
        for undo in self.undo.into_iter().rev() {
            self.world.undo(undo);
        }
        self.world.next_seq = self.next_seq_before;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::SeedDocument;

    #[test]
    fn macs_are_the_same_exactly_when_their_texts_are() {
        assert_eq!(canonical_mac("fa:16:3e:01:af:ff"), Some(0xfa163e01afff));
        assert_eq!(canonical_mac("00:00:00:00:00:00"), Some(0));
        for other in [
            "FA:16:3E:01:AF:FF",
            "fa-16-3e-01-af-ff",
            "fa:16:3e:01:af:f",
            "fa:16:3e:01:af:fff",
            "fa:16:3e:01:af:fg",
            "",
            "fa:16:3e:01:af:ff ",
        ] {
            assert_eq!(canonical_mac(other), None, "{other}");
        }
        let mut macs = MacSet::default();
        macs.insert("fa:16:3e:01:af:ff");
        macs.insert("FA:16:3E:01:AF:FF");
        assert!(macs.contains("fa:16:3e:01:af:ff"));
        assert!(macs.contains("FA:16:3E:01:AF:FF"));
        assert!(!macs.contains("fa:16:3e:01:af:fe"));
        assert!(!macs.contains("Fa:16:3e:01:af:ff"));
        macs.remove("fa:16:3e:01:af:ff");
        assert!(!macs.contains("fa:16:3e:01:af:ff"));
        assert!(macs.contains("FA:16:3E:01:AF:FF"));
        macs.remove("FA:16:3E:01:AF:FF");
        assert_eq!(macs, MacSet::default());
    }

    /// Dropping the oldest actions (a quarter of the limit at a time)
    /// leaves the request-id index pointing at the same actions.
    #[test]
    fn dropped_actions_leave_the_index_right() {
        let mut world = World::default();
        world.set_actions_in_memory(8);
        let action = |seq: u64| InstanceAction {
            server_id: "s1".into(),
            action: "attach_interface".into(),
            request_id: format!("req-{seq}"),
            user_id: "u".into(),
            project_id: "p".into(),
            start_time: 0,
            updated_at: 0,
            message: None,
            events: Vec::new(),
            seq,
        };
        for seq in 1..=40 {
            world.apply(Change::PutAction(action(seq)));
            let kept = world.actions_of("s1");
            assert!(kept.len() <= 10, "{seq}: {}", kept.len());
            assert_eq!(kept.last().unwrap().seq, seq);
            for (i, kept_action) in kept.iter().enumerate() {
                let found = world.action("s1", &kept_action.request_id).unwrap();
                assert_eq!(found.seq, kept_action.seq, "{seq}: position {i}");
            }
            let oldest = kept[0].seq;
            for gone in 1..oldest {
                assert!(world.action("s1", &format!("req-{gone}")).is_none());
            }
        }
        assert!(!world.actions_complete("s1"));
        // Out of order (a replayed older action) and a replacement still index right.
        world.apply(Change::PutAction(action(35)));
        world.apply(Change::PutAction(InstanceAction {
            message: Some("Error".into()),
            ..action(40)
        }));
        let kept = world.actions_of("s1");
        for kept_action in kept {
            assert_eq!(
                world.action("s1", &kept_action.request_id).unwrap(),
                kept_action
            );
        }
        assert_eq!(kept.last().unwrap().message.as_deref(), Some("Error"));
    }

    const SEED: &str = r#"
        [[servers]]
        id = "s1"
        project_id = "p"
        [[servers]]
        id = "s2"
        project_id = "p"
        [[networks]]
        id = "n1"
        project_id = "p"
        [[subnets]]
        id = "sub1"
        network_id = "n1"
        cidr = "10.0.0.0/24"
        [[ports]]
        id = "bound"
        network_id = "n1"
        project_id = "p"
        device_id = "s1"
        [[ports]]
        id = "free"
        network_id = "n1"
        project_id = "p"
        [[ports]]
        id = "other"
        network_id = "n1"
        project_id = "p"
        device_id = "s2"
    "#;

    fn seeded() -> World {
        let mut world = World::default();
        let ids = IdSource::seeded(1);
        for change in SeedDocument::from_toml(SEED)
            .unwrap()
            .into_changes_with(&ids)
            .unwrap()
        {
            world.apply(change);
        }
        world
    }

    fn action(server_id: &str, request_id: &str, seq: u64) -> InstanceAction {
        InstanceAction {
            server_id: server_id.into(),
            action: "attach_interface".into(),
            request_id: request_id.into(),
            user_id: "u".into(),
            project_id: "p".into(),
            start_time: 1,
            updated_at: 1,
            message: None,
            events: Vec::new(),
            seq,
        }
    }

    fn token(id: &str) -> Token {
        Token {
            id: id.into(),
            user_id: "u".into(),
            project_id: Some("p".into()),
            domain_id: None,
            system: false,
            roles: vec!["admin".into()],
            methods: vec!["password".into()],
            issued_at: 1,
            expires_at: None,
            audit_id: "a".into(),
            parent_audit_id: None,
            revoked: false,
        }
    }

    /// Every kind of change, on entities that exist and ones that do not,
    /// a reset in the middle: rolled back, the world is what it was,
    /// indexes and sequence included.
    #[test]
    fn rollback_restores_everything() {
        let mut world = seeded();
        let ids = IdSource::seeded(2);
        {
            let mut txn = world.txn(&ids);
            txn.put(Change::PutAction(action("s1", "req-1", 100)));
            txn.put(Change::PutAction(action("s2", "req-2", 101)));
            txn.put(Change::PutToken(token("t1")));
            txn.put(Change::PutToken(token("t2")));
            txn.into_changes();
        }
        let before = world.clone();
        let ids = IdSource::seeded(3);
        let mut txn = world.txn(&ids);
        let mut server = txn.world().server("s1").unwrap().clone();
        server.locked = true;
        txn.put(Change::PutServer(server));
        let mut new_server = txn.world().server("s2").unwrap().clone();
        new_server.id = "s3".into();
        txn.put(Change::PutServer(new_server));
        let mut network = txn.world().network("n1").unwrap().clone();
        network.id = "n2".into();
        txn.put(Change::PutNetwork(network));
        let mut subnet = txn.world().subnet("sub1").unwrap().clone();
        subnet.id = "sub2".into();
        subnet.network_id = "n2".into();
        subnet.cidr = "10.1.0.0/24".parse().unwrap();
        txn.put(Change::PutSubnet(subnet.clone()));
        let mut port = txn.world().port("free").unwrap().clone();
        port.device_id = "s1".into();
        port.status = PortStatus::Active;
        txn.put(Change::PutPort(port.clone()));
        port.id = "new".into();
        port.mac_address = "fa:16:3e:ff:ff:ff".into();
        port.fixed_ips = vec![FixedIp {
            subnet_id: subnet.id.clone(),
            ip_address: "10.1.0.9".parse().unwrap(),
        }];
        let seq = txn.next_seq();
        port.seq = seq;
        txn.put(Change::PutPort(port));
        txn.put(Change::DeletePort("bound".into()));
        txn.put(Change::DeleteSubnet("sub1".into()));
        txn.put(Change::DeleteSubnet("missing".into()));
        txn.put(Change::DeleteNetwork("n1".into()));
        txn.put(Change::DeleteNetwork("missing".into()));
        let seq = txn.next_seq();
        txn.put(Change::PutAction(action("s1", "req-3", seq)));
        let mut replaced = action("s1", "req-1", 100);
        replaced.message = Some("Error".into());
        txn.put(Change::PutAction(replaced));
        txn.put(Change::PutToken(token("t3")));
        txn.put(Change::DeleteToken("t1".into()));
        txn.put(Change::SoftDeleteServer("s2".into()));
        txn.put(Change::SoftDeleteServer("missing".into()));
        assert!(txn.world().server("s2").is_none());
        assert!(txn.world().deleted_server("s2").is_some());
        let revived = txn.world().deleted_server("s2").unwrap().clone();
        txn.put(Change::PutServer(revived));
        assert!(txn.world().deleted_server("s2").is_none());
        txn.put(Change::SoftDeleteServer("s2".into()));
        txn.put(Change::DeleteServer("s2".into()));
        let kept = txn.world().server("s1").unwrap().clone();
        txn.put(Change::Reset);
        txn.put(Change::PutServer(kept));
        txn.put(Change::DeleteToken("t2".into()));
        assert_ne!(*txn.world(), before);
        let mid = txn.world().clone();
        let savepoint = txn.savepoint();
        txn.put(Change::DeleteNetwork("n1".into()));
        txn.next_seq();
        txn.rollback_to(savepoint);
        assert_eq!(*txn.world(), mid);
        txn.rollback();
        assert_eq!(world, before);
        assert_eq!(world.dump(), before.dump());
        assert_eq!(world.next_sequence(), before.next_sequence());
        assert_eq!(world.ports_of_device("s1").count(), 1);
        assert!(world.mac_in_use(&world.port("bound").unwrap().mac_address));
        assert_eq!(world.subnets_of("n1").count(), 1);
        assert!(world.network("n1").is_some());
    }

    /// The floor keeps allocation lowest-free while it skips what is
    /// taken: a released address is handed out again first, then the
    /// search goes on above the highest.
    #[test]
    fn allocation_stays_lowest_free_with_the_floor() {
        let mut world = World::default();
        let cidr: ipnet::IpNet = "10.0.0.0/16".parse().unwrap();
        let subnet = Subnet {
            id: "big".into(),
            network_id: "n".into(),
            cidr,
            gateway_ip: super::super::ipam::default_gateway(cidr),
            allocation_pools: super::super::ipam::default_pools(cidr, None),
            neutron: Default::default(),
        };
        world.apply(Change::PutSubnet(subnet.clone()));
        let port = |i: u64, ip: IpAddr| Port {
            id: format!("p{i}").into(),
            network_id: "n".into(),
            project_id: "p".into(),
            mac_address: format!("m{i}"),
            fixed_ips: vec![FixedIp {
                subnet_id: "big".into(),
                ip_address: ip,
            }],
            device_id: String::new(),
            device_owner: String::new(),
            status: PortStatus::Down,
            preserve_on_delete: true,
            tag: None,
            seq: i,
            neutron: Default::default(),
        };
        let mut ips = Vec::new();
        for i in 0..1000 {
            let ip = world.first_free_ip(&subnet, &[]).unwrap();
            world.apply(Change::PutPort(port(i, ip)));
            ips.push(ip);
        }
        // The gateway (10.0.0.1) is skipped; then in order.
        assert_eq!(ips[0], "10.0.0.2".parse::<IpAddr>().unwrap());
        assert_eq!(ips[999], "10.0.3.233".parse::<IpAddr>().unwrap());
        world.apply(Change::DeletePort("p500".into()));
        assert_eq!(world.first_free_ip(&subnet, &[]), Some(ips[500]));
        assert_eq!(
            world.first_free_ip(&subnet, &[ips[500]]),
            Some("10.0.3.234".parse().unwrap())
        );
        // The same answers as the search from the start, without the floor.
        let used = world.used_ips(&"big".into()).unwrap().clone();
        assert_eq!(
            super::super::ipam::first_free(&subnet, &used),
            world.first_free_ip(&subnet, &[])
        );
    }

    /// Re-putting a port with the same addresses (attach, detach) leaves
    /// the world exactly as unindexing and indexing it does: used
    /// addresses, floors and MACs, whatever was freed, taken or re-addressed
    /// before, across pools with a gateway inside, ports below the pools
    /// and ports with two addresses.
    #[test]
    fn a_put_that_keeps_the_addresses_indexes_as_the_full_path() {
        let cidr: ipnet::IpNet = "10.0.0.0/24".parse().unwrap();
        let subnet = Subnet {
            id: "s".into(),
            network_id: "n".into(),
            cidr,
            gateway_ip: Some("10.0.0.9".parse().unwrap()),
            allocation_pools: vec![
                IpRange {
                    start: "10.0.0.4".parse().unwrap(),
                    end: "10.0.0.30".parse().unwrap(),
                },
                IpRange {
                    start: "10.0.0.40".parse().unwrap(),
                    end: "10.0.0.60".parse().unwrap(),
                },
            ],
            neutron: Default::default(),
        };
        let mut other = subnet.clone();
        other.id = "t".into();
        other.gateway_ip = None;
        let ip = |n: u64| -> IpAddr { format!("10.0.0.{}", n % 64).parse().unwrap() };
        let fixed = |subnet: &str, n: u64| FixedIp {
            subnet_id: subnet.into(),
            ip_address: ip(n),
        };
        let mut world = World::default();
        world.apply(Change::PutSubnet(subnet));
        world.apply(Change::PutSubnet(other));
        // A small linear congruential generator: the same sequence each run.
        let mut state: u64 = 12345;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        let mut kept = 0;
        for step in 0..20_000u64 {
            let id = PortId::from(format!("p{}", next() % 40));
            let current = world.port(&id).cloned();
            let port = match (current, next() % 10) {
                // Attach or detach: the same addresses.
                (Some(mut port), 0..=6) => {
                    port.device_id = if port.device_id.is_empty() {
                        "server".into()
                    } else {
                        String::new()
                    };
                    port
                }
                (Some(_), 7) => {
                    let change = Change::DeletePort(id);
                    let mut full = world.clone();
                    full.apply_undoable(change.clone());
                    world.apply(change);
                    assert_eq!(world, full);
                    continue;
                }
                // New or re-addressed: any address, maybe two.
                (_, roll) => {
                    let mut fixed_ips = vec![fixed("s", next())];
                    if roll == 9 {
                        fixed_ips.push(fixed(if next() % 2 == 0 { "s" } else { "t" }, next()));
                    }
                    if fixed_ips
                        .iter()
                        .any(|f| world.ip_in_use(&f.subnet_id, f.ip_address))
                    {
                        continue;
                    }
                    Port {
                        id: id.clone(),
                        network_id: "n".into(),
                        project_id: "p".into(),
                        mac_address: format!("m{step}"),
                        fixed_ips,
                        device_id: String::new(),
                        device_owner: String::new(),
                        status: PortStatus::Down,
                        preserve_on_delete: true,
                        tag: None,
                        seq: step,
                        neutron: Default::default(),
                    }
                }
            };
            kept += usize::from(world.addresses_kept(&port));
            let mut full = world.clone();
            full.unindex_port(&port.id);
            full.next_seq = full.next_seq.max(port.seq + 1);
            full.index_port(&port);
            full.ports.insert(port.id.clone(), Box::new(port.clone()));
            world.apply(Change::PutPort(port));
            assert_eq!(world, full, "step {step}");
        }
        // The fast path was taken, and not always.
        assert!(kept > 1000, "{kept}");
    }
}
