//! The bare axum ceiling of porthole's os-interface benchmark (`bench/run`).
//!
//! Same routes and body sizes as the real service, but no store and no
//! validation: GET list / GET show return constant JSON, POST parses the
//! request with serde and returns a constant 200 JSON, DELETE returns 202.
//!
//! Usage: ceiling [PORT]   (binds 127.0.0.1:PORT, default 18080)
//! CEILING_SPIN_US=N (default 0): busy-wait N microseconds per request. Only
//! for checking that the harness resolves a slower target; with 0
//! the cost is one relaxed atomic load per request.
//! Worker threads: tokio default = available_parallelism(), which honours the
//! CPU affinity mask, so `taskset -c 1 ceiling` runs 1 worker.

use axum::{
    extract::Path,
    http::{header, StatusCode},
    response::IntoResponse,
    routing::get,
    Json, Router,
};
use serde::Deserialize;

// Two interfaceAttachments entries, Nova 2.70+ shape (with "tag"), serialized the way
// Nova itself does (Python json.dumps default separators ", " and ": "): 570 bytes.
const LIST_BODY: &str = r#"{"interfaceAttachments": [{"fixed_ips": [{"ip_address": "192.168.1.3", "subnet_id": "f8a6e8f8-c2ec-497c-9f23-da9616de54ef"}], "mac_addr": "fa:16:3e:4c:2c:30", "net_id": "3cb9bc59-5699-4588-a4b1-b87f96708bc6", "port_id": "ce531f90-199f-48c0-816c-13e38010b442", "port_state": "ACTIVE", "tag": null}, {"fixed_ips": [{"ip_address": "192.168.1.4", "subnet_id": "f8a6e8f8-c2ec-497c-9f23-da9616de54ef"}], "mac_addr": "fa:16:3e:4c:2c:31", "net_id": "3cb9bc59-5699-4588-a4b1-b87f96708bc6", "port_id": "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d", "port_state": "ACTIVE", "tag": null}]}"#;

// One entry (show / attach response): 295 bytes.
const ONE_BODY: &str = r#"{"interfaceAttachment": {"fixed_ips": [{"ip_address": "192.168.1.3", "subnet_id": "f8a6e8f8-c2ec-497c-9f23-da9616de54ef"}], "mac_addr": "fa:16:3e:4c:2c:30", "net_id": "3cb9bc59-5699-4588-a4b1-b87f96708bc6", "port_id": "ce531f90-199f-48c0-816c-13e38010b442", "port_state": "ACTIVE", "tag": null}}"#;

#[allow(dead_code)]
#[derive(Deserialize)]
struct FixedIp {
    ip_address: Option<String>,
    subnet_id: Option<String>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct Attachment {
    port_id: Option<String>,
    net_id: Option<String>,
    fixed_ips: Option<Vec<FixedIp>>,
    tag: Option<String>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct AttachRequest {
    #[serde(rename = "interfaceAttachment")]
    interface_attachment: Attachment,
}

static SPIN_NS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[inline]
fn spin() {
    let ns = SPIN_NS.load(std::sync::atomic::Ordering::Relaxed);
    if ns > 0 {
        let t0 = std::time::Instant::now();
        while (t0.elapsed().as_nanos() as u64) < ns {
            std::hint::spin_loop();
        }
    }
}

const JSON: [(header::HeaderName, &str); 1] = [(header::CONTENT_TYPE, "application/json")];

async fn list(Path((_p, _s)): Path<(String, String)>) -> impl IntoResponse {
    spin();
    (JSON, LIST_BODY)
}

async fn attach(
    Path((_p, _s)): Path<(String, String)>,
    Json(req): Json<AttachRequest>,
) -> impl IntoResponse {
    std::hint::black_box(&req);
    spin();
    (StatusCode::OK, JSON, ONE_BODY)
}

async fn show(Path((_p, _s, _port)): Path<(String, String, String)>) -> impl IntoResponse {
    spin();
    (JSON, ONE_BODY)
}

async fn detach(Path((_p, _s, _port)): Path<(String, String, String)>) -> StatusCode {
    spin();
    StatusCode::ACCEPTED
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("PORT must be a number"))
        .unwrap_or(18080);
    let spin_us: u64 = std::env::var("CEILING_SPIN_US")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    SPIN_NS.store(spin_us * 1000, std::sync::atomic::Ordering::Relaxed);
    let app = Router::new()
        .route(
            "/v2.1/{project_id}/servers/{server_id}/os-interface",
            get(list).post(attach),
        )
        .route(
            "/v2.1/{project_id}/servers/{server_id}/os-interface/{port_id}",
            get(show).delete(detach),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind 127.0.0.1");
    eprintln!(
        "ceiling: listening on 127.0.0.1:{port}, workers={}, spin={spin_us}us",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .expect("serve");
}
