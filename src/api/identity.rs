//! The builtin Keystone v3 surface (`/identity`): version documents, and
//! `/v3/auth/tokens` (issue, validate, revoke); and keystonemiddleware's 401.
//! Keystone's errors are `{"error": {"code", "title", "message"}}`, not Nova faults.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use serde_json::{json, Value};

use super::fault::WebObPage;
use super::instance_actions::format_time;
use super::json::to_json;
use super::openapi::{
    IdentityVersionDocument, IdentityVersionList, KeystoneError, TokenRequest, TokenResponse,
};
use super::versions::base_url;
use crate::app::AppState;
use crate::domain::identity::{derived_id, AuthError, NamedRef, Token};
use crate::identity::Identity;

static SUBJECT_TOKEN: HeaderName = HeaderName::from_static("x-subject-token");
const UNAUTHORIZED_MESSAGE: &str = "The request you have made requires authentication.";
const IDENTITY_UPDATED: &str = "2024-04-03T00:00:00Z";
const IDENTITY_VERSION: &str = "v3.14";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/identity", any(identity_versions))
        .route("/identity/", any(identity_versions))
        .route("/identity/v3", get(identity_v3))
        .route("/identity/v3/", get(identity_v3))
        .route(
            "/identity/v3/auth/tokens",
            get(validate_token)
                .head(validate_token)
                .post(issue_token)
                .delete(revoke_token),
        )
}

/// The base URL of catalog entries and of `WWW-Authenticate`.
pub fn public_base(identity: Option<&Identity>, headers: &HeaderMap) -> String {
    identity
        .and_then(|i| i.public_url.clone())
        .unwrap_or_else(|| base_url(headers))
}

/// Keystone's (and keystonemiddleware's) error body.
fn keystone_error(status: StatusCode, title: &str, message: &str) -> Response {
    let body = json!({"error": {"code": status.as_u16(), "title": title, "message": message}});
    // Python's json.dumps separators, as keystonemiddleware and Keystone write them.
    let mut response = (status, to_json(&body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}

/// keystonemiddleware's rejection of a missing or invalid token: before
/// Nova's resource layer, so no microversion headers.
pub fn unauthorized(www_authenticate_uri: &str) -> Response {
    let mut response = keystone_error(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        UNAUTHORIZED_MESSAGE,
    );
    if let Ok(value) = HeaderValue::from_str(&format!("Keystone uri=\"{www_authenticate_uri}\"")) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response.extensions_mut().insert(WebObPage);
    response
}

fn json_ok(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, to_json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn v3_entry(base: &str) -> Value {
    json!({
        "id": IDENTITY_VERSION,
        "status": "stable",
        "updated": IDENTITY_UPDATED,
        "links": [{"rel": "self", "href": format!("{base}/identity/v3/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

/// The Identity API's versions (builtin auth mode only).
///
/// Answers any method with 300, as Keystone does.
#[utoipa::path(
    get,
    path = "/identity/",
    tag = "identity",
    responses((status = 300, description = "The one version, v3.", body = IdentityVersionList)),
)]
async fn identity_versions(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = public_base(state.identity.as_ref(), &headers);
    json_ok(
        StatusCode::MULTIPLE_CHOICES,
        &json!({"versions": {"values": [v3_entry(&base)]}}),
    )
}

/// The Identity v3 version document (builtin auth mode only).
#[utoipa::path(
    get,
    path = "/identity/v3/",
    tag = "identity",
    responses((status = 200, description = "The v3 version document.", body = IdentityVersionDocument)),
)]
async fn identity_v3(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = public_base(state.identity.as_ref(), &headers);
    json_ok(StatusCode::OK, &json!({"version": v3_entry(&base)}))
}

fn identity_of(state: &AppState) -> &Identity {
    state
        .identity
        .as_ref()
        .expect("identity routes only in builtin mode")
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn bad_request(message: &str) -> Response {
    keystone_error(StatusCode::BAD_REQUEST, "Bad Request", message)
}

fn named_ref(value: &Value) -> NamedRef {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let domain = value.get("domain").cloned().unwrap_or(Value::Null);
    NamedRef {
        id: text(value, "id"),
        name: text(value, "name"),
        domain_id: text(&domain, "id"),
        domain_name: text(&domain, "name"),
    }
}

fn store_failure(error: crate::store::StoreError) -> Response {
    tracing::error!(%error, "cannot store a token");
    keystone_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable",
        "The service is temporarily unavailable.",
    )
}

/// `POST /identity/v3/auth/tokens`: password or token, project scope by id or name + domain.
///
/// Issue a token (builtin auth mode only): by password or by another token,
/// scoped to a project by id or by name and domain; unscoped, the user's
/// default project. The token is the `X-Subject-Token` response header.
#[utoipa::path(
    post,
    path = "/identity/v3/auth/tokens",
    tag = "identity",
    request_body(content = TokenRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued.", body = TokenResponse,
            headers(("X-Subject-Token" = String, description = "The new token."))),
        (status = 400, description = "A malformed request.", body = KeystoneError),
        (status = 401, description = "Wrong credentials, an invalid token, or a project the user has no role on.", body = KeystoneError),
        (status = 503, description = "The token could not be stored.", body = KeystoneError),
    ),
)]
async fn issue_token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let identity = identity_of(&state);
    let www = format!("{}/identity", public_base(Some(identity), &headers));
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("Expecting to find auth in request body.");
    };
    let Some(auth) = request.get("auth") else {
        return bad_request("'auth' is a required property");
    };
    let Some(methods) = auth
        .pointer("/identity/methods")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
    else {
        return bad_request("'identity' with 'methods' is a required property");
    };
    let methods: Vec<String> = methods
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let directory = &identity.directory;
    let (user_id, expires_at) = if methods.iter().any(|m| m == "password") {
        let Some(user) = auth.pointer("/identity/password/user") else {
            return bad_request("'user' is a required property");
        };
        let password = user.get("password").and_then(Value::as_str).unwrap_or("");
        let named = named_ref(user);
        match directory.check_password(&named, password) {
            Ok(user) => (user.id.clone(), None),
            Err(AuthError::Invalid(message)) => return bad_request(&message),
            Err(_) => {
                // Who tried, never with what.
                let user = named.name.as_deref().or(named.id.as_deref()).unwrap_or("");
                tracing::info!(user, "password authentication failed");
                return unauthorized(&www);
            }
        }
    } else if methods.iter().any(|m| m == "token") {
        let Some(id) = auth.pointer("/identity/token/id").and_then(Value::as_str) else {
            return bad_request("'id' is a required property");
        };
        match identity.validate(&state.cloud, id).await {
            Some(token) => (token.user_id.clone(), token.expires_at),
            None => return unauthorized(&www),
        }
    } else {
        return unauthorized(&www);
    };
    let project_id = match auth.get("scope") {
        Some(scope) => match scope.get("project") {
            Some(project) => match directory.find_project(&named_ref(project)) {
                Ok(project) => Some(project.id.clone()),
                Err(AuthError::Invalid(message)) => return bad_request(&message),
                Err(_) => return unauthorized(&www),
            },
            // Domain and system scopes are not served: nothing here uses them.
            None => return unauthorized(&www),
        },
        None => directory
            .user(&user_id)
            .and_then(|u| u.default_project_id.clone())
            .filter(|p| directory.roles_on(&user_id, p).is_ok()),
    };
    match identity
        .issue(
            &state.cloud,
            &user_id,
            project_id.as_deref(),
            methods,
            expires_at,
        )
        .await
    {
        Ok(Ok(token)) => {
            // The audit id names the token in logs; its id never appears.
            tracing::info!(
                user_id = %token.user_id,
                project_id = token.project_id.as_deref().unwrap_or(""),
                audit_id = %token.audit_id,
                "token issued"
            );
            token_response(identity, &headers, &token, StatusCode::CREATED, true)
        }
        Ok(Err(_)) => unauthorized(&www),
        Err(error) => store_failure(error),
    }
}

#[derive(serde::Deserialize)]
struct ValidateQuery {
    nocatalog: Option<String>,
}

/// `GET`/`HEAD /identity/v3/auth/tokens`: the subject token's body.
///
/// Validate the `X-Subject-Token` (builtin auth mode only), authenticated
/// by `X-Auth-Token`. `?nocatalog` leaves the catalog out.
#[utoipa::path(
    method(get, head),
    path = "/identity/v3/auth/tokens",
    tag = "identity",
    params(
        ("X-Subject-Token" = String, Header, description = "The token to validate."),
        ("nocatalog" = Option<String>, Query, description = "Present: no `catalog` in the body."),
    ),
    responses(
        (status = 200, description = "Valid (HEAD: no body).", body = TokenResponse,
            headers(("X-Subject-Token" = String, description = "The validated token."))),
        (status = 401, description = "`X-Auth-Token` missing or invalid.", body = KeystoneError),
        (status = 404, description = "The subject token is not valid.", body = KeystoneError),
    ),
    security(("X-Auth-Token" = [])),
)]
async fn validate_token(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<ValidateQuery>,
) -> Response {
    let identity = identity_of(&state);
    if let Err(response) = authenticate(&state, identity, &headers).await {
        return response;
    }
    let subject = header_str(&headers, "x-subject-token").unwrap_or("");
    let Some(token) = identity.validate(&state.cloud, subject).await else {
        return keystone_error(
            StatusCode::NOT_FOUND,
            "Not Found",
            &format!("Could not find token: {subject}."),
        );
    };
    let mut response = token_response(
        identity,
        &headers,
        &token,
        StatusCode::OK,
        query.nocatalog.is_none(),
    );
    if method == Method::HEAD {
        *response.body_mut() = axum::body::Body::empty();
    }
    response
}

/// `DELETE /identity/v3/auth/tokens`: revoke the subject token, 204.
///
/// Revoke the `X-Subject-Token` (builtin auth mode only), authenticated by
/// `X-Auth-Token`.
#[utoipa::path(
    delete,
    path = "/identity/v3/auth/tokens",
    tag = "identity",
    params(("X-Subject-Token" = String, Header, description = "The token to revoke.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, description = "`X-Auth-Token` missing or invalid.", body = KeystoneError),
        (status = 404, description = "The subject token is not valid.", body = KeystoneError),
        (status = 503, description = "The revocation could not be stored.", body = KeystoneError),
    ),
    security(("X-Auth-Token" = [])),
)]
async fn revoke_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let identity = identity_of(&state);
    if let Err(response) = authenticate(&state, identity, &headers).await {
        return response;
    }
    let subject = header_str(&headers, "x-subject-token").unwrap_or("");
    match identity.revoke(&state.cloud, subject).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => keystone_error(
            StatusCode::NOT_FOUND,
            "Not Found",
            &format!("Could not find token: {subject}."),
        ),
        Err(error) => store_failure(error),
    }
}

async fn authenticate(
    state: &AppState,
    identity: &Identity,
    headers: &HeaderMap,
) -> Result<std::sync::Arc<Token>, Response> {
    let www = format!("{}/identity", public_base(Some(identity), headers));
    let token = header_str(headers, "x-auth-token").unwrap_or("");
    identity
        .validate(&state.cloud, token)
        .await
        .ok_or_else(|| unauthorized(&www))
}

fn keystone_time(micros: i64) -> String {
    format!("{}Z", format_time(micros))
}

/// Keystone's token body, with the `X-Subject-Token` header.
fn token_response(
    identity: &Identity,
    headers: &HeaderMap,
    token: &Token,
    status: StatusCode,
    with_catalog: bool,
) -> Response {
    let directory = &identity.directory;
    let domain_json = |id: &str| {
        let name = directory.domain(id).map(|d| d.name.as_str()).unwrap_or(id);
        json!({"id": id, "name": name})
    };
    let user = directory.user(&token.user_id);
    let mut body = json!({
        "methods": token.methods,
        "user": {
            "domain": domain_json(user.map(|u| u.domain_id.as_str()).unwrap_or("default")),
            "id": token.user_id,
            "name": user.map(|u| u.name.as_str()).unwrap_or(""),
            "password_expires_at": null,
        },
        "audit_ids": [token.audit_id],
        "expires_at": token.expires_at.map(keystone_time),
        "issued_at": keystone_time(token.issued_at),
    });
    if let Some(project) = token
        .project_id
        .as_deref()
        .and_then(|p| directory.project(p))
    {
        body["project"] = json!({
            "domain": domain_json(&project.domain_id),
            "id": project.id,
            "name": project.name,
        });
        body["is_domain"] = json!(false);
        body["roles"] = token
            .roles
            .iter()
            .map(|r| json!({"id": derived_id("role", r), "name": r}))
            .collect();
        if with_catalog {
            let base = public_base(Some(identity), headers);
            body["catalog"] = catalog(identity, &base, &project.id);
        }
    }
    let mut response = json_ok(status, &json!({ "token": body }));
    if let Ok(value) = HeaderValue::from_str(&token.id) {
        response.headers_mut().insert(SUBJECT_TOKEN.clone(), value);
    }
    response
}

/// The service catalog: porthole's compute API for the project, and its identity.
fn catalog(identity: &Identity, base: &str, project_id: &str) -> Value {
    let service = |kind: &str, name: &str, url: String| {
        let endpoints: Vec<Value> = ["public", "internal", "admin"]
            .iter()
            .map(|interface| {
                json!({
                    "id": derived_id("endpoint", &format!("{kind}:{interface}")),
                    "interface": interface,
                    "region": identity.region,
                    "region_id": identity.region,
                    "url": url,
                })
            })
            .collect();
        json!({"endpoints": endpoints, "id": derived_id("service", kind), "type": kind, "name": name})
    };
    json!([
        service("compute", "nova", format!("{base}/v2.1/{project_id}")),
        service("identity", "keystone", format!("{base}/identity")),
    ])
}
