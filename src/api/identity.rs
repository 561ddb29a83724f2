//! The builtin Keystone v3 API (`/identity`): version documents and
//! `/v3/auth/tokens` (issue, validate, check, revoke), with its wire types.
//! Keystone's errors are `{"error": {"code", "title", "message"}}`, not Nova
//! faults. Served in auth mode `builtin` only.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::fault::{keystone_error, refusal_response, KeystoneError};
use super::response::{base_url, format_time, json_response, Link, MediaType};
use crate::app::AppState;
use crate::auth::{BuiltinKeystone, Refusal};
use crate::domain::directory::{derived_id, AuthError, NamedRef, Token};

static SUBJECT_TOKEN: HeaderName = HeaderName::from_static("x-subject-token");
const IDENTITY_UPDATED: &str = "2024-04-03T00:00:00Z";
const IDENTITY_VERSION: &str = "v3.14";

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
    /// A project scope; without it, the user's default project if any.
    pub scope: Option<AuthScope>,
}

#[derive(Deserialize, ToSchema)]
pub struct AuthIdentity {
    /// `password` or `token`.
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

#[derive(Deserialize, ToSchema)]
pub struct AuthScope {
    pub project: NamedScope,
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
    pub region: String,
    pub region_id: String,
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct CatalogService {
    pub endpoints: Vec<CatalogEndpoint>,
    pub id: String,
    /// `compute` or `identity`.
    #[serde(rename = "type")]
    pub service_type: String,
    pub name: String,
}

/// A token. `project`, `is_domain`, `roles` and `catalog` only when scoped
/// to a project (`catalog` not with `?nocatalog`).
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
    pub roles: Option<Vec<IdName>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub catalog: Option<Vec<CatalogService>>,
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
/// Answers any method with 300, as Keystone does.
#[utoipa::path(
    get,
    path = "/identity/",
    tag = "identity",
    responses((status = 300, description = "The one version, v3.", body = IdentityVersionList)),
)]
pub async fn identity_versions(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = public_base(identity_of(&state), &headers);
    let body = IdentityVersionList {
        versions: IdentityVersionValues {
            values: vec![v3_entry(&base)],
        },
    };
    json_response(StatusCode::MULTIPLE_CHOICES, &body)
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

/// keystonemiddleware's 401, pointing at this Keystone.
fn unauthorized(state: &AppState, headers: &HeaderMap) -> Response {
    let refusal = Refusal::Unauthorized {
        www_authenticate: None,
    };
    refusal_response(&refusal, &state.identity_url(headers), headers)
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
    tracing::error!(%error, "store failure");
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
pub async fn issue_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let identity = identity_of(&state);
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
                return unauthorized(&state, &headers);
            }
        }
    } else if methods.iter().any(|m| m == "token") {
        let Some(id) = auth.pointer("/identity/token/id").and_then(Value::as_str) else {
            return bad_request("'id' is a required property");
        };
        match identity.validate(&state.cloud, id).await {
            Some(token) => (token.user_id.clone(), token.expires_at),
            None => return unauthorized(&state, &headers),
        }
    } else {
        return unauthorized(&state, &headers);
    };
    let project_id = match auth.get("scope") {
        Some(scope) => match scope.get("project") {
            Some(project) => match directory.find_project(&named_ref(project)) {
                Ok(project) => Some(project.id.clone()),
                Err(AuthError::Invalid(message)) => return bad_request(&message),
                Err(_) => return unauthorized(&state, &headers),
            },
            // Domain and system scopes are not served: nothing here uses them.
            None => return unauthorized(&state, &headers),
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
        Ok(Err(_)) => unauthorized(&state, &headers),
        Err(error) => store_failure(error),
    }
}

#[derive(serde::Deserialize)]
pub struct ValidateQuery {
    pub nocatalog: Option<String>,
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
pub async fn validate_token(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<ValidateQuery>,
) -> Response {
    let identity = identity_of(&state);
    if identity
        .validate(
            &state.cloud,
            header_str(&headers, "x-auth-token").unwrap_or(""),
        )
        .await
        .is_none()
    {
        return unauthorized(&state, &headers);
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
pub async fn revoke_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let identity = identity_of(&state);
    if identity
        .validate(
            &state.cloud,
            header_str(&headers, "x-auth-token").unwrap_or(""),
        )
        .await
        .is_none()
    {
        return unauthorized(&state, &headers);
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

fn keystone_time(micros: i64) -> String {
    format!("{}Z", format_time(micros))
}

/// Keystone's token body, with the `X-Subject-Token` header.
fn token_response(
    identity: &BuiltinKeystone,
    headers: &HeaderMap,
    token: &Token,
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
    let project = token
        .project_id
        .as_deref()
        .and_then(|p| directory.project(p));
    let body = TokenBody {
        methods: token.methods.clone(),
        user: TokenUser {
            domain: domain(user.map_or("default", |u| u.domain_id.as_str())),
            id: token.user_id.clone(),
            name: user.map_or("", |u| u.name.as_str()).to_owned(),
            password_expires_at: None,
        },
        audit_ids: vec![token.audit_id.clone()],
        expires_at: token.expires_at.map(keystone_time),
        issued_at: keystone_time(token.issued_at),
        project: project.map(|project| TokenProject {
            domain: domain(&project.domain_id),
            id: project.id.clone(),
            name: project.name.clone(),
        }),
        is_domain: project.map(|_| false),
        roles: project.map(|_| {
            token
                .roles
                .iter()
                .map(|r| IdName {
                    id: derived_id("role", r),
                    name: r.clone(),
                })
                .collect()
        }),
        catalog: project
            .filter(|_| with_catalog)
            .map(|project| catalog(identity, &public_base(identity, headers), &project.id)),
    };
    let mut response = json_response(status, &TokenResponse { token: body });
    if let Ok(value) = HeaderValue::from_str(&token.id) {
        response.headers_mut().insert(SUBJECT_TOKEN.clone(), value);
    }
    response
}

/// The service catalog: porthole's compute API for the project, and its identity.
fn catalog(identity: &BuiltinKeystone, base: &str, project_id: &str) -> Vec<CatalogService> {
    let service = |kind: &str, name: &str, url: String| CatalogService {
        endpoints: ["public", "internal", "admin"]
            .iter()
            .map(|interface| CatalogEndpoint {
                id: derived_id("endpoint", &format!("{kind}:{interface}")),
                interface: (*interface).to_owned(),
                region: identity.region.clone(),
                region_id: identity.region.clone(),
                url: url.clone(),
            })
            .collect(),
        id: derived_id("service", kind),
        service_type: kind.to_owned(),
        name: name.to_owned(),
    };
    vec![
        service("compute", "nova", format!("{base}/v2.1/{project_id}")),
        service("identity", "keystone", format!("{base}/identity")),
    ]
}
