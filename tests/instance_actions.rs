//! How attach and detach report themselves: os-instance-actions.
mod common;
use common::*;
use serde_json::{json, Value};

fn actions(server: &str) -> String {
    format!("/v2.1/{PROJECT}/servers/{server}/os-instance-actions")
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

const MEMBER: [(&str, &str); 2] = [
    ("X-Auth-Token", "demo:6f70656e737461636b20342065766572"),
    ("X-Roles", "member"),
];

async fn as_member(app: &TestApp, uri: &str, version: &str) -> Reply {
    let v = format!("compute {version}");
    let mut headers = MEMBER.to_vec();
    headers.push(("OpenStack-API-Version", &v));
    app.send("GET", uri, &headers, None).await
}

/// Attach PORT_FREE (ok), attach an unknown port (no event), attach a port in
/// use (failed event), detach PORT_FREE (ok). Returns the four request ids.
async fn history(app: &TestApp) -> [String; 4] {
    let post = |body: Value| async move {
        let r = app
            .send(
                "POST",
                &interfaces(SERVER),
                &[MEMBER[0], MEMBER[1], ("content-type", "application/json")],
                Some(&body.to_string()),
            )
            .await;
        (r.status.as_u16(), r.request_id())
    };
    let (s1, ok) = post(json!({"interfaceAttachment": {"port_id": PORT_FREE}})).await;
    let (s2, missing) =
        post(json!({"interfaceAttachment": {"port_id": "00000000-0000-4000-8000-000000000009"}}))
            .await;
    let (s3, in_use) = post(json!({"interfaceAttachment": {"port_id": PORT_IN_USE}})).await;
    let r = app
        .send("DELETE", &interface(SERVER, PORT_FREE), &MEMBER, None)
        .await;
    assert_eq!([s1, s2, s3, r.status.as_u16()], [200, 404, 409, 202]);
    [ok, missing, in_use, r.request_id()]
}

#[tokio::test]
async fn list_newest_first_with_nova_keys() {
    let app = TestApp::new().await;
    let ids = history(&app).await;
    let r = as_member(&app, &actions(SERVER), "2.1").await;
    assert_eq!(r.status, 200);
    let list = r.json()["instanceActions"].as_array().unwrap().clone();
    let got: Vec<(&str, &str, Value)> = list
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap(),
                a["request_id"].as_str().unwrap(),
                a["message"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("detach_interface", ids[3].as_str(), Value::Null),
            ("attach_interface", ids[2].as_str(), json!("Error")),
            ("attach_interface", ids[1].as_str(), Value::Null),
            ("attach_interface", ids[0].as_str(), Value::Null),
        ]
    );
    assert_eq!(
        keys(&list[0]),
        [
            "action",
            "instance_uuid",
            "request_id",
            "user_id",
            "project_id",
            "start_time",
            "message"
        ]
    );
    assert_eq!(list[0]["instance_uuid"], SERVER);
    assert_eq!(list[0]["user_id"], "demo");
    assert_eq!(list[0]["project_id"], PROJECT);
    let start = list[0]["start_time"].as_str().unwrap();
    assert_eq!(start.len(), "2026-11-28T04:17:25.238006".len(), "{start}");
    assert!(porthole::api::compute::instance_actions::parse_iso_time(start).is_some());
    let r = as_member(&app, &actions(SERVER), "2.58").await;
    assert_eq!(
        keys(&r.json()["instanceActions"][0]).last(),
        Some(&"updated_at")
    );
}

#[tokio::test]
async fn events_by_version_and_role() {
    let app = TestApp::new().await;
    let ids = history(&app).await;
    let in_use = format!("{}/{}", actions(SERVER), ids[2]);
    // Before 2.51 members see no events at all; admins see them with tracebacks.
    let r = as_member(&app, &in_use, "2.50").await;
    assert!(r.json()["instanceAction"].get("events").is_none());
    let r = app.get_v(&in_use, "2.50").await;
    let event = &r.json()["instanceAction"]["events"][0];
    assert_eq!(
        keys(event),
        ["event", "start_time", "finish_time", "result", "traceback"]
    );
    assert!(event["traceback"].as_str().unwrap().contains("PortInUse"));
    let cases = [
        (
            "2.51",
            false,
            vec!["event", "start_time", "finish_time", "result"],
        ),
        (
            "2.62",
            false,
            vec!["event", "start_time", "finish_time", "result", "hostId"],
        ),
        (
            "2.62",
            true,
            vec![
                "event",
                "start_time",
                "finish_time",
                "result",
                "traceback",
                "host",
                "hostId",
            ],
        ),
        (
            "2.84",
            false,
            vec!["event", "start_time", "finish_time", "result", "hostId"],
        ),
        (
            "2.84",
            true,
            vec![
                "event",
                "start_time",
                "finish_time",
                "result",
                "traceback",
                "host",
                "hostId",
                "details",
            ],
        ),
    ];
    for (version, admin, expected) in cases {
        let r = if admin {
            app.get_v(&in_use, version).await
        } else {
            as_member(&app, &in_use, version).await
        };
        let action = r.json()["instanceAction"].clone();
        assert_eq!(keys(&action).last(), Some(&"events"), "{version}");
        let event = &action["events"][0];
        assert_eq!(keys(event), expected, "{version} admin={admin}");
        assert_eq!(event["event"], "compute_attach_interface");
        assert_eq!(event["result"], "Error");
    }
    let r = app.get_v(&in_use, "2.84").await;
    let event = &r.json()["instanceAction"]["events"][0];
    assert_eq!(
        event["details"],
        format!("Port {PORT_IN_USE} is still in use.")
    );
    assert_eq!(event["host"], "porthole");
    // sha224(project + host), as Nova's generate_hostid.
    assert_eq!(event["hostId"].as_str().unwrap().len(), 56);
    // The API-side failure has an action but no event.
    let r = app
        .get_v(&format!("{}/{}", actions(SERVER), ids[1]), "2.84")
        .await;
    assert_eq!(r.json()["instanceAction"]["events"], json!([]));
    assert_eq!(
        r.json()["instanceAction"]["updated_at"],
        r.json()["instanceAction"]["start_time"]
    );
    // Successes.
    for (id, event) in [
        (&ids[0], "compute_attach_interface"),
        (&ids[3], "compute_detach_interface"),
    ] {
        let r = app
            .get_v(&format!("{}/{}", actions(SERVER), id), "2.84")
            .await;
        let e = &r.json()["instanceAction"]["events"][0];
        assert_eq!(
            (
                e["event"].as_str(),
                e["result"].as_str(),
                &e["traceback"],
                &e["details"]
            ),
            (Some(event), Some("Success"), &Value::Null, &Value::Null)
        );
    }
}

/// `events:details` is checked on its own (after the events rule).
#[tokio::test]
async fn event_details_follow_their_own_rule() {
    let app =
        TestApp::with_policy("\"os_compute_api:os-instance-actions:events:details\": \"!\"\n")
            .await;
    let ids = history(&app).await;
    let r = app
        .get_v(&format!("{}/{}", actions(SERVER), ids[2]), "2.84")
        .await;
    let event = &r.json()["instanceAction"]["events"][0];
    assert_eq!(
        keys(event),
        [
            "event",
            "start_time",
            "finish_time",
            "result",
            "traceback",
            "host",
            "hostId"
        ]
    );
}

#[tokio::test]
async fn rejected_calls_record_nothing() {
    let app = TestApp::new().await;
    assert_eq!(
        app.post(
            &interfaces(SERVER_LOCKED),
            &json!({"interfaceAttachment": {"net_id": NET, "port_id": PORT_FREE}})
        )
        .await
        .status,
        400
    );
    let locked = app
        .send(
            "POST",
            &interfaces(SERVER_LOCKED),
            &[MEMBER[0], MEMBER[1], ("content-type", "application/json")],
            Some("{}"),
        )
        .await;
    assert_eq!(locked.status, 409);
    assert_eq!(
        app.delete(&interface(SERVER_SUSPENDED, PORT_FREE))
            .await
            .status,
        409
    );
    for server in [SERVER_LOCKED, SERVER_SUSPENDED] {
        assert_eq!(
            app.get(&actions(server)).await.json(),
            json!({"instanceActions": []})
        );
    }
}

#[tokio::test]
async fn errors() {
    let app = TestApp::new().await;
    app.get(&format!(
        "{}/req-00000000-0000-4000-8000-000000000000",
        actions(SERVER)
    ))
    .await
    .assert_fault(
        404,
        "itemNotFound",
        "Action req-00000000-0000-4000-8000-000000000000 not found",
    );
    app.get(&actions("abc")).await.assert_fault(
        404,
        "itemNotFound",
        "Instance abc could not be found.",
    );
    app.send("GET", &actions(SERVER), &[("X-Roles", "observer")], None)
        .await
        .assert_fault(
            403,
            "forbidden",
            "Policy doesn't allow os_compute_api:os-instance-actions:list to be performed.",
        );
    app.get_v(&format!("{}/x?foo=1", actions(SERVER)), "2.102")
        .await
        .assert_fault(
            400,
            "badRequest",
            "Additional properties are not allowed ('foo' was unexpected)",
        );
}

#[tokio::test]
async fn paging_and_filters_from_2_58() {
    let app = TestApp::new().await;
    let ids = history(&app).await;
    let base = actions(SERVER);
    // Ignored before 2.58.
    assert_eq!(
        app.get_v(&format!("{base}?marker=bad&foo=1"), "2.57")
            .await
            .json()["instanceActions"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let r = app.get_v(&format!("{base}?limit=2"), "2.58").await;
    let body = r.json();
    let got: Vec<&str> = body["instanceActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[3].as_str(), ids[2].as_str()]);
    assert_eq!(
        body["links"],
        json!([{"rel": "next", "href": format!("http://porthole.test/v2.1/{PROJECT}/servers/{SERVER}/os-instance-actions?limit=2&marker={}", ids[2])}])
    );
    let r = app
        .get_v(&format!("{base}?limit=2&marker={}", ids[2]), "2.58")
        .await;
    let got: Vec<String> = r.json()["instanceActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["request_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, [ids[1].clone(), ids[0].clone()]);
    let r = app.get_v(&format!("{base}?limit=5"), "2.58").await;
    assert!(r.json().get("links").is_none());
    assert_eq!(
        app.get_v(&format!("{base}?limit=0"), "2.58").await.json(),
        json!({"instanceActions": []})
    );
    // A zero limit answers before the marker is looked up.
    assert_eq!(
        app.get_v(&format!("{base}?limit=0&marker=bad"), "2.58")
            .await
            .json(),
        json!({"instanceActions": []})
    );
    // The marker is found among all actions, even one a filter leaves out.
    assert_eq!(
        app.get_v(
            &format!(
                "{base}?changes-since=2999-01-01T00:00:00Z&marker={}",
                ids[3]
            ),
            "2.58"
        )
        .await
        .json(),
        json!({"instanceActions": []})
    );
    assert_eq!(
        app.get_v(
            &format!("{base}?changes-since=2999-01-01T00:00:00Z"),
            "2.58"
        )
        .await
        .json(),
        json!({"instanceActions": []})
    );
    assert_eq!(
        app.get_v(&format!("{base}?changes-since=2000-01-01"), "2.58")
            .await
            .json()["instanceActions"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        app.get_v(&format!("{base}?changes-before=2000-01-01%2B02:00"), "2.66")
            .await
            .json(),
        json!({"instanceActions": []})
    );
    let faults = [
        ("?foo=1&bar=2", "2.58", "Additional properties are not allowed ('bar', 'foo' were unexpected)"),
        ("?changes-before=2000-01-01", "2.58", "Additional properties are not allowed ('changes-before' was unexpected)"),
        ("?limit=-1", "2.58", "Invalid input for query parameters limit. Value: -1. '-1' does not match '^[0-9]*$'"),
        ("?limit=", "2.58", "Invalid input for query parameters limit. Value: . '' should be non-empty"),
        ("?limit=1&limit=2", "2.58", "Invalid input for query parameters limit. Value: ['1', '2']. ['1', '2'] is too long"),
        ("?changes-since=bad", "2.58", "Invalid input for query parameters changes-since. Value: bad. 'bad' is not a 'date-time'"),
        ("?marker=bad", "2.58", "Marker None could not be found."),
        ("?changes-since=2001-01-01&changes-before=2000-01-01", "2.66", "The value of changes-since must be less than or equal to changes-before."),
    ];
    for (query, version, message) in faults {
        app.get_v(&format!("{base}{query}"), version)
            .await
            .assert_fault(400, "badRequest", message);
    }
}

#[tokio::test]
async fn request_id_of_the_call_names_the_action() {
    let app = TestApp::new().await;
    let r = app
        .post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {"net_id": NET}}),
        )
        .await;
    let port = r.json()["interfaceAttachment"]["port_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let attach = app
        .get(&format!("{}/{}", actions(SERVER), r.request_id()))
        .await;
    assert_eq!(
        attach.json()["instanceAction"]["action"],
        "attach_interface"
    );
    let r = app.delete(&interface(SERVER, &port)).await;
    let detach = app
        .get_v(&format!("{}/{}", actions(SERVER), r.request_id()), "2.51")
        .await;
    assert_eq!(
        detach.json()["instanceAction"]["events"][0]["event"],
        "compute_detach_interface"
    );
    assert_eq!(
        detach.json()["instanceAction"]["events"][0]["result"],
        "Success"
    );
}
