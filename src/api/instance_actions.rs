//! `/servers/{server_id}/os-instance-actions`: how Nova reports the result of
//! the asynchronous parts of attach and detach.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha224};

use super::context::ApiContext;
use super::interfaces::{json_response, Ids, ServerPath};
use super::json::to_json;
use crate::app::AppState;
use crate::domain::ops;
use crate::domain::{ApiVersion, InstanceAction, Timestamp};
use crate::error::Fault;

#[derive(Deserialize)]
pub struct ActionPath {
    pub project_id: Option<String>,
    pub server_id: String,
    pub request_id: String,
}

/// Nova's datetime rendering: `2026-11-28T04:10:00.123456`.
pub fn format_time(micros: Timestamp) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Nova's `generate_hostid`: sha224 of project id and host.
fn host_id(project_id: &str, host: &str) -> String {
    let digest = Sha224::digest(format!("{project_id}{host}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn action_summary(action: &InstanceAction, version: ApiVersion) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("action".into(), action.action.clone().into());
    out.insert("instance_uuid".into(), action.server_id.clone().into());
    out.insert("request_id".into(), action.request_id.clone().into());
    out.insert("user_id".into(), action.user_id.clone().into());
    out.insert("project_id".into(), action.project_id.clone().into());
    out.insert("start_time".into(), format_time(action.start_time).into());
    out.insert("message".into(), action.message.clone().into());
    if version >= ApiVersion::ACTION_UPDATED_AT {
        out.insert("updated_at".into(), format_time(action.updated_at).into());
    }
    out
}

pub async fn list_instance_actions(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<ServerPath>,
    RawQuery(_query): RawQuery,
) -> Result<Response, Fault> {
    ctx.check_url_project(path.project_id.as_deref())?;
    app.cloud
        .read(|world| {
            let actions = ops::list_instance_actions(world, &ctx.caller, &path.server_id)?;
            let list: Vec<Value> = actions
                .into_iter()
                .map(|a| Value::Object(action_summary(a, ctx.version)))
                .collect();
            let body = serde_json::json!({ "instanceActions": list });
            Ok(json_response(StatusCode::OK, to_json(&body)))
        })
        .await
}

pub async fn show_instance_action(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<ActionPath>,
) -> Result<Response, Fault> {
    ctx.check_url_project(path.project_id.as_deref())?;
    let admin = ctx.caller.is_admin();
    let version = ctx.version;
    app.cloud
        .read(|world| {
            let action =
                ops::show_instance_action(world, &ctx.caller, &path.server_id, &path.request_id)?;
            let server_project = world
                .server(&path.server_id)
                .map(|s| s.project_id.as_str())
                .unwrap_or_default();
            let mut out = action_summary(action, version);
            if admin || version >= ApiVersion::EVENTS_FOR_ALL {
                let events: Vec<Value> = action
                    .events
                    .iter()
                    .map(|e| {
                        let mut event = Map::new();
                        event.insert("event".into(), e.event.clone().into());
                        event.insert("start_time".into(), format_time(e.start_time).into());
                        event.insert("finish_time".into(), e.finish_time.map(format_time).into());
                        event.insert("result".into(), e.result.clone().into());
                        if admin {
                            event.insert("traceback".into(), e.traceback.clone().into());
                        }
                        if version >= ApiVersion::EVENT_HOST {
                            if admin {
                                event.insert("host".into(), e.host.clone().into());
                            }
                            event.insert("hostId".into(), host_id(server_project, &e.host).into());
                        }
                        if version >= ApiVersion::EVENT_DETAILS && admin {
                            event.insert("details".into(), e.details.clone().into());
                        }
                        Value::Object(event)
                    })
                    .collect();
                out.insert("events".into(), events.into());
            }
            let body = serde_json::json!({ "instanceAction": out });
            Ok(json_response(StatusCode::OK, to_json(&body)))
        })
        .await
}
