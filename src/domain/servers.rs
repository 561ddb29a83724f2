//! The servers API's rules: lookups and list filters as Nova's
//! `servers.py` index/detail/show apply them.

use super::caller::{Caller, Operation};
use super::catalog::Catalog;
use super::model::*;
use super::ops::{
    attach_on_host, authorize, find_server, finish_event, start_action, AttachRequest, OpContext,
};
use super::world::{Change, Txn, World};
use crate::error::Fault;

/// The filters and paging of `GET /servers[/detail]`, already validated.
#[derive(Debug, Clone, Default)]
pub struct ServerQuery {
    /// Nova's regex on the name (`re.search`).
    pub name: Option<String>,
    /// An upper-case status (`ACTIVE`, `SHUTOFF`, ...).
    pub status: Option<String>,
    pub changes_since: Option<Timestamp>,
    pub limit: Option<usize>,
    pub marker: Option<String>,
    pub all_tenants: bool,
    /// With `all_tenants`: only this project.
    pub project_id: Option<String>,
    pub sort: Vec<(SortKey, bool)>,
}

/// The sort keys porthole can order by (`descending` beside each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    CreatedAt,
    UpdatedAt,
    DisplayName,
    Uuid,
    VmState,
    TaskState,
    ProjectId,
    UserId,
}

impl SortKey {
    pub fn parse(text: &str) -> Option<SortKey> {
        Some(match text {
            "created_at" => SortKey::CreatedAt,
            "updated_at" => SortKey::UpdatedAt,
            "display_name" => SortKey::DisplayName,
            "uuid" => SortKey::Uuid,
            "vm_state" => SortKey::VmState,
            "task_state" => SortKey::TaskState,
            "project_id" => SortKey::ProjectId,
            "user_id" => SortKey::UserId,
            _ => return None,
        })
    }

    fn compare(self, a: &Server, b: &Server) -> std::cmp::Ordering {
        match self {
            SortKey::CreatedAt => a.details.created_at.cmp(&b.details.created_at),
            SortKey::UpdatedAt => a.details.updated_at.cmp(&b.details.updated_at),
            SortKey::DisplayName => a.name.cmp(&b.name),
            SortKey::Uuid => a.id.as_str().cmp(b.id.as_str()),
            SortKey::VmState => a.vm_state.as_str().cmp(b.vm_state.as_str()),
            SortKey::TaskState => a
                .task_state
                .map(|t| t.as_str())
                .cmp(&b.task_state.map(|t| t.as_str())),
            SortKey::ProjectId => a.project_id.cmp(&b.project_id),
            SortKey::UserId => a.user_id.cmp(&b.user_id),
        }
    }
}

/// `GET /servers/{id}`: the server, if the caller may see it.
pub fn show_server<'w>(
    world: &'w World,
    caller: &Caller,
    server_id: &ServerId,
) -> Result<&'w Server, Fault> {
    let server = find_server(world, caller, server_id)?;
    authorize(caller, Operation::ShowServer, server)?;
    Ok(server)
}

/// `GET /servers[/detail]`: policy, filters, order, marker and limit.
pub fn list_servers<'w>(
    world: &'w World,
    caller: &Caller,
    detail: bool,
    query: &ServerQuery,
) -> Result<Vec<&'w Server>, Fault> {
    let own = caller.project_id.clone().unwrap_or_default();
    let (list, all) = if detail {
        (
            Operation::ListServersDetail,
            Operation::ListServersDetailAllTenants,
        )
    } else {
        (Operation::ListServers, Operation::ListServersAllTenants)
    };
    if !caller.may(list, &own) {
        return Err(Fault::PolicyNotAuthorized(list.rule()));
    }
    if query.all_tenants && !caller.may(all, &own) {
        return Err(Fault::PolicyNotAuthorized(all.rule()));
    }
    let name = query
        .name
        .as_deref()
        .map(|n| regex_lite::Regex::new(n).ok());
    let mut servers: Vec<&Server> = world
        .servers()
        .filter(|s| {
            if query.all_tenants {
                query.project_id.as_ref().is_none_or(|p| *p == s.project_id)
            } else {
                caller
                    .project_id
                    .as_deref()
                    .is_none_or(|p| p == s.project_id)
            }
        })
        .filter(|s| match &name {
            None => true,
            Some(Some(re)) => re.is_match(&s.name),
            Some(None) => false,
        })
        .filter(|s| {
            query
                .status
                .as_deref()
                .is_none_or(|st| server_status(s.vm_state, s.task_state) == st)
        })
        .filter(|s| {
            query
                .changes_since
                .is_none_or(|t| s.details.updated_at >= t)
        })
        .collect();
    let sort: Vec<(SortKey, bool)> = if query.sort.is_empty() {
        vec![(SortKey::CreatedAt, true), (SortKey::Uuid, true)]
    } else {
        let mut keys = query.sort.clone();
        if !keys.iter().any(|(k, _)| *k == SortKey::Uuid) {
            keys.push((SortKey::Uuid, keys.last().map(|k| k.1).unwrap_or(true)));
        }
        keys
    };
    servers.sort_by(|a, b| {
        sort.iter()
            .map(|(key, descending)| {
                let order = key.compare(a, b);
                if *descending {
                    order.reverse()
                } else {
                    order
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if let Some(marker) = &query.marker {
        let at = servers
            .iter()
            .position(|s| s.id.as_str() == marker)
            .ok_or_else(|| Fault::MarkerNotFound(marker.clone()))?;
        servers.drain(..=at);
    }
    if let Some(limit) = query.limit {
        servers.truncate(limit);
    }
    Ok(servers)
}

/// What `networks` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkRequest {
    /// `auto` (and no `networks` before 2.37): the project's one network.
    Auto,
    /// `none`: no port at all.
    None,
    List(Vec<RequestedNetwork>),
}

/// One `{uuid[, fixed_ip]}` or `{port}` of `networks`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestedNetwork {
    pub net_id: Option<NetworkId>,
    pub fixed_ip: Option<std::net::IpAddr>,
    pub port_id: Option<PortId>,
    pub tag: Option<String>,
}

/// A create request after schema validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRequest {
    pub name: String,
    /// `None`: boot from volume (not supported: 400).
    pub image_id: Option<String>,
    pub flavor_id: String,
    pub networks: NetworkRequest,
    pub metadata: std::collections::BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub description: Option<String>,
}

pub const CREATE_ACTION: &str = "create";
pub const BUILD_EVENT: &str = "compute__do_build_and_run_instance";
pub const DELETE_ACTION: &str = "delete";
pub const TERMINATE_EVENT: &str = "compute_terminate_instance";

/// `POST /servers`: the API's checks (policy, flavor, image, networks),
/// then the build: the server and its ports, `ACTIVE` at once or `BUILD`
/// (`building`/`spawning`) when `build_later`. A port that cannot be made
/// during the build leaves the server in `ERROR`, as in Nova.
pub fn create_server(
    txn: &mut Txn,
    ctx: &OpContext,
    catalog: &Catalog,
    request: &CreateRequest,
    build_later: bool,
) -> Result<Server, Fault> {
    let project = ctx.caller.project_id.clone().unwrap_or_default();
    if !ctx.caller.may(Operation::CreateServer, &project) {
        return Err(Fault::PolicyNotAuthorized(Operation::CreateServer.rule()));
    }
    if catalog.flavor(&request.flavor_id).is_none() {
        return Err(Fault::BadRequest(format!(
            "Flavor {} could not be found.",
            request.flavor_id
        )));
    }
    let Some(image_id) = request.image_id.as_deref().filter(|i| !i.is_empty()) else {
        return Err(Fault::BadRequest(
            "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.".to_owned(),
        ));
    };
    if catalog.image(image_id).is_none() {
        return Err(Fault::BadRequest("Can not find requested image".to_owned()));
    }
    let world = txn.world();
    // The API's `validate_networks`: networks exist, ports exist and are free.
    let requested: Vec<RequestedNetwork> =
        match &request.networks {
            NetworkRequest::None => Vec::new(),
            NetworkRequest::Auto => {
                let mut candidates = world
                    .networks()
                    .filter(|n| !n.external && (n.shared || n.project_id == project));
                match (candidates.next(), candidates.next()) {
                    (None, _) => {
                        return Err(Fault::BadRequest(format!(
                            "Unable to automatically allocate a network for project {project}"
                        )))
                    }
                    (Some(_), Some(_)) => return Err(Fault::Conflict(
                        "Multiple possible networks found, use a Network ID to be more specific."
                            .to_owned(),
                    )),
                    (Some(only), None) => vec![RequestedNetwork {
                        net_id: Some(only.id.clone()),
                        ..Default::default()
                    }],
                }
            }
            NetworkRequest::List(list) => list.clone(),
        };
    for wanted in &requested {
        if let Some(port_id) = &wanted.port_id {
            let port = world
                .port(port_id)
                .filter(|p| ctx.caller.sees_project(&p.project_id))
                .ok_or_else(|| Fault::PortNotFound(port_id.to_string()))?;
            if !port.device_id.is_empty() {
                return Err(Fault::PortInUse(port_id.to_string()));
            }
        } else if let Some(net_id) = &wanted.net_id {
            world
                .network(net_id)
                .filter(|n| n.shared || n.external || ctx.caller.sees_project(&n.project_id))
                .ok_or_else(|| {
                    Fault::BadRequest(format!("Network {net_id} could not be found."))
                })?;
        }
    }
    let id = loop {
        let id = ServerId::from(txn.ids().uuid());
        if txn.world().server(&id).is_none() {
            break id;
        }
    };
    let mut tags = request.tags.clone();
    tags.sort();
    tags.dedup();
    let mut server = Server {
        id,
        name: request.name.clone(),
        project_id: project,
        user_id: ctx.caller.user_id.clone(),
        vm_state: VmState::Building,
        task_state: Some(TaskState::Spawning),
        locked: false,
        launched: false,
        details: ServerDetails {
            flavor_id: request.flavor_id.clone(),
            image_id: image_id.to_owned(),
            created_at: ctx.now,
            updated_at: ctx.now,
            launched_at: None,
            metadata: request.metadata.clone(),
            tags,
            description: request.description.clone(),
            locked_reason: None,
            host: ctx.host.to_owned(),
            reservation_id: format!("r-{}", &txn.ids().uuid()[..8]),
        },
    };
    txn.put(Change::PutServer(server.clone()));
    let mut action = start_action(ctx, txn, &server, CREATE_ACTION);
    let mut outcome = Ok(());
    for wanted in &requested {
        let attach = AttachRequest {
            net_id: wanted.net_id.clone(),
            port_id: wanted.port_id.clone(),
            fixed_ip: wanted.fixed_ip,
            tag: wanted.tag.clone(),
        };
        if let Err(fault) = attach_on_host(txn, ctx, &server, &attach) {
            outcome = Err((fault.clone(), fault.to_string()));
            break;
        }
    }
    if outcome.is_err() {
        server.vm_state = VmState::Error;
        server.task_state = None;
    } else if !build_later {
        server.vm_state = VmState::Active;
        server.task_state = None;
        server.launched = true;
        server.details.launched_at = Some(ctx.now);
    }
    txn.put(Change::PutServer(server.clone()));
    finish_event(ctx, &mut action, BUILD_EVENT, outcome);
    txn.put(Change::PutAction(action));
    Ok(server)
}

/// The end of a delayed build: a server still `building` turns `ACTIVE`.
pub fn finish_build(txn: &mut Txn, server_id: &ServerId, now: Timestamp) -> bool {
    let Some(server) = txn.world().server(server_id) else {
        return false;
    };
    if server.vm_state != VmState::Building {
        return false;
    }
    let mut server = server.clone();
    server.vm_state = VmState::Active;
    server.task_state = None;
    server.launched = true;
    server.details.launched_at = Some(now);
    server.details.updated_at = now;
    txn.put(Change::PutServer(server));
    true
}

/// `DELETE /servers/{id}`: policy, the lock, then ports as a detach treats
/// them (given ports kept and unbound, created ones deleted).
pub fn delete_server(txn: &mut Txn, ctx: &OpContext, server_id: &ServerId) -> Result<(), Fault> {
    let server = find_server(txn.world(), ctx.caller, server_id)?.clone();
    authorize(ctx.caller, Operation::DeleteServer, &server)?;
    if server.locked && !ctx.caller.is_admin() {
        return Err(Fault::InstanceLocked(server.id.to_string()));
    }
    // Nova records `delete` in the API and the compute manager's
    // `terminate_instance` event, then soft-deletes the instance row: its
    // actions stay readable (os-instance-actions from 2.21).
    let mut action = start_action(ctx, txn, &server, DELETE_ACTION);
    super::ops::detach_all_ports(txn, server_id);
    finish_event(ctx, &mut action, TERMINATE_EVENT, Ok(()));
    txn.put(Change::PutAction(action));
    txn.put(Change::SoftDeleteServer(server_id.clone()));
    Ok(())
}

/// The state actions of `POST /servers/{id}/action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAction {
    /// With the 2.73 `locked_reason`.
    Lock(Option<String>),
    Unlock,
    Stop,
    Start,
    Pause,
    Unpause,
    Suspend,
    Resume,
}

impl ServerAction {
    fn operation(&self) -> Operation {
        match self {
            ServerAction::Lock(_) => Operation::LockServer,
            ServerAction::Unlock => Operation::UnlockServer,
            ServerAction::Stop => Operation::StopServer,
            ServerAction::Start => Operation::StartServer,
            ServerAction::Pause => Operation::PauseServer,
            ServerAction::Unpause => Operation::UnpauseServer,
            ServerAction::Suspend => Operation::SuspendServer,
            ServerAction::Resume => Operation::ResumeServer,
        }
    }

    /// Nova's instance action name (and the name in its 409 messages).
    pub fn name(&self) -> &'static str {
        match self {
            ServerAction::Lock(_) => "lock",
            ServerAction::Unlock => "unlock",
            ServerAction::Stop => "stop",
            ServerAction::Start => "start",
            ServerAction::Pause => "pause",
            ServerAction::Unpause => "unpause",
            ServerAction::Suspend => "suspend",
            ServerAction::Resume => "resume",
        }
    }

    /// `check_instance_state(vm_state=...)` of the compute API method, and
    /// the state it leaves; `None` for lock and unlock (no state check).
    fn transition(&self) -> Option<(&'static [VmState], VmState, &'static str)> {
        use VmState::*;
        Some(match self {
            ServerAction::Lock(_) | ServerAction::Unlock => return None,
            ServerAction::Stop => (&[Active, Error], Stopped, "compute_stop_instance"),
            ServerAction::Start => (&[Stopped], Active, "compute_start_instance"),
            ServerAction::Pause => (&[Active], Paused, "compute_pause_instance"),
            ServerAction::Unpause => (&[Paused], Active, "compute_unpause_instance"),
            ServerAction::Suspend => (&[Active], Suspended, "compute_suspend_instance"),
            ServerAction::Resume => (&[Suspended], Active, "compute_resume_instance"),
        })
    }
}

/// `POST /servers/{id}/action`: the server, policy, the lock (not for
/// lock/unlock), the state, then the change, recorded as an instance action.
pub fn server_action(
    txn: &mut Txn,
    ctx: &OpContext,
    server_id: &ServerId,
    action: &ServerAction,
) -> Result<(), Fault> {
    if super::ids::is_uuid_like(server_id.as_str()) && txn.world().server(server_id).is_none() {
        return Err(Fault::InstanceNoCellMapping(server_id.to_string()));
    }
    let mut server = find_server(txn.world(), ctx.caller, server_id)?.clone();
    authorize(ctx.caller, action.operation(), &server)?;
    // Locking a locked server changes nothing and records nothing.
    if matches!(action, ServerAction::Lock(_)) && server.locked {
        return Ok(());
    }
    let transition = action.transition();
    if transition.is_some() && server.locked && !ctx.caller.is_admin() {
        return Err(Fault::InstanceLocked(server.id.to_string()));
    }
    if let Some((allowed, _, _)) = transition {
        let invalid = |attr, state: &str| Fault::InstanceInvalidState {
            action: action.name(),
            server_id: server_id.to_string(),
            attr,
            state: state.to_owned(),
        };
        if !allowed.contains(&server.vm_state) {
            return Err(invalid("vm_state", server.vm_state.as_str()));
        }
        if let Some(task) = server.task_state {
            return Err(invalid("task_state", task.as_str()));
        }
    }
    let mut record = start_action(ctx, txn, &server, action.name());
    match action {
        ServerAction::Lock(reason) => {
            server.locked = true;
            server.details.locked_reason = reason.clone();
        }
        ServerAction::Unlock => {
            server.locked = false;
            server.details.locked_reason = None;
        }
        _ => {}
    }
    if let Some((_, to, event)) = transition {
        server.vm_state = to;
        finish_event(ctx, &mut record, event, Ok(()));
    }
    server.details.updated_at = ctx.now;
    txn.put(Change::PutServer(server));
    txn.put(Change::PutAction(record));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_novas_map() {
        assert_eq!(server_status(VmState::Active, None), "ACTIVE");
        assert_eq!(server_status(VmState::Stopped, None), "SHUTOFF");
        assert_eq!(
            server_status(VmState::Active, Some(TaskState::RebootingHard)),
            "HARD_REBOOT"
        );
        assert_eq!(
            server_status(VmState::Active, Some(TaskState::PoweringOff)),
            "ACTIVE"
        );
        assert_eq!(
            server_status(VmState::Building, Some(TaskState::Spawning)),
            "BUILD"
        );
        assert_eq!(
            server_status(VmState::Resized, Some(TaskState::ResizeReverting)),
            "REVERT_RESIZE"
        );
        assert_eq!(server_status(VmState::SoftDeleted, None), "SOFT_DELETED");
    }
}
