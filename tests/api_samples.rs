//! porthole's API samples, laid out as Nova's `doc/api_samples`: each test
//! sends the request samples to the app in-process, takes the real responses,
//! replaces generated values with the fixed ones of Nova's samples, and
//! compares them with the files under `api_samples/`.
//!
//! `PORTHOLE_REGENERATE_SAMPLES=1 cargo test --test api_samples` rewrites the
//! files instead. Where Nova's reference samples are checked out beside the
//! repository (`../shared/reference/nova-api-samples`), every sample is also
//! compared with Nova's, as JSON.
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Map, Value};
use tower::ServiceExt;

use common::{TestApp, NET, PORT_FREE, PROJECT, SERVER, SUBNET};

/// The host Nova's samples are generated against.
const HOST: &str = "openstack.example.com";
/// The port, address and MAC of Nova's samples.
const MAC: &str = "fa:16:3e:4c:2c:30";
const IP: &str = "192.168.1.3";
const REGENERATE: &str = "PORTHOLE_REGENERATE_SAMPLES";

/// Every file the tests below produce, relative to `api_samples/`.
const SAMPLE_FILES: [&str; 15] = [
    "os-attach-interfaces/attach-interfaces-create-net_id-req.json",
    "os-attach-interfaces/attach-interfaces-create-req.json",
    "os-attach-interfaces/attach-interfaces-create-resp.json",
    "os-attach-interfaces/attach-interfaces-list-resp.json",
    "os-attach-interfaces/attach-interfaces-show-resp.json",
    "os-attach-interfaces/v2.49/attach-interfaces-create-req.json",
    "os-attach-interfaces/v2.49/attach-interfaces-create-resp.json",
    "os-attach-interfaces/v2.70/attach-interfaces-create-net_id-req.json",
    "os-attach-interfaces/v2.70/attach-interfaces-create-req.json",
    "os-attach-interfaces/v2.70/attach-interfaces-create-resp.json",
    "os-attach-interfaces/v2.70/attach-interfaces-list-resp.json",
    "os-attach-interfaces/v2.70/attach-interfaces-show-resp.json",
    "versions/v2-version-get-resp.json",
    "versions/v21-version-get-resp.json",
    "versions/versions-get-resp.json",
];

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("api_samples")
}

/// Nova's reference samples, beside the repository (absent in some checkouts).
fn nova_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/nova-api-samples");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "note: {} is absent; not comparing with Nova's samples",
            dir.display()
        );
        None
    }
}

fn regenerating() -> bool {
    std::env::var(REGENERATE).is_ok_and(|v| v == "1")
}

// ---------------------------------------------------------------------------
// Formatting and comparison

/// `value` with every object's keys in sorted order.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for key in keys {
                out.insert(key.clone(), sorted(&map[key]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Nova's sample layout: 4-space indent, sorted keys, a final newline.
fn pretty(value: &Value) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    sorted(value).serialize(&mut serializer).unwrap();
    let mut text = String::from_utf8(out).unwrap();
    text.push('\n');
    text
}

/// A line diff (longest common subsequence), `-` expected and `+` actual.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        }
    }
    out
}

/// Compare `value` with the sample file `name` (or write it when
/// regenerating), and with Nova's sample of the same name if there is one.
#[track_caller]
fn sample(name: &str, value: &Value) {
    assert!(
        SAMPLE_FILES.contains(&name),
        "{name} is missing from SAMPLE_FILES"
    );
    let path = samples_dir().join(name);
    let text = pretty(value);
    if regenerating() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, &text).unwrap();
            eprintln!("wrote {}", path.display());
        }
    } else {
        let stored = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {} ({e}); run with {REGENERATE}=1 to create it",
                path.display()
            )
        });
        assert!(
            stored == text,
            "{name} differs from the real response (- file, + actual); \
             run with {REGENERATE}=1 to accept it:\n{}",
            diff(&stored, &text)
        );
    }
    if let Some(nova) = nova_dir() {
        let path = nova.join(name);
        if let Ok(reference) = std::fs::read_to_string(&path) {
            let reference: Value = serde_json::from_str(&reference)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let (reference, ours) = (pretty(&reference), pretty(value));
            assert!(
                reference == ours,
                "{name} differs from Nova's sample (- Nova, + porthole):\n{}",
                diff(&reference, &ours)
            );
        }
    }
}

/// Replace every string equal to a key of `map` with its value.
fn normalise(value: &Value, map: &[(&str, &str)]) -> Value {
    match value {
        Value::String(s) => match map.iter().find(|(from, _)| from == s) {
            Some((_, to)) => Value::String((*to).to_owned()),
            None => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| normalise(v, map)).collect()),
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(k, v)| (k.clone(), normalise(v, map)))
                .collect(),
        ),
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------
// The app, as Nova's sample tests drive it

/// The world of Nova's samples: one server on one network; with `port`, the
/// free port Nova's samples attach.
fn world(port: bool) -> String {
    let mut seed = format!(
        r#"
[[servers]]
id = "{SERVER}"
name = "new-server-test"
project_id = "{PROJECT}"

[[networks]]
id = "{NET}"
name = "private"
project_id = "{PROJECT}"

[[subnets]]
id = "{SUBNET}"
network_id = "{NET}"
cidr = "192.168.1.0/24"
gateway_ip = "192.168.1.1"
"#
    );
    if port {
        seed.push_str(&format!(
            r#"
[[ports]]
id = "{PORT_FREE}"
network_id = "{NET}"
project_id = "{PROJECT}"
mac_address = "{MAC}"
fixed_ips = [{{ subnet_id = "{SUBNET}", ip_address = "{IP}" }}]
"#
        ));
    }
    seed
}

/// Send a request with `Host: openstack.example.com`; expect `status` and a JSON body.
async fn send(
    app: &TestApp,
    method: &str,
    uri: &str,
    version: Option<&str>,
    body: Option<&Value>,
    status: StatusCode,
) -> Value {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", HOST)
        .header("accept", "application/json");
    if let Some(version) = version {
        builder = builder.header("openstack-api-version", format!("compute {version}"));
    }
    if body.is_some() {
        builder = builder.header("content-type", "application/json");
    }
    let request = builder
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let actual = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes);
    assert_eq!(actual, status, "{method} {uri}: {text}");
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{method} {uri}: {e}: {text}"))
}

fn interfaces() -> String {
    format!("/v2.1/{PROJECT}/servers/{SERVER}/os-interface")
}

fn interface(port: &str) -> String {
    format!("/v2.1/{PROJECT}/servers/{SERVER}/os-interface/{port}")
}

/// Attach by `net_id`: a new port, its id and MAC replaced by the sample's.
async fn attach_by_network(dir: &str, version: Option<&str>, request: Value) -> Value {
    sample(
        &format!("{dir}/attach-interfaces-create-net_id-req.json"),
        &request,
    );
    let app = TestApp::with_seed(&world(false)).await;
    let response = send(
        &app,
        "POST",
        &interfaces(),
        version,
        Some(&request),
        StatusCode::OK,
    )
    .await;
    let attachment = &response["interfaceAttachment"];
    let port_id = attachment["port_id"].as_str().expect("port_id");
    let mac = attachment["mac_addr"].as_str().expect("mac_addr");
    assert_ne!(port_id, PORT_FREE);
    assert!(mac.starts_with("fa:16:3e:"), "{mac}");
    normalise(&response, &[(port_id, PORT_FREE), (mac, MAC)])
}

/// Attach the sample port by `port_id`, then list and show: the create, list
/// and show samples of one directory.
async fn attach_list_show(dir: &str, version: &str, tag: Option<&str>, shows_tag: bool) -> Value {
    let mut attachment = json!({"port_id": PORT_FREE});
    if let Some(tag) = tag {
        attachment["tag"] = tag.into();
    }
    let request = json!({ "interfaceAttachment": attachment });
    sample(
        &format!("{dir}/attach-interfaces-create-req.json"),
        &request,
    );
    let app = TestApp::with_seed(&world(true)).await;
    let v = Some(version);
    let created = send(
        &app,
        "POST",
        &interfaces(),
        v,
        Some(&request),
        StatusCode::OK,
    )
    .await;
    sample(
        &format!("{dir}/attach-interfaces-create-resp.json"),
        &created,
    );
    assert_eq!(
        created["interfaceAttachment"].get("tag").is_some(),
        shows_tag
    );
    if dir.ends_with("v2.49") {
        // Nova keeps only the create samples for 2.49.
        return created;
    }
    let listed = send(&app, "GET", &interfaces(), v, None, StatusCode::OK).await;
    sample(&format!("{dir}/attach-interfaces-list-resp.json"), &listed);
    let shown = send(&app, "GET", &interface(PORT_FREE), v, None, StatusCode::OK).await;
    sample(&format!("{dir}/attach-interfaces-show-resp.json"), &shown);
    assert_eq!(
        listed["interfaceAttachments"][0],
        shown["interfaceAttachment"]
    );
    assert_eq!(created, shown);
    created
}

/// The attach-by-network answer must be the create sample (Nova checks it
/// against the same template).
#[track_caller]
fn assert_same_as_create(by_network: &Value, by_port: &Value) {
    let (ours, expected) = (pretty(by_network), pretty(by_port));
    assert!(
        ours == expected,
        "attach by net_id differs from attach-interfaces-create-resp.json (- by port, + by network):\n{}",
        diff(&expected, &ours)
    );
}

// ---------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn attach_interfaces_samples() {
    let dir = "os-attach-interfaces";
    let by_port = attach_list_show(dir, "2.1", None, false).await;
    // Attach by network: Nova documents the request; the answer is the
    // create sample's.
    let request = json!({"interfaceAttachment": {
        "fixed_ips": [{"ip_address": IP}],
        "net_id": NET,
    }});
    let by_network = attach_by_network(dir, None, request).await;
    assert_same_as_create(&by_network, &by_port);
}

#[tokio::test]
async fn attach_interfaces_v2_49_samples() {
    attach_list_show("os-attach-interfaces/v2.49", "2.49", Some("foo"), false).await;
}

#[tokio::test]
async fn attach_interfaces_v2_70_samples() {
    let dir = "os-attach-interfaces/v2.70";
    let by_port = attach_list_show(dir, "2.70", Some("public"), true).await;
    let request = json!({"interfaceAttachment": {
        "fixed_ips": [{"ip_address": IP}],
        "net_id": NET,
        "tag": "public",
    }});
    let by_network = attach_by_network(dir, Some("2.70"), request).await;
    assert_same_as_create(&by_network, &by_port);
}

#[tokio::test]
async fn versions_samples() {
    let app = TestApp::with_seed(&world(false)).await;
    for (uri, name) in [
        ("/", "versions/versions-get-resp.json"),
        ("/v2.1/", "versions/v21-version-get-resp.json"),
        ("/v2/", "versions/v2-version-get-resp.json"),
    ] {
        let body = send(&app, "GET", uri, None, None, StatusCode::OK).await;
        sample(name, &body);
    }
}

/// `api_samples/` holds exactly the generated files, and they cover every
/// sample Nova has for these APIs.
#[test]
fn samples_directory_is_complete() {
    let expected: BTreeSet<String> = SAMPLE_FILES.iter().map(|s| s.to_string()).collect();
    let on_disk = json_files(&samples_dir());
    let stray: Vec<&String> = on_disk.difference(&expected).collect();
    assert!(stray.is_empty(), "files no test produces: {stray:?}");
    if !regenerating() {
        let missing: Vec<&String> = expected.difference(&on_disk).collect();
        assert!(
            missing.is_empty(),
            "missing samples {missing:?}; run with {REGENERATE}=1"
        );
    }
    if let Some(nova) = nova_dir() {
        let nova_files = json_files(&nova);
        let uncovered: Vec<&String> = nova_files.difference(&expected).collect();
        assert!(
            uncovered.is_empty(),
            "Nova samples without ours: {uncovered:?}"
        );
    }
}

/// The `.json` files under `dir`, as relative paths with `/`.
fn json_files(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                let relative = path.strip_prefix(root).unwrap();
                let parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.insert(parts.join("/"));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}
