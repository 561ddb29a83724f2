//! `GET /openapi.json`: the OpenAPI 3.1 document of every route, derived
//! from the code by `utoipa`.
//!
//! **To document a new route**, put `#[utoipa::path(...)]` on its handler
//! (see `interfaces::list_interfaces`) and add the handler's path, e.g.
//! `crate::api::control::reset`, to `paths(...)` in [`ApiDoc`] below: one
//! line here. `tests/openapi.rs` then shows the change in the snapshot.
//!
//! What the code shares between routes is added here, not repeated on each
//! handler ([`openapi`] does it in order):
//! - compute routes are written once, in their `/v2.1/{project_id}/...`
//!   form; the `/v2.1/...` form is cloned from it ([`add_url_forms`]);
//! - paths that differ by a trailing slash only are cloned ([`ALIASES`]);
//! - everything `middleware::compute_api` does for every `/v2.1` route:
//!   the microversion headers, the 400/401/406/415 it answers itself, the
//!   `X-Auth-Token` requirement, the response headers ([`add_compute_pipeline`]);
//! - a response documented as `body = NovaFault` becomes the envelope of its
//!   status, named by `error::fault_name` ([`name_faults`]).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::body::Bytes;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::response::{Response as ApiResponse, ResponseBuilder};
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Header, RefOr, Required};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::domain::ApiVersion;
use crate::error::fault_name;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "porthole",
        description = "A standalone, Nova-compatible `os-interface` server: Nova's compute API \
            for attaching and detaching port interfaces (microversions 2.1 to 2.104), its \
            instance actions, version documents and a builtin Keystone token API.",
    ),
    paths(
        crate::api::interfaces::list_interfaces,
        crate::api::interfaces::attach_interface,
        crate::api::interfaces::show_interface,
        crate::api::interfaces::detach_interface,
        crate::api::instance_actions::list_instance_actions,
        crate::api::instance_actions::show_instance_action,
        crate::api::versions::root,
        crate::api::versions::v20,
        crate::api::versions::v21,
        crate::api::versions::show_version,
        crate::api::identity::identity_versions,
        crate::api::identity::identity_v3,
        crate::api::identity::issue_token,
        crate::api::identity::validate_token,
        crate::api::identity::revoke_token,
        openapi_json,
        crate::api::health::healthz,
        crate::api::health::readyz,
        crate::metrics::scrape,
        crate::api::control::reset,
        crate::api::control::seed,
        crate::api::control::dump_state,
        crate::api::control::create_server,
        crate::api::control::update_server,
        crate::api::control::delete_server,
        crate::api::control::add_fault,
        crate::api::control::list_faults,
        crate::api::control::clear_faults,
        crate::api::control::delete_fault,
    ),
    components(schemas(FaultDetail)),
    tags(
        (name = "os-interface", description = "Attach, list, show and detach a server's port interfaces."),
        (name = "os-instance-actions", description = "The records of attach and detach."),
        (name = "versions", description = "Version discovery."),
        (name = "identity", description = "The builtin Keystone v3 subset (auth mode `builtin` only)."),
        (name = "meta", description = "About this server."),
        (name = "control", description = "porthole's control plane for test suites (admin only; `--control-plane off` removes it)."),
    ),
)]
pub struct ApiDoc;

/// The whole document: [`ApiDoc`] and what the routes share.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    add_url_forms(&mut doc);
    for (path, alias) in ALIASES {
        alias_path(&mut doc, path, alias);
    }
    add_compute_pipeline(&mut doc);
    add_control_pipeline(&mut doc);
    name_faults(&mut doc);
    unique_operation_ids(&mut doc);
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "X-Auth-Token",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Auth-Token",
            "A Keystone token (auth modes `builtin` and `keystone`). In `noauth` mode any \
             value or none is accepted; `<user>:<project>` names the caller.",
        ))),
    );
    doc
}

static DOCUMENT: LazyLock<Bytes> = LazyLock::new(|| {
    Bytes::from(
        openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serializes"),
    )
});

/// This document.
///
/// Outside Nova's pipeline: no token, no microversion.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "This OpenAPI document.", content_type = "application/json", body = Object)),
)]
pub async fn openapi_json() -> Response {
    let mut response = (StatusCode::OK, DOCUMENT.clone()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

// --- what the routes share

const PROJECT_PREFIX: &str = "/v2.1/{project_id}/";

/// Paths served the same with and without a trailing slash: (documented, clone).
const ALIASES: &[(&str, &str)] = &[
    ("/v2.1/", "/v2.1"),
    ("/v2/", "/v2"),
    ("/identity/", "/identity"),
    ("/identity/v3/", "/identity/v3"),
];

/// The operations of a path item, with their methods.
fn operations(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("options", item.options.as_mut()),
        ("head", item.head.as_mut()),
        ("patch", item.patch.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.map(|op| (method, op)))
}

/// Each `/v2.1/{project_id}/...` path also without the project: Nova routes
/// both forms at every microversion. The project form's operation ids end
/// in `_with_project_id`.
fn add_url_forms(doc: &mut utoipa::openapi::OpenApi) {
    let project_paths: Vec<String> = doc
        .paths
        .paths
        .keys()
        .filter(|p| p.starts_with(PROJECT_PREFIX))
        .cloned()
        .collect();
    for path in project_paths {
        let item = doc.paths.paths.get_mut(&path).expect("listed");
        let mut plain = item.clone();
        for (_, op) in operations(item) {
            op.operation_id = op.operation_id.take().map(|id| id + "_with_project_id");
        }
        for (_, op) in operations(&mut plain) {
            if let Some(params) = op.parameters.as_mut() {
                params.retain(|p| p.name != "project_id");
            }
        }
        let plain_path = format!("/v2.1/{}", &path[PROJECT_PREFIX.len()..]);
        doc.paths.paths.insert(plain_path, plain);
    }
}

/// `alias` served as `path` is; the clone's operation ids end in `_alias`.
fn alias_path(doc: &mut utoipa::openapi::OpenApi, path: &str, alias: &str) {
    let mut item = doc
        .paths
        .paths
        .get(path)
        .unwrap_or_else(|| panic!("{path} is documented"))
        .clone();
    for (_, op) in operations(&mut item) {
        op.operation_id = op.operation_id.take().map(|id| id + "_alias");
    }
    doc.paths.paths.insert(alias.to_owned(), item);
}

/// An operation id used again (one handler serving GET and HEAD) gets
/// `_<method>` appended.
fn unique_operation_ids(doc: &mut utoipa::openapi::OpenApi) {
    let mut seen = std::collections::BTreeSet::new();
    for item in doc.paths.paths.values_mut() {
        for (method, op) in operations(item) {
            if let Some(id) = op.operation_id.as_mut() {
                if !seen.insert(id.clone()) {
                    id.push('_');
                    id.push_str(method);
                    assert!(seen.insert(id.clone()), "operation id {id} is unique");
                }
            }
        }
    }
}

fn string_schema() -> Object {
    ObjectBuilder::new().schema_type(Type::String).build()
}

fn header_param(name: &str, description: &str, example: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(string_schema()))
        .example(Some(serde_json::Value::from(example)))
        .build()
}

fn response_header(description: &str) -> Header {
    let mut header = Header::new(string_schema());
    header.description = Some(description.to_owned());
    header
}

/// Add `description` to the operation's `status` response, or the response.
fn add_response(op: &mut Operation, status: u16, description: &str, body: Option<&str>) {
    let responses = &mut op.responses.responses;
    match responses.get_mut(&status.to_string()) {
        Some(RefOr::T(existing)) => {
            existing.description = format!("{} Or: {description}", existing.description);
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            let mut response = ResponseBuilder::new().description(description);
            if let Some(schema) = body {
                response = response.content(
                    "application/json",
                    Content::new(Some(utoipa::openapi::Ref::from_schema_name(schema))),
                );
            }
            responses.insert(status.to_string(), RefOr::T(response.build()));
        }
    }
}

/// What `control::require_admin` does on every `/_porthole` route.
fn add_control_pipeline(doc: &mut utoipa::openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with("/_porthole/") {
            continue;
        }
        for (_, op) in operations(item) {
            add_response(
                op,
                401,
                "No valid `X-Auth-Token` (auth modes `builtin` and `keystone`).",
                Some("KeystoneError"),
            );
            add_response(
                op,
                403,
                "Not an admin (`context_is_admin`; in `noauth`, `X-Roles` without `admin`).",
                Some("NovaFault"),
            );
            op.security = Some(vec![SecurityRequirement::new(
                "X-Auth-Token",
                Vec::<String>::new(),
            )]);
        }
    }
}

/// What `middleware::compute_api` does on every `/v2.1` route.
fn add_compute_pipeline(doc: &mut utoipa::openapi::OpenApi) {
    let version_header = header_param(
        "OpenStack-API-Version",
        &format!(
            "`compute <X.Y>` or `compute latest`: the microversion, {} to {} (default {}). \
             Among others: 2.49 accepts `tag` on attach, 2.70 shows `tag` in interfaces, \
             2.102 rejects query parameters on list and show.",
            ApiVersion::MIN,
            ApiVersion::MAX,
            ApiVersion::MIN
        ),
        "compute 2.70",
    );
    let legacy_header = header_param(
        "X-OpenStack-Nova-API-Version",
        "The legacy microversion header, read when `OpenStack-API-Version` names no compute version.",
        "2.70",
    );
    let mut headers = BTreeMap::new();
    headers.insert(
        "OpenStack-API-Version".to_owned(),
        response_header("`compute <X.Y>`: the microversion used."),
    );
    headers.insert(
        "X-OpenStack-Nova-API-Version".to_owned(),
        response_header("`<X.Y>`: the microversion used."),
    );
    headers.insert(
        "Vary".to_owned(),
        response_header("`OpenStack-API-Version` and `X-OpenStack-Nova-API-Version`."),
    );
    for name in ["X-OpenStack-Request-Id", "X-Compute-Request-Id"] {
        headers.insert(
            name.to_owned(),
            response_header("`req-<uuid>`: the request id, also that of its instance action."),
        );
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        if !(path == "/v2.1" || path.starts_with("/v2.1/")) {
            continue;
        }
        // keystonemiddleware lets only the bare version documents through.
        let public = path == "/v2.1" || path == "/v2.1/";
        for (_, op) in operations(item) {
            let params = op.parameters.get_or_insert_with(Vec::new);
            for param in params.iter_mut() {
                // A path parameter is required, and never null.
                if param.parameter_in == ParameterIn::Path {
                    param.required = Required::True;
                    param.schema = Some(string_schema().into());
                }
            }
            params.push(version_header.clone());
            params.push(legacy_header.clone());
            for (status, response) in op.responses.responses.iter_mut() {
                if let (true, RefOr::T(response)) = (status.starts_with('2'), response) {
                    response.headers.extend(headers.clone());
                }
            }
            add_response(
                op,
                400,
                "A microversion header of invalid format.",
                Some("NovaFault"),
            );
            if !public {
                add_response(
                    op,
                    401,
                    "No valid `X-Auth-Token` (keystonemiddleware's answer, not a Nova fault).",
                    Some("KeystoneError"),
                );
                op.security = Some(vec![SecurityRequirement::new(
                    "X-Auth-Token",
                    Vec::<String>::new(),
                )]);
            }
            // The router's 404 (a WebOb page): `compute_api`'s project-id
            // rule, and `only_routed_methods` on resource paths.
            let mut no_route = Vec::new();
            if path.contains("{project_id}") {
                no_route.push("a `{project_id}` that is not lower-case hex digits and dashes");
            }
            if path.contains("/servers/") || path.contains("/versions/") {
                no_route.push("a method not documented here");
            }
            if !no_route.is_empty() {
                let description = format!(
                    "No route ({}): a WebOb error page, not a fault.",
                    no_route.join("; ")
                );
                add_response(op, 404, &description, None);
            }
            add_response(
                op,
                406,
                "A microversion outside the supported range.",
                Some("NovaFault"),
            );
            add_response(
                op,
                415,
                "A `Content-Type` that is neither JSON nor `text/plain`.",
                Some("NovaFault"),
            );
        }
    }
}

/// Each `NovaFault` body becomes `Fault.<faultName>` for its status: the
/// one key that `error::fault_name` gives it.
fn name_faults(doc: &mut utoipa::openapi::OpenApi) {
    let placeholder = utoipa::openapi::Ref::from_schema_name("NovaFault").ref_location;
    let mut statuses = std::collections::BTreeSet::new();
    for item in doc.paths.paths.values_mut() {
        for (_, op) in operations(item) {
            for (status, response) in op.responses.responses.iter_mut() {
                let RefOr::T(ApiResponse { content, .. }) = response else {
                    continue;
                };
                for media in content.values_mut() {
                    if let Some(RefOr::Ref(schema)) = &mut media.schema {
                        if schema.ref_location == placeholder {
                            let status: u16 = status.parse().expect("a numeric status");
                            *schema =
                                utoipa::openapi::Ref::from_schema_name(fault_schema_name(status));
                            statuses.insert(status);
                        }
                    }
                }
            }
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.schemas.remove("NovaFault");
    for status in statuses {
        let name = fault_name(status);
        let schema = ObjectBuilder::new()
            .description(Some(format!(
                "Nova's fault envelope for {status}: `{{\"{name}\": {{\"code\": {status}, \"message\": ...}}}}`."
            )))
            .property(name, utoipa::openapi::Ref::from_schema_name("FaultDetail"))
            .required(name)
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)))
            .build();
        components
            .schemas
            .insert(fault_schema_name(status), RefOr::T(Schema::Object(schema)));
    }
}

fn fault_schema_name(status: u16) -> String {
    format!("Fault.{}", fault_name(status))
}

// --- schemas of bodies that the handlers build or read by hand

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

/// The attach body. Everything is optional: `{}` attaches the project's
/// one network. No other key is allowed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachInterfaceRequest {
    #[serde(rename = "interfaceAttachment")]
    #[schema(nullable = false)]
    pub interface_attachment: Option<InterfaceAttachmentRequest>,
}

/// What to attach: `port_id`, or `net_id` (optionally with one fixed IP),
/// or neither. No other key is allowed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterfaceAttachmentRequest {
    /// A network to create the port on; not with `port_id`.
    #[schema(nullable = false, format = Uuid)]
    pub net_id: Option<String>,
    /// An existing port of the server's project with no device.
    #[schema(nullable = false, format = Uuid)]
    pub port_id: Option<String>,
    /// Exactly one IP to ask for; only with `net_id`.
    #[schema(nullable = false, min_items = 1, max_items = 1)]
    pub fixed_ips: Option<Vec<RequestedIp>>,
    /// Microversion 2.49 and later (before, an unknown property): the
    /// device role tag, shown from 2.70.
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 60,
        pattern = "^[^,/]*$"
    )]
    pub tag: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestedIp {
    /// An IPv4 or IPv6 address in the network's subnets.
    #[schema(example = "192.168.1.10")]
    pub ip_address: String,
}

/// The list query of instance actions (microversion 2.58 and later).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionListQuery {
    /// At most this many actions (capped at 1000); a full page has a `next` link.
    pub limit: Option<u32>,
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
pub struct InstanceAction {
    /// `attach_interface` or `detach_interface`.
    #[schema(example = "attach_interface")]
    pub action: String,
    #[schema(format = Uuid)]
    pub instance_uuid: String,
    #[schema(example = "req-3293a3f1-b44c-4609-b8d2-d81b105636b8")]
    pub request_id: String,
    pub user_id: String,
    pub project_id: String,
    #[schema(example = "2026-11-28T04:10:00.123456")]
    pub start_time: String,
    /// `null`, or `Error` once an event failed.
    pub message: Option<String>,
    /// Microversion 2.58 and later.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "2026-11-28T04:10:00.123456")]
    pub updated_at: Option<String>,
}

/// An instance action with its events.
#[derive(Serialize, ToSchema)]
pub struct InstanceActionWithEvents {
    #[serde(flatten)]
    pub action: InstanceAction,
    /// For admins; for everyone from microversion 2.51.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub events: Option<Vec<InstanceActionEvent>>,
}

#[derive(Serialize, ToSchema)]
pub struct InstanceActionEvent {
    /// `compute_attach_interface` or `compute_detach_interface`.
    pub event: String,
    pub start_time: String,
    pub finish_time: Option<String>,
    /// `Success` or `Error`.
    pub result: Option<String>,
    /// Admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traceback: Option<String>,
    /// Admins only, microversion 2.62 and later.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub host: Option<String>,
    /// Microversion 2.62 and later: sha224 of project id and host.
    #[serde(rename = "hostId", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub host_id: Option<String>,
    /// Admins only, microversion 2.84 and later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InstanceActions {
    #[serde(rename = "instanceActions")]
    pub instance_actions: Vec<InstanceAction>,
    /// The `next` page, when `limit` filled this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub links: Option<Vec<Link>>,
}

#[derive(Serialize, ToSchema)]
pub struct OneInstanceAction {
    #[serde(rename = "instanceAction")]
    pub instance_action: InstanceActionWithEvents,
}

#[derive(Serialize, ToSchema)]
pub struct Link {
    #[schema(example = "self")]
    pub rel: String,
    pub href: String,
    /// On `describedby` links only.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub media_type: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MediaType {
    #[schema(example = "application/json")]
    pub base: String,
    #[serde(rename = "type")]
    #[schema(example = "application/vnd.openstack.compute+json;version=2.1")]
    pub media_type: String,
}

/// A compute API version.
#[derive(Serialize, ToSchema)]
pub struct Version {
    /// `v2.1` or `v2.0`.
    #[schema(example = "v2.1")]
    pub id: String,
    /// `CURRENT` or `DEPRECATED`.
    pub status: String,
    /// The maximum microversion (empty for v2.0).
    #[schema(example = "2.104")]
    pub version: String,
    /// The minimum microversion (empty for v2.0).
    #[schema(example = "2.1")]
    pub min_version: String,
    pub updated: String,
    pub links: Vec<Link>,
    /// In version documents only.
    #[serde(rename = "media-types", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub media_types: Option<Vec<MediaType>>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionList {
    pub versions: Vec<Version>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionDocument {
    pub version: Version,
}

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
    pub domain: Option<NamedRef>,
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
    pub domain: Option<NamedRef>,
}

/// By id or by name.
#[derive(Deserialize, ToSchema)]
pub struct NamedRef {
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
