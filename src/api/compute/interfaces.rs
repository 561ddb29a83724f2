//! `/servers/{server_id}/os-interface`: list, attach, show, detach, and
//! their wire types.

use std::net::IpAddr;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::validation::attach_request;
use super::{check_query, PortPath, ServerPath};
use crate::api::extract::{parse_json_body, read_body, ApiContext, Ids};
use crate::api::fault::NovaFault;
use crate::api::response::{raw_json_response, write_json_ip, write_json_str};
use crate::app::AppState;
use crate::domain::ops::{self, OpContext};
use crate::domain::{model, ApiVersion, Operation, Port, ServerId};
use crate::error::Fault;

// --- wire types, spelled as Nova spells them

/// One fixed IP of the port, as Neutron reports it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FixedIp<'a> {
    /// An IPv4 or IPv6 address.
    #[schema(value_type = String, example = "192.168.1.3")]
    pub ip_address: IpAddr,
    #[schema(format = Uuid)]
    pub subnet_id: &'a str,
}

/// One interface object: `net_id`, `port_id`, `mac_addr`, `port_state`,
/// `fixed_ips`, and from 2.70 `tag`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct InterfaceAttachment<'a> {
    /// The port's network.
    #[schema(format = Uuid)]
    pub net_id: &'a str,
    #[schema(format = Uuid)]
    pub port_id: &'a str,
    #[schema(example = "fa:16:3e:4c:2c:30")]
    pub mac_addr: &'a str,
    /// The port's status: `ACTIVE`, `DOWN`, `BUILD`, `ERROR`, ...
    #[schema(example = "ACTIVE")]
    pub port_state: &'a str,
    pub fixed_ips: Vec<FixedIp<'a>>,
    /// Microversion 2.70 and later only, and then always present: the
    /// device tag given on attach (2.49+), or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub tag: Option<Option<&'a str>>,
}

impl<'a> InterfaceAttachment<'a> {
    pub fn new(port: &'a Port, version: ApiVersion) -> Self {
        InterfaceAttachment {
            net_id: port.network_id.as_str(),
            port_id: port.id.as_str(),
            mac_addr: &port.mac_address,
            port_state: port.status.as_str(),
            fixed_ips: port
                .fixed_ips
                .iter()
                .map(|ip| FixedIp {
                    ip_address: ip.ip_address,
                    subnet_id: ip.subnet_id.as_str(),
                })
                .collect(),
            tag: (version >= ApiVersion::TAG_IN_RESPONSE).then_some(port.tag.as_deref()),
        }
    }
}

impl InterfaceAttachment<'_> {
    /// The object as `to_json` lays it out, written directly (list and
    /// show are the busiest answers). `tests` below holds the two equal.
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"net_id\": ");
        write_json_str(out, self.net_id);
        out.extend_from_slice(b", \"port_id\": ");
        write_json_str(out, self.port_id);
        out.extend_from_slice(b", \"mac_addr\": ");
        write_json_str(out, self.mac_addr);
        out.extend_from_slice(b", \"port_state\": ");
        write_json_str(out, self.port_state);
        out.extend_from_slice(b", \"fixed_ips\": [");
        for (i, ip) in self.fixed_ips.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(b"{\"ip_address\": ");
            write_json_ip(out, &ip.ip_address);
            out.extend_from_slice(b", \"subnet_id\": ");
            write_json_str(out, ip.subnet_id);
            out.push(b'}');
        }
        out.push(b']');
        match self.tag {
            None => {}
            Some(None) => out.extend_from_slice(b", \"tag\": null"),
            Some(Some(tag)) => {
                out.extend_from_slice(b", \"tag\": ");
                write_json_str(out, tag);
            }
        }
        out.push(b'}');
    }
}

/// `{"interfaceAttachments": [...]}` of `ports`.
fn list_body<'p>(ports: impl Iterator<Item = &'p Port>, version: ApiVersion) -> Vec<u8> {
    // An entry with one address is about 300 bytes: room for them all, so
    // the body is not copied as it grows.
    let entries = ports.size_hint().1.unwrap_or(1).clamp(1, 64);
    let mut out = Vec::with_capacity(32 + 320 * entries);
    out.extend_from_slice(b"{\"interfaceAttachments\": [");
    for (i, port) in ports.enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        InterfaceAttachment::new(port, version).write_json(&mut out);
    }
    out.extend_from_slice(b"]}");
    out
}

/// `{"interfaceAttachment": {...}}` of `port`.
fn show_body(port: &Port, version: ApiVersion) -> Vec<u8> {
    let mut out = Vec::with_capacity(320);
    out.extend_from_slice(b"{\"interfaceAttachment\": ");
    InterfaceAttachment::new(port, version).write_json(&mut out);
    out.push(b'}');
    out
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceAttachments<'a> {
    pub interface_attachments: Vec<InterfaceAttachment<'a>>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OneInterfaceAttachment<'a> {
    pub interface_attachment: InterfaceAttachment<'a>,
}

/// The attach body. Everything is optional: `{}` attaches the project's
/// one network. No other key is allowed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachInterfaceRequest {
    #[serde(rename = "interfaceAttachment")]
    #[schema(nullable = false)]
    pub interface_attachment: Option<InterfaceAttachmentRequest>,
}

/// What to attach: `port_id`, or `net_id` (optionally with one fixed IP),
/// or neither. No other key is allowed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterfaceAttachmentRequest {
    /// A network to create the port on; not with `port_id`.
    #[schema(nullable = false, format = Uuid)]
    pub net_id: Option<String>,
    /// An existing port of the server's project with no device.
    #[schema(nullable = false, format = Uuid)]
    pub port_id: Option<String>,
    /// Exactly one IP to ask for; only with `net_id`.
    #[schema(nullable = false, min_items = 1, max_items = 1)]
    pub fixed_ips: Option<Vec<RequestedIp>>,
    /// Microversion 2.49 and later (before, an unknown property): the
    /// device role tag, shown from 2.70.
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 60,
        pattern = "^[^,/]*$"
    )]
    pub tag: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestedIp {
    /// An IPv4 or IPv6 address in the network's subnets.
    #[schema(example = "192.168.1.10")]
    pub ip_address: String,
}

// --- handlers

/// List a server's port interfaces.
///
/// Every port whose device is the server. From microversion 2.70 each
/// object has `tag`; from 2.102 any query parameter is a 400.
#[utoipa::path(
    get,
    path = "/v2.1/{project_id}/servers/{server_id}/os-interface",
    tag = "os-interface",
    params(ServerPath),
    responses(
        (status = 200, description = "The server's interfaces.", body = InterfaceAttachments),
        (status = 400, description = "URL project is not the token's; a query parameter at 2.102+.", body = NovaFault),
        (status = 403, description = "Policy `os_compute_api:os-attach-interfaces:list` denies.", body = NovaFault),
        (status = 404, description = "No such server (or another project's).", body = NovaFault),
    )
)]
pub async fn list_interfaces(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<ServerPath>,
    RawQuery(query): RawQuery,
) -> Result<Response, Fault> {
    ctx.check_url_project(path.project_id.as_deref())?;
    check_query(&ctx, query.as_deref())?;
    app.cloud
        .read(|world| {
            let ports = ops::list_interfaces(world, &ctx.caller, &path.server_id)?;
            Ok(raw_json_response(
                StatusCode::OK,
                list_body(ports, ctx.version),
            ))
        })
        .await?
}

/// Show one port interface of a server.
///
/// From microversion 2.70 the object has `tag`; from 2.102 any query
/// parameter is a 400.
#[utoipa::path(
    get,
    path = "/v2.1/{project_id}/servers/{server_id}/os-interface/{port_id}",
    tag = "os-interface",
    params(PortPath),
    responses(
        (status = 200, description = "The interface.", body = OneInterfaceAttachment),
        (status = 400, description = "URL project is not the token's; a query parameter at 2.102+.", body = NovaFault),
        (status = 403, description = "Policy `os_compute_api:os-attach-interfaces:show` denies.", body = NovaFault),
        (status = 404, description = "No such server, no such port, or the port is not the server's.", body = NovaFault),
    )
)]
pub async fn show_interface(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<PortPath>,
    RawQuery(query): RawQuery,
) -> Result<Response, Fault> {
    ctx.check_url_project(path.project_id.as_deref())?;
    check_query(&ctx, query.as_deref())?;
    app.cloud
        .read(|world| {
            let port = ops::show_interface(world, &ctx.caller, &path.server_id, &path.port_id)?;
            Ok(raw_json_response(
                StatusCode::OK,
                show_body(port, ctx.version),
            ))
        })
        .await?
}

/// Attach a port interface to a server.
///
/// By `port_id` (an existing free port), by `net_id` (a new port, optionally
/// with one fixed IP), or with neither (the project's one network). `tag`
/// is accepted from microversion 2.49 (before, it is an unknown property:
/// 400) and shown in the response from 2.70. Answers 200 with Nova's show
/// of the new attachment; the instance action `attach_interface` records it.
#[utoipa::path(
    post,
    path = "/v2.1/{project_id}/servers/{server_id}/os-interface",
    tag = "os-interface",
    params(ServerPath),
    request_body(content = AttachInterfaceRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Attached: the new interface.", body = OneInterfaceAttachment),
        (status = 400, description = "Malformed body; schema violation; both `net_id` and `port_id`; an IP without `net_id`; port not usable; no or ambiguous network; no free IP; URL project is not the token's.", body = NovaFault),
        (status = 403, description = "Policy `os_compute_api:os-attach-interfaces:create` denies; an external network.", body = NovaFault),
        (status = 404, description = "No such server, port or network.", body = NovaFault),
        (status = 409, description = "Server locked or in a state that forbids it; port in use; fixed IP in use.", body = NovaFault),
        (status = 413, description = "Body larger than 114688 bytes (a WebOb error page, not a fault)."),
        (status = 503, description = "The store cannot take the change now.", body = NovaFault),
    )
)]
pub async fn attach_interface(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<ServerPath>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Fault> {
    let bytes = match read_body(&Method::POST, &headers, body).await {
        Ok(bytes) => bytes,
        Err(too_large) => return Ok(too_large),
    };
    let body = parse_json_body(&bytes)?;
    ctx.check_url_project(path.project_id.as_deref())?;
    let request = attach_request(&body, ctx.version)?;
    let op = OpContext {
        caller: &ctx.caller,
        request_id: ctx.request_id.as_str(),
        now: model::now(),
        host: &app.host,
        attached_status: app.options.attached_status(),
    };
    let delayed = !app.options.port_activation_delay.is_zero();
    let (attached, ticket) = app
        .cloud
        .write(|txn| {
            // The ticket is taken under the world's lock, with the attach, so
            // an earlier attachment's timer cannot act on this one.
            ops::attach_interface(txn, &op, &path.server_id, &request).map(|attached| {
                let ticket = delayed.then(|| app.activations.schedule(&attached.port.id));
                (attached, ticket)
            })
        })
        .await??;
    if let Some(ticket) = ticket {
        schedule_activation(&app, &attached.port, ticket);
    }
    // Nova answers with its own show of the new attachment, checks included.
    check_query(&ctx, query.as_deref())?;
    if !ctx
        .caller
        .may(Operation::ShowInterface, &attached.server_project)
    {
        return Err(Fault::PolicyNotAuthorized(Operation::ShowInterface.rule()));
    }
    // The show's body, written by hand (the same bytes as serde's: see the
    // tests), without a serialiser on the write path either.
    Ok(raw_json_response(
        StatusCode::OK,
        show_body(&attached.port, ctx.version),
    ))
}

/// Turn a newly attached port `ACTIVE` after the configured delay, as
/// Neutron does once the port is wired (unless it was detached meanwhile).
fn schedule_activation(app: &AppState, port: &model::Port, ticket: u64) {
    let app = app.clone();
    let (server_id, port_id, from) = (
        ServerId::from(port.device_id.clone()),
        port.id.clone(),
        port.status,
    );
    // In the attaching request's span: its log lines carry that request id.
    let span = tracing::Span::current();
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            tokio::time::sleep(app.options.port_activation_delay).await;
            let activated = app
                .cloud
                .write(|txn| {
                    app.activations.take(&port_id, ticket)
                        && ops::activate_port(txn, &server_id, &port_id, from)
                })
                .await;
            if let Err(error) = activated {
                tracing::error!(%error, %port_id, "could not activate a port");
            }
        },
        span,
    ));
}

/// Detach a port interface from a server.
///
/// Answers 202 with an empty body; the instance action `detach_interface`
/// records the outcome.
#[utoipa::path(
    delete,
    path = "/v2.1/{project_id}/servers/{server_id}/os-interface/{port_id}",
    tag = "os-interface",
    params(PortPath),
    responses(
        (status = 202, description = "Accepted, empty body; a port not attached to the server still answers 202 and fails the action's event."),
        (status = 400, description = "URL project is not the token's.", body = NovaFault),
        (status = 403, description = "Policy `os_compute_api:os-attach-interfaces:delete` denies.", body = NovaFault),
        (status = 404, description = "No such server (or another project's).", body = NovaFault),
        (status = 409, description = "Server locked or in a state that forbids it.", body = NovaFault),
        (status = 503, description = "The store cannot take the change now.", body = NovaFault),
    )
)]
pub async fn detach_interface(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<PortPath>,
) -> Result<Response, Fault> {
    ctx.check_url_project(path.project_id.as_deref())?;
    let op = OpContext {
        caller: &ctx.caller,
        request_id: ctx.request_id.as_str(),
        now: model::now(),
        host: &app.host,
        attached_status: app.options.attached_status(),
    };
    app.cloud
        .write(|txn| ops::detach_interface(txn, &op, &path.server_id, &path.port_id))
        .await??;
    Ok(raw_json_response(StatusCode::ACCEPTED, Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::response::to_json;
    use crate::domain::PortStatus;

    fn port(tag: Option<&str>, ips: &[&str], mac: &str) -> Port {
        Port {
            id: "ce531f90-199f-48c0-816c-13e38010b442".into(),
            network_id: "3cb9bc59-5699-4588-a4b1-b87f96708bc6".into(),
            project_id: "p".into(),
            mac_address: mac.into(),
            fixed_ips: ips
                .iter()
                .enumerate()
                .map(|(i, ip)| model::FixedIp {
                    subnet_id: format!("subnet-{i}").into(),
                    ip_address: ip.parse().unwrap(),
                })
                .collect(),
            device_id: "s".into(),
            device_owner: "compute:nova".into(),
            status: PortStatus::Active,
            preserve_on_delete: true,
            tag: tag.map(str::to_owned),
            seq: 0,
            neutron: Default::default(),
        }
    }

    /// The hand-written bodies are serde's, byte for byte.
    #[test]
    fn written_bodies_are_the_serialised_ones() {
        let ports = [
            port(None, &["192.168.1.3"], "fa:16:3e:4c:2c:30"),
            port(Some("eth1"), &[], "fa:16:3e:4c:2c:31"),
            port(
                Some("t\"a\\g\u{1}é"),
                &["0.0.0.0", "255.10.100.9", "2001:db8::1", "::ffff:1.2.3.4"],
                "m\"ac\n",
            ),
        ];
        for minor in [1, 49, 69, 70, 102] {
            let version = ApiVersion::new(2, minor);
            for n in 0..=ports.len() {
                let expected = to_json(&InterfaceAttachments {
                    interface_attachments: ports[..n]
                        .iter()
                        .map(|p| InterfaceAttachment::new(p, version))
                        .collect(),
                });
                let written = list_body(ports[..n].iter(), version);
                assert_eq!(
                    String::from_utf8(written).unwrap(),
                    String::from_utf8(expected).unwrap()
                );
            }
            for p in &ports {
                let expected = to_json(&OneInterfaceAttachment {
                    interface_attachment: InterfaceAttachment::new(p, version),
                });
                assert_eq!(
                    String::from_utf8(show_body(p, version)).unwrap(),
                    String::from_utf8(expected).unwrap()
                );
            }
        }
    }
}
