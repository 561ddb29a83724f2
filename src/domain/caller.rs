//! Who is calling: the request's security context, and the policy it is
//! checked against (Nova's `context.can`).

use std::sync::Arc;

use super::policy::{Credentials, Policy, Target, CONTEXT_IS_ADMIN};

/// Role names of the caller, lower-case, with Keystone's default
/// implications applied (admin ⇒ member ⇒ reader).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roles(Vec<String>);

impl Roles {
    /// From a role list such as `admin,member,reader`.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut roles: Vec<String> = names
            .into_iter()
            .map(|n| n.trim().to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        if roles.iter().any(|r| r == "admin") {
            roles.push("member".into());
        }
        if roles.iter().any(|r| r == "member") {
            roles.push("reader".into());
        }
        roles.sort();
        roles.dedup();
        Roles(roles)
    }

    pub fn all() -> Self {
        Self::from_names(["admin"])
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|r| r == name)
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }
}

/// The request's security context.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    /// `None`: not bound to a project (noauth without a project): sees every project.
    pub project_id: Option<String>,
    pub roles: Roles,
    /// Nova's `context.is_admin`: the `context_is_admin` rule.
    is_admin: bool,
    /// `false`: a system- or domain-scoped token, which oslo.policy refuses
    /// every rule scoped to projects (all of Nova's).
    project_scope: bool,
    policy: Arc<Policy>,
}

/// The policed operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    ListInterfaces,
    ShowInterface,
    AttachInterface,
    DetachInterface,
    ListInstanceActions,
    ShowInstanceAction,
    ShowInstanceActionEvents,
    ShowInstanceActionEventDetails,
    AttachExternalNetwork,
    ListServers,
    ListServersDetail,
    ListServersAllTenants,
    ListServersDetailAllTenants,
    ShowServer,
    CreateServer,
    DeleteServer,
    LockServer,
    UnlockServer,
    StopServer,
    StartServer,
    PauseServer,
    UnpauseServer,
    SuspendServer,
    ResumeServer,
}

impl Operation {
    /// The oslo.policy rule name Nova checks.
    pub fn rule(self) -> &'static str {
        match self {
            Operation::ListInterfaces => "os_compute_api:os-attach-interfaces:list",
            Operation::ShowInterface => "os_compute_api:os-attach-interfaces:show",
            Operation::AttachInterface => "os_compute_api:os-attach-interfaces:create",
            Operation::DetachInterface => "os_compute_api:os-attach-interfaces:delete",
            Operation::ListInstanceActions => "os_compute_api:os-instance-actions:list",
            Operation::ShowInstanceAction => "os_compute_api:os-instance-actions:show",
            Operation::ShowInstanceActionEvents => "os_compute_api:os-instance-actions:events",
            Operation::ShowInstanceActionEventDetails => {
                "os_compute_api:os-instance-actions:events:details"
            }
            Operation::AttachExternalNetwork => super::policy::ATTACH_EXTERNAL_NETWORK,
            Operation::ListServers => "os_compute_api:servers:index",
            Operation::ListServersDetail => "os_compute_api:servers:detail",
            Operation::ListServersAllTenants => "os_compute_api:servers:index:get_all_tenants",
            Operation::ListServersDetailAllTenants => {
                "os_compute_api:servers:detail:get_all_tenants"
            }
            Operation::ShowServer => "os_compute_api:servers:show",
            Operation::CreateServer => "os_compute_api:servers:create",
            Operation::DeleteServer => "os_compute_api:servers:delete",
            Operation::LockServer => "os_compute_api:os-lock-server:lock",
            Operation::UnlockServer => "os_compute_api:os-lock-server:unlock",
            Operation::StopServer => "os_compute_api:servers:stop",
            Operation::StartServer => "os_compute_api:servers:start",
            Operation::PauseServer => "os_compute_api:os-pause-server:pause",
            Operation::UnpauseServer => "os_compute_api:os-pause-server:unpause",
            Operation::SuspendServer => "os_compute_api:os-suspend-server:suspend",
            Operation::ResumeServer => "os_compute_api:os-suspend-server:resume",
        }
    }
}

impl Caller {
    pub fn new(
        user_id: String,
        project_id: Option<String>,
        roles: Roles,
        policy: Arc<Policy>,
    ) -> Self {
        let mut caller = Caller {
            user_id,
            project_id,
            roles,
            is_admin: false,
            project_scope: true,
            policy,
        };
        let target = caller.project_id.clone().unwrap_or_default();
        caller.is_admin = caller.policy.allows(
            CONTEXT_IS_ADMIN,
            &caller.credentials(),
            &Target {
                project_id: &target,
            },
        );
        caller
    }

    fn credentials(&self) -> Credentials<'_> {
        Credentials {
            user_id: &self.user_id,
            project_id: self.project_id.as_deref(),
            roles: self.roles.names(),
            is_admin: self.is_admin,
        }
    }

    /// The same caller with a system- or domain-scoped token: still
    /// `is_admin` by its roles, but allowed no operation (oslo.policy's
    /// scope check, before the rule).
    pub fn outside_project_scope(mut self) -> Self {
        self.project_scope = false;
        self
    }

    /// Nova's `context.is_admin` (`context_is_admin`, by default `role:admin`).
    pub fn is_admin(&self) -> bool {
        self.is_admin
    }

    /// Whether the caller's project is `project_id` (always, unbound).
    pub fn in_project(&self, project_id: &str) -> bool {
        self.project_id.as_deref().is_none_or(|p| p == project_id)
    }

    /// What Nova and Neutron show this caller: its own project's resources, or all for admins.
    pub fn sees_project(&self, project_id: &str) -> bool {
        self.is_admin() || self.in_project(project_id)
    }

    /// The policy rule of `operation`, target = `{project_id: target_project}`.
    pub fn may(&self, operation: Operation, target_project: &str) -> bool {
        self.project_scope
            && self.policy.allows(
                operation.rule(),
                &self.credentials(),
                &Target {
                    project_id: target_project,
                },
            )
    }

    /// The project recorded on instance actions.
    pub fn project_or<'a>(&'a self, fallback: &'a str) -> &'a str {
        self.project_id.as_deref().unwrap_or(fallback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(roles: &str, project: Option<&str>) -> Caller {
        Caller::new(
            "u".into(),
            project.map(Into::into),
            Roles::from_names(roles.split(',')),
            Arc::new(Policy::default()),
        )
    }

    #[test]
    fn role_implication() {
        assert_eq!(
            Roles::from_names(["admin"]).names(),
            ["admin", "member", "reader"]
        );
        assert_eq!(Roles::from_names(["Member"]).names(), ["member", "reader"]);
        assert_eq!(Roles::from_names(["observer"]).names(), ["observer"]);
    }

    #[test]
    fn default_policy() {
        let reader = caller("reader", Some("p1"));
        assert!(reader.may(Operation::ListInterfaces, "p1"));
        assert!(reader.may(Operation::ShowInterface, "p1"));
        assert!(!reader.may(Operation::AttachInterface, "p1"));
        assert!(!reader.may(Operation::ListInterfaces, "p2"));
        let member = caller("member", Some("p1"));
        assert!(member.may(Operation::DetachInterface, "p1"));
        assert!(!member.may(Operation::DetachInterface, "p2"));
        assert!(!member.is_admin());
        let admin = caller("admin", Some("p1"));
        assert!(admin.may(Operation::AttachInterface, "p2"));
        assert!(admin.is_admin());
        let nobody = caller("observer", Some("p1"));
        assert!(!nobody.may(Operation::ListInterfaces, "p1"));
        // A system- or domain-scoped admin: admin, allowed nothing.
        let system = caller("admin", Some("")).outside_project_scope();
        assert!(system.is_admin());
        assert!(!system.may(Operation::ListInterfaces, "p1"));
    }
}
