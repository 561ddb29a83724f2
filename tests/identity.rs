//! `builtin` mode: porthole's own Keystone v3, keystonemiddleware's 401, and
//! Nova's policy for each role and for tokens of another project.

mod common;

use common::*;
use serde_json::{json, Value};

const ADMIN_PROJECT: &str = "61646d696e70726f6a65637400000000";
const STATIC_DEMO: &str = "demo-static-token-0123456789";
const STATIC_OTHER: &str = "other-static-token-0123456789";

/// The default users plus a member of OTHER_PROJECT and two static tokens.
fn config(expiration: u64) -> String {
    let base = porthole::config::DEFAULT_CONFIG.replace(
        "token_expiration = 3600",
        &format!("token_expiration = {expiration}"),
    );
    format!(
        r#"{base}
[[identity.projects]]
id = "{OTHER_PROJECT}"
name = "other"

[[identity.users]]
id = "0f000000000000000000000000000004"
name = "other"
password = "other-secret"
default_project = "other"

[[identity.assignments]]
user = "other"
project = "other"
roles = ["member"]

[[identity.users]]
id = "10000000000000000000000000000005"
name = "lonely"
password = "lonely-secret"

[[identity.users]]
id = "20000000000000000000000000000006"
name = "nova"
password = "nova-secret"

[[identity.assignments]]
user = "nova"
project = "other"
roles = ["service"]

[[identity.assignments]]
user = "admin"
domain = "Default"
roles = ["admin"]

[[identity.users]]
id = "30000000000000000000000000000007"
name = "auditor"
password = "porthole-auditor"

[[identity.assignments]]
user = "auditor"
system = "all"
roles = ["reader"]

[[identity.static_tokens]]
token = "{STATIC_DEMO}"
user = "demo"
project = "demo"

[[identity.static_tokens]]
token = "{STATIC_OTHER}"
user = "other"
project = "other"
"#
    )
}

async fn app() -> TestApp {
    TestApp::builtin(&config(3600), None).await
}

fn password_auth(user: &str, password: &str, scope: Value) -> Value {
    let mut auth = json!({"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": user, "domain": {"name": "Default"}, "password": password}}}}});
    if !scope.is_null() {
        auth["auth"]["scope"] = scope;
    }
    auth
}

fn project_by_name(name: &str) -> Value {
    json!({"project": {"name": name, "domain": {"id": "default"}}})
}

/// A token of `user` scoped to `project` (by name).
async fn token(app: &TestApp, user: &str, project: &str) -> String {
    let password = match user {
        "other" => "other-secret".to_owned(),
        "nova" => "nova-secret".to_owned(),
        _ => format!("porthole-{user}"),
    };
    let reply = app
        .post(
            "/identity/v3/auth/tokens",
            &password_auth(user, &password, project_by_name(project)),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.header("x-subject-token").unwrap().to_owned()
}

async fn as_token(
    app: &TestApp,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    let body = body.map(|b| b.to_string());
    app.send(
        method,
        uri,
        &[
            ("X-Auth-Token", token),
            ("Content-Type", "application/json"),
        ],
        body.as_deref(),
    )
    .await
}

/// The identity API's own 401: Keystone's (Flask's compact JSON, its v3 URL).
#[track_caller]
fn assert_identity_unauthorized(reply: &Reply) {
    assert_eq!(reply.status, 401, "{}", reply.text());
    assert_eq!(
        reply.text(),
        "{\"error\":{\"code\":401,\"message\":\"The request you have made requires authentication.\",\"title\":\"Unauthorized\"}}\n"
    );
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Keystone uri="http://porthole.test/identity/v3""#)
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("vary"), Some("X-Auth-Token"));
}

/// A Keystone error other than 401, exactly.
#[track_caller]
fn assert_identity_error(reply: &Reply, status: u16, message: &str) {
    let title = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "?",
    };
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"error": {"code": status, "message": message, "title": title}})
    );
    assert!(reply.header("www-authenticate").is_none());
}

/// keystonemiddleware's 401 on the compute API.
#[track_caller]
fn assert_unauthorized(reply: &Reply) {
    assert_eq!(reply.status, 401, "{}", reply.text());
    assert_eq!(
        reply.text(),
        r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#
    );
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Keystone uri="http://porthole.test/identity""#)
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/json; charset=UTF-8")
    );
    assert!(reply.header("openstack-api-version").is_none());
}

#[tokio::test]
async fn version_documents_are_public() {
    let app = app().await;
    let reply = app.get("/identity/v3").await;
    assert_eq!(reply.status, 200);
    let version = &reply.json()["version"];
    assert_eq!(version["id"], "v3.14");
    assert_eq!(version["status"], "stable");
    assert_eq!(
        version["links"][0]["href"],
        "http://porthole.test/identity/v3/"
    );
    assert_eq!(app.get("/identity").await.status, 300);
    assert_eq!(app.get("/v2.1/").await.status, 200);
    assert_eq!(app.get("/v2.1").await.status, 200);
    assert_eq!(app.get("/").await.status, 200);
}

#[tokio::test]
async fn password_token_has_keystone_shape_and_catalog() {
    let app = app().await;
    let reply = app
        .post(
            "/identity/v3/auth/tokens",
            &password_auth("demo", "porthole-demo", project_by_name("demo")),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let id = reply.header("x-subject-token").unwrap();
    assert_eq!(id.len(), 64);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    let token = &reply.json()["token"];
    assert_eq!(token["methods"], json!(["password"]));
    assert_eq!(token["user"]["name"], "demo");
    assert_eq!(
        token["user"]["domain"],
        json!({"id": "default", "name": "Default"})
    );
    assert_eq!(token["project"]["id"], PROJECT);
    assert_eq!(token["project"]["name"], "demo");
    assert_eq!(token["project"]["domain"]["id"], "default");
    let roles: Vec<&str> = token["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["member", "reader"]);
    assert!(token["expires_at"].as_str().unwrap().ends_with('Z'));
    let compute = token["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "compute")
        .unwrap();
    let endpoints = compute["endpoints"].as_array().unwrap();
    let interfaces: Vec<&str> = endpoints
        .iter()
        .map(|e| e["interface"].as_str().unwrap())
        .collect();
    assert_eq!(interfaces, ["public", "internal", "admin"]);
    for e in endpoints {
        assert_eq!(e["url"], format!("http://porthole.test/v2.1/{PROJECT}"));
        assert_eq!(e["region"], "RegionOne");
        assert_eq!(e["region_id"], "RegionOne");
    }
    let image = token["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "image")
        .expect("an image service");
    assert_eq!(image["name"], "glance");
    assert_eq!(image["endpoints"][0]["url"], "http://porthole.test/image");
}

#[tokio::test]
async fn scope_by_id_default_project_and_token_method() {
    let app = app().await;
    let by_id = password_auth(
        "viewer",
        "porthole-viewer",
        json!({"project": {"id": PROJECT}}),
    );
    let reply = app.post("/identity/v3/auth/tokens", &by_id).await;
    assert_eq!(reply.status, 201);
    let first = reply.json()["token"].clone();
    assert_eq!(first["roles"][0]["name"], "reader");
    // No scope: the user's default project.
    let reply = app
        .post(
            "/identity/v3/auth/tokens",
            &password_auth("viewer", "porthole-viewer", Value::Null),
        )
        .await;
    assert_eq!(reply.json()["token"]["project"]["id"], PROJECT);
    // The token method keeps the expiry of the token it starts from.
    let id = reply.header("x-subject-token").unwrap().to_owned();
    let expires = reply.json()["token"]["expires_at"].clone();
    let reply = app
        .post(
            "/identity/v3/auth/tokens",
            &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": id}},
                "scope": {"project": {"id": PROJECT}}}}),
        )
        .await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.json()["token"]["expires_at"], expires);
    // The methods accumulate, the audit chain names the first token.
    assert_eq!(
        reply.json()["token"]["methods"],
        json!(["token", "password"])
    );
    let first_audit = reply.json()["token"]["audit_ids"][1].clone();
    assert_eq!(
        reply.json()["token"]["audit_ids"].as_array().unwrap().len(),
        2
    );
    assert_ne!(reply.json()["token"]["audit_ids"][0], first_audit);
}

#[tokio::test]
async fn an_unscoped_token_acts_in_no_project() {
    let app = app().await;
    let reply = app
        .post(
            "/identity/v3/auth/tokens",
            &password_auth("lonely", "lonely-secret", Value::Null),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let token = reply.json()["token"].clone();
    assert!(token.get("project").is_none() && token.get("catalog").is_none());
    let id = reply.header("x-subject-token").unwrap().to_owned();
    // Nova's context.project_id is None: a URL naming a project does not
    // match it (nova/api/openstack/wsgi.py), and no server is its.
    let reply = as_token(&app, "GET", &interfaces(SERVER), &id, None).await;
    reply.assert_fault(
        400,
        "badRequest",
        &format!("Malformed request URL: URL's project_id '{PROJECT}' doesn't match Context's project_id 'None'"),
    );
    let uri = format!("/v2.1/servers/{SERVER}/os-interface");
    assert_eq!(as_token(&app, "GET", &uri, &id, None).await.status, 404);
}

#[tokio::test]
async fn system_and_domain_tokens_are_refused_by_novas_policy() {
    let app = app().await;
    let uri = format!("/v2.1/servers/{SERVER}/os-interface");
    for scope in [
        json!({"system": {"all": true}}),
        json!({"domain": {"id": "default"}}),
    ] {
        let reply = app
            .post(TOKENS, &password_auth("admin", "porthole-admin", scope))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        let id = reply.header("x-subject-token").unwrap().to_owned();
        // An admin by its roles sees the server, but oslo.policy refuses
        // the token's scope for Nova's project-scoped rules.
        as_token(&app, "GET", &uri, &id, None).await.assert_fault(
            403,
            "forbidden",
            "Policy doesn't allow os_compute_api:os-attach-interfaces:list to be performed.",
        );
        let reply = as_token(&app, "GET", &interfaces(SERVER), &id, None).await;
        assert_eq!(reply.status, 400, "{}", reply.text());
    }
}

#[tokio::test]
async fn bad_credentials_and_scopes_are_401() {
    let app = app().await;
    for body in [
        password_auth("demo", "wrong", project_by_name("demo")),
        password_auth("nobody", "porthole-demo", project_by_name("demo")),
        // viewer has no role on the admin project
        password_auth("viewer", "porthole-viewer", project_by_name("admin")),
        password_auth("demo", "porthole-demo", project_by_name("no-such-project")),
    ] {
        assert_identity_unauthorized(&app.post("/identity/v3/auth/tokens", &body).await);
    }
    let reply = app
        .send(
            "POST",
            "/identity/v3/auth/tokens",
            &[("Content-Type", "application/json")],
            Some("{"),
        )
        .await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn compute_needs_a_valid_token() {
    let app = app().await;
    let uri = interfaces(SERVER);
    let reply = app.get(&uri).await;
    assert_unauthorized(&reply);
    // Request ids, as the 401 comes from inside Nova's pipeline.
    assert!(reply.header("x-openstack-request-id").is_some());
    assert_unauthorized(&as_token(&app, "GET", &uri, "not-a-token", None).await);
    assert_unauthorized(&as_token(&app, "GET", &format!("/v2.1/{PROJECT}/"), "x", None).await);
    // noauth's user:project form means nothing here.
    assert_unauthorized(&as_token(&app, "GET", &uri, &format!("admin:{PROJECT}"), None).await);
    assert_eq!(
        as_token(&app, "GET", &uri, STATIC_DEMO, None).await.status,
        200
    );
}

/// keystonemiddleware runs before Nova's router: a path it would not route
/// (unknown route, project id outside `[0-9a-f-]+`) is 401 without a valid
/// token and 404 with one.
#[tokio::test]
async fn unrouted_api_paths_need_a_token_before_they_are_404() {
    let app = app().await;
    for uri in [
        format!("/v2.1/servers/{SERVER}/os-interfaces"),
        format!("/v2.1/{PROJECT}/no-such-thing"),
        format!("/v2.1/DEMO/servers/{SERVER}/os-interface"),
        "/v2/anything".to_owned(),
    ] {
        let reply = app.get(&uri).await;
        assert_unauthorized(&reply);
        assert!(reply.header("x-openstack-request-id").is_some(), "{uri}");
        let reply = as_token(&app, "DELETE", &uri, "not-a-token", None).await;
        assert_eq!(reply.status, 401, "DELETE {uri}");
        assert_unauthorized(&reply);
        let reply = as_token(&app, "GET", &uri, STATIC_DEMO, None).await;
        assert_eq!(reply.status, 404, "{uri}");
        assert_eq!(
            reply.text(),
            "404 Not Found\n\nThe resource could not be found.\n\n   ",
            "{uri}"
        );
    }
    // Outside the API mounts nothing changes: Nova's version choice.
    assert_eq!(app.get("/v3").await.status, 300);
    // A routed path, a method it does not route: 401 first, too.
    let head = app.send("HEAD", &interfaces(SERVER), &[], None).await;
    assert_eq!(head.status, 401);
    assert_eq!(
        head.header("www-authenticate"),
        Some(r#"Keystone uri="http://porthole.test/identity""#)
    );
    // sizelimit runs before the token check, routed or not.
    for uri in [interfaces(SERVER), "/v2.1/no-such-thing".to_owned()] {
        let big = "x".repeat(114_689);
        let reply = app
            .send("PUT", &uri, &[("Content-Length", "114689")], Some(&big))
            .await;
        assert_eq!(reply.status, 413, "{uri}");
    }
    // The version documents stay public whatever the method.
    for uri in ["/", "/v2", "/v2/", "/v2.1", "/v2.1/"] {
        for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] {
            let reply = app.send(method, uri, &[], None).await;
            assert_ne!(reply.status, 401, "{method} {uri}");
            assert_ne!(reply.status, 404, "{method} {uri}");
        }
    }
}

#[tokio::test]
async fn each_role_gets_nova_defaults() {
    let app = app().await;
    let viewer = token(&app, "viewer", "demo").await;
    let demo = token(&app, "demo", "demo").await;
    let list = interfaces(SERVER);
    let attach = json!({"interfaceAttachment": {"port_id": PORT_FREE}});

    assert_eq!(
        as_token(&app, "GET", &list, &viewer, None).await.status,
        200
    );
    as_token(&app, "POST", &list, &viewer, Some(attach.clone()))
        .await
        .assert_fault(
            403,
            "forbidden",
            "Policy doesn't allow os_compute_api:os-attach-interfaces:create to be performed.",
        );
    let reply = as_token(&app, "POST", &list, &demo, Some(attach)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let show = interface(SERVER, PORT_FREE);
    assert_eq!(
        as_token(&app, "GET", &show, &viewer, None).await.status,
        200
    );
    as_token(&app, "DELETE", &show, &viewer, None)
        .await
        .assert_fault(
            403,
            "forbidden",
            "Policy doesn't allow os_compute_api:os-attach-interfaces:delete to be performed.",
        );
    assert_eq!(
        as_token(&app, "DELETE", &show, &demo, None).await.status,
        202
    );
    // network:attach_external_network is admin-only.
    let external = json!({"interfaceAttachment": {"net_id": NET_EXTERNAL}});
    assert_eq!(
        as_token(&app, "POST", &list, &demo, Some(external.clone()))
            .await
            .status,
        403
    );
    let admin = token(&app, "admin", "demo").await;
    assert_eq!(
        as_token(&app, "POST", &list, &admin, Some(external))
            .await
            .status,
        200
    );
    // The lock is no obstacle for admins.
    let locked = interfaces(SERVER_LOCKED);
    let by_net = json!({"interfaceAttachment": {"net_id": NET}});
    assert_eq!(
        as_token(&app, "POST", &locked, &demo, Some(by_net.clone()))
            .await
            .status,
        409
    );
    assert_eq!(
        as_token(&app, "POST", &locked, &admin, Some(by_net))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn tokens_of_another_project() {
    let app = app().await;
    let other = token(&app, "other", "other").await;
    // URL of demo's project with a token of another: Nova's 400.
    as_token(&app, "GET", &interfaces(SERVER), &other, None)
        .await
        .assert_fault(
            400,
            "badRequest",
            &format!(
                "Malformed request URL: URL's project_id '{PROJECT}' doesn't match Context's project_id '{OTHER_PROJECT}'"
            ),
        );
    // Its own project in the URL, demo's server: 404.
    let uri = format!("/v2.1/{OTHER_PROJECT}/servers/{SERVER}/os-interface");
    as_token(&app, "GET", &uri, &other, None)
        .await
        .assert_fault(
            404,
            "itemNotFound",
            &format!("Instance {SERVER} could not be found."),
        );
    assert_eq!(
        as_token(&app, "GET", &uri, STATIC_OTHER, None).await.status,
        404
    );
    // Without a project in the URL, likewise.
    let bare = format!("/v2.1/servers/{SERVER}/os-interface");
    assert_eq!(as_token(&app, "GET", &bare, &other, None).await.status, 404);
    // An admin scoped to its own project sees every project's servers.
    let admin = token(&app, "admin", "admin").await;
    assert_eq!(as_token(&app, "GET", &bare, &admin, None).await.status, 200);
    let uri = format!("/v2.1/{ADMIN_PROJECT}/servers/{SERVER}/os-interface");
    assert_eq!(as_token(&app, "GET", &uri, &admin, None).await.status, 200);
    assert_eq!(
        as_token(&app, "GET", &interfaces(SERVER), &admin, None)
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn validate_and_revoke() {
    let app = app().await;
    let demo = token(&app, "demo", "demo").await;
    let admin = token(&app, "admin", "admin").await;
    let headers = [
        ("X-Auth-Token", admin.as_str()),
        ("X-Subject-Token", demo.as_str()),
    ];
    let reply = app
        .send("GET", "/identity/v3/auth/tokens", &headers, None)
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-subject-token"), Some(demo.as_str()));
    assert_eq!(reply.json()["token"]["user"]["name"], "demo");
    let reply = app
        .send("GET", "/identity/v3/auth/tokens?nocatalog", &headers, None)
        .await;
    assert!(reply.json()["token"].get("catalog").is_none());
    assert_identity_unauthorized(
        &app.send(
            "GET",
            "/identity/v3/auth/tokens",
            &[("X-Subject-Token", demo.as_str())],
            None,
        )
        .await,
    );

    let reply = app
        .send("DELETE", "/identity/v3/auth/tokens", &headers, None)
        .await;
    assert_eq!(reply.status, 204);
    assert_unauthorized(&as_token(&app, "GET", &interfaces(SERVER), &demo, None).await);
    let reply = app
        .send("GET", "/identity/v3/auth/tokens", &headers, None)
        .await;
    assert_identity_error(&reply, 404, "Failed to validate token");
    assert!(!reply.text().contains(&demo));
    assert_identity_error(
        &app.send("DELETE", "/identity/v3/auth/tokens", &headers, None)
            .await,
        404,
        "Failed to validate token",
    );
    // Static tokens cannot be revoked.
    let statics = [
        ("X-Auth-Token", admin.as_str()),
        ("X-Subject-Token", STATIC_DEMO),
    ];
    assert_identity_error(
        &app.send("DELETE", "/identity/v3/auth/tokens", &statics, None)
            .await,
        403,
        "You are not authorized to perform the requested action: identity:revoke_token.",
    );
    assert_eq!(
        as_token(&app, "GET", &interfaces(SERVER), STATIC_DEMO, None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn expired_tokens_are_401() {
    let app = TestApp::builtin(&config(1), None).await;
    let demo = token(&app, "demo", "demo").await;
    assert_eq!(
        as_token(&app, "GET", &interfaces(SERVER), &demo, None)
            .await
            .status,
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_unauthorized(&as_token(&app, "GET", &interfaces(SERVER), &demo, None).await);
    let headers = [
        ("X-Auth-Token", STATIC_DEMO),
        ("X-Subject-Token", demo.as_str()),
    ];
    assert_eq!(
        app.send("GET", "/identity/v3/auth/tokens", &headers, None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn tokens_survive_a_restart_of_a_durable_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("porthole.sqlite3");
    let store = || -> std::sync::Arc<dyn porthole::store::Store> {
        std::sync::Arc::new(porthole::store::SqliteStore::open(&path).unwrap())
    };
    let (demo, revoked) = {
        let app = TestApp::builtin_on(store(), &config(3600), None).await;
        let demo = token(&app, "demo", "demo").await;
        let revoked = token(&app, "demo", "demo").await;
        let headers = [
            ("X-Auth-Token", demo.as_str()),
            ("X-Subject-Token", revoked.as_str()),
        ];
        assert_eq!(
            app.send("DELETE", "/identity/v3/auth/tokens", &headers, None)
                .await
                .status,
            204
        );
        (demo, revoked)
    };
    let app = TestApp::builtin_on(store(), &config(3600), None).await;
    assert_eq!(
        as_token(&app, "GET", &interfaces(SERVER), &demo, None)
            .await
            .status,
        200
    );
    assert_unauthorized(&as_token(&app, "GET", &interfaces(SERVER), &revoked, None).await);
}

#[tokio::test]
async fn a_policy_file_overrides_the_defaults() {
    let policy = r#"
"os_compute_api:os-attach-interfaces:create": "rule:project_reader_or_admin"
"os_compute_api:os-attach-interfaces:list": "role:member and project_id:%(project_id)s"
"#;
    let app = TestApp::builtin(&config(3600), Some(policy)).await;
    let viewer = token(&app, "viewer", "demo").await;
    let list = interfaces(SERVER);
    let attach = json!({"interfaceAttachment": {"port_id": PORT_FREE}});
    assert_eq!(
        as_token(&app, "POST", &list, &viewer, Some(attach))
            .await
            .status,
        200
    );
    as_token(&app, "GET", &list, &viewer, None)
        .await
        .assert_fault(
            403,
            "forbidden",
            "Policy doesn't allow os_compute_api:os-attach-interfaces:list to be performed.",
        );
}

#[test]
fn a_broken_policy_file_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        "\"os_compute_api:os-attach-interfaces:list\": \"role:reader and (project_id:%(project_id)s\"\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_porthole"))
        .args([
            "serve",
            "--store",
            "memory",
            "--listen",
            "127.0.0.1:0",
            "--policy-file",
        ])
        .arg(&policy)
        .env_remove("PORTHOLE_CONFIG")
        .env_remove("PORTHOLE_AUTH")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad policy file")
            && stderr.contains("policy rule 'os_compute_api:os-attach-interfaces:list'")
            && stderr.contains("unbalanced parentheses"),
        "{stderr}"
    );
}

const TOKENS: &str = "/identity/v3/auth/tokens";

/// `method` on /auth/tokens with `X-Auth-Token: caller` and (if any) `X-Subject-Token: subject`.
async fn on_token(
    app: &TestApp,
    method: &str,
    query: &str,
    caller: &str,
    subject: Option<&str>,
) -> Reply {
    let mut headers = vec![("X-Auth-Token", caller)];
    if let Some(subject) = subject {
        headers.push(("X-Subject-Token", subject));
    }
    app.send(method, &format!("{TOKENS}{query}"), &headers, None)
        .await
}

/// An unscoped token of `user`.
async fn unscoped(app: &TestApp, user: &str) -> String {
    let reply = app
        .post(
            TOKENS,
            &password_auth(user, &format!("porthole-{user}"), json!("unscoped")),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert!(reply.json()["token"].get("roles").is_none());
    reply.header("x-subject-token").unwrap().to_owned()
}

/// A token obtained from `from` with the token method, scoped to the demo project.
async fn derived(app: &TestApp, from: &str) -> String {
    let reply = app
        .post(
            TOKENS,
            &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": from}},
                "scope": {"project": {"id": PROJECT}}}}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.header("x-subject-token").unwrap().to_owned()
}

const FORBIDDEN: &str = "You are not authorized to perform the requested action: ";

#[tokio::test]
async fn only_owners_admins_and_services_may_see_or_revoke_a_token() {
    let app = app().await;
    let demo = token(&app, "demo", "demo").await;
    let admin = token(&app, "admin", "admin").await;
    let viewer = token(&app, "viewer", "demo").await;
    let viewer_unscoped = unscoped(&app, "viewer").await;
    let nova = token(&app, "nova", "other").await;
    let refused = |action: &str| format!("{FORBIDDEN}identity:{action}.");

    // A reader (scoped or not) may not validate, check or revoke another user's token.
    for caller in [&viewer, &viewer_unscoped] {
        let reply = on_token(&app, "GET", "", caller, Some(&demo)).await;
        assert_identity_error(&reply, 403, &refused("validate_token"));
        let reply = on_token(&app, "HEAD", "", caller, Some(&demo)).await;
        assert_eq!(reply.status, 403);
        assert!(reply.body.is_empty());
        assert_eq!(reply.header("content-length"), Some("133"));
        let reply = on_token(&app, "DELETE", "", caller, Some(&demo)).await;
        assert_identity_error(&reply, 403, &refused("revoke_token"));
    }
    // A member may not look at an admin's token.
    let reply = on_token(&app, "GET", "", &demo, Some(&admin)).await;
    assert_identity_error(&reply, 403, &refused("validate_token"));
    let reply = on_token(&app, "DELETE", "", &demo, Some(&admin)).await;
    assert_identity_error(&reply, 403, &refused("revoke_token"));
    // A service may validate (keystonemiddleware), not check or revoke.
    assert_eq!(
        on_token(&app, "GET", "", &nova, Some(&demo)).await.status,
        200
    );
    let reply = on_token(&app, "HEAD", "", &nova, Some(&demo)).await;
    assert_eq!(reply.status, 403);
    let reply = on_token(&app, "DELETE", "", &nova, Some(&demo)).await;
    assert_identity_error(&reply, 403, &refused("revoke_token"));
    // Every refused revocation left the tokens valid.
    for token in [&demo, &admin] {
        assert_eq!(
            on_token(&app, "GET", "", &admin, Some(token)).await.status,
            200
        );
    }
    // The owner, with any of its tokens.
    let demo_unscoped = unscoped(&app, "demo").await;
    assert_eq!(
        on_token(&app, "GET", "", &demo_unscoped, Some(&demo))
            .await
            .status,
        200
    );
    assert_eq!(
        on_token(&app, "HEAD", "", &demo, Some(&demo)).await.status,
        200
    );
    assert_eq!(
        on_token(&app, "DELETE", "", &demo_unscoped, Some(&demo))
            .await
            .status,
        204
    );
    // An admin, any token.
    assert_eq!(
        on_token(&app, "DELETE", "", &admin, Some(&viewer))
            .await
            .status,
        204
    );
    assert_unauthorized(&as_token(&app, "GET", &interfaces(SERVER), &viewer, None).await);
}

#[tokio::test]
async fn token_checks_run_in_keystones_order_and_never_echo_a_token() {
    let app = app().await;
    let viewer = token(&app, "viewer", "demo").await;
    let admin = token(&app, "admin", "admin").await;
    let secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    // 1. The caller's token.
    assert_identity_unauthorized(&on_token(&app, "GET", "", "nope", Some(secret)).await);
    assert_identity_unauthorized(&on_token(&app, "DELETE", "", secret, Some(&admin)).await);
    // 2. The subject token, when there is the header, before the policy.
    for method in ["GET", "DELETE"] {
        let reply = on_token(&app, method, "", &viewer, Some(secret)).await;
        assert_identity_error(&reply, 404, "Could not recognize Fernet token");
        assert!(!reply.text().contains(secret));
        let reply = on_token(&app, method, "", &viewer, Some("")).await;
        assert_identity_error(&reply, 404, "No token in the request");
    }
    // 3. The policy: without a subject, only an admin gets as far as 4.
    let reply = on_token(&app, "GET", "", &viewer, None).await;
    assert_identity_error(&reply, 403, &format!("{FORBIDDEN}identity:validate_token."));
    let reply = on_token(&app, "DELETE", "", &viewer, None).await;
    assert_identity_error(&reply, 403, &format!("{FORBIDDEN}identity:revoke_token."));
    // 4. No subject.
    let reply = on_token(&app, "GET", "", &admin, None).await;
    assert_identity_error(&reply, 404, "No token in the request");
    // The token method: 404 too, never the token.
    let reply = app
        .post(
            TOKENS,
            &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": secret}}}}),
        )
        .await;
    assert_identity_error(&reply, 404, "Could not recognize Fernet token");
}

#[tokio::test]
async fn revoking_a_token_revokes_the_tokens_derived_from_it() {
    let app = app().await;
    let admin = token(&app, "admin", "admin").await;
    let root = token(&app, "demo", "demo").await;
    let child = derived(&app, &root).await;
    let grandchild = derived(&app, &child).await;
    let reply = on_token(&app, "GET", "", &admin, Some(&grandchild)).await;
    let audit_ids = reply.json()["token"]["audit_ids"].clone();
    let reply = on_token(&app, "GET", "", &admin, Some(&root)).await;
    assert_eq!(audit_ids[1], reply.json()["token"]["audit_ids"][0]);

    assert_eq!(
        on_token(&app, "DELETE", "", &root, Some(&root))
            .await
            .status,
        204
    );
    for token in [&root, &child, &grandchild] {
        let reply = on_token(&app, "GET", "", &admin, Some(token)).await;
        assert_identity_error(&reply, 404, "Failed to validate token");
        let reply = on_token(&app, "GET", "?allow_expired=1", &admin, Some(token)).await;
        assert_identity_error(&reply, 404, "Failed to validate token");
        assert_unauthorized(&as_token(&app, "GET", &interfaces(SERVER), token, None).await);
        let reply = app
            .post(
                TOKENS,
                &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}}),
            )
            .await;
        assert_identity_error(&reply, 404, "Failed to validate token");
    }

    // Revoking a derived token leaves its parent, and the tokens of the
    // same chain derived from it (their chain names the root).
    let root = token(&app, "demo", "demo").await;
    let child = derived(&app, &root).await;
    let grandchild = derived(&app, &child).await;
    assert_eq!(
        on_token(&app, "DELETE", "", &admin, Some(&child))
            .await
            .status,
        204
    );
    assert_eq!(
        on_token(&app, "GET", "", &admin, Some(&child)).await.status,
        404
    );
    assert_eq!(
        on_token(&app, "GET", "", &admin, Some(&root)).await.status,
        200
    );
    assert_eq!(
        on_token(&app, "GET", "", &admin, Some(&grandchild))
            .await
            .status,
        200
    );

    // ?cascade=false: the token only.
    let root = token(&app, "demo", "demo").await;
    let child = derived(&app, &root).await;
    let reply = on_token(&app, "DELETE", "?cascade=false", &root, Some(&root)).await;
    assert_eq!(reply.status, 204);
    assert_eq!(
        on_token(&app, "GET", "", &admin, Some(&root)).await.status,
        404
    );
    assert_eq!(
        on_token(&app, "GET", "", &admin, Some(&child)).await.status,
        200
    );
}

#[tokio::test]
async fn every_method_listed_must_be_verified() {
    let app = app().await;
    let password = json!({"user": {"name": "demo", "domain": {"name": "Default"}, "password": "porthole-demo"}});
    // A second factor nothing here checks is refused, not recorded.
    for methods in [json!(["password", "totp"]), json!(["password", "magic"])] {
        let mut identity = json!({"methods": methods, "password": password});
        identity["totp"] = json!({"user": {"id": "x", "passcode": "123456"}});
        identity["magic"] = json!({});
        let reply = app
            .post(TOKENS, &json!({"auth": {"identity": identity}}))
            .await;
        assert_eq!(reply.status, 401, "{}", reply.text());
        assert_eq!(
            reply.json()["error"],
            json!({"code": 401, "identity": {"methods": ["password", "token"]},
                "message": "Attempted to authenticate with an unsupported method.",
                "title": "Unauthorized"})
        );
    }
    // Another user's token beside demo's password.
    let admin = token(&app, "admin", "admin").await;
    let reply = app
        .post(
            TOKENS,
            &json!({"auth": {"identity": {"methods": ["password", "token"],
                "password": password, "token": {"id": admin}}}}),
        )
        .await;
    assert_identity_unauthorized(&reply);
    // An invalid token beside a good password.
    let reply = app
        .post(
            TOKENS,
            &json!({"auth": {"identity": {"methods": ["password", "token"],
                "password": password, "token": {"id": "not-a-token"}}}}),
        )
        .await;
    assert_identity_error(&reply, 404, "Could not recognize Fernet token");
    // No method at all.
    let reply = app
        .post(
            TOKENS,
            &json!({"auth": {"identity": {"methods": [], "password": password}}}),
        )
        .await;
    assert_identity_unauthorized(&reply);
    // The same method twice is one method; token and password of one user
    // keep the token's expiry and chain.
    let demo = token(&app, "demo", "demo").await;
    let reply = app
        .post(
            TOKENS,
            &json!({"auth": {"identity": {"methods": ["token", "password", "password"],
                "password": password, "token": {"id": demo}}}}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(
        reply.json()["token"]["methods"],
        json!(["token", "password"])
    );
    assert_eq!(
        reply.json()["token"]["audit_ids"].as_array().unwrap().len(),
        2
    );
}

fn role_names(token: &Value) -> Vec<String> {
    let mut names: Vec<String> = token["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// A token from `body`, its id and body.
async fn issue(app: &TestApp, query: &str, body: &Value) -> (String, Value) {
    let reply = app.post(&format!("{TOKENS}{query}"), body).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    (
        reply.header("x-subject-token").unwrap().to_owned(),
        reply.json()["token"].clone(),
    )
}

fn token_auth(id: &str, scope: Value) -> Value {
    let mut auth = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": id}}}});
    if !scope.is_null() {
        auth["auth"]["scope"] = scope;
    }
    auth
}

#[tokio::test]
async fn unscoped_domain_and_system_tokens_as_keystone_issues_them() {
    let app = app().await;
    let admin = |scope: Value| password_auth("admin", "porthole-admin", scope);
    // Unscoped, asked for (both spellings) although there is a default project.
    for scope in [json!("unscoped"), json!({"unscoped": {}})] {
        let (_, token) = issue(&app, "", &admin(scope)).await;
        let keys: Vec<&String> = token.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["methods", "user", "audit_ids", "expires_at", "issued_at"]
        );
    }
    // Domain scope, by name or id: the compute endpoints need a project.
    for scope in [
        json!({"domain": {"name": "Default"}}),
        json!({"domain": {"id": "default"}}),
    ] {
        let (_, token) = issue(&app, "", &admin(scope)).await;
        let keys: Vec<&String> = token.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "methods",
                "user",
                "audit_ids",
                "expires_at",
                "issued_at",
                "domain",
                "roles",
                "catalog"
            ]
        );
        assert_eq!(token["domain"], json!({"id": "default", "name": "Default"}));
        assert_eq!(role_names(&token), ["admin", "manager", "member", "reader"]);
        let catalog = token["catalog"].as_array().unwrap();
        assert_eq!(catalog[0]["type"], "identity");
        assert_eq!(
            catalog[0]["endpoints"][0]["url"],
            "http://porthole.test/identity/v3"
        );
        assert_eq!(catalog[1]["type"], "compute");
        assert_eq!(catalog[1]["endpoints"], json!([]));
    }
    // System scope, without a catalog on request.
    let (system, body) = issue(&app, "?nocatalog", &admin(json!({"system": {"all": true}}))).await;
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "methods",
            "user",
            "audit_ids",
            "expires_at",
            "issued_at",
            "roles",
            "system"
        ]
    );
    assert_eq!(body["system"], json!({"all": true}));
    // Times in whole seconds, as Keystone's.
    assert!(body["issued_at"].as_str().unwrap().ends_with(".000000Z"));
    // Without a role there, 401.
    for scope in [
        json!({"domain": {"name": "Default"}}),
        json!({"system": {"all": true}}),
    ] {
        let reply = app
            .post(TOKENS, &password_auth("demo", "porthole-demo", scope))
            .await;
        assert_identity_unauthorized(&reply);
    }
    // A system admin validates anyone's token.
    let demo = token(&app, "demo", "demo").await;
    assert_eq!(
        on_token(&app, "GET", "", &system, Some(&demo)).await.status,
        200
    );
}

#[tokio::test]
async fn the_token_method_rescopes_as_keystone_does() {
    let app = app().await;
    let admin = |scope: Value| password_auth("admin", "porthole-admin", scope);
    let (system, _) = issue(&app, "", &admin(json!({"system": {"all": true}}))).await;
    let (project, _) = issue(&app, "", &admin(project_by_name("admin"))).await;
    // System to project or domain: 403.
    for scope in [
        json!({"project": {"id": PROJECT}}),
        json!({"domain": {"id": "default"}}),
    ] {
        let reply = app.post(TOKENS, &token_auth(&system, scope)).await;
        assert_identity_error(
            &reply,
            403,
            &format!("{FORBIDDEN}Using a system-scoped token to create a project-scoped or domain-scoped token is not allowed.."),
        );
    }
    // System to system, project to domain, domain to project.
    let (_, token) = issue(
        &app,
        "",
        &token_auth(&system, json!({"system": {"all": true}})),
    )
    .await;
    assert_eq!(token["system"], json!({"all": true}));
    let (domain, token) = issue(
        &app,
        "",
        &token_auth(&project, json!({"domain": {"name": "Default"}})),
    )
    .await;
    assert_eq!(token["domain"]["id"], "default");
    let (_, token) = issue(
        &app,
        "",
        &token_auth(&domain, json!({"project": {"id": PROJECT}})),
    )
    .await;
    assert_eq!(token["project"]["id"], PROJECT);
    assert_eq!(token["methods"], json!(["token", "password"]));
    // No scope: the old scope is not kept (the user's default project,
    // else unscoped).
    let (demo_project, _) = issue(&app, "", &admin(project_by_name("demo"))).await;
    let (_, token) = issue(&app, "", &token_auth(&demo_project, Value::Null)).await;
    assert_eq!(token["project"]["id"], ADMIN_PROJECT);
    let (_, token) = issue(&app, "", &token_auth(&domain, json!("unscoped"))).await;
    assert!(token.get("domain").is_none() && token.get("roles").is_none());
    // No role on the target: 401.
    let demo = unscoped(&app, "demo").await;
    let reply = app
        .post(TOKENS, &token_auth(&demo, project_by_name("admin")))
        .await;
    assert_identity_unauthorized(&reply);
    let reply = app
        .post(
            TOKENS,
            &token_auth(&demo, json!({"domain": {"id": "default"}})),
        )
        .await;
    assert_identity_unauthorized(&reply);
}

#[test]
fn assignments_name_one_target() {
    let mut config = porthole::config::default_identity();
    config.assignments[0].domain = Some("Default".into());
    let err = porthole::auth::BuiltinKeystone::from_config(&config)
        .err()
        .unwrap();
    assert!(
        err.contains("exactly one of project, domain, system"),
        "{err}"
    );
    let mut config = porthole::config::default_identity();
    config.assignments[1].system = Some("some".into());
    let err = porthole::auth::BuiltinKeystone::from_config(&config)
        .err()
        .unwrap();
    assert!(err.contains("system must be \"all\""), "{err}");
}

#[tokio::test]
async fn identity_answers_carry_keystones_headers_and_pages() {
    let app = app().await;
    let demo = token(&app, "demo", "demo").await;
    // Every answer: Vary and a request id of its own (not the caller's).
    for reply in [
        app.get("/identity/v3").await,
        app.send(
            "GET",
            "/identity/v3",
            &[(
                "X-OpenStack-Request-Id",
                "req-11111111-2222-3333-4444-555555555555",
            )],
            None,
        )
        .await,
        on_token(&app, "GET", "", &demo, Some(&demo)).await,
        on_token(&app, "GET", "", "bad", Some(&demo)).await,
        app.send("PUT", TOKENS, &[], None).await,
    ] {
        assert_eq!(reply.header("vary"), Some("X-Auth-Token"));
        let id = reply.header("x-openstack-request-id").unwrap();
        assert!(
            id.starts_with("req-") && id.len() == 40 && !id.contains("1111"),
            "{id}"
        );
    }
    // Versions: 300 with Location, Keystone's date.
    let reply = app.get("/identity").await;
    assert_eq!(reply.status, 300);
    assert_eq!(
        reply.header("location"),
        Some("http://porthole.test/identity/v3/")
    );
    assert_eq!(
        reply.json()["versions"]["values"][0]["updated"],
        "2020-04-07T00:00:00Z"
    );
    // 405 with Allow before authentication; OPTIONS answered.
    for method in ["PUT", "PATCH"] {
        let reply = app.send(method, TOKENS, &[], None).await;
        assert_eq!(reply.status, 405);
        assert_eq!(
            reply.header("allow"),
            Some("DELETE, GET, HEAD, OPTIONS, POST")
        );
        assert_eq!(
            reply.text(),
            "{\"message\": \"The method is not allowed for the requested URL.\"}\n"
        );
    }
    let reply = app.send("OPTIONS", TOKENS, &[], None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("allow"),
        Some("DELETE, GET, HEAD, OPTIONS, POST")
    );
    let reply = app.send("POST", "/identity/", &[], None).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD, OPTIONS"));
    // Unknown paths: Flask's 404 page, not Nova's version choices.
    let reply = app.get("/identity/v3/nope").await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    // The catalog of the token's project.
    let reply = as_token(&app, "GET", "/identity/v3/auth/catalog", &demo, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["links"]["self"],
        "http://porthole.test/identity/v3/auth/catalog"
    );
    assert_eq!(
        reply.json()["catalog"][1]["endpoints"][0]["url"],
        format!("http://porthole.test/v2.1/{PROJECT}")
    );
    let unscoped = unscoped(&app, "demo").await;
    let reply = as_token(&app, "GET", "/identity/v3/auth/catalog", &unscoped, None).await;
    assert_identity_error(
        &reply,
        403,
        "You are not authorized to perform the requested action.",
    );
    assert_identity_unauthorized(&app.get("/identity/v3/auth/catalog").await);
}

#[tokio::test]
async fn malformed_requests_get_keystones_400s() {
    let app = app().await;
    let tail = "The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.";
    let send = |body: &'static str, content_type: &'static str| {
        let app = &app;
        async move {
            let headers: Vec<(&str, &str)> = if content_type.is_empty() {
                vec![]
            } else {
                vec![("Content-Type", content_type)]
            };
            app.send("POST", TOKENS, &headers, Some(body)).await
        }
    };
    let cases = [
        ("{", "application/json", "Expecting to find valid JSON in request body."),
        ("[]", "application/json", "Expecting to find valid JSON in request body."),
        ("{}", "application/json", "Expecting to find auth in request body."),
        ("{\"auth\": {}}", "text/plain", "Expecting to find application/json in Content-Type header."),
        ("{\"auth\": {\"identity\": {\"methods\": [\"password\"]}}}", "application/json", "Expecting to find password in identity."),
        ("{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": {}}}}", "application/json", "Expecting to find user in None."),
        ("{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": {\"user\": {\"name\": \"demo\", \"password\": \"x\"}}}}}", "", "Expecting to find domain in user."),
        ("{\"auth\": {\"identity\": {\"methods\": []}, \"scope\": {\"project\": {\"id\": \"x\"}, \"domain\": {\"id\": \"default\"}}}}", "application/json", "Expecting to find system, project, domain, OS-TRUST:trust or unscoped in scope."),
        ("{\"auth\": {\"identity\": {\"methods\": []}, \"scope\": {\"project\": {\"name\": \"demo\"}}}}", "application/json", "Expecting to find domain in project."),
    ];
    for (body, content_type, message) in cases {
        let reply = send(body, content_type).await;
        assert_identity_error(&reply, 400, &format!("{message} {tail}"));
        assert!(reply.text().ends_with("}}\n"));
    }
    let reply = send(
        "{\"auth\": {\"identity\": {\"methods\": []}, \"scope\": {\"domain\": {}}}}",
        "application/json",
    )
    .await;
    assert_identity_error(
        &reply,
        400,
        "Invalid input for field scope/domain: id or name must be present.",
    );
}

#[tokio::test]
async fn a_system_reader_may_validate_and_check_not_revoke() {
    let app = app().await;
    let demo = token(&app, "demo", "demo").await;
    let reply = app
        .post(
            TOKENS,
            &password_auth(
                "auditor",
                "porthole-auditor",
                json!({"system": {"all": true}}),
            ),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let auditor = reply.header("x-subject-token").unwrap().to_owned();
    assert_eq!(
        on_token(&app, "GET", "", &auditor, Some(&demo))
            .await
            .status,
        200
    );
    assert_eq!(
        on_token(&app, "HEAD", "", &auditor, Some(&demo))
            .await
            .status,
        200
    );
    let reply = on_token(&app, "DELETE", "", &auditor, Some(&demo)).await;
    assert_identity_error(&reply, 403, &format!("{FORBIDDEN}identity:revoke_token."));
    // A reader of a project is no system reader.
    let viewer = token(&app, "viewer", "demo").await;
    assert_eq!(
        on_token(&app, "HEAD", "", &viewer, Some(&demo))
            .await
            .status,
        403
    );
    // A domain admin may revoke.
    let reply = app
        .post(
            TOKENS,
            &password_auth(
                "admin",
                "porthole-admin",
                json!({"domain": {"id": "default"}}),
            ),
        )
        .await;
    let domain_admin = reply.header("x-subject-token").unwrap().to_owned();
    assert_eq!(
        on_token(&app, "DELETE", "", &domain_admin, Some(&demo))
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn a_token_request_over_the_size_limit_is_sizelimits_413() {
    let app = app().await;
    let huge = format!(r#"{{"auth": {{"padding": "{}"}}}}"#, "x".repeat(114_688));
    let reply = app
        .send(
            "POST",
            "/identity/v3/auth/tokens",
            &[
                ("Content-Type", "application/json"),
                ("Accept", "application/json"),
            ],
            Some(&huge),
        )
        .await;
    assert_eq!(reply.status, 413);
    assert_eq!(
        reply.json(),
        json!({"message": "Request is too large. Larger than max_request_body_size (%s).<br /><br />\n\n\n",
               "code": "413 Request Entity Too Large", "title": "Request Entity Too Large"})
    );
}
