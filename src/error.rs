//! The one error enum. Each variant is one of Nova's exceptions as the
//! os-interface API reports it; [`Fault::status`] and [`fault_name`] are the
//! one table that maps them to the wire.

use crate::domain::ApiVersion;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    // --- request layer
    #[error("API Version String {0} is of invalid format. Must be of format MajorNum.MinorNum.")]
    InvalidVersionFormat(String),
    #[error("Version {0} is not supported by the API. Minimum is {min} and maximum is {max}.", min = ApiVersion::MIN, max = ApiVersion::MAX)]
    VersionNotSupported(String),
    #[error("Unsupported Content-Type")]
    UnsupportedMediaType,
    #[error("Malformed request body")]
    MalformedBody,
    #[error("Query string is not UTF-8 encoded")]
    QueryNotUtf8,
    #[error("Malformed request URL: URL's project_id '{url}' doesn't match Context's project_id '{context}'")]
    ProjectMismatch { url: String, context: String },
    /// A JSON-schema message, already formatted as Nova formats it.
    #[error("{0}")]
    Validation(String),
    #[error("Policy doesn't allow {0} to be performed.")]
    PolicyNotAuthorized(&'static str),

    // --- compute API
    #[error("Instance {0} could not be found.")]
    InstanceNotFound(String),
    #[error("Must not input both network_id and port_id")]
    NetworkAndPortGiven,
    #[error("Must input network_id when request IP address")]
    IpWithoutNetwork,
    #[error("Instance {0} is locked")]
    InstanceLocked(String),
    #[error("Cannot '{action}' instance {server_id} while it is in {attr} {state}")]
    InstanceInvalidState {
        action: &'static str,
        server_id: String,
        attr: &'static str,
        state: String,
    },
    #[error("Instance {server_id} does not have a port with id {port_id}")]
    InterfaceNotAttached { server_id: String, port_id: String },
    #[error("The resource could not be found.")]
    ResourceNotFound,
    #[error("Action {request_id} not found")]
    InstanceActionNotFound { request_id: String },
    #[error("marker [{0}] not found")]
    MarkerNotFound(String),
    #[error("Flavor {0} could not be found.")]
    FlavorNotFound(String),
    /// A server action on an unknown server: Nova looks the cell up first.
    #[error("Instance {0} has no mapping to a cell.")]
    InstanceNoCellMapping(String),
    /// Nova's `HTTPBadRequest(explanation=...)` in a controller.
    #[error("{0}")]
    BadRequest(String),
    /// Nova's `HTTPConflict(explanation=...)` in a controller.
    #[error("{0}")]
    Conflict(String),

    // --- network
    #[error("Port id {0} could not be found.")]
    PortNotFound(String),
    #[error("Port {port_id} not usable for instance {server_id}.")]
    PortNotUsable { port_id: String, server_id: String },
    #[error("Port {0} is still in use.")]
    PortInUse(String),
    #[error("Network {0} could not be found.")]
    NetworkNotFound(String),
    #[error("No specific network was requested and none are available for project '{0}'.")]
    NoNetworkAvailable(String),
    #[error("Multiple possible networks found, use a Network ID to be more specific.")]
    NetworkAmbiguous,
    #[error("It is not allowed to create an interface on external network {0}")]
    ExternalNetworkAttachForbidden(String),
    #[error("Network requires port_security_enabled and subnet associated in order to apply security groups.")]
    SecurityGroupCannotBeApplied,
    #[error("Fixed IP {0} is already in use.")]
    FixedIpInUse(String),
    #[error("No fixed IP addresses available for network: {0}")]
    NoMoreFixedIps(String),
    #[error(
        "Invalid input received: Fixed IP {ip} is not a valid ip address for network {network_id}."
    )]
    InvalidFixedIp { ip: String, network_id: String },

    // --- the control plane (`/_porthole/*`)
    #[error("{0}")]
    ControlBadRequest(String),
    #[error("{0}")]
    ControlNotFound(String),
    #[error("{0}")]
    ControlConflict(String),
    #[error("{0}")]
    ControlTooLarge(String),

    // --- anything else
    /// The store is down or refuses writes: the client may retry.
    #[error("The server is currently unavailable. Please try again at a later time.")]
    ServiceUnavailable,
    /// A bug. The detail is for the log (under the request id), never
    /// for the client, who gets Nova's generic message.
    #[error("Unexpected API Error. Please contact the administrator\n<class 'nova.exception.NovaException'>")]
    Internal(String),
}

/// The one mapping of store failures: every one means the store cannot
/// take or serve the change now (down, closed, or refusing after an
/// earlier failure), never that the request was wrong.
impl From<crate::store::StoreError> for Fault {
    fn from(error: crate::store::StoreError) -> Self {
        tracing::error!(%error, "store failure");
        Fault::ServiceUnavailable
    }
}

impl Fault {
    /// The HTTP status Nova answers with.
    pub fn status(&self) -> u16 {
        use Fault::*;
        match self {
            InvalidVersionFormat(_)
            | MalformedBody
            | QueryNotUtf8
            | ProjectMismatch { .. }
            | Validation(_)
            | MarkerNotFound(_)
            | BadRequest(_) => 400,
            NetworkAndPortGiven
            | IpWithoutNetwork
            | PortNotUsable { .. }
            | NoNetworkAvailable(_) => 400,
            NetworkAmbiguous
            | SecurityGroupCannotBeApplied
            | NoMoreFixedIps(_)
            | InvalidFixedIp { .. } => 400,
            PolicyNotAuthorized(_) | ExternalNetworkAttachForbidden(_) => 403,
            InstanceNotFound(_)
            | InterfaceNotAttached { .. }
            | InstanceActionNotFound { .. }
            | ResourceNotFound
            | FlavorNotFound(_)
            | InstanceNoCellMapping(_) => 404,
            PortNotFound(_) | NetworkNotFound(_) => 404,
            VersionNotSupported(_) => 406,
            InstanceLocked(_)
            | InstanceInvalidState { .. }
            | PortInUse(_)
            | FixedIpInUse(_)
            | Conflict(_) => 409,
            UnsupportedMediaType => 415,
            ControlBadRequest(_) => 400,
            ControlNotFound(_) => 404,
            ControlConflict(_) => 409,
            ControlTooLarge(_) => 413,
            ServiceUnavailable => 503,
            Internal(_) => 500,
        }
    }

    /// The class name Nova's traceback would show for this failure.
    pub fn exception_class(&self) -> &'static str {
        use Fault::*;
        match self {
            PortNotFound(_) => "nova.exception.PortNotFound",
            PortNotUsable { .. } => "nova.exception.PortNotUsable",
            PortInUse(_) => "nova.exception.PortInUse",
            NetworkNotFound(_) => "nova.exception.NetworkNotFound",
            NoNetworkAvailable(_) => "nova.exception.InterfaceAttachFailedNoNetwork",
            NetworkAmbiguous => "nova.exception.NetworkAmbiguous",
            ExternalNetworkAttachForbidden(_) => "nova.exception.ExternalNetworkAttachForbidden",
            SecurityGroupCannotBeApplied => "nova.exception.SecurityGroupCannotBeApplied",
            FixedIpInUse(_) => "nova.exception.FixedIpAlreadyInUse",
            NoMoreFixedIps(_) => "nova.exception.NoMoreFixedIps",
            InvalidFixedIp { .. } => "nova.exception.InvalidInput",
            _ => "nova.exception.NovaException",
        }
    }
}

/// Nova's fault names by status (`nova/api/openstack/wsgi.py`).
pub fn fault_name(status: u16) -> &'static str {
    match status {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 | 429 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(
            Fault::VersionNotSupported("2.105".into()).to_string(),
            "Version 2.105 is not supported by the API. Minimum is 2.1 and maximum is 2.104."
        );
        assert_eq!(
            Fault::InstanceInvalidState {
                action: "attach_interface",
                server_id: "s".into(),
                attr: "launched_at",
                state: "None".into()
            }
            .to_string(),
            "Cannot 'attach_interface' instance s while it is in launched_at None"
        );
    }

    #[test]
    fn names() {
        assert_eq!(fault_name(404), "itemNotFound");
        assert_eq!(fault_name(406), "computeFault");
        assert_eq!(fault_name(500), "computeFault");
    }
}
