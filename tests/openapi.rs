//! `GET /openapi.json`: the whole document is a committed snapshot, so any
//! change to the API surface shows in review; and the router's routes and
//! the document agree.
//!
//! After an intended change: `cargo insta review`, or
//! `INSTA_UPDATE=always cargo test --test openapi`, and commit the `.snap`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::Value;

use common::{Reply, TestApp, PORT_ATTACHED, PROJECT, SERVER_WITH_PORT};
use porthole::api::endpoint::Endpoint;
use porthole::config::AuthMode;
use porthole::store::MemoryStore;
use porthole::{build_router, AppState};

/// The document as served, with `info.version` masked so that a release
/// bump alone changes no snapshot.
async fn served_document(app: &TestApp) -> Value {
    let reply = app.get("/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    // Outside Nova's pipeline: no microversion headers.
    assert_eq!(reply.header("openstack-api-version"), None);
    let mut doc = reply.json();
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    doc["info"]["version"] = "[CARGO_PKG_VERSION]".into();
    doc
}

/// The app in `builtin` mode, so that the identity routes exist too.
async fn builtin_app() -> TestApp {
    let cloud = common::seeded_cloud(Arc::new(MemoryStore)).await;
    TestApp {
        router: build_router(AppState::new(cloud, AuthMode::Builtin)),
    }
}

#[tokio::test]
async fn openapi_document_snapshot() {
    // Builtin mode with the control plane serves every route.
    let doc = served_document(&builtin_app().await).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "porthole");
    insta::assert_snapshot!(
        "openapi.json",
        serde_json::to_string_pretty(&doc).expect("json")
    );
}

#[tokio::test]
async fn openapi_function_is_what_is_served() {
    let served = builtin_app().await.get("/openapi.json").await.json();
    let built = serde_json::to_value(porthole::api::openapi::openapi()).expect("json");
    assert_eq!(served, built);
}

#[tokio::test]
async fn the_document_lists_only_the_routes_served() {
    let all = served_document(&builtin_app().await).await;
    let paths = |doc: &Value| -> BTreeSet<String> {
        doc["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .cloned()
            .collect()
    };
    // noauth: no builtin Keystone, so no /identity.
    let noauth = served_document(&TestApp::new().await).await;
    let expected: BTreeSet<String> = paths(&all)
        .into_iter()
        .filter(|p| !p.starts_with("/identity"))
        .collect();
    assert_eq!(paths(&noauth), expected);
    // The control plane off: no /_porthole.
    let off = TestApp::with_options(
        AuthMode::Noauth,
        porthole::app::AppOptions {
            control_plane: false,
            ..Default::default()
        },
        porthole::domain::ids::IdSource::random(),
    )
    .await;
    let without_control = paths(&served_document(&off).await);
    assert!(without_control.iter().all(|p| !p.starts_with("/_porthole")));
    assert!(without_control.contains("/v2.1/servers/{server_id}/os-interface"));
}

const METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/// The documented paths and their methods (upper case).
fn documented(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .expect("path item")
                .keys()
                .filter(|k| METHODS.iter().any(|m| m.eq_ignore_ascii_case(k)))
                .map(|k| k.to_uppercase())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// The paths a router registers, read from its `Debug` form (axum has no
/// other way to list them), less axum's own catch-all.
/// A concrete URL for a path template.
fn concrete(template: &str) -> String {
    template
        .replace("{project_id}", PROJECT)
        .replace("{server_id}", SERVER_WITH_PORT)
        .replace("{port_id}", PORT_ATTACHED)
        .replace("{request_id}", "req-00000000-0000-0000-0000-000000000000")
        .replace("{version_id}", "v2.1")
        .replace("{flavor_id}", "1")
        .replace("{image_id}", "c1a2b3c4-0603-4e8a-9d1f-0123456789ab")
}

/// The router's own 404 (a WebOb page, never JSON), as opposed to a handler's.
fn unrouted(reply: &Reply) -> bool {
    // Nova's router 404 (a WebOb page), or Keystone's 405 (Flask).
    reply.status == StatusCode::NOT_FOUND
        && !reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
        || reply.status == StatusCode::METHOD_NOT_ALLOWED
}

#[tokio::test]
async fn every_route_is_documented_with_its_methods() {
    let app = builtin_app().await;
    let doc = served_document(&app).await;
    let documented = documented(&doc);

    // Every path of the endpoint table is documented, with its method.
    for &endpoint in Endpoint::ALL {
        for path in endpoint.all_paths() {
            let methods = documented.get(&path);
            assert!(
                methods.is_some(),
                "route {path} is not in /openapi.json: add #[utoipa::path] to its handler \
                 and list it in src/api/openapi.rs"
            );
            if let Some(method) = endpoint.method() {
                assert!(
                    methods.is_some_and(|m| m.contains(method.as_str())),
                    "{endpoint:?}: {method} {path} is not documented"
                );
            }
        }
    }

    // Every os-interface and instance-action path, in both URL forms, with
    // exactly Nova's methods.
    let expected: &[(&str, &[&str])] = &[
        ("servers/{server_id}/os-interface", &["GET", "POST"]),
        (
            "servers/{server_id}/os-interface/{port_id}",
            &["DELETE", "GET"],
        ),
        ("servers/{server_id}/os-instance-actions", &["GET"]),
        (
            "servers/{server_id}/os-instance-actions/{request_id}",
            &["GET"],
        ),
    ];
    for (suffix, methods) in expected {
        for prefix in ["/v2.1/", "/v2.1/{project_id}/"] {
            let path = format!("{prefix}{suffix}");
            let methods: BTreeSet<String> = methods.iter().map(|m| m.to_string()).collect();
            assert_eq!(documented.get(&path), Some(&methods), "{path}");
        }
    }

    // The router agrees with the document: each documented method is routed;
    // on resource paths (whose methods are exact) no other method is. With
    // an admin token: without one, Nova's pipeline answers 401 before its
    // router can 404.
    let login = app
        .post(
            "/identity/v3/auth/tokens",
            &serde_json::json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": "admin", "domain": {"name": "Default"}, "password": "porthole-admin"}}},
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}),
        )
        .await;
    assert_eq!(login.status, StatusCode::CREATED, "{}", login.text());
    let token = login.header("x-subject-token").expect("token").to_owned();
    for (path, methods) in &documented {
        let uri = concrete(path);
        let exact = path.contains("/servers/") || path.ends_with("/auth/tokens");
        for method in METHODS {
            let reply = app
                .send(method, &uri, &[("X-Auth-Token", token.as_str())], None)
                .await;
            if methods.contains(method) {
                assert!(
                    !unrouted(&reply),
                    "{method} {path} is documented, not routed"
                );
            } else if exact {
                assert!(
                    unrouted(&reply),
                    "{method} {path} is routed, not documented"
                );
            }
        }
    }
}

#[tokio::test]
async fn compute_operations_carry_the_pipeline() {
    let doc = served_document(&TestApp::new().await).await;
    let op = &doc["paths"]["/v2.1/servers/{server_id}/os-interface"]["post"];
    let params: Vec<&str> = op["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        params,
        [
            "server_id",
            "OpenStack-API-Version",
            "X-OpenStack-Nova-API-Version"
        ]
    );
    for status in [
        "200", "400", "401", "403", "404", "406", "409", "413", "415", "503",
    ] {
        assert!(op["responses"][status].is_object(), "attach {status}");
    }
    // A handler's 404 is a fault; the router's is WebOb's page, in the
    // media type `Accept` picks.
    assert_eq!(
        op["responses"]["404"]["content"],
        serde_json::json!({
            "application/json": {"schema": {"oneOf": [
                {"$ref": "#/components/schemas/Fault.itemNotFound"},
                {"$ref": "#/components/schemas/WebObError"},
            ]}},
            "text/html": {},
            "text/plain": {},
        })
    );
    assert_eq!(op["security"], serde_json::json!([{"X-Auth-Token": []}]));
    let project_form = &doc["paths"]["/v2.1/{project_id}/servers/{server_id}/os-interface"]["post"];
    assert_eq!(
        project_form["operationId"],
        "attach_interface_with_project_id"
    );
    assert_eq!(project_form["parameters"][0]["name"], "project_id");
    assert_eq!(project_form["parameters"][0]["required"], true);
    // The bare version documents need no token.
    assert!(doc["paths"]["/v2.1/"]["get"]["security"].is_null());
}
