//! How failures look on the wire: Nova's fault envelope, Keystone's error
//! body (and keystonemiddleware's 401), and WebOb's default error pages for
//! what never reaches Nova's resource layer (router 404, 413).

use std::collections::BTreeMap;

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::response::{to_json, with_content_type, JSON_CONTENT_TYPE};
use crate::auth::Refusal;
use crate::domain::network::NeutronFault;
use crate::error::{fault_name, Fault};

pub const FAULT_CONTENT_TYPE: &str = "application/json; charset=UTF-8";
pub const COMPUTE_JSON_CONTENT_TYPE: &str = "application/vnd.openstack.compute+json";
const UNAUTHORIZED_MESSAGE: &str = "The request you have made requires authentication.";

/// `{"<faultName>": {"code": N, "message": "..."}}`.
pub fn fault_response(status: u16, message: &str) -> Response {
    named_fault_response(fault_name(status), status, message)
}

/// The fault envelope under any name (injected faults choose theirs).
pub fn named_fault_response(name: &str, status: u16, message: &str) -> Response {
    #[derive(Serialize)]
    struct Inner<'a> {
        code: u16,
        message: &'a str,
    }
    let mut envelope = std::collections::BTreeMap::new();
    envelope.insert(
        name,
        Inner {
            code: status,
            message,
        },
    );
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    with_content_type(status, to_json(&envelope), FAULT_CONTENT_TYPE)
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        if let Fault::Internal(detail) = &self {
            tracing::error!(detail = %detail, "internal error");
        }
        fault_response(self.status(), &self.to_string())
    }
}

/// Neutron's error envelope: `{"NeutronError": {"type", "message", "detail": ""}}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct NeutronErrorBody {
    #[serde(rename = "NeutronError")]
    pub neutron_error: NeutronErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct NeutronErrorDetail {
    /// The exception's class name.
    #[serde(rename = "type")]
    #[schema(example = "NetworkNotFound")]
    pub kind: String,
    #[schema(example = "Network 3cb9bc59-5699-4588-a4b1-b87f96708bc6 could not be found.")]
    pub message: String,
    /// Always empty.
    pub detail: String,
}

/// A Neutron error as Neutron writes it (Python's JSON spacing).
pub fn neutron_error(fault: &NeutronFault) -> Response {
    if fault.status >= 500 {
        tracing::error!(kind = fault.kind, message = %fault.message, "network API error");
    }
    let body = NeutronErrorBody {
        neutron_error: NeutronErrorDetail {
            kind: fault.kind.to_owned(),
            message: fault.message.clone(),
            detail: String::new(),
        },
    };
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    with_content_type(status, to_json(&body), JSON_CONTENT_TYPE)
}

impl IntoResponse for NeutronFault {
    fn into_response(self) -> Response {
        neutron_error(&self)
    }
}

/// Nova's fault envelope, `{"<faultName>": {"code", "message"}}`; in the
/// document each response names its own key (`Fault.<faultName>`).
#[derive(ToSchema)]
pub struct NovaFault(pub BTreeMap<String, FaultDetail>);

/// The inside of a Nova fault.
#[derive(Serialize, ToSchema)]
pub struct FaultDetail {
    /// The HTTP status, again.
    #[schema(example = 404)]
    pub code: u16,
    #[schema(example = "Instance afe25d9b-890b-4847-995c-534aa0cb7cc4 could not be found.")]
    pub message: String,
}

/// Keystone's (and keystonemiddleware's) error body.
#[derive(Serialize, ToSchema)]
pub struct KeystoneError {
    pub error: KeystoneErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct KeystoneErrorDetail {
    #[schema(example = 401)]
    pub code: u16,
    #[schema(example = "Unauthorized")]
    pub title: String,
    #[schema(example = "The request you have made requires authentication.")]
    pub message: String,
}

/// WebOb's error page as JSON (when `Accept` prefers it).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebObError {
    pub message: String,
    /// The status line.
    #[schema(example = "404 Not Found")]
    pub code: String,
    #[schema(example = "Not Found")]
    pub title: String,
}

/// Keystone's (and keystonemiddleware's) error body.
pub fn keystone_error(status: StatusCode, title: &str, message: &str) -> Response {
    let body = KeystoneError {
        error: KeystoneErrorDetail {
            code: status.as_u16(),
            title: title.to_owned(),
            message: message.to_owned(),
        },
    };
    with_content_type(status, to_json(&body), FAULT_CONTENT_TYPE)
}

/// keystonemiddleware's refusal of a request: a missing or invalid token
/// (401, pointing at `identity_url`), or Keystone out of reach (503).
/// Before Nova's resource layer, so no microversion headers.
pub fn refusal_response(refusal: &Refusal, identity_url: &str, headers: &HeaderMap) -> Response {
    match refusal {
        Refusal::Unauthorized { www_authenticate } => {
            let uri = www_authenticate.as_deref().unwrap_or(identity_url);
            let mut response = keystone_error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                UNAUTHORIZED_MESSAGE,
            );
            if let Ok(value) = HeaderValue::from_str(&format!("Keystone uri=\"{uri}\"")) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            response.extensions_mut().insert(WebObPage);
            response
        }
        Refusal::StoreUnavailable => Fault::ServiceUnavailable.into_response(),
        Refusal::Unavailable(detail) => {
            tracing::error!(error = %detail, "cannot validate a token");
            webob_error_page(
                &Method::GET,
                headers,
                StatusCode::SERVICE_UNAVAILABLE,
                "The Keystone service is temporarily unavailable.",
            )
        }
    }
}

/// WebOb's `acceptable_offers(['text/html', 'application/json'])`, falling back to text/plain.
fn negotiate_error_type(accept: Option<&str>) -> &'static str {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return "text/plain";
    };
    let offers = ["text/html", "application/json"];
    let mut best: Option<(f32, &'static str)> = None;
    for offer in offers {
        let q = accept_quality(accept, offer);
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, offer));
        }
    }
    best.map(|(_, offer)| offer).unwrap_or("text/plain")
}

/// The quality an `Accept` header gives `offer`: that of the most specific
/// matching range (`type/sub` over `type/*` over `*/*`), 0 when none matches.
pub fn accept_quality(accept: &str, offer: &str) -> f32 {
    let (offer_type, offer_sub) = offer.split_once('/').unwrap_or((offer, ""));
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|v| v.trim().parse::<f32>().ok())
            })
            .next()
            .unwrap_or(1.0);
        let (t, s) = media.split_once('/').unwrap_or((media, ""));
        let specificity = if t.eq_ignore_ascii_case(offer_type) && s.eq_ignore_ascii_case(offer_sub)
        {
            3
        } else if t.eq_ignore_ascii_case(offer_type) && s == "*" {
            2
        } else if t == "*" && s == "*" {
            1
        } else {
            continue;
        };
        if best.is_none_or(|(b, _)| specificity > b) {
            best = Some((specificity, q));
        }
    }
    best.map(|(_, q)| q).unwrap_or(0.0)
}

/// Marks a response that did not come from Nova's resource layer, so the
/// microversion headers stay off it.
#[derive(Debug, Clone, Copy)]
pub struct WebObPage;

/// A WebOb `HTTPException` default page (`status_line` e.g. `404 Not Found`).
pub fn webob_error_page(
    method: &Method,
    headers: &HeaderMap,
    status: StatusCode,
    explanation: &str,
) -> Response {
    // WebOb's titles, where they differ from today's reason phrases.
    let title = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "Request Entity Too Large",
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    let status_line = format!("{} {}", status.as_u16(), title);
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (content_type, body) = match negotiate_error_type(accept) {
        "application/json" => {
            let body = WebObError {
                message: format!("{explanation}<br /><br />\n\n\n"),
                code: status_line,
                title: title.to_owned(),
            };
            (JSON_CONTENT_TYPE, String::from_utf8(to_json(&body)).expect("utf-8"))
        }
        "text/html" => (
            "text/html; charset=UTF-8",
            format!(
                "<html>\n <head>\n  <title>{status_line}</title>\n </head>\n <body>\n  <h1>{status_line}</h1>\n  {explanation}<br /><br />\n\n\n\n </body>\n</html>"
            ),
        ),
        _ => ("text/plain; charset=UTF-8", format!("{status_line}\n\n{explanation}\n\n   ")),
    };
    // WebOb answers HEAD with the HTML variant's headers and no body.
    let (content_type, body) = if method == Method::HEAD {
        ("text/html; charset=UTF-8", String::new())
    } else {
        (content_type, body)
    };
    let mut response = with_content_type(status, body, content_type);
    response.extensions_mut().insert(WebObPage);
    response
}

/// The router's 404 for anything no route matches.
pub fn not_found_page(method: &Method, headers: &HeaderMap) -> Response {
    webob_error_page(
        method,
        headers,
        StatusCode::NOT_FOUND,
        "The resource could not be found.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(negotiate_error_type(None), "text/plain");
        assert_eq!(
            negotiate_error_type(Some("application/json")),
            "application/json"
        );
        assert_eq!(negotiate_error_type(Some("*/*")), "text/html");
        assert_eq!(negotiate_error_type(Some("application/xml")), "text/plain");
        assert_eq!(
            negotiate_error_type(Some("text/html;q=0.5, application/json")),
            "application/json"
        );
    }
}
