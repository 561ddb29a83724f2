//! Who is calling, and Nova's default policy for os-interface (§7).

/// Roles of the caller, with Keystone's implications applied
/// (admin ⇒ member ⇒ reader).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Roles {
    pub admin: bool,
    pub member: bool,
    pub reader: bool,
}

impl Roles {
    /// From a role list such as `admin,member,reader`; unknown names grant nothing.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut roles = Roles::default();
        for name in names {
            match name.trim().to_ascii_lowercase().as_str() {
                "admin" => roles.admin = true,
                "member" => roles.member = true,
                "reader" => roles.reader = true,
                _ => {}
            }
        }
        roles.member |= roles.admin;
        roles.reader |= roles.member;
        roles
    }

    pub fn all() -> Self {
        Roles {
            admin: true,
            member: true,
            reader: true,
        }
    }
}

/// The request's security context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    /// `None`: not bound to a project (noauth without a project): sees every project.
    pub project_id: Option<String>,
    pub roles: Roles,
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
        }
    }

    fn needs_member(self) -> bool {
        matches!(
            self,
            Operation::AttachInterface | Operation::DetachInterface
        )
    }
}

impl Caller {
    /// Nova's `context.is_admin` (`role:admin`).
    pub fn is_admin(&self) -> bool {
        self.roles.admin
    }

    /// `project_id:%(project_id)s` against a target project.
    pub fn in_project(&self, project_id: &str) -> bool {
        self.project_id.as_deref().is_none_or(|p| p == project_id)
    }

    /// What Neutron would show this caller: its own project's resources, or all for admins.
    pub fn sees_project(&self, project_id: &str) -> bool {
        self.is_admin() || self.in_project(project_id)
    }

    /// `project_reader_or_admin` / `project_member_or_admin`, target = the server's project.
    pub fn may(&self, operation: Operation, target_project: &str) -> bool {
        if self.is_admin() {
            return true;
        }
        let role = if operation.needs_member() {
            self.roles.member
        } else {
            self.roles.reader
        };
        role && self.in_project(target_project)
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
        Caller {
            user_id: "u".into(),
            project_id: project.map(Into::into),
            roles: Roles::from_names(roles.split(',')),
        }
    }

    #[test]
    fn role_implication() {
        assert_eq!(Roles::from_names(["admin"]), Roles::all());
        assert_eq!(
            Roles::from_names(["Member"]),
            Roles {
                admin: false,
                member: true,
                reader: true
            }
        );
        assert_eq!(Roles::from_names(["observer"]), Roles::default());
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
        let admin = caller("admin", Some("p1"));
        assert!(admin.may(Operation::AttachInterface, "p2"));
        let nobody = caller("observer", Some("p1"));
        assert!(!nobody.may(Operation::ListInterfaces, "p1"));
    }
}
