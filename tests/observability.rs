//! `/healthz`, `/readyz` and `/metrics`, in-process.
mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::*;
use porthole::store::{
    Catchup, Head, Position, Snapshot, SqliteStore, Store, StoreError, StoreFuture, WriteSession,
};
use serde_json::json;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A store that loads an empty world and then never answers again
/// (`hang`), or answers every call with an error.
struct Down {
    hang: bool,
}

impl Store for Down {
    fn name(&self) -> &'static str {
        "down"
    }
    fn load(&self) -> StoreFuture<Snapshot> {
        Box::pin(async { Ok(Snapshot::default()) })
    }
    fn head(&self) -> Head {
        Head::Own
    }
    fn catch_up(&self, _since: Position) -> StoreFuture<Catchup> {
        Box::pin(async { Err(StoreError::Closed) })
    }
    fn begin(&self, _since: Position) -> StoreFuture<Box<dyn WriteSession>> {
        Box::pin(async { Err(StoreError::Closed) })
    }
    fn ping(&self) -> StoreFuture<()> {
        if self.hang {
            Box::pin(std::future::pending())
        } else {
            Box::pin(async { Err(StoreError::Closed) })
        }
    }
}

async fn app_on(store: Arc<dyn Store>) -> TestApp {
    let cloud = porthole::service::Cloud::open(store).await.unwrap();
    TestApp {
        router: porthole::build_router(porthole::AppState::new(cloud, porthole::AuthMode::Builtin)),
    }
}

/// No Nova header on the operations routes.
#[track_caller]
fn assert_outside_nova(reply: &Reply) {
    for name in [
        "x-openstack-request-id",
        "x-compute-request-id",
        "openstack-api-version",
        "x-openstack-nova-api-version",
        "vary",
        "www-authenticate",
    ] {
        assert_eq!(reply.header(name), None, "{name}");
    }
}

#[tokio::test]
async fn healthz_answers_with_the_version_without_auth() {
    // Builtin auth, no token: still 200.
    let app = app_on(Arc::new(porthole::store::MemoryStore)).await;
    let reply = app.get("/healthz").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.text(),
        format!(r#"{{"status": "ok", "version": "{VERSION}"}}"#)
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_outside_nova(&reply);
    // HEAD works too (Docker and load balancers use it); other methods do not.
    let head = app.send("HEAD", "/healthz", &[], None).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let post = app.send("POST", "/healthz", &[], None).await;
    assert_eq!(post.status, 404);
}

#[tokio::test]
async fn readyz_is_ok_when_the_store_answers() {
    let app = app_on(Arc::new(porthole::store::MemoryStore)).await;
    let reply = app.get("/readyz").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"status": "ok", "version": VERSION, "store": "memory"})
    );
    assert_outside_nova(&reply);

    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("db")).unwrap();
    let app = app_on(Arc::new(sqlite)).await;
    let reply = app.get("/readyz").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"status": "ok", "version": VERSION, "store": "sqlite"})
    );
}

#[tokio::test]
async fn readyz_is_503_when_the_store_fails_or_does_not_answer() {
    let app = app_on(Arc::new(Down { hang: false })).await;
    let reply = app.get("/readyz").await;
    assert_eq!(reply.status, 503);
    assert_eq!(
        reply.text(),
        format!(
            r#"{{"status": "unavailable", "version": "{VERSION}", "store": "down", "error": "store closed"}}"#
        )
    );
    assert_outside_nova(&reply);
    // Alive all the same.
    assert_eq!(app.get("/healthz").await.status, 200);

    let app = app_on(Arc::new(Down { hang: true })).await;
    let started = std::time::Instant::now();
    let reply = app.get("/readyz").await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["status"], "unavailable");
    assert_eq!(reply.json()["error"], "store did not answer within 2s");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// The sample lines of one metric family (`name{...} value`), as a set.
fn samples(text: &str, name: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .map(str::to_owned)
        .collect()
}

fn set(lines: &[&str]) -> BTreeSet<String> {
    lines.iter().map(|l| l.to_string()).collect()
}

#[tokio::test]
async fn metrics_count_requests_by_operation_status_and_microversion() {
    let app = TestApp::new().await;
    assert_eq!(app.get(&interfaces(SERVER)).await.status, 200);
    let attach = app
        .post_v(
            &interfaces(SERVER),
            "2.70",
            &json!({"interfaceAttachment": {"port_id": PORT_FREE}}),
        )
        .await;
    assert_eq!(attach.status, 200);
    assert_eq!(
        app.get_v(&interface(SERVER, PORT_FREE), "2.49")
            .await
            .status,
        200
    );
    assert_eq!(app.delete(&interface(SERVER, PORT_FREE)).await.status, 202);
    assert_eq!(
        app.get_v(&interface(SERVER, PORT_FREE), "latest")
            .await
            .status,
        404
    );
    assert_eq!(app.get("/healthz").await.status, 200);
    assert_eq!(app.get("/nowhere").await.status, 300);
    assert_eq!(app.get("/v2.1/nowhere/at/all").await.status, 404);

    let reply = app.get("/metrics").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert_outside_nova(&reply);
    let text = reply.text();
    assert_eq!(
        samples(&text, "porthole_http_requests_total"),
        set(&[
            r#"porthole_http_requests_total{operation="list",status="200",microversion="2.1-2.48"} 1"#,
            r#"porthole_http_requests_total{operation="attach",status="200",microversion="2.70+"} 1"#,
            r#"porthole_http_requests_total{operation="show",status="200",microversion="2.49-2.69"} 1"#,
            r#"porthole_http_requests_total{operation="detach",status="202",microversion="2.1-2.48"} 1"#,
            r#"porthole_http_requests_total{operation="show",status="404",microversion="2.70+"} 1"#,
            r#"porthole_http_requests_total{operation="health",status="200",microversion="none"} 1"#,
            r#"porthole_http_requests_total{operation="other",status="300",microversion="none"} 1"#,
            r#"porthole_http_requests_total{operation="other",status="404",microversion="none"} 1"#,
        ]),
        "{text}"
    );
    assert!(
        text.contains("# TYPE porthole_http_requests counter\n"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE porthole_http_request_duration_seconds histogram\n"),
        "{text}"
    );
    assert_eq!(
        samples(&text, "porthole_http_request_duration_seconds_count"),
        set(&[
            r#"porthole_http_request_duration_seconds_count{operation="list"} 1"#,
            r#"porthole_http_request_duration_seconds_count{operation="attach"} 1"#,
            r#"porthole_http_request_duration_seconds_count{operation="show"} 2"#,
            r#"porthole_http_request_duration_seconds_count{operation="detach"} 1"#,
            r#"porthole_http_request_duration_seconds_count{operation="health"} 1"#,
            r#"porthole_http_request_duration_seconds_count{operation="other"} 2"#,
        ]),
        "{text}"
    );
    assert!(
        text.contains(
            r#"porthole_http_request_duration_seconds_bucket{le="+Inf",operation="list"} 1"#
        ),
        "{text}"
    );
    // The seed, the attach and the detach: three commits.
    assert_eq!(
        samples(&text, "porthole_store_commit_duration_seconds_count"),
        set(&["porthole_store_commit_duration_seconds_count 3"]),
        "{text}"
    );
    assert_eq!(
        samples(&text, "porthole_build_info"),
        set(&[&format!(r#"porthole_build_info{{version="{VERSION}"}} 1"#)]),
    );
    assert!(text.ends_with("# EOF\n"), "{text}");

    // The scrape itself is counted by the next one.
    let text = app.get("/metrics").await.text();
    assert!(
        text.contains(
            r#"porthole_http_requests_total{operation="metrics",status="200",microversion="none"} 1"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_of_two_apps_are_independent() {
    let one = TestApp::new().await;
    let two = TestApp::new().await;
    one.get(&interfaces(SERVER)).await;
    one.get(&interfaces(SERVER)).await;
    two.get(&interfaces(SERVER)).await;
    let list = |text: &str| samples(text, "porthole_http_requests_total");
    assert_eq!(
        list(&one.get("/metrics").await.text()),
        set(&[
            r#"porthole_http_requests_total{operation="list",status="200",microversion="2.1-2.48"} 2"#
        ])
    );
    assert_eq!(
        list(&two.get("/metrics").await.text()),
        set(&[
            r#"porthole_http_requests_total{operation="list",status="200",microversion="2.1-2.48"} 1"#
        ])
    );
}

#[tokio::test]
async fn network_gauges_follow_the_world() {
    let app = TestApp::new().await;
    let gauges = |text: &str| {
        let mut lines = samples(text, "porthole_network_attachments");
        lines.extend(samples(text, "porthole_network_free_ips"));
        lines
    };
    let before = app.get("/metrics").await.text();
    let expected = |net_attachments: u32, net_free: u32| {
        set(&[
            &format!(r#"porthole_network_attachments{{network_id="{NET}"}} {net_attachments}"#),
            &format!(r#"porthole_network_attachments{{network_id="{NET_EXTERNAL}"}} 0"#),
            &format!(r#"porthole_network_attachments{{network_id="{NET_SHARED}"}} 0"#),
            &format!(r#"porthole_network_attachments{{network_id="{NET_OTHER}"}} 0"#),
            &format!(r#"porthole_network_attachments{{network_id="{NET_NO_SUBNET}"}} 0"#),
            &format!(r#"porthole_network_attachments{{network_id="{NET_FULL}"}} 0"#),
            // 192.168.1.2-254, less .3 .4 .5 .6.
            &format!(r#"porthole_network_free_ips{{network_id="{NET}"}} {net_free}.0"#),
            &format!(r#"porthole_network_free_ips{{network_id="{NET_EXTERNAL}"}} 253.0"#),
            &format!(r#"porthole_network_free_ips{{network_id="{NET_SHARED}"}} 253.0"#),
            // PORT_OTHER was given the first address at seeding.
            &format!(r#"porthole_network_free_ips{{network_id="{NET_OTHER}"}} 252.0"#),
            &format!(r#"porthole_network_free_ips{{network_id="{NET_NO_SUBNET}"}} 0.0"#),
            &format!(r#"porthole_network_free_ips{{network_id="{NET_FULL}"}} 0.0"#),
        ])
    };
    // PORT_ATTACHED is on a server; PORT_IN_USE's device is not a server.
    assert_eq!(gauges(&before), expected(1, 249), "{before}");

    let attach = app
        .post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {"net_id": NET}}),
        )
        .await;
    assert_eq!(attach.status, 200, "{}", attach.text());
    let after = app.get("/metrics").await.text();
    assert_eq!(gauges(&after), expected(2, 248), "{after}");
}

#[tokio::test]
async fn free_ips_of_an_ipv6_64_do_not_overflow() {
    let app = TestApp::with_seed(
        r#"
[[networks]]
id = "3cb9bc59-5699-4588-a4b1-b87f96708bc6"
project_id = "6f70656e737461636b20342065766572"

[[subnets]]
id = "f8a6e8f8-c2ec-497c-9f23-da9616de54ef"
network_id = "3cb9bc59-5699-4588-a4b1-b87f96708bc6"
cidr = "fd00::/64"
gateway_ip = "fd00::1"
"#,
    )
    .await;
    let text = app.get("/metrics").await.text();
    // fd00::2 to fd00::ffff:ffff:ffff:ffff: 2^64 - 2.
    assert_eq!(
        samples(&text, "porthole_network_free_ips"),
        set(&[
            r#"porthole_network_free_ips{network_id="3cb9bc59-5699-4588-a4b1-b87f96708bc6"} 18446744073709553000.0"#
        ]),
        "{text}"
    );
}
