//! `/servers/{server_id}/os-instance-actions`: how Nova reports the result of
//! the asynchronous parts of attach and detach, and their wire types.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha224};
use utoipa::{IntoParams, ToSchema};

use super::{check_query, ServerPath};
use crate::api::extract::{ApiContext, Ids};
use crate::api::fault::NovaFault;
use crate::api::response::{base_url, format_time, json_response, Link};
use crate::app::AppState;
use crate::domain::ops;
use crate::domain::{ApiVersion, Operation, ServerId, Timestamp};
use crate::error::Fault;

// --- wire types

/// The list query of instance actions (microversion 2.58 and later).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionListQuery {
    /// At most this many actions (capped at 1000); a full page has a `next` link.
    pub limit: Option<u64>,
    /// Start after the action with this request id.
    pub marker: Option<String>,
    /// Only actions updated at or after this ISO 8601 time.
    #[serde(rename = "changes-since")]
    #[param(format = DateTime)]
    pub changes_since: Option<String>,
    /// Microversion 2.66 and later: only actions updated at or before this time.
    #[serde(rename = "changes-before")]
    #[param(format = DateTime)]
    pub changes_before: Option<String>,
}

/// An instance action, as listed.
#[derive(Serialize, ToSchema)]
pub struct InstanceAction<'a> {
    /// `attach_interface` or `detach_interface`.
    #[schema(example = "attach_interface")]
    pub action: &'a str,
    #[schema(format = Uuid)]
    pub instance_uuid: &'a str,
    #[schema(example = "req-3293a3f1-b44c-4609-b8d2-d81b105636b8")]
    pub request_id: &'a str,
    pub user_id: &'a str,
    pub project_id: &'a str,
    #[schema(example = "2026-11-28T04:10:00.123456")]
    pub start_time: String,
    /// `null`, or `Error` once an event failed.
    pub message: Option<&'a str>,
    /// Microversion 2.58 and later.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "2026-11-28T04:10:00.123456")]
    pub updated_at: Option<String>,
}

/// An instance action with its events.
#[derive(Serialize, ToSchema)]
pub struct InstanceActionWithEvents<'a> {
    #[serde(flatten)]
    pub action: InstanceAction<'a>,
    /// For admins; for everyone from microversion 2.51.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub events: Option<Vec<InstanceActionEvent<'a>>>,
}

/// One event. Fields shown to some callers only are absent for others
/// (the outer `Option`) and may be `null` where shown (the inner one).
#[derive(Serialize, ToSchema)]
pub struct InstanceActionEvent<'a> {
    /// `compute_attach_interface` or `compute_detach_interface`.
    pub event: &'a str,
    pub start_time: String,
    pub finish_time: Option<String>,
    /// `Success` or `Error`.
    pub result: Option<&'a str>,
    /// Admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub traceback: Option<Option<&'a str>>,
    /// Admins only, microversion 2.62 and later.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub host: Option<&'a str>,
    /// Microversion 2.62 and later: sha224 of project id and host.
    #[serde(rename = "hostId", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub host_id: Option<String>,
    /// Admins only, microversion 2.84 and later.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub details: Option<Option<&'a str>>,
}

#[derive(Serialize, ToSchema)]
pub struct InstanceActions<'a> {
    #[serde(rename = "instanceActions")]
    pub instance_actions: Vec<InstanceAction<'a>>,
    /// The `next` page, when `limit` filled this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub links: Option<Vec<Link>>,
}

#[derive(Serialize, ToSchema)]
pub struct OneInstanceAction<'a> {
    #[serde(rename = "instanceAction")]
    pub instance_action: InstanceActionWithEvents<'a>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ActionPath {
    /// The project (second URL form): lower-case hex digits and dashes,
    /// and the token's project (else 400).
    pub project_id: Option<String>,
    /// The server's UUID.
    #[param(value_type = String)]
    pub server_id: ServerId,
    /// The action's request id (`req-<uuid>`).
    pub request_id: String,
}

// --- handlers

/// Nova's `generate_hostid`: sha224 of project id and host.
fn host_id(project_id: &str, host: &str) -> String {
    let digest = Sha224::digest(format!("{project_id}{host}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn action_summary(
    action: &crate::domain::InstanceAction,
    version: ApiVersion,
) -> InstanceAction<'_> {
    InstanceAction {
        action: &action.action,
        instance_uuid: action.server_id.as_str(),
        request_id: &action.request_id,
        user_id: &action.user_id,
        project_id: &action.project_id,
        start_time: format_time(action.start_time),
        message: action.message.as_deref(),
        updated_at: (version >= ApiVersion::ACTION_UPDATED_AT)
            .then(|| format_time(action.updated_at)),
    }
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
        (status = 404, description = "No such server (or another project's); a deleted server's actions are found from 2.21.", body = NovaFault),
    )
)]
pub async fn list_instance_actions(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<ServerPath>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Fault> {
    ctx.check_url_project(path.project_id.as_deref())?;
    let query = list_query(query.as_deref(), ctx.version)?;
    app.cloud
        .read_with_actions(path.server_id.as_str(), |world| {
            let actions = ops::list_instance_actions(
                world,
                &ctx.caller,
                &path.server_id,
                ctx.version >= ApiVersion::ACTIONS_OF_DELETED,
            )?;
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
            let mut actions: Vec<&crate::domain::InstanceAction> = actions
                .into_iter()
                .filter(|a| marker_seq.is_none_or(|seq| a.seq < seq))
                .filter(|a| query.changes_since.is_none_or(|t| a.updated_at >= t))
                .filter(|a| query.changes_before.is_none_or(|t| a.updated_at <= t))
                .collect();
            if let Some(limit) = query.limit {
                actions.truncate(limit);
            }
            let full_page = query.limit.is_some_and(|limit| actions.len() == limit);
            let links = actions
                .last()
                .filter(|_| full_page)
                .map(|last| vec![next_link(&headers, &path, &query, &last.request_id)]);
            let body = InstanceActions {
                instance_actions: actions
                    .iter()
                    .map(|a| action_summary(a, ctx.version))
                    .collect(),
                links,
            };
            Ok(json_response(StatusCode::OK, &body))
        })
        .await?
}

/// `[{"rel": "next", "href": ...}]`: the same query, sorted, with the new marker.
fn next_link(headers: &HeaderMap, path: &ServerPath, query: &ListQuery, marker: &str) -> Link {
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
        base_url(headers),
        path.server_id
    );
    Link::new("next", href)
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
        (status = 404, description = "No such server, or no such action on it; a deleted server's actions are found from 2.21.", body = NovaFault),
    )
)]
pub async fn show_instance_action(
    State(app): State<AppState>,
    ctx: ApiContext,
    Ids(path): Ids<ActionPath>,
    RawQuery(query): RawQuery,
) -> Result<Response, Fault> {
    ctx.check_url_project(path.project_id.as_deref())?;
    check_query(&ctx, query.as_deref())?;
    let version = ctx.version;
    app.cloud
        .read_with_actions(path.server_id.as_str(), |world| {
            let with_deleted = version >= ApiVersion::ACTIONS_OF_DELETED;
            let action = ops::show_instance_action(
                world,
                &ctx.caller,
                &path.server_id,
                &path.request_id,
                with_deleted,
            )?;
            let server_project =
                ops::find_server_for_actions(world, &ctx.caller, &path.server_id, with_deleted)
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
            let events = (admin || version >= ApiVersion::EVENTS_FOR_ALL).then(|| {
                let host_shown = version >= ApiVersion::EVENT_HOST;
                action
                    .events
                    .iter()
                    .map(|e| InstanceActionEvent {
                        event: &e.event,
                        start_time: format_time(e.start_time),
                        finish_time: e.finish_time.map(format_time),
                        result: e.result.as_deref(),
                        traceback: admin.then_some(e.traceback.as_deref()),
                        host: (host_shown && admin).then_some(e.host.as_str()),
                        host_id: host_shown.then(|| host_id(server_project, &e.host)),
                        details: details.then_some(e.details.as_deref()),
                    })
                    .collect()
            });
            let body = OneInstanceAction {
                instance_action: InstanceActionWithEvents {
                    action: action_summary(action, version),
                    events,
                },
            };
            Ok(json_response(StatusCode::OK, &body))
        })
        .await?
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
                let repr = crate::api::python::py_repr(&serde_json::json!(values));
                Err(query_error(name, &repr, format!("{repr} is too long")))
            }
            Some((_, values)) => Ok(Some(values[0].clone())),
        }
    };
    if let Some(limit) = single("limit")? {
        if !limit.bytes().all(|b| b.is_ascii_digit()) {
            let repr = crate::api::python::py_repr_str(&limit);
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
                let repr = crate::api::python::py_repr_str(&value);
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
