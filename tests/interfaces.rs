//! The four os-interface operations: semantics, errors in Nova's order, policy.
mod common;
use common::*;
use serde_json::json;

fn member(project: &str) -> [(&'static str, String); 2] {
    [
        ("X-Auth-Token", format!("demo:{project}")),
        ("X-Roles", "member".to_owned()),
    ]
}

async fn send_as(
    app: &TestApp,
    method: &str,
    uri: &str,
    who: &[(&str, String)],
    body: Option<&serde_json::Value>,
) -> Reply {
    let mut headers: Vec<(&str, &str)> = who.iter().map(|(n, v)| (*n, v.as_str())).collect();
    headers.push(("content-type", "application/json"));
    let body = body.map(|b| b.to_string());
    app.send(method, uri, &headers, body.as_deref()).await
}

#[tokio::test]
async fn list_shows_attached_ports_in_nova_shape() {
    let app = TestApp::new().await;
    let r = app.get(&interfaces(SERVER_WITH_PORT)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let mac = "fa:16:3e:00:00:05";
    assert_eq!(
        r.text(),
        format!(
            r#"{{"interfaceAttachments": [{{"net_id": "{NET}", "port_id": "{PORT_ATTACHED}", "mac_addr": "{mac}", "port_state": "ACTIVE", "fixed_ips": [{{"ip_address": "192.168.1.6", "subnet_id": "{SUBNET}"}}]}}]}}"#
        )
    );
}

#[tokio::test]
async fn list_and_show_include_tag_from_2_70() {
    let app = TestApp::new().await;
    let r = app.get_v(&interfaces(SERVER_WITH_PORT), "2.70").await;
    assert_eq!(r.json()["interfaceAttachments"][0]["tag"], json!(null));
    let r = app.get_v(&interfaces(SERVER_WITH_PORT), "2.69").await;
    assert!(r.json()["interfaceAttachments"][0].get("tag").is_none());
    let r = app
        .get_v(&interface(SERVER_WITH_PORT, PORT_ATTACHED), "2.70")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["interfaceAttachment"]["tag"], json!(null));
}

#[tokio::test]
async fn show_errors() {
    let app = TestApp::new().await;
    app.get(&interface(SERVER, "abc")).await.assert_fault(
        404,
        "itemNotFound",
        "Port id abc could not be found.",
    );
    app.get(&interface(SERVER, PORT_ATTACHED))
        .await
        .assert_fault(
            404,
            "itemNotFound",
            &format!("Instance {SERVER} does not have a port with id {PORT_ATTACHED}"),
        );
    app.get(&interface(SERVER, PORT_FREE)).await.assert_fault(
        404,
        "itemNotFound",
        &format!("Instance {SERVER} does not have a port with id {PORT_FREE}"),
    );
    let upper = PORT_ATTACHED.to_uppercase();
    app.get(&interface(SERVER_WITH_PORT, &upper))
        .await
        .assert_fault(
            404,
            "itemNotFound",
            &format!("Port id {upper} could not be found."),
        );
}

#[tokio::test]
async fn unknown_or_foreign_server_is_404() {
    let app = TestApp::new().await;
    for server in [
        "abc",
        "00000000-0000-0000-0000-000000000000",
        &SERVER.to_uppercase(),
    ] {
        app.get(&interfaces(server)).await.assert_fault(
            404,
            "itemNotFound",
            &format!("Instance {server} could not be found."),
        );
    }
    // A member of PROJECT does not see OTHER_PROJECT's server; an admin does.
    let uri = format!("/v2.1/servers/{SERVER_OTHER}/os-interface");
    send_as(&app, "GET", &uri, &member(PROJECT), None)
        .await
        .assert_fault(
            404,
            "itemNotFound",
            &format!("Instance {SERVER_OTHER} could not be found."),
        );
    let admin = [
        ("X-Auth-Token", format!("admin:{PROJECT}")),
        ("X-Roles", "admin".to_owned()),
    ];
    assert_eq!(send_as(&app, "GET", &uri, &admin, None).await.status, 200);
}

#[tokio::test]
async fn attach_by_port_binds_it_and_detach_unbinds_it() {
    let app = TestApp::new().await;
    let body = json!({"interfaceAttachment": {"port_id": PORT_FREE}});
    let r = app.post(&interfaces(SERVER), &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"interfaceAttachment": {
            "net_id": NET, "port_id": PORT_FREE, "mac_addr": "fa:16:3e:4c:2c:30", "port_state": "ACTIVE",
            "fixed_ips": [{"ip_address": "192.168.1.3", "subnet_id": SUBNET}]
        }})
    );
    let list = app.get(&interfaces(SERVER)).await.json();
    assert_eq!(list["interfaceAttachments"].as_array().unwrap().len(), 1);
    // Attaching it again: in use.
    app.post(&interfaces(SERVER), &body).await.assert_fault(
        409,
        "conflictingRequest",
        &format!("Port {PORT_FREE} is still in use."),
    );
    let r = app.delete(&interface(SERVER, PORT_FREE)).await;
    assert_eq!(r.status, 202);
    assert_eq!(r.body, b"");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("content-length"), Some("0"));
    assert_eq!(
        app.get(&interfaces(SERVER)).await.json(),
        json!({"interfaceAttachments": []})
    );
    // The port was kept (unbound): it can go to another server.
    let r = app.post(&interfaces(SERVER_STOPPED), &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn attach_by_network_allocates_and_detach_deletes() {
    let app = TestApp::new().await;
    let r = app
        .post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {"net_id": NET}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let attachment = r.json()["interfaceAttachment"].clone();
    // .2 is the first free address (.1 gateway, .3-.6 taken by seeded ports).
    assert_eq!(
        attachment["fixed_ips"],
        json!([{"ip_address": "192.168.1.2", "subnet_id": SUBNET}])
    );
    assert!(attachment["mac_addr"]
        .as_str()
        .unwrap()
        .starts_with("fa:16:3e:"));
    assert_eq!(attachment["net_id"], NET);
    assert_eq!(attachment["port_state"], "ACTIVE");
    let port = attachment["port_id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {"net_id": NET}}),
        )
        .await;
    assert_eq!(
        r.json()["interfaceAttachment"]["fixed_ips"][0]["ip_address"],
        "192.168.1.7"
    );
    assert_eq!(app.delete(&interface(SERVER, &port)).await.status, 202);
    // Created by the compute service: gone, not merely unbound; its address is free again.
    app.post(
        &interfaces(SERVER_STOPPED),
        &json!({"interfaceAttachment": {"port_id": port}}),
    )
    .await
    .assert_fault(
        404,
        "itemNotFound",
        &format!("Port id {port} could not be found."),
    );
    let r = app
        .post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {"net_id": NET}}),
        )
        .await;
    assert_eq!(
        r.json()["interfaceAttachment"]["fixed_ips"][0]["ip_address"],
        "192.168.1.2"
    );
}

#[tokio::test]
async fn attach_with_fixed_ip() {
    let app = TestApp::new().await;
    let with_ip = |ip: &str| json!({"interfaceAttachment": {"net_id": NET, "fixed_ips": [{"ip_address": ip}]}});
    let r = app
        .post(&interfaces(SERVER), &with_ip("192.168.1.100"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["interfaceAttachment"]["fixed_ips"],
        json!([{"ip_address": "192.168.1.100", "subnet_id": SUBNET}])
    );
    app.post(&interfaces(SERVER), &with_ip("192.168.1.100"))
        .await
        .assert_fault(
            409,
            "conflictingRequest",
            "Fixed IP 192.168.1.100 is already in use.",
        );
    app.post(&interfaces(SERVER), &with_ip("192.168.1.3"))
        .await
        .assert_fault(
            409,
            "conflictingRequest",
            "Fixed IP 192.168.1.3 is already in use.",
        );
    app.post(&interfaces(SERVER), &with_ip("10.9.9.9")).await.assert_fault(
        400,
        "badRequest",
        &format!("Invalid input received: Fixed IP 10.9.9.9 is not a valid ip address for network {NET}."),
    );
    app.post(&interfaces(SERVER), &with_ip("192.168.1.255")).await.assert_fault(
        400,
        "badRequest",
        &format!("Invalid input received: Fixed IP 192.168.1.255 is not a valid ip address for network {NET}."),
    );
}

#[tokio::test]
async fn network_errors() {
    let app = TestApp::new().await;
    let net = |id: &str| json!({"interfaceAttachment": {"net_id": id}});
    let unknown = "00000000-0000-4000-8000-000000000000";
    app.post(&interfaces(SERVER), &net(unknown))
        .await
        .assert_fault(
            404,
            "itemNotFound",
            &format!("Network {unknown} could not be found."),
        );
    // NET_FULL is a /30 with one host address, already taken.
    app.post(&interfaces(SERVER), &net(NET_FULL))
        .await
        .assert_fault(
            400,
            "badRequest",
            &format!("No fixed IP addresses available for network: {NET_FULL}"),
        );
    app.post(&interfaces(SERVER), &net(NET_NO_SUBNET)).await.assert_fault(
        400,
        "badRequest",
        "Network requires port_security_enabled and subnet associated in order to apply security groups.",
    );
    // Another project's private network is invisible to a member.
    let uri = interfaces(SERVER);
    send_as(&app, "POST", &uri, &member(PROJECT), Some(&net(NET_OTHER)))
        .await
        .assert_fault(
            404,
            "itemNotFound",
            &format!("Network {NET_OTHER} could not be found."),
        );
    // External networks: members may not, admins may.
    send_as(
        &app,
        "POST",
        &uri,
        &member(PROJECT),
        Some(&net(NET_EXTERNAL)),
    )
    .await
    .assert_fault(
        403,
        "forbidden",
        &format!("It is not allowed to create an interface on external network {NET_EXTERNAL}"),
    );
    assert_eq!(app.post(&uri, &net(NET_EXTERNAL)).await.status, 200);
    // Shared networks are usable by everyone.
    assert_eq!(
        send_as(&app, "POST", &uri, &member(PROJECT), Some(&net(NET_SHARED)))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn attach_without_network_chooses_or_explains() {
    let app = TestApp::new().await;
    // PROJECT owns several networks and sees a shared one: ambiguous.
    for body in [json!({}), json!({"interfaceAttachment": {}})] {
        app.post(&interfaces(SERVER), &body).await.assert_fault(
            400,
            "badRequest",
            "Multiple possible networks found, use a Network ID to be more specific.",
        );
    }
    // NO_NETWORK_PROJECT owns none, but the shared network is a candidate.
    let r = app.post(&interfaces(SERVER_NO_NETWORK), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["interfaceAttachment"]["net_id"], NET_SHARED);
}

#[tokio::test]
async fn attach_with_no_candidate_network() {
    let app = TestApp::with_seed(&format!(
        r#"
[[servers]]
id = "{SERVER}"
project_id = "{PROJECT}"
"#
    ))
    .await;
    app.post(&interfaces(SERVER), &json!({}))
        .await
        .assert_fault(
            400,
            "badRequest",
            &format!(
                "No specific network was requested and none are available for project '{PROJECT}'."
            ),
        );
}

#[tokio::test]
async fn controller_checks() {
    let app = TestApp::new().await;
    app.post(
        &interfaces(SERVER),
        &json!({"interfaceAttachment": {"net_id": NET, "port_id": PORT_FREE}}),
    )
    .await
    .assert_fault(
        400,
        "badRequest",
        "Must not input both network_id and port_id",
    );
    app.post(
        &interfaces(SERVER),
        &json!({"interfaceAttachment": {"fixed_ips": [{"ip_address": "192.168.1.9"}]}}),
    )
    .await
    .assert_fault(
        400,
        "badRequest",
        "Must input network_id when request IP address",
    );
    app.post(
        &interfaces(SERVER),
        &json!({"interfaceAttachment": {"port_id": PORT_FREE, "fixed_ips": [{"ip_address": "192.168.1.9"}]}}),
    )
    .await
    .assert_fault(400, "badRequest", "Must input network_id when request IP address");
    // Both-ids beats the lock and the state checks.
    app.post(
        &interfaces(SERVER_LOCKED),
        &json!({"interfaceAttachment": {"net_id": NET, "port_id": PORT_FREE}}),
    )
    .await
    .assert_fault(
        400,
        "badRequest",
        "Must not input both network_id and port_id",
    );
}

#[tokio::test]
async fn port_errors() {
    let app = TestApp::new().await;
    let port = |id: &str| json!({"interfaceAttachment": {"port_id": id}});
    let unknown = "00000000-0000-4000-8000-000000000001";
    app.post(&interfaces(SERVER), &port(unknown))
        .await
        .assert_fault(
            404,
            "itemNotFound",
            &format!("Port id {unknown} could not be found."),
        );
    app.post(&interfaces(SERVER), &port(PORT_IN_USE))
        .await
        .assert_fault(
            409,
            "conflictingRequest",
            &format!("Port {PORT_IN_USE} is still in use."),
        );
    app.post(&interfaces(SERVER), &port(PORT_ATTACHED))
        .await
        .assert_fault(
            409,
            "conflictingRequest",
            &format!("Port {PORT_ATTACHED} is still in use."),
        );
    // Another project's port: invisible to a member, unusable for an admin.
    send_as(
        &app,
        "POST",
        &interfaces(SERVER),
        &member(PROJECT),
        Some(&port(PORT_OTHER)),
    )
    .await
    .assert_fault(
        404,
        "itemNotFound",
        &format!("Port id {PORT_OTHER} could not be found."),
    );
    app.post(&interfaces(SERVER), &port(PORT_OTHER))
        .await
        .assert_fault(
            400,
            "badRequest",
            &format!("Port {PORT_OTHER} not usable for instance {SERVER}."),
        );
}

#[tokio::test]
async fn server_states() {
    let app = TestApp::new().await;
    let cases = [
        (SERVER_SUSPENDED, "vm_state suspended"),
        (SERVER_BUILDING, "vm_state building"),
        (SERVER_ERROR, "vm_state error"),
        (SERVER_TASK, "task_state rebooting"),
        (SERVER_UNLAUNCHED, "launched_at None"),
    ];
    for (server, why) in cases {
        app.post(
            &interfaces(server),
            &json!({"interfaceAttachment": {"port_id": PORT_FREE}}),
        )
        .await
        .assert_fault(
            409,
            "conflictingRequest",
            &format!("Cannot 'attach_interface' instance {server} while it is in {why}"),
        );
        app.delete(&interface(server, PORT_FREE))
            .await
            .assert_fault(
                409,
                "conflictingRequest",
                &format!("Cannot 'detach_interface' instance {server} while it is in {why}"),
            );
    }
    // Stopped and paused servers accept attach.
    assert_eq!(
        app.post(
            &interfaces(SERVER_PAUSED),
            &json!({"interfaceAttachment": {"net_id": NET}})
        )
        .await
        .status,
        200
    );
    assert_eq!(
        app.post(
            &interfaces(SERVER_STOPPED),
            &json!({"interfaceAttachment": {"net_id": NET}})
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn locked_server_refuses_members_not_admins() {
    let app = TestApp::new().await;
    let body = json!({"interfaceAttachment": {"port_id": PORT_FREE}});
    let uri = interfaces(SERVER_LOCKED);
    send_as(&app, "POST", &uri, &member(PROJECT), Some(&body))
        .await
        .assert_fault(
            409,
            "conflictingRequest",
            &format!("Instance {SERVER_LOCKED} is locked"),
        );
    send_as(
        &app,
        "DELETE",
        &interface(SERVER_LOCKED, PORT_FREE),
        &member(PROJECT),
        None,
    )
    .await
    .assert_fault(
        409,
        "conflictingRequest",
        &format!("Instance {SERVER_LOCKED} is locked"),
    );
    let admin = [("X-Roles", "admin".to_owned())];
    assert_eq!(
        send_as(&app, "POST", &uri, &admin, Some(&body))
            .await
            .status,
        200
    );
    assert_eq!(
        send_as(
            &app,
            "DELETE",
            &interface(SERVER_LOCKED, PORT_FREE),
            &admin,
            None
        )
        .await
        .status,
        202
    );
}

#[tokio::test]
async fn policy_by_role() {
    let app = TestApp::new().await;
    let reader = [
        ("X-Auth-Token", format!("viewer:{PROJECT}")),
        ("X-Roles", "reader".to_owned()),
    ];
    assert_eq!(
        send_as(&app, "GET", &interfaces(SERVER_WITH_PORT), &reader, None)
            .await
            .status,
        200
    );
    assert_eq!(
        send_as(
            &app,
            "GET",
            &interface(SERVER_WITH_PORT, PORT_ATTACHED),
            &reader,
            None
        )
        .await
        .status,
        200
    );
    send_as(
        &app,
        "POST",
        &interfaces(SERVER),
        &reader,
        Some(&json!({"interfaceAttachment": {"net_id": NET, "port_id": PORT_FREE}})),
    )
    .await
    .assert_fault(
        403,
        "forbidden",
        "Policy doesn't allow os_compute_api:os-attach-interfaces:create to be performed.",
    );
    send_as(
        &app,
        "DELETE",
        &interface(SERVER_WITH_PORT, PORT_ATTACHED),
        &reader,
        None,
    )
    .await
    .assert_fault(
        403,
        "forbidden",
        "Policy doesn't allow os_compute_api:os-attach-interfaces:delete to be performed.",
    );
    let nobody = [
        ("X-Auth-Token", format!("nobody:{PROJECT}")),
        ("X-Roles", "observer".to_owned()),
    ];
    send_as(&app, "GET", &interfaces(SERVER), &nobody, None)
        .await
        .assert_fault(
            403,
            "forbidden",
            "Policy doesn't allow os_compute_api:os-attach-interfaces:list to be performed.",
        );
    send_as(&app, "GET", &interface(SERVER, PORT_FREE), &nobody, None)
        .await
        .assert_fault(
            403,
            "forbidden",
            "Policy doesn't allow os_compute_api:os-attach-interfaces:show to be performed.",
        );
    // Validation (400) comes before policy (403), the server lookup (404) before policy too.
    send_as(
        &app,
        "POST",
        &interfaces(SERVER),
        &reader,
        Some(&json!({"interfaceAttachment": {"net_id": "x"}})),
    )
    .await
    .assert_fault(
        400,
        "badRequest",
        "Invalid input for field/attribute net_id. Value: x. 'x' is not a 'uuid'",
    );
    send_as(&app, "GET", &interfaces("abc"), &nobody, None)
        .await
        .assert_fault(404, "itemNotFound", "Instance abc could not be found.");
}

#[tokio::test]
async fn project_in_url_must_match_the_token() {
    let app = TestApp::new().await;
    let uri = format!("/v2.1/{OTHER_PROJECT}/servers/{SERVER}/os-interface");
    let message = format!(
        "Malformed request URL: URL's project_id '{OTHER_PROJECT}' doesn't match Context's project_id '{PROJECT}'"
    );
    send_as(&app, "GET", &uri, &member(PROJECT), None)
        .await
        .assert_fault(400, "badRequest", &message);
    // Before schema validation.
    send_as(
        &app,
        "POST",
        &uri,
        &member(PROJECT),
        Some(&json!({"bad": 1})),
    )
    .await
    .assert_fault(400, "badRequest", &message);
    // Without the project in the URL, the token's project decides.
    let r = send_as(
        &app,
        "GET",
        &format!("/v2.1/servers/{SERVER}/os-interface"),
        &member(PROJECT),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn detach_of_unattached_port_is_accepted_and_recorded_as_error() {
    let app = TestApp::new().await;
    for port in ["abc", PORT_FREE, PORT_ATTACHED] {
        let r = app.delete(&interface(SERVER, port)).await;
        assert_eq!(r.status, 202);
        let request_id = r.request_id();
        let action = app
            .get_v(
                &format!("/v2.1/servers/{SERVER}/os-instance-actions/{request_id}"),
                "2.84",
            )
            .await;
        assert_eq!(action.status, 200);
        let action = action.json()["instanceAction"].clone();
        assert_eq!(action["action"], "detach_interface");
        assert_eq!(action["message"], "Error");
        assert_eq!(action["events"][0]["event"], "compute_detach_interface");
        assert_eq!(action["events"][0]["result"], "Error");
        assert_eq!(
            action["events"][0]["details"],
            format!("Port {port} is not attached")
        );
    }
    // The port of another server stays attached there.
    assert_eq!(
        app.get(&interfaces(SERVER_WITH_PORT)).await.json()["interfaceAttachments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn tag_is_stored_and_shown_from_2_70() {
    let app = TestApp::new().await;
    let body = json!({"interfaceAttachment": {"port_id": PORT_FREE, "tag": "public"}});
    let r = app.post_v(&interfaces(SERVER), "2.49", &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["interfaceAttachment"].get("tag").is_none());
    let r = app.get_v(&interface(SERVER, PORT_FREE), "2.70").await;
    assert_eq!(r.json()["interfaceAttachment"]["tag"], "public");
    let r = app
        .post_v(
            &interfaces(SERVER),
            "2.70",
            &json!({"interfaceAttachment": {"net_id": NET, "tag": "t1"}}),
        )
        .await;
    assert_eq!(r.json()["interfaceAttachment"]["tag"], "t1");
}

#[tokio::test]
async fn strict_query_from_2_102() {
    let app = TestApp::new().await;
    assert_eq!(
        app.get_v(&format!("{}?foo=1", interfaces(SERVER)), "2.101")
            .await
            .status,
        200
    );
    app.get_v(&format!("{}?foo=1", interfaces(SERVER)), "2.102")
        .await
        .assert_fault(
            400,
            "badRequest",
            "Additional properties are not allowed ('foo' was unexpected)",
        );
    app.get_v(
        &format!(
            "{}?foo=1&bar=2&foo=3",
            interface(SERVER_WITH_PORT, PORT_ATTACHED)
        ),
        "2.102",
    )
    .await
    .assert_fault(
        400,
        "badRequest",
        "Additional properties are not allowed ('bar', 'foo' were unexpected)",
    );
    // Before the server lookup.
    app.get_v(&format!("{}?foo", interfaces("abc")), "2.102")
        .await
        .assert_fault(
            400,
            "badRequest",
            "Additional properties are not allowed ('foo' was unexpected)",
        );
    for version in ["2.1", "2.102"] {
        app.get_v(&format!("{}?%ff=1", interfaces(SERVER)), version)
            .await
            .assert_fault(400, "badRequest", "Query string is not UTF-8 encoded");
    }
    // POST attaches, then its internal show fails the query check.
    app.post_v(
        &format!("{}?foo=1", interfaces(SERVER)),
        "2.102",
        &json!({"interfaceAttachment": {"port_id": PORT_FREE}}),
    )
    .await
    .assert_fault(
        400,
        "badRequest",
        "Additional properties are not allowed ('foo' was unexpected)",
    );
    assert_eq!(app.get(&interface(SERVER, PORT_FREE)).await.status, 200);
}

#[tokio::test]
async fn concurrent_attaches_of_one_port_give_one_success() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let servers = [
        SERVER,
        SERVER_STOPPED,
        SERVER_PAUSED,
        SERVER_LOCKED,
        SERVER_WITH_PORT,
    ];
    let mut tasks = Vec::new();
    for server in servers {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.post(
                &interfaces(server),
                &json!({"interfaceAttachment": {"port_id": PORT_FREE}}),
            )
            .await
            .status
            .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [200, 409, 409, 409, 409]);
}
