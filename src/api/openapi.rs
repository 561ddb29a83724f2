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

use axum::body::Bytes;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::response::{Response as ApiResponse, ResponseBuilder};
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Header, RefOr, Required};
use utoipa::OpenApi;

use super::endpoint::Endpoint;
use super::fault::COMPUTE_JSON_CONTENT_TYPE;
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
        crate::api::compute::interfaces::list_interfaces,
        crate::api::compute::interfaces::attach_interface,
        crate::api::compute::interfaces::show_interface,
        crate::api::compute::interfaces::detach_interface,
        crate::api::compute::instance_actions::list_instance_actions,
        crate::api::compute::instance_actions::show_instance_action,
        crate::api::compute::servers::list_servers,
        crate::api::compute::servers::list_servers_detail,
        crate::api::compute::servers::show_server,
        crate::api::compute::servers::create_server,
        crate::api::compute::servers::delete_server,
        crate::api::compute::server_actions::server_action,
        crate::api::compute::flavors::list_flavors,
        crate::api::compute::flavors::list_flavors_detail,
        crate::api::compute::flavors::show_flavor,
        crate::api::image::image_versions,
        crate::api::image::list_images,
        crate::api::image::show_image,
        crate::api::compute::versions::root,
        crate::api::compute::versions::v20,
        crate::api::compute::versions::v21,
        crate::api::compute::versions::show_version,
        crate::api::identity::identity_versions,
        crate::api::identity::identity_v3,
        crate::api::identity::issue_token,
        crate::api::identity::validate_token,
        crate::api::identity::revoke_token,
        crate::api::identity::auth_catalog,
        crate::api::ops::openapi_json,
        crate::api::ops::healthz,
        crate::api::ops::readyz,
        crate::api::ops::metrics,
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
        crate::api::network::extensions::network_versions,
        crate::api::network::extensions::list_extensions,
        crate::api::network::networks::list_networks,
        crate::api::network::networks::create_network,
        crate::api::network::networks::show_network,
        crate::api::network::networks::update_network,
        crate::api::network::networks::delete_network,
        crate::api::network::subnets::list_subnets,
        crate::api::network::subnets::create_subnet,
        crate::api::network::subnets::show_subnet,
        crate::api::network::subnets::update_subnet,
        crate::api::network::subnets::delete_subnet,
        crate::api::network::ports::list_ports,
        crate::api::network::ports::create_port,
        crate::api::network::ports::show_port,
        crate::api::network::ports::update_port,
        crate::api::network::ports::delete_port,
    ),
    components(schemas(crate::api::fault::FaultDetail)),
    tags(
        (name = "os-interface", description = "Attach, list, show and detach a server's port interfaces."),
        (name = "os-instance-actions", description = "The records of attach and detach."),
        (name = "versions", description = "Version discovery."),
        (name = "identity", description = "The builtin Keystone v3 subset (auth mode `builtin` only)."),
        (name = "network", description = "The Neutron-compatible network API (v2.0): networks, subnets, ports."),
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
    add_network_pipeline(&mut doc);
    name_faults(&mut doc);
    add_webob_pages(&mut doc);
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

/// The document of what `state`'s configuration serves, as JSON: the
/// whole document less the routes that are not mounted.
pub fn document_for(state: &crate::app::AppState) -> Bytes {
    let served: std::collections::HashSet<String> = Endpoint::ALL
        .iter()
        .filter(|e| e.served(state))
        .flat_map(|e| e.all_paths())
        .collect();
    let mut doc = openapi();
    doc.paths.paths.retain(|path, _| served.contains(path));
    if matches!(state.auth, crate::auth::Authenticator::Keystone(_)) {
        add_keystone_unavailable(&mut doc);
    }
    Bytes::from(
        doc.to_pretty_json()
            .expect("the OpenAPI document serializes"),
    )
}

// --- what the routes share

const PROJECT_PREFIX: &str = "/v2.1/{project_id}/";

/// Paths served the same with and without a trailing slash: (documented, clone).
const ALIASES: &[(&str, &str)] = &[
    ("/v2.1/", "/v2.1"),
    ("/v2/", "/v2"),
    ("/identity/", "/identity"),
    ("/identity/v3/", "/identity/v3"),
    ("/networking/", "/networking"),
    ("/image", "/image/"),
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
            add_response(op, 413, "A body larger than 64 MiB.", Some("NovaFault"));
            add_response(
                op,
                503,
                "The store cannot take the change now (down, or refusing after a failure).",
                Some("NovaFault"),
            );
            op.security = Some(vec![SecurityRequirement::new(
                "X-Auth-Token",
                Vec::<String>::new(),
            )]);
        }
    }
}

/// What `middleware::network_api` does on every `/networking/v2.0` route.
fn add_network_pipeline(doc: &mut utoipa::openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with("/networking/v2.0/") {
            continue;
        }
        for (_, op) in operations(item) {
            add_response(
                op,
                401,
                "No valid `X-Auth-Token` (auth modes `builtin` and `keystone`).",
                Some("KeystoneError"),
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
                // A path parameter is required, and never null; the router
                // takes only lower-case hex digits and dashes as a project.
                if param.parameter_in == ParameterIn::Path {
                    param.required = Required::True;
                    let mut schema = string_schema();
                    if param.name == "project_id" {
                        schema.pattern = Some("^[0-9a-f-]+$".to_owned());
                    }
                    param.schema = Some(schema.into());
                }
            }
            params.push(version_header.clone());
            params.push(legacy_header.clone());
            for (status, response) in op.responses.responses.iter_mut() {
                if let (true, RefOr::T(response)) = (status.starts_with('2'), response) {
                    response.headers.extend(headers.clone());
                    // The compute type, when `Accept` ranks it first.
                    if let Some(json) = response.content.get("application/json").cloned() {
                        response
                            .content
                            .insert(COMPUTE_JSON_CONTENT_TYPE.to_owned(), json);
                    }
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
            // The router's 404 (a WebOb page): a `{project_id}` it does not
            // route, a path segment that is not UTF-8, a method not routed.
            if !public {
                add_response(
                    op,
                    404,
                    "No route (a `{project_id}` that is not lower-case hex digits and \
                     dashes, a path segment that is not UTF-8, a method not documented \
                     here): a WebOb error page, not a fault.",
                    None,
                );
            }
            // oslo.middleware's sizelimit, first in Nova's pipeline.
            add_response(
                op,
                413,
                "A declared body larger than 114688 bytes: a WebOb error page, not a fault.",
                None,
            );
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

/// In `keystone` mode every call that needs a token can meet Keystone out
/// of reach: WebOb's 503 page.
fn add_keystone_unavailable(doc: &mut utoipa::openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for (_, op) in operations(item) {
            if op.security.is_none() {
                continue;
            }
            let mut response = ResponseBuilder::new()
                .description("Keystone cannot be reached to validate the token.")
                .build();
            add_webob_media(&mut response);
            op.responses
                .responses
                .insert("503".to_owned(), RefOr::T(response));
        }
    }
}

/// The statuses for which WebOb's error page can answer a `/v2.1` call
/// (the router's 404, sizelimit's 413) or a token request (413): in the
/// media type the `Accept` header picks, JSON beside any body the handler
/// documents.
fn add_webob_pages(doc: &mut utoipa::openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let statuses: &[&str] = if path == "/v2.1" || path.starts_with("/v2.1/") {
            &["404", "413"]
        } else if path == "/identity/v3/auth/tokens" {
            &["413"]
        } else {
            continue;
        };
        for (_, op) in operations(item) {
            for status in statuses {
                let Some(RefOr::T(response)) = op.responses.responses.get_mut(*status) else {
                    continue;
                };
                add_webob_media(response);
            }
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.schemas.insert(
        "WebObError".to_owned(),
        <super::fault::WebObError as utoipa::PartialSchema>::schema(),
    );
}

/// WebOb's page beside what the response documents: `application/json`
/// (either body), `text/html` and `text/plain`.
pub fn add_webob_media(response: &mut ApiResponse) {
    let webob = RefOr::Ref(utoipa::openapi::Ref::from_schema_name("WebObError"));
    let json = match response.content.shift_remove("application/json") {
        Some(Content {
            schema: Some(existing),
            ..
        }) => RefOr::T(Schema::OneOf(
            utoipa::openapi::schema::OneOfBuilder::new()
                .item(existing)
                .item(webob)
                .build(),
        )),
        _ => webob,
    };
    response
        .content
        .insert("application/json".to_owned(), Content::new(Some(json)));
    for media in ["text/html", "text/plain"] {
        response
            .content
            .insert(media.to_owned(), Content::new(None::<RefOr<Schema>>));
    }
}

fn fault_schema_name(status: u16) -> String {
    format!("Fault.{}", fault_name(status))
}
