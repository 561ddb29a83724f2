//! The embedded network model: servers, networks, subnets, ports and the
//! instance actions that report attach and detach results.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

pub use super::ids::{NetworkId, PortId, ServerId, SubnetId};
pub use super::states::{PortStatus, TaskState, VmState};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Server {
    pub id: ServerId,
    pub name: String,
    pub project_id: String,
    pub user_id: String,
    pub vm_state: VmState,
    /// `None` when no task is running.
    pub task_state: Option<TaskState>,
    pub locked: bool,
    /// Whether the server was ever launched (Nova's `launched_at` is set).
    pub launched: bool,
    /// What the servers API shows besides the states (flavor, image, times,
    /// metadata, tags...). Defaults for servers made by older seeds/stores.
    #[serde(default)]
    pub details: ServerDetails,
}

/// Nova's instance fields beyond what os-interface needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerDetails {
    /// The flavor's id (Nova embeds a copy; porthole looks it up by id).
    pub flavor_id: String,
    /// The image's id; `""` for a volume-backed server.
    pub image_id: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When it first became ACTIVE (`launched` says whether it did).
    pub launched_at: Option<Timestamp>,
    /// Key → value; shown sorted (Nova's metadata dict comes from a table).
    pub metadata: std::collections::BTreeMap<String, String>,
    /// Sorted, unique (Nova's tags come out of its table ordered by tag).
    pub tags: Vec<String>,
    pub description: Option<String>,
    pub locked_reason: Option<String>,
    /// `compute:nova`'s host, `OS-EXT-SRV-ATTR:host`.
    pub host: String,
    /// Nova's `launch_index`/`reservation_id`: constants for porthole.
    pub reservation_id: String,
}

impl Default for ServerDetails {
    fn default() -> Self {
        ServerDetails {
            flavor_id: "1".to_owned(),
            image_id: String::new(),
            created_at: 0,
            updated_at: 0,
            launched_at: None,
            metadata: Default::default(),
            tags: Vec::new(),
            description: None,
            locked_reason: None,
            host: "porthole".to_owned(),
            reservation_id: "r-00000000".to_owned(),
        }
    }
}

/// Nova's `power_state` for a vm_state: RUNNING 1, PAUSED 3, SHUTDOWN 4,
/// SUSPENDED 7, NOSTATE 0.
pub fn power_state(vm_state: VmState) -> u8 {
    match vm_state {
        VmState::Active | VmState::Rescued | VmState::Resized => 1,
        VmState::Paused => 3,
        VmState::Stopped | VmState::SoftDeleted | VmState::Shelved => 4,
        VmState::Suspended => 7,
        _ => 0,
    }
}

/// `nova/api/openstack/common.py`'s `status_from_state`.
pub fn server_status(vm_state: VmState, task_state: Option<TaskState>) -> &'static str {
    use TaskState as T;
    let reboot = |t| match t {
        T::Rebooting | T::RebootPending | T::RebootStarted => Some("REBOOT"),
        T::RebootingHard | T::RebootPendingHard | T::RebootStartedHard => Some("HARD_REBOOT"),
        _ => None,
    };
    let rebuild = |t| {
        matches!(
            t,
            T::Rebuilding | T::RebuildBlockDeviceMapping | T::RebuildSpawning
        )
        .then_some("REBUILD")
    };
    let resize = |t| {
        matches!(
            t,
            T::ResizePrep | T::ResizeMigrating | T::ResizeMigrated | T::ResizeFinish
        )
        .then_some("RESIZE")
    };
    let mapped = task_state.and_then(|t| match vm_state {
        VmState::Active => reboot(t)
            .or_else(|| rebuild(t))
            .or_else(|| resize(t))
            .or(match t {
                T::UpdatingPassword => Some("PASSWORD"),
                T::Migrating => Some("MIGRATING"),
                _ => None,
            }),
        VmState::Stopped => resize(t).or_else(|| rebuild(t)),
        VmState::Resized => (t == T::ResizeReverting).then_some("REVERT_RESIZE"),
        VmState::Paused => (t == T::Migrating).then_some("MIGRATING"),
        VmState::Error => rebuild(t),
        _ => None,
    });
    mapped.unwrap_or(match vm_state {
        VmState::Active => "ACTIVE",
        VmState::Building => "BUILD",
        VmState::Stopped => "SHUTOFF",
        VmState::Resized => "VERIFY_RESIZE",
        VmState::Paused => "PAUSED",
        VmState::Suspended => "SUSPENDED",
        VmState::Rescued => "RESCUE",
        VmState::Error => "ERROR",
        VmState::Deleted => "DELETED",
        VmState::SoftDeleted => "SOFT_DELETED",
        VmState::Shelved => "SHELVED",
        VmState::ShelvedOffloaded => "SHELVED_OFFLOADED",
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub id: NetworkId,
    pub name: String,
    pub project_id: String,
    pub shared: bool,
    /// Neutron's `router:external`.
    pub external: bool,
    pub port_security_enabled: bool,
    /// Neutron's other attributes (defaults for old seeds and stores).
    pub neutron: NeutronAttrs,
}

/// A Neutron host route of a subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HostRoute {
    pub destination: String,
    pub nexthop: String,
}

/// Neutron's attributes beyond what os-interface needs, shared by networks,
/// subnets and ports (each uses its own: `mtu` networks; `enable_dhcp`,
/// `dns_nameservers`, `host_routes` subnets; `security_groups`, `binding_*`
/// ports; `name` subnets and ports, a network's name being its own field).
/// Every key is optional, with Neutron's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NeutronAttrs {
    pub name: String,
    pub description: String,
    pub admin_state_up: bool,
    pub mtu: u32,
    pub enable_dhcp: bool,
    pub dns_nameservers: Vec<String>,
    pub host_routes: Vec<HostRoute>,
    pub security_groups: Vec<String>,
    pub binding_host_id: String,
    pub binding_vnic_type: String,
    pub tags: Vec<String>,
    /// Microseconds since the epoch (0: unknown, shown as the epoch).
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub revision_number: u64,
}

impl Default for NeutronAttrs {
    fn default() -> Self {
        NeutronAttrs {
            name: String::new(),
            description: String::new(),
            admin_state_up: true,
            mtu: 1500,
            enable_dhcp: true,
            dns_nameservers: Vec::new(),
            host_routes: Vec::new(),
            security_groups: Vec::new(),
            binding_host_id: String::new(),
            binding_vnic_type: "normal".to_owned(),
            tags: Vec::new(),
            created_at: 0,
            updated_at: 0,
            revision_number: 0,
        }
    }
}

impl NeutronAttrs {
    /// New attributes created at `at`.
    pub fn created(at: Timestamp) -> Self {
        NeutronAttrs {
            created_at: at,
            updated_at: at,
            ..Default::default()
        }
    }

    /// An update at `at`: `updated_at` and the revision move on.
    pub fn touch(&mut self, at: Timestamp) {
        self.updated_at = at;
        self.revision_number += 1;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpRange {
    pub start: IpAddr,
    pub end: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: SubnetId,
    pub network_id: NetworkId,
    pub cidr: IpNet,
    pub gateway_ip: Option<IpAddr>,
    pub allocation_pools: Vec<IpRange>,
    pub neutron: NeutronAttrs,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedIp {
    pub subnet_id: SubnetId,
    pub ip_address: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    pub id: PortId,
    pub network_id: NetworkId,
    pub project_id: String,
    pub mac_address: String,
    pub fixed_ips: Vec<FixedIp>,
    /// The server (or other device: any text) the port is bound to; `""`
    /// when free.
    pub device_id: String,
    pub device_owner: String,
    /// Neutron's `status`, Nova's `port_state`.
    pub status: PortStatus,
    /// `true`: given by the user, kept (unbound) on detach; `false`: created by
    /// the compute service, deleted on detach.
    pub preserve_on_delete: bool,
    /// The device tag (2.49) of the attachment, shown from 2.70.
    pub tag: Option<String>,
    /// Creation order; lists come out in this order, as from Neutron's table.
    pub seq: u64,
    /// Shared: most ports' attributes are alike (a load of a million ports
    /// holds one copy of each distinct set, not one per port); changed with
    /// `Arc::make_mut`.
    pub neutron: std::sync::Arc<NeutronAttrs>,
}

/// Microseconds since the Unix epoch, UTC.
pub type Timestamp = i64;

pub fn now() -> Timestamp {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    elapsed.as_micros() as Timestamp
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionEvent {
    /// `compute_attach_interface` or `compute_detach_interface`.
    pub event: String,
    pub start_time: Timestamp,
    pub finish_time: Option<Timestamp>,
    /// `Success` or `Error`.
    pub result: Option<String>,
    pub traceback: Option<String>,
    pub host: String,
    pub details: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceAction {
    pub server_id: ServerId,
    /// `attach_interface` or `detach_interface`.
    pub action: String,
    pub request_id: String,
    pub user_id: String,
    pub project_id: String,
    pub start_time: Timestamp,
    pub updated_at: Timestamp,
    /// `Some("Error")` once an event failed.
    pub message: Option<String>,
    pub events: Vec<ActionEvent>,
    pub seq: u64,
}
