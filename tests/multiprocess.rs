//! Several porthole processes on one store (issue 12), black-box: the real
//! binary, spawned two or three times on one SQLite data dir or one
//! PostgreSQL database, driven by concurrent clients; then invariants checked
//! on what every process answers and on the history the clients recorded.
//!
//! * `*_concurrent_clients_*`: 16 clients for a few seconds, random attach
//!   by `port_id` / by `net_id`, detach and list, spread over the processes.
//! * `*_sigkill_midway`: the same, one process killed with SIGKILL midway;
//!   then a process restarted on the store must show everything acknowledged.
//! * `*_single_process_baseline`: the same load on one process (the checks
//!   hold today; the throughput to compare with).
//! * `*_linearizable_spot_checks`: a change acknowledged by one process is
//!   seen at once by the others (interfaces, Neutron ports, tokens and their
//!   revocation, fault rules, reset); one port raced onto three servers
//!   through three processes gets exactly one 200.
//! * `*_concurrent_start_on_an_empty_store`: three processes started at once
//!   with the seed: migrations and the seed applied once.
//! * `postgres_outage_*`: the connection to PostgreSQL cut through a TCP
//!   proxy under load: Nova's 503 in bounded time, `/readyz` 503, recovery,
//!   catching up with another process's writes, nothing acknowledged lost.
//! * `postgres_fault_proxy_*`, `linearization_search_self_test`: the
//!   harness itself.
//!
//! Each prints one summary line (`--nocapture`): operations, operations/s,
//! answers by status, and for the outage how requests were answered.
//!
//! PostgreSQL: `PORTHOLE_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432`), one fresh database per test, made
//! and dropped with `psql`. Unreachable is a failure, not a skip.
//!
//! The history checks (see `check_history`) treat every answer as an
//! interval of real time: a port's acknowledged attaches and detaches must be
//! orderable, consistently with those intervals, into attach, detach,
//! attach, … ending in the binding every process shows at the end; every
//! list must show what was acknowledged before it started and nothing
//! detached before it started; addresses and MACs never live twice at once.
//! Answers that may or may not have taken effect (no answer, 503) count as
//! either.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_porthole");
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the clients load the processes.
const LOAD: Duration = Duration::from_secs(5);
const CLIENTS: usize = 16;
/// A client gives up on an answer after this long (then: a hang).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

const PROJECT: &str = "6f70656e737461636b20342065766572";
const SERVERS: [&str; 4] = [
    "a0000000-0000-4000-8000-000000000001",
    "a0000000-0000-4000-8000-000000000002",
    "a0000000-0000-4000-8000-000000000003",
    "a0000000-0000-4000-8000-000000000004",
];
const NETS: [&str; 2] = [
    "b0000000-0000-4000-8000-00000000000a",
    "b0000000-0000-4000-8000-00000000000b",
];
const SUBNETS: [&str; 2] = [
    "c0000000-0000-4000-8000-00000000000a",
    "c0000000-0000-4000-8000-00000000000b",
];
/// Small subnets (13 addresses each, 3 taken by the pool): allocation runs out.
const CIDRS: [&str; 2] = ["10.10.0.0/28", "10.20.0.0/28"];
/// The pool of pre-created, unbound ports: three on each network.
const POOL: [&str; 6] = [
    "d0000000-0000-4000-8000-000000000001",
    "d0000000-0000-4000-8000-000000000002",
    "d0000000-0000-4000-8000-000000000003",
    "d0000000-0000-4000-8000-000000000004",
    "d0000000-0000-4000-8000-000000000005",
    "d0000000-0000-4000-8000-000000000006",
];

/// One test at a time: they load a shared 2-core machine and measure it.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn seed_toml() -> String {
    let mut text = String::new();
    for (i, net) in NETS.iter().enumerate() {
        text.push_str(&format!(
            "[[networks]]\nid = \"{net}\"\nname = \"mp-{i}\"\nproject_id = \"{PROJECT}\"\n\n"
        ));
    }
    for i in 0..2 {
        text.push_str(&format!(
            "[[subnets]]\nid = \"{}\"\nnetwork_id = \"{}\"\ncidr = \"{}\"\n\n",
            SUBNETS[i], NETS[i], CIDRS[i]
        ));
    }
    for (i, port) in POOL.iter().enumerate() {
        text.push_str(&format!(
            "[[ports]]\nid = \"{port}\"\nnetwork_id = \"{}\"\nproject_id = \"{PROJECT}\"\n\n",
            NETS[i / 3]
        ));
    }
    for (i, server) in SERVERS.iter().enumerate() {
        text.push_str(&format!(
            "[[servers]]\nid = \"{server}\"\nname = \"mp-vm{i}\"\nproject_id = \"{PROJECT}\"\n\n"
        ));
    }
    text
}

// ---------------------------------------------------------------------------
// The stores

fn postgres_base() -> String {
    std::env::var("PORTHOLE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// `psql` against the maintenance database of `base`.
fn psql(base: &str, sql: &str) -> Result<(), String> {
    let output = Command::new("psql")
        .arg("-d")
        .arg(format!("{base}/postgres"))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "5")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// `base` (`postgres://user@host:port`) with another `host:port`.
fn base_via(base: &str, host_port: &str) -> String {
    let (scheme, rest) = base.split_once("://").expect("a postgres:// URL");
    let userinfo = rest.rsplit_once('@').map(|(u, _)| format!("{u}@"));
    format!("{scheme}://{}{host_port}", userinfo.unwrap_or_default())
}

/// A fresh PostgreSQL database, dropped when this is dropped.
struct PgDatabase {
    base: String,
    name: String,
}

impl PgDatabase {
    fn create() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let base = postgres_base();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "porthole_mp_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        if let Err(error) = psql(&base, &format!("CREATE DATABASE {name}")) {
            panic!(
                "PostgreSQL at {base} is unreachable or refused CREATE DATABASE \
                 (CI starts it; set PORTHOLE_TEST_POSTGRES to another server): {error}"
            );
        }
        PgDatabase { base, name }
    }

    fn url(&self) -> String {
        format!("{}/{}", self.base, self.name)
    }

    /// The URL through another `host:port` (the fault proxy).
    fn url_via(&self, host_port: &str) -> String {
        format!("{}/{}", base_via(&self.base, host_port), self.name)
    }

    /// `host:port` of the server itself.
    fn server_addr(&self) -> String {
        let rest = self.base.split_once("://").expect("a postgres:// URL").1;
        let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        let hostport = hostport.split(['/', '?']).next().unwrap();
        if hostport.contains(':') {
            hostport.to_owned()
        } else {
            format!("{hostport}:5432")
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Err(error) = psql(
            &self.base,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        ) {
            eprintln!("could not drop database {}: {error}", self.name);
        }
    }
}

/// Where the processes keep their state.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(PgDatabase),
}

impl Backend {
    fn sqlite() -> Self {
        Backend::Sqlite(tempfile::tempdir().expect("temp dir"))
    }

    fn postgres() -> Self {
        Backend::Postgres(PgDatabase::create())
    }

    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The store as `PORTHOLE_*` variables instead of flags.
    fn store_env(&self) -> Vec<(&'static str, OsString)> {
        match self {
            Backend::Sqlite(dir) => vec![
                ("PORTHOLE_STORE", "sqlite".into()),
                ("PORTHOLE_DATA_DIR", dir.path().join("data").into()),
            ],
            Backend::Postgres(db) => vec![("PORTHOLE_STORE", db.url().into())],
        }
    }

    fn store_args(&self) -> Vec<OsString> {
        match self {
            Backend::Sqlite(dir) => vec![
                "--store".into(),
                "sqlite".into(),
                "--data-dir".into(),
                dir.path().join("data").into(),
            ],
            Backend::Postgres(db) => vec!["--store".into(), db.url().into()],
        }
    }
}

// ---------------------------------------------------------------------------
// The processes

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().unwrap().port()
}

/// A running `porthole serve`, killed and reaped when dropped.
struct Porthole {
    child: Option<Child>,
    port: u16,
    name: String,
    output: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    /// Kept so the scratch directory (working directory, seed) outlives the process.
    _scratch: Arc<tempfile::TempDir>,
}

/// What every process of a test shares: a scratch dir with the seed file.
struct Scratch {
    dir: Arc<tempfile::TempDir>,
    seed: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let seed = dir.path().join("seed.toml");
        std::fs::write(&seed, seed_toml()).expect("write seed");
        Scratch {
            dir: Arc::new(dir),
            seed,
        }
    }

    /// `serve --listen 127.0.0.1:<free> --auth AUTH <store> [--seed] [extra]`.
    fn spawn(
        &self,
        name: &str,
        store: Vec<OsString>,
        seed: bool,
        auth: &str,
        extra: &[&str],
    ) -> Porthole {
        self.spawn_env(name, store, &[], seed, auth, extra)
    }

    /// `spawn`, with `PORTHOLE_*` variables set too.
    fn spawn_env(
        &self,
        name: &str,
        store: Vec<OsString>,
        env: &[(&str, OsString)],
        seed: bool,
        auth: &str,
        extra: &[&str],
    ) -> Porthole {
        let port = free_port();
        let mut command = Command::new(BIN);
        command
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(["--auth", auth, "--log-level", "warn"])
            .args(store)
            .args(extra)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("NO_COLOR", "1");
        if seed {
            command.arg("--seed").arg(&self.seed);
        }
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PORTHOLE_") {
                command.env_remove(key);
            }
        }
        for (key, value) in env {
            command.env(key, value);
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
                    let mut output = output.lock().unwrap();
                    // Bounded: a chatty process must not eat the memory.
                    if output.len() < 1 << 20 {
                        output.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            }));
        }
        Porthole {
            child: Some(child),
            port,
            name: name.to_owned(),
            output,
            readers,
            _scratch: self.dir.clone(),
        }
    }
}

impl Porthole {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Wait until `GET /readyz` answers 200 (the store answers too).
    async fn wait_ready(&mut self) {
        let client = client(Duration::from_secs(3));
        let url = format!("{}/readyz", self.base());
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                panic!(
                    "porthole {} exited before it was ready ({status}):\n{}",
                    self.name,
                    self.output()
                );
            }
            let last = match client.get(&url).send().await {
                Ok(response) if response.status() == 200 => return,
                Ok(response) => format!(
                    "{}: {}",
                    response.status(),
                    response.text().await.unwrap_or_default()
                ),
                Err(error) => error.to_string(),
            };
            assert!(
                Instant::now() < deadline,
                "porthole {} not ready on port {} within {READY_TIMEOUT:?} (last: {last}):\n{}",
                self.name,
                self.port,
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// SIGKILL, then reap.
    fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
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

/// Start all, concurrently, and wait until each is ready.
async fn start_all(mut processes: Vec<Porthole>) -> Vec<Porthole> {
    for p in &mut processes {
        p.wait_ready().await;
    }
    processes
}

// ---------------------------------------------------------------------------
// HTTP

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .pool_max_idle_per_host(64)
        .build()
        .expect("client")
}

fn interfaces(server: &str) -> String {
    format!("/v2.1/{PROJECT}/servers/{server}/os-interface")
}

fn interface(server: &str, port: &str) -> String {
    format!("/v2.1/{PROJECT}/servers/{server}/os-interface/{port}")
}

/// One answer, whole.
struct Answer {
    status: u16,
    request_id: Option<String>,
    bytes: Vec<u8>,
    body: Value,
}

async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<Answer, String> {
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.header("X-Auth-Token", token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.map_err(|e| format!("{e:?}"))?;
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-openstack-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("{e:?}"))?
        .to_vec();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(Answer {
        status,
        request_id,
        bytes,
        body,
    })
}

/// A sequential client of one process, asserting transport success.
struct Api {
    client: reqwest::Client,
    base: String,
    name: String,
    token: Option<String>,
}

impl Api {
    fn new(p: &Porthole) -> Self {
        Api {
            client: client(CLIENT_TIMEOUT),
            base: p.base(),
            name: p.name.clone(),
            token: None,
        }
    }

    fn with_token(p: &Porthole, token: &str) -> Self {
        Api {
            token: Some(token.to_owned()),
            ..Api::new(p)
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Answer {
        let url = format!("{}{path}", self.base);
        send(
            &self.client,
            method.clone(),
            &url,
            self.token.as_deref(),
            body,
        )
        .await
        .unwrap_or_else(|e| panic!("{method} {path} on {}: no answer: {e}", self.name))
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: &Value) -> Answer {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> Answer {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    /// The port ids a server lists, asserting 200.
    async fn listed(&self, server: &str) -> Vec<String> {
        let answer = self.get(&interfaces(server)).await;
        assert_eq!(
            answer.status, 200,
            "list {server} on {}: {}",
            self.name, answer.body
        );
        port_ids(&answer.body)
    }

    async fn state(&self) -> Value {
        let answer = self.get("/_porthole/state").await;
        assert_eq!(
            answer.status, 200,
            "state on {}: {}",
            self.name, answer.body
        );
        answer.body
    }
}

fn port_ids(list: &Value) -> Vec<String> {
    list["interfaceAttachments"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["port_id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Violations

/// Every broken invariant, reported together at the end, grouped by kind
/// (the message up to its first colon, ids and timings blanked).
#[derive(Default)]
struct Violations {
    kinds: BTreeMap<String, (usize, Vec<String>)>,
    count: usize,
}

impl Violations {
    fn add(&mut self, what: String) {
        static BLANKS: std::sync::OnceLock<regex_lite::Regex> = std::sync::OnceLock::new();
        let blanks = BLANKS.get_or_init(|| {
            regex_lite::Regex::new(
                r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|req-[0-9a-f-]+|\[[^\]]*\]|\{.*\}|[0-9]+\.[0-9]+|\bp[0-9]\b|\bs[0-9]\b|\b[0-9]{1,2}\b",
            )
            .unwrap()
        });
        let blanked = blanks.replace_all(&what, "*");
        let kind: String = blanked
            .split(':')
            .next()
            .unwrap_or_default()
            .chars()
            .take(90)
            .collect();
        self.count += 1;
        let entry = self.kinds.entry(kind).or_default();
        entry.0 += 1;
        if entry.1.len() < 3 {
            entry.1.push(what.chars().take(1500).collect());
        }
    }

    #[track_caller]
    fn assert_none(&self, test: &str) {
        if self.count > 0 {
            let mut report = String::new();
            for (kind, (count, examples)) in &self.kinds {
                report.push_str(&format!("\n  {count} x {kind}"));
                for example in examples {
                    report.push_str(&format!("\n      e.g. {example}"));
                }
            }
            panic!(
                "{test}: {} invariant violation(s), by kind:{report}",
                self.count
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The load and its record

/// A small xorshift generator (no dependency; the seed is printed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Op {
    AttachPort { server: usize, port: String },
    AttachNet { server: usize, net: usize },
    Detach { server: usize, port: String },
    List { server: usize },
}

impl Op {
    fn server(&self) -> usize {
        match self {
            Op::AttachPort { server, .. }
            | Op::AttachNet { server, .. }
            | Op::Detach { server, .. }
            | Op::List { server } => *server,
        }
    }

    fn is_write(&self) -> bool {
        !matches!(self, Op::List { .. })
    }

    /// The statuses this operation may answer when everything works.
    fn normal(&self, status: u16) -> bool {
        matches!(
            (self, status),
            (Op::AttachPort { .. }, 200 | 409)
                | (Op::AttachNet { .. }, 200 | 400)
                | (Op::Detach { .. }, 202 | 404)
                | (Op::List { .. }, 200)
        )
    }

    fn label(&self) -> String {
        match self {
            Op::AttachPort { server, port } => format!("attach port {port} to s{server}"),
            Op::AttachNet { server, net } => format!("attach net{net} to s{server}"),
            Op::Detach { server, port } => format!("detach {port} from s{server}"),
            Op::List { server } => format!("list s{server}"),
        }
    }
}

/// One request and its answer, with its interval of real time.
#[derive(Clone, Debug)]
struct Record {
    process: usize,
    op: Op,
    start: Duration,
    end: Duration,
    /// None: no answer (transport error, or the client's timeout).
    status: Option<u16>,
    request_id: Option<String>,
    /// attach 200: the port and its address and MAC.
    port: Option<String>,
    ip: Option<String>,
    mac: Option<String>,
    /// list 200: the listed port ids.
    listed: Option<Vec<String>>,
    /// The error body or transport error, for reports.
    detail: String,
    /// The result of its instance action's event (see `resolve_instance_actions`).
    event_ok: Option<bool>,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Effect {
    Done,
    NotDone,
    /// No answer, or a 5xx: it may have been applied or not.
    Unknown,
}

impl Record {
    fn effect(&self) -> Effect {
        match (&self.op, self.status) {
            (_, None) => Effect::Unknown,
            (_, Some(s)) if s >= 500 => Effect::Unknown,
            (Op::AttachPort { .. } | Op::AttachNet { .. }, Some(200)) => Effect::Done,
            // 202 is only Nova's "accepted": the event tells.
            (Op::Detach { .. }, Some(202)) => match self.event_ok {
                Some(true) => Effect::Done,
                Some(false) => Effect::NotDone,
                None => Effect::Unknown,
            },
            _ => Effect::NotDone,
        }
    }

    /// The end of its interval; unbounded when it may have happened unseen.
    fn end_or_inf(&self) -> Duration {
        if self.effect() == Effect::Unknown {
            Duration::MAX
        } else {
            self.end
        }
    }

    fn describe(&self) -> String {
        format!(
            "[p{} {} {:.3}-{:.3}s: {}{}{}]",
            self.process,
            self.op.label(),
            self.start.as_secs_f64(),
            self.end.as_secs_f64(),
            self.status
                .map_or("no answer".to_owned(), |s| s.to_string()),
            match self.event_ok {
                Some(true) => " Success",
                Some(false) => " Error",
                None => "",
            },
            self.request_id
                .as_deref()
                .map_or(String::new(), |r| format!(" {r}"))
        )
    }
}

/// What the clients share while they run.
struct Load {
    client: reqwest::Client,
    bases: Vec<String>,
    alive: Vec<AtomicBool>,
    t0: Instant,
    /// Ports believed attached (port → server): where detaches aim.
    believed: Mutex<HashMap<String, usize>>,
    records: Mutex<Vec<Record>>,
    seed: u64,
}

impl Load {
    fn new(processes: &[&Porthole], client_timeout: Duration) -> Arc<Self> {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1;
        Arc::new(Load {
            client: client(client_timeout),
            bases: processes.iter().map(|p| p.base()).collect(),
            alive: processes.iter().map(|_| AtomicBool::new(true)).collect(),
            t0: Instant::now(),
            believed: Mutex::new(HashMap::new()),
            records: Mutex::new(Vec::new()),
            seed,
        })
    }

    fn now(&self) -> Duration {
        self.t0.elapsed()
    }

    /// Stop sending to process `i` (before it is killed).
    fn retire(&self, i: usize) {
        self.alive[i].store(false, Ordering::SeqCst);
    }

    fn pick_op(&self, rng: &mut Rng) -> Op {
        let server = rng.below(SERVERS.len());
        match rng.below(100) {
            0..25 => Op::AttachPort {
                server,
                port: POOL[rng.below(POOL.len())].to_owned(),
            },
            25..45 => Op::AttachNet {
                server,
                net: rng.below(NETS.len()),
            },
            45..80 => {
                let believed = self.believed.lock().unwrap();
                if !believed.is_empty() && rng.below(10) < 8 {
                    let (port, server) = believed.iter().nth(rng.below(believed.len())).unwrap();
                    Op::Detach {
                        server: *server,
                        port: port.clone(),
                    }
                } else {
                    Op::Detach {
                        server,
                        port: POOL[rng.below(POOL.len())].to_owned(),
                    }
                }
            }
            _ => Op::List { server },
        }
    }

    /// Send one operation to process `process` and record it.
    async fn run_op(&self, process: usize, op: Op) {
        let base = &self.bases[process];
        let (method, path, body) = match &op {
            Op::AttachPort { server, port } => (
                reqwest::Method::POST,
                interfaces(SERVERS[*server]),
                Some(json!({"interfaceAttachment": {"port_id": port}})),
            ),
            Op::AttachNet { server, net } => (
                reqwest::Method::POST,
                interfaces(SERVERS[*server]),
                Some(json!({"interfaceAttachment": {"net_id": NETS[*net]}})),
            ),
            Op::Detach { server, port } => (
                reqwest::Method::DELETE,
                interface(SERVERS[*server], port),
                None,
            ),
            Op::List { server } => (reqwest::Method::GET, interfaces(SERVERS[*server]), None),
        };
        let start = self.now();
        let answer = send(
            &self.client,
            method,
            &format!("{base}{path}"),
            None,
            body.as_ref(),
        )
        .await;
        let end = self.now();
        let mut record = Record {
            process,
            op,
            start,
            end,
            status: None,
            request_id: None,
            port: None,
            ip: None,
            mac: None,
            listed: None,
            detail: String::new(),
            event_ok: None,
        };
        match answer {
            Err(error) => record.detail = error,
            Ok(answer) => {
                record.status = Some(answer.status);
                record.request_id = answer.request_id;
                match (&record.op, answer.status) {
                    (Op::AttachPort { .. } | Op::AttachNet { .. }, 200) => {
                        let a = &answer.body["interfaceAttachment"];
                        record.port = a["port_id"].as_str().map(str::to_owned);
                        record.ip = a["fixed_ips"][0]["ip_address"].as_str().map(str::to_owned);
                        record.mac = a["mac_addr"].as_str().map(str::to_owned);
                        if let Some(port) = &record.port {
                            self.believed
                                .lock()
                                .unwrap()
                                .insert(port.clone(), record.op.server());
                        }
                    }
                    (Op::Detach { port, .. }, 202) => {
                        self.believed.lock().unwrap().remove(port);
                    }
                    (Op::List { .. }, 200) => record.listed = Some(port_ids(&answer.body)),
                    _ => {
                        record.detail = String::from_utf8_lossy(&answer.bytes)
                            .chars()
                            .take(2000)
                            .collect()
                    }
                }
            }
        }
        self.records.lock().unwrap().push(record);
    }

    /// `clients` tasks, each sending random operations to random live
    /// processes (or only to `only`) until `until` (time since t0).
    fn spawn_clients(
        self: &Arc<Self>,
        clients: usize,
        until: Duration,
        only: Option<usize>,
    ) -> tokio::task::JoinSet<()> {
        let mut tasks = tokio::task::JoinSet::new();
        for c in 0..clients {
            let load = self.clone();
            tasks.spawn(async move {
                let mut rng = Rng(load
                    .seed
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    .wrapping_add(c as u64 * 7919)
                    | 1);
                while load.now() < until {
                    let op = load.pick_op(&mut rng);
                    let process = match only {
                        Some(p) => p,
                        None => {
                            let live: Vec<usize> = (0..load.bases.len())
                                .filter(|i| load.alive[*i].load(Ordering::SeqCst))
                                .collect();
                            live[rng.below(live.len())]
                        }
                    };
                    load.run_op(process, op).await;
                }
            });
        }
        tasks
    }

    fn records(&self) -> Vec<Record> {
        let mut records = self.records.lock().unwrap().clone();
        records.sort_by_key(|r| r.start);
        records
    }
}

async fn join_all(mut tasks: tokio::task::JoinSet<()>) {
    while let Some(result) = tasks.join_next().await {
        result.expect("client task");
    }
}

/// `{200: n, 409: m, …}` of a set of records.
fn status_counts<'a>(records: impl Iterator<Item = &'a Record>) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in records {
        let key = r.status.map_or("no-answer".to_owned(), |s| s.to_string());
        *counts.entry(key).or_default() += 1;
    }
    counts
        .iter()
        .map(|(k, v)| format!("{v} {k}s"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------
// The final state, as every process answers it

#[derive(Clone, Debug)]
struct PortState {
    network: String,
    device: String,
    mac: String,
    ips: Vec<(String, String)>,
}

fn parse_state(state: &Value) -> HashMap<String, PortState> {
    let mut ports = HashMap::new();
    for port in state["ports"].as_array().expect("state: ports") {
        let id = port["id"].as_str().expect("port id").to_owned();
        let ips = port["fixed_ips"]
            .as_array()
            .map(|ips| {
                ips.iter()
                    .map(|ip| {
                        (
                            ip["subnet_id"].as_str().unwrap_or_default().to_owned(),
                            ip["ip_address"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        ports.insert(
            id,
            PortState {
                network: port["network_id"].as_str().unwrap_or_default().to_owned(),
                device: port["device_id"].as_str().unwrap_or_default().to_owned(),
                mac: port["mac_address"].as_str().unwrap_or_default().to_owned(),
                ips,
            },
        );
    }
    ports
}

/// What every process answers at the end must agree, and hold the
/// invariants of one world. Returns the ports of the agreed state.
async fn check_final_agreement(
    processes: &[&Porthole],
    v: &mut Violations,
) -> HashMap<String, PortState> {
    let apis: Vec<Api> = processes.iter().map(|p| Api::new(p)).collect();
    // Lists: the same, byte for byte, on every process.
    let mut bodies: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut lists: Vec<Vec<Vec<String>>> = Vec::new();
    for api in &apis {
        let (mut b, mut l) = (Vec::new(), Vec::new());
        for server in SERVERS {
            let answer = api.get(&interfaces(server)).await;
            if answer.status != 200 {
                v.add(format!(
                    "final list of {server} on {}: {} {}",
                    api.name, answer.status, answer.body
                ));
            }
            l.push(port_ids(&answer.body));
            b.push(answer.bytes);
        }
        bodies.push(b);
        lists.push(l);
    }
    for (p, api) in apis.iter().enumerate().skip(1) {
        for (s, server) in SERVERS.iter().enumerate() {
            if bodies[p][s] != bodies[0][s] {
                v.add(format!(
                    "processes answer different lists for {server}: {} {:?}, {} {:?}{}",
                    apis[0].name,
                    lists[0][s],
                    api.name,
                    lists[p][s],
                    if lists[p][s] == lists[0][s] {
                        format!(
                            " (same ports, other bytes: {} vs {})",
                            String::from_utf8_lossy(&bodies[0][s]),
                            String::from_utf8_lossy(&bodies[p][s])
                        )
                    } else {
                        String::new()
                    }
                ));
            }
        }
    }
    // States: equal across processes.
    let states: Vec<Value> = {
        let mut states = Vec::new();
        for api in &apis {
            states.push(api.state().await);
        }
        states
    };
    for (i, state) in states.iter().enumerate().skip(1) {
        if *state != states[0] {
            let a = parse_state(&states[0]);
            let b = parse_state(state);
            let mut diff: Vec<String> = Vec::new();
            for (id, pa) in &a {
                match b.get(id) {
                    None => diff.push(format!("{id} only on {}", apis[0].name)),
                    Some(pb) if pb.device != pa.device => diff.push(format!(
                        "{id} bound to '{}' on {}, to '{}' on {}",
                        pa.device, apis[0].name, pb.device, apis[i].name
                    )),
                    _ => {}
                }
            }
            for id in b.keys().filter(|id| !a.contains_key(*id)) {
                diff.push(format!("{id} only on {}", apis[i].name));
            }
            diff.truncate(8);
            v.add(format!(
                "GET /_porthole/state differs between {} and {}: {}",
                apis[0].name,
                apis[i].name,
                if diff.is_empty() {
                    "(other fields)".to_owned()
                } else {
                    diff.join("; ")
                }
            ));
        }
    }
    let ports = parse_state(&states[0]);
    // One world: a port under at most one server, lists agree with the state.
    for (p, per_server) in lists.iter().enumerate() {
        let mut owner: HashMap<&str, usize> = HashMap::new();
        for (s, ids) in per_server.iter().enumerate() {
            let distinct: HashSet<&String> = ids.iter().collect();
            if distinct.len() != ids.len() {
                v.add(format!(
                    "{} lists a port twice on {}: {ids:?}",
                    apis[p].name, SERVERS[s]
                ));
            }
            for id in ids {
                if let Some(other) = owner.insert(id, s) {
                    if other != s {
                        v.add(format!(
                            "{} lists port {id} under two servers: {} and {}",
                            apis[p].name, SERVERS[other], SERVERS[s]
                        ));
                    }
                }
                match ports.get(id) {
                    Some(port) if port.device == SERVERS[s] => {}
                    other => v.add(format!(
                        "{} lists {id} under {} but its state says {:?}",
                        apis[p].name,
                        SERVERS[s],
                        other.map(|p| &p.device)
                    )),
                }
            }
        }
    }
    for (id, port) in &ports {
        if let Some(s) = SERVERS.iter().position(|s| *s == port.device) {
            if !lists[0][s].contains(id) {
                v.add(format!(
                    "state binds {id} to {} but its list lacks it",
                    SERVERS[s]
                ));
            }
        }
    }
    // Unique addresses per subnet, unique MACs.
    let mut ips: HashMap<&(String, String), &str> = HashMap::new();
    let mut macs: HashMap<&str, &str> = HashMap::new();
    for (id, port) in &ports {
        for ip in &port.ips {
            if let Some(other) = ips.insert(ip, id) {
                v.add(format!(
                    "address {} of subnet {} on two ports: {other} and {id}",
                    ip.1, ip.0
                ));
            }
        }
        if let Some(other) = macs.insert(&port.mac, id) {
            v.add(format!("MAC {} on two ports: {other} and {id}", port.mac));
        }
    }
    ports
}

// ---------------------------------------------------------------------------
// The history

/// A port's acknowledged (or possible) binding change.
#[derive(Clone, Debug)]
struct LinOp {
    start: Duration,
    /// None: may have happened at any time after `start`, or never.
    end: Option<Duration>,
    attach: bool,
    server: usize,
}

/// Can `ops` be ordered, consistently with real time, into a sequence of
/// binding changes valid from `initial` and ending in `last`? Every op with
/// an `end` must be in the sequence; the others may be. None: the search
/// budget ran out.
fn linearizable(ops: &[LinOp], initial: Option<usize>, last: Option<usize>) -> Option<bool> {
    struct Search<'a> {
        ops: &'a [LinOp],
        placed: Vec<bool>,
        seen: HashSet<(Vec<u64>, Option<usize>)>,
        budget: usize,
        last: Option<usize>,
    }
    impl Search<'_> {
        fn key(&self, state: Option<usize>) -> (Vec<u64>, Option<usize>) {
            let mut bits = vec![0u64; self.placed.len().div_ceil(64)];
            for (i, placed) in self.placed.iter().enumerate() {
                if *placed {
                    bits[i / 64] |= 1 << (i % 64);
                }
            }
            (bits, state)
        }

        fn go(&mut self, state: Option<usize>, known_left: usize) -> Option<bool> {
            if known_left == 0 && state == self.last {
                return Some(true);
            }
            if self.budget == 0 {
                return None;
            }
            self.budget -= 1;
            if !self.seen.insert(self.key(state)) {
                return Some(false);
            }
            // The two earliest ends of unplaced known ops: an op can go next
            // only if no other unplaced known op ended before it started.
            let (mut min1, mut min1_at, mut min2) = (Duration::MAX, usize::MAX, Duration::MAX);
            for (i, op) in self.ops.iter().enumerate() {
                if let (false, Some(end)) = (self.placed[i], op.end) {
                    if end < min1 {
                        (min2, min1, min1_at) = (min1, end, i);
                    } else if end < min2 {
                        min2 = end;
                    }
                }
            }
            // Of the unknown ops of one kind (attach or detach, server),
            // only the earliest unplaced one is tried: any could stand in
            // for a later one, so this loses no ordering and keeps the
            // search small.
            let mut unknown_tried: HashSet<(bool, usize)> = HashSet::new();
            for i in 0..self.ops.len() {
                if self.placed[i] {
                    continue;
                }
                let op = &self.ops[i];
                if op.end.is_none() && !unknown_tried.insert((op.attach, op.server)) {
                    continue;
                }
                let bound = if i == min1_at { min2 } else { min1 };
                if op.start > bound {
                    // Another unplaced op ended before this one started.
                    continue;
                }
                let next = match (op.attach, state) {
                    (true, None) => Some(op.server),
                    (false, Some(s)) if s == op.server => None,
                    _ => continue,
                };
                self.placed[i] = true;
                let found = self.go(next, known_left - usize::from(op.end.is_some()));
                self.placed[i] = false;
                match found {
                    Some(false) => {}
                    other => return other,
                }
            }
            Some(false)
        }
    }
    let mut ops = ops.to_vec();
    ops.sort_by_key(|o| o.start);
    let mut search = Search {
        placed: vec![false; ops.len()],
        ops: &ops,
        seen: HashSet::new(),
        budget: 2_000_000,
        last,
    };
    let known = ops.iter().filter(|o| o.end.is_some()).count();
    search.go(initial, known)
}

/// Check the clients' history against itself and the final state.
fn check_history(records: &[Record], ports: &HashMap<String, PortState>, v: &mut Violations) {
    let server_of = |device: &str| SERVERS.iter().position(|s| *s == device);
    let pool: HashSet<&str> = POOL.into_iter().collect();

    // Writes by (server, port) and the ports created by net attaches.
    let mut by_pair: HashMap<(usize, &str), Vec<&Record>> = HashMap::new();
    let mut created: HashMap<&str, &Record> = HashMap::new();
    let mut unknown_net: Vec<&Record> = Vec::new();
    for r in records {
        match (&r.op, r.effect()) {
            (_, Effect::NotDone) | (Op::List { .. }, _) => {}
            (Op::AttachPort { server, port } | Op::Detach { server, port }, _) => {
                by_pair.entry((*server, port.as_str())).or_default().push(r)
            }
            (Op::AttachNet { .. }, Effect::Unknown) => unknown_net.push(r),
            (Op::AttachNet { server, .. }, Effect::Done) => {
                let Some(port) = r.port.as_deref() else {
                    v.add(format!("attach without a port id: {}", r.describe()));
                    continue;
                };
                if pool.contains(port) {
                    v.add(format!(
                        "a net attach answered a pool port: {}",
                        r.describe()
                    ));
                }
                if let Some(other) = created.insert(port, r) {
                    v.add(format!(
                        "port {port} created twice: {} and {}",
                        other.describe(),
                        r.describe()
                    ));
                }
                by_pair.entry((*server, port)).or_default().push(r);
            }
        }
    }

    // 1. Pool ports: attaches and detaches alternate, in real-time order,
    //    ending in the final binding.
    for port in POOL {
        let ops: Vec<LinOp> = records
            .iter()
            .filter(|r| r.effect() != Effect::NotDone)
            .filter_map(|r| {
                match &r.op {
                    Op::AttachPort { server, port: p } if p == port => Some((true, *server)),
                    Op::Detach { server, port: p } if p == port => Some((false, *server)),
                    _ => None,
                }
                .map(|(attach, server)| LinOp {
                    start: r.start,
                    end: (r.effect() == Effect::Done).then_some(r.end),
                    attach,
                    server,
                })
            })
            .collect();
        let Some(state) = ports.get(port) else {
            v.add(format!("pool port {port} is gone from the state"));
            continue;
        };
        let last = if state.device.is_empty() {
            None
        } else if let Some(s) = server_of(&state.device) {
            Some(s)
        } else {
            v.add(format!(
                "pool port {port} bound to a stranger: {}",
                state.device
            ));
            continue;
        };
        let attaches = ops.iter().filter(|o| o.attach && o.end.is_some()).count();
        let detaches = ops.iter().filter(|o| !o.attach && o.end.is_some()).count();
        match linearizable(&ops, None, last) {
            Some(true) => {}
            Some(false) => {
                let mut acked: Vec<String> = records
                    .iter()
                    .filter(|r| r.effect() == Effect::Done)
                    .filter(|r| matches!(&r.op, Op::AttachPort { port: p, .. } | Op::Detach { port: p, .. } if p == port))
                    .map(Record::describe)
                    .collect();
                let shown = acked.len().min(12);
                acked.truncate(shown);
                v.add(format!(
                    "linearization: port {port}: its {attaches} acknowledged attaches and {detaches} detaches cannot \
                     be ordered as attach, detach, … (consistent with real time) ending {}; \
                     first ones: {}",
                    last.map_or("unbound".to_owned(), |s| format!("bound to {}", SERVERS[s])),
                    acked.join(" ")
                ));
            }
            None => eprintln!("port {port}: linearization search budget exhausted; not judged"),
        }
    }

    // 2. Created ports: bound where created until an acknowledged detach
    //    deleted them; never detached twice.
    for (port, attach) in &created {
        let server = attach.op.server();
        let detaches: Vec<&Record> = records
            .iter()
            .filter(|r| matches!(&r.op, Op::Detach { port: p, .. } if p == port))
            .filter(|r| r.effect() != Effect::NotDone)
            .collect();
        let done: Vec<&&Record> = detaches
            .iter()
            .filter(|r| r.effect() == Effect::Done)
            .collect();
        for d in &done {
            if d.op.server() != server {
                v.add(format!(
                    "port {port} created on {} was detached from another server: {}",
                    SERVERS[server],
                    d.describe()
                ));
            }
            if d.end < attach.start {
                v.add(format!(
                    "port {port} detached before it was created: {}",
                    d.describe()
                ));
            }
        }
        if done.len() > 1 {
            v.add(format!(
                "port {port} detached (202) {} times: {}",
                done.len(),
                done.iter()
                    .map(|d| d.describe())
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        let in_state = ports.get(*port);
        if let (Some(p), Op::AttachNet { net, .. }) = (in_state, &attach.op) {
            if p.network != NETS[*net] {
                v.add(format!(
                    "port {port} made on {} is on network {}",
                    NETS[*net], p.network
                ));
            }
        }
        if !done.is_empty() {
            if let Some(p) = in_state {
                v.add(format!(
                    "port {port} still exists (device '{}') after its acknowledged detach {}",
                    p.device,
                    done[0].describe()
                ));
            }
        } else if detaches.is_empty() {
            match in_state {
                Some(p) if p.device == SERVERS[server] => {}
                other => v.add(format!(
                    "acknowledged attach lost: {} (state: {:?})",
                    attach.describe(),
                    other.map(|p| &p.device)
                )),
            }
        } else if let Some(p) = in_state {
            if p.device != SERVERS[server] {
                v.add(format!("port {port} half-detached: device '{}'", p.device));
            }
        }
    }
    // Ports nobody created (as far as the answers tell).
    let mut unexplained: HashMap<usize, usize> = HashMap::new();
    for (id, port) in ports {
        if pool.contains(id.as_str()) || created.contains_key(id.as_str()) {
            continue;
        }
        match server_of(&port.device) {
            Some(s) => *unexplained.entry(s).or_default() += 1,
            None => v.add(format!(
                "a port no one made, or a half-detached one: {id} {port:?}"
            )),
        }
    }
    for (s, n) in unexplained {
        let possible = unknown_net.iter().filter(|r| r.op.server() == s).count();
        if n > possible {
            v.add(format!(
                "{} holds {n} ports no acknowledged attach made, but only {possible} attaches to it went unanswered",
                SERVERS[s]
            ));
        }
    }

    // 3. Addresses and MACs: two ports holding the same one must have been
    //    able to live at different times.
    struct Life<'a> {
        port: &'a str,
        born_end: Duration,
        dies_start: Duration,
    }
    let mut by_ip: HashMap<String, Vec<Life>> = HashMap::new();
    let mut by_mac: HashMap<String, Vec<Life>> = HashMap::new();
    for port in POOL {
        if let Some(p) = ports.get(port) {
            for (_, ip) in &p.ips {
                by_ip.entry(ip.clone()).or_default().push(Life {
                    port,
                    born_end: Duration::ZERO,
                    dies_start: Duration::MAX,
                });
            }
            by_mac.entry(p.mac.clone()).or_default().push(Life {
                port,
                born_end: Duration::ZERO,
                dies_start: Duration::MAX,
            });
        }
    }
    for (port, attach) in &created {
        let dies_start = records
            .iter()
            .filter(|r| matches!(&r.op, Op::Detach { port: p, .. } if p == port))
            .filter(|r| r.effect() != Effect::NotDone)
            .map(|r| r.start)
            .min()
            .unwrap_or(Duration::MAX);
        let life = || Life {
            port,
            born_end: attach.end,
            dies_start,
        };
        if let Some(ip) = &attach.ip {
            by_ip.entry(ip.clone()).or_default().push(life());
        }
        if let Some(mac) = &attach.mac {
            by_mac.entry(mac.clone()).or_default().push(life());
        }
    }
    for (what, lives) in by_ip
        .iter()
        .map(|(k, l)| (format!("address {k}"), l))
        .chain(by_mac.iter().map(|(k, l)| (format!("MAC {k}"), l)))
    {
        for (i, a) in lives.iter().enumerate() {
            for b in &lives[i + 1..] {
                if a.dies_start >= b.born_end && b.dies_start >= a.born_end {
                    v.add(format!(
                        "{what} held by {} and {} at the same time",
                        a.port, b.port
                    ));
                }
            }
        }
    }

    // 4. Every list: shows what was acknowledged before it started (and not
    //    possibly detached since), nothing detached before it started, and
    //    nothing no one attached.
    let mut pairs_of_server: HashMap<usize, Vec<(&str, &Vec<&Record>)>> = HashMap::new();
    for ((server, port), recs) in &by_pair {
        pairs_of_server
            .entry(*server)
            .or_default()
            .push((port, recs));
    }
    for list in records.iter().filter(|r| r.listed.is_some()) {
        let server = list.op.server();
        let listed: HashSet<&str> = list
            .listed
            .as_ref()
            .unwrap()
            .iter()
            .map(String::as_str)
            .collect();
        if listed.len() != list.listed.as_ref().unwrap().len() {
            v.add(format!(
                "a port listed twice: {} {:?}",
                list.describe(),
                list.listed
            ));
        }
        for (port, recs) in pairs_of_server
            .get(&server)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let is_attach =
                |r: &Record| matches!(r.op, Op::AttachPort { .. } | Op::AttachNet { .. });
            let shown = listed.contains(port);
            // Must be shown: attached before the list began, and no detach
            // could have come between.
            let must_show = recs.iter().any(|a| {
                is_attach(a)
                    && a.effect() == Effect::Done
                    && a.end < list.start
                    && !recs
                        .iter()
                        .any(|d| !is_attach(d) && d.start < list.end && d.end_or_inf() > a.start)
            });
            if must_show && !shown {
                v.add(format!(
                    "stale read: {} does not show {port}, attached before it started",
                    list.describe()
                ));
            }
            // Must not be shown: detached before the list began, and no
            // attach could have come between.
            let must_hide = recs.iter().any(|d| {
                !is_attach(d)
                    && d.effect() == Effect::Done
                    && d.end < list.start
                    && !recs
                        .iter()
                        .any(|a| is_attach(a) && a.start < list.end && a.end_or_inf() > d.start)
            });
            if must_hide && shown {
                v.add(format!(
                    "stale read: {} shows {port}, detached before it started",
                    list.describe()
                ));
            }
        }
        for port in &listed {
            let known = by_pair.get(&(server, *port)).is_some_and(|recs| {
                recs.iter().any(|a| {
                    matches!(a.op, Op::AttachPort { .. } | Op::AttachNet { .. })
                        && a.start < list.end
                })
            });
            let maybe = unknown_net
                .iter()
                .any(|a| a.op.server() == server && a.start < list.end);
            // A port only an unanswered attach could have made.
            let unseen = maybe && !pool.contains(port) && !created.contains_key(port);
            if !(known || unseen) {
                v.add(format!(
                    "{} shows {port}, which no one attached there",
                    list.describe()
                ));
            }
        }
    }
}

/// Every 200 attach and 202 detach is an instance action, on every process
/// (looked up on them in turn). A detach answers 202 before it is known to
/// work, as Nova's does: its event's result tells whether it detached
/// (`Success`) or found nothing to detach (`Error`); that is recorded in
/// `event_ok` for the history checks. An attach's event must be `Success`.
async fn resolve_instance_actions(
    records: &mut [Record],
    processes: &[&Porthole],
    v: &mut Violations,
) {
    let targets: Vec<(usize, String, String, bool)> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| match r.op {
            Op::Detach { .. } => r.status == Some(202),
            Op::AttachPort { .. } | Op::AttachNet { .. } => r.status == Some(200),
            Op::List { .. } => false,
        })
        .filter_map(|(i, r)| match &r.request_id {
            Some(id) => Some((
                i,
                SERVERS[r.op.server()].to_owned(),
                id.clone(),
                matches!(r.op, Op::Detach { .. }),
            )),
            None => {
                v.add(format!("no request id: {}", r.describe()));
                None
            }
        })
        .collect();
    let bases: Vec<String> = processes.iter().map(|p| p.base()).collect();
    let client = client(CLIENT_TIMEOUT);
    let results = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in targets
        .chunks(targets.len().div_ceil(8).max(1))
        .map(<[_]>::to_vec)
    {
        let (client, bases, results) = (client.clone(), bases.clone(), results.clone());
        tasks.spawn(async move {
            for (n, (i, server, request_id, detach)) in chunk.into_iter().enumerate() {
                let (action, event) = if detach {
                    ("detach_interface", "compute_detach_interface")
                } else {
                    ("attach_interface", "compute_attach_interface")
                };
                let base = &bases[(i + n) % bases.len()];
                let url = format!(
                    "{base}/v2.1/{PROJECT}/servers/{server}/os-instance-actions/{request_id}"
                );
                let result = match send(&client, reqwest::Method::GET, &url, None, None).await {
                    Err(e) => Err(format!("no answer: {e}")),
                    Ok(a) if a.status != 200 => Err(format!("{} {}", a.status, a.body)),
                    Ok(a) => {
                        let ia = &a.body["instanceAction"];
                        let result = &ia["events"][0]["result"];
                        if ia["action"] != action || ia["events"][0]["event"] != event {
                            Err(a.body.to_string())
                        } else if result == "Success" {
                            Ok(true)
                        } else if result == "Error" && detach {
                            Ok(false)
                        } else {
                            Err(a.body.to_string())
                        }
                    }
                };
                results.lock().unwrap().push((i, base.clone(), result));
            }
        });
    }
    // Eight sequential workers: bounded concurrency, no extra crate.
    join_all(tasks).await;
    for (i, base, result) in results.lock().unwrap().drain(..) {
        match result {
            Ok(ok) => records[i].event_ok = Some(ok),
            Err(problem) => v.add(format!(
                "instance action of {} on {base}: {problem}",
                records[i].describe()
            )),
        }
    }
}

/// Assert that every process shows the seed and agrees before the load.
async fn check_seeded(processes: &[&Porthole]) {
    for p in processes {
        let state = Api::new(p).state().await;
        let ports = parse_state(&state);
        for port in POOL {
            assert!(
                ports.contains_key(port),
                "{}: seed port {port} missing: {state}",
                p.name
            );
        }
        assert_eq!(
            state["servers"].as_array().map(Vec::len),
            Some(SERVERS.len()),
            "{}: {state}",
            p.name
        );
    }
}

// ---------------------------------------------------------------------------
// The multi-process load

/// Start `n` processes on `backend` (the first seeds the store), load them,
/// optionally SIGKILL the last one midway and restart one at the end, and
/// check every invariant.
async fn concurrent_clients(backend: Backend, n: usize, kill_midway: bool) {
    let _serial = SERIAL.lock().await;
    let scratch = Scratch::new();
    let test = format!(
        "multiprocess {} x{n}{}",
        backend.name(),
        if kill_midway { " (one SIGKILLed)" } else { "" }
    );
    let mut first = scratch.spawn("p0", backend.store_args(), true, "noauth", &[]);
    first.wait_ready().await;
    let others: Vec<Porthole> = (1..n)
        .map(|i| scratch.spawn(&format!("p{i}"), backend.store_args(), false, "noauth", &[]))
        .collect();
    let mut processes = vec![first];
    processes.extend(start_all(others).await);
    check_seeded(&processes.iter().collect::<Vec<_>>()).await;

    let load = Load::new(&processes.iter().collect::<Vec<_>>(), CLIENT_TIMEOUT);
    let tasks = load.spawn_clients(CLIENTS, LOAD, None);
    let mut killed = None;
    if kill_midway {
        let victim = n - 1;
        tokio::time::sleep_until((load.t0 + LOAD / 2).into()).await;
        load.retire(victim);
        let at = load.now();
        processes[victim].kill9();
        killed = Some((victim, at));
    }
    join_all(tasks).await;
    let elapsed = load.now();
    let mut records = load.records();

    let mut v = Violations::default();
    for r in &records {
        let ok = match r.status {
            Some(status) => r.op.normal(status),
            // Only requests to the killed process may go unanswered.
            None => killed.is_some_and(|(victim, _)| r.process == victim),
        };
        if !ok {
            v.add(format!(
                "unexpected {}: {} {}",
                r.status.map_or("no answer".to_owned(), |s| s.to_string()),
                r.describe(),
                r.detail
            ));
        }
    }
    if let Some((victim, at)) = killed {
        let after = records
            .iter()
            .filter(|r| r.start > at + Duration::from_millis(100))
            .count();
        if after == 0 {
            v.add("the surviving processes answered nothing after the kill".to_owned());
        }
        processes.remove(victim);
        // Restart one on the same store: it must show everything acknowledged.
        let mut restarted = scratch.spawn("restarted", backend.store_args(), false, "noauth", &[]);
        restarted.wait_ready().await;
        // First: its state is the one the history is checked against.
        processes.insert(0, restarted);
        println!(
            "{test}: p{victim} killed at {:.2} s; {after} operations answered after it",
            at.as_secs_f64()
        );
    }
    let refs: Vec<&Porthole> = processes.iter().collect();
    let ports = check_final_agreement(&refs, &mut v).await;
    resolve_instance_actions(&mut records, &refs, &mut v).await;
    check_history(&records, &ports, &mut v);

    let writes = records.iter().filter(|r| r.op.is_write()).count();
    println!(
        "{test}: {} ops in {:.1} s ({:.0} ops/s; {writes} writes), {}; seed {:#x}; {} violations",
        records.len(),
        elapsed.as_secs_f64(),
        records.len() as f64 / elapsed.as_secs_f64(),
        status_counts(records.iter()),
        load.seed,
        v.count
    );
    v.assert_none(&test);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_single_process_baseline() {
    concurrent_clients(Backend::sqlite(), 1, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_clients_on_two_processes() {
    concurrent_clients(Backend::sqlite(), 2, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_three_processes_one_sigkilled_midway() {
    concurrent_clients(Backend::sqlite(), 3, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_single_process_baseline() {
    concurrent_clients(Backend::postgres(), 1, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_clients_on_two_processes() {
    concurrent_clients(Backend::postgres(), 2, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_three_processes_one_sigkilled_midway() {
    concurrent_clients(Backend::postgres(), 3, true).await;
}

// ---------------------------------------------------------------------------
// Linearizability spot checks

/// `POST /identity/v3/auth/tokens` on `p` (project demo): the token.
async fn issue_token(p: &Porthole, user: &str, password: &str) -> String {
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}}}});
    let response = client(CLIENT_TIMEOUT)
        .post(format!("{}/identity/v3/auth/tokens", p.base()))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("token from {}: {e}", p.name));
    assert_eq!(response.status(), 201, "token for {user} from {}", p.name);
    response
        .headers()
        .get("x-subject-token")
        .expect("X-Subject-Token")
        .to_str()
        .unwrap()
        .to_owned()
}

/// A change acknowledged by one process is seen by the next request on any
/// other: interfaces, ports, tokens, fault rules, reset; one port raced
/// onto three servers through three processes goes to exactly one.
async fn linearizable_spot_checks(backend: Backend) {
    let _serial = SERIAL.lock().await;
    let scratch = Scratch::new();
    let test = format!("spot checks {}", backend.name());
    // The first seeds the store; the two others start together on it (a
    // start on an empty store is `*_concurrent_start_*`). All are given the
    // seed, as replicas share one configuration: it is applied once, and is
    // what `POST /_porthole/reset` on any of them goes back to.
    let mut first = scratch.spawn("p0", backend.store_args(), true, "builtin", &[]);
    first.wait_ready().await;
    let mut processes = vec![first];
    processes.extend(
        start_all(
            (1..3)
                .map(|i| {
                    scratch.spawn(&format!("p{i}"), backend.store_args(), true, "builtin", &[])
                })
                .collect(),
        )
        .await,
    );
    // Each process is called with an admin token it issued itself, so that
    // these checks do not hang on the token checks below.
    let mut apis: Vec<Api> = Vec::new();
    for p in &processes {
        apis.push(Api::with_token(
            p,
            &issue_token(p, "admin", "porthole-admin").await,
        ));
    }
    let mut v = Violations::default();
    let mut rounds = 0;

    let first_state = apis[0].state().await;
    for api in &apis[1..] {
        if api.state().await != first_state {
            v.add(format!(
                "after the start, {} and {} hold different states",
                apis[0].name, api.name
            ));
        }
    }
    let ports = parse_state(&first_state);
    if ports.len() != POOL.len()
        || first_state["servers"].as_array().map(Vec::len) != Some(SERVERS.len())
    {
        v.add(format!("the seed is not there exactly once: {first_state}"));
    }

    // Attach on A, list on B; detach on B, list on A and C.
    for i in 0..12 {
        let (a, b, c) = (&apis[i % 3], &apis[(i + 1) % 3], &apis[(i + 2) % 3]);
        let (server, port) = (SERVERS[i % SERVERS.len()], POOL[i % POOL.len()]);
        let attach = a
            .post(
                &interfaces(server),
                &json!({"interfaceAttachment": {"port_id": port}}),
            )
            .await;
        if attach.status != 200 {
            v.add(format!(
                "round {i}: attach {port} to {server} on {}: {} {}",
                a.name, attach.status, attach.body
            ));
            continue;
        }
        if !b.listed(server).await.iter().any(|p| p == port) {
            v.add(format!(
                "round {i}: {port} attached to {server} by {} (200), not listed by {} right after",
                a.name, b.name
            ));
        }
        let show = c.get(&interface(server, port)).await;
        if show.status != 200 {
            v.add(format!(
                "round {i}: show {port} on {} after the attach on {}: {}",
                c.name, a.name, show.status
            ));
        }
        let detach = b.delete(&interface(server, port)).await;
        if detach.status != 202 {
            v.add(format!(
                "round {i}: detach {port} from {server} on {}: {} {}",
                b.name, detach.status, detach.body
            ));
            continue;
        }
        for other in [a, c] {
            if other.listed(server).await.iter().any(|p| p == port) {
                v.add(format!(
                    "round {i}: {port} detached by {} (202), still listed by {}",
                    b.name, other.name
                ));
            }
        }
        rounds += 1;
    }

    // A port made by a net attach on A is a Neutron port on B, gone on C
    // after the detach.
    let attach = apis[0]
        .post(
            &interfaces(SERVERS[0]),
            &json!({"interfaceAttachment": {"net_id": NETS[0]}}),
        )
        .await;
    if attach.status == 200 {
        let port = attach.body["interfaceAttachment"]["port_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let neutron = apis[1].get(&format!("/networking/v2.0/ports/{port}")).await;
        if neutron.status != 200 || neutron.body["port"]["device_id"] != SERVERS[0] {
            v.add(format!(
                "port {port} made on p0, on p1's network API: {} {}",
                neutron.status, neutron.body
            ));
        }
        let detach = apis[1].delete(&interface(SERVERS[0], &port)).await;
        if detach.status != 202 {
            v.add(format!(
                "detach {port} on p1: {} {}",
                detach.status, detach.body
            ));
        }
        let gone = apis[2].get(&format!("/networking/v2.0/ports/{port}")).await;
        if gone.status != 404 {
            v.add(format!(
                "port {port} deleted by p1's detach, on p2: {} {}",
                gone.status, gone.body
            ));
        }
    } else {
        v.add(format!(
            "attach by net_id on p0: {} {}",
            attach.status, attach.body
        ));
    }

    // One port, three servers, three processes, at once: one 200.
    for round in 0..5 {
        let port = POOL[round % POOL.len()];
        let barrier = Arc::new(tokio::sync::Barrier::new(3));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, api) in apis.iter().enumerate() {
            let (client, base, token, barrier) = (
                api.client.clone(),
                api.base.clone(),
                api.token.clone().unwrap(),
                barrier.clone(),
            );
            tasks.spawn(async move {
                barrier.wait().await;
                let url = format!("{base}{}", interfaces(SERVERS[i]));
                let body = json!({"interfaceAttachment": {"port_id": port}});
                (
                    i,
                    send(
                        &client,
                        reqwest::Method::POST,
                        &url,
                        Some(&token),
                        Some(&body),
                    )
                    .await,
                )
            });
        }
        let mut winners = Vec::new();
        while let Some(result) = tasks.join_next().await {
            match result.expect("task") {
                (i, Ok(answer)) if answer.status == 200 => winners.push(i),
                (_, Ok(answer)) if answer.status == 409 => {}
                (i, other) => v.add(format!(
                    "race {round}: attach {port} on p{i}: {:?}",
                    other.map(|a| (a.status, a.body))
                )),
            }
        }
        if winners.len() != 1 {
            v.add(format!(
                "race {round}: {port} attached with 200 by {} processes: {winners:?}",
                winners.len()
            ));
        }
        for &w in &winners {
            let detach = apis[(w + 1) % 3].delete(&interface(SERVERS[w], port)).await;
            if detach.status != 202 {
                v.add(format!(
                    "race {round}: detach the winner's {port}: {} {}",
                    detach.status, detach.body
                ));
            }
        }
    }

    // Tokens: issued on p1, valid on p2 at once; revoked on p2, refused on p0.
    let demo = issue_token(&processes[1], "demo", "porthole-demo").await;
    let on_p2 = Api::with_token(&processes[2], &demo)
        .get(&interfaces(SERVERS[0]))
        .await;
    if on_p2.status != 200 {
        v.add(format!(
            "a token issued by p1, used on p2 at once: {} {}",
            on_p2.status, on_p2.body
        ));
    }
    let revoke = apis[2]
        .client
        .delete(format!("{}/identity/v3/auth/tokens", apis[2].base))
        .header("X-Auth-Token", apis[2].token.as_deref().unwrap())
        .header("X-Subject-Token", &demo)
        .send()
        .await
        .expect("revoke");
    if revoke.status() != 204 {
        v.add(format!("revoke on p2: {}", revoke.status()));
    }
    let on_p0 = Api::with_token(&processes[0], &demo)
        .get(&interfaces(SERVERS[0]))
        .await;
    if on_p0.status != 401 {
        v.add(format!(
            "a token revoked on p2, used on p0 right after: {} (want 401)",
            on_p0.status
        ));
    }

    // Fault rules act on the shared state.
    let rule = apis[0]
        .post(
            "/_porthole/faults",
            &json!({"operation": "list", "server_id": SERVERS[1], "status": 409, "message": "mp spot check"}),
        )
        .await;
    if rule.status == 201 {
        let hit = apis[1].get(&interfaces(SERVERS[1])).await;
        if hit.status != 409 || hit.body["conflictingRequest"]["message"] != "mp spot check" {
            v.add(format!(
                "a fault rule set on p0 did not fire on p1: {} {}",
                hit.status, hit.body
            ));
        }
        let clear = apis[2].delete("/_porthole/faults").await;
        if clear.status != 204 {
            v.add(format!("clear faults on p2: {}", clear.status));
        }
        let after = apis[0].get(&interfaces(SERVERS[1])).await;
        if after.status != 200 {
            v.add(format!(
                "fault rules cleared on p2 still fire on p0: {} {}",
                after.status, after.body
            ));
        }
    } else {
        v.add(format!(
            "POST /_porthole/faults on p0: {} {}",
            rule.status, rule.body
        ));
    }

    // Reset on p1 is the reset of all.
    let attach = apis[0]
        .post(
            &interfaces(SERVERS[2]),
            &json!({"interfaceAttachment": {"port_id": POOL[0]}}),
        )
        .await;
    if attach.status != 200 {
        v.add(format!(
            "attach before the reset: {} {}",
            attach.status, attach.body
        ));
    }
    let reset = apis[1].post("/_porthole/reset", &json!({})).await;
    if reset.status != 200 {
        v.add(format!("reset on p1: {} {}", reset.status, reset.body));
    }
    for api in [&apis[2], &apis[0]] {
        let listed = api.listed(SERVERS[2]).await;
        if !listed.is_empty() {
            v.add(format!(
                "after p1's reset, {} still lists {listed:?} on {}",
                api.name, SERVERS[2]
            ));
        }
        if api.state().await != first_state {
            v.add(format!(
                "after p1's reset, {}'s state is not the seed's",
                api.name
            ));
        }
    }

    println!(
        "{test}: {rounds}/12 attach-here-list-there rounds clean, {} violations",
        v.count
    );
    v.assert_none(&test);
}

/// Three processes started at once on an empty store, each given the seed:
/// migrations and the seed cope (applied once), all three serve one state.
async fn concurrent_start(backend: Backend) {
    let _serial = SERIAL.lock().await;
    let scratch = Scratch::new();
    // The third names its store with PORTHOLE_STORE (and PORTHOLE_DATA_DIR).
    let processes = start_all(vec![
        scratch.spawn("p0", backend.store_args(), true, "noauth", &[]),
        scratch.spawn("p1", backend.store_args(), true, "noauth", &[]),
        scratch.spawn_env("p2", Vec::new(), &backend.store_env(), true, "noauth", &[]),
    ])
    .await;
    let states = {
        let mut states = Vec::new();
        for p in &processes {
            states.push(Api::new(p).state().await);
        }
        states
    };
    for (p, state) in processes.iter().zip(&states).skip(1) {
        assert_eq!(
            *state, states[0],
            "{} and p0 hold different states after a concurrent start",
            p.name
        );
    }
    check_seeded(&processes.iter().collect::<Vec<_>>()).await;
    assert_eq!(parse_state(&states[0]).len(), POOL.len(), "{}", states[0]);
    println!(
        "concurrent start {}: 3 processes, one seeded state",
        backend.name()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_start_on_an_empty_store() {
    concurrent_start(Backend::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_start_on_an_empty_store() {
    concurrent_start(Backend::postgres()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_linearizable_spot_checks() {
    linearizable_spot_checks(Backend::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_linearizable_spot_checks() {
    linearizable_spot_checks(Backend::postgres()).await;
}

// ---------------------------------------------------------------------------
// PostgreSQL cut off: a TCP proxy the test controls

#[derive(Clone, Copy, PartialEq, Debug)]
enum ProxyMode {
    Forward,
    /// Accept and close at once.
    Drop,
    /// Accept and never answer.
    Blackhole,
}

struct Proxy {
    port: u16,
    mode: Arc<Mutex<ProxyMode>>,
    connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

/// Copy bytes one way until either side closes.
async fn pump(from: &tokio::net::TcpStream, to: &tokio::net::TcpStream) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        if from.readable().await.is_err() {
            return;
        }
        let n = match from.try_read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        };
        let mut sent = 0;
        while sent < n {
            if to.writable().await.is_err() {
                return;
            }
            match to.try_write(&buf[sent..n]) {
                Ok(k) => sent += k,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(_) => return,
            }
        }
    }
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(Mutex::new(ProxyMode::Forward));
        let connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let accept = {
            let (mode, connections) = (mode.clone(), connections.clone());
            tokio::spawn(async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let current = *mode.lock().unwrap();
                    let task = match current {
                        ProxyMode::Drop => {
                            drop(socket);
                            continue;
                        }
                        ProxyMode::Blackhole => tokio::spawn(async move {
                            let _held = socket;
                            std::future::pending::<()>().await;
                        }),
                        ProxyMode::Forward => {
                            let upstream = upstream.clone();
                            tokio::spawn(async move {
                                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await
                                else {
                                    return;
                                };
                                tokio::select! {
                                    _ = pump(&socket, &server) => {}
                                    _ = pump(&server, &socket) => {}
                                }
                            })
                        }
                    };
                    let mut connections = connections.lock().unwrap();
                    connections.retain(|c| !c.is_finished());
                    connections.push(task.abort_handle());
                }
            })
        };
        Proxy {
            port,
            mode,
            connections,
            accept,
        }
    }

    /// Switch mode; every connection open so far is closed.
    fn set(&self, mode: ProxyMode) {
        *self.mode.lock().unwrap() = mode;
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.set(ProxyMode::Drop);
    }
}

/// The harness itself: the proxy forwards to PostgreSQL, and a cut closes
/// open connections and drops (or holds) new ones. Passes without porthole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_fault_proxy_forwards_and_cuts() {
    let db = PgDatabase::create();
    let proxy = Proxy::start(db.server_addr()).await;
    let via = base_via(&db.base, &format!("127.0.0.1:{}", proxy.port));
    let query = |via: String| tokio::task::spawn_blocking(move || psql(&via, "SELECT 1"));
    query(via.clone())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("psql through the proxy: {e}"));

    // An open connection is closed by the cut.
    let open = tokio::net::TcpStream::connect(("127.0.0.1", proxy.port))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    proxy.set(ProxyMode::Drop);
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 16];
        loop {
            open.readable().await.unwrap();
            match open.try_read(&mut buf) {
                // PostgreSQL says nothing before the client does.
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the cut did not close an open connection");
    let started = Instant::now();
    assert!(
        query(via.clone()).await.unwrap().is_err(),
        "psql got through a dropping proxy"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a dropping proxy made psql wait"
    );

    proxy.set(ProxyMode::Blackhole);
    let started = Instant::now();
    assert!(
        query(via.clone()).await.unwrap().is_err(),
        "psql got through a black hole"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "the black hole answered: {:?}",
        started.elapsed()
    );

    proxy.set(ProxyMode::Forward);
    query(via)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("psql through the restored proxy: {e}"));
}

fn is_nova_503(body: &Value) -> bool {
    let fault = &body["serviceUnavailable"];
    body.as_object().is_some_and(|o| o.len() == 1)
        && fault.as_object().is_some_and(|o| o.len() == 2)
        && fault["code"] == 503
        && fault["message"].as_str().is_some_and(|m| !m.is_empty())
}

/// Under load, the proxy to PostgreSQL cut (connections closed, new ones
/// dropped, then held unanswered): Nova's 503 within 3× the store timeout,
/// never a 500 or a hang, `/readyz` 503; restored: porthole recovers by
/// itself and catches up with what another process wrote meanwhile; nothing
/// acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_outage_answers_503_and_recovers() {
    const TIMEOUT: Duration = Duration::from_millis(1000);
    const OUTAGE: Duration = Duration::from_secs(4);
    let _serial = SERIAL.lock().await;
    let test = "postgres outage";
    let db = PgDatabase::create();
    let proxy = Proxy::start(db.server_addr()).await;
    let scratch = Scratch::new();
    let timeout_ms = TIMEOUT.as_millis().to_string();
    let via = vec![
        "--store".into(),
        db.url_via(&format!("127.0.0.1:{}", proxy.port)).into(),
    ];
    let mut proxied = scratch.spawn(
        "proxied",
        via,
        true,
        "noauth",
        &["--store-timeout-ms", &timeout_ms],
    );
    proxied.wait_ready().await;
    let direct_store = vec![OsString::from("--store"), db.url().into()];
    let mut direct = scratch.spawn(
        "direct",
        direct_store.clone(),
        false,
        "noauth",
        &["--store-timeout-ms", &timeout_ms],
    );
    direct.wait_ready().await;
    check_seeded(&[&proxied, &direct]).await;

    // Clients give up after 3× the timeout: no answer by then is a hang.
    let load = Load::new(&[&proxied, &direct], 3 * TIMEOUT);
    join_all(load.spawn_clients(4, Duration::from_millis(1500), Some(0))).await;

    let cut = load.now();
    proxy.set(ProxyMode::Drop);
    let clients = load.spawn_clients(4, cut + OUTAGE, Some(0));
    // /readyz turns 503 (its own limit is 2 s; then the store's timeout).
    let probe = client(3 * TIMEOUT);
    let readyz = format!("{}/readyz", proxied.base());
    let mut v = Violations::default();
    let mut unready_after = None;
    let mut readyz_body = Value::Null;
    while load.now() < cut + OUTAGE / 2 {
        match send(&probe, reqwest::Method::GET, &readyz, None, None).await {
            Ok(a) if a.status == 503 => {
                unready_after.get_or_insert(load.now() - cut);
                readyz_body = a.body;
                break;
            }
            Ok(_) => {}
            Err(e) => v.add(format!(
                "GET /readyz during the outage: no answer within {:?}: {e}",
                3 * TIMEOUT
            )),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Another process, on PostgreSQL directly, changes the world meanwhile
    // (the proxied one cannot: it has no database).
    let held = parse_state(&Api::new(&direct).state().await)[POOL[5]]
        .device
        .clone();
    if let Some(server) = SERVERS.iter().position(|s| *s == held) {
        load.run_op(
            1,
            Op::Detach {
                server,
                port: POOL[5].to_owned(),
            },
        )
        .await;
    }
    load.run_op(
        1,
        Op::AttachPort {
            server: 3,
            port: POOL[5].to_owned(),
        },
    )
    .await;
    if let Some(r) = load.records().iter().rev().find(|r| r.process == 1) {
        if r.status != Some(200) {
            v.add(format!(
                "the direct process, during the outage: {} {}",
                r.describe(),
                r.detail
            ));
        }
    }
    // Then new connections hang instead of failing.
    tokio::time::sleep_until((load.t0 + cut + OUTAGE / 2).into()).await;
    proxy.set(ProxyMode::Blackhole);
    let blackhole = load.now();
    join_all(clients).await;
    let restored = load.now();
    proxy.set(ProxyMode::Forward);

    // Recovery: /readyz 200 and a list 200, by itself, in bounded time.
    let recovered = loop {
        let ready = matches!(send(&probe, reqwest::Method::GET, &readyz, None, None).await, Ok(a) if a.status == 200);
        let list = format!("{}{}", proxied.base(), interfaces(SERVERS[3]));
        let listed = match send(&probe, reqwest::Method::GET, &list, None, None).await {
            Ok(a) if a.status == 200 => Some(port_ids(&a.body)),
            _ => None,
        };
        if let (true, Some(listed)) = (ready, listed) {
            if !listed.iter().any(|p| p == POOL[5]) {
                v.add(format!(
                    "after recovery, the proxied process does not show {} attached by the direct one during the outage",
                    POOL[5]
                ));
            }
            break load.now();
        }
        assert!(
            load.now() < restored + Duration::from_secs(20),
            "{test}: porthole did not recover within 20 s of the database's return:\n{}",
            proxied.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    join_all(load.spawn_clients(4, recovered + Duration::from_millis(1500), Some(0))).await;

    let mut records = load.records();
    let during: Vec<&Record> = records
        .iter()
        .filter(|r| r.process == 0 && r.start >= cut && r.start < restored)
        .collect();
    let mut sample_503 = None;
    for r in &records {
        let in_outage = r.process == 0 && r.start >= cut && r.start < restored;
        let recovering = r.process == 0 && r.start >= restored && r.start < recovered;
        match r.status {
            None => v.add(format!(
                "no answer within {:?} (a hang): {} {}",
                3 * TIMEOUT,
                r.describe(),
                r.detail
            )),
            Some(503) if in_outage || recovering || (r.start < cut && r.end > cut) => {
                match serde_json::from_str::<Value>(&r.detail) {
                    Ok(body) if is_nova_503(&body) => {
                        sample_503.get_or_insert(body);
                    }
                    _ => v.add(format!(
                        "a 503 that is not Nova's serviceUnavailable: {} {}",
                        r.describe(),
                        r.detail
                    )),
                }
            }
            Some(s) if r.op.normal(s) => {
                if in_outage && r.op.is_write() && matches!(s, 200 | 202) {
                    v.add(format!(
                        "a write acknowledged while the database was unreachable: {}",
                        r.describe()
                    ));
                }
            }
            Some(s) => v.add(format!("unexpected {s}: {} {}", r.describe(), r.detail)),
        }
    }
    if !during.iter().any(|r| r.status == Some(503)) {
        v.add("no 503 during the outage".to_owned());
    }
    match unready_after {
        None => v.add(format!(
            "/readyz never answered 503 in the first {:?} of the outage",
            OUTAGE / 2
        )),
        Some(_) if readyz_body["status"] != "unavailable" => {
            v.add(format!("/readyz 503 body: {readyz_body}"))
        }
        Some(_) => {}
    }
    let max_latency = during
        .iter()
        .map(|r| r.end - r.start)
        .max()
        .unwrap_or_default();
    let (during_count, during_counts) = (during.len(), status_counts(during.iter().copied()));
    drop(during);

    // Nothing acknowledged is lost: a fresh process on the database itself.
    proxied.kill9();
    let mut restarted = scratch.spawn(
        "restarted",
        direct_store,
        false,
        "noauth",
        &["--store-timeout-ms", &timeout_ms],
    );
    restarted.wait_ready().await;
    let refs = [&restarted, &direct];
    let ports = check_final_agreement(&refs, &mut v).await;
    resolve_instance_actions(&mut records, &refs, &mut v).await;
    check_history(&records, &ports, &mut v);

    println!(
        "{test}: during the {:.1} s outage (dropped, then held from {:.1} s) {} requests: {}; \
         slowest {:.0} ms; /readyz 503 after {}; recovered {:.0} ms after the database returned; \
         {} ops in all ({}); sample 503: {}; {} violations",
        (restored - cut).as_secs_f64(),
        (blackhole - cut).as_secs_f64(),
        during_count,
        during_counts,
        max_latency.as_secs_f64() * 1000.0,
        unready_after.map_or("never".to_owned(), |d| format!(
            "{:.0} ms",
            d.as_secs_f64() * 1000.0
        )),
        (recovered - restored).as_secs_f64() * 1000.0,
        records.len(),
        status_counts(records.iter()),
        sample_503.map_or("none".to_owned(), |b| b.to_string()),
        v.count
    );
    v.assert_none(test);
}

/// The linearization search on small histories whose answer is known.
#[test]
fn linearization_search_self_test() {
    let ms = Duration::from_millis;
    let op = |start: u64, end: Option<u64>, attach: bool, server: usize| LinOp {
        start: ms(start),
        end: end.map(ms),
        attach,
        server,
    };
    // attach, detach, attach: in order.
    let plain = [
        op(0, Some(10), true, 0),
        op(20, Some(30), false, 0),
        op(40, Some(50), true, 1),
    ];
    assert_eq!(linearizable(&plain, None, Some(1)), Some(true));
    assert_eq!(linearizable(&plain, None, None), Some(false));
    // Two acknowledged attaches, no detach: impossible.
    let twice = [op(0, Some(10), true, 0), op(5, Some(15), true, 1)];
    assert_eq!(linearizable(&twice, None, Some(0)), Some(false));
    assert_eq!(linearizable(&twice, None, Some(1)), Some(false));
    // An attach overlapping the detach before it: fine.
    let overlap = [
        op(0, Some(10), true, 0),
        op(20, Some(30), false, 0),
        op(15, Some(25), true, 1),
    ];
    assert_eq!(linearizable(&overlap, None, Some(1)), Some(true));
    // A detach that ended before its attach started: impossible.
    let early = [op(20, Some(30), true, 0), op(0, Some(10), false, 0)];
    assert_eq!(linearizable(&early, None, None), Some(false));
    // A detach from another server than the one attached: impossible.
    let elsewhere = [op(0, Some(10), true, 0), op(20, Some(30), false, 1)];
    assert_eq!(linearizable(&elsewhere, None, None), Some(false));
    // Unknown outcomes may or may not have happened.
    let unknown = [
        op(0, Some(10), true, 0),
        op(20, None, false, 0),
        op(30, None, true, 2),
    ];
    assert_eq!(linearizable(&unknown, None, Some(0)), Some(true));
    assert_eq!(linearizable(&unknown, None, None), Some(true));
    assert_eq!(linearizable(&unknown, None, Some(2)), Some(true));
    assert_eq!(linearizable(&unknown, None, Some(1)), Some(false));
    // Many unknowns do not blow the search up.
    let mut many: Vec<LinOp> = (0..200)
        .map(|i| op(i, None, i % 2 == 0, (i as usize / 2) % 4))
        .collect();
    many.push(op(500, Some(510), true, 3));
    assert_eq!(linearizable(&many, None, Some(3)), Some(true));
}
