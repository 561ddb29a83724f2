//! `/servers`: show, list, detail, with Nova 34's bodies (taken from the
//! Nova oracle) at each microversion.
mod common;
use common::*;
use serde_json::{json, Value};

const MEMBER: [(&str, &str); 2] = [
    ("X-Auth-Token", "demo:6f70656e737461636b20342065766572"),
    ("X-Roles", "reader,member"),
];
const ADMIN: [(&str, &str); 2] = [
    ("X-Auth-Token", "admin:6f70656e737461636b20342065766572"),
    ("X-Roles", "reader,member,admin"),
];

async fn get(app: &TestApp, uri: &str, who: [(&str, &str); 2], version: &str) -> Reply {
    let v = format!("compute {version}");
    let headers = [who[0], who[1], ("OpenStack-API-Version", &v), ("Host", "h")];
    app.send("GET", uri, &headers, None).await
}

fn server_url(id: &str) -> String {
    format!("/v2.1/{PROJECT}/servers/{id}")
}

/// The times vary: check their form, then blank them.
fn without_times(mut body: Value) -> Value {
    let s = body.get_mut("server").expect("a server");
    for key in ["created", "updated"] {
        let t = s[key].as_str().unwrap();
        assert!(t.ends_with('Z') && t.len() == 20, "{key}: {t}");
        s[key] = json!("T");
    }
    if let Some(t) = s["OS-SRV-USG:launched_at"].as_str() {
        assert_eq!(t.len(), 26, "launched_at: {t}");
        s["OS-SRV-USG:launched_at"] = json!("T");
    }
    body
}

fn links(id: &str) -> Value {
    json!([
        {"rel": "self", "href": format!("http://h/v2.1/{PROJECT}/servers/{id}")},
        {"rel": "bookmark", "href": format!("http://h/{PROJECT}/servers/{id}")},
    ])
}

const IMAGE: &str = "c1a2b3c4-0603-4e8a-9d1f-0123456789ab";

fn base_body(id: &str, name: &str, addresses: Value) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    for (k, v) in [
        ("accessIPv4", json!("")),
        ("accessIPv6", json!("")),
        ("addresses", addresses),
        ("created", json!("T")),
        (
            "flavor",
            json!({"id": "1", "links": [{"rel": "bookmark", "href": format!("http://h/{PROJECT}/flavors/1")}]}),
        ),
        ("hostId", json!("HOSTID")),
        ("id", json!(id)),
        (
            "image",
            json!({"id": IMAGE, "links": [{"rel": "bookmark", "href": format!("http://h/{PROJECT}/images/{IMAGE}")}]}),
        ),
        ("links", links(id)),
        ("metadata", json!({})),
        ("name", json!(name)),
        ("status", json!("ACTIVE")),
        ("tenant_id", json!(PROJECT)),
        ("user_id", json!("admin")),
        ("updated", json!("T")),
        ("OS-DCF:diskConfig", json!("MANUAL")),
        ("progress", json!(0)),
        ("OS-EXT-AZ:availability_zone", json!("nova")),
        ("config_drive", json!("")),
        ("key_name", Value::Null),
        ("OS-SRV-USG:launched_at", json!("T")),
        ("OS-SRV-USG:terminated_at", Value::Null),
    ] {
        m.insert(k.into(), v);
    }
    m
}

fn with_host_id(mut body: Value) -> Value {
    let s = body.get_mut("server").expect("a server");
    let h = s["hostId"].as_str().unwrap();
    assert_eq!(h.len(), 56, "sha224 hex");
    s["hostId"] = json!("HOSTID");
    body
}

fn tail(m: &mut serde_json::Map<String, Value>, vm_state: &str, power: u8) {
    m.insert("OS-EXT-STS:task_state".into(), Value::Null);
    m.insert("OS-EXT-STS:vm_state".into(), json!(vm_state));
    m.insert("OS-EXT-STS:power_state".into(), json!(power));
    m.insert("os-extended-volumes:volumes_attached".into(), json!([]));
}

#[tokio::test]
async fn show_at_2_1_as_member_is_novas_body_with_addresses_from_ports() {
    let app = TestApp::new().await;
    let r = get(&app, &server_url(SERVER_WITH_PORT), MEMBER, "2.1").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mut m = base_body(
        SERVER_WITH_PORT,
        "vm-with-port",
        json!({"private": [{"version": 4, "addr": "192.168.1.6", "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:05"}]}),
    );
    m.insert("security_groups".into(), json!([{"name": "default"}]));
    tail(&mut m, "active", 1);
    assert_eq!(
        with_host_id(without_times(r.json())),
        json!({"server": m}),
        "{}",
        r.text()
    );
    // Key order is Nova's.
    let text = r.text();
    assert!(
        text.starts_with("{\"server\": {\"accessIPv4\": \"\", \"accessIPv6\": \"\", \"addresses\"")
    );
}

#[tokio::test]
async fn show_at_2_73_as_admin_has_extended_attributes_and_later_fields() {
    let app = TestApp::new().await;
    let r = get(&app, &server_url(SERVER), ADMIN, "2.73").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mut m = base_body(SERVER, "vm1", json!({}));
    m["flavor"] = json!({"vcpus": 1, "ram": 512, "disk": 1, "ephemeral": 0, "swap": 0, "original_name": "m1.tiny", "extra_specs": {}});
    for (k, v) in [
        ("OS-EXT-SRV-ATTR:host", json!("porthole")),
        ("OS-EXT-SRV-ATTR:instance_name", json!("instance-afe25d9b")),
        ("OS-EXT-SRV-ATTR:hypervisor_hostname", json!("porthole")),
        ("OS-EXT-SRV-ATTR:hostname", json!("vm1")),
        ("OS-EXT-SRV-ATTR:kernel_id", json!("")),
        ("OS-EXT-SRV-ATTR:launch_index", json!(0)),
        ("OS-EXT-SRV-ATTR:ramdisk_id", json!("")),
        ("OS-EXT-SRV-ATTR:reservation_id", json!("r-00000000")),
        ("OS-EXT-SRV-ATTR:root_device_name", json!("/dev/vda")),
        ("OS-EXT-SRV-ATTR:user_data", Value::Null),
    ] {
        m.insert(k.into(), v);
    }
    tail(&mut m, "active", 1);
    for (k, v) in [
        ("locked", json!(false)),
        ("host_status", json!("UP")),
        ("description", Value::Null),
        ("tags", json!([])),
        ("trusted_image_certificates", Value::Null),
        ("server_groups", json!([])),
        ("locked_reason", Value::Null),
    ] {
        m.insert(k.into(), v);
    }
    assert_eq!(with_host_id(without_times(r.json())), json!({"server": m}));
}

#[tokio::test]
async fn fields_appear_at_their_microversions() {
    let app = TestApp::new().await;
    let keys =
        |v: &Value| -> Vec<String> { v["server"].as_object().unwrap().keys().cloned().collect() };
    let member_2_100 = keys(&get(&app, &server_url(SERVER), MEMBER, "2.100").await.json());
    assert_eq!(
        &member_2_100[member_2_100.len() - 11..],
        [
            "OS-EXT-STS:power_state",
            "os-extended-volumes:volumes_attached",
            "locked",
            "description",
            "tags",
            "trusted_image_certificates",
            "server_groups",
            "locked_reason",
            "OS-EXT-SRV-ATTR:hostname",
            "pinned_availability_zone",
            "scheduler_hints",
        ]
    );
    let body = get(&app, &server_url(SERVER), MEMBER, "2.19").await.json();
    assert!(body["server"].get("description").is_some());
    assert!(body["server"].get("tags").is_none());
    assert!(body["server"].get("host_status").is_none());
    let stopped = get(&app, &server_url(SERVER_STOPPED), MEMBER, "2.9")
        .await
        .json();
    assert_eq!(stopped["server"]["status"], "SHUTOFF");
    assert!(stopped["server"].get("progress").is_none());
    assert_eq!(stopped["server"]["OS-EXT-STS:power_state"], 4);
    let building = get(&app, &server_url(SERVER_BUILDING), MEMBER, "2.9")
        .await
        .json();
    assert_eq!(building["server"]["status"], "BUILD");
    let locked = get(&app, &server_url(SERVER_LOCKED), MEMBER, "2.9")
        .await
        .json();
    assert_eq!(locked["server"]["locked"], true);
}

#[tokio::test]
async fn unknown_and_other_projects_servers_are_novas_404() {
    let app = TestApp::new().await;
    let missing = "00000000-0000-0000-0000-000000000000";
    get(&app, &server_url(missing), MEMBER, "2.1")
        .await
        .assert_fault(
            404,
            "itemNotFound",
            &format!("Instance {missing} could not be found."),
        );
    get(&app, &server_url(SERVER_OTHER), MEMBER, "2.1")
        .await
        .assert_fault(
            404,
            "itemNotFound",
            &format!("Instance {SERVER_OTHER} could not be found."),
        );
    // The admin sees it.
    assert_eq!(
        get(&app, &server_url(SERVER_OTHER), ADMIN, "2.1")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn list_is_id_name_links_newest_first_with_filters_and_paging() {
    let app = TestApp::new().await;
    let base = format!("/v2.1/{PROJECT}/servers");
    let all = get(&app, &base, MEMBER, "2.1").await.json();
    let servers = all["servers"].as_array().unwrap();
    assert!(servers
        .iter()
        .all(|s| s["name"] != "" || s["id"] != SERVER_OTHER));
    assert!(
        !servers.iter().any(|s| s["id"] == SERVER_OTHER),
        "own project only"
    );
    assert_eq!(
        servers[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["id", "name", "links"]
    );
    // The seed's last server of the project comes first.
    let ids: Vec<&str> = servers.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(*ids.last().unwrap(), SERVER);
    assert_eq!(all.get("servers_links"), None);

    let page = get(&app, &format!("{base}?limit=2"), MEMBER, "2.1")
        .await
        .json();
    assert_eq!(page["servers"].as_array().unwrap().len(), 2);
    assert_eq!(
        page["servers_links"],
        json!([{"rel": "next", "href": format!("http://h{base}?limit=2&marker={}", ids[1])}])
    );
    let next = get(
        &app,
        &format!("{base}?limit=2&marker={}", ids[1]),
        MEMBER,
        "2.1",
    )
    .await
    .json();
    assert_eq!(next["servers"][0]["id"], ids[2]);

    let named = get(&app, &format!("{base}?name=^vm-with"), MEMBER, "2.1")
        .await
        .json();
    assert_eq!(named["servers"].as_array().unwrap().len(), 1);
    assert_eq!(named["servers"][0]["id"], SERVER_WITH_PORT);
    let stopped = get(&app, &format!("{base}?status=SHUTOFF"), MEMBER, "2.1")
        .await
        .json();
    assert_eq!(stopped["servers"][0]["id"], SERVER_STOPPED);
    assert_eq!(stopped["servers"].as_array().unwrap().len(), 1);
    let future = get(
        &app,
        &format!("{base}?changes-since=2999-01-01T00:00:00Z"),
        MEMBER,
        "2.1",
    )
    .await
    .json();
    assert_eq!(future, json!({"servers": []}));
    let by_name = get(
        &app,
        &format!("{base}?sort_key=display_name&sort_dir=asc"),
        MEMBER,
        "2.1",
    )
    .await
    .json();
    let names: Vec<&str> = by_name["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);

    get(&app, &format!("{base}?limit=abc"), MEMBER, "2.1")
        .await
        .assert_fault(
            400,
            "badRequest",
            "Invalid input for query parameters limit. Value: abc. 'abc' does not match '^[0-9]*$'",
        );
    get(&app, &format!("{base}?marker=bogus"), MEMBER, "2.1")
        .await
        .assert_fault(400, "badRequest", "marker [bogus] not found");
    get(&app, &format!("{base}?all_tenants=1"), MEMBER, "2.1")
        .await
        .assert_fault(
            403,
            "forbidden",
            "Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.",
        );
    let every = get(&app, &format!("{base}/detail?all_tenants=1"), ADMIN, "2.1")
        .await
        .json();
    assert!(every["servers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == SERVER_OTHER));
    let own = get(&app, &format!("{base}/detail"), ADMIN, "2.1")
        .await
        .json();
    assert!(!own["servers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == SERVER_OTHER));
}

#[tokio::test]
async fn detail_items_are_the_show_bodies() {
    let app = TestApp::new().await;
    let detail = get(
        &app,
        &format!("/v2.1/{PROJECT}/servers/detail?name=^vm1$"),
        ADMIN,
        "2.47",
    )
    .await
    .json();
    let show = get(&app, &server_url(SERVER), ADMIN, "2.47").await.json();
    assert_eq!(detail["servers"][0], show["server"]);
    // From 2.71 show has `server_groups`, lists do not; in lists
    // `security_groups` comes last (as the oracle answers).
    let detail = get(
        &app,
        &format!("/v2.1/{PROJECT}/servers/detail?name=^vm-with-port$"),
        ADMIN,
        "2.73",
    )
    .await
    .json();
    let keys: Vec<&String> = detail["servers"][0].as_object().unwrap().keys().collect();
    assert!(!keys.iter().any(|k| *k == "server_groups"));
    assert_eq!(keys.last().unwrap().as_str(), "security_groups");
    let show = get(&app, &server_url(SERVER_WITH_PORT), ADMIN, "2.73")
        .await
        .json();
    assert_eq!(show["server"]["server_groups"], json!([]));
}

#[tokio::test]
async fn links_follow_the_url_form() {
    let app = TestApp::new().await;
    let r = get(&app, &format!("/v2.1/servers/{SERVER}"), MEMBER, "2.1")
        .await
        .json();
    assert_eq!(
        r["server"]["links"][0]["href"],
        format!("http://h/v2.1/servers/{SERVER}")
    );
}

// --- flavors (bodies from the Nova oracle)

fn flavor_links(id: &str) -> Value {
    json!([
        {"rel": "self", "href": format!("http://h/v2.1/{PROJECT}/flavors/{id}")},
        {"rel": "bookmark", "href": format!("http://h/{PROJECT}/flavors/{id}")},
    ])
}

#[tokio::test]
async fn flavors_are_novas_classic_five() {
    let app = TestApp::new().await;
    let one = get(&app, &format!("/v2.1/{PROJECT}/flavors/1"), MEMBER, "2.1").await;
    assert_eq!(
        one.text(),
        json!({"flavor": {"id": "1", "name": "m1.tiny", "ram": 512, "disk": 1, "swap": "",
            "OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": false, "vcpus": 1,
            "os-flavor-access:is_public": true, "rxtx_factor": 1.0, "links": flavor_links("1")}})
        .to_string()
        .replace("\":", "\": ")
        .replace(",\"", ", \"")
        .replace("},{", "}, {")
    );
    let later = get(&app, &format!("/v2.1/{PROJECT}/flavors/1"), MEMBER, "2.75")
        .await
        .json();
    assert_eq!(later["flavor"]["swap"], 0);
    assert_eq!(later["flavor"]["description"], Value::Null);
    assert_eq!(later["flavor"]["extra_specs"], json!({}));
    let list = get(&app, &format!("/v2.1/{PROJECT}/flavors"), MEMBER, "2.1")
        .await
        .json();
    let names: Vec<&str> = list["flavors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"]
    );
    assert_eq!(
        list["flavors"][0],
        json!({"id": "1", "name": "m1.tiny", "links": flavor_links("1")})
    );
    let big = get(
        &app,
        &format!("/v2.1/{PROJECT}/flavors/detail?minRam=4000"),
        MEMBER,
        "2.1",
    )
    .await
    .json();
    assert_eq!(big["flavors"].as_array().unwrap().len(), 3);
    let page = get(
        &app,
        &format!("/v2.1/{PROJECT}/flavors?limit=1"),
        MEMBER,
        "2.1",
    )
    .await
    .json();
    assert_eq!(
        page["flavors_links"],
        json!([{"rel": "next", "href": format!("http://h/v2.1/{PROJECT}/flavors?limit=1&marker=1")}])
    );
    get(&app, &format!("/v2.1/{PROJECT}/flavors/99"), MEMBER, "2.1")
        .await
        .assert_fault(404, "itemNotFound", "Flavor 99 could not be found.");
}

// --- images (minimal Glance v2)

#[tokio::test]
async fn images_list_by_name_and_show() {
    let app = TestApp::new().await;
    let versions = app.send("GET", "/image", &[("Host", "h")], None).await;
    assert_eq!(versions.status, 300);
    assert_eq!(
        versions.json()["versions"][0]["links"][0]["href"],
        "http://h/image/v2/"
    );
    let list = app
        .send(
            "GET",
            "/image/v2/images?name=cirros-0.6.3-x86_64-disk",
            &MEMBER,
            None,
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.text());
    let body = list.json();
    assert_eq!(body["first"], "/v2/images?name=cirros-0.6.3-x86_64-disk");
    assert_eq!(body["images"][0]["id"], IMAGE);
    assert_eq!(body["images"][0]["status"], "active");
    let none = app
        .send("GET", "/image/v2/images?name=nope", &MEMBER, None)
        .await
        .json();
    assert_eq!(none["images"], json!([]));
    let one = app
        .send("GET", &format!("/image/v2/images/{IMAGE}"), &MEMBER, None)
        .await;
    assert_eq!(one.json()["name"], "cirros-0.6.3-x86_64-disk");
    let missing = app.send("GET", "/image/v2/images/x", &MEMBER, None).await;
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("No image found with ID x"));
    // An id that is not UTF-8 is Glance's 404 too, not the framework's 400.
    let undecodable = app.send("GET", "/image/v2/images/%FF", &MEMBER, None).await;
    assert_eq!(undecodable.status, 404);
    assert_eq!(
        undecodable.text(),
        "404 Not Found\n\nNo image found with ID %FF\n\n   "
    );
}

// --- create and delete

async fn post(app: &TestApp, uri: &str, version: &str, body: Value) -> Reply {
    let v = format!("compute {version}");
    let headers = [
        MEMBER[0],
        MEMBER[1],
        ("OpenStack-API-Version", &v),
        ("Host", "h"),
        ("content-type", "application/json"),
    ];
    app.send("POST", uri, &headers, Some(&body.to_string()))
        .await
}

fn servers_url() -> String {
    format!("/v2.1/{PROJECT}/servers")
}

#[tokio::test]
async fn create_on_a_network_answers_202_and_the_server_is_active_with_its_port() {
    let app = TestApp::new().await;
    let r = post(
        &app,
        &servers_url(),
        "2.52",
        json!({"server": {"name": "new-vm", "imageRef": IMAGE, "flavorRef": "2",
            "networks": [{"uuid": NET, "fixed_ip": "192.168.1.77"}],
            "metadata": {"k": "v"}, "tags": ["b", "a"], "description": "hello"}}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let body = r.json();
    let id = body["server"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        body["server"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        [
            "id",
            "links",
            "OS-DCF:diskConfig",
            "security_groups",
            "adminPass"
        ]
    );
    assert_eq!(body["server"]["links"], links(&id));
    assert_eq!(
        body["server"]["security_groups"],
        json!([{"name": "default"}])
    );
    assert_eq!(body["server"]["adminPass"].as_str().unwrap().len(), 12);
    assert_eq!(
        r.header("location"),
        Some(format!("http://h/v2.1/{PROJECT}/servers/{id}").as_str())
    );

    let shown = get(&app, &server_url(&id), MEMBER, "2.52").await.json();
    let s = &shown["server"];
    assert_eq!(s["status"], "ACTIVE");
    assert_eq!(s["name"], "new-vm");
    assert_eq!(s["user_id"], "demo");
    assert_eq!(s["flavor"]["original_name"], "m1.small");
    assert_eq!(s["metadata"], json!({"k": "v"}));
    assert_eq!(s["tags"], json!(["a", "b"]));
    assert_eq!(s["description"], "hello");
    assert_eq!(s["addresses"]["private"][0]["addr"], "192.168.1.77");
    let interfaces = get(
        &app,
        &format!("{}/os-interface", server_url(&id)),
        MEMBER,
        "2.1",
    )
    .await
    .json();
    let port_id = interfaces["interfaceAttachments"][0]["port_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(interfaces["interfaceAttachments"][0]["net_id"], NET);
    let actions = get(
        &app,
        &format!("{}/os-instance-actions", server_url(&id)),
        MEMBER,
        "2.1",
    )
    .await
    .json();
    assert_eq!(actions["instanceActions"][0]["action"], "create");

    // Delete: 204, gone, and its created port with it.
    let v = [MEMBER[0], MEMBER[1]];
    let deleted = app.send("DELETE", &server_url(&id), &v, None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    assert!(deleted.body.is_empty());
    get(&app, &server_url(&id), MEMBER, "2.1")
        .await
        .assert_fault(
            404,
            "itemNotFound",
            &format!("Instance {id} could not be found."),
        );
    let state = app.send("GET", "/_porthole/state", &[], None).await.json();
    assert!(!state["ports"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == port_id.as_str()));
}

#[tokio::test]
async fn a_given_port_is_bound_on_create_and_kept_on_delete() {
    let app = TestApp::new().await;
    let r = post(
        &app,
        &servers_url(),
        "2.37",
        json!({"server": {"name": "p", "imageRef": IMAGE, "flavorRef": 1, "networks": [{"port": PORT_FREE}]}}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["server"]["id"].as_str().unwrap().to_owned();
    let again = post(
        &app,
        &servers_url(),
        "2.37",
        json!({"server": {"name": "q", "imageRef": IMAGE, "flavorRef": "1", "networks": [{"port": PORT_FREE}]}}),
    )
    .await;
    again.assert_fault(
        409,
        "conflictingRequest",
        &format!("Port {PORT_FREE} is still in use."),
    );
    let deleted = app.send("DELETE", &server_url(&id), &MEMBER, None).await;
    assert_eq!(deleted.status, 204);
    let state = app.send("GET", "/_porthole/state", &[], None).await.json();
    let port = state["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == PORT_FREE)
        .unwrap()
        .clone();
    assert_eq!(port["device_id"], "");
}

#[tokio::test]
async fn networks_none_makes_no_port() {
    let app = TestApp::new().await;
    let r = post(
        &app,
        &servers_url(),
        "2.37",
        json!({"server": {"name": "n", "imageRef": IMAGE, "flavorRef": "1", "networks": "none"}}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["server"]["id"].as_str().unwrap().to_owned();
    let shown = get(&app, &server_url(&id), MEMBER, "2.37").await.json();
    assert_eq!(shown["server"]["addresses"], json!({}));
    assert!(shown["server"].get("security_groups").is_none());
}

#[tokio::test]
async fn create_refusals_are_novas() {
    let app = TestApp::new().await;
    let create = |version: &'static str, server: Value| {
        let app = &app;
        async move { post(app, &servers_url(), version, json!({"server": server})).await }
    };
    create(
        "2.37",
        json!({"name": "x", "imageRef": IMAGE, "flavorRef": "99", "networks": "none"}),
    )
    .await
    .assert_fault(400, "badRequest", "Flavor 99 could not be found.");
    create(
        "2.37",
        json!({"name": "x", "imageRef": "00000000-0000-0000-0000-000000000000", "flavorRef": "1", "networks": "none"}),
    )
    .await
    .assert_fault(400, "badRequest", "Can not find requested image");
    create("2.37", json!({"name": "t3", "imageRef": IMAGE, "flavorRef": "1"}))
        .await
        .assert_fault(
            400,
            "badRequest",
            &format!("Invalid input for field/attribute server. Value: {{'name': 't3', 'imageRef': '{IMAGE}', 'flavorRef': '1'}}. 'networks' is a required property"),
        );
    create("2.37", json!({"imageRef": IMAGE, "flavorRef": "1", "networks": "none"}))
        .await
        .assert_fault(
            400,
            "badRequest",
            &format!("Invalid input for field/attribute server. Value: {{'imageRef': '{IMAGE}', 'flavorRef': '1', 'networks': 'none'}}. 'name' is a required property"),
        );
    create(
        "2.37",
        json!({"name": "", "imageRef": IMAGE, "flavorRef": "1", "networks": "none"}),
    )
    .await
    .assert_fault(
        400,
        "badRequest",
        "Invalid input for field/attribute name. Value: . '' should be non-empty",
    );
    create("2.37", json!({"name": "x", "imageRef": IMAGE, "flavorRef": "1", "networks": "bogus"}))
        .await
        .assert_fault(
            400,
            "badRequest",
            "Invalid input for field/attribute networks. Value: bogus. 'bogus' is not valid under any of the given schemas",
        );
    create(
        "2.37",
        json!({"name": "x", "imageRef": IMAGE, "flavorRef": "1", "networks": [{"uuid": "00000000-0000-0000-0000-000000000001"}]}),
    )
    .await
    .assert_fault(400, "badRequest", "Network 00000000-0000-0000-0000-000000000001 could not be found.");
    create("2.37", json!({"name": "x", "imageRef": IMAGE, "flavorRef": "1", "networks": "auto", "bogus": 1}))
        .await
        .assert_fault(
            400,
            "badRequest",
            &format!("Invalid input for field/attribute server. Value: {{'name': 'x', 'imageRef': '{IMAGE}', 'flavorRef': '1', 'networks': 'auto', 'bogus': 1}}. Additional properties are not allowed ('bogus' was unexpected)"),
        );
}

#[tokio::test]
async fn delete_refusals() {
    let app = TestApp::new().await;
    app.send("DELETE", &server_url(SERVER_LOCKED), &MEMBER, None)
        .await
        .assert_fault(
            409,
            "conflictingRequest",
            &format!("Instance {SERVER_LOCKED} is locked"),
        );
    app.send("DELETE", &server_url(SERVER_OTHER), &MEMBER, None)
        .await
        .assert_fault(
            404,
            "itemNotFound",
            &format!("Instance {SERVER_OTHER} could not be found."),
        );
    let reader = [
        ("X-Auth-Token", "demo:6f70656e737461636b20342065766572"),
        ("X-Roles", "reader"),
    ];
    app.send("DELETE", &server_url(SERVER), &reader, None)
        .await
        .assert_fault(
            403,
            "forbidden",
            "Policy doesn't allow os_compute_api:servers:delete to be performed.",
        );
}

// --- state actions (messages from the Nova oracle)

async fn act(app: &TestApp, server: &str, version: &str, body: Value) -> Reply {
    post(
        app,
        &format!("{}/action", server_url(server)),
        version,
        body,
    )
    .await
}

async fn status_of(app: &TestApp, server: &str) -> Value {
    get(app, &server_url(server), MEMBER, "2.73").await.json()["server"]["status"].clone()
}

#[tokio::test]
async fn stop_start_pause_unpause_suspend_resume_move_the_state() {
    let app = TestApp::new().await;
    let conflict = |action: &str, state: &str| {
        format!("Cannot '{action}' instance {SERVER} while it is in vm_state {state}")
    };
    act(&app, SERVER, "2.1", json!({"os-start": null}))
        .await
        .assert_fault(409, "conflictingRequest", &conflict("start", "active"));
    for (body, status) in [
        (json!({"os-stop": null}), "SHUTOFF"),
        (json!({"os-start": null}), "ACTIVE"),
        (json!({"pause": null}), "PAUSED"),
        (json!({"unpause": null}), "ACTIVE"),
        (json!({"suspend": null}), "SUSPENDED"),
        (json!({"resume": null}), "ACTIVE"),
    ] {
        let r = act(&app, SERVER, "2.1", body.clone()).await;
        assert_eq!(r.status, 202, "{body}: {}", r.text());
        assert!(r.body.is_empty());
        assert_eq!(status_of(&app, SERVER).await, status, "{body}");
    }
    act(&app, SERVER, "2.1", json!({"os-stop": null})).await;
    act(&app, SERVER, "2.1", json!({"pause": null}))
        .await
        .assert_fault(409, "conflictingRequest", &conflict("pause", "stopped"));
    act(&app, SERVER, "2.1", json!({"resume": null}))
        .await
        .assert_fault(409, "conflictingRequest", &conflict("resume", "stopped"));
    let actions = get(
        &app,
        &format!("{}/os-instance-actions", server_url(SERVER)),
        MEMBER,
        "2.1",
    )
    .await
    .json();
    let names: Vec<&str> = actions["instanceActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["stop", "resume", "suspend", "unpause", "pause", "start", "stop"]
    );
    let one = &actions["instanceActions"][0];
    let request_id = one["request_id"].as_str().unwrap();
    let detail = get(
        &app,
        &format!("{}/os-instance-actions/{request_id}", server_url(SERVER)),
        ADMIN,
        "2.1",
    )
    .await
    .json();
    assert_eq!(
        detail["instanceAction"]["events"][0]["event"],
        "compute_stop_instance"
    );
    assert_eq!(detail["instanceAction"]["events"][0]["result"], "Success");
}

#[tokio::test]
async fn lock_and_unlock_with_a_reason_at_2_73() {
    let app = TestApp::new().await;
    let r = act(
        &app,
        SERVER,
        "2.73",
        json!({"lock": {"locked_reason": "maintenance"}}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let shown = get(&app, &server_url(SERVER), MEMBER, "2.73").await.json();
    assert_eq!(shown["server"]["locked"], true);
    assert_eq!(shown["server"]["locked_reason"], "maintenance");
    // A locked server refuses the member's state actions (and its delete)...
    act(&app, SERVER, "2.1", json!({"os-stop": null}))
        .await
        .assert_fault(
            409,
            "conflictingRequest",
            &format!("Instance {SERVER} is locked"),
        );
    // ...and os-interface attach.
    let attach = app
        .send(
            "POST",
            &format!("{}/os-interface", server_url(SERVER)),
            &[MEMBER[0], MEMBER[1], ("content-type", "application/json")],
            Some(&json!({"interfaceAttachment": {"port_id": PORT_FREE}}).to_string()),
        )
        .await;
    attach.assert_fault(
        409,
        "conflictingRequest",
        &format!("Instance {SERVER} is locked"),
    );
    // Locking again is fine, as in Nova.
    assert_eq!(
        act(&app, SERVER, "2.1", json!({"lock": null})).await.status,
        202
    );
    assert_eq!(
        act(&app, SERVER, "2.1", json!({"unlock": null}))
            .await
            .status,
        202
    );
    let shown = get(&app, &server_url(SERVER), MEMBER, "2.73").await.json();
    assert_eq!(shown["server"]["locked"], false);
    assert_eq!(shown["server"]["locked_reason"], Value::Null);
    assert_eq!(
        act(&app, SERVER, "2.1", json!({"os-stop": null}))
            .await
            .status,
        202
    );
}

#[tokio::test]
async fn action_refusals() {
    let app = TestApp::new().await;
    act(&app, SERVER, "2.1", json!({"foo": null}))
        .await
        .assert_fault(400, "badRequest", "There is no such action: foo");
    act(&app, SERVER_BUILDING, "2.1", json!({"os-stop": null}))
        .await
        .assert_fault(
            409,
            "conflictingRequest",
            &format!("Cannot 'stop' instance {SERVER_BUILDING} while it is in vm_state building"),
        );
    act(&app, SERVER_TASK, "2.1", json!({"pause": null}))
        .await
        .assert_fault(
            409,
            "conflictingRequest",
            &format!("Cannot 'pause' instance {SERVER_TASK} while it is in task_state rebooting"),
        );
    act(&app, SERVER_OTHER, "2.1", json!({"pause": null}))
        .await
        .assert_fault(
            404,
            "itemNotFound",
            &format!("Instance {SERVER_OTHER} could not be found."),
        );
    let reader = [
        ("X-Auth-Token", "demo:6f70656e737461636b20342065766572"),
        ("X-Roles", "reader"),
        ("content-type", "application/json"),
    ];
    app.send(
        "POST",
        &format!("{}/action", server_url(SERVER)),
        &reader,
        Some(r#"{"os-stop": null}"#),
    )
    .await
    .assert_fault(
        403,
        "forbidden",
        "Policy doesn't allow os_compute_api:servers:stop to be performed.",
    );
    // The admin may act on a locked server.
    let admin = [ADMIN[0], ADMIN[1], ("content-type", "application/json")];
    let r = app
        .send(
            "POST",
            &format!("{}/action", server_url(SERVER_LOCKED)),
            &admin,
            Some(r#"{"os-stop": null}"#),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text());
}

#[tokio::test]
async fn with_a_build_delay_the_server_is_build_then_active() {
    let options = porthole::app::AppOptions {
        server_build_delay: std::time::Duration::from_millis(150),
        ..Default::default()
    };
    let app = TestApp::with_options(
        porthole::config::AuthMode::Noauth,
        options,
        porthole::domain::ids::IdSource::random(),
    )
    .await;
    let r = post(
        &app,
        &servers_url(),
        "2.37",
        json!({"server": {"name": "slow", "imageRef": IMAGE, "flavorRef": "1", "networks": "none"}}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["server"]["id"].as_str().unwrap().to_owned();
    let building = get(&app, &server_url(&id), MEMBER, "2.1").await.json();
    assert_eq!(building["server"]["status"], "BUILD");
    assert_eq!(building["server"]["OS-EXT-STS:task_state"], "spawning");
    assert_eq!(building["server"]["OS-SRV-USG:launched_at"], Value::Null);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(status_of(&app, &id).await, "ACTIVE");
}

#[tokio::test]
async fn auto_needs_one_network_and_a_port_that_cannot_be_made_leaves_error() {
    let app = TestApp::new().await;
    // The test project has several networks: auto cannot choose.
    post(
        &app,
        &servers_url(),
        "2.37",
        json!({"server": {"name": "a", "imageRef": IMAGE, "flavorRef": "1", "networks": "auto"}}),
    )
    .await
    .assert_fault(
        409,
        "conflictingRequest",
        "Multiple possible networks found, use a Network ID to be more specific.",
    );
    // A full network: the build fails, the server is ERROR, the action says so.
    let r = post(
        &app,
        &servers_url(),
        "2.37",
        json!({"server": {"name": "full", "imageRef": IMAGE, "flavorRef": "1", "networks": [{"uuid": NET_FULL}]}}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["server"]["id"].as_str().unwrap().to_owned();
    assert_eq!(status_of(&app, &id).await, "ERROR");
    let actions = get(
        &app,
        &format!("{}/os-instance-actions", server_url(&id)),
        MEMBER,
        "2.1",
    )
    .await
    .json();
    assert_eq!(actions["instanceActions"][0]["action"], "create");
    assert_eq!(actions["instanceActions"][0]["message"], "Error");
}

// --- a deleted server's instance actions (Nova soft-deletes the instance)

/// Create a server on the private network as the member; its id and the
/// create request's id.
async fn created(app: &TestApp) -> (String, String) {
    let r = post(
        app,
        &servers_url(),
        "2.37",
        json!({"server": {"name": "doomed", "imageRef": IMAGE, "flavorRef": "1",
            "networks": [{"uuid": NET}]}}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["server"]["id"].as_str().unwrap().to_owned();
    (id, r.request_id())
}

/// An action's or event's times, checked for form, then blanked.
fn blank_times(value: &mut Value) {
    for key in ["start_time", "finish_time", "updated_at"] {
        if let Some(t) = value.get_mut(key) {
            let text = t.as_str().expect("a time");
            assert_eq!(text.len(), "2026-11-28T04:10:00.123456".len(), "{text}");
            *t = json!("T");
        }
    }
}

#[tokio::test]
async fn a_deleted_server_is_gone_but_its_actions_stay_from_2_21() {
    let app = TestApp::new().await;
    let (id, create_request) = created(&app).await;
    let deleted = app.send("DELETE", &server_url(&id), &MEMBER, None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    let delete_request = deleted.request_id();
    let gone = format!("Instance {id} could not be found.");

    // Gone from every server lookup.
    get(&app, &server_url(&id), MEMBER, "2.21")
        .await
        .assert_fault(404, "itemNotFound", &gone);
    for list in ["", "/detail"] {
        let body = get(&app, &format!("{}{list}", servers_url()), ADMIN, "2.21")
            .await
            .json();
        assert!(
            !body["servers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["id"] == id.as_str()),
            "{list}: {body}"
        );
    }
    get(
        &app,
        &format!("{}/os-interface", server_url(&id)),
        MEMBER,
        "2.21",
    )
    .await
    .assert_fault(404, "itemNotFound", &gone);
    app.send("DELETE", &server_url(&id), &MEMBER, None)
        .await
        .assert_fault(404, "itemNotFound", &gone);

    // Before 2.21 Nova does not read deleted instances here.
    let actions_url = format!("{}/os-instance-actions", server_url(&id));
    let delete_url = format!("{actions_url}/{delete_request}");
    get(&app, &actions_url, MEMBER, "2.20")
        .await
        .assert_fault(404, "itemNotFound", &gone);
    get(&app, &delete_url, ADMIN, "2.20")
        .await
        .assert_fault(404, "itemNotFound", &gone);

    // From 2.21: create and delete, newest first.
    let mut list = get(&app, &actions_url, MEMBER, "2.21").await.json();
    for action in list["instanceActions"].as_array_mut().unwrap() {
        blank_times(action);
    }
    let action = |name: &str, request_id: &str| {
        json!({"action": name, "instance_uuid": id, "request_id": request_id,
            "user_id": "demo", "project_id": PROJECT, "start_time": "T",
            "message": null})
    };
    assert_eq!(
        list,
        json!({"instanceActions": [
            action("delete", &delete_request),
            action("create", &create_request),
        ]})
    );

    // The delete with its event (admins see events before 2.51).
    let mut shown = get(&app, &delete_url, ADMIN, "2.21").await.json();
    blank_times(&mut shown["instanceAction"]);
    for event in shown["instanceAction"]["events"].as_array_mut().unwrap() {
        blank_times(event);
    }
    let mut expected = action("delete", &delete_request);
    expected["events"] = json!([{"event": "compute_terminate_instance",
        "start_time": "T", "finish_time": "T", "result": "Success",
        "traceback": null}]);
    assert_eq!(shown, json!({ "instanceAction": expected }));
    let mut shown = get(&app, &delete_url, MEMBER, "2.84").await.json();
    assert_eq!(
        shown["instanceAction"]["events"][0]["event"],
        "compute_terminate_instance"
    );
    blank_times(&mut shown["instanceAction"]);
    assert_eq!(shown["instanceAction"]["action"], "delete");
    get(
        &app,
        &format!("{actions_url}/{create_request}"),
        MEMBER,
        "2.21",
    )
    .await
    .json()["instanceAction"]["action"]
        .as_str()
        .map(|a| assert_eq!(a, "create"))
        .unwrap();

    // Another project still cannot see them.
    let other = member_of(OTHER_PROJECT);
    let other: Vec<(&str, &str)> = other
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([("OpenStack-API-Version", "compute 2.21")])
        .collect();
    app.send(
        "GET",
        &format!("/v2.1/servers/{id}/os-instance-actions"),
        &other,
        None,
    )
    .await
    .assert_fault(404, "itemNotFound", &gone);

    // The control plane's hard delete does not see it; a reset drops it.
    assert_eq!(
        app.send("DELETE", &format!("/_porthole/servers/{id}"), &[], None)
            .await
            .status,
        404
    );
    let state = app.send("GET", "/_porthole/state", &[], None).await.json();
    assert!(!state["servers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == id.as_str()));
    assert_eq!(
        app.send("POST", "/_porthole/reset", &[], None).await.status,
        200
    );
    get(&app, &actions_url, MEMBER, "2.21")
        .await
        .assert_fault(404, "itemNotFound", &gone);
}

#[tokio::test]
async fn a_deleted_servers_actions_survive_a_sqlite_reload() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("porthole.sqlite3");
    let store = || -> std::sync::Arc<dyn porthole::store::Store> {
        std::sync::Arc::new(porthole::store::SqliteStore::open(&path).unwrap())
    };
    let (id, create_request, delete_request) = {
        let app = TestApp::with_store(store()).await;
        let (id, create_request) = created(&app).await;
        let deleted = app.send("DELETE", &server_url(&id), &MEMBER, None).await;
        assert_eq!(deleted.status, 204, "{}", deleted.text());
        (id, create_request, deleted.request_id())
    };
    let app = TestApp::with_store(store()).await;
    get(&app, &server_url(&id), MEMBER, "2.21")
        .await
        .assert_fault(
            404,
            "itemNotFound",
            &format!("Instance {id} could not be found."),
        );
    let list = get(
        &app,
        &format!("{}/os-instance-actions", server_url(&id)),
        MEMBER,
        "2.21",
    )
    .await
    .json();
    let seen: Vec<(&str, &str)> = list["instanceActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap(),
                a["request_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("delete", delete_request.as_str()),
            ("create", create_request.as_str())
        ]
    );
    let shown = get(
        &app,
        &format!("{}/os-instance-actions/{delete_request}", server_url(&id)),
        ADMIN,
        "2.21",
    )
    .await
    .json();
    assert_eq!(
        shown["instanceAction"]["events"][0]["event"],
        "compute_terminate_instance"
    );
}
