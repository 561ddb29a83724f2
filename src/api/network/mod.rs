//! The Neutron-compatible network API under `/networking` (issue 10):
//! networks, subnets and ports over the same world os-interface changes,
//! with Neutron's wire format (compact JSON), errors (`NeutronError`),
//! filters, `fields=`, sorting and paging.
//!
//! - [`networks`], [`subnets`], [`ports`]: the resources, their wire types
//!   and handlers; [`extensions`]: the version list and `/extensions`.
//! - Here: what the three share (query parsing, the list machinery, the
//!   request-body checks, the envelope).

pub mod extensions;
pub mod networks;
pub mod ports;
pub mod subnets;

use std::cmp::Ordering;

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use super::extract::{read_body, PathIn, Undecodable};
use super::response::{base_url, raw_json_response};
use crate::domain::network::NeutronFault;
use crate::domain::Timestamp;
use crate::store::StoreError;

/// Where the API is mounted, as devstack mounts Neutron.
pub const MOUNT: &str = "/networking";

/// Neutron's timestamps: `2026-11-30T12:23:27Z`.
pub fn neutron_time(micros: Timestamp) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Neutron's success bodies are compact JSON (no spaces).
pub fn neutron_json(status: StatusCode, body: &impl Serialize) -> Response {
    raw_json_response(status, serde_json::to_vec(body).expect("serializable"))
}

pub fn store_fault(error: StoreError) -> NeutronFault {
    tracing::error!(%error, "store refused a network API change");
    NeutronFault::new(
        503,
        "ServiceUnavailable",
        "The service is unavailable at this time.",
    )
}

/// The request body as JSON, or Neutron's 400.
pub async fn json_body(
    headers: &HeaderMap,
    method: &Method,
    body: Body,
) -> Result<Value, Response> {
    let bytes = read_body(method, headers, body).await?;
    serde_json::from_slice(&bytes)
        .map_err(|_| NeutronFault::bad_request("Malformed request body").into_response())
}

/// `{"<one>": {...}}` or `{"<many>": [{...}, ...]}`: the objects, and whether bulk.
pub fn resource_objects(
    body: &Value,
    one: &str,
    many: &str,
) -> Result<(Vec<Map<String, Value>>, bool), NeutronFault> {
    let bad = || NeutronFault::bad_request(format!("Unable to find '{one}' in request body"));
    let object = body.as_object().ok_or_else(bad)?;
    if let Some(list) = object.get(many) {
        let items = list
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|v| v.as_object().cloned().ok_or_else(bad))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok((items, true));
    }
    let item = object.get(one).and_then(Value::as_object).ok_or_else(bad)?;
    Ok((vec![item.clone()], false))
}

/// Reads the attributes of one request object, refusing unknown ones.
pub struct Attributes {
    map: Map<String, Value>,
}

impl Attributes {
    pub fn new(map: Map<String, Value>, known: &[&str]) -> Result<Self, NeutronFault> {
        let unknown: Vec<&str> = map
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(NeutronFault::bad_request(format!(
                "Unrecognized attribute(s) '{}'",
                unknown.join(", ")
            )));
        }
        Ok(Attributes { map })
    }

    fn invalid(name: &str, value: &Value, what: &str) -> NeutronFault {
        let shown = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        NeutronFault::bad_request(format!(
            "Invalid input for {name}. Reason: '{shown}' is not a valid {what}."
        ))
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, NeutronFault> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.len() <= 255 => Ok(Some(s.clone())),
            Some(Value::String(s)) => Err(NeutronFault::bad_request(format!(
                "Invalid input for {name}. Reason: '{s}' exceeds maximum length of 255."
            ))),
            Some(v) => Err(Self::invalid(name, v, "string")),
        }
    }

    /// A string, `null` being `Some(None)`.
    pub fn nullable_string(&self, name: &str) -> Result<Option<Option<String>>, NeutronFault> {
        match self.map.get(name) {
            Some(Value::Null) => Ok(Some(None)),
            _ => Ok(self.string(name)?.map(Some)),
        }
    }

    /// Neutron's `convert_to_boolean`: true/false, "true"/"false", 1/0.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, NeutronFault> {
        let Some(value) = self.map.get(name) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") || s == "1" => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") || s == "0" => Some(false),
            Value::Number(n) if n.as_i64() == Some(1) => Some(true),
            Value::Number(n) if n.as_i64() == Some(0) => Some(false),
            _ => None,
        };
        parsed.map(Some).ok_or_else(|| {
            let shown = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            NeutronFault::invalid_input(format_args!("'{shown}' cannot be converted to boolean."))
        })
    }

    pub fn integer(&self, name: &str) -> Result<Option<i64>, NeutronFault> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(Value::String(s)) if s.parse::<i64>().is_ok() => Ok(s.parse().ok()),
            Some(v) => Err(Self::invalid(name, v, "integer")),
        }
    }

    pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>, NeutronFault> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(Self::invalid(name, other, "string")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => Err(NeutronFault::bad_request(format!(
                "Invalid input for {name}. Reason: '{v}' is not a list."
            ))),
        }
    }

    pub fn objects(&self, name: &str) -> Result<Option<Vec<Map<String, Value>>>, NeutronFault> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_object().cloned().ok_or_else(|| {
                        NeutronFault::bad_request(format!(
                            "Invalid input for {name}. Reason: Invalid data format for {name}: '{v}'."
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => Err(NeutronFault::bad_request(format!(
                "Invalid input for {name}. Reason: Invalid data format for {name}: '{v}'."
            ))),
        }
    }

    /// `project_id` or `tenant_id` (which must agree).
    pub fn project(&self) -> Result<Option<String>, NeutronFault> {
        let project = self.string("project_id")?;
        let tenant = self.string("tenant_id")?;
        match (project, tenant) {
            (Some(p), Some(t)) if p != t => Err(NeutronFault::bad_request(
                "'project_id' and 'tenant_id' do not match",
            )),
            (p, t) => Ok(p.or(t)),
        }
    }
}

/// The query string: `fields`, the paging keys and the filters.
#[derive(Debug, Default)]
pub struct ListQuery {
    pub fields: Vec<String>,
    pub filters: Vec<(String, Vec<String>)>,
    pub limit: Option<usize>,
    pub marker: Option<String>,
    pub sort: Vec<(String, bool)>,
    pub page_reverse: bool,
    /// Everything as given (for the links).
    pub raw: Vec<(String, String)>,
}

impl ListQuery {
    pub fn parse(query: Option<&str>) -> Result<Self, NeutronFault> {
        let raw: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .into_owned()
            .collect();
        let mut q = ListQuery::default();
        let (mut keys, mut dirs) = (Vec::new(), Vec::new());
        for (key, value) in &raw {
            match key.as_str() {
                "fields" => q.fields.extend(
                    value
                        .split(',')
                        .filter(|f| !f.is_empty())
                        .map(str::to_owned),
                ),
                "limit" => {
                    let bad = || {
                        NeutronFault::new(
                            400,
                            "BadRequest",
                            format!("Bad limit request: Limit must be an integer 0 or greater and not '{value}'."),
                        )
                    };
                    let limit: i64 = value.parse().map_err(|_| bad())?;
                    if limit < 0 {
                        return Err(bad());
                    }
                    q.limit = (limit > 0).then_some(limit as usize);
                }
                "marker" => q.marker = Some(value.clone()),
                "sort_key" => keys.push(value.clone()),
                "sort_dir" => match value.as_str() {
                    "asc" => dirs.push(true),
                    "desc" => dirs.push(false),
                    _ => {
                        return Err(NeutronFault::bad_request(format!(
                            "Bad sort_dir request: sort_dir must be asc or desc and not '{value}'."
                        )))
                    }
                },
                "page_reverse" => q.page_reverse = value.eq_ignore_ascii_case("true"),
                _ => match q.filters.iter_mut().find(|(k, _)| k == key) {
                    Some((_, values)) => values.push(value.clone()),
                    None => q.filters.push((key.clone(), vec![value.clone()])),
                },
            }
        }
        if dirs.len() != keys.len() {
            return Err(NeutronFault::bad_request(
                "The number of sort_keys and sort_dirs must be same",
            ));
        }
        q.sort = keys
            .into_iter()
            .enumerate()
            .map(|(i, k)| (k, dirs.get(i).copied().unwrap_or(true)))
            .collect();
        q.raw = raw;
        Ok(q)
    }
}

/// A value as a query string would spell it.
fn as_query_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

fn matches_filter(item: &Map<String, Value>, key: &str, values: &[String]) -> bool {
    if key == "fixed_ips" {
        let ips = item.get("fixed_ips").and_then(Value::as_array);
        return values.iter().any(|wanted| {
            let Some((k, v)) = wanted.split_once('=') else {
                return false;
            };
            ips.is_some_and(|ips| {
                ips.iter()
                    .any(|ip| ip.get(k).and_then(Value::as_str) == Some(v))
            })
        });
    }
    let Some(field) = item.get(key) else {
        // Neutron ignores filters on attributes the resource lacks.
        return true;
    };
    match field {
        Value::Array(elements) => values.iter().any(|wanted| {
            elements
                .iter()
                .any(|e| as_query_text(e).as_deref() == Some(wanted))
        }),
        Value::Bool(b) => values.iter().any(|wanted| {
            let wanted = wanted.to_ascii_lowercase();
            (wanted == "true" || wanted == "1") == *b
                && ["true", "false", "1", "0"].contains(&wanted.as_str())
        }),
        other => {
            let text = as_query_text(other);
            values.iter().any(|wanted| text.as_deref() == Some(wanted))
        }
    }
}

fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(x), Some(y)) => as_query_text(x).cmp(&as_query_text(y)),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// `GET /networking/v2.0/<collection>`: filter, sort, page, pick fields,
/// and the `<collection>_links`.
pub fn list_response(
    headers: &HeaderMap,
    collection: &str,
    items: Vec<Map<String, Value>>,
    query: &ListQuery,
    sortable: &[&str],
) -> Result<Response, NeutronFault> {
    for (key, _) in &query.sort {
        if !sortable.contains(&key.as_str()) {
            return Err(NeutronFault::bad_request(format!(
                "{key} is an invalid attribute for sort_keys"
            )));
        }
    }
    let mut items: Vec<Map<String, Value>> = items
        .into_iter()
        .filter(|item| {
            query
                .filters
                .iter()
                .all(|(key, values)| matches_filter(item, key, values))
        })
        .collect();
    // Paged or sorted, Neutron sorts by id last to break ties; otherwise
    // the order is its database's (porthole's: see the callers).
    let paging = query.limit.is_some() || query.marker.is_some();
    let mut sort = query.sort.clone();
    if (paging || !sort.is_empty()) && !sort.iter().any(|(k, _)| k == "id") {
        sort.push((
            "id".to_owned(),
            sort.last().map(|(_, asc)| *asc).unwrap_or(true),
        ));
    }
    if !sort.is_empty() {
        items.sort_by(|a, b| {
            for (key, asc) in &sort {
                let order = compare_values(a.get(key), b.get(key));
                let order = if *asc { order } else { order.reverse() };
                if order != Ordering::Equal {
                    return order;
                }
            }
            Ordering::Equal
        });
    }
    if query.page_reverse {
        items.reverse();
    }
    if let Some(marker) = &query.marker {
        let at = items
            .iter()
            .position(|i| i.get("id").and_then(Value::as_str) == Some(marker.as_str()));
        match at {
            Some(at) => {
                items.drain(..=at);
            }
            None => {
                return Err(NeutronFault::new(
                    404,
                    "NotFound",
                    format!("Marker {marker} could not be found."),
                ))
            }
        }
    }
    if let Some(limit) = query.limit {
        items.truncate(limit);
    }
    if query.page_reverse {
        items.reverse();
    }
    let mut links = Vec::new();
    if let Some(limit) = query.limit {
        let base = format!("{}{MOUNT}/v2.0/{collection}", base_url(headers));
        let link = |rel: &str, marker: &str, reverse: bool| {
            // The query as given (limit where it was), then the marker.
            let mut params: Vec<(String, String)> = query
                .raw
                .iter()
                .filter(|(k, _)| !["marker", "page_reverse"].contains(&k.as_str()))
                .cloned()
                .collect();
            params.push(("marker".into(), marker.to_owned()));
            if reverse {
                params.push(("page_reverse".into(), "True".into()));
            }
            let encoded: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params)
                .finish();
            serde_json::json!({"rel": rel, "href": format!("{base}?{encoded}")})
        };
        let first = items
            .first()
            .and_then(|i| i.get("id"))
            .and_then(Value::as_str);
        let last = items
            .last()
            .and_then(|i| i.get("id"))
            .and_then(Value::as_str);
        // Neutron's get_pagination_links: a short page ends the list in
        // the direction of paging; every other case has both links.
        let short = items.len() < limit;
        let (more_after, more_before) =
            (!short || query.page_reverse, !short || !query.page_reverse);
        if let (true, Some(last)) = (more_after, last) {
            links.push(link("next", last, false));
        }
        if let (true, Some(first)) = (more_before, first) {
            links.push(link("previous", first, true));
        }
    }
    let items: Vec<Value> = items
        .into_iter()
        .map(|item| Value::Object(pick_fields(item, &query.fields)))
        .collect();
    let mut body = Map::new();
    body.insert(collection.to_owned(), Value::Array(items));
    if !links.is_empty() {
        body.insert(format!("{collection}_links"), Value::Array(links));
    }
    Ok(neutron_json(StatusCode::OK, &body))
}

/// `fields=`: only those attributes, in the resource's order.
pub fn pick_fields(item: Map<String, Value>, fields: &[String]) -> Map<String, Value> {
    if fields.is_empty() {
        return item;
    }
    item.into_iter()
        .filter(|(k, _)| fields.iter().any(|f| f == k))
        .collect()
}

/// One resource: `{"<name>": {...}}` (with `fields=`).
pub fn one_response(
    status: StatusCode,
    name: &str,
    item: Map<String, Value>,
    fields: &[String],
) -> Response {
    let mut body = Map::new();
    body.insert(name.to_owned(), Value::Object(pick_fields(item, fields)));
    neutron_json(status, &body)
}

/// Created resources: one, or a bulk list.
pub fn created_response(
    one: &str,
    many: &str,
    items: Vec<Map<String, Value>>,
    bulk: bool,
) -> Response {
    if bulk {
        let mut body = Map::new();
        body.insert(
            many.to_owned(),
            Value::Array(items.into_iter().map(Value::Object).collect()),
        );
        neutron_json(StatusCode::CREATED, &body)
    } else {
        let item = items.into_iter().next().unwrap_or_default();
        one_response(StatusCode::CREATED, one, item, &[])
    }
}

/// The attributes in `order` first (Neutron answers a create in the order
/// of its attribute map, not of its show), then the rest as they were.
pub fn reorder(mut item: Map<String, Value>, order: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    for key in order {
        if let Some(value) = item.shift_remove(*key) {
            out.insert((*key).to_owned(), value);
        }
    }
    out.extend(item);
    out
}

/// A serialised wire type as a JSON object.
pub fn to_object(value: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// 204, no body.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Neutron's answer to an id it cannot decode: its router's 404.
pub struct Neutron;

impl Undecodable for Neutron {
    fn response(_: &axum::http::request::Parts) -> Response {
        NeutronFault::new(404, "HTTPNotFound", "The resource could not be found.").into_response()
    }
}

/// A resource id in a network API path.
pub type IdPath = PathIn<Neutron, String>;

/// Neutron's bulk create: every request or none. The first failure rolls
/// back those made before it, within the same transaction.
pub fn create_all<R, T>(
    txn: &mut crate::domain::world::Txn<'_>,
    requests: Vec<R>,
    mut create: impl FnMut(&mut crate::domain::world::Txn<'_>, R) -> Result<T, NeutronFault>,
) -> Result<Vec<T>, NeutronFault> {
    let savepoint = txn.savepoint();
    let mut created = Vec::with_capacity(requests.len());
    for request in requests {
        match create(txn, request) {
            Ok(made) => created.push(made),
            Err(fault) => {
                txn.rollback_to(savepoint);
                return Err(fault);
            }
        }
    }
    Ok(created)
}
