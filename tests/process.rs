//! The real binary on a real socket: durability across SIGKILL, concurrent
//! writers, graceful SIGTERM, start-up failures, the memory store, and the
//! `PORTHOLE_*` variables.
mod common;

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{seed_toml, NET, PORT_ATTACHED, PORT_FREE, PROJECT, SERVER, SERVER_WITH_PORT, SUBNET};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_porthole");
/// How long the binary may take to answer after it is started.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the binary may take to exit on its own (SIGTERM, bad seed).
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);
const APPLIED: &str = "seed applied";
const NOT_APPLIED: &str = "store already holds state; seed not applied";
/// Every variable the binary reads, cleared so the caller's environment cannot leak in.
const PORTHOLE_VARS: [&str; 13] = [
    "PORTHOLE_CONFIG",
    "PORTHOLE_LISTEN",
    "PORTHOLE_STORE",
    "PORTHOLE_DATA_DIR",
    "PORTHOLE_SEED",
    "PORTHOLE_AUTH",
    "PORTHOLE_LOG_LEVEL",
    "PORTHOLE_POLICY_FILE",
    "PORTHOLE_LOG_FORMAT",
    "PORTHOLE_CONTROL_PLANE",
    "PORTHOLE_PORT_ACTIVATION_DELAY_MS",
    "PORTHOLE_PORT_INITIAL_STATUS",
    "PORTHOLE_DETERMINISTIC",
];

// ---------------------------------------------------------------------------
// The process under test

/// A free TCP port on 127.0.0.1 (free when we looked).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().unwrap().port()
}

/// A running `porthole serve`, killed and reaped when dropped.
struct Porthole {
    child: Option<Child>,
    port: u16,
    output: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// How to start the binary.
struct Launch {
    port: u16,
    /// Working directory: a scratch directory, so a default data dir never lands in the repo.
    cwd: PathBuf,
    args: Vec<OsString>,
    env: Vec<(&'static str, OsString)>,
}

impl Launch {
    /// `serve --listen 127.0.0.1:PORT --data-dir DIR [--seed SEED]`.
    fn flags(workdir: &Path, seed: Option<&Path>) -> Self {
        let port = free_port();
        let mut args: Vec<OsString> = vec![
            "serve".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}").into(),
            "--data-dir".into(),
            workdir.join("data").into(),
        ];
        if let Some(seed) = seed {
            args.push("--seed".into());
            args.push(seed.into());
        }
        Launch {
            port,
            cwd: workdir.to_owned(),
            args,
            env: Vec::new(),
        }
    }

    fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Start without waiting for the port.
    fn spawn(self) -> Porthole {
        let mut command = Command::new(BIN);
        command
            .args(&self.args)
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("NO_COLOR", "1");
        for name in PORTHOLE_VARS {
            command.env_remove(name);
        }
        // These tests are about the compute API and the process; the
        // identity modes have their own (identity.rs, keystone_mode.rs,
        // openstack_clients.rs).
        command.env("PORTHOLE_AUTH", "noauth");
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("spawn porthole");
        let output = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        let streams: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for mut stream in streams {
            let output = output.clone();
            readers.push(std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    output
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }));
        }
        Porthole {
            child: Some(child),
            port: self.port,
            output,
            readers,
        }
    }

    /// Start and wait until `GET /` answers.
    async fn start(self) -> Porthole {
        let mut porthole = self.spawn();
        porthole.wait_ready().await;
        porthole
    }
}

impl Porthole {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Everything the process wrote to stdout and stderr so far.
    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Whether the process has written `needle`, waiting (bounded) for the
    /// reader threads: a line logged before the port answered may still be
    /// in the pipe when the first request returns.
    async fn logged(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if self.output().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    async fn wait_ready(&mut self) {
        let client = client();
        let url = format!("{}/", self.base());
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let status = self.reap(status);
                panic!(
                    "porthole exited before answering ({status}):\n{}",
                    self.output()
                );
            }
            let answer = client
                .get(&url)
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if answer.is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "porthole did not answer on port {} within {READY_TIMEOUT:?}:\n{}",
                self.port,
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Drop the child and collect the rest of its output.
    fn reap(&mut self, status: ExitStatus) -> ExitStatus {
        self.child = None;
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        status
    }

    /// SIGKILL, then reap.
    fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        self.reap(status);
    }

    /// Wait (bounded) for the process to exit on its own.
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            if let Some(status) = self.child.as_mut().expect("running").try_wait().unwrap() {
                return self.reap(status);
            }
            assert!(
                Instant::now() < deadline,
                "porthole did not exit within {EXIT_TIMEOUT:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM through `kill(1)`.
    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }
}

impl Drop for Porthole {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

// ---------------------------------------------------------------------------
// HTTP

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

struct Answer {
    status: u16,
    request_id: Option<String>,
    body: Value,
}

async fn call(
    client: &reqwest::Client,
    porthole: &Porthole,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Answer {
    let mut request = client.request(method, format!("{}{path}", porthole.base()));
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-openstack-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
    };
    Answer {
        status,
        request_id,
        body,
    }
}

fn interfaces(server: &str) -> String {
    format!("/v2.1/{PROJECT}/servers/{server}/os-interface")
}

fn interface(server: &str, port: &str) -> String {
    format!("/v2.1/{PROJECT}/servers/{server}/os-interface/{port}")
}

fn action_path(server: &str, request_id: &str) -> String {
    format!("/v2.1/{PROJECT}/servers/{server}/os-instance-actions/{request_id}")
}

/// A thin client of one running process.
struct Api<'a> {
    client: reqwest::Client,
    porthole: &'a Porthole,
}

impl<'a> Api<'a> {
    fn new(porthole: &'a Porthole) -> Self {
        Api {
            client: client(),
            porthole,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        call(
            &self.client,
            self.porthole,
            reqwest::Method::GET,
            path,
            None,
        )
        .await
    }

    async fn post(&self, path: &str, body: &Value) -> Answer {
        call(
            &self.client,
            self.porthole,
            reqwest::Method::POST,
            path,
            Some(body),
        )
        .await
    }

    async fn delete(&self, path: &str) -> Answer {
        call(
            &self.client,
            self.porthole,
            reqwest::Method::DELETE,
            path,
            None,
        )
        .await
    }

    /// Attach to `server` on the seed's network (a port created for it).
    async fn attach_net(&self, server: &str) -> Answer {
        self.post(
            &interfaces(server),
            &json!({"interfaceAttachment": {"net_id": NET}}),
        )
        .await
    }

    /// `GET os-interface`, asserting 200.
    async fn list(&self, server: &str) -> Value {
        let answer = self.get(&interfaces(server)).await;
        assert_eq!(answer.status, 200, "list {server}: {}", answer.body);
        answer.body
    }

    /// `GET os-instance-actions/{id}`, asserting 200.
    async fn action(&self, server: &str, request_id: &str) -> Value {
        let answer = self.get(&action_path(server, request_id)).await;
        assert_eq!(
            answer.status, 200,
            "action {request_id} of {server}: {}",
            answer.body
        );
        answer.body
    }
}

/// Assert an instance action's summary and its one event.
#[track_caller]
fn assert_action(body: &Value, server: &str, request_id: &str, action: &str, event: &str) {
    let a = &body["instanceAction"];
    assert_eq!(a["action"], action, "{body}");
    assert_eq!(a["instance_uuid"], server, "{body}");
    assert_eq!(a["request_id"], request_id, "{body}");
    assert_eq!(a["project_id"], PROJECT, "{body}");
    assert_eq!(a["message"], Value::Null, "{body}");
    let events = a["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{body}");
    assert_eq!(events[0]["event"], event, "{body}");
    assert_eq!(events[0]["result"], "Success", "{body}");
}

fn write_seed(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write seed");
    path
}

// ---------------------------------------------------------------------------
// Tests

/// Every acknowledged attach and detach survives SIGKILL, with its instance
/// action; a seed given to a store that holds state is not re-applied.
#[tokio::test]
async fn acknowledged_changes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let seed = write_seed(dir.path(), "seed.toml", &seed_toml());

    let mut p = Launch::flags(dir.path(), Some(&seed)).start().await;
    assert!(p.logged(APPLIED).await, "{}", p.output());

    // 1. Attach an existing port by port_id; SIGKILL right after the answer.
    let answer = Api::new(&p)
        .post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {"port_id": PORT_FREE}}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    p.kill9();
    let first = answer.body["interfaceAttachment"].clone();
    let first_request = answer.request_id.expect("request id");
    assert_eq!(first["port_id"], PORT_FREE);
    assert_eq!(first["port_state"], "ACTIVE");

    let mut p = Launch::flags(dir.path(), None).start().await;
    let api = Api::new(&p);
    assert_eq!(
        api.list(SERVER).await,
        json!({"interfaceAttachments": [first.clone()]})
    );
    let show = api.get(&interface(SERVER, PORT_FREE)).await;
    assert_eq!(show.status, 200);
    assert_eq!(show.body, json!({"interfaceAttachment": first.clone()}));
    let first_action = api.action(SERVER, &first_request).await;
    assert_action(
        &first_action,
        SERVER,
        &first_request,
        "attach_interface",
        "compute_attach_interface",
    );

    // 2. Attach by net_id with a fixed IP.
    let answer = api
        .post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {
                "net_id": NET, "fixed_ips": [{"ip_address": "192.168.1.10"}]
            }}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    drop(api);
    p.kill9();
    let second = answer.body["interfaceAttachment"].clone();
    let second_request = answer.request_id.expect("request id");
    let second_port = second["port_id"].as_str().expect("port id").to_owned();
    assert_eq!(second["net_id"], NET);
    assert_eq!(
        second["fixed_ips"],
        json!([{"ip_address": "192.168.1.10", "subnet_id": SUBNET}])
    );

    // Restarted with the seed again: it must not be re-applied.
    let mut p = Launch::flags(dir.path(), Some(&seed)).start().await;
    assert!(p.logged(NOT_APPLIED).await, "{}", p.output());
    assert!(!p.output().contains(APPLIED), "{}", p.output());
    let api = Api::new(&p);
    assert_eq!(
        api.list(SERVER).await,
        json!({"interfaceAttachments": [first.clone(), second.clone()]})
    );
    let show = api.get(&interface(SERVER, &second_port)).await;
    assert_eq!(show.status, 200);
    assert_eq!(show.body, json!({"interfaceAttachment": second.clone()}));
    assert_eq!(api.action(SERVER, &first_request).await, first_action);
    let second_action = api.action(SERVER, &second_request).await;
    assert_action(
        &second_action,
        SERVER,
        &second_request,
        "attach_interface",
        "compute_attach_interface",
    );

    // 3. Detach the seeded attachment of another server.
    let answer = api
        .delete(&interface(SERVER_WITH_PORT, PORT_ATTACHED))
        .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(answer.body, Value::Null);
    drop(api);
    p.kill9();
    let third_request = answer.request_id.expect("request id");

    let p = Launch::flags(dir.path(), None).start().await;
    let api = Api::new(&p);
    assert_eq!(
        api.list(SERVER_WITH_PORT).await,
        json!({"interfaceAttachments": []})
    );
    let show = api.get(&interface(SERVER_WITH_PORT, PORT_ATTACHED)).await;
    assert_eq!(show.status, 404, "{}", show.body);
    assert_eq!(
        api.list(SERVER).await,
        json!({"interfaceAttachments": [first.clone(), second.clone()]})
    );
    let third_action = api.action(SERVER_WITH_PORT, &third_request).await;
    assert_action(
        &third_action,
        SERVER_WITH_PORT,
        &third_request,
        "detach_interface",
        "compute_detach_interface",
    );
    assert_eq!(api.action(SERVER, &first_request).await, first_action);
    assert_eq!(api.action(SERVER, &second_request).await, second_action);
    let actions = api
        .get(&format!(
            "/v2.1/{PROJECT}/servers/{SERVER}/os-instance-actions"
        ))
        .await;
    let ids: Vec<&str> = actions.body["instanceActions"]
        .as_array()
        .expect("instanceActions")
        .iter()
        .map(|a| a["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second_request.as_str(), first_request.as_str()]);

    // The detached port was kept (preserve_on_delete) and is free again.
    let answer = api
        .post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {"port_id": PORT_ATTACHED}}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// Concurrent writers over real sockets: distinct addresses, all durable;
/// one port raced onto many servers goes to exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_attaches_are_distinct_and_durable() {
    const ATTACHES: usize = 32;
    const RACERS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let mut text = seed_toml();
    let racers: Vec<String> = (0..RACERS)
        .map(|i| format!("0000000{i}-aaaa-4bbb-8ccc-dddddddddddd"))
        .collect();
    for id in &racers {
        text.push_str(&format!(
            "\n[[servers]]\nid = \"{id}\"\nproject_id = \"{PROJECT}\"\n"
        ));
    }
    let seed = write_seed(dir.path(), "seed.toml", &text);
    let mut p = Launch::flags(dir.path(), Some(&seed)).start().await;

    let client = client();
    let url = format!("{}{}", p.base(), interfaces(SERVER));
    let barrier = Arc::new(tokio::sync::Barrier::new(ATTACHES));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..ATTACHES {
        let (client, url, barrier) = (client.clone(), url.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            let response = client
                .post(&url)
                .json(&json!({"interfaceAttachment": {"net_id": NET}}))
                .send()
                .await
                .expect("attach");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("JSON"))
        });
    }
    let mut attached = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let (status, body) = result.expect("task");
        assert_eq!(status, 200, "{body}");
        attached.push(body["interfaceAttachment"].clone());
    }
    let distinct = |key: &str| -> HashSet<String> {
        attached
            .iter()
            .map(|a| match key {
                "ip" => a["fixed_ips"][0]["ip_address"].as_str().unwrap().to_owned(),
                key => a[key].as_str().unwrap().to_owned(),
            })
            .collect()
    };
    assert_eq!(distinct("ip").len(), ATTACHES, "{attached:#?}");
    assert_eq!(distinct("mac_addr").len(), ATTACHES, "{attached:#?}");
    assert_eq!(distinct("port_id").len(), ATTACHES, "{attached:#?}");
    for a in &attached {
        assert_eq!(a["net_id"], NET);
        assert_eq!(a["fixed_ips"][0]["subnet_id"], SUBNET);
    }

    p.kill9();
    let mut p = Launch::flags(dir.path(), None).start().await;
    let api = Api::new(&p);
    let by_port = |list: &[Value]| {
        let mut list = list.to_vec();
        list.sort_by_key(|a| a["port_id"].as_str().unwrap().to_owned());
        list
    };
    let listed = api.list(SERVER).await;
    let listed = listed["interfaceAttachments"].as_array().expect("list");
    assert_eq!(listed.len(), ATTACHES);
    assert_eq!(by_port(listed), by_port(&attached));

    // One port, eight servers, all at once.
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = tokio::task::JoinSet::new();
    for server in racers.clone() {
        let (client, base, barrier) = (client.clone(), p.base(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            let response = client
                .post(format!("{base}{}", interfaces(&server)))
                .json(&json!({"interfaceAttachment": {"port_id": PORT_FREE}}))
                .send()
                .await
                .expect("attach");
            let status = response.status().as_u16();
            (
                server,
                status,
                response.json::<Value>().await.expect("JSON"),
            )
        });
    }
    let mut winners = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let (server, status, body) = result.expect("task");
        match status {
            200 => winners.push(server),
            409 => assert_eq!(
                body,
                json!({"conflictingRequest": {
                    "code": 409, "message": format!("Port {PORT_FREE} is still in use.")
                }})
            ),
            other => panic!("attach to {server}: {other} {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    drop(api);
    p.kill9();

    let p = Launch::flags(dir.path(), None).start().await;
    let api = Api::new(&p);
    for server in &racers {
        let ports: Vec<String> = api.list(server).await["interfaceAttachments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["port_id"].as_str().unwrap().to_owned())
            .collect();
        if *server == winners[0] {
            assert_eq!(ports, [PORT_FREE], "{server}");
        } else {
            assert!(ports.is_empty(), "{server}: {ports:?}");
        }
    }
    let show = api.get(&interface(&winners[0], PORT_FREE)).await;
    assert_eq!(show.status, 200, "{}", show.body);
}

/// SIGTERM: the server stops accepting, finishes, and exits 0.
#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let seed = write_seed(dir.path(), "seed.toml", &seed_toml());
    let mut p = Launch::flags(dir.path(), Some(&seed)).start().await;
    // Leave a kept-alive connection open: it must not hold the shutdown up.
    let api = Api::new(&p);
    assert_eq!(api.list(SERVER).await, json!({"interfaceAttachments": []}));
    drop(api);
    p.sigterm();
    let status = p.wait_exit();
    assert!(status.success(), "{status}:\n{}", p.output());
    assert!(p.output().contains("shutting down"), "{}", p.output());
}

/// SIGTERM with a client stuck half-way through a request: the drain must be
/// bounded, or one stalled client keeps the server from ever stopping.
#[tokio::test]
async fn sigterm_is_not_held_up_by_a_stalled_client() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut p = Launch::flags(dir.path(), None)
        .arg("--store")
        .arg("memory")
        .arg("--shutdown-grace")
        .arg("1")
        .start()
        .await;
    let mut stalled = std::net::TcpStream::connect(("127.0.0.1", p.port)).unwrap();
    stalled
        .write_all(b"GET / HTTP/1.1\r\nHost: porthole.test\r\n")
        .unwrap();
    // Let the server read the partial head before it is told to stop.
    std::thread::sleep(Duration::from_millis(100));
    p.sigterm();
    let status = p.wait_exit();
    drop(stalled);
    assert!(status.code().is_some(), "{status}:\n{}", p.output());
}

/// A seed with a bad entry stops start-up, names the entry, and writes nothing.
#[tokio::test]
async fn malformed_seed_stops_start_up_and_leaves_the_store_empty() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = "00000000-0000-4000-8000-00000000dead";
    let bad = write_seed(
        dir.path(),
        "bad.toml",
        &format!(
            r#"
[[servers]]
id = "{SERVER}"
project_id = "{PROJECT}"

[[networks]]
id = "{NET}"
project_id = "{PROJECT}"

[[ports]]
id = "{PORT_FREE}"
network_id = "{unknown}"
project_id = "{PROJECT}"
"#
        ),
    );
    let mut p = Launch::flags(dir.path(), Some(&bad)).spawn();
    let status = p.wait_exit();
    assert!(!status.success(), "{status}:\n{}", p.output());
    let output = p.output();
    assert!(output.contains("ports[0]"), "{output}");
    assert!(output.contains(unknown), "{output}");

    // Nothing was written: the servers of the bad seed do not exist...
    let mut p = Launch::flags(dir.path(), None).start().await;
    let answer = Api::new(&p).get(&interfaces(SERVER)).await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    p.kill9();

    // ...and a good seed is applied to the (still empty) store.
    let good = write_seed(dir.path(), "seed.toml", &seed_toml());
    let p = Launch::flags(dir.path(), Some(&good)).start().await;
    assert!(p.logged(APPLIED).await, "{}", p.output());
    assert_eq!(
        Api::new(&p).list(SERVER).await,
        json!({"interfaceAttachments": []})
    );
}

/// `--store memory`: nothing outlives the process, and no file is written.
#[tokio::test]
async fn memory_store_forgets_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let seed = write_seed(dir.path(), "seed.toml", &seed_toml());
    let mut p = Launch::flags(dir.path(), Some(&seed))
        .arg("--store")
        .arg("memory")
        .start()
        .await;
    let answer = Api::new(&p)
        .post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {"port_id": PORT_FREE}}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    p.kill9();

    // Without a seed the world is empty...
    let mut p = Launch::flags(dir.path(), None)
        .arg("--store")
        .arg("memory")
        .start()
        .await;
    let answer = Api::new(&p).get(&interfaces(SERVER)).await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    p.kill9();

    // ...and with it, the seed is applied afresh: the attach is gone.
    let p = Launch::flags(dir.path(), Some(&seed))
        .arg("--store")
        .arg("memory")
        .start()
        .await;
    assert!(p.logged(APPLIED).await, "{}", p.output());
    assert_eq!(
        Api::new(&p).list(SERVER).await,
        json!({"interfaceAttachments": []})
    );
    assert!(!dir.path().join("data/porthole.sqlite3").exists());
}

/// `PORTHOLE_LISTEN`, `PORTHOLE_STORE`, `PORTHOLE_DATA_DIR` and `PORTHOLE_SEED`
/// stand in for the flags.
#[tokio::test]
async fn environment_variables_configure_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let seed = write_seed(dir.path(), "seed.toml", &seed_toml());
    let data = dir.path().join("env-data");
    let by_env = |store: &str, seed: Option<&Path>| {
        let port = free_port();
        let mut env: Vec<(&'static str, OsString)> = vec![
            ("PORTHOLE_LISTEN", format!("127.0.0.1:{port}").into()),
            ("PORTHOLE_STORE", store.into()),
            ("PORTHOLE_DATA_DIR", data.clone().into()),
        ];
        if let Some(seed) = seed {
            env.push(("PORTHOLE_SEED", seed.into()));
        }
        Launch {
            port,
            cwd: dir.path().to_owned(),
            args: vec!["serve".into()],
            env,
        }
    };

    // sqlite in PORTHOLE_DATA_DIR, seeded from PORTHOLE_SEED, on PORTHOLE_LISTEN.
    let mut p = by_env("sqlite", Some(&seed)).start().await;
    assert!(p.logged(APPLIED).await, "{}", p.output());
    let answer = Api::new(&p)
        .post(
            &interfaces(SERVER),
            &json!({"interfaceAttachment": {"port_id": PORT_FREE}}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let attached = answer.body["interfaceAttachment"].clone();
    p.kill9();
    assert!(data.join("porthole.sqlite3").exists());
    assert!(!dir.path().join("porthole-data").exists());

    // The same directory, found through the variable again.
    let mut p = by_env("sqlite", None).start().await;
    assert_eq!(
        Api::new(&p).list(SERVER).await,
        json!({"interfaceAttachments": [attached]})
    );
    p.kill9();

    // PORTHOLE_STORE=memory: a fresh world from the seed, the file untouched.
    let p = by_env("memory", Some(&seed)).start().await;
    assert!(p.logged(APPLIED).await, "{}", p.output());
    assert!(p.logged("store=\"memory\"").await, "{}", p.output());
    assert_eq!(
        Api::new(&p).list(SERVER).await,
        json!({"interfaceAttachments": []})
    );
}

/// `PORTHOLE_DETERMINISTIC`: two fresh runs give the same ids, MACs and
/// request ids (the seed's generated ids included); a control-plane reset
/// is as durable as any other change; a restart on a store with state does
/// not reuse the earlier run's ids, and a reset replays them.
#[tokio::test]
async fn deterministic_runs_repeat_and_reset_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    // A port without id or MAC: generated at start-up.
    let seed = write_seed(
        dir.path(),
        "seed.toml",
        &format!(
            "{}\n[[ports]]\nnetwork_id = \"{NET}\"\nproject_id = \"{PROJECT}\"\n",
            seed_toml()
        ),
    );
    let run = |data: &str| {
        let mut launch = Launch::flags(&dir.path().join(data), Some(&seed));
        std::fs::create_dir_all(&launch.cwd).unwrap();
        launch.env.push(("PORTHOLE_DETERMINISTIC", "42".into()));
        launch
    };
    let mut outcomes = Vec::new();
    for data in ["a", "b"] {
        let mut p = run(data).start().await;
        let api = Api::new(&p);
        let state = api.get("/_porthole/state").await;
        assert_eq!(state.status, 200);
        let attach = api.attach_net(SERVER).await;
        assert_eq!(attach.status, 200, "{}", attach.body);
        let reset = api.post("/_porthole/reset", &json!({})).await;
        assert_eq!(reset.status, 200, "{}", reset.body);
        p.kill9();
        outcomes.push((state.body["ports"].clone(), attach.body, attach.request_id));

        let p = run(data).start().await;
        assert!(p.logged(NOT_APPLIED).await, "{}", p.output());
        let api = Api::new(&p);
        assert_eq!(
            api.list(SERVER).await,
            json!({"interfaceAttachments": []}),
            "the reset survived the kill"
        );
        // A restart on a store with state goes on with other ids ...
        let attach = api.attach_net(SERVER).await;
        assert_eq!(attach.status, 200, "{}", attach.body);
        let (_, first, first_request) = outcomes.last().unwrap();
        assert_ne!(
            attach.body["interfaceAttachment"]["port_id"],
            first["interfaceAttachment"]["port_id"]
        );
        assert_ne!(&attach.request_id, first_request);
        // ... and a reset replays the fresh run's.
        let reset = api.post("/_porthole/reset", &json!({})).await;
        assert_eq!(reset.status, 200, "{}", reset.body);
        let state = api.get("/_porthole/state").await;
        let attach = api.attach_net(SERVER).await;
        assert_eq!(
            (state.body["ports"].clone(), attach.body, attach.request_id),
            outcomes.last().unwrap().clone()
        );
    }
    assert_eq!(outcomes[0], outcomes[1]);
}

/// SIGTERM under load: calls in flight (held back by a delay-only fault
/// rule) finish with 200, new connections are refused, and the exit is clean.
#[tokio::test]
async fn sigterm_under_load_finishes_in_flight_calls_and_refuses_new_ones() {
    const IN_FLIGHT: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let seed = write_seed(dir.path(), "seed.toml", &seed_toml());
    let mut p = Launch::flags(dir.path(), Some(&seed))
        .arg("--store")
        .arg("memory")
        .start()
        .await;
    let api = Api::new(&p);
    let rule = api
        .post(
            "/_porthole/faults",
            &json!({"operation": "list", "delay_ms": 1500}),
        )
        .await;
    assert_eq!(rule.status, 201, "{}", rule.body);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        // One client each: one connection each.
        let (client, url) = (client(), format!("{}{}", p.base(), interfaces(SERVER)));
        tasks.spawn(async move {
            let response = client.get(url).send().await.expect("in-flight call");
            (
                response.status().as_u16(),
                response.text().await.expect("body"),
            )
        });
    }
    // Let every call reach the server and start its delay.
    tokio::time::sleep(Duration::from_millis(500)).await;
    p.sigterm();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = client()
        .get(format!("{}{}", p.base(), interfaces(SERVER)))
        .send()
        .await;
    assert!(
        refused.as_ref().is_err_and(|e| e.is_connect()),
        "a new connection was served during shutdown: {refused:?}"
    );
    while let Some(result) = tasks.join_next().await {
        let (status, body) = result.expect("task");
        assert_eq!(
            (status, body.as_str()),
            (200, r#"{"interfaceAttachments": []}"#)
        );
    }
    let status = p.wait_exit();
    assert!(status.success(), "{status}:\n{}", p.output());
}

/// `porthole healthcheck [URL]`, with `PORTHOLE_LISTEN` set to `listen`.
fn healthcheck(listen: Option<&str>, url: Option<&str>) -> std::process::Output {
    let mut command = Command::new(BIN);
    command.arg("healthcheck");
    if let Some(url) = url {
        command.arg(url);
    }
    for name in PORTHOLE_VARS {
        command.env_remove(name);
    }
    if let Some(listen) = listen {
        command.env("PORTHOLE_LISTEN", listen);
    }
    command.output().expect("run porthole healthcheck")
}

/// The probe fails (exit 1, never 2: Docker reserves it) when nothing listens.
#[test]
fn healthcheck_exits_1_when_nothing_listens() {
    let port = free_port();
    let out = healthcheck(Some(&format!("0.0.0.0:{port}")), None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("http://127.0.0.1:{port}/healthz")),
        "{stderr}"
    );
    let out = healthcheck(None, Some(&format!("http://127.0.0.1:{port}/healthz")));
    assert_eq!(out.status.code(), Some(1));
    // A listen address that does not parse is unhealthy too.
    let out = healthcheck(Some("nonsense"), None);
    assert_eq!(out.status.code(), Some(1));
}

/// The probe succeeds against a running porthole: by PORTHOLE_LISTEN or by
/// URL; a URL that does not answer 200 fails it.
#[tokio::test]
async fn healthcheck_exits_0_against_a_running_porthole() {
    let dir = tempfile::tempdir().unwrap();
    let p = Launch::flags(dir.path(), None)
        .arg("--store")
        .arg("memory")
        .start()
        .await;
    let port = p.port;
    let out = tokio::task::spawn_blocking(move || {
        [
            healthcheck(Some(&format!("0.0.0.0:{port}")), None),
            healthcheck(None, Some(&format!("http://127.0.0.1:{port}/readyz"))),
            healthcheck(None, Some(&format!("http://127.0.0.1:{port}/nowhere"))),
        ]
    })
    .await
    .unwrap();
    let text = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    assert_eq!(out[0].status.code(), Some(0), "{}", text(&out[0]));
    assert_eq!(
        text(&out[0]),
        format!("porthole: healthy (http://127.0.0.1:{port}/healthz)\n")
    );
    assert_eq!(out[1].status.code(), Some(0), "{}", text(&out[1]));
    // `/nowhere` is a 300 (version choices): not healthy.
    assert_eq!(out[2].status.code(), Some(1), "{}", text(&out[2]));
    assert!(text(&out[2]).contains("HTTP 300"), "{}", text(&out[2]));
}

/// `PORTHOLE_LOG_FORMAT=json`: one JSON object per line; request lines
/// carry the request id of the response.
#[tokio::test]
async fn json_log_format() {
    let dir = tempfile::tempdir().unwrap();
    let mut launch = Launch::flags(dir.path(), None).arg("--store").arg("memory");
    launch.env.push(("PORTHOLE_LOG_FORMAT", "json".into()));
    let mut p = launch.start().await;
    let answer = Api::new(&p).get(&interfaces(SERVER)).await;
    assert_eq!(answer.status, 404);
    let request_id = answer.request_id.expect("request id");
    // SIGTERM flushes the log writer.
    p.sigterm();
    assert!(p.wait_exit().success(), "{}", p.output());
    let lines: Vec<Value> = p
        .output()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "porthole listening" && l["store"] == "memory"),
        "{lines:?}"
    );
    let access = lines
        .iter()
        .find(|l| l["span"]["request_id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("{request_id} not logged: {lines:?}"));
    assert_eq!(access["message"], "request");
    assert_eq!(access["status"], 404);
    assert_eq!(access["path"], interfaces(SERVER));
}
