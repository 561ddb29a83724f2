//! `POST /servers/{server_id}/action`: lock/unlock, os-stop/os-start,
//! pause/unpause, suspend/resume.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::ServerPath;
use crate::api::extract::{parse_json_body, read_body, ApiContext, Ids};
use crate::api::fault::NovaFault;
use crate::api::response::raw_json_response;
use crate::app::AppState;
use crate::domain::ops::OpContext;
use crate::domain::servers::{self, ServerAction};
use crate::domain::{model, ApiVersion};
use crate::error::Fault;

/// The action a body names (its first key), as Nova's dispatcher reads it.
fn parse_action(body: &Value, version: ApiVersion) -> Result<ServerAction, Fault> {
    let Value::Object(map) = body else {
        return Err(Fault::MalformedBody);
    };
    let Some((name, value)) = map.iter().next() else {
        return Err(Fault::MalformedBody);
    };
    Ok(match name.as_str() {
        "lock" => {
            let reason = if version >= ApiVersion::new(2, 73) {
                match value {
                    Value::Null => None,
                    Value::Object(lock) => match lock.get("locked_reason") {
                        None => None,
                        Some(Value::String(s)) if s.chars().count() <= 255 => Some(s.clone()),
                        Some(other) => {
                            return Err(Fault::Validation(format!(
                                "Invalid input for field/attribute locked_reason. Value: {}. {} is not of type 'string'",
                                crate::api::python::py_str(other),
                                crate::api::python::py_repr(other)
                            )))
                        }
                    },
                    other => {
                        return Err(Fault::Validation(format!(
                            "Invalid input for field/attribute lock. Value: {}. {} is not of type 'object', 'null'",
                            crate::api::python::py_str(other),
                            crate::api::python::py_repr(other)
                        )))
                    }
                }
            } else {
                None
            };
            ServerAction::Lock(reason)
        }
        "unlock" => ServerAction::Unlock,
        "os-stop" => ServerAction::Stop,
        "os-start" => ServerAction::Start,
        "pause" => ServerAction::Pause,
        "unpause" => ServerAction::Unpause,
        "suspend" => ServerAction::Suspend,
        "resume" => ServerAction::Resume,
        other => {
            return Err(Fault::BadRequest(format!(
                "There is no such action: {other}"
            )))
        }
    })
}

/// Run a server action: `{"lock": null}` (2.73: `{"lock": {"locked_reason":
/// "…"}}`), `{"unlock": null}`, `{"os-stop": null}`, `{"os-start": null}`,
/// `{"pause": null}`, `{"unpause": null}`, `{"suspend": null}`,
/// `{"resume": null}`. 202 with an empty body; recorded as an instance action.
#[utoipa::path(
    post,
    path = "/v2.1/{project_id}/servers/{server_id}/action",
    tag = "servers",
    params(ServerPath),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 202, description = "Done, empty body."),
        (status = 400, description = "`There is no such action: <name>`; a schema violation.", body = NovaFault),
        (status = 403, description = "The action's policy denies.", body = NovaFault),
        (status = 404, description = "`Instance <id> could not be found.`", body = NovaFault),
        (status = 409, description = "`Instance <id> is locked`; `Cannot '<action>' instance <id> while it is in vm_state <state>`.", body = NovaFault),
    )
)]
pub async fn server_action(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<ServerPath>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Fault> {
    let bytes = match read_body(&Method::POST, &headers, body).await {
        Ok(bytes) => bytes,
        Err(too_large) => return Ok(too_large),
    };
    let body = parse_json_body(&bytes)?;
    ctx.check_url_project(path.project_id.as_deref())?;
    let action = parse_action(&body, ctx.version)?;
    let op = OpContext {
        caller: &ctx.caller,
        request_id: ctx.request_id.as_str(),
        now: model::now(),
        host: &app.host,
        attached_status: app.options.attached_status(),
    };
    app.cloud
        .write(|txn| servers::server_action(txn, &op, &path.server_id, &action))
        .await??;
    Ok(raw_json_response(StatusCode::ACCEPTED, Vec::new()))
}
