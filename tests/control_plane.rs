//! The control plane under `/_porthole/`: reset, seed, state, servers,
//! faults, port transitions, deterministic ids, and who may use it.

mod common;

use std::time::Duration;

use common::*;
use porthole::app::AppOptions;
use porthole::config::AuthMode;
use porthole::domain::ids::IdSource;
use serde_json::{json, Value};

async fn app() -> TestApp {
    TestApp::with_options(AuthMode::Noauth, AppOptions::default(), IdSource::random()).await
}

async fn state(app: &TestApp) -> Value {
    let reply = app.get("/_porthole/state").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.json()
}

async fn attach_net(app: &TestApp, server: &str) -> Value {
    let reply = app
        .post(
            &interfaces(server),
            &json!({"interfaceAttachment": {"net_id": NET}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["interfaceAttachment"].clone()
}

#[tokio::test]
async fn reset_returns_to_the_seed() {
    let app = app().await;
    let initial = state(&app).await;
    attach_net(&app, SERVER).await;
    assert_eq!(
        app.delete(&interface(SERVER_WITH_PORT, PORT_ATTACHED))
            .await
            .status,
        202
    );
    let patched = app
        .send(
            "PATCH",
            &format!("/_porthole/servers/{SERVER}"),
            &[],
            Some(r#"{"locked": true}"#),
        )
        .await;
    assert_eq!(patched.status, 200);
    assert_ne!(state(&app).await, initial);

    let reply = app.send("POST", "/_porthole/reset", &[], None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"servers": 12, "networks": 6, "subnets": 5, "ports": 6})
    );
    assert_eq!(state(&app).await, initial);
    // Instance actions are gone with the rest.
    let actions = app
        .get(&format!(
            "/v2.1/{PROJECT}/servers/{SERVER}/os-instance-actions"
        ))
        .await;
    assert_eq!(actions.json(), json!({"instanceActions": []}));
}

#[tokio::test]
async fn reset_racing_requests_leaves_a_consistent_state() {
    let app = std::sync::Arc::new(app().await);
    let initial = state(&app).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            if i == 20 {
                app.send("POST", "/_porthole/reset", &[], None).await.status
            } else {
                app.post(
                    &interfaces(SERVER),
                    &json!({"interfaceAttachment": {"net_id": NET}}),
                )
                .await
                .status
            }
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    // Whatever interleaving happened, the state is one a seed reproduces:
    // unique ids, MACs and addresses.
    let now = state(&app).await;
    let replaced = app
        .send(
            "POST",
            "/_porthole/seed?mode=replace",
            &[],
            Some(&now.to_string()),
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text());
    assert_eq!(state(&app).await, now);
    let attached = app.get(&interfaces(SERVER)).await.json()["interfaceAttachments"]
        .as_array()
        .unwrap()
        .len();
    assert!(attached <= 39, "{attached}");
    app.send("POST", "/_porthole/reset", &[], None).await;
    assert_eq!(state(&app).await, initial);
}

#[tokio::test]
async fn state_round_trips_through_seed() {
    let app = app().await;
    attach_net(&app, SERVER).await;
    let dump = state(&app).await;
    assert_eq!(dump["servers"].as_array().unwrap().len(), 12);
    let server = dump["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == SERVER_TASK)
        .unwrap()
        .clone();
    assert_eq!(
        server,
        json!({"id": SERVER_TASK, "name": "", "project_id": PROJECT, "user_id": "admin",
               "vm_state": "active", "task_state": "rebooting", "locked": false, "launched": true,
               "flavor": "1", "image": "c1a2b3c4-0603-4e8a-9d1f-0123456789ab"})
    );

    // Into an empty porthole, added to nothing.
    let empty = TestApp::with_seed("").await;
    let reply = empty
        .send("POST", "/_porthole/seed", &[], Some(&dump.to_string()))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"servers": 12, "networks": 6, "subnets": 5, "ports": 7})
    );
    assert_eq!(state(&empty).await, dump);
    assert_eq!(
        empty.get(&interfaces(SERVER)).await.json(),
        app.get(&interfaces(SERVER)).await.json()
    );
}

#[tokio::test]
async fn a_seed_that_fails_halfway_changes_nothing() {
    let app = app().await;
    let before = state(&app).await;
    let document = json!({
        "networks": [{"id": "net-new", "project_id": PROJECT}],
        "subnets": [{"id": "sub-new", "network_id": "net-new", "cidr": "10.9.0.0/24"}],
        "ports": [
            {"id": "port-ok", "network_id": "net-new", "project_id": PROJECT},
            {"id": "port-bad", "network_id": "no-such-net", "project_id": PROJECT}
        ]
    });
    let reply = app
        .send("POST", "/_porthole/seed", &[], Some(&document.to_string()))
        .await;
    reply.assert_fault(
        400,
        "badRequest",
        "bad seed entry ports[1] (id port-bad): network_id 'no-such-net' is not a seeded network",
    );
    assert_eq!(state(&app).await, before);

    for (body, message) in [
        (
            json!({"servers": [{"id": SERVER, "project_id": PROJECT}]}),
            format!("bad seed entry servers[0] (id {SERVER}): duplicate id"),
        ),
        (
            json!({"servers": [{"id": "s9", "project_id": PROJECT, "vm_state": "sleepy"}]}),
            "bad seed entry servers[0] (id s9): vm_state 'sleepy' is not one of active, \
             building, paused, suspended, stopped, rescued, resized, soft-delete, deleted, \
             error, shelved, shelved_offloaded"
                .to_owned(),
        ),
        (
            json!({"subnets": [{"id": "s2", "network_id": NET, "cidr": "192.168.1.128/25"}]}),
            format!(
                "bad seed entry subnets[0] (id s2): cidr 192.168.1.128/25 overlaps subnet \
                 {SUBNET} (192.168.1.0/24) of network {NET}"
            ),
        ),
    ] {
        let reply = app
            .send("POST", "/_porthole/seed", &[], Some(&body.to_string()))
            .await;
        reply.assert_fault(400, "badRequest", &message);
    }
    let reply = app
        .send("POST", "/_porthole/seed", &[], Some("{\"servers\": [}"))
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.json()["badRequest"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Malformed request body: "));
    let reply = app
        .send("POST", "/_porthole/seed?mode=merge", &[], Some("{}"))
        .await;
    reply.assert_fault(
        400,
        "badRequest",
        "The query may only be mode=add or mode=replace.",
    );
    assert_eq!(state(&app).await, before);
}

#[tokio::test]
async fn servers_are_created_changed_and_deleted() {
    let app = app().await;
    let id = "0a0b0c0d-0000-4000-8000-000000000001";
    let reply = app
        .send(
            "POST",
            "/_porthole/servers",
            &[],
            Some(&json!({"id": id, "name": "new", "project_id": PROJECT}).to_string()),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(
        reply.header("location"),
        Some(format!("/_porthole/servers/{id}").as_str())
    );
    assert_eq!(
        reply.json(),
        json!({"id": id, "name": "new", "project_id": PROJECT, "user_id": "admin",
               "vm_state": "active", "task_state": "", "locked": false, "launched": true,
               "flavor": "1", "image": "c1a2b3c4-0603-4e8a-9d1f-0123456789ab"})
    );
    let again = app
        .send(
            "POST",
            "/_porthole/servers",
            &[],
            Some(&json!({"id": id, "project_id": PROJECT}).to_string()),
        )
        .await;
    again.assert_fault(
        400,
        "badRequest",
        &format!("bad seed entry servers[0] (id {id}): duplicate id"),
    );

    // A server without an id gets one.
    let generated = app
        .send(
            "POST",
            "/_porthole/servers",
            &[],
            Some(&json!({"project_id": PROJECT}).to_string()),
        )
        .await;
    assert_eq!(generated.status, 201);
    assert!(porthole::domain::ids::is_uuid_like(
        generated.json()["id"].as_str().unwrap()
    ));

    let patch = |body: Value| {
        let app = &app;
        async move {
            app.send(
                "PATCH",
                &format!("/_porthole/servers/{id}"),
                &[],
                Some(&body.to_string()),
            )
            .await
        }
    };
    let reply = patch(json!({"vm_state": "stopped", "task_state": "powering_off"})).await;
    let known = porthole::domain::TaskState::ALL
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    reply.assert_fault(
        400,
        "badRequest",
        &format!("task_state 'powering_off' is not one of {known}"),
    );
    // Nova's own spelling, with a hyphen.
    let reply = patch(json!({"vm_state": "stopped", "task_state": "powering-off"})).await;
    assert_eq!(reply.json()["task_state"], "powering-off");
    let reply =
        patch(json!({"vm_state": "suspended", "task_state": "suspending", "locked": true})).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["task_state"], "suspending");
    let attach = app
        .post(
            &interfaces(id),
            &json!({"interfaceAttachment": {"net_id": NET}}),
        )
        .await;
    // Admin (noauth's default roles) passes the lock; the state refuses.
    attach.assert_fault(
        409,
        "conflictingRequest",
        &format!("Cannot 'attach_interface' instance {id} while it is in vm_state suspended"),
    );
    let reply = patch(json!({"vm_state": "active", "task_state": null, "locked": false})).await;
    assert_eq!(reply.json()["task_state"], "");
    patch(json!({"bogus": 1})).await;
    let unknown = app
        .send(
            "PATCH",
            "/_porthole/servers/nope",
            &[],
            Some(r#"{"locked": true}"#),
        )
        .await;
    unknown.assert_fault(404, "itemNotFound", "Server nope could not be found.");

    // Delete: a created port goes, a given one is kept and unbound.
    let created = attach_net(&app, id).await;
    let given = app
        .post(
            &interfaces(id),
            &json!({"interfaceAttachment": {"port_id": PORT_FREE}}),
        )
        .await;
    assert_eq!(given.status, 200);
    let reply = app
        .send("DELETE", &format!("/_porthole/servers/{id}"), &[], None)
        .await;
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty());
    app.get(&interfaces(id)).await.assert_fault(
        404,
        "itemNotFound",
        &format!("Instance {id} could not be found."),
    );
    let dump = state(&app).await;
    let ports = dump["ports"].as_array().unwrap();
    assert!(!ports.iter().any(|p| p["id"] == created["port_id"]));
    let kept = ports.iter().find(|p| p["id"] == PORT_FREE).unwrap();
    assert_eq!(
        (&kept["device_id"], &kept["device_owner"], &kept["status"]),
        (&json!(""), &json!(""), &json!("DOWN"))
    );
    let reply = app
        .send("DELETE", &format!("/_porthole/servers/{id}"), &[], None)
        .await;
    reply.assert_fault(
        404,
        "itemNotFound",
        &format!("Server {id} could not be found."),
    );
}

async fn add_fault(app: &TestApp, rule: Value) -> Value {
    let reply = app
        .send("POST", "/_porthole/faults", &[], Some(&rule.to_string()))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()
}

#[tokio::test]
async fn faults_fire_as_set() {
    let app = app().await;
    let rule = add_fault(
        &app,
        json!({"operation": "attach", "server_id": SERVER, "status": 409,
               "fault": "conflictingRequest", "message": "Injected.", "times": 1}),
    )
    .await;
    let id = rule["id"].as_str().unwrap().to_owned();
    assert_eq!(
        rule,
        json!({"id": id, "operation": "attach", "server_id": SERVER, "port_id": null,
               "status": 409, "fault": "conflictingRequest", "message": "Injected.",
               "delay_ms": 0, "times": 1, "probability": 1.0, "fired": 0})
    );
    // Another server, another operation: untouched.
    assert_eq!(attach_net(&app, SERVER_STOPPED).await["net_id"], NET);
    assert_eq!(app.get(&interfaces(SERVER)).await.status, 200);
    let before = state(&app).await;
    let reply = app
        .post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {"net_id": NET}}),
        )
        .await;
    reply.assert_fault(409, "conflictingRequest", "Injected.");
    assert_eq!(reply.header("openstack-api-version"), Some("compute 2.1"));
    assert!(reply.header("x-openstack-request-id").is_some());
    assert_eq!(
        state(&app).await,
        before,
        "an injected fault changes nothing"
    );
    // `times` used up.
    attach_net(&app, SERVER).await;
    let listed = app.get("/_porthole/faults").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json()["faults"][0]["fired"], 1);

    // A show of one port only, with a name from the status.
    add_fault(
        &app,
        json!({"operation": "show", "port_id": PORT_ATTACHED, "status": 503}),
    )
    .await;
    app.get(&interface(SERVER_WITH_PORT, PORT_ATTACHED))
        .await
        .assert_fault(
            503,
            "serviceUnavailable",
            "Fault injected by porthole (HTTP 503).",
        );
    assert_eq!(
        app.get(&interface(SERVER_WITH_PORT, PORT_FREE))
            .await
            .status,
        404
    );

    let reply = app
        .send("DELETE", &format!("/_porthole/faults/{id}"), &[], None)
        .await;
    assert_eq!(reply.status, 204);
    app.send("DELETE", &format!("/_porthole/faults/{id}"), &[], None)
        .await
        .assert_fault(
            404,
            "itemNotFound",
            &format!("Fault rule {id} could not be found."),
        );
    assert_eq!(
        app.send("DELETE", "/_porthole/faults", &[], None)
            .await
            .status,
        204
    );
    assert_eq!(
        app.get("/_porthole/faults").await.json(),
        json!({"faults": []})
    );
    assert_eq!(
        app.get(&interface(SERVER_WITH_PORT, PORT_ATTACHED))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn fault_probability_and_delay() {
    let app =
        TestApp::with_options(AuthMode::Noauth, AppOptions::default(), IdSource::seeded(3)).await;
    add_fault(
        &app,
        json!({"operation": "list", "status": 500, "probability": 0.0}),
    )
    .await;
    for _ in 0..20 {
        assert_eq!(app.get(&interfaces(SERVER)).await.status, 200);
    }
    app.send("DELETE", "/_porthole/faults", &[], None).await;
    add_fault(
        &app,
        json!({"operation": "list", "status": 500, "probability": 0.5}),
    )
    .await;
    let mut failed = 0;
    for _ in 0..200 {
        if app.get(&interfaces(SERVER)).await.status == 500 {
            failed += 1;
        }
    }
    assert!((60..140).contains(&failed), "{failed}");
    assert_eq!(
        app.get("/_porthole/faults").await.json()["faults"][0]["fired"],
        failed
    );
    app.send("DELETE", "/_porthole/faults", &[], None).await;

    // A delay alone: the call goes through, later.
    add_fault(
        &app,
        json!({"operation": "any", "delay_ms": 150, "times": 1}),
    )
    .await;
    let started = std::time::Instant::now();
    assert_eq!(app.get(&interfaces(SERVER)).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));

    let reply = app
        .send(
            "POST",
            "/_porthole/faults",
            &[],
            Some(r#"{"operation": "reboot"}"#),
        )
        .await;
    assert_eq!(reply.status, 400);
    let reply = app
        .send(
            "POST",
            "/_porthole/faults",
            &[],
            Some(r#"{"operation": "list"}"#),
        )
        .await;
    reply.assert_fault(
        400,
        "badRequest",
        "a rule needs a status, a delay_ms, or both",
    );
}

#[tokio::test]
async fn attached_ports_turn_active_after_the_delay() {
    let options = AppOptions {
        port_activation_delay: Duration::from_millis(100),
        port_initial_status: porthole::domain::PortStatus::Build,
        ..AppOptions::default()
    };
    let app = TestApp::with_options(AuthMode::Noauth, options, IdSource::random()).await;
    let attached = attach_net(&app, SERVER).await;
    assert_eq!(attached["port_state"], "BUILD");
    let by_port = app
        .post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {"port_id": PORT_FREE}}),
        )
        .await;
    assert_eq!(by_port.json()["interfaceAttachment"]["port_state"], "BUILD");
    let port = attached["port_id"].as_str().unwrap();
    let mut seen = Vec::new();
    for _ in 0..100 {
        let state = app.get(&interface(SERVER, port)).await.json()["interfaceAttachment"]
            ["port_state"]
            .clone();
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        if state == "ACTIVE" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, [json!("BUILD"), json!("ACTIVE")]);
    let states: Vec<Value> = app.get(&interfaces(SERVER)).await.json()["interfaceAttachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["port_state"].clone())
        .collect();
    assert_eq!(states, [json!("ACTIVE"), json!("ACTIVE")]);
}

/// Attached, detached and attached again within the delay: the first
/// attachment's timer must not turn the second one `ACTIVE` early.
#[tokio::test(start_paused = true)]
async fn a_stale_activation_does_not_cut_a_later_attachment_short() {
    let options = AppOptions {
        port_activation_delay: Duration::from_millis(300),
        port_initial_status: porthole::domain::PortStatus::Build,
        ..AppOptions::default()
    };
    let app = TestApp::with_options(AuthMode::Noauth, options, IdSource::random()).await;
    let attach = || async {
        app.post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {"port_id": PORT_FREE}}),
        )
        .await
    };
    let state = || async {
        app.get(&interface(SERVER, PORT_FREE)).await.json()["interfaceAttachment"]["port_state"]
            .clone()
    };
    assert_eq!(attach().await.status, 200);
    assert_eq!(app.delete(&interface(SERVER, PORT_FREE)).await.status, 202);
    // The paused clock moves only as far as each sleep asks.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(attach().await.status, 200);
    tokio::time::sleep(Duration::from_millis(200)).await; // the first timer is due
    assert_eq!(state().await, "BUILD");
    tokio::time::sleep(Duration::from_millis(150)).await; // the second is due
    assert_eq!(state().await, "ACTIVE");
}

#[tokio::test]
async fn deterministic_ids_repeat() {
    async fn run() -> (Value, String) {
        let app =
            TestApp::with_options(AuthMode::Noauth, AppOptions::default(), IdSource::seeded(7))
                .await;
        let reply = app
            .post(
                &interfaces(SERVER),
                &json!({"interfaceAttachment": {"net_id": NET}}),
            )
            .await;
        (reply.json(), reply.request_id())
    }
    let (first, first_request) = run().await;
    let (second, second_request) = run().await;
    assert_eq!(first, second);
    assert_eq!(first_request, second_request);
    let (third, _) = {
        let app = app().await;
        let reply = app
            .post(
                &interfaces(SERVER),
                &json!({"interfaceAttachment": {"net_id": NET}}),
            )
            .await;
        (reply.json(), ())
    };
    assert_ne!(
        first["interfaceAttachment"]["port_id"],
        third["interfaceAttachment"]["port_id"]
    );
}

#[tokio::test]
async fn only_admins_use_the_control_plane() {
    let app = app().await;
    let reply = app
        .send(
            "POST",
            "/_porthole/reset",
            &[("X-Roles", "member,reader")],
            None,
        )
        .await;
    reply.assert_fault(
        403,
        "forbidden",
        "Policy doesn't allow porthole:control to be performed.",
    );

    let builtin =
        TestApp::with_options(AuthMode::Builtin, AppOptions::default(), IdSource::random()).await;
    let reply = builtin.get("/_porthole/state").await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Keystone uri=\"http://porthole.test/identity\"")
    );
    let token = |user: &str, project: &str| {
        let builtin = &builtin;
        let (user, project) = (user.to_owned(), project.to_owned());
        async move {
            let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": format!("porthole-{user}")}}},
                "scope": {"project": {"name": project, "domain": {"id": "default"}}}}});
            let reply = builtin.post("/identity/v3/auth/tokens", &body).await;
            assert_eq!(reply.status, 201, "{}", reply.text());
            reply.header("x-subject-token").unwrap().to_owned()
        }
    };
    let demo = token("demo", "demo").await;
    let reply = builtin
        .send("GET", "/_porthole/state", &[("X-Auth-Token", &demo)], None)
        .await;
    reply.assert_fault(
        403,
        "forbidden",
        "Policy doesn't allow porthole:control to be performed.",
    );
    let admin = token("admin", "admin").await;
    let reply = builtin
        .send("GET", "/_porthole/state", &[("X-Auth-Token", &admin)], None)
        .await;
    assert_eq!(reply.status, 200);

    let off = TestApp::with_options(
        AuthMode::Noauth,
        AppOptions {
            control_plane: false,
            ..AppOptions::default()
        },
        IdSource::random(),
    )
    .await;
    // Off: an unknown path like any other (the version list, as Nova answers).
    assert_eq!(
        off.send("POST", "/_porthole/reset", &[], None).await.status,
        300
    );
}

#[tokio::test]
async fn undecodable_ids_and_oversized_bodies_are_faults_too() {
    let app = app().await;
    for (method, uri) in [
        ("PATCH", "/_porthole/servers/%FF"),
        ("DELETE", "/_porthole/servers/%FF"),
        ("DELETE", "/_porthole/faults/%FF"),
    ] {
        let reply = app.send(method, uri, &[], Some("{}")).await;
        assert_eq!(reply.status, 404, "{method} {uri}");
        assert_eq!(
            reply.json(),
            json!({"itemNotFound": {"code": 404, "message": "The resource could not be found."}}),
            "{method} {uri}"
        );
    }
    let before = state(&app).await;
    let huge = " ".repeat(64 * 1024 * 1024 + 1);
    let reply = app.send("POST", "/_porthole/seed", &[], Some(&huge)).await;
    assert_eq!(reply.status, 413);
    assert_eq!(
        reply.json(),
        json!({"overLimit": {"code": 413, "message": "Request is larger than 67108864 bytes."}})
    );
    assert_eq!(state(&app).await, before, "nothing changed");
}
