//! Nova's request pipeline: microversions, headers, Content-Type, body
//! parsing and validation messages, routing. Every rule, in Nova's order.
mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn success_headers() {
    let app = TestApp::new().await;
    let r = app.get(&interfaces(SERVER)).await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("openstack-api-version"), Some("compute 2.1"));
    assert_eq!(r.header("x-openstack-nova-api-version"), Some("2.1"));
    let vary: Vec<_> = r
        .headers
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        vary,
        ["OpenStack-API-Version", "X-OpenStack-Nova-API-Version"]
    );
    let id = r.request_id();
    assert!(
        id.starts_with("req-") && uuid::Uuid::parse_str(&id[4..]).is_ok(),
        "{id}"
    );
    assert_eq!(r.header("x-compute-request-id"), Some(id.as_str()));
    // A fresh id every time; an inbound one is not echoed.
    let inbound = "req-11111111-2222-4333-8444-555555555555";
    let r2 = app
        .send(
            "GET",
            &interfaces(SERVER),
            &[("X-OpenStack-Request-ID", inbound)],
            None,
        )
        .await;
    assert_ne!(r2.request_id(), id);
    assert_ne!(r2.request_id(), inbound);
}

#[tokio::test]
async fn microversion_negotiation() {
    let app = TestApp::new().await;
    let uri = interfaces(SERVER);
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "2.1"),
        (&[("OpenStack-API-Version", "compute latest")], "2.104"),
        (&[("OpenStack-API-Version", "Compute 2.70")], "2.70"),
        (&[("OpenStack-API-Version", "compute  2.70")], "2.70"),
        (
            &[("OpenStack-API-Version", "compute 2.5, compute 2.70")],
            "2.70",
        ),
        (&[("OpenStack-API-Version", "volume 3.0")], "2.1"),
        (&[("OpenStack-API-Version", "")], "2.1"),
        (&[("OpenStack-API-Version", "compute")], "2.1"),
        (&[("X-OpenStack-Nova-API-Version", "2.5")], "2.5"),
        (&[("X-OpenStack-Nova-API-Version", "2.3, 2.7")], "2.7"),
        (&[("X-OpenStack-Nova-API-Version", "latest")], "2.104"),
        (
            &[
                ("OpenStack-API-Version", "compute 2.10"),
                ("X-OpenStack-Nova-API-Version", "2.5"),
            ],
            "2.10",
        ),
        (
            &[
                ("OpenStack-API-Version", "volume 3.0"),
                ("X-OpenStack-Nova-API-Version", "2.5"),
            ],
            "2.5",
        ),
    ];
    for (headers, expected) in cases {
        let r = app.send("GET", &uri, headers, None).await;
        assert_eq!(r.status, 200, "{headers:?}");
        assert_eq!(
            r.header("openstack-api-version"),
            Some(format!("compute {expected}").as_str()),
            "{headers:?}"
        );
        assert_eq!(
            r.header("x-openstack-nova-api-version"),
            Some(*expected),
            "{headers:?}"
        );
    }
    // Two header lines: the last compute entry wins.
    let r = app
        .send(
            "GET",
            &uri,
            &[
                ("OpenStack-API-Version", "compute 2.5"),
                ("OpenStack-API-Version", "compute 2.70"),
            ],
            None,
        )
        .await;
    assert_eq!(r.header("x-openstack-nova-api-version"), Some("2.70"));
}

#[tokio::test]
async fn malformed_and_unsupported_versions() {
    let app = TestApp::new().await;
    let uri = interfaces(SERVER);
    for bad in ["2.01", "LATEST", "2", "2.1.0", "02.1"] {
        let r = app.get_v(&uri, bad).await;
        r.assert_fault(
            400,
            "badRequest",
            &format!("API Version String {bad} is of invalid format. Must be of format MajorNum.MinorNum."),
        );
        assert!(r.header("openstack-api-version").is_none());
        assert!(r.header("vary").is_none());
        assert!(r.header("x-openstack-request-id").is_some());
    }
    // However large: Nova's numbers are Python ints (asked of the oracle).
    for (requested, shown) in [
        ("2.105", "2.105"),
        ("2.0", "2.0"),
        ("3.0", "3.0"),
        ("2.99999999999999999999", "2.99999999999999999999"),
        ("99999999999999999999.1", "99999999999999999999.1"),
    ] {
        let r = app.get_v(&uri, requested).await;
        r.assert_fault(
            406,
            "computeFault",
            &format!(
                "Version {shown} is not supported by the API. Minimum is 2.1 and maximum is 2.104."
            ),
        );
        assert_eq!(
            r.header("openstack-api-version"),
            Some(format!("compute {shown}").as_str())
        );
        assert_eq!(r.header("x-openstack-nova-api-version"), Some(shown));
    }
    // Legacy header, out of range.
    let r = app
        .send(
            "GET",
            &uri,
            &[("X-OpenStack-Nova-API-Version", "2.105")],
            None,
        )
        .await;
    assert_eq!(r.status, 406);
}

#[tokio::test]
async fn content_type_rules() {
    let app = TestApp::new().await;
    let uri = interfaces(SERVER);
    for ct in [
        "application/xml",
        "application/JSON",
        "Application/json",
        "text/html",
    ] {
        for method in ["GET", "POST", "DELETE"] {
            let target = if method == "DELETE" {
                interface(SERVER, PORT_FREE)
            } else {
                uri.clone()
            };
            let r = app
                .send(method, &target, &[("content-type", ct)], Some("{}"))
                .await;
            r.assert_fault(415, "badMediaType", "Unsupported Content-Type");
            assert_eq!(r.header("openstack-api-version"), Some("compute 2.1"));
        }
    }
    // 415 comes before the server lookup, 406 before 415.
    app.send(
        "GET",
        &interfaces("abc"),
        &[("content-type", "application/xml")],
        None,
    )
    .await
    .assert_fault(415, "badMediaType", "Unsupported Content-Type");
    let r = app
        .send(
            "GET",
            &uri,
            &[
                ("content-type", "application/xml"),
                ("OpenStack-API-Version", "compute 2.105"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, 406);
    // Accepted as JSON.
    let body = json!({"interfaceAttachment": {"net_id": NET}}).to_string();
    for ct in [
        None,
        Some(""),
        Some("text/plain"),
        Some("application/json; charset=utf-8"),
        Some("application/vnd.openstack.compute+json"),
    ] {
        let headers: Vec<(&str, &str)> = ct.map(|c| vec![("content-type", c)]).unwrap_or_default();
        let r = app.send("POST", &uri, &headers, Some(&body)).await;
        assert_eq!(r.status, 200, "{ct:?}: {}", r.text());
    }
}

#[tokio::test]
async fn accept_selects_the_compute_media_type() {
    let app = TestApp::new().await;
    let uri = interfaces(SERVER);
    let r = app
        .send(
            "GET",
            &uri,
            &[("accept", "application/vnd.openstack.compute+json")],
            None,
        )
        .await;
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.openstack.compute+json")
    );
    for accept in ["application/xml", "text/html", "*/*", "application/json"] {
        let r = app.send("GET", &uri, &[("accept", accept)], None).await;
        assert_eq!(
            r.header("content-type"),
            Some("application/json"),
            "{accept}"
        );
    }
    // Faults stay JSON with their own content type.
    let r = app
        .send(
            "GET",
            &interfaces("abc"),
            &[("accept", "application/xml")],
            None,
        )
        .await;
    r.assert_fault(404, "itemNotFound", "Instance abc could not be found.");
}

#[tokio::test]
async fn body_parsing() {
    let app = TestApp::new().await;
    let uri = interfaces(SERVER);
    let json_ct = [("content-type", "application/json")];
    for body in [None, Some(""), Some("null")] {
        app.send("POST", &uri, &json_ct, body).await.assert_fault(
            400,
            "badRequest",
            "None is not of type 'object'",
        );
    }
    for body in ["{", "{\"interfaceAttachment\": }", "nope", "\"\\ud800\" x"] {
        app.send("POST", &uri, &json_ct, Some(body))
            .await
            .assert_fault(400, "badRequest", "Malformed request body");
    }
    // Invalid UTF-8: Nova fails with a 500; porthole says what is wrong (see README).
    let request = axum::http::Request::builder()
        .method("POST")
        .uri(&uri)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            b"{\"interfaceAttachment\": \"\xff\"}".to_vec(),
        ))
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // Malformed body (400) comes before the server lookup (404).
    app.send("POST", &interfaces("abc"), &json_ct, Some("{"))
        .await
        .assert_fault(400, "badRequest", "Malformed request body");
    // GET and DELETE ignore bodies.
    assert_eq!(app.send("GET", &uri, &json_ct, Some("{")).await.status, 200);
    assert_eq!(
        app.send("DELETE", &interface(SERVER, PORT_FREE), &json_ct, Some("{"))
            .await
            .status,
        202
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_nova() {
    let app = TestApp::new().await;
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(114_689));
    let r = app
        .send(
            "POST",
            &interfaces(SERVER),
            &[("content-type", "application/json")],
            Some(&big),
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=UTF-8"));
    assert_eq!(
        r.text(),
        "413 Request Entity Too Large\n\nRequest is too large. Larger than max_request_body_size (%s).\n\n   "
    );
    assert!(r.header("openstack-api-version").is_none());
    let r = app
        .send(
            "POST",
            &interfaces(SERVER),
            &[
                ("content-type", "application/json"),
                ("accept", "application/json"),
            ],
            Some(&big),
        )
        .await;
    assert_eq!(
        r.text(),
        r#"{"message": "Request is too large. Larger than max_request_body_size (%s).<br /><br />\n\n\n", "code": "413 Request Entity Too Large", "title": "Request Entity Too Large"}"#
    );
}

#[tokio::test]
async fn validation_messages_over_http() {
    let app = TestApp::new().await;
    let uri = interfaces(SERVER);
    let cases = [
        (json!([]), "2.1", "[] is not of type 'object'".to_owned()),
        (json!("str"), "2.1", "'str' is not of type 'object'".to_owned()),
        (json!({"interface_attachment": {}}), "2.1", "Additional properties are not allowed ('interface_attachment' was unexpected)".to_owned()),
        (json!({"x": 1, "y": 2, "interfaceAttachment": {}}), "2.1", "Additional properties are not allowed ('x', 'y' were unexpected)".to_owned()),
        (json!({"x": 1, "interfaceAttachment": {"net_id": "bad"}}), "2.1", "Invalid input for field/attribute net_id. Value: bad. 'bad' is not a 'uuid'".to_owned()),
        (json!({"interfaceAttachment": {"net_id": "x", "port_id": 5}}), "2.1", "Invalid input for field/attribute net_id. Value: x. 'x' is not a 'uuid'".to_owned()),
        (json!({"interfaceAttachment": {"port_id": 5, "net_id": "x"}}), "2.49", "Invalid input for field/attribute net_id. Value: x. 'x' is not a 'uuid'".to_owned()),
        (json!({"interfaceAttachment": {"foo": 1, "net_id": "bad"}}), "2.104", "Invalid input for field/attribute net_id. Value: bad. 'bad' is not a 'uuid'".to_owned()),
        (json!({"interfaceAttachment": {"fixed_ips": [], "net_id": 1}}), "2.1", "Invalid input for field/attribute net_id. Value: 1. 1 is not of type 'string'".to_owned()),
        (json!({"interfaceAttachment": {"b": 1, "a": 2}}), "2.1", "Invalid input for field/attribute interfaceAttachment. Value: {'b': 1, 'a': 2}. Additional properties are not allowed ('a', 'b' were unexpected)".to_owned()),
        (json!({"interfaceAttachment": {"tag": ","}}), "2.1", "Invalid input for field/attribute interfaceAttachment. Value: {'tag': ','}. Additional properties are not allowed ('tag' was unexpected)".to_owned()),
        (json!({"interfaceAttachment": {"tag": ","}}), "2.49", "Invalid input for field/attribute tag. Value: ,. ',' does not match '^[^,/]*$'".to_owned()),
        (json!({"interfaceAttachment": []}), "2.1", "Invalid input for field/attribute interfaceAttachment. Value: []. [] is not of type 'object'".to_owned()),
        (json!({"interfaceAttachment": {"port_id": ""}}), "2.1", "Invalid input for field/attribute port_id. Value: . '' is not a 'uuid'".to_owned()),
        (json!({"interfaceAttachment": {"net_id": {"a": [1, true, null, 1.5]}}}), "2.1", "Invalid input for field/attribute net_id. Value: {'a': [1, True, None, 1.5]}. {'a': [1, True, None, 1.5]} is not of type 'string'".to_owned()),
        (json!({"interfaceAttachment": {"port_id": true}}), "2.1", "Invalid input for field/attribute port_id. Value: True. True is not of type 'string'".to_owned()),
        (json!({"interfaceAttachment": {"port_id": 1.0}}), "2.1", "Invalid input for field/attribute port_id. Value: 1.0. 1.0 is not of type 'string'".to_owned()),
        (json!({"interfaceAttachment": {"net_id": NET, "fixed_ips": [{"ip_address": 5}]}}), "2.1", "Invalid input for field/attribute ip_address. Value: 5. 5 is not of type 'string'".to_owned()),
        (json!({"interfaceAttachment": {"net_id": NET, "fixed_ips": [{"ip_address": "fe80::1%eth0"}]}}), "2.1", "Invalid input for field/attribute ip_address. Value: fe80::1%eth0. 'fe80::1%eth0' is not valid under any of the given schemas".to_owned()),
    ];
    for (body, version, message) in cases {
        app.post_v(&uri, version, &body)
            .await
            .assert_fault(400, "badRequest", &message);
    }
    // Nothing changed.
    assert_eq!(
        app.get(&uri).await.json(),
        json!({"interfaceAttachments": []})
    );
}

#[tokio::test]
async fn non_canonical_uuids_pass_the_schema() {
    let app = TestApp::new().await;
    for net in [
        NET.to_uppercase(),
        NET.replace('-', ""),
        format!("{{{NET}}}"),
        format!("urn:uuid:{NET}"),
    ] {
        // Schema-valid, but not the network's id as stored.
        app.post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {"net_id": net}}),
        )
        .await
        .assert_fault(
            404,
            "itemNotFound",
            &format!("Network {net} could not be found."),
        );
    }
}

#[tokio::test]
async fn routing_is_nova_s() {
    let app = TestApp::new().await;
    let plain = "404 Not Found\n\nThe resource could not be found.\n\n   ";
    for (method, uri) in [
        ("PUT", interfaces(SERVER)),
        ("PATCH", interface(SERVER, PORT_FREE)),
        ("DELETE", interfaces(SERVER)),
        ("POST", interface(SERVER, PORT_FREE)),
        (
            "GET",
            format!(
                "/v2.1/{}/servers/{SERVER}/os-interface",
                PROJECT.to_uppercase()
            ),
        ),
        ("GET", format!("/v2.1/demo/servers/{SERVER}/os-interface")),
        ("GET", format!("{}/", interfaces(SERVER))),
        ("GET", "/v2.1/nothing-here".to_owned()),
    ] {
        let r = app.send(method, &uri, &[], None).await;
        assert_eq!(r.status, 404, "{method} {uri}");
        assert_eq!(r.text(), plain, "{method} {uri}");
        assert_eq!(r.header("content-type"), Some("text/plain; charset=UTF-8"));
        assert!(r.header("allow").is_none(), "{method} {uri}");
        assert!(r.header("openstack-api-version").is_none());
        assert!(r.header("x-openstack-request-id").is_some());
    }
    let r = app
        .send(
            "PUT",
            &interfaces(SERVER),
            &[("accept", "application/json")],
            None,
        )
        .await;
    assert_eq!(
        r.text(),
        r#"{"message": "The resource could not be found.<br /><br />\n\n\n", "code": "404 Not Found", "title": "Not Found"}"#
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = app
        .send("PUT", &interfaces(SERVER), &[("accept", "*/*")], None)
        .await;
    assert!(r.text().contains("<title>404 Not Found</title>"));
    assert_eq!(r.header("content-type"), Some("text/html; charset=UTF-8"));
    // HEAD: 404, no body.
    let r = app.send("HEAD", &interfaces(SERVER), &[], None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body, b"");
    assert_eq!(r.header("content-type"), Some("text/html; charset=UTF-8"));
    // OPTIONS: answered by the CORS layer with an empty 200.
    let r = app.send("OPTIONS", &interfaces(SERVER), &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"");
    assert!(r.header("x-openstack-request-id").is_none());
}
