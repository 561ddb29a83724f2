//! The servers API's rules: lookups and list filters as Nova's
//! `servers.py` index/detail/show apply them.

use super::caller::{Caller, Operation};
use super::model::*;
use super::ops::{authorize, find_server};
use super::world::World;
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
