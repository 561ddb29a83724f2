//! How successes look on the wire: JSON as the OpenStack services write it
//! (Python's `json.dumps` spacing, `", "` and `": "`), the one JSON
//! response builder, time formatting and the request's base URL.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;

use crate::domain::Timestamp;

pub const JSON_CONTENT_TYPE: &str = "application/json";

/// A JSON answer with `Content-Type: application/json` exactly.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    raw_json_response(status, to_json(body))
}

/// A JSON answer from bytes already serialised (an empty body is empty).
pub fn raw_json_response(status: StatusCode, body: Vec<u8>) -> Response {
    with_content_type(status, body, JSON_CONTENT_TYPE)
}

/// Any answer with its `Content-Type`.
pub fn with_content_type(
    status: StatusCode,
    body: impl Into<Body>,
    content_type: &'static str,
) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    // Room for every header a compute answer ends with (type, length, two
    // versions, Vary, two request ids): an empty map would grow twice.
    let headers = response.headers_mut();
    headers.reserve(RESPONSE_HEADERS);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The headers of a compute answer (see [`with_content_type`]).
const RESPONSE_HEADERS: usize = 8;

/// A link of a version document or a page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Link {
    #[schema(example = "self")]
    pub rel: &'static str,
    /// On `describedby` links only.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub media_type: Option<&'static str>,
    pub href: String,
}

impl Link {
    pub fn new(rel: &'static str, href: String) -> Self {
        Link {
            rel,
            media_type: None,
            href,
        }
    }

    /// The documentation link of a version document.
    pub fn described_by(href: &str) -> Self {
        Link {
            rel: "describedby",
            media_type: Some("text/html"),
            href: href.to_owned(),
        }
    }
}

/// A media type a version serves.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MediaType {
    #[schema(example = "application/json")]
    pub base: &'static str,
    #[serde(rename = "type")]
    #[schema(example = "application/vnd.openstack.compute+json;version=2.1")]
    pub media_type: String,
}

/// `http://<host>` of the request.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
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

struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }
}

/// `value` as a JSON string, as `to_json` writes it: the bytes as they are
/// when nothing needs escaping (ids, MACs, states: the hot bodies), else
/// serde_json's escaping.
pub fn write_json_str(out: &mut Vec<u8>, value: &str) {
    // No early exit: the whole scan vectorises.
    let plain = value.bytes().fold(true, |plain, b| {
        plain & (b >= 0x20 && b != b'"' && b != b'\\')
    });
    if plain {
        out.reserve(value.len() + 2);
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, value).expect("writing to a Vec cannot fail");
    }
}

/// `value` as a JSON string of its `Display` (serde's `collect_str`: IP
/// addresses); IPv4 without the formatting machinery.
pub fn write_json_ip(out: &mut Vec<u8>, value: &std::net::IpAddr) {
    match value {
        std::net::IpAddr::V4(v4) => {
            out.push(b'"');
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                if octet >= 100 {
                    out.push(b'0' + octet / 100);
                }
                if octet >= 10 {
                    out.push(b'0' + octet / 10 % 10);
                }
                out.push(b'0' + octet % 10);
            }
            out.push(b'"');
        }
        std::net::IpAddr::V6(_) => write_json_str(out, &value.to_string()),
    }
}

/// Serialize `value` the way Python's `json.dumps` would lay it out.
pub fn to_json(value: &impl Serialize) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    value.serialize(&mut serializer).expect("serializable");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn python_spacing() {
        let v = serde_json::json!({"a": [1, 2], "b": "x", "c": {}});
        assert_eq!(
            String::from_utf8(super::to_json(&v)).unwrap(),
            r#"{"a": [1, 2], "b": "x", "c": {}}"#
        );
    }
}
