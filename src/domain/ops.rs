//! The four os-interface operations and the instance-action lookups, as
//! Nova's compute API, compute manager and Neutron apply them, in their order.

use std::net::IpAddr;

use super::caller::{Caller, Operation};
use super::ids::is_uuid_like;
use super::ipam;
use super::model::*;
use super::world::{Change, Txn, World};
use crate::error::Fault;

/// What a call carries into a mutating operation.
pub struct OpContext<'a> {
    pub caller: &'a Caller,
    pub request_id: &'a str,
    pub now: Timestamp,
    /// The compute host name reported on instance-action events.
    pub host: &'a str,
    /// A newly bound port's status: `ACTIVE`, or `DOWN`/`BUILD` until a
    /// delayed activation (the control plane's port transitions).
    pub attached_status: PortStatus,
}

/// An attach request after schema validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachRequest {
    pub net_id: Option<NetworkId>,
    pub port_id: Option<PortId>,
    pub fixed_ip: Option<IpAddr>,
    pub tag: Option<String>,
}

pub const ATTACH_ACTION: &str = "attach_interface";
pub const DETACH_ACTION: &str = "detach_interface";
pub const ATTACH_EVENT: &str = "compute_attach_interface";
pub const DETACH_EVENT: &str = "compute_detach_interface";
/// Nova's `device_owner` for a port bound to a server (`compute:<az>`).
pub const DEVICE_OWNER: &str = "compute:nova";

/// `common.get_instance`: UUID-like, existing, and visible to the caller.
/// [`find_server`], or with `with_deleted` also a server deleted through
/// the compute API (the same 404 otherwise).
pub fn find_server_for_actions<'w>(
    world: &'w World,
    caller: &Caller,
    server_id: &ServerId,
    with_deleted: bool,
) -> Result<&'w Server, Fault> {
    match find_server(world, caller, server_id) {
        Err(not_found) if with_deleted => match world.deleted_server(server_id) {
            Some(server) if caller.sees_project(&server.project_id) => Ok(server),
            _ => Err(not_found),
        },
        found => found,
    }
}

pub fn find_server<'w>(
    world: &'w World,
    caller: &Caller,
    server_id: &ServerId,
) -> Result<&'w Server, Fault> {
    let not_found = || Fault::InstanceNotFound(server_id.to_string());
    if !is_uuid_like(server_id.as_str()) {
        return Err(not_found());
    }
    let server = world.server(server_id).ok_or_else(not_found)?;
    if !caller.sees_project(&server.project_id) {
        return Err(not_found());
    }
    Ok(server)
}

pub fn authorize(caller: &Caller, operation: Operation, server: &Server) -> Result<(), Fault> {
    if caller.may(operation, &server.project_id) {
        Ok(())
    } else {
        Err(Fault::PolicyNotAuthorized(operation.rule()))
    }
}

/// The server and its visible attachments.
pub fn list_interfaces<'w, 'c>(
    world: &'w World,
    caller: &'c Caller,
    server_id: &ServerId,
) -> Result<impl Iterator<Item = &'w Port> + use<'w, 'c>, Fault> {
    let server = find_server(world, caller, server_id)?;
    authorize(caller, Operation::ListInterfaces, server)?;
    Ok(world
        .ports_of_device(server.id.as_str())
        .filter(move |p| caller.sees_project(&p.project_id)))
}

pub fn show_interface<'w>(
    world: &'w World,
    caller: &Caller,
    server_id: &ServerId,
    port_id: &PortId,
) -> Result<&'w Port, Fault> {
    let server = find_server(world, caller, server_id)?;
    authorize(caller, Operation::ShowInterface, server)?;
    find_port_of(world, caller, server_id, port_id)
}

/// The tail of show: the port, visible to the caller, bound to exactly `server_id`.
pub fn find_port_of<'w>(
    world: &'w World,
    caller: &Caller,
    server_id: &ServerId,
    port_id: &PortId,
) -> Result<&'w Port, Fault> {
    let port = world
        .port(port_id)
        .filter(|p| caller.sees_project(&p.project_id))
        .ok_or_else(|| Fault::PortNotFound(port_id.to_string()))?;
    if port.device_id != server_id.as_str() {
        return Err(Fault::InterfaceNotAttached {
            server_id: server_id.to_string(),
            port_id: port_id.to_string(),
        });
    }
    Ok(port)
}

/// `check_instance_lock` then `check_instance_state(active|paused|stopped, task None, launched)`.
fn check_lock_and_state(
    caller: &Caller,
    server: &Server,
    action: &'static str,
    server_id: &ServerId,
) -> Result<(), Fault> {
    if server.locked && !caller.is_admin() {
        return Err(Fault::InstanceLocked(server.id.to_string()));
    }
    let invalid = |attr, state: &str| Fault::InstanceInvalidState {
        action,
        server_id: server_id.to_string(),
        attr,
        state: state.to_owned(),
    };
    if !matches!(
        server.vm_state,
        VmState::Active | VmState::Paused | VmState::Stopped
    ) {
        return Err(invalid("vm_state", server.vm_state.as_str()));
    }
    if let Some(task) = server.task_state {
        return Err(invalid("task_state", task.as_str()));
    }
    if !server.launched {
        return Err(invalid("launched_at", "None"));
    }
    Ok(())
}

pub(crate) fn start_action(
    ctx: &OpContext,
    txn: &mut Txn,
    server: &Server,
    action: &str,
) -> InstanceAction {
    InstanceAction {
        server_id: server.id.clone(),
        action: action.to_owned(),
        request_id: ctx.request_id.to_owned(),
        user_id: ctx.caller.user_id.clone(),
        project_id: ctx.caller.project_or(&server.project_id).to_owned(),
        start_time: ctx.now,
        updated_at: ctx.now,
        message: None,
        events: Vec::new(),
        seq: txn.next_seq(),
    }
}

pub(crate) fn finish_event(
    ctx: &OpContext,
    action: &mut InstanceAction,
    event: &str,
    outcome: Result<(), (Fault, String)>,
) {
    let finish = super::model::now().max(ctx.now);
    let (result, traceback, details) = match outcome {
        Ok(()) => ("Success", None, None),
        Err((fault, message)) => {
            action.message = Some("Error".to_owned());
            // Nova stores the stack frames only; clients treat it as opaque.
            let traceback = format!(
                "  File \"nova/compute/manager.py\", in {}\n    raise {}({message:?})\n",
                action.action,
                fault.exception_class(),
            );
            ("Error", Some(traceback), Some(message))
        }
    };
    action.updated_at = finish;
    action.events.push(ActionEvent {
        event: event.to_owned(),
        start_time: ctx.now,
        finish_time: Some(finish),
        result: Some(result.to_owned()),
        traceback,
        host: ctx.host.to_owned(),
        details,
    });
}

/// A successful attach: the bound port and the server's project (for the
/// show that Nova runs on the result).
#[derive(Debug, Clone)]
pub struct Attached {
    pub port: Port,
    pub server_project: String,
}

/// POST os-interface. Returns the changes to persist even on failure: Nova
/// records the instance action before the network checks.
pub fn attach_interface(
    txn: &mut Txn,
    ctx: &OpContext,
    server_id: &ServerId,
    request: &AttachRequest,
) -> Result<Attached, Fault> {
    let server = find_server(txn.world(), ctx.caller, server_id)?.clone();
    authorize(ctx.caller, Operation::AttachInterface, &server)?;
    if request.net_id.is_some() && request.port_id.is_some() {
        return Err(Fault::NetworkAndPortGiven);
    }
    if request.fixed_ip.is_some() && request.net_id.is_none() {
        return Err(Fault::IpWithoutNetwork);
    }
    check_lock_and_state(ctx.caller, &server, ATTACH_ACTION, server_id)?;
    let mut action = start_action(ctx, txn, &server, ATTACH_ACTION);
    // The compute API looks the port up (as admin) before casting to the host.
    if let Some(port_id) = &request.port_id {
        if txn.world().port(port_id).is_none() {
            txn.put(Change::PutAction(action));
            return Err(Fault::PortNotFound(port_id.to_string()));
        }
    }
    let result = attach_on_host(txn, ctx, &server, request);
    let outcome = match &result {
        Ok(_) => Ok(()),
        Err(fault) => Err((fault.clone(), fault.to_string())),
    };
    finish_event(ctx, &mut action, ATTACH_EVENT, outcome);
    txn.put(Change::PutAction(action));
    result.map(|port| Attached {
        port,
        server_project: server.project_id,
    })
}

pub(crate) fn attach_on_host(
    txn: &mut Txn,
    ctx: &OpContext,
    server: &Server,
    request: &AttachRequest,
) -> Result<Port, Fault> {
    let world = txn.world();
    let caller = ctx.caller;
    if let Some(port_id) = &request.port_id {
        let port = world
            .port(port_id)
            .filter(|p| caller.sees_project(&p.project_id))
            .ok_or_else(|| Fault::PortNotFound(port_id.to_string()))?;
        if port.project_id != server.project_id {
            return Err(Fault::PortNotUsable {
                port_id: port_id.to_string(),
                server_id: server.id.to_string(),
            });
        }
        if !port.device_id.is_empty() {
            return Err(Fault::PortInUse(port_id.to_string()));
        }
        let mut port = port.clone();
        port.device_id = server.id.to_string();
        port.device_owner = DEVICE_OWNER.to_owned();
        port.status = ctx.attached_status;
        port.preserve_on_delete = true;
        port.tag = request.tag.clone();
        let attrs = std::sync::Arc::make_mut(&mut port.neutron);
        attrs.binding_host_id = ctx.host.to_owned();
        attrs.touch(ctx.now);
        txn.put(Change::PutPort(port.clone()));
        return Ok(port);
    }

    let network = match &request.net_id {
        Some(net_id) => world
            .network(net_id)
            .filter(|n| n.shared || n.external || caller.sees_project(&n.project_id))
            .ok_or_else(|| Fault::NetworkNotFound(net_id.to_string()))?,
        None => {
            let mut candidates = world
                .networks()
                .filter(|n| n.shared || n.project_id == server.project_id);
            match (candidates.next(), candidates.next()) {
                (None, _) => return Err(Fault::NoNetworkAvailable(server.project_id.clone())),
                (Some(_), Some(_)) => return Err(Fault::NetworkAmbiguous),
                (Some(only), None) => only,
            }
        }
    };
    // Nova checks `network:attach_external_network` with the default target
    // (the caller's own project).
    if network.external
        && !network.shared
        && !caller.may(
            Operation::AttachExternalNetwork,
            caller.project_or(&server.project_id),
        )
    {
        return Err(Fault::ExternalNetworkAttachForbidden(
            network.id.to_string(),
        ));
    }
    let subnets: Vec<&Subnet> = world.subnets_of(&network.id).collect();
    if network.port_security_enabled && subnets.is_empty() {
        return Err(Fault::SecurityGroupCannotBeApplied);
    }
    let fixed_ip = match request.fixed_ip {
        Some(ip) => {
            let subnet = subnets
                .iter()
                .find(|s| ipam::is_valid_for_subnet(s, ip))
                .ok_or_else(|| Fault::InvalidFixedIp {
                    ip: ip.to_string(),
                    network_id: network.id.to_string(),
                })?;
            if world.ip_in_use(&subnet.id, ip) || subnet.gateway_ip == Some(ip) {
                return Err(Fault::FixedIpInUse(ip.to_string()));
            }
            Some(FixedIp {
                subnet_id: subnet.id.clone(),
                ip_address: ip,
            })
        }
        None if subnets.is_empty() => None,
        None => {
            let free = subnets.iter().find_map(|s| {
                let ip = world.first_free_ip(s, &[])?;
                Some(FixedIp {
                    subnet_id: s.id.clone(),
                    ip_address: ip,
                })
            });
            Some(free.ok_or_else(|| Fault::NoMoreFixedIps(network.id.to_string()))?)
        }
    };
    let mac_address = loop {
        let mac = txn.ids().mac();
        if !world.mac_in_use(&mac) {
            break mac;
        }
    };
    // A deterministic source may repeat an id an earlier run used.
    let id = loop {
        let id = PortId::from(txn.ids().uuid());
        if world.port(&id).is_none() {
            break id;
        }
    };
    let network_id = network.id.clone();
    let port = Port {
        id,
        network_id,
        project_id: server.project_id.clone(),
        mac_address,
        fixed_ips: fixed_ip.into_iter().collect(),
        device_id: server.id.to_string(),
        device_owner: DEVICE_OWNER.to_owned(),
        status: ctx.attached_status,
        preserve_on_delete: false,
        tag: request.tag.clone(),
        seq: txn.next_seq(),
        neutron: NeutronAttrs {
            binding_host_id: ctx.host.to_owned(),
            ..NeutronAttrs::created(ctx.now)
        }
        .into(),
    };
    txn.put(Change::PutPort(port.clone()));
    Ok(port)
}

/// DELETE os-interface/{port_id}. Nova answers 202 once the state checks
/// pass; whether the port was attached shows only in the instance action.
pub fn detach_interface(
    txn: &mut Txn,
    ctx: &OpContext,
    server_id: &ServerId,
    port_id: &PortId,
) -> Result<(), Fault> {
    let server = find_server(txn.world(), ctx.caller, server_id)?.clone();
    authorize(ctx.caller, Operation::DetachInterface, &server)?;
    check_lock_and_state(ctx.caller, &server, DETACH_ACTION, server_id)?;
    let mut action = start_action(ctx, txn, &server, DETACH_ACTION);
    let attached = txn
        .world()
        .port(port_id)
        .filter(|p| p.device_id == server.id.as_str())
        .cloned();
    let outcome = match attached {
        Some(port) if port.preserve_on_delete => {
            txn.put(Change::PutPort(unbound(port)));
            Ok(())
        }
        Some(port) => {
            txn.put(Change::DeletePort(port.id));
            Ok(())
        }
        None => Err((
            Fault::PortNotFound(port_id.to_string()),
            format!("Port {port_id} is not attached"),
        )),
    };
    finish_event(ctx, &mut action, DETACH_EVENT, outcome);
    txn.put(Change::PutAction(action));
    Ok(())
}

/// GET os-instance-actions: newest first.
///
/// `with_deleted`: a server deleted through the compute API is found too
/// (Nova reads deleted instances here from microversion 2.21).
pub fn list_instance_actions<'w>(
    world: &'w World,
    caller: &Caller,
    server_id: &ServerId,
    with_deleted: bool,
) -> Result<Vec<&'w InstanceAction>, Fault> {
    let server = find_server_for_actions(world, caller, server_id, with_deleted)?;
    authorize(caller, Operation::ListInstanceActions, server)?;
    Ok(world.actions_of(server_id).iter().rev().collect())
}

pub fn show_instance_action<'w>(
    world: &'w World,
    caller: &Caller,
    server_id: &ServerId,
    request_id: &str,
    with_deleted: bool,
) -> Result<&'w InstanceAction, Fault> {
    let server = find_server_for_actions(world, caller, server_id, with_deleted)?;
    authorize(caller, Operation::ShowInstanceAction, server)?;
    world
        .action(server_id, request_id)
        .ok_or_else(|| Fault::InstanceActionNotFound {
            request_id: request_id.to_owned(),
        })
}

/// The control plane's server changes (`PATCH /_porthole/servers/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerPatch {
    pub name: Option<String>,
    pub vm_state: Option<VmState>,
    /// `Some(None)`: no task.
    pub task_state: Option<Option<TaskState>>,
    pub locked: Option<bool>,
    pub launched: Option<bool>,
}

/// Apply `patch` to a server; `None` when there is no such server.
pub fn patch_server(txn: &mut Txn, server_id: &ServerId, patch: ServerPatch) -> Option<Server> {
    let mut server = txn.world().server(server_id)?.clone();
    if let Some(name) = patch.name {
        server.name = name;
    }
    if let Some(vm_state) = patch.vm_state {
        server.vm_state = vm_state;
    }
    if let Some(task_state) = patch.task_state {
        server.task_state = task_state;
    }
    if let Some(locked) = patch.locked {
        server.locked = locked;
    }
    if let Some(launched) = patch.launched {
        server.launched = launched;
    }
    txn.put(Change::PutServer(server.clone()));
    Some(server)
}

/// The control plane's hard delete: its ports are detached as a detach
/// would (ports given by the user kept and unbound, the compute service's
/// own deleted), and its instance actions go with it (a server deleted
/// through the compute API, kept for its actions, is not found here).
/// Whether it existed.
pub fn delete_server(txn: &mut Txn, server_id: &ServerId) -> bool {
    if txn.world().server(server_id).is_none() {
        return false;
    }
    detach_all_ports(txn, server_id);
    txn.put(Change::DeleteServer(server_id.clone()));
    true
}

/// A server's ports as a delete treats them: ports given by the user kept
/// and unbound, the compute service's own deleted.
pub(crate) fn detach_all_ports(txn: &mut Txn, server_id: &ServerId) {
    let ports: Vec<Port> = txn
        .world()
        .ports_of_device(server_id.as_str())
        .cloned()
        .collect();
    for port in ports {
        if port.preserve_on_delete {
            txn.put(Change::PutPort(unbound(port)));
        } else {
            txn.put(Change::DeletePort(port.id));
        }
    }
}

/// A port detached from its device.
fn unbound(mut port: Port) -> Port {
    port.device_id.clear();
    port.device_owner.clear();
    port.status = PortStatus::Down;
    port.tag = None;
    if !port.neutron.binding_host_id.is_empty() {
        std::sync::Arc::make_mut(&mut port.neutron)
            .binding_host_id
            .clear();
    }
    port
}

/// The end of a delayed port activation: a port still bound to `server_id`
/// and still in `from_status` turns `ACTIVE`.
pub fn activate_port(
    txn: &mut Txn,
    server_id: &ServerId,
    port_id: &PortId,
    from_status: PortStatus,
) -> bool {
    let Some(port) = txn.world().port(port_id) else {
        return false;
    };
    if port.device_id != server_id.as_str() || port.status != from_status {
        return false;
    }
    let mut port = port.clone();
    port.status = PortStatus::Active;
    txn.put(Change::PutPort(port));
    true
}
