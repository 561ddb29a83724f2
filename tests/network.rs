//! The Neutron-compatible network API under `/networking` (issue 10):
//! every operation and error with its full body, policy, filters, paging,
//! and the round trips with os-interface.

mod common;

use common::*;
use serde_json::{json, Value};

const V2: &str = "/networking/v2.0";
const MEMBER: (&str, &str) = ("X-Roles", "member,reader");
const TOKEN: &str = "demo:6f70656e737461636b20342065766572";
const OTHER_TOKEN: &str = "other:0123456789abcdef0123456789abcdef";

async fn call(app: &TestApp, method: &str, uri: &str, roles: &str, body: Option<Value>) -> Reply {
    call_as(app, TOKEN, method, uri, roles, body).await
}

async fn call_as(
    app: &TestApp,
    token: &str,
    method: &str,
    uri: &str,
    roles: &str,
    body: Option<Value>,
) -> Reply {
    let text = body.map(|b| b.to_string());
    app.send(
        method,
        uri,
        &[
            ("X-Auth-Token", token),
            ("X-Roles", roles),
            ("content-type", "application/json"),
        ],
        text.as_deref(),
    )
    .await
}

async fn member(app: &TestApp, method: &str, uri: &str, body: Option<Value>) -> Reply {
    call(app, method, uri, MEMBER.1, body).await
}

async fn admin(app: &TestApp, method: &str, uri: &str, body: Option<Value>) -> Reply {
    call(app, method, uri, "admin,member,reader", body).await
}

#[track_caller]
fn assert_neutron_error(reply: &Reply, status: u16, kind: &str, message: &str) {
    assert_eq!(reply.status.as_u16(), status, "body: {}", reply.text());
    assert_eq!(
        reply.text(),
        format!(
            "{{\"NeutronError\": {{\"type\": \"{kind}\", \"message\": \"{message}\", \"detail\": \"\"}}}}"
        )
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
}

/// Timestamps change run to run: checked for shape, then blanked.
fn blank_times(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "created_at" || key == "updated_at" {
                    let text = v.as_str().expect("a time");
                    assert_eq!(text.len(), 20, "{text}");
                    assert!(text.ends_with('Z'));
                    *v = json!("T");
                } else {
                    blank_times(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(blank_times),
        _ => {}
    }
}

fn body(reply: &Reply) -> Value {
    let mut value = reply.json();
    blank_times(&mut value);
    value
}

fn seeded_port_free() -> Value {
    json!({
        "id": PORT_FREE, "name": "", "network_id": NET, "project_id": PROJECT,
        "mac_address": "fa:16:3e:4c:2c:30", "admin_state_up": true, "status": "DOWN",
        "device_id": "", "device_owner": "",
        "fixed_ips": [{"subnet_id": SUBNET, "ip_address": "192.168.1.3"}],
        "allowed_address_pairs": [], "extra_dhcp_opts": [], "security_groups": [],
        "description": "", "binding:vnic_type": "normal", "port_security_enabled": true,
        "tags": [], "created_at": "T", "updated_at": "T", "revision_number": 0,
        "tenant_id": PROJECT
    })
}

#[tokio::test]
async fn versions_and_extensions() {
    let app = TestApp::new().await;
    let reply = app.get("/networking/").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.text(),
        r#"{"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": "http://porthole.test/networking/v2.0/"}]}]}"#
    );
    let reply = member(&app, "GET", &format!("{V2}/extensions"), None).await;
    assert_eq!(reply.status, 200);
    let aliases: Vec<String> = reply.json()["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["alias"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        aliases,
        [
            "external-net",
            "net-mtu",
            "pagination",
            "binding",
            "port-security",
            "project-id",
            "standard-attr-revisions",
            "sorting",
            "standard-attr-description",
            "standard-attr-timestamp"
        ]
    );
    assert_eq!(
        reply.json()["extensions"][3],
        json!({"name": "Port Binding", "alias": "binding", "description": "Expose port bindings of a virtual port to external application", "updated": "2014-02-03T10:00:00-00:00", "links": []})
    );
    assert!(reply
        .header("x-openstack-request-id")
        .unwrap()
        .starts_with("req-"));
}

#[tokio::test]
async fn unrouted_paths_and_methods_are_neutrons() {
    let app = TestApp::new().await;
    let reply = member(&app, "GET", &format!("{V2}/bogus"), None).await;
    assert_neutron_error(
        &reply,
        404,
        "HTTPNotFound",
        "The resource could not be found.",
    );
    let reply = member(&app, "PATCH", &format!("{V2}/ports"), None).await;
    assert_neutron_error(
        &reply,
        405,
        "HTTPMethodNotAllowed",
        "The server could not comply with the request since it is either malformed or otherwise incorrect.",
    );
    let reply = member(&app, "POST", &format!("{V2}/ports/{PORT_FREE}"), None).await;
    assert_eq!(reply.status, 405);
}

#[tokio::test]
async fn deleting_a_network_takes_its_unused_subnets() {
    let app = TestApp::new().await;
    let reply = member(
        &app,
        "DELETE",
        &format!("{V2}/networks/{NET_NO_SUBNET}"),
        None,
    )
    .await;
    assert_eq!(reply.status, 204);
    let reply = member(
        &app,
        "GET",
        &format!("{V2}/subnets?network_id={NET_FULL}&fields=id"),
        None,
    )
    .await;
    let subnet = reply.json()["subnets"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // NET_FULL's one port goes first, then the network takes its subnet.
    let reply = member(
        &app,
        "DELETE",
        &format!("{V2}/ports/f0000000-0000-0000-0000-000000000006"),
        None,
    )
    .await;
    assert_eq!(reply.status, 204);
    assert_eq!(
        member(&app, "DELETE", &format!("{V2}/networks/{NET_FULL}"), None)
            .await
            .status,
        204
    );
    let reply = member(&app, "GET", &format!("{V2}/subnets/{subnet}"), None).await;
    assert_neutron_error(
        &reply,
        404,
        "SubnetNotFound",
        &format!("Subnet {subnet} could not be found."),
    );
}

#[tokio::test]
async fn show_a_seeded_port_with_neutron_defaults() {
    let app = TestApp::new().await;
    let reply = member(&app, "GET", &format!("{V2}/ports/{PORT_FREE}"), None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    // Compact JSON, Neutron's field order.
    assert!(reply.text().starts_with(&format!(
        "{{\"port\":{{\"id\":\"{PORT_FREE}\",\"name\":\"\",\"network_id\""
    )));
    assert_eq!(body(&reply), json!({"port": seeded_port_free()}));
    // Admins see the binding attributes.
    let reply = admin(&app, "GET", &format!("{V2}/ports/{PORT_FREE}"), None).await;
    let port = &reply.json()["port"];
    assert_eq!(port["binding:host_id"], "");
    assert_eq!(port["binding:vif_type"], "unbound");
    assert_eq!(port["binding:profile"], json!({}));
    assert_eq!(port["binding:vif_details"], json!({}));
}

#[tokio::test]
async fn network_crud() {
    let app = TestApp::new().await;
    let reply = member(
        &app,
        "POST",
        &format!("{V2}/networks"),
        Some(json!({"network": {"name": "net1"}})),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let id = reply.json()["network"]["id"].as_str().unwrap().to_owned();
    let expected = json!({"network": {
        "id": id, "name": "net1", "tenant_id": PROJECT, "project_id": PROJECT,
        "admin_state_up": true, "mtu": 1450, "status": "ACTIVE", "subnets": [],
        "shared": false, "availability_zone_hints": [], "availability_zones": [],
        "ipv4_address_scope": null, "ipv6_address_scope": null, "router:external": false,
        "description": "", "port_security_enabled": true, "tags": [],
        "created_at": "T", "updated_at": "T", "revision_number": 1
    }});
    // A create answers in Neutron's create order, with is_default.
    assert!(
        reply.text().contains(r#""shared":false,"port_security_enabled":true,"router:external":false,"is_default":false,"availability_zone_hints""#),
        "{}",
        reply.text()
    );
    let mut created = body(&reply);
    created["network"]
        .as_object_mut()
        .unwrap()
        .remove("is_default");
    assert_eq!(created, expected);
    let reply = member(&app, "GET", &format!("{V2}/networks/{id}"), None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(body(&reply), expected);

    let reply = member(
        &app,
        "PUT",
        &format!("{V2}/networks/{id}"),
        Some(json!({"network": {"name": "renamed", "description": "d"}})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let mut updated = expected.clone();
    updated["network"]["name"] = json!("renamed");
    updated["network"]["description"] = json!("d");
    updated["network"]["revision_number"] = json!(2);
    assert_eq!(body(&reply), updated);

    let reply = member(&app, "DELETE", &format!("{V2}/networks/{id}"), None).await;
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty());
    let reply = member(&app, "GET", &format!("{V2}/networks/{id}"), None).await;
    assert_neutron_error(
        &reply,
        404,
        "NetworkNotFound",
        &format!("Network {id} could not be found."),
    );
    let reply = member(&app, "DELETE", &format!("{V2}/networks/{id}"), None).await;
    assert_neutron_error(
        &reply,
        404,
        "NetworkNotFound",
        &format!("Network {id} could not be found."),
    );
}

#[tokio::test]
async fn network_errors_and_policy() {
    let app = TestApp::new().await;
    let uri = format!("{V2}/networks");
    let reply = call(
        &app,
        "POST",
        &uri,
        "reader",
        Some(json!({"network": {"name": "x"}})),
    )
    .await;
    assert_neutron_error(
        &reply,
        403,
        "PolicyNotAuthorized",
        "rule:create_network is disallowed by policy",
    );
    let reply = member(
        &app,
        "POST",
        &uri,
        Some(json!({"network": {"shared": true}})),
    )
    .await;
    assert_neutron_error(
        &reply,
        403,
        "PolicyNotAuthorized",
        "(rule:create_network and rule:create_network:shared) is disallowed by policy",
    );
    let reply = member(&app, "POST", &uri, Some(json!({"network": {"bogus": 1}}))).await;
    assert_neutron_error(
        &reply,
        400,
        "HTTPBadRequest",
        "Unrecognized attribute(s) 'bogus'",
    );
    let reply = member(
        &app,
        "POST",
        &uri,
        Some(json!({"network": {"admin_state_up": "maybe"}})),
    )
    .await;
    assert_neutron_error(
        &reply,
        400,
        "InvalidInput",
        "Invalid input for operation: 'maybe' cannot be converted to boolean.",
    );
    let reply = member(&app, "POST", &uri, Some(json!({"net": {}}))).await;
    assert_neutron_error(
        &reply,
        400,
        "HTTPBadRequest",
        "Unable to find 'network' in request body",
    );
    let reply = member(&app, "DELETE", &format!("{uri}/{NET}"), None).await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.json()["NeutronError"]["type"], "NetworkInUse");
    // Another project's private network is invisible; its shared one is not.
    let reply = member(&app, "GET", &format!("{uri}/{NET_OTHER}"), None).await;
    assert_neutron_error(
        &reply,
        404,
        "NetworkNotFound",
        &format!("Network {NET_OTHER} could not be found."),
    );
    let reply = member(&app, "GET", &uri, None).await;
    let mut names: Vec<String> = reply.json()["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["full", "no-subnet", "private", "public", "shared"]);
    let reply = admin(&app, "GET", &uri, None).await;
    assert_eq!(reply.json()["networks"].as_array().unwrap().len(), 6);
    // A member cannot delete another project's shared network.
    let reply = member(&app, "DELETE", &format!("{uri}/{NET_SHARED}"), None).await;
    assert_neutron_error(
        &reply,
        403,
        "PolicyNotAuthorized",
        "rule:delete_network is disallowed by policy",
    );
}

#[tokio::test]
async fn bulk_create_is_all_or_nothing() {
    let app = TestApp::new().await;
    let uri = format!("{V2}/networks");
    let reply = member(
        &app,
        "POST",
        &uri,
        Some(json!({"networks": [{"name": "a"}, {"name": "b"}]})),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let names: Vec<&str> = reply.json()["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect::<Vec<_>>()
        .into_iter()
        .map(|s| if s == "a" { "a" } else { "b" })
        .collect();
    assert_eq!(names, ["a", "b"]);
    let before = admin(&app, "GET", &uri, None).await.json();
    let reply = member(
        &app,
        "POST",
        &uri,
        Some(json!({"networks": [{"name": "c"}, {"name": "d", "shared": true}]})),
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(admin(&app, "GET", &uri, None).await.json(), before);
    // Ports in bulk: the second fails on the first's address, nothing is made.
    let ports = format!("{V2}/ports");
    let before = admin(&app, "GET", &ports, None).await.json();
    let reply = member(
        &app,
        "POST",
        &ports,
        Some(json!({"ports": [
            {"network_id": NET, "fixed_ips": [{"ip_address": "192.168.1.40"}]},
            {"network_id": NET, "fixed_ips": [{"ip_address": "192.168.1.40"}]}
        ]})),
    )
    .await;
    assert_neutron_error(
        &reply,
        409,
        "IpAddressAlreadyAllocated",
        &format!("IP address 192.168.1.40 already allocated in subnet {SUBNET}"),
    );
    assert_eq!(admin(&app, "GET", &ports, None).await.json(), before);
}

#[tokio::test]
async fn subnet_crud_and_errors() {
    let app = TestApp::new().await;
    let net = member(
        &app,
        "POST",
        &format!("{V2}/networks"),
        Some(json!({"network": {"name": "n"}})),
    )
    .await
    .json()["network"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = format!("{V2}/subnets");
    let reply = member(
        &app,
        "POST",
        &uri,
        Some(json!({"subnet": {"network_id": net, "cidr": "10.0.0.0/24", "ip_version": 4, "name": "sub1"}})),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let id = reply.json()["subnet"]["id"].as_str().unwrap().to_owned();
    let expected = json!({"subnet": {
        "id": id, "name": "sub1", "project_id": PROJECT, "network_id": net, "ip_version": 4,
        "subnetpool_id": null, "enable_dhcp": true, "ipv6_ra_mode": null,
        "ipv6_address_mode": null, "gateway_ip": "10.0.0.1", "cidr": "10.0.0.0/24",
        "allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.254"}],
        "host_routes": [], "dns_nameservers": [], "description": "",
        "router:external": false, "service_types": [], "tags": [],
        "created_at": "T", "updated_at": "T", "revision_number": 0, "tenant_id": PROJECT
    }});
    assert_eq!(body(&reply), expected);
    // IPv6: the gateway is the subnet-router anycast address.
    let net6 = member(
        &app,
        "POST",
        &format!("{V2}/networks"),
        Some(json!({"network": {"name": "n6"}})),
    )
    .await
    .json()["network"]["id"]
        .clone();
    let reply = member(
        &app,
        "POST",
        &uri,
        Some(json!({"subnet": {"network_id": net6, "cidr": "fd00:1::/64", "ip_version": 6}})),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.json()["subnet"]["gateway_ip"], "fd00:1::");
    assert_eq!(
        reply.json()["subnet"]["allocation_pools"],
        json!([{"start": "fd00:1::1", "end": "fd00:1::ffff:ffff:ffff:ffff"}])
    );
    let reply = member(
        &app,
        "POST",
        &format!("{V2}/ports"),
        Some(json!({"port": {"network_id": net6}})),
    )
    .await;
    assert_eq!(
        reply.json()["port"]["fixed_ips"][0]["ip_address"],
        "fd00:1::1"
    );
    // The network lists it.
    let reply = member(&app, "GET", &format!("{V2}/networks/{net}"), None).await;
    assert_eq!(reply.json()["network"]["subnets"], json!([id]));
    let reply = member(&app, "GET", &format!("{uri}/{id}"), None).await;
    assert_eq!(body(&reply), expected);
    // Overlap.
    let reply = member(
        &app,
        "POST",
        &uri,
        Some(json!({"subnet": {"network_id": net, "cidr": "10.0.0.128/25", "ip_version": 4}})),
    )
    .await;
    assert_neutron_error(
        &reply,
        400,
        "InvalidInput",
        &format!("Invalid input for operation: Requested subnet with cidr: 10.0.0.128/25 for network: {net} overlaps with another subnet."),
    );
    let reply = member(
        &app,
        "POST",
        &uri,
        Some(json!({"subnet": {"network_id": net, "cidr": "nonsense"}})),
    )
    .await;
    assert_neutron_error(
        &reply,
        400,
        "InvalidInput",
        "Invalid input for operation: nonsense is not in a CIDR format.",
    );
    let reply = member(
        &app,
        "POST",
        &uri,
        Some(json!({"subnet": {"network_id": "missing", "cidr": "10.9.0.0/24"}})),
    )
    .await;
    assert_neutron_error(
        &reply,
        404,
        "NetworkNotFound",
        "Network missing could not be found.",
    );
    // Update, then in use, then delete.
    let reply = member(
        &app,
        "PUT",
        &format!("{uri}/{id}"),
        Some(json!({"subnet": {"name": "renamed", "dns_nameservers": ["9.9.9.9"]}})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["subnet"]["name"], "renamed");
    assert_eq!(
        reply.json()["subnet"]["dns_nameservers"],
        json!(["9.9.9.9"])
    );
    assert_eq!(reply.json()["subnet"]["revision_number"], 1);
    let port = member(
        &app,
        "POST",
        &format!("{V2}/ports"),
        Some(json!({"port": {"network_id": net}})),
    )
    .await;
    assert_eq!(
        port.json()["port"]["fixed_ips"][0]["ip_address"],
        "10.0.0.2"
    );
    let port_id = port.json()["port"]["id"].as_str().unwrap().to_owned();
    let reply = member(&app, "DELETE", &format!("{uri}/{id}"), None).await;
    assert_neutron_error(
        &reply,
        409,
        "SubnetInUse",
        &format!("Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet."),
    );
    let reply = member(&app, "DELETE", &format!("{V2}/networks/{net}"), None).await;
    assert_neutron_error(
        &reply,
        409,
        "NetworkInUse",
        &format!("Unable to complete operation on network {net}. There are one or more ports still in use on the network, id for these ports is: {port_id}."),
    );
    assert_eq!(
        member(&app, "DELETE", &format!("{V2}/ports/{port_id}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        member(&app, "DELETE", &format!("{uri}/{id}"), None)
            .await
            .status,
        204
    );
    let reply = member(&app, "GET", &format!("{uri}/{id}"), None).await;
    assert_neutron_error(
        &reply,
        404,
        "SubnetNotFound",
        &format!("Subnet {id} could not be found."),
    );
    assert_eq!(
        member(&app, "DELETE", &format!("{V2}/networks/{net}"), None)
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn port_crud_and_errors() {
    let app = TestApp::new().await;
    let uri = format!("{V2}/ports");
    let reply = member(
        &app,
        "POST",
        &uri,
        Some(json!({"port": {"network_id": NET, "name": "port1"}})),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let port = reply.json()["port"].clone();
    let id = port["id"].as_str().unwrap().to_owned();
    let mac = port["mac_address"].as_str().unwrap().to_owned();
    assert!(mac.starts_with("fa:16:3e:"));
    let expected = json!({"port": {
        "id": id, "name": "port1", "network_id": NET, "project_id": PROJECT,
        "mac_address": mac, "admin_state_up": true, "status": "DOWN",
        "device_id": "", "device_owner": "",
        // The lowest free address (.2; .3 to .6 are taken).
        "fixed_ips": [{"subnet_id": SUBNET, "ip_address": "192.168.1.2"}],
        "allowed_address_pairs": [], "extra_dhcp_opts": [], "security_groups": [],
        "description": "", "binding:vnic_type": "normal", "port_security_enabled": true,
        "tags": [], "created_at": "T", "updated_at": "T", "revision_number": 1,
        "tenant_id": PROJECT
    }});
    assert_eq!(body(&reply), expected);
    let reply = member(&app, "GET", &format!("{uri}/{id}"), None).await;
    assert_eq!(body(&reply), expected);

    let reply = member(
        &app,
        "PUT",
        &format!("{uri}/{id}"),
        Some(json!({"port": {"name": "port1-renamed", "device_id": "d0000000-0000-0000-0000-000000000001"}})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let mut updated = expected.clone();
    updated["port"]["name"] = json!("port1-renamed");
    updated["port"]["device_id"] = json!("d0000000-0000-0000-0000-000000000001");
    updated["port"]["revision_number"] = json!(2);
    assert_eq!(body(&reply), updated);

    // A requested address, then the same again.
    let ask = json!({"port": {"network_id": NET, "fixed_ips": [{"ip_address": "192.168.1.10"}]}});
    let reply = member(&app, "POST", &uri, Some(ask.clone())).await;
    assert_eq!(reply.status, 201);
    assert_eq!(
        reply.json()["port"]["fixed_ips"],
        json!([{"subnet_id": SUBNET, "ip_address": "192.168.1.10"}])
    );
    let reply = member(&app, "POST", &uri, Some(ask)).await;
    assert_neutron_error(
        &reply,
        409,
        "IpAddressAlreadyAllocated",
        &format!("IP address 192.168.1.10 already allocated in subnet {SUBNET}"),
    );
    // A MAC in use.
    let reply = member(
        &app,
        "POST",
        &uri,
        Some(json!({"port": {"network_id": NET, "mac_address": "fa:16:3e:4c:2c:30"}})),
    )
    .await;
    assert_neutron_error(
        &reply,
        409,
        "MacAddressInUse",
        &format!("Unable to complete operation for network {NET}. The mac address fa:16:3e:4c:2c:30 is in use."),
    );
    // Another project's network is not found.
    let reply = call_as(
        &app,
        OTHER_TOKEN,
        "POST",
        &uri,
        "member,reader",
        Some(json!({"port": {"network_id": NET}})),
    )
    .await;
    assert_neutron_error(
        &reply,
        404,
        "NetworkNotFound",
        &format!("Network {NET} could not be found."),
    );
    // Another project's port is not found.
    let reply = call_as(
        &app,
        OTHER_TOKEN,
        "GET",
        &format!("{uri}/{id}"),
        "member,reader",
        None,
    )
    .await;
    assert_neutron_error(
        &reply,
        404,
        "PortNotFound",
        &format!("Port {id} could not be found."),
    );
    let reply = member(
        &app,
        "GET",
        &format!("{uri}/00000000-0000-0000-0000-000000000000"),
        None,
    )
    .await;
    assert_neutron_error(
        &reply,
        404,
        "PortNotFound",
        "Port 00000000-0000-0000-0000-000000000000 could not be found.",
    );
    // Binding attributes are the admins'.
    let reply = member(
        &app,
        "PUT",
        &format!("{uri}/{id}"),
        Some(json!({"port": {"binding:host_id": "compute"}})),
    )
    .await;
    assert_neutron_error(
        &reply,
        403,
        "PolicyNotAuthorized",
        "(rule:update_port and rule:update_port:binding:host_id) is disallowed by policy",
    );
    let reply = admin(
        &app,
        "PUT",
        &format!("{uri}/{id}"),
        Some(json!({"port": {"binding:host_id": "compute", "device_owner": "compute:nova"}})),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["port"]["binding:host_id"], "compute");
    assert_eq!(reply.json()["port"]["binding:vif_type"], "ovs");
    // A member may not delete a compute port; an admin may.
    let reply = member(&app, "DELETE", &format!("{uri}/{id}"), None).await;
    assert_neutron_error(
        &reply,
        403,
        "PolicyNotAuthorized",
        "rule:delete_port is disallowed by policy",
    );
    assert_eq!(
        admin(&app, "DELETE", &format!("{uri}/{id}"), None)
            .await
            .status,
        204
    );
    let reply = member(&app, "GET", &format!("{uri}/{id}"), None).await;
    assert_neutron_error(
        &reply,
        404,
        "PortNotFound",
        &format!("Port {id} could not be found."),
    );
    // Bad input.
    let reply = member(
        &app,
        "POST",
        &uri,
        Some(json!({"port": {"network_id": NET, "fixed_ips": [{"subnet_id": "nope"}]}})),
    )
    .await;
    assert_neutron_error(
        &reply,
        404,
        "SubnetNotFound",
        "Subnet nope could not be found.",
    );
    let reply = member(&app, "POST", &uri, Some(json!({"port": {"name": "x"}}))).await;
    assert_neutron_error(
        &reply,
        400,
        "HTTPBadRequest",
        "Failed to parse request. Required attribute 'network_id' not specified",
    );
    let reply = member(
        &app,
        "POST",
        &uri,
        Some(json!({"port": {"network_id": NET, "fixed_ips": [{"ip_address": "10.99.0.1"}]}})),
    )
    .await;
    assert_neutron_error(
        &reply,
        400,
        "InvalidIpForNetwork",
        "IP address 10.99.0.1 is not a valid IP for any of the subnets on the specified network.",
    );
    let reply = member(
        &app,
        "POST",
        &uri,
        Some(json!({"port": {"network_id": NET, "name": 5}})),
    )
    .await;
    assert_neutron_error(
        &reply,
        400,
        "HTTPBadRequest",
        "Invalid input for name. Reason: '5' is not a valid string.",
    );
}

#[tokio::test]
async fn filters_fields_sorting_and_paging() {
    let app = TestApp::new().await;
    let uri = format!("{V2}/ports");
    let ids = |reply: &Reply, key: &str| -> Vec<String> {
        reply.json()[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // Several values of one filter are OR'ed.
    let reply = member(
        &app,
        "GET",
        &format!("{uri}?mac_address=fa:16:3e:00:00:02&mac_address=fa:16:3e:00:00:03"),
        None,
    )
    .await;
    assert_eq!(ids(&reply, "ports"), [PORT_FREE2, PORT_IN_USE]);
    let reply = member(
        &app,
        "GET",
        &format!("{uri}?fixed_ips=ip_address%3D192.168.1.3&fields=id&fields=fixed_ips&fields=mac_address"),
        None,
    )
    .await;
    assert_eq!(
        reply.text(),
        format!("{{\"ports\":[{{\"id\":\"{PORT_FREE}\",\"mac_address\":\"fa:16:3e:4c:2c:30\",\"fixed_ips\":[{{\"subnet_id\":\"{SUBNET}\",\"ip_address\":\"192.168.1.3\"}}]}}]}}")
    );
    let reply = member(
        &app,
        "GET",
        &format!("{uri}?device_id={SERVER_WITH_PORT}"),
        None,
    )
    .await;
    assert_eq!(ids(&reply, "ports"), [PORT_ATTACHED]);
    let reply = member(
        &app,
        "GET",
        &format!("{uri}?network_id={NET_FULL}&fields=id"),
        None,
    )
    .await;
    assert_eq!(
        reply.json(),
        json!({"ports": [{"id": "f0000000-0000-0000-0000-000000000006"}]})
    );
    let reply = member(
        &app,
        "GET",
        &format!("{V2}/networks?shared=true&fields=name"),
        None,
    )
    .await;
    assert_eq!(reply.json(), json!({"networks": [{"name": "shared"}]}));
    let reply = member(
        &app,
        "GET",
        &format!("{V2}/networks?router:external=True&fields=name"),
        None,
    )
    .await;
    assert_eq!(reply.json(), json!({"networks": [{"name": "public"}]}));
    // Sorting.
    let reply = member(
        &app,
        "GET",
        &format!("{V2}/networks?sort_key=name&sort_dir=desc&fields=name"),
        None,
    )
    .await;
    assert_eq!(
        reply.json(),
        json!({"networks": [{"name": "shared"}, {"name": "public"}, {"name": "private"}, {"name": "no-subnet"}, {"name": "full"}]})
    );
    let reply = member(&app, "GET", &format!("{V2}/networks?sort_key=bogus"), None).await;
    assert_neutron_error(
        &reply,
        400,
        "HTTPBadRequest",
        "The number of sort_keys and sort_dirs must be same",
    );
    let reply = member(
        &app,
        "GET",
        &format!("{V2}/networks?sort_key=bogus&sort_dir=asc"),
        None,
    )
    .await;
    assert_neutron_error(
        &reply,
        400,
        "HTTPBadRequest",
        "bogus is an invalid attribute for sort_keys",
    );
    // Paging, with links.
    let reply = member(&app, "GET", &format!("{uri}?limit=2&fields=id"), None).await;
    let mut all: Vec<String> = [
        PORT_FREE,
        PORT_FREE2,
        PORT_IN_USE,
        PORT_ATTACHED,
        "f0000000-0000-0000-0000-000000000006",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    all.sort();
    assert_eq!(
        reply.json(),
        json!({
            "ports": [{"id": all[0]}, {"id": all[1]}],
            "ports_links": [
                {"rel": "next", "href": format!("http://porthole.test/networking/v2.0/ports?limit=2&fields=id&marker={}", all[1])},
                {"rel": "previous", "href": format!("http://porthole.test/networking/v2.0/ports?limit=2&fields=id&marker={}&page_reverse=True", all[0])}
            ]
        })
    );
    let reply = member(
        &app,
        "GET",
        &format!("{uri}?limit=2&fields=id&marker={}", all[1]),
        None,
    )
    .await;
    assert_eq!(
        reply.json(),
        json!({
            "ports": [{"id": all[2]}, {"id": all[3]}],
            "ports_links": [
                {"rel": "next", "href": format!("http://porthole.test/networking/v2.0/ports?limit=2&fields=id&marker={}", all[3])},
                {"rel": "previous", "href": format!("http://porthole.test/networking/v2.0/ports?limit=2&fields=id&marker={}&page_reverse=True", all[2])}
            ]
        })
    );
    let reply = member(
        &app,
        "GET",
        &format!("{uri}?limit=2&fields=id&marker={}", all[3]),
        None,
    )
    .await;
    assert_eq!(ids(&reply, "ports"), [all[4].clone()]);
    // The last, short page: only a previous link.
    assert_eq!(
        reply.json()["ports_links"],
        json!([{"rel": "previous", "href": format!("http://porthole.test/networking/v2.0/ports?limit=2&fields=id&marker={}&page_reverse=True", all[4])}])
    );
    let reply = member(&app, "GET", &format!("{uri}?limit=x"), None).await;
    assert_neutron_error(
        &reply,
        400,
        "BadRequest",
        "Bad limit request: Limit must be an integer 0 or greater and not 'x'.",
    );
}

#[tokio::test]
async fn os_interface_round_trips() {
    let app = TestApp::new().await;
    // Attach by net_id: the port shows in the network API at once.
    let reply = app
        .post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {"net_id": NET}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let port_id = reply.json()["interfaceAttachment"]["port_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = admin(&app, "GET", &format!("{V2}/ports?device_id={SERVER}"), None).await;
    let ports = reply.json()["ports"].clone();
    assert_eq!(ports.as_array().unwrap().len(), 1);
    assert_eq!(ports[0]["id"], port_id);
    assert_eq!(ports[0]["device_owner"], "compute:nova");
    assert_eq!(ports[0]["status"], "ACTIVE");
    assert_eq!(ports[0]["binding:host_id"], "porthole");
    assert_eq!(ports[0]["fixed_ips"][0]["ip_address"], "192.168.1.2");
    // A member may not delete it here; an admin may, and it leaves the server.
    let reply = member(&app, "DELETE", &format!("{V2}/ports/{port_id}"), None).await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        admin(&app, "DELETE", &format!("{V2}/ports/{port_id}"), None)
            .await
            .status,
        204
    );
    let reply = app.get(&interfaces(SERVER)).await;
    assert_eq!(reply.json(), json!({"interfaceAttachments": []}));

    // A port created here is attachable by port_id.
    let reply = member(
        &app,
        "POST",
        &format!("{V2}/ports"),
        Some(json!({"port": {"network_id": NET, "fixed_ips": [{"ip_address": "192.168.1.77"}]}})),
    )
    .await;
    let port_id = reply.json()["port"]["id"].as_str().unwrap().to_owned();
    let reply = app
        .post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {"port_id": port_id}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json()["interfaceAttachment"]["fixed_ips"],
        json!([{"ip_address": "192.168.1.77", "subnet_id": SUBNET}])
    );
    let reply = member(&app, "GET", &format!("{V2}/ports/{port_id}"), None).await;
    assert_eq!(reply.json()["port"]["device_id"], SERVER);
    assert_eq!(reply.json()["port"]["revision_number"], 2);
    // An address taken here is taken for os-interface too.
    let reply = app
        .post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {"net_id": NET, "fixed_ips": [{"ip_address": "192.168.1.77"}]}}),
        )
        .await;
    assert_eq!(reply.status, 409);
    // Detach keeps a port given by id, unbound.
    let reply = app.delete(&interface(SERVER, &port_id)).await;
    assert_eq!(reply.status, 202);
    let reply = admin(&app, "GET", &format!("{V2}/ports/{port_id}"), None).await;
    assert_eq!(reply.json()["port"]["device_id"], "");
    assert_eq!(reply.json()["port"]["binding:host_id"], "");
}

#[tokio::test]
async fn state_dump_and_reset_cover_the_network_api() {
    let app = TestApp::new().await;
    let reply = member(
        &app,
        "POST",
        &format!("{V2}/networks"),
        Some(json!({"network": {"name": "dumped", "description": "kept"}})),
    )
    .await;
    let id = reply.json()["network"]["id"].as_str().unwrap().to_owned();
    let state = app.get("/_porthole/state").await.json();
    let network = state["networks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == id.as_str())
        .expect("in the dump")
        .clone();
    assert_eq!(network["neutron"]["description"], "kept");
    assert_eq!(network["neutron"]["mtu"], 1450);
    let reply = app.send("POST", "/_porthole/reset", &[], None).await;
    assert!(reply.status.is_success(), "{}", reply.text());
    let reply = member(&app, "GET", &format!("{V2}/networks/{id}"), None).await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn builtin_auth_and_the_catalog() {
    let app = TestApp::builtin(porthole::config::DEFAULT_CONFIG, None).await;
    // No token: keystonemiddleware's 401, as for compute; the version list is public.
    let reply = app.get(&format!("{V2}/networks")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(app.get("/networking/").await.status, 200);
    let reply = app
        .post(
            "/identity/v3/auth/tokens",
            &json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {"name": "demo",
                    "domain": {"name": "Default"}, "password": "porthole-demo"}}},
                "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}}}}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let token = reply.header("x-subject-token").unwrap().to_owned();
    let network = reply.json()["token"]["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "network")
        .expect("a network service")
        .clone();
    assert_eq!(network["name"], "neutron");
    let interfaces: Vec<&str> = network["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["interface"].as_str().unwrap())
        .collect();
    assert_eq!(interfaces, ["public", "internal", "admin"]);
    assert_eq!(
        network["endpoints"][0]["url"],
        "http://porthole.test/networking"
    );
    let reply = app
        .send(
            "GET",
            &format!("{V2}/ports/{PORT_FREE}"),
            &[("X-Auth-Token", &token)],
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["port"]["project_id"], PROJECT);
    // The demo member sees no binding attributes.
    assert!(reply.json()["port"].get("binding:host_id").is_none());
}

/// Under `--deterministic` the same requests make the same ids, MACs and
/// addresses, run after run.
#[tokio::test]
async fn repeatable_under_a_deterministic_id_source() {
    use porthole::app::AppOptions;
    use porthole::config::AuthMode;
    use porthole::domain::ids::IdSource;
    let mut runs = Vec::new();
    for _ in 0..2 {
        let app = TestApp::with_options(
            AuthMode::Noauth,
            AppOptions::default(),
            IdSource::seeded(42),
        )
        .await;
        let net = member(
            &app,
            "POST",
            &format!("{V2}/networks"),
            Some(json!({"network": {"name": "n"}})),
        )
        .await
        .json()["network"]["id"]
            .clone();
        let port = member(
            &app,
            "POST",
            &format!("{V2}/ports"),
            Some(json!({"port": {"network_id": NET}})),
        )
        .await
        .json()["port"]
            .clone();
        runs.push((
            net,
            port["id"].clone(),
            port["mac_address"].clone(),
            port["fixed_ips"].clone(),
        ));
    }
    assert_eq!(runs[0], runs[1]);
    assert_eq!(
        runs[0].3,
        json!([{"subnet_id": SUBNET, "ip_address": "192.168.1.2"}])
    );
}

/// Seeds give Neutron's attributes under `neutron`, every key optional.
#[tokio::test]
async fn seeds_take_neutron_attributes() {
    let app = TestApp::with_seed(
        r#"
[[networks]]
id = "n1"
name = "seeded"
project_id = "6f70656e737461636b20342065766572"
neutron = { description = "from the seed", mtu = 9000, tags = ["a"] }

[[subnets]]
id = "s1"
network_id = "n1"
cidr = "10.7.0.0/24"
neutron = { name = "sub", enable_dhcp = false, dns_nameservers = ["1.1.1.1"] }

[[ports]]
id = "p1"
network_id = "n1"
project_id = "6f70656e737461636b20342065766572"
neutron = { name = "port", admin_state_up = false }
"#,
    )
    .await;
    let network = member(&app, "GET", &format!("{V2}/networks/n1"), None)
        .await
        .json();
    assert_eq!(network["network"]["description"], "from the seed");
    assert_eq!(network["network"]["mtu"], 9000);
    assert_eq!(network["network"]["tags"], json!(["a"]));
    assert_eq!(network["network"]["admin_state_up"], true);
    let subnet = member(&app, "GET", &format!("{V2}/subnets/s1"), None)
        .await
        .json();
    assert_eq!(subnet["subnet"]["name"], "sub");
    assert_eq!(subnet["subnet"]["enable_dhcp"], false);
    assert_eq!(subnet["subnet"]["dns_nameservers"], json!(["1.1.1.1"]));
    let port = member(&app, "GET", &format!("{V2}/ports/p1"), None)
        .await
        .json();
    assert_eq!(port["port"]["name"], "port");
    assert_eq!(port["port"]["admin_state_up"], false);
    assert_eq!(port["port"]["fixed_ips"][0]["ip_address"], "10.7.0.2");
    // An unknown key is refused, as everywhere in a seed.
    let bad = porthole::seed::SeedDocument::from_toml(
        "[[networks]]\nproject_id = \"p\"\nneutron = { colour = \"red\" }\n",
    );
    assert!(bad.is_err());
}

/// Updating a port's addresses frees the old ones; a MAC change is the admins'.
#[tokio::test]
async fn port_address_and_mac_updates() {
    let app = TestApp::new().await;
    let uri = format!("{V2}/ports/{PORT_FREE}");
    let reply = member(
        &app,
        "PUT",
        &uri,
        Some(json!({"port": {"fixed_ips": [{"ip_address": "192.168.1.90"}]}})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json()["port"]["fixed_ips"],
        json!([{"subnet_id": SUBNET, "ip_address": "192.168.1.90"}])
    );
    // .3 is free again: the next port takes .2, then .3.
    for expected in ["192.168.1.2", "192.168.1.3"] {
        let reply = member(
            &app,
            "POST",
            &format!("{V2}/ports"),
            Some(json!({"port": {"network_id": NET}})),
        )
        .await;
        assert_eq!(reply.json()["port"]["fixed_ips"][0]["ip_address"], expected);
    }
    // Keeping its own address is no conflict.
    let reply = member(
        &app,
        "PUT",
        &uri,
        Some(json!({"port": {"fixed_ips": [{"ip_address": "192.168.1.90"}]}})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = member(
        &app,
        "PUT",
        &uri,
        Some(json!({"port": {"fixed_ips": [{"ip_address": "192.168.1.4"}]}})),
    )
    .await;
    assert_neutron_error(
        &reply,
        409,
        "IpAddressAlreadyAllocated",
        &format!("IP address 192.168.1.4 already allocated in subnet {SUBNET}"),
    );
    let mac = json!({"port": {"mac_address": "fa:16:3e:aa:bb:cc"}});
    let reply = member(&app, "PUT", &uri, Some(mac.clone())).await;
    assert_neutron_error(
        &reply,
        403,
        "PolicyNotAuthorized",
        "(rule:update_port and rule:update_port:mac_address) is disallowed by policy",
    );
    let reply = admin(&app, "PUT", &uri, Some(mac)).await;
    assert_eq!(reply.json()["port"]["mac_address"], "fa:16:3e:aa:bb:cc");
    let reply = admin(
        &app,
        "PUT",
        &uri,
        Some(json!({"port": {"mac_address": "fa:16:3e:00:00:02"}})),
    )
    .await;
    assert_neutron_error(
        &reply,
        409,
        "MacAddressInUse",
        &format!("Unable to complete operation for network {NET}. The mac address fa:16:3e:00:00:02 is in use."),
    );
    let reply = member(
        &app,
        "PUT",
        &uri,
        Some(json!({"port": {"network_id": NET}})),
    )
    .await;
    assert_neutron_error(
        &reply,
        400,
        "HTTPBadRequest",
        "Cannot update read-only attribute network_id",
    );
}

#[tokio::test]
async fn an_undecodable_id_is_neutrons_404() {
    let app = TestApp::new().await;
    for kind in ["networks", "subnets", "ports"] {
        for method in ["GET", "PUT", "DELETE"] {
            let reply = member(&app, method, &format!("{V2}/{kind}/%FF"), None).await;
            assert_neutron_error(
                &reply,
                404,
                "HTTPNotFound",
                "The resource could not be found.",
            );
        }
    }
}
