//! `/servers/{server_id}/os-interface`: list, attach, show, detach.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::context::ApiContext;
use super::fault::{not_found_page, webob_error_page, JSON_CONTENT_TYPE};
use super::json::to_json;
use super::middleware::MAX_REQUEST_BODY;
use super::openapi::{AttachInterfaceRequest, NovaFault};
use super::validation::{attach_request, check_no_query_parameters};
use super::wire::{InterfaceAttachment, InterfaceAttachments, OneInterfaceAttachment};
use crate::app::AppState;
use crate::domain::ops::{self, OpContext};
use crate::domain::{model, ApiVersion, Operation};
use crate::error::Fault;

/// Path parameters; a path that cannot be decoded is a router 404.
pub struct Ids<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Ids<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Ids(value)),
            Err(_) => Err(not_found_page(&parts.method, &parts.headers)),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ServerPath {
    /// The project (second URL form): lower-case hex digits and dashes,
    /// and the token's project (else 400).
    pub project_id: Option<String>,
    /// The server's UUID.
    pub server_id: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PortPath {
    /// The project (second URL form): lower-case hex digits and dashes,
    /// and the token's project (else 400).
    pub project_id: Option<String>,
    /// The server's UUID.
    pub server_id: String,
    /// The port's UUID.
    pub port_id: String,
}

/// A 200 (or other) JSON success, `Content-Type: application/json` exactly.
pub fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

/// The query-string rules of list and show: UTF-8, and none at all from 2.102.
pub fn check_query(ctx: &ApiContext, query: Option<&str>) -> Result<(), Fault> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(());
    };
    let plus_as_space = query.replace('+', " ");
    if percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .is_err()
    {
        return Err(Fault::QueryNotUtf8);
    }
    if ctx.version < ApiVersion::STRICT_QUERY {
        return Ok(());
    }
    let mut names: Vec<String> = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if (name.is_empty() && value.is_empty()) || names.iter().any(|n| *n == name) {
            continue;
        }
        names.push(name.into_owned());
    }
    check_no_query_parameters(&names)
}

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
            let body = InterfaceAttachments {
                interface_attachments: ports
                    .map(|p| InterfaceAttachment::new(p, ctx.version))
                    .collect(),
            };
            Ok(json_response(StatusCode::OK, to_json(&body)))
        })
        .await
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
            let body = OneInterfaceAttachment {
                interface_attachment: InterfaceAttachment::new(port, ctx.version),
            };
            Ok(json_response(StatusCode::OK, to_json(&body)))
        })
        .await
}

/// Read the body as Nova does: empty is JSON `null`; anything unparsable is
/// `Malformed request body`.
fn parse_body(bytes: &[u8]) -> Result<serde_json::Value, Fault> {
    if bytes.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|_| Fault::MalformedBody)
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
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_REQUEST_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return Ok(webob_error_page(
                &Method::POST,
                &headers,
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request is too large. Larger than max_request_body_size (%s).",
            ))
        }
    };
    let body = parse_body(&bytes)?;
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
        .await
        .map_err(|e| Fault::Internal(format!("porthole.StoreError: {e}")))??;
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
    let body = OneInterfaceAttachment {
        interface_attachment: InterfaceAttachment::new(&attached.port, ctx.version),
    };
    Ok(json_response(StatusCode::OK, to_json(&body)))
}

/// Turn a newly attached port `ACTIVE` after the configured delay, as
/// Neutron does once the port is wired (unless it was detached meanwhile).
fn schedule_activation(app: &AppState, port: &model::Port, ticket: u64) {
    let app = app.clone();
    let (server_id, port_id, from) = (port.device_id.clone(), port.id.clone(), port.status.clone());
    // In the attaching request's span: its log lines carry that request id.
    let span = tracing::Span::current();
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            tokio::time::sleep(app.options.port_activation_delay).await;
            let activated = app
                .cloud
                .write(|txn| {
                    app.activations.take(&port_id, ticket)
                        && ops::activate_port(txn, &server_id, &port_id, &from)
                })
                .await;
            if let Err(error) = activated {
                tracing::error!(%error, port_id, "could not activate a port");
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
        .await
        .map_err(|e| Fault::Internal(format!("porthole.StoreError: {e}")))??;
    Ok(json_response(StatusCode::ACCEPTED, Vec::new()))
}
