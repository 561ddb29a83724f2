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
use super::openapi::{ActionListQuery, InstanceActions, NovaFault, OneInstanceAction};
use crate::app::AppState;
use crate::domain::ops;
use crate::domain::{ApiVersion, InstanceAction, Operation, Timestamp};
use crate::error::Fault;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ActionPath {
    /// The project (second URL form): lower-case hex digits and dashes,
    /// and the token's project (else 400).
    pub project_id: Option<String>,
    /// The server's UUID.
    pub server_id: String,
    /// The action's request id (`req-<uuid>`).
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

/// List a server's instance actions, newest first.
///
/// Paging and filtering (`limit`, `marker`, `changes-since`) from
/// microversion 2.58, `changes-before` from 2.66; before 2.58 the query is
/// ignored. `updated_at` from 2.58.
#[utoipa::path(
    get,
    path = "/v2.1/{project_id}/servers/{server_id}/os-instance-actions",
    tag = "os-instance-actions",
    params(ServerPath, ActionListQuery),
    responses(
        (status = 200, description = "The server's actions; `links` holds the next page when `limit` filled this one.", body = InstanceActions),
        (status = 400, description = "Invalid query (2.58+); unknown marker; URL project is not the token's.", body = NovaFault),
        (status = 403, description = "Policy `os_compute_api:os-instance-actions:list` denies.", body = NovaFault),
        (status = 404, description = "No such server (or another project's).", body = NovaFault),
    )
)]
pub async fn list_instance_actions(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<ServerPath>,
    RawQuery(query): RawQuery,
    headers: axum::http::HeaderMap,
) -> Result<Response, Fault> {
    ctx.check_url_project(path.project_id.as_deref())?;
    let query = list_query(query.as_deref(), ctx.version)?;
    app.cloud
        .read(|world| {
            let actions = ops::list_instance_actions(world, &ctx.caller, &path.server_id)?;
            // Nova's `actions_get`: a zero limit answers before the marker is
            // looked up; the marker is found among all the server's actions,
            // and the page holds the filtered actions older than it.
            let marker_seq = match &query.marker {
                Some(_) if query.limit == Some(0) => None,
                Some(marker) => Some(
                    world
                        .action(&path.server_id, marker)
                        .map(|a| a.seq)
                        // Nova's message names no marker: its format string is given `None`.
                        .ok_or_else(|| {
                            Fault::Validation("Marker None could not be found.".to_owned())
                        })?,
                ),
                None => None,
            };
            let mut actions: Vec<&InstanceAction> = actions
                .into_iter()
                .filter(|a| marker_seq.is_none_or(|seq| a.seq < seq))
                .filter(|a| query.changes_since.is_none_or(|t| a.updated_at >= t))
                .filter(|a| query.changes_before.is_none_or(|t| a.updated_at <= t))
                .collect();
            if let Some(limit) = query.limit {
                actions.truncate(limit);
            }
            let list: Vec<Value> = actions
                .iter()
                .map(|a| Value::Object(action_summary(a, ctx.version)))
                .collect();
            let mut body = Map::new();
            body.insert("instanceActions".into(), list.into());
            if let (Some(limit), Some(last)) = (query.limit, actions.last()) {
                if actions.len() == limit {
                    body.insert(
                        "links".into(),
                        next_link(&headers, &path, &query, &last.request_id),
                    );
                }
            }
            Ok(json_response(StatusCode::OK, to_json(&body)))
        })
        .await
}

/// `[{"rel": "next", "href": ...}]`: the same query, sorted, with the new marker.
fn next_link(
    headers: &axum::http::HeaderMap,
    path: &ServerPath,
    query: &ListQuery,
    marker: &str,
) -> Value {
    let mut params: Vec<(String, String)> = query
        .params
        .iter()
        .filter(|(n, _)| n != "marker")
        .cloned()
        .collect();
    params.push(("marker".to_owned(), marker.to_owned()));
    params.sort();
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let project = path
        .project_id
        .as_deref()
        .map(|p| format!("/{p}"))
        .unwrap_or_default();
    let href = format!(
        "{}/v2.1{project}/servers/{}/os-instance-actions?{encoded}",
        super::versions::base_url(headers),
        path.server_id
    );
    serde_json::json!([{"rel": "next", "href": href}])
}

/// Show one instance action with its events.
///
/// `events` for admins, and for everyone from microversion 2.51 (without
/// `traceback`); `hostId` (and `host` for admins) from 2.62; `details`
/// for admins from 2.84. From 2.102 any query parameter is a 400.
#[utoipa::path(
    get,
    path = "/v2.1/{project_id}/servers/{server_id}/os-instance-actions/{request_id}",
    tag = "os-instance-actions",
    params(ActionPath),
    responses(
        (status = 200, description = "The action.", body = OneInstanceAction),
        (status = 400, description = "URL project is not the token's; a query parameter at 2.102+.", body = NovaFault),
        (status = 403, description = "Policy `os_compute_api:os-instance-actions:show` denies.", body = NovaFault),
        (status = 404, description = "No such server, or no such action on it.", body = NovaFault),
    )
)]
pub async fn show_instance_action(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<ActionPath>,
    RawQuery(query): RawQuery,
) -> Result<Response, Fault> {
    ctx.check_url_project(path.project_id.as_deref())?;
    super::interfaces::check_query(&ctx, query.as_deref())?;
    let version = ctx.version;
    app.cloud
        .read(|world| {
            let action =
                ops::show_instance_action(world, &ctx.caller, &path.server_id, &path.request_id)?;
            let server_project = world
                .server(&path.server_id)
                .map(|s| s.project_id.as_str())
                .unwrap_or_default();
            // Nova's `os-instance-actions:events` (admin by default) decides
            // what an event shows beyond its name, times and result.
            let admin = ctx
                .caller
                .may(Operation::ShowInstanceActionEvents, server_project);
            // From 2.84, with the events rule, as `events:details` allows.
            let details = admin
                && version >= ApiVersion::EVENT_DETAILS
                && ctx
                    .caller
                    .may(Operation::ShowInstanceActionEventDetails, server_project);
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
                        if details {
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

/// The paging and filtering query of the list (2.58+), validated as Nova's
/// query schema does.
#[derive(Debug, Default, PartialEq)]
pub struct ListQuery {
    pub limit: Option<usize>,
    pub marker: Option<String>,
    pub changes_since: Option<Timestamp>,
    pub changes_before: Option<Timestamp>,
    /// The parameters as given, for the `next` link.
    pub params: Vec<(String, String)>,
}

/// Nova's `max_limit`.
const MAX_LIMIT: usize = 1000;

fn query_error(name: &str, value: &str, message: String) -> Fault {
    Fault::Validation(format!(
        "Invalid input for query parameters {name}. Value: {value}. {message}"
    ))
}

/// oslo's `parse_isotime` (the `iso8601` package): a date, optionally a time
/// (`T` or space), optionally fractions and a zone.
pub fn parse_iso_time(value: &str) -> Option<Timestamp> {
    static PATTERN: std::sync::LazyLock<regex_lite::Regex> = std::sync::LazyLock::new(|| {
        regex_lite::Regex::new(
            r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$",
        )
        .expect("valid pattern")
    });
    let c = PATTERN.captures(value)?;
    let num = |i: usize| {
        c.get(i)
            .map(|m| m.as_str().parse::<u32>())
            .transpose()
            .ok()
            .flatten()
    };
    let month = time::Month::try_from(num(2)? as u8).ok()?;
    let date = time::Date::from_calendar_date(num(1)? as i32, month, num(3)? as u8).ok()?;
    let clock = time::Time::from_hms(
        num(4).unwrap_or(0) as u8,
        num(5).unwrap_or(0) as u8,
        num(6).unwrap_or(0) as u8,
    )
    .ok()?;
    let micros = c
        .get(7)
        .map(|f| {
            let digits: String = f
                .as_str()
                .chars()
                .chain(std::iter::repeat('0'))
                .take(6)
                .collect();
            digits.parse::<i64>().unwrap_or(0)
        })
        .unwrap_or(0);
    let offset_seconds = match c.get(8).map(|m| m.as_str()) {
        None | Some("Z") => 0,
        Some(zone) => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let digits: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
            let hours: i64 = digits.get(..2)?.parse().ok()?;
            let minutes: i64 = digits
                .get(2..)
                .filter(|m| !m.is_empty())
                .map(str::parse)
                .transpose()
                .ok()?
                .unwrap_or(0);
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let utc = time::PrimitiveDateTime::new(date, clock).assume_utc();
    Some((utc.unix_timestamp() - offset_seconds) * 1_000_000 + micros)
}

/// Validate the list query for `version` (ignored before 2.58).
pub fn list_query(query: Option<&str>, version: ApiVersion) -> Result<ListQuery, Fault> {
    let mut out = ListQuery::default();
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(out);
    };
    if version < ApiVersion::ACTION_UPDATED_AT {
        return Ok(out);
    }
    let mut allowed = vec!["limit", "marker", "changes-since"];
    if version >= ApiVersion::CHANGES_BEFORE {
        allowed.push("changes-before");
    }
    // dict_of_lists, in first-seen order.
    let mut params: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        out.params.push((name.to_string(), value.to_string()));
        match params.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value.into_owned()),
            None => params.push((name.into_owned(), vec![value.into_owned()])),
        }
    }
    let single = |name: &str| -> Result<Option<String>, Fault> {
        match params.iter().find(|(n, _)| n == name) {
            None => Ok(None),
            Some((_, values)) if values.len() > 1 => {
                let repr = super::validation::py_repr(&serde_json::json!(values));
                Err(query_error(name, &repr, format!("{repr} is too long")))
            }
            Some((_, values)) => Ok(Some(values[0].clone())),
        }
    };
    if let Some(limit) = single("limit")? {
        if !limit.bytes().all(|b| b.is_ascii_digit()) {
            let repr = super::validation::py_repr_str(&limit);
            return Err(query_error(
                "limit",
                &limit,
                format!("{repr} does not match '^[0-9]*$'"),
            ));
        }
        if limit.is_empty() {
            return Err(query_error(
                "limit",
                "",
                "'' should be non-empty".to_owned(),
            ));
        }
        out.limit = Some(limit.parse::<usize>().unwrap_or(usize::MAX).min(MAX_LIMIT));
    }
    out.marker = single("marker")?;
    let time_param = |name: &str| -> Result<Option<Timestamp>, Fault> {
        match single(name)? {
            None => Ok(None),
            Some(value) => parse_iso_time(&value).map(Some).ok_or_else(|| {
                let repr = super::validation::py_repr_str(&value);
                query_error(name, &value, format!("{repr} is not a 'date-time'"))
            }),
        }
    };
    out.changes_since = time_param("changes-since")?;
    if allowed.contains(&"changes-before") {
        out.changes_before = time_param("changes-before")?;
    }
    let unknown: Vec<String> = params
        .iter()
        .map(|(n, _)| n.clone())
        .filter(|n| !allowed.contains(&n.as_str()))
        .collect();
    super::validation::check_no_query_parameters(&unknown)?;
    if let (Some(since), Some(before)) = (out.changes_since, out.changes_before) {
        if since > before {
            return Err(Fault::Validation(
                "The value of changes-since must be less than or equal to changes-before."
                    .to_owned(),
            ));
        }
    }
    Ok(out)
}
