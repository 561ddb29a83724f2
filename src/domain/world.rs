//! The whole state, in memory, with the indexes the read path needs.
//! Every mutation goes through [`Txn`], which records the [`Change`]s a
//! store must make durable.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::Hash;
use std::net::IpAddr;

use super::directory::Token;
use super::ids::IdSource;
use super::model::*;

/// One durable change; stores apply them in order, idempotently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    PutServer(Server),
    PutNetwork(Network),
    PutSubnet(Subnet),
    PutPort(Port),
    DeletePort(PortId),
    PutAction(InstanceAction),
    /// An issued Keystone token (builtin identity).
    PutToken(Token),
    /// A revoked token.
    DeleteToken(String),
    /// A server gone, with its instance actions (its ports are changed first).
    DeleteServer(ServerId),
    /// Everything but tokens dropped (the control plane's reset).
    Reset,
}

#[derive(Debug, Clone, Default)]
pub struct World {
    servers: HashMap<ServerId, Server>,
    networks: BTreeMap<NetworkId, Network>,
    subnets: BTreeMap<SubnetId, Subnet>,
    /// network id → its subnet ids, in creation order.
    subnets_by_network: HashMap<NetworkId, Vec<SubnetId>>,
    ports: HashMap<PortId, Port>,
    /// device id → port ids bound to it, ordered by port `seq`.
    ports_by_device: HashMap<String, Vec<PortId>>,
    /// subnet id → addresses in use.
    used_ips: HashMap<SubnetId, BTreeSet<IpAddr>>,
    macs: HashSet<String>,
    /// server id → its actions, oldest first, with a request-id index.
    actions: HashMap<ServerId, ServerActions>,
    next_seq: u64,
    /// Issued tokens by id (builtin identity).
    tokens: HashMap<String, std::sync::Arc<Token>>,
}

impl World {
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
        self.ports.get(id)
    }
    pub fn ports(&self) -> impl Iterator<Item = &Port> {
        self.ports.values()
    }
    /// Ports whose `device_id` is `device_id`, in creation order.
    pub fn ports_of_device<'a>(&'a self, device_id: &str) -> impl Iterator<Item = &'a Port> + 'a {
        self.ports_by_device
            .get(device_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.ports.get(id))
    }
    pub fn ip_in_use(&self, subnet_id: &SubnetId, ip: IpAddr) -> bool {
        self.used_ips
            .get(subnet_id)
            .is_some_and(|s| s.contains(&ip))
    }
    pub fn used_ips(&self, subnet_id: &SubnetId) -> Option<&BTreeSet<IpAddr>> {
        self.used_ips.get(subnet_id)
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
    pub fn all_actions(&self) -> impl Iterator<Item = &InstanceAction> {
        self.actions.values().flat_map(|a| a.list.iter())
    }

    /// Apply one change (used by stores to rebuild state, and by [`Txn`]).
    pub fn apply(&mut self, change: Change) {
        match change {
            Change::PutServer(server) => {
                self.servers.insert(server.id.clone(), server);
            }
            Change::PutNetwork(network) => {
                self.networks.insert(network.id.clone(), network);
            }
            Change::PutSubnet(subnet) => {
                let ids = self
                    .subnets_by_network
                    .entry(subnet.network_id.clone())
                    .or_default();
                if !ids.contains(&subnet.id) {
                    ids.push(subnet.id.clone());
                }
                self.subnets.insert(subnet.id.clone(), subnet);
            }
            Change::PutPort(port) => {
                self.unindex_port(&port.id);
                self.next_seq = self.next_seq.max(port.seq + 1);
                self.index_port(&port);
                self.ports.insert(port.id.clone(), port);
            }
            Change::DeletePort(id) => {
                self.unindex_port(&id);
                self.ports.remove(&id);
            }
            Change::PutAction(action) => {
                self.next_seq = self.next_seq.max(action.seq + 1);
                self.actions
                    .entry(action.server_id.clone())
                    .or_default()
                    .put(action);
            }
            Change::PutToken(token) => {
                self.tokens
                    .insert(token.id.clone(), std::sync::Arc::new(token));
            }
            Change::DeleteToken(id) => {
                self.tokens.remove(&id);
            }
            Change::DeleteServer(id) => {
                self.servers.remove(&id);
                self.actions.remove(&id);
            }
            Change::Reset => {
                let tokens = std::mem::take(&mut self.tokens);
                *self = World {
                    tokens,
                    ..World::default()
                };
            }
        }
    }

    fn index_port(&mut self, port: &Port) {
        if !port.device_id.is_empty() {
            let ids = self
                .ports_by_device
                .entry(port.device_id.clone())
                .or_default();
            let seqs = &self.ports;
            let at = ids.partition_point(|id| seqs.get(id).is_some_and(|p| p.seq < port.seq));
            ids.insert(at, port.id.clone());
        }
        for ip in &port.fixed_ips {
            self.used_ips
                .entry(ip.subnet_id.clone())
                .or_default()
                .insert(ip.ip_address);
        }
        self.macs.insert(port.mac_address.clone());
    }

    fn unindex_port(&mut self, id: &PortId) {
        let Some(old) = self.ports.get(id) else {
            return;
        };
        if let Some(ids) = self.ports_by_device.get_mut(&old.device_id) {
            ids.retain(|p| p != id);
            if ids.is_empty() {
                self.ports_by_device.remove(&old.device_id);
            }
        }
        for ip in &old.fixed_ips {
            if let Some(set) = self.used_ips.get_mut(&ip.subnet_id) {
                set.remove(&ip.ip_address);
            }
        }
        self.macs.remove(&old.mac_address);
    }

    /// Start a transaction: changes applied now, recorded for the store;
    /// new ids drawn from `ids`.
    pub fn txn<'w>(&'w mut self, ids: &'w IdSource) -> Txn<'w> {
        Txn {
            world: self,
            ids,
            changes: Vec::new(),
        }
    }

    /// Every entity as `Put` changes (a full dump), servers and networks first.
    pub fn dump(&self) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut servers: Vec<_> = self.servers.values().collect();
        servers.sort_by(|a, b| a.id.cmp(&b.id));
        changes.extend(servers.into_iter().cloned().map(Change::PutServer));
        changes.extend(self.networks.values().cloned().map(Change::PutNetwork));
        changes.extend(self.subnets.values().cloned().map(Change::PutSubnet));
        let mut ports: Vec<_> = self.ports.values().collect();
        ports.sort_by_key(|p| p.seq);
        changes.extend(ports.into_iter().cloned().map(Change::PutPort));
        let mut actions: Vec<_> = self.all_actions().collect();
        actions.sort_by_key(|a| a.seq);
        changes.extend(actions.into_iter().cloned().map(Change::PutAction));
        let mut tokens: Vec<&Token> = self.tokens().collect();
        tokens.sort_by(|a, b| (a.issued_at, &a.id).cmp(&(b.issued_at, &b.id)));
        changes.extend(tokens.into_iter().cloned().map(Change::PutToken));
        changes
    }
}

/// One server's actions in `seq` order, indexed by request id.
#[derive(Debug, Clone, Default)]
struct ServerActions {
    list: Vec<InstanceAction>,
    by_request: HashMap<String, usize>,
}

impl ServerActions {
    fn put(&mut self, action: InstanceAction) {
        if let Some(&i) = self.by_request.get(&action.request_id) {
            self.list[i] = action;
        } else if self.list.last().is_none_or(|last| last.seq < action.seq) {
            // The usual case: a new action is the newest.
            self.by_request
                .insert(action.request_id.clone(), self.list.len());
            self.list.push(action);
        } else {
            let at = self.list.partition_point(|a| a.seq < action.seq);
            self.list.insert(at, action);
            self.by_request = self
                .list
                .iter()
                .enumerate()
                .map(|(i, a)| (a.request_id.clone(), i))
                .collect();
        }
    }
}

/// A set of mutations applied to the world and recorded for the store.
pub struct Txn<'w> {
    world: &'w mut World,
    ids: &'w IdSource,
    changes: Vec<Change>,
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
        self.world.apply(change.clone());
        self.changes.push(change);
    }
    pub fn into_changes(self) -> Vec<Change> {
        self.changes
    }
}
