//! The builtin Keystone v3 API (`/identity`): version documents and
//! `/v3/auth/tokens` (issue, validate, check, revoke), with its wire types,
//! answering as Keystone 30 does: its order of checks, its token policy
//! (`identity:validate_token`, `check_token`, `revoke_token`), audit chains,
//! scopes, messages and headers. Keystone's errors are
//! `{"error": {"code", "message", "title"}}`, not Nova faults. Served in
//! auth mode `builtin` only.

// Keystone checks in a fixed order and answers the first failure: the
// helpers here return that answer, a `Response`, as their error.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

pub mod schema;

use crate::api::extract::read_body;
use crate::api::fault::KeystoneError;
use crate::api::response::{
    base_url, format_time, json_response, with_content_type, Link, MediaType,
};
use crate::app::AppState;
use crate::auth::builtin::Lookup;
use crate::auth::BuiltinKeystone;
use crate::domain::directory::{derived_id, NewToken, Scope, Token};

static SUBJECT_TOKEN: HeaderName = HeaderName::from_static("x-subject-token");
static REQUEST_ID: HeaderName = HeaderName::from_static("x-openstack-request-id");
const IDENTITY_UPDATED: &str = "2020-04-07T00:00:00Z";
const IDENTITY_VERSION: &str = "v3.14";
/// The authentication methods porthole verifies (Keystone's order of
/// `[auth] methods`, which also orders a token's `methods`).
const METHODS: [&str; 2] = ["password", "token"];

// --- wire types

#[derive(Serialize, ToSchema)]
pub struct IdentityVersion {
    #[schema(example = "v3.14")]
    pub id: String,
    #[schema(example = "stable")]
    pub status: String,
    pub updated: String,
    pub links: Vec<Link>,
    #[serde(rename = "media-types")]
    pub media_types: Vec<MediaType>,
}

#[derive(Serialize, ToSchema)]
pub struct IdentityVersionValues {
    pub values: Vec<IdentityVersion>,
}

#[derive(Serialize, ToSchema)]
pub struct IdentityVersionList {
    pub versions: IdentityVersionValues,
}

#[derive(Serialize, ToSchema)]
pub struct IdentityVersionDocument {
    pub version: IdentityVersion,
}

/// `POST /identity/v3/auth/tokens`.
#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    pub auth: TokenAuth,
}

#[derive(Deserialize, ToSchema)]
pub struct TokenAuth {
    pub identity: AuthIdentity,
    /// One of project, domain, system, or `"unscoped"`; without it, the
    /// user's default project if any, else unscoped.
    pub scope: Option<AuthScope>,
}

#[derive(Deserialize, ToSchema)]
pub struct AuthIdentity {
    /// `password` and/or `token`; every one listed must succeed, for the
    /// same user.
    #[schema(example = json!(["password"]))]
    pub methods: Vec<String>,
    pub password: Option<PasswordMethod>,
    pub token: Option<TokenMethod>,
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordMethod {
    pub user: PasswordUser,
}

/// A user by id, or by name and domain.
#[derive(Deserialize, ToSchema)]
pub struct PasswordUser {
    pub id: Option<String>,
    pub name: Option<String>,
    pub domain: Option<IdOrName>,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct TokenMethod {
    /// An existing token; the new one expires with it.
    pub id: String,
}

/// Exactly one of `project`, `domain`, `system`, `unscoped` (or the string `"unscoped"`).
#[derive(Deserialize, ToSchema)]
pub struct AuthScope {
    pub project: Option<NamedScope>,
    pub domain: Option<IdOrName>,
    pub system: Option<SystemScope>,
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct SystemScope {
    pub all: bool,
}

/// A project by id, or by name and domain.
#[derive(Deserialize, ToSchema)]
pub struct NamedScope {
    pub id: Option<String>,
    pub name: Option<String>,
    pub domain: Option<IdOrName>,
}

/// By id or by name.
#[derive(Deserialize, ToSchema)]
pub struct IdOrName {
    pub id: Option<String>,
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub token: TokenBody,
}

#[derive(Serialize, ToSchema)]
pub struct IdName {
    pub id: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenUser {
    pub domain: IdName,
    pub id: String,
    pub name: String,
    pub password_expires_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenProject {
    pub domain: IdName,
    pub id: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CatalogEndpoint {
    pub id: String,
    /// `public`, `internal` or `admin`.
    pub interface: String,
    pub region_id: String,
    pub url: String,
    pub region: String,
}

#[derive(Serialize, ToSchema)]
pub struct CatalogService {
    pub endpoints: Vec<CatalogEndpoint>,
    pub id: String,
    /// `compute`, `identity` or `network`.
    #[serde(rename = "type")]
    pub service_type: String,
    pub name: String,
}

/// A token. Unscoped: no `roles`, no `catalog`; scoped to a project:
/// `project`, `is_domain`; to a domain: `domain`; to the system: `system`
/// (`catalog` not with `?nocatalog`).
#[derive(Serialize, ToSchema)]
pub struct TokenBody {
    pub methods: Vec<String>,
    pub user: TokenUser,
    pub audit_ids: Vec<String>,
    /// `null`: the token does not expire.
    pub expires_at: Option<String>,
    #[schema(example = "2026-11-28T04:10:00.123456Z")]
    pub issued_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub project: Option<TokenProject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub is_domain: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub domain: Option<IdName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub roles: Option<Vec<IdName>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub system: Option<SystemScope>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub catalog: Option<Vec<CatalogService>>,
}

// --- the envelope of every identity answer

/// Keystone's error body as Flask's `jsonify` writes it: compact, keys
/// sorted, a trailing newline.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<MethodList>,
    message: &'a str,
    title: &'a str,
}

#[derive(Serialize)]
struct MethodList {
    methods: Vec<&'static str>,
}

fn error_response(status: StatusCode, message: &str, identity: Option<MethodList>) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: status.as_u16(),
            identity,
            message,
            title: status.canonical_reason().unwrap_or("Error"),
        },
    };
    let mut bytes = serde_json::to_vec(&body).expect("serializable");
    bytes.push(b'\n');
    with_content_type(status, bytes, "application/json")
}

/// A Keystone error (not a 401: see [`unauthorized`]).
pub fn identity_error(status: StatusCode, message: &str) -> Response {
    error_response(status, message, None)
}

/// `ValidationError`'s message: `Expecting to find <attribute> in <target>. …`.
fn expecting(attribute: &str, target: &str) -> Response {
    identity_error(
        StatusCode::BAD_REQUEST,
        &format!(
            "Expecting to find {attribute} in {target}. The server could not comply with the \
             request since it is either malformed or otherwise incorrect. The client is assumed \
             to be in error."
        ),
    )
}

fn bad_request(message: &str) -> Response {
    identity_error(StatusCode::BAD_REQUEST, message)
}

fn not_found(message: &str) -> Response {
    identity_error(StatusCode::NOT_FOUND, message)
}

/// `ForbiddenAction`.
fn forbidden(action: &str) -> Response {
    identity_error(
        StatusCode::FORBIDDEN,
        &format!("You are not authorized to perform the requested action: {action}."),
    )
}

/// Keystone's 401 (its message never says why), pointing at its own v3 URL.
fn unauthorized(state: &AppState, headers: &HeaderMap) -> Response {
    with_www_authenticate(
        state,
        headers,
        error_response(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
            None,
        ),
    )
}

fn with_www_authenticate(
    state: &AppState,
    headers: &HeaderMap,
    mut response: Response,
) -> Response {
    let uri = format!("{}/v3", state.identity_url(headers));
    if let Ok(value) = HeaderValue::from_str(&format!("Keystone uri=\"{uri}\"")) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// What Keystone adds to every answer: `Vary: X-Auth-Token` and a request
/// id (an inbound one is not echoed); a HEAD answer has the headers of the
/// GET, its `Content-Length` included, and no body.
pub async fn identity_envelope(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let id = request_id(&request);
    let response = next.run(request).await;
    finish(&method, id, response).await
}

/// The request's id (the one its log lines carry), or a new one.
fn request_id(request: &Request) -> HeaderValue {
    request
        .extensions()
        .get::<crate::api::extract::RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_else(|| {
            HeaderValue::from_str(&format!("req-{}", uuid::Uuid::new_v4())).expect("ascii")
        })
}

async fn finish(method: &Method, id: HeaderValue, mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("X-Auth-Token"));
    headers.insert(REQUEST_ID.clone(), id);
    if method == Method::HEAD {
        let (mut parts, body) = response.into_parts();
        let length = axum::body::to_bytes(body, usize::MAX)
            .await
            .map_or(0, |b| b.len());
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        return Response::from_parts(parts, Body::empty());
    }
    response
}

/// Whether `path` is the builtin Keystone's.
pub fn is_identity_path(path: &str) -> bool {
    path == "/identity" || path.starts_with("/identity/")
}

/// A request under `/identity` that no route took: Flask's 405 (with
/// `Allow`; `OPTIONS` answered) on a known path, its 404 page elsewhere.
pub async fn unrouted(request: Request) -> Response {
    let method = request.method().clone();
    let id = request_id(&request);
    let path = request.uri().path();
    let (allow, restful) = match path {
        "/identity" | "/identity/" | "/identity/v3" | "/identity/v3/" => {
            ("GET, HEAD, OPTIONS", false)
        }
        "/identity/v3/auth/tokens" => ("DELETE, GET, HEAD, OPTIONS, POST", true),
        "/identity/v3/auth/catalog" => ("GET, HEAD, OPTIONS", true),
        _ => {
            let page = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n";
            let response =
                with_content_type(StatusCode::NOT_FOUND, page, "text/html; charset=utf-8");
            return finish(&method, id, response).await;
        }
    };
    let mut response = if method == Method::OPTIONS {
        with_content_type(StatusCode::OK, "", "text/html; charset=utf-8")
    } else if restful {
        with_content_type(
            StatusCode::METHOD_NOT_ALLOWED,
            "{\"message\": \"The method is not allowed for the requested URL.\"}\n",
            "application/json",
        )
    } else {
        let page = "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n";
        with_content_type(
            StatusCode::METHOD_NOT_ALLOWED,
            page,
            "text/html; charset=utf-8",
        )
    };
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    finish(&method, id, response).await
}

// --- handlers

/// The base URL of catalog entries and version links.
fn public_base(identity: &BuiltinKeystone, headers: &HeaderMap) -> String {
    identity
        .public_url
        .clone()
        .unwrap_or_else(|| base_url(headers))
}

fn v3_entry(base: &str) -> IdentityVersion {
    IdentityVersion {
        id: IDENTITY_VERSION.to_owned(),
        status: "stable".to_owned(),
        updated: IDENTITY_UPDATED.to_owned(),
        links: vec![Link::new("self", format!("{base}/identity/v3/"))],
        media_types: vec![MediaType {
            base: "application/json",
            media_type: "application/vnd.openstack.identity-v3+json".to_owned(),
        }],
    }
}

/// The Identity API's versions (builtin auth mode only).
///
/// 300, with `Location` naming v3, as Keystone answers.
#[utoipa::path(
    get,
    path = "/identity/",
    tag = "identity",
    responses((status = 300, description = "The one version, v3.", body = IdentityVersionList,
        headers(("Location" = String, description = "The v3 document.")))),
)]
pub async fn identity_versions(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = public_base(identity_of(&state), &headers);
    let body = IdentityVersionList {
        versions: IdentityVersionValues {
            values: vec![v3_entry(&base)],
        },
    };
    let mut response = json_response(StatusCode::MULTIPLE_CHOICES, &body);
    if let Ok(location) = HeaderValue::from_str(&format!("{base}/identity/v3/")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// The Identity v3 version document (builtin auth mode only).
#[utoipa::path(
    get,
    path = "/identity/v3/",
    tag = "identity",
    responses((status = 200, description = "The v3 version document.", body = IdentityVersionDocument)),
)]
pub async fn identity_v3(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = public_base(identity_of(&state), &headers);
    json_response(
        StatusCode::OK,
        &IdentityVersionDocument {
            version: v3_entry(&base),
        },
    )
}

/// The builtin Keystone: these routes are mounted in `builtin` mode only.
fn identity_of(state: &AppState) -> &BuiltinKeystone {
    state
        .auth
        .builtin()
        .expect("identity routes only in builtin mode")
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn store_failure(error: crate::store::StoreError) -> Response {
    tracing::error!(%error, "store failure");
    identity_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "The service is temporarily unavailable.",
    )
}

/// oslo's `bool_from_string`: `1`, `t`, `true`, `on`, `y`, `yes` (any case)
/// are true, `0`, `f`, `false`, `off`, `n`, `no` false, anything else `default`.
fn bool_from_string(value: Option<&String>, default: bool) -> bool {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Some("1" | "t" | "true" | "on" | "y" | "yes") => true,
        Some("0" | "f" | "false" | "off" | "n" | "no") => false,
        _ => default,
    }
}

/// The request body as Keystone reads it: `None` when empty, 400 when it
/// is not a JSON object or not declared JSON.
fn json_body(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Option<serde_json::Map<String, Value>>, Response> {
    if body.is_empty() {
        return Ok(None);
    }
    let content_type = header_str(headers, "content-type").unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let is_json =
        mime == "application/json" || mime.starts_with("application/") && mime.ends_with("+json");
    if !is_json && !content_type.is_empty() {
        return Err(expecting("application/json", "Content-Type header"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        _ => Err(expecting("valid JSON", "request body")),
    }
}

/// A string member, when it is a non-empty string (Python's truthiness).
fn text<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `identity` and `scope` as Keystone's `validate_issue_token_auth` checks
/// them after the JSON schema: a user, a project and a domain need an id or
/// a name.
fn id_or_name_checks(auth: &Value) -> Result<(), Response> {
    let missing = |v: &Value| v.get("id").is_none() && v.get("name").is_none();
    let invalid = |path: &str| {
        Err(bad_request(&format!(
            "Invalid input for field {path}: id or name must be present."
        )))
    };
    if let Some(user) = auth.pointer("/identity/password/user") {
        if missing(user) {
            return invalid("identity/password/user");
        }
        if user.get("domain").is_some_and(missing) {
            return invalid("identity/password/user/domain");
        }
    }
    if let Some(scope) = auth.get("scope").filter(|s| s.is_object()) {
        if let Some(project) = scope.get("project") {
            if missing(project) {
                return invalid("scope/project");
            }
            if project.get("domain").is_some_and(missing) {
                return invalid("scope/project/domain");
            }
        }
        if scope.get("domain").is_some_and(missing) {
            return invalid("scope/domain");
        }
    }
    Ok(())
}

/// What a request's methods established (Keystone's `AuthContext`).
#[derive(Default)]
struct AuthContext {
    user_id: Option<String>,
    expires_at: Option<crate::domain::model::Timestamp>,
    methods: Vec<String>,
    parent_audit_id: Option<String>,
}

impl AuthContext {
    /// Every method must name the same user.
    fn set_user(&mut self, user_id: &str) -> Result<(), ()> {
        match &self.user_id {
            Some(existing) if existing != user_id => Err(()),
            _ => {
                self.user_id = Some(user_id.to_owned());
                Ok(())
            }
        }
    }

    fn add_method(&mut self, method: &str) {
        if !self.methods.iter().any(|m| m == method) {
            self.methods.push(method.to_owned());
        }
    }

    /// Keystone's order: descending position in `[auth] methods`.
    fn sorted_methods(mut self) -> Vec<String> {
        let rank = |m: &String| METHODS.iter().position(|k| k == m).unwrap_or(usize::MAX);
        self.methods.sort_by_key(|m| std::cmp::Reverse(rank(m)));
        self.methods
    }
}

/// The requested scope, resolved (`None`: none requested).
fn resolve_scope(
    state: &AppState,
    headers: &HeaderMap,
    auth: &Value,
) -> Result<Option<Scope>, Response> {
    let Some(scope) = auth.get("scope") else {
        return Ok(None);
    };
    let directory = &identity_of(state).directory;
    // Keystone counts keys with `in`, a substring test on a string scope.
    let has = |key: &str| match scope {
        Value::String(s) => s.contains(key),
        _ => scope.get(key).is_some(),
    };
    let kinds = ["project", "domain", "unscoped", "system", "OS-TRUST:trust"];
    if kinds.iter().filter(|k| has(k)).count() != 1 {
        return Err(expecting(
            "system, project, domain, OS-TRUST:trust or unscoped",
            "scope",
        ));
    }
    if has("system") {
        return Ok(Some(Scope::System));
    }
    if has("unscoped") {
        return Ok(Some(Scope::Unscoped));
    }
    let unauthorized = || unauthorized(state, headers);
    let lookup_domain = |domain: &Value| match text(domain, "name") {
        Some(name) => directory.domains.iter().find(|d| d.name == name),
        None => text(domain, "id").and_then(|id| directory.domain(id)),
    };
    if let Some(project) = scope.get("project").filter(|p| p.is_object()) {
        let found = match text(project, "name") {
            Some(name) => {
                let Some(domain) = project.get("domain") else {
                    return Err(expecting("domain", "project"));
                };
                let domain = lookup_domain(domain).ok_or_else(unauthorized)?;
                directory
                    .projects
                    .iter()
                    .find(|p| p.name == name && p.domain_id == domain.id)
            }
            None => text(project, "id").and_then(|id| directory.project(id)),
        };
        return found
            .map(|p| Some(Scope::Project(p.id.clone())))
            .ok_or_else(unauthorized);
    }
    if let Some(domain) = scope.get("domain").filter(|d| d.is_object()) {
        return lookup_domain(domain)
            .map(|d| Some(Scope::Domain(d.id.clone())))
            .ok_or_else(unauthorized);
    }
    // A trust (not served here), or a string scope naming a kind: no scope
    // porthole can resolve.
    Err(unauthorized())
}

/// The password method: the user, or Keystone's 400 and 401 answers.
fn password_method(
    state: &AppState,
    headers: &HeaderMap,
    payload: &Value,
) -> Result<String, Response> {
    let directory = &identity_of(state).directory;
    let Some(user) = payload.get("user") else {
        // Keystone names the method only after this check: `None`.
        return Err(expecting("user", "None"));
    };
    let (id, name) = (text(user, "id"), text(user, "name"));
    if id.is_none() && name.is_none() {
        return Err(expecting("id or name", "user"));
    }
    let refused = |who: &str| {
        // Who tried, never with what.
        tracing::info!(user = who, "password authentication failed");
        unauthorized(state, headers)
    };
    let found = match name {
        Some(name) => {
            let Some(domain) = user.get("domain") else {
                return Err(expecting("domain", "user"));
            };
            let domain = match (text(domain, "name"), text(domain, "id")) {
                (None, None) => return Err(expecting("id or name", "domain")),
                (Some(domain_name), _) => directory.domains.iter().find(|d| d.name == domain_name),
                (None, Some(domain_id)) => directory.domain(domain_id),
            };
            let domain = domain.ok_or_else(|| refused(name))?;
            directory
                .users
                .iter()
                .find(|u| u.name == name && u.domain_id == domain.id)
        }
        None => id.and_then(|id| directory.user(id)),
    };
    let who = name.or(id).unwrap_or("");
    let user_ref = found.ok_or_else(|| refused(who))?;
    let password = user.get("password").and_then(Value::as_str);
    match password {
        Some(password) if directory.password_matches(user_ref, password) => Ok(user_ref.id.clone()),
        _ => Err(refused(who)),
    }
}

/// The token method: the token it names must be valid (Keystone's 404
/// otherwise); a system-scoped one cannot become a project or domain token.
async fn token_method(
    state: &AppState,
    auth: &Value,
    payload: &Value,
    context: &mut AuthContext,
) -> Result<String, Response> {
    let identity = identity_of(state);
    let id = payload.get("id").and_then(Value::as_str).unwrap_or("");
    let token = match identity
        .lookup(&state.cloud, id, 0)
        .await
        .map_err(store_failure)?
    {
        Lookup::Valid(token) => token,
        invalid => return Err(not_found(invalid.not_found_message())),
    };
    let requested = auth.get("scope");
    let wants = |key: &str| match requested {
        Some(Value::String(s)) => s.contains(key),
        Some(scope) => scope.get(key).is_some(),
        None => false,
    };
    if token.system && (wants("project") || wants("domain")) {
        return Err(forbidden(
            "Using a system-scoped token to create a project-scoped or domain-scoped token is not allowed.",
        ));
    }
    for method in &token.methods {
        context.add_method(method);
    }
    context.expires_at = match (context.expires_at, token.expires_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    context.parent_audit_id = Some(token.chain_root().to_owned());
    Ok(token.user_id.clone())
}

/// `POST /identity/v3/auth/tokens`: password and/or token; unscoped, or
/// scoped to a project, a domain or the system.
///
/// Issue a token (builtin auth mode only), as Keystone does: every listed
/// method must succeed for the same user; the token method keeps the old
/// token's expiry and audit chain; no scope means the user's default
/// project if it has a role there, else unscoped. The token is the
/// `X-Subject-Token` response header.
#[utoipa::path(
    post,
    path = "/identity/v3/auth/tokens",
    tag = "identity",
    params(("nocatalog" = Option<String>, Query, description = "Present (any value): no `catalog` in the body.")),
    request_body(content = TokenRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued.", body = TokenResponse,
            headers(("X-Subject-Token" = String, description = "The new token."))),
        (status = 400, description = "A malformed request.", body = KeystoneError),
        (status = 401, description = "Wrong credentials, an unsupported method, or a scope the user has no role in.", body = KeystoneError),
        (status = 403, description = "A system-scoped token asked for a project or domain scope.", body = KeystoneError),
        (status = 404, description = "The token method's token is not valid.", body = KeystoneError),
        (status = 413, description = "A body larger than 114688 bytes: oslo.middleware's sizelimit page, not a Keystone error."),
        (status = 503, description = "The token could not be stored.", body = KeystoneError),
    ),
)]
pub async fn issue_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> Response {
    let identity = identity_of(&state);
    // oslo.middleware's sizelimit, as in Keystone's pipeline.
    let body = match read_body(&Method::POST, &headers, body).await {
        Ok(body) => body,
        Err(too_large) => return too_large,
    };
    let request = match json_body(&headers, &body) {
        Ok(request) => request.unwrap_or_default(),
        Err(response) => return response,
    };
    let auth = request.get("auth").cloned().unwrap_or(Value::Null);
    if !auth.is_null() {
        if let Err(message) = schema::validate(&auth) {
            return bad_request(&message);
        }
        if let Err(response) = id_or_name_checks(&auth) {
            return response;
        }
    }
    if auth.as_object().is_none_or(|a| a.is_empty()) {
        return expecting("auth", "request body");
    }
    let identity_section = &auth["identity"];
    let mut methods: Vec<&str> = Vec::new();
    for method in identity_section["methods"].as_array().into_iter().flatten() {
        let method = method.as_str().unwrap_or("");
        if !methods.contains(&method) {
            methods.push(method);
        }
    }
    if let Some(missing) = methods.iter().find(|m| identity_section.get(**m).is_none()) {
        return expecting(missing, "identity");
    }
    if methods.iter().any(|m| !METHODS.contains(m)) {
        return with_www_authenticate(
            &state,
            &headers,
            error_response(
                StatusCode::UNAUTHORIZED,
                "Attempted to authenticate with an unsupported method.",
                Some(MethodList {
                    methods: METHODS.to_vec(),
                }),
            ),
        );
    }
    let requested = match resolve_scope(&state, &headers, &auth) {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    let mut context = AuthContext::default();
    for method in &methods {
        let payload = &identity_section[*method];
        let user = match *method {
            "password" => password_method(&state, &headers, payload),
            _ => token_method(&state, &auth, payload, &mut context).await,
        };
        let user = match user {
            Ok(user) => user,
            Err(response) => return response,
        };
        if context.set_user(&user).is_err() {
            tracing::info!("authentication methods name different users");
            return unauthorized(&state, &headers);
        }
        context.add_method(method);
    }
    let Some(user_id) = context.user_id.clone() else {
        // No method ran (`"methods": []`).
        return unauthorized(&state, &headers);
    };
    let directory = &identity.directory;
    let scope = requested.unwrap_or_else(|| {
        directory
            .user(&user_id)
            .and_then(|u| u.default_project_id.clone())
            .filter(|p| directory.roles_on(&user_id, p).is_ok())
            .map_or(Scope::Unscoped, Scope::Project)
    });
    let new = NewToken {
        user_id,
        scope,
        expires_at: context.expires_at,
        parent_audit_id: context.parent_audit_id.clone(),
        methods: context.sorted_methods(),
    };
    match identity.issue(&state.cloud, new).await {
        Ok(Ok(token)) => {
            // The audit id names the token in logs; its id never appears.
            tracing::info!(
                user_id = %token.user_id,
                project_id = token.project_id.as_deref().unwrap_or(""),
                audit_id = %token.audit_id,
                "token issued"
            );
            let with_catalog = !query.contains_key("nocatalog");
            token_response(
                identity,
                &headers,
                &token,
                &token.id,
                StatusCode::CREATED,
                with_catalog,
            )
        }
        Ok(Err(_)) => unauthorized(&state, &headers),
        Err(error) => store_failure(error),
    }
}

/// Keystone's token actions, each with its default rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenAction {
    Validate,
    Check,
    Revoke,
}

impl TokenAction {
    fn name(self) -> &'static str {
        match self {
            TokenAction::Validate => "identity:validate_token",
            TokenAction::Check => "identity:check_token",
            TokenAction::Revoke => "identity:revoke_token",
        }
    }

    /// `keystone/common/policies/token.py`: admins (any scope), system
    /// readers (not for revoke), services (validate only), and the subject
    /// token's own user (with any of its tokens).
    fn allows(self, caller: &Token, subject_user: Option<&str>) -> bool {
        let has = |role: &str| caller.roles.iter().any(|r| r == role);
        let admin = has("admin");
        let system_reader = has("reader") && caller.system;
        let service = has("service");
        let subject = subject_user == Some(caller.user_id.as_str());
        match self {
            TokenAction::Validate => admin || system_reader || service || subject,
            TokenAction::Check => admin || system_reader || subject,
            TokenAction::Revoke => admin || subject,
        }
    }
}

/// Keystone's order for GET, HEAD and DELETE: the caller's token (401), the
/// subject token when the header is there (404), the policy (403), a
/// missing header (404). The subject token, valid.
async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    action: TokenAction,
) -> Result<std::sync::Arc<Token>, Response> {
    let identity = identity_of(state);
    let caller = header_str(headers, "x-auth-token").unwrap_or("");
    let Lookup::Valid(caller) = identity
        .lookup(&state.cloud, caller, 0)
        .await
        .map_err(store_failure)?
    else {
        return Err(unauthorized(state, headers));
    };
    let window = if bool_from_string(query.get("allow_expired"), false) {
        crate::auth::builtin::ALLOW_EXPIRED_WINDOW
    } else {
        0
    };
    let subject = match headers.get(&SUBJECT_TOKEN) {
        None => None,
        Some(value) => {
            let id = value.to_str().unwrap_or("");
            match identity
                .lookup(&state.cloud, id, window)
                .await
                .map_err(store_failure)?
            {
                Lookup::Valid(token) => Some(token),
                invalid => return Err(not_found(invalid.not_found_message())),
            }
        }
    };
    if !action.allows(&caller, subject.as_ref().map(|t| t.user_id.as_str())) {
        tracing::info!(
            user_id = %caller.user_id,
            action = action.name(),
            "token action refused by policy"
        );
        return Err(forbidden(action.name()));
    }
    subject.ok_or_else(|| not_found(Lookup::Missing.not_found_message()))
}

/// `GET`/`HEAD /identity/v3/auth/tokens`: the subject token's body.
///
/// Validate the `X-Subject-Token` (builtin auth mode only), authenticated
/// by `X-Auth-Token`: allowed to the token's own user, admins, system
/// readers and (GET only) services. `?nocatalog` leaves the catalog out;
/// `?allow_expired=1` shows a token expired less than 48 hours ago.
#[utoipa::path(
    method(get, head),
    path = "/identity/v3/auth/tokens",
    tag = "identity",
    params(
        ("X-Subject-Token" = String, Header, description = "The token to validate."),
        ("nocatalog" = Option<String>, Query, description = "Present: no `catalog` in the body."),
        ("allow_expired" = Option<String>, Query, description = "True: an expired (not revoked) token is still shown, for 48 hours."),
    ),
    responses(
        (status = 200, description = "Valid (HEAD: no body).", body = TokenResponse,
            headers(("X-Subject-Token" = String, description = "The validated token."))),
        (status = 401, description = "`X-Auth-Token` missing or invalid.", body = KeystoneError),
        (status = 403, description = "The caller may not validate this token.", body = KeystoneError),
        (status = 404, description = "The subject token is missing or not valid.", body = KeystoneError),
    ),
    security(("X-Auth-Token" = [])),
)]
pub async fn validate_token(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let action = if method == Method::HEAD {
        TokenAction::Check
    } else {
        TokenAction::Validate
    };
    let token = match authorize(&state, &headers, &query, action).await {
        Ok(token) => token,
        Err(response) => return response,
    };
    let subject = header_str(&headers, "x-subject-token").unwrap_or("");
    token_response(
        identity_of(&state),
        &headers,
        &token,
        subject,
        StatusCode::OK,
        !query.contains_key("nocatalog"),
    )
}

/// `DELETE /identity/v3/auth/tokens`: revoke the subject token, 204.
///
/// Revoke the `X-Subject-Token` (builtin auth mode only), authenticated by
/// `X-Auth-Token`: allowed to the token's own user and admins. Every token
/// obtained from it with the token method is revoked too, unless
/// `?cascade=false`.
#[utoipa::path(
    delete,
    path = "/identity/v3/auth/tokens",
    tag = "identity",
    params(
        ("X-Subject-Token" = String, Header, description = "The token to revoke."),
        ("cascade" = Option<String>, Query, description = "False: only this token, not those obtained from it."),
    ),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, description = "`X-Auth-Token` missing or invalid.", body = KeystoneError),
        (status = 403, description = "The caller may not revoke this token (or it is a static token).", body = KeystoneError),
        (status = 404, description = "The subject token is missing or not valid.", body = KeystoneError),
        (status = 503, description = "The revocation could not be stored.", body = KeystoneError),
    ),
    security(("X-Auth-Token" = [])),
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let token = match authorize(&state, &headers, &query, TokenAction::Revoke).await {
        Ok(token) => token,
        Err(response) => return response,
    };
    let identity = identity_of(&state);
    // `?allow_expired` shows an expired token to the policy, not to revocation.
    if !token.valid_at(crate::domain::model::now()) {
        return not_found(Lookup::Invalid.not_found_message());
    }
    let cascade = bool_from_string(query.get("cascade"), true);
    match identity.revoke(&state.cloud, &token, cascade).await {
        Ok(true) => {
            tracing::info!(audit_id = %token.audit_id, cascade, "token revoked");
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(false) => forbidden(TokenAction::Revoke.name()),
        Err(error) => store_failure(error),
    }
}

/// `GET /identity/v3/auth/catalog`.
#[derive(Serialize, ToSchema)]
pub struct CatalogResponse {
    pub catalog: Vec<CatalogService>,
    pub links: CatalogLinks,
}

#[derive(Serialize, ToSchema)]
pub struct CatalogLinks {
    #[serde(rename = "self")]
    pub self_link: String,
}

/// `GET /identity/v3/auth/catalog`: the catalog of the caller's project.
///
/// The service catalog of the `X-Auth-Token`'s project (builtin auth mode
/// only); a token without a project has none (403).
#[utoipa::path(
    get,
    path = "/identity/v3/auth/catalog",
    tag = "identity",
    responses(
        (status = 200, description = "The catalog.", body = CatalogResponse),
        (status = 401, description = "`X-Auth-Token` missing or invalid.", body = KeystoneError),
        (status = 403, description = "The token is not scoped to a project.", body = KeystoneError),
    ),
    security(("X-Auth-Token" = [])),
)]
pub async fn auth_catalog(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let identity = identity_of(&state);
    let caller = header_str(&headers, "x-auth-token").unwrap_or("");
    let caller = match identity.lookup(&state.cloud, caller, 0).await {
        Ok(Lookup::Valid(caller)) => caller,
        Ok(_) => return unauthorized(&state, &headers),
        Err(error) => return store_failure(error),
    };
    let Some(project) = caller.project_id.as_deref() else {
        return identity_error(
            StatusCode::FORBIDDEN,
            "You are not authorized to perform the requested action.",
        );
    };
    let base = public_base(identity, &headers);
    let body = CatalogResponse {
        catalog: catalog(identity, &base, Some(project)),
        links: CatalogLinks {
            self_link: format!("{base}/identity/v3/auth/catalog"),
        },
    };
    // flask-restful's JSON: Python's separators and a trailing newline.
    let mut bytes = crate::api::response::to_json(&body);
    bytes.push(b'\n');
    with_content_type(StatusCode::OK, bytes, "application/json")
}

/// Keystone's timestamps: `2026-11-28T04:10:00.000000Z`.
fn keystone_time(micros: i64) -> String {
    format!("{}Z", format_time(micros))
}

/// Keystone's token body, with the `X-Subject-Token` header.
fn token_response(
    identity: &BuiltinKeystone,
    headers: &HeaderMap,
    token: &Token,
    subject: &str,
    status: StatusCode,
    with_catalog: bool,
) -> Response {
    let directory = &identity.directory;
    let domain = |id: &str| IdName {
        id: id.to_owned(),
        name: directory
            .domain(id)
            .map_or(id, |d| d.name.as_str())
            .to_owned(),
    };
    let user = directory.user(&token.user_id);
    let scope = token.scope();
    let project = match &scope {
        Scope::Project(p) => directory.project(p),
        _ => None,
    };
    let scoped = scope != Scope::Unscoped;
    let body = TokenBody {
        methods: token.methods.clone(),
        user: TokenUser {
            domain: domain(user.map_or("default", |u| u.domain_id.as_str())),
            id: token.user_id.clone(),
            name: user.map_or("", |u| u.name.as_str()).to_owned(),
            password_expires_at: None,
        },
        audit_ids: token.audit_ids(),
        expires_at: token.expires_at.map(keystone_time),
        issued_at: keystone_time(token.issued_at),
        project: project.map(|project| TokenProject {
            domain: domain(&project.domain_id),
            id: project.id.clone(),
            name: project.name.clone(),
        }),
        is_domain: project.map(|_| false),
        domain: token.domain_id.as_deref().map(domain),
        roles: scoped.then(|| {
            token
                .roles
                .iter()
                .map(|r| IdName {
                    id: derived_id("role", r),
                    name: r.clone(),
                })
                .collect()
        }),
        system: token.system.then_some(SystemScope { all: true }),
        catalog: (scoped && with_catalog).then(|| {
            catalog(
                identity,
                &public_base(identity, headers),
                token.project_id.as_deref(),
            )
        }),
    };
    let mut response = json_response(status, &TokenResponse { token: body });
    if let Ok(value) = HeaderValue::from_str(subject) {
        response.headers_mut().insert(SUBJECT_TOKEN.clone(), value);
    }
    response
}

/// The service catalog: porthole's identity, and its compute API, whose
/// URL names the project (no endpoints in a token without one).
fn catalog(
    identity: &BuiltinKeystone,
    base: &str,
    project_id: Option<&str>,
) -> Vec<CatalogService> {
    let service = |kind: &str, name: &str, url: Option<String>| CatalogService {
        endpoints: url
            .map(|url| {
                ["public", "internal", "admin"]
                    .iter()
                    .map(|interface| CatalogEndpoint {
                        id: derived_id("endpoint", &format!("{kind}:{interface}")),
                        interface: (*interface).to_owned(),
                        region_id: identity.region.clone(),
                        url: url.clone(),
                        region: identity.region.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        id: derived_id("service", kind),
        service_type: kind.to_owned(),
        name: name.to_owned(),
    };
    vec![
        service("identity", "keystone", Some(format!("{base}/identity/v3"))),
        service(
            "compute",
            "nova",
            project_id.map(|project| format!("{base}/v2.1/{project}")),
        ),
        service(
            "network",
            "neutron",
            project_id.map(|_| format!("{base}/networking")),
        ),
        service(
            "image",
            "glance",
            project_id.map(|_| format!("{base}/image")),
        ),
    ]
}
