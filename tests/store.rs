//! The store contract, one suite run unchanged on every backend (memory,
//! SQLite, PostgreSQL): what is acknowledged is what comes back; every
//! handle on one durable store (a process, for the contract) follows one
//! ordered log and writes under one lock; a failed commit leaves memory
//! equal to the store. PostgreSQL runs in a fresh database per test, at
//! `PORTHOLE_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432`).
mod common;
use common::*;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use porthole::domain::{Change, World};
use porthole::seed::SeedDocument;
use porthole::service::Cloud;
use porthole::store::{
    Catchup, Head, MemoryStore, Position, PostgresStore, Snapshot, SqliteStore, Store, StoreError,
    StoreFuture, WriteSession, LOG_KEPT, LOG_TRIM_EVERY,
};
use serde_json::json;

/// One backend under test: `open` makes a new handle on the same store,
/// as another process would.
enum Backend {
    Memory,
    Sqlite(tempfile::TempDir),
    Postgres(common::postgres::Database),
}

impl Backend {
    async fn memory() -> Self {
        Backend::Memory
    }
    async fn sqlite() -> Self {
        Backend::Sqlite(tempfile::tempdir().unwrap())
    }
    async fn postgres() -> Self {
        Backend::Postgres(common::postgres::Database::create().await)
    }

    /// Whether two handles share one state (a second process).
    fn shared(&self) -> bool {
        !matches!(self, Backend::Memory)
    }

    async fn open(&self) -> Arc<dyn Store> {
        match self {
            Backend::Memory => Arc::new(MemoryStore),
            Backend::Sqlite(dir) => {
                Arc::new(SqliteStore::open(&dir.path().join("porthole.sqlite3")).unwrap())
            }
            Backend::Postgres(db) => Arc::new(
                PostgresStore::open(db.url(), 4, Duration::from_secs(5))
                    .await
                    .unwrap(),
            ),
        }
    }
}

/// Each case as one test per backend.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory { $( #[tokio::test] async fn $case() { super::$case(super::Backend::memory().await).await } )* }
        mod sqlite { $( #[tokio::test] async fn $case() { super::$case(super::Backend::sqlite().await).await } )* }
        mod postgres { $( #[tokio::test] async fn $case() { super::$case(super::Backend::postgres().await).await } )* }
    };
}

conformance!(
    batches_come_back_as_applied,
    every_handle_follows_one_log,
    sessions_take_turns,
    a_dropped_session_writes_nothing,
    a_process_behind_the_trimmed_log_reloads,
    a_change_acknowledged_anywhere_is_read_everywhere,
    concurrent_attaches_of_one_port_give_one_200,
    concurrent_batches_all_land,
    a_failed_commit_is_undone_in_memory_and_reported_as_503,
    instance_actions_beyond_memory,
    repeated_keys_in_one_commit_land_in_order,
);

fn seed_changes() -> Vec<Change> {
    SeedDocument::from_toml(&seed_toml())
        .unwrap()
        .into_changes()
        .unwrap()
}

/// A mixed batch: rebind a port, delete one, add an action, soft-delete a
/// server.
fn later_changes(world: &World) -> Vec<Change> {
    let mut port = world.port(PORT_FREE).unwrap().clone();
    port.device_id = SERVER.to_owned();
    port.tag = Some("t".into());
    let action = porthole::domain::InstanceAction {
        server_id: SERVER.into(),
        action: "attach_interface".into(),
        request_id: "req-00000000-0000-4000-8000-000000000001".into(),
        user_id: "u".into(),
        project_id: PROJECT.into(),
        start_time: 1,
        updated_at: 2,
        message: Some("Error".into()),
        events: vec![porthole::domain::ActionEvent {
            event: "compute_attach_interface".into(),
            start_time: 1,
            finish_time: Some(2),
            result: Some("Error".into()),
            traceback: Some("tb".into()),
            host: "porthole".into(),
            details: Some("d".into()),
        }],
        seq: 1000,
    };
    vec![
        Change::PutPort(port),
        Change::DeletePort(PORT_FREE2.into()),
        Change::PutAction(action),
        Change::SoftDeleteServer(SERVER_ERROR.into()),
    ]
}

fn world_of(batches: &[Vec<Change>]) -> World {
    let mut world = World::default();
    for change in batches.iter().flatten() {
        world.apply(change.clone());
    }
    world
}

/// Commit `batches` in one session of `store`, from `since`.
async fn commit(store: &dyn Store, since: Position, batches: Vec<Vec<Change>>) -> Position {
    let mut session = store.begin(since).await.unwrap();
    session.missed();
    session.commit(batches).await.unwrap()
}

async fn head(store: &dyn Store) -> Option<Position> {
    match store.head() {
        Head::Own => None,
        Head::Known(position) => Some(position),
        Head::Ask => Some(store.ask_head().await.unwrap()),
    }
}

fn batches_of(catchup: Catchup) -> Vec<(Position, Vec<Change>)> {
    match catchup {
        Catchup::Batches(batches) => batches.into_iter().map(|b| (b.seq, b.changes)).collect(),
        Catchup::Reload(_) => panic!("expected batches, got a reload"),
    }
}

async fn batches_come_back_as_applied(backend: Backend) {
    let store = backend.open().await;
    let empty = store.load().await.unwrap();
    assert!(empty.world.is_empty());
    assert_eq!(empty.position, 0);
    let seed = seed_changes();
    let later = later_changes(&world_of(std::slice::from_ref(&seed)));
    assert_eq!(commit(&*store, 0, vec![seed.clone()]).await, 1);
    assert_eq!(commit(&*store, 1, vec![later.clone()]).await, 2);
    if !backend.shared() {
        // Memory keeps nothing beyond the process's own world.
        assert!(store.load().await.unwrap().world.is_empty());
        return;
    }
    drop(store);
    let loaded = backend.open().await.load().await.unwrap();
    assert_eq!(loaded.position, 2);
    assert_eq!(loaded.world.dump(), world_of(&[seed, later]).dump());
    let world = loaded.world;
    assert_eq!(world.port(PORT_FREE).unwrap().tag.as_deref(), Some("t"));
    assert_eq!(world.ports_of_device(SERVER).count(), 1);
    assert!(world.server(SERVER_ERROR).is_none());
    assert!(world.deleted_server(SERVER_ERROR).is_some());
}

/// One commit that writes the same rows more than once, in every order (a
/// put twice, a delete then a put, a put then a delete, a server deleted
/// with its action just put): what loads is what the batches give applied
/// in order (PostgreSQL writes a commit's rows in a few statements).
async fn repeated_keys_in_one_commit_land_in_order(backend: Backend) {
    if !backend.shared() {
        return;
    }
    let store = backend.open().await;
    let seed = seed_changes();
    let world = world_of(std::slice::from_ref(&seed));
    let mut free = world.port(PORT_FREE).unwrap().clone();
    free.tag = Some("second".into());
    let free2 = world.port(PORT_FREE2).unwrap().clone();
    let batches = vec![
        seed.clone(),
        later_changes(&world),
        vec![Change::PutPort(free.clone())],
        vec![Change::PutPort(free2.clone())],
        vec![
            Change::DeletePort(PORT_FREE.into()),
            Change::PutPort(free.clone()),
            Change::PutPort(free2),
            Change::DeletePort(PORT_FREE2.into()),
        ],
        vec![Change::DeleteServer(SERVER.into())],
    ];
    let head = commit(&*store, 0, batches.clone()).await;
    assert_eq!(head, batches.len() as Position);
    drop(store);
    let loaded = backend.open().await.load().await.unwrap();
    assert_eq!(loaded.position, head);
    let expected = world_of(&batches);
    assert_eq!(loaded.world.dump(), expected.dump());
    assert_eq!(
        loaded.world.port(PORT_FREE).unwrap().tag.as_deref(),
        Some("second")
    );
    assert!(loaded.world.port(PORT_FREE2).is_none());
    assert!(loaded.world.server(SERVER).is_none());
}

async fn every_handle_follows_one_log(backend: Backend) {
    let a = backend.open().await;
    let b = backend.open().await;
    let seed = seed_changes();
    let later = later_changes(&world_of(std::slice::from_ref(&seed)));
    commit(&*a, 0, vec![seed.clone(), later.clone()]).await;
    if !backend.shared() {
        assert_eq!(
            head(&*b).await,
            None,
            "memory: each process is its own head"
        );
        return;
    }
    assert_eq!(head(&*b).await, Some(2));
    assert_eq!(
        batches_of(b.catch_up(0).await.unwrap()),
        [(1, seed.clone()), (2, later.clone())]
    );
    assert_eq!(batches_of(b.catch_up(1).await.unwrap()), [(2, later)]);
    assert!(batches_of(b.catch_up(2).await.unwrap()).is_empty());
    // A session from an older position hands over what it missed.
    let mut session = b.begin(0).await.unwrap();
    assert_eq!(batches_of(session.missed()).len(), 2);
    assert_eq!(session.commit(vec![vec![Change::Reset]]).await.unwrap(), 3);
    assert_eq!(head(&*a).await, Some(3));
    assert!(a.load().await.unwrap().world.is_empty());
}

async fn sessions_take_turns(backend: Backend) {
    if !backend.shared() {
        return; // One process: its committer already runs one session at a time.
    }
    let a = backend.open().await;
    let b = backend.open().await;
    let seed = seed_changes();
    let later = later_changes(&world_of(std::slice::from_ref(&seed)));
    let mut session = a.begin(0).await.unwrap();
    let waiting = tokio::spawn({
        let b = b.clone();
        async move {
            let mut session = b.begin(0).await.unwrap();
            let missed = batches_of(session.missed());
            session.commit(vec![later]).await.unwrap();
            missed
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "a second session waits for the first"
    );
    assert_eq!(session.commit(vec![seed.clone()]).await.unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !waiting.is_finished(),
        "the lock is held until the session ends"
    );
    drop(session);
    let missed = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the second session goes on")
        .unwrap();
    assert!(
        missed == [(1, seed)],
        "the second session saw the first's batch"
    );
    assert_eq!(head(&*a).await, Some(2));
}

async fn a_dropped_session_writes_nothing(backend: Backend) {
    let store = backend.open().await;
    let session = store.begin(0).await.unwrap();
    drop(session);
    // The lock is free again, and nothing was written.
    let other = backend.open().await;
    let mut session = tokio::time::timeout(Duration::from_secs(10), other.begin(0))
        .await
        .expect("the lock was released")
        .unwrap();
    assert!(batches_of(session.missed()).is_empty());
    drop(session);
    if backend.shared() {
        assert_eq!(head(&*store).await, Some(0));
        assert!(store.load().await.unwrap().world.is_empty());
    }
}

async fn a_process_behind_the_trimmed_log_reloads(backend: Backend) {
    if !backend.shared() {
        return;
    }
    let store = backend.open().await;
    let seed = seed_changes();
    let mut batches = vec![seed.clone()];
    // Small batches, past what the log keeps.
    for i in 0..LOG_KEPT + LOG_TRIM_EVERY + 1 {
        batches.push(vec![Change::DeleteToken(format!("t{i}"))]);
    }
    let head = commit(&*store, 0, batches).await;
    assert_eq!(head, LOG_KEPT + LOG_TRIM_EVERY + 2);
    match store.catch_up(0).await.unwrap() {
        Catchup::Reload(snapshot) => {
            let Snapshot { world, position } = *snapshot;
            assert_eq!(position, head);
            assert_eq!(world.dump(), world_of(&[seed]).dump());
        }
        Catchup::Batches(_) => panic!("the log was trimmed: expected a reload"),
    }
    // Still within reach: batches.
    assert_eq!(batches_of(store.catch_up(head - 5).await.unwrap()).len(), 5);
}

async fn app_on(store: Arc<dyn Store>) -> TestApp {
    TestApp {
        router: porthole::build_router(porthole::AppState::new(
            seeded_cloud(store).await,
            porthole::AuthMode::Noauth,
        )),
    }
}

/// Two apps on one store (two processes), or one on memory.
async fn apps_on(backend: &Backend) -> Vec<Arc<TestApp>> {
    let count = if backend.shared() { 2 } else { 1 };
    let mut apps = Vec::new();
    for _ in 0..count {
        apps.push(Arc::new(app_on(backend.open().await).await));
    }
    apps
}

async fn a_change_acknowledged_anywhere_is_read_everywhere(backend: Backend) {
    if !backend.shared() {
        return;
    }
    let a = app_on(backend.open().await).await;
    let b = app_on(backend.open().await).await;
    let attach = json!({"interfaceAttachment": {"port_id": PORT_FREE}});
    let r = a.post(&interfaces(SERVER), &attach).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let listed = b.get(&interfaces(SERVER)).await;
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.json()["interfaceAttachments"][0]["port_id"],
        PORT_FREE
    );
    // The instance action too, by its request id.
    let action = b
        .get(&format!(
            "/v2.1/servers/{SERVER}/os-instance-actions/{}",
            r.request_id()
        ))
        .await;
    assert_eq!(action.status, 200, "{}", action.text());
    let r = b.delete(&interface(SERVER, PORT_FREE)).await;
    assert_eq!(r.status, 202);
    assert_eq!(
        a.get(&interfaces(SERVER)).await.json(),
        json!({"interfaceAttachments": []})
    );
}

async fn concurrent_attaches_of_one_port_give_one_200(backend: Backend) {
    let apps = apps_on(&backend).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let app = apps[i % apps.len()].clone();
        tasks.push(tokio::spawn(async move {
            app.post(
                &interfaces(SERVER),
                &json!({"interfaceAttachment": {"port_id": PORT_FREE}}),
            )
            .await
            .status
            .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    // Every other attempt: the port is in use.
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    for app in &apps {
        let listed = app.get(&interfaces(SERVER)).await.json();
        assert_eq!(listed["interfaceAttachments"].as_array().unwrap().len(), 1);
    }
}

async fn concurrent_batches_all_land(backend: Backend) {
    let apps = apps_on(&backend).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let app = apps[i % apps.len()].clone();
        tasks.push(tokio::spawn(async move {
            let r = app
                .post(
                    &interfaces(SERVER),
                    &json!({"interfaceAttachment": {"net_id": NET}}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            let attachment = &r.json()["interfaceAttachment"];
            (
                attachment["fixed_ips"][0]["ip_address"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                attachment["mac_addr"].as_str().unwrap().to_owned(),
            )
        }));
    }
    let mut ips = Vec::new();
    let mut macs = Vec::new();
    for t in tasks {
        let (ip, mac) = t.await.unwrap();
        ips.push(ip);
        macs.push(mac);
    }
    ips.sort();
    ips.dedup();
    macs.sort();
    macs.dedup();
    assert_eq!(ips.len(), 40, "no two ports share an address");
    assert_eq!(macs.len(), 40, "no two ports share a MAC");
    let mut lists = Vec::new();
    for app in &apps {
        lists.push(app.get(&interfaces(SERVER)).await.text());
    }
    assert!(
        lists.windows(2).all(|w| w[0] == w[1]),
        "every process lists the same"
    );
    let listed: serde_json::Value = serde_json::from_str(&lists[0]).unwrap();
    assert_eq!(listed["interfaceAttachments"].as_array().unwrap().len(), 40);
    if backend.shared() {
        drop(apps);
        let world = backend.open().await.load().await.unwrap().world;
        assert_eq!(world.ports_of_device(SERVER).count(), 40);
    }
}

/// Wraps a store and fails commits while `failing` is set.
struct Flaky {
    inner: Arc<dyn Store>,
    failing: Arc<AtomicBool>,
}

struct FlakySession {
    inner: Box<dyn WriteSession>,
    failing: Arc<AtomicBool>,
}

impl WriteSession for FlakySession {
    fn missed(&mut self) -> Catchup {
        self.inner.missed()
    }
    fn commit(&mut self, batches: Vec<Vec<Change>>) -> StoreFuture<Position> {
        if self.failing.load(Ordering::SeqCst) {
            // Nothing reaches the inner session.
            Box::pin(async { Err(StoreError::Io("disk full".into())) })
        } else {
            self.inner.commit(batches)
        }
    }
}

impl Store for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }
    fn load(&self) -> StoreFuture<Snapshot> {
        self.inner.load()
    }
    fn head(&self) -> Head {
        self.inner.head()
    }
    fn ask_head(&self) -> StoreFuture<Position> {
        self.inner.ask_head()
    }
    fn catch_up(&self, since: Position) -> StoreFuture<Catchup> {
        self.inner.catch_up(since)
    }
    fn begin(&self, since: Position) -> StoreFuture<Box<dyn WriteSession>> {
        let begun = self.inner.begin(since);
        let failing = self.failing.clone();
        Box::pin(async move {
            let session: Box<dyn WriteSession> = Box::new(FlakySession {
                inner: begun.await?,
                failing,
            });
            Ok(session)
        })
    }
    fn ping(&self) -> StoreFuture<()> {
        self.inner.ping()
    }
}

async fn a_failed_commit_is_undone_in_memory_and_reported_as_503(backend: Backend) {
    if !backend.shared() {
        return; // Memory commits cannot fail.
    }
    let failing = Arc::new(AtomicBool::new(false));
    let flaky = Arc::new(Flaky {
        inner: backend.open().await,
        failing: failing.clone(),
    });
    let app = app_on(flaky).await;
    failing.store(true, Ordering::SeqCst);
    let attach = json!({"interfaceAttachment": {"port_id": PORT_FREE}});
    let r = app.post(&interfaces(SERVER), &attach).await;
    // The store refused: 503, with no internal text for the client.
    assert_eq!(r.status, 503);
    assert_eq!(
        r.json(),
        json!({"serviceUnavailable": {"code": 503,
            "message": "The server is currently unavailable. Please try again at a later time."}})
    );
    failing.store(false, Ordering::SeqCst);
    // Not attached: memory was reloaded from the store.
    assert_eq!(
        app.get(&interfaces(SERVER)).await.json(),
        json!({"interfaceAttachments": []})
    );
    let r = app.post(&interfaces(SERVER), &attach).await;
    assert_eq!(r.status, 200);
}

/// Memory holds the newest instance actions of a server only; a durable
/// store answers for all of them, the memory store (documented retention)
/// for the newest.
async fn instance_actions_beyond_memory(backend: Backend) {
    let cloud = Cloud::open_configured(
        backend.open().await,
        porthole::domain::ids::IdSource::random(),
        Duration::from_secs(5),
        3,
    )
    .await
    .unwrap();
    cloud.seed_if_empty(seed_changes()).await.unwrap();
    let app = TestApp {
        router: porthole::build_router(porthole::AppState::new(cloud, porthole::AuthMode::Noauth)),
    };
    let attach = json!({"interfaceAttachment": {"port_id": PORT_FREE}});
    let mut request_ids = Vec::new();
    for _ in 0..5 {
        let r = app.post(&interfaces(SERVER), &attach).await;
        assert_eq!(r.status, 200, "{}", r.text());
        request_ids.push(r.request_id());
        let r = app.delete(&interface(SERVER, PORT_FREE)).await;
        assert_eq!(r.status, 202);
        request_ids.push(r.request_id());
    }
    let actions = |path: String| {
        let app = &app;
        async move { app.get(&path).await }
    };
    let listed = actions(format!("/v2.1/servers/{SERVER}/os-instance-actions")).await;
    assert_eq!(listed.status, 200);
    let listed: Vec<String> = listed.json()["instanceActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["request_id"].as_str().unwrap().to_owned())
        .collect();
    let newest_first: Vec<String> = request_ids.iter().rev().cloned().collect();
    let oldest = actions(format!(
        "/v2.1/servers/{SERVER}/os-instance-actions/{}",
        request_ids[0]
    ))
    .await;
    if backend.shared() {
        assert_eq!(listed, newest_first, "every action, from the store");
        assert_eq!(oldest.status, 200, "{}", oldest.text());
        // Paging reaches past memory too.
        let path = format!(
            "/v2.1/servers/{SERVER}/os-instance-actions?limit=2&marker={}",
            request_ids[2]
        );
        let page = app
            .send(
                "GET",
                &path,
                &[("OpenStack-API-Version", "compute 2.58")],
                None,
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.text());
        assert_eq!(page.json()["instanceActions"].as_array().unwrap().len(), 2);
    } else {
        assert_eq!(listed, newest_first[..3], "the newest, by retention");
        assert_eq!(oldest.status, 404);
    }
}

#[tokio::test]
async fn seed_applies_only_to_an_empty_store() {
    let cloud = Cloud::open(Arc::new(MemoryStore)).await.unwrap();
    assert!(cloud.seed_if_empty(seed_changes()).await.unwrap());
    assert!(!cloud.seed_if_empty(seed_changes()).await.unwrap());
}

/// A commit the database refuses (a UNIQUE constraint) changes nothing.
#[tokio::test]
async fn sqlite_refuses_a_bad_batch_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    let seed = seed_changes();
    commit(&store, 0, vec![seed.clone()]).await;
    let world = world_of(&[seed]);
    // Another port with PORT_FREE's MAC: the UNIQUE constraint fails the commit.
    let mut clash = world.port(PORT_FREE).unwrap().clone();
    clash.id = "0f0f0f0f-0000-4000-8000-000000000000".into();
    let mut session = store.begin(1).await.unwrap();
    session.missed();
    assert!(matches!(
        session.commit(vec![vec![Change::PutPort(clash)]]).await,
        Err(StoreError::Io(_))
    ));
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.position, 1);
    assert_eq!(loaded.world.dump(), world.dump());
    store.ping().await.unwrap();
}

#[tokio::test]
async fn tokens_stored_before_scopes_and_chains_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("porthole.sqlite3");
    {
        // A database as porthole left it before migration 003.
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch(include_str!("../migrations/sqlite/001_initial.sql"))
            .unwrap();
        connection
            .execute_batch(include_str!("../migrations/sqlite/002_tokens.sql"))
            .unwrap();
        connection.pragma_update(None, "user_version", 2).unwrap();
        connection
            .execute(
                "INSERT INTO tokens (id, user_id, project_id, roles, methods, issued_at, expires_at, audit_id)
                 VALUES ('old-token', 'u1', 'p1', '[\"member\"]', '[\"password\"]', 1, 4102444800000000, 'a1')",
                [],
            )
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let world = store.load().await.unwrap().world;
    let token = world.token("old-token").expect("the old token");
    assert_eq!(token.project_id.as_deref(), Some("p1"));
    assert_eq!(token.domain_id, None);
    assert!(!token.system && !token.revoked);
    assert_eq!(token.audit_ids(), ["a1"]);
    assert!(token.valid_at(2));
}
