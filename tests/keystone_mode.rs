//! `keystone` mode against a second porthole process in `builtin` mode as the
//! Keystone: valid, invalid and cached tokens, 503 while it is stopped, and
//! recovery when it comes back.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_porthole");
const DEMO_PROJECT: &str = "6f70656e737461636b20342065766572";
const SERVER: &str = "afe25d9b-890b-4847-995c-534aa0cb7cc4";

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A child process, killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str], dir: &Path) -> Proc {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (name, _) in std::env::vars() {
        if name.starts_with("PORTHOLE_") {
            command.env_remove(name);
        }
    }
    Proc(command.spawn().expect("spawn porthole"))
}

async fn wait_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("porthole on {port} did not start");
}

/// The builtin Keystone, with a durable store so its tokens outlive a restart.
async fn start_keystone(port: u16, dir: &Path) -> Proc {
    let listen = format!("127.0.0.1:{port}");
    let data = dir.join("keystone-data");
    let proc = spawn(
        &[
            "serve",
            "--auth",
            "builtin",
            "--listen",
            &listen,
            "--data-dir",
            data.to_str().unwrap(),
        ],
        dir,
    );
    wait_ready(port).await;
    proc
}

async fn token(keystone: u16, user: &str) -> String {
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": format!("porthole-{user}")}}},
        "scope": {"project": {"id": DEMO_PROJECT}}}});
    let reply = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{keystone}/identity/v3/auth/tokens"
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    reply.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned()
}

async fn list(port: u16, token: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let reply = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:{port}/v2.1/{DEMO_PROJECT}/servers/{SERVER}/os-interface"
        ))
        .header("X-Auth-Token", token)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    let headers = reply.headers().clone();
    let body = reply.json().await.unwrap_or(Value::Null);
    (status, body, headers)
}

#[tokio::test]
async fn keystone_mode_against_a_second_porthole() {
    let dir = tempfile::tempdir().unwrap();
    let keystone_port = free_port();
    let port = free_port();
    let config = dir.path().join("porthole.toml");
    std::fs::write(
        &config,
        format!(
            r#"auth = "keystone"
store = "memory"
[keystone]
auth_url = "http://127.0.0.1:{keystone_port}/identity/v3"
username = "admin"
password = "porthole-admin"
project = "admin"
cache_seconds = 300
timeout = 2
"#
        ),
    )
    .unwrap();
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/seed.example.toml");
    let mut keystone = start_keystone(keystone_port, dir.path()).await;
    let listen = format!("127.0.0.1:{port}");
    let _porthole = spawn(
        &[
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            &listen,
            "--seed",
            seed.to_str().unwrap(),
        ],
        dir.path(),
    );
    wait_ready(port).await;

    let demo = token(keystone_port, "demo").await;
    let viewer = token(keystone_port, "viewer").await;
    assert_eq!(list(port, &demo).await.0, 200);
    let (status, body, headers) = list(port, "not-a-token").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(
        headers["www-authenticate"],
        format!("Keystone uri=\"http://127.0.0.1:{keystone_port}/identity\"")
    );
    assert_eq!(list(port, "").await.0, 401);

    // Keystone stopped: cached answers stand (valid and invalid alike); any
    // other token is 503, never 200.
    drop(keystone);
    assert_eq!(list(port, &demo).await.0, 200);
    assert_eq!(list(port, "not-a-token").await.0, 401);
    let (status, body, _) = list(port, &viewer).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "503 Service Unavailable");
    assert_eq!(list(port, "another-bad-token").await.0, 503);

    // Back again (same durable store): the uncached token validates.
    keystone = start_keystone(keystone_port, dir.path()).await;
    assert_eq!(list(port, &viewer).await.0, 200);
    assert_eq!(list(port, "another-bad-token").await.0, 401);
    drop(keystone);
}
