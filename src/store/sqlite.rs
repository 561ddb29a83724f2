//! The durable default: one SQLite file (WAL, `synchronous=FULL`) that
//! several processes on one host may share. A writer thread runs the write
//! sessions (each holds SQLite's write lock from catch-up to commit, and
//! commits every batch of its group in one transaction: one disk sync); a
//! reader thread loads and catches up; the log's head is shared memory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use rusqlite::{params, Connection};
use rusqlite_migration::{Migrations, M};
use tokio::sync::oneshot;

use super::{
    Batch, Catchup, Head, Position, Snapshot, Store, StoreError, StoreFuture, WriteSession,
};
use crate::domain::*;

/// How long a statement waits for another connection's lock (another
/// process's write session) before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The log's head in a small file beside the database, mapped into every
/// process that opens it: writers raise it after each commit, readers
/// compare it with their position at the cost of one memory load. (SQLite
/// itself needs every process on the same host, so shared memory reaches
/// them all.)
struct SharedHead {
    map: memmap2::MmapMut,
}

impl SharedHead {
    fn open(path: &Path) -> std::io::Result<(Self, std::fs::File)> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        if file.metadata()?.len() < 8 {
            file.set_len(8)?;
        }
        // SAFETY: the file is only ever read and written through this
        // mapping's atomic, by porthole processes; its length never shrinks.
        let map = unsafe { memmap2::MmapMut::map_mut(&file)? };
        Ok((SharedHead { map }, file))
    }

    fn counter(&self) -> &AtomicU64 {
        // SAFETY: a mapping starts on a page boundary, so the first eight
        // bytes are aligned for an AtomicU64; they live as long as `self`.
        unsafe { &*(self.map.as_ptr() as *const AtomicU64) }
    }

    fn get(&self) -> Position {
        self.counter().load(Ordering::Acquire)
    }

    fn raise(&self, position: Position) {
        self.counter().fetch_max(position, Ordering::AcqRel);
    }

    /// Set it to the database's head (at open, under the write lock): a
    /// file left from an older database must not claim a head it lacks.
    fn set(&self, position: Position) {
        self.counter().store(position, Ordering::Release);
    }
}

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// Work for the writer thread, in the order sent.
enum WriteCommand {
    /// Take the write lock (the lock file, shared by every process), then
    /// read what was committed after `since`.
    Begin {
        since: Position,
        reply: Reply<Catchup>,
    },
    /// Commit batches (under the lock).
    Commit(Vec<Vec<Change>>, Reply<Position>),
    /// Release the lock.
    Release,
}

/// Work for the reader thread.
enum ReadCommand {
    Load(Reply<Snapshot>),
    CatchUp(Position, Reply<Catchup>),
    Actions(String, Reply<Option<Vec<InstanceAction>>>),
    Ping(Reply<()>),
}

pub struct SqliteStore {
    writes: mpsc::Sender<WriteCommand>,
    reads: mpsc::Sender<ReadCommand>,
    head: Arc<SharedHead>,
    path: PathBuf,
}

/// States are stored as their text, the same as on the wire; a text no
/// state has fails the load rather than turn into a guess.
macro_rules! state_as_text {
    ($($state:ty),*) => {$(
        impl rusqlite::types::ToSql for $state {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }
        impl rusqlite::types::FromSql for $state {
            fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                value
                    .as_str()?
                    .parse()
                    .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
            }
        }
    )*};
}
state_as_text!(VmState, TaskState, PortStatus);

/// Ids are stored as their text.
macro_rules! id_as_text {
    ($($id:ty),*) => {$(
        impl rusqlite::types::ToSql for $id {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }
        impl rusqlite::types::FromSql for $id {
            fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                value.as_str().map(<$id>::from)
            }
        }
    )*};
}
id_as_text!(ServerId, PortId, NetworkId, SubnetId);

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(e.to_string())
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../migrations/sqlite/001_initial.sql")),
        M::up(include_str!("../../migrations/sqlite/002_tokens.sql")),
        M::up(include_str!("../../migrations/sqlite/003_token_scopes.sql")),
        M::up(include_str!("../../migrations/sqlite/004_network_api.sql")),
        M::up(include_str!("../../migrations/sqlite/005_servers_api.sql")),
        M::up(include_str!(
            "../../migrations/sqlite/006_deleted_servers.sql"
        )),
        M::up(include_str!("../../migrations/sqlite/007_change_log.sql")),
        M::up(include_str!("../../migrations/sqlite/008_fault_rules.sql")),
        M::up(include_str!(
            "../../migrations/sqlite/009_port_fixed_ips_inline.sql"
        )),
    ])
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open(path).map_err(io)?;
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .map_err(io)?;
    connection
        .pragma_update(None, "synchronous", "FULL")
        .map_err(io)?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(io)?;
    Ok(connection)
}

impl SqliteStore {
    /// Open (creating and migrating) the database file at `path`. Several
    /// processes may open one file at once: they migrate in turn.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut head_path = path.as_os_str().to_owned();
        head_path.push("-head");
        let head_path = PathBuf::from(head_path);
        let (head, head_file) = SharedHead::open(&head_path).map_err(io)?;
        // One process at a time migrates and checks the head.
        // (The same lock as the write sessions'.)
        head_file.lock().map_err(io)?;
        let mut writer_connection = open_connection(path)?;
        migrations().to_latest(&mut writer_connection).map_err(io)?;
        let position = read_head(&writer_connection).map_err(io)?;
        if head.get() != position {
            head.set(position);
        }
        head_file.unlock().map_err(io)?;
        let reader_connection = open_connection(path)?;
        let head = Arc::new(head);
        let (writes, write_commands) = mpsc::channel();
        let writer_head = head.clone();
        std::thread::Builder::new()
            .name("porthole-sqlite-w".into())
            .spawn(move || writer(writer_connection, write_commands, &writer_head, head_file))
            .map_err(io)?;
        let (reads, read_commands) = mpsc::channel();
        std::thread::Builder::new()
            .name("porthole-sqlite-r".into())
            .spawn(move || reader(reader_connection, read_commands))
            .map_err(io)?;
        Ok(SqliteStore {
            writes,
            reads,
            head,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read<T: Send + 'static>(
        &self,
        command: impl FnOnce(Reply<T>) -> ReadCommand,
    ) -> StoreFuture<T> {
        let (reply, answer) = oneshot::channel();
        let sent = self.reads.send(command(reply));
        Box::pin(async move {
            sent.map_err(|_| StoreError::Closed)?;
            answer.await.map_err(|_| StoreError::Closed)?
        })
    }
}

impl Store for SqliteStore {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    fn load(&self) -> StoreFuture<Snapshot> {
        self.read(ReadCommand::Load)
    }
    fn head(&self) -> Head {
        Head::Known(self.head.get())
    }
    fn catch_up(&self, since: Position) -> StoreFuture<Catchup> {
        self.read(|reply| ReadCommand::CatchUp(since, reply))
    }
    fn begin(&self, since: Position) -> StoreFuture<Box<dyn WriteSession>> {
        let (reply, answer) = oneshot::channel();
        let writes = self.writes.clone();
        let sent = writes.send(WriteCommand::Begin { since, reply });
        Box::pin(async move {
            sent.map_err(|_| StoreError::Closed)?;
            // Dropped before the answer: the thread sees the reply gone and
            // releases the lock itself.
            let missed = answer.await.map_err(|_| StoreError::Closed)??;
            let session: Box<dyn WriteSession> = Box::new(SqliteSession {
                missed: Some(missed),
                writes,
            });
            Ok(session)
        })
    }
    fn ping(&self) -> StoreFuture<()> {
        self.read(ReadCommand::Ping)
    }
    fn instance_actions(&self, server_id: &str) -> StoreFuture<Option<Vec<InstanceAction>>> {
        let server_id = server_id.to_owned();
        self.read(|reply| ReadCommand::Actions(server_id, reply))
    }
}

struct SqliteSession {
    missed: Option<Catchup>,
    writes: mpsc::Sender<WriteCommand>,
}

impl WriteSession for SqliteSession {
    fn missed(&mut self) -> Catchup {
        self.missed.take().unwrap_or(Catchup::Batches(Vec::new()))
    }
    fn commit(&mut self, batches: Vec<Vec<Change>>) -> StoreFuture<Position> {
        let (reply, answer) = oneshot::channel();
        let sent = self.writes.send(WriteCommand::Commit(batches, reply));
        Box::pin(async move {
            sent.map_err(|_| StoreError::Closed)?;
            answer.await.map_err(|_| StoreError::Closed)?
        })
    }
}

impl Drop for SqliteSession {
    fn drop(&mut self) {
        // After the commits queued before it.
        let _ = self.writes.send(WriteCommand::Release);
    }
}

/// The largest number of commits folded into one transaction.
const MAX_GROUP: usize = 1024;

/// The writer thread, until every sender is gone. A session holds the lock
/// file (an exclusive `flock`, which every process sharing the database
/// takes to write) from its catch-up to its release; its commits, queued,
/// are folded into one transaction each time the thread gets to them (one
/// disk sync for all that waited), while the process prepares the next.
fn writer(
    mut connection: Connection,
    commands: mpsc::Receiver<WriteCommand>,
    head: &SharedHead,
    lock_file: std::fs::File,
) {
    let mut locked = false;
    // A commit failed in this session: the later ones may depend on it.
    let mut failed = false;
    let mut pending: Option<WriteCommand> = None;
    loop {
        let command = match pending.take() {
            Some(command) => command,
            None => match commands.recv() {
                Ok(command) => command,
                Err(_) => return,
            },
        };
        match command {
            WriteCommand::Begin { since, reply } => {
                if let Err(error) = take_lock(&lock_file) {
                    let _ = reply.send(Err(error));
                    continue;
                }
                locked = true;
                failed = false;
                let missed = in_read_tx(&mut connection, |c| catch_up(c, since)).map_err(io);
                let ok = missed.is_ok();
                if reply.send(missed).is_err() || !ok {
                    // Nobody holds this session: let the others in.
                    let _ = lock_file.unlock();
                    locked = false;
                }
            }
            WriteCommand::Commit(batches, reply) => {
                let mut group = vec![(batches, reply)];
                while group.len() < MAX_GROUP {
                    match commands.try_recv() {
                        Ok(WriteCommand::Commit(batches, reply)) => group.push((batches, reply)),
                        Ok(other) => {
                            pending = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                if !locked || failed {
                    let error = if locked {
                        "an earlier commit of this session failed"
                    } else {
                        "commit outside a write session"
                    };
                    for (_, reply) in group {
                        let _ = reply.send(Err(StoreError::Io(error.into())));
                    }
                    continue;
                }
                match commit(&mut connection, group.iter().map(|(b, _)| b.as_slice())) {
                    Ok(positions) => {
                        if let Some(last) = positions.last() {
                            head.raise(*last);
                        }
                        for ((_, reply), position) in group.into_iter().zip(positions) {
                            let _ = reply.send(Ok(position));
                        }
                    }
                    Err(error) => {
                        tracing::error!(%error, "sqlite commit failed");
                        failed = true;
                        for (_, reply) in group {
                            let _ = reply.send(Err(io(&error)));
                        }
                    }
                }
            }
            WriteCommand::Release => {
                if locked {
                    let _ = lock_file.unlock();
                    locked = false;
                }
            }
        }
    }
}

/// The lock file, waited for up to [`BUSY_TIMEOUT`] (another process's
/// session holds it).
fn take_lock(lock_file: &std::fs::File) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    loop {
        match lock_file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Timeout(BUSY_TIMEOUT));
            }
            Err(std::fs::TryLockError::Error(error)) => return Err(io(error)),
        }
    }
}

/// In one transaction, append each commit's batches to the log and apply
/// them to the tables; answers each commit's last position.
fn commit<'a>(
    connection: &mut Connection,
    commits: impl Iterator<Item = &'a [Vec<Change>]>,
) -> rusqlite::Result<Vec<Position>> {
    let tx = CachedTx::begin(connection, "BEGIN IMMEDIATE")?;
    let before = read_head(&tx)?;
    let mut position = before;
    let mut positions = Vec::new();
    for batches in commits {
        for batch in batches {
            position += 1;
            let text = serde_json::to_string(batch).expect("changes serialise");
            tx.prepare_cached("INSERT INTO change_log (seq, batch) VALUES (?1, ?2)")?
                .execute(params![position as i64, text])?;
            for change in batch {
                write_change(&tx, change)?;
            }
        }
        positions.push(position);
    }
    tx.prepare_cached("UPDATE log_head SET position = ?1 WHERE id = 1")?
        .execute([position as i64])?;
    if let Some((above, upto)) = super::log_trim(before, position) {
        tx.prepare_cached("DELETE FROM change_log WHERE seq > ?1 AND seq <= ?2")?
            .execute([above as i64, upto as i64])?;
    }
    tx.commit()?;
    Ok(positions)
}

/// The reader thread: loads and catch-ups, each in one read transaction
/// (a consistent snapshot of the file), until every sender is gone.
fn reader(mut connection: Connection, commands: mpsc::Receiver<ReadCommand>) {
    while let Ok(command) = commands.recv() {
        match command {
            ReadCommand::Load(reply) => {
                let _ = reply.send(in_read_tx(&mut connection, load).map_err(io));
            }
            ReadCommand::CatchUp(since, reply) => {
                let _ = reply.send(in_read_tx(&mut connection, |c| catch_up(c, since)).map_err(io));
            }
            ReadCommand::Actions(server_id, reply) => {
                let actions = read_actions(&connection, &server_id).map(Some);
                let _ = reply.send(actions.map_err(io));
            }
            ReadCommand::Ping(reply) => {
                let _ = reply.send(read_head(&connection).map(drop).map_err(io));
            }
        }
    }
}

fn in_read_tx<T>(
    connection: &mut Connection,
    f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let tx = CachedTx::begin(connection, "BEGIN")?;
    let result = f(&tx)?;
    tx.commit()?;
    Ok(result)
}

/// A transaction whose `BEGIN` and `COMMIT` are cached statements:
/// rusqlite's `Transaction` parses both anew each time (thousands of
/// instructions a statement, on every commit and catch-up). Rolled back
/// when dropped uncommitted, as a `Transaction` is.
struct CachedTx<'c> {
    connection: &'c Connection,
}

impl<'c> CachedTx<'c> {
    fn begin(connection: &'c mut Connection, begin: &str) -> rusqlite::Result<Self> {
        connection.prepare_cached(begin)?.execute([])?;
        Ok(CachedTx { connection })
    }

    fn commit(self) -> rusqlite::Result<()> {
        // Failed: dropped, still in the transaction, so rolled back.
        self.connection.prepare_cached("COMMIT")?.execute([])?;
        Ok(())
    }
}

impl std::ops::Deref for CachedTx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.connection
    }
}

impl Drop for CachedTx<'_> {
    fn drop(&mut self) {
        if !self.connection.is_autocommit() {
            let _ = self.connection.execute_batch("ROLLBACK");
        }
    }
}

fn read_head(connection: &Connection) -> rusqlite::Result<Position> {
    connection
        .prepare_cached("SELECT position FROM log_head WHERE id = 1")?
        .query_row([], |row| row.get::<_, i64>(0))
        .map(|p| p as Position)
}

fn load(connection: &Connection) -> rusqlite::Result<Snapshot> {
    Ok(Snapshot {
        position: read_head(connection)?,
        world: read_world(connection)?,
    })
}

/// What was committed after `since`: the log's batches, or the whole state
/// when the log was trimmed past it.
fn catch_up(connection: &Connection, since: Position) -> rusqlite::Result<Catchup> {
    let head = read_head(connection)?;
    if since >= head {
        return Ok(Catchup::Batches(Vec::new()));
    }
    let oldest: Option<i64> = connection
        .prepare_cached("SELECT min(seq) FROM change_log")?
        .query_row([], |row| row.get(0))?;
    if oldest.is_none_or(|oldest| oldest as Position > since + 1) {
        return load(connection).map(|s| Catchup::Reload(Box::new(s)));
    }
    let mut statement = connection
        .prepare_cached("SELECT seq, batch FROM change_log WHERE seq > ?1 ORDER BY seq")?;
    let batches = statement
        .query_map([since as i64], |row| {
            Ok(Batch {
                seq: row.get::<_, i64>(0)? as Position,
                changes: json_column(row, 1)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Catchup::Batches(batches))
}

fn write_change(tx: &Connection, change: &Change) -> rusqlite::Result<()> {
    match change {
        Change::PutServer(s) => {
            tx.prepare_cached(
                "INSERT INTO servers (id, name, project_id, user_id, vm_state, task_state, locked, launched, details, deleted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, project_id = excluded.project_id,
                   user_id = excluded.user_id, vm_state = excluded.vm_state, task_state = excluded.task_state,
                   locked = excluded.locked, launched = excluded.launched, details = excluded.details,
                   deleted = 0",
            )?
            .execute(params![s.id, s.name, s.project_id, s.user_id, s.vm_state, s.task_state, s.locked, s.launched,
                serde_json::to_string(&s.details).expect("details serialise")])?;
        }
        Change::PutNetwork(n) => {
            tx.prepare_cached(
                "INSERT INTO networks (id, name, project_id, shared, external, port_security_enabled, neutron)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, project_id = excluded.project_id,
                   shared = excluded.shared, external = excluded.external,
                   port_security_enabled = excluded.port_security_enabled, neutron = excluded.neutron",
            )?
            .execute(params![n.id, n.name, n.project_id, n.shared, n.external, n.port_security_enabled, attrs_json(&n.neutron)])?;
        }
        Change::PutSubnet(s) => {
            let pools = serde_json::to_string(&s.allocation_pools).expect("serializable");
            tx.prepare_cached(
                "INSERT INTO subnets (id, network_id, cidr, gateway_ip, allocation_pools, neutron) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(id) DO UPDATE SET network_id = excluded.network_id, cidr = excluded.cidr,
                   gateway_ip = excluded.gateway_ip, allocation_pools = excluded.allocation_pools,
                   neutron = excluded.neutron",
            )?
            .execute(params![s.id, s.network_id, s.cidr.to_string(), s.gateway_ip.map(|g| g.to_string()), pools, attrs_json(&s.neutron)])?;
        }
        Change::PutPort(p) => {
            tx.prepare_cached(
                "INSERT INTO ports (id, network_id, project_id, mac_address, device_id, device_owner, status,
                   preserve_on_delete, tag, seq, neutron, fixed_ips)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT(id) DO UPDATE SET network_id = excluded.network_id, project_id = excluded.project_id,
                   mac_address = excluded.mac_address, device_id = excluded.device_id,
                   device_owner = excluded.device_owner, status = excluded.status,
                   preserve_on_delete = excluded.preserve_on_delete, tag = excluded.tag, seq = excluded.seq,
                   neutron = excluded.neutron, fixed_ips = excluded.fixed_ips",
            )?
            .execute(params![
                p.id,
                p.network_id,
                p.project_id,
                p.mac_address,
                p.device_id,
                p.device_owner,
                p.status,
                p.preserve_on_delete,
                p.tag,
                p.seq as i64,
                attrs_json(&p.neutron),
                serde_json::to_string(&p.fixed_ips).expect("serializable")
            ])?;
        }
        Change::DeleteNetwork(id) => {
            tx.prepare_cached("DELETE FROM networks WHERE id = ?1")?
                .execute([id])?;
        }
        Change::DeleteSubnet(id) => {
            tx.prepare_cached("DELETE FROM subnets WHERE id = ?1")?
                .execute([id])?;
        }
        Change::DeletePort(id) => {
            tx.prepare_cached("DELETE FROM ports WHERE id = ?1")?
                .execute([id])?;
        }
        Change::PutAction(a) => {
            let events = serde_json::to_string(&a.events).expect("serializable");
            tx.prepare_cached(
                "INSERT INTO instance_actions (server_id, request_id, action, user_id, project_id, start_time,
                   updated_at, message, seq, events) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT(server_id, request_id) DO UPDATE SET action = excluded.action,
                   user_id = excluded.user_id, project_id = excluded.project_id, start_time = excluded.start_time,
                   updated_at = excluded.updated_at, message = excluded.message, seq = excluded.seq,
                   events = excluded.events",
            )?
            .execute(params![
                a.server_id,
                a.request_id,
                a.action,
                a.user_id,
                a.project_id,
                a.start_time,
                a.updated_at,
                a.message,
                a.seq as i64,
                events
            ])?;
        }
        Change::PutToken(t) => {
            tx.prepare_cached(
                "INSERT INTO tokens (id, user_id, project_id, roles, methods, issued_at, expires_at, audit_id,
                   domain_id, system, parent_audit_id, revoked)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT(id) DO UPDATE SET user_id = excluded.user_id, project_id = excluded.project_id,
                   roles = excluded.roles, methods = excluded.methods, issued_at = excluded.issued_at,
                   expires_at = excluded.expires_at, audit_id = excluded.audit_id,
                   domain_id = excluded.domain_id, system = excluded.system,
                   parent_audit_id = excluded.parent_audit_id, revoked = excluded.revoked",
            )?
            .execute(params![
                t.id,
                t.user_id,
                t.project_id,
                serde_json::to_string(&t.roles).expect("serializable"),
                serde_json::to_string(&t.methods).expect("serializable"),
                t.issued_at,
                t.expires_at,
                t.audit_id,
                t.domain_id,
                t.system,
                t.parent_audit_id,
                t.revoked
            ])?;
        }
        Change::DeleteToken(id) => {
            tx.prepare_cached("DELETE FROM tokens WHERE id = ?1")?
                .execute([id])?;
        }
        Change::DeleteServer(id) => {
            tx.prepare_cached("DELETE FROM instance_actions WHERE server_id = ?1")?
                .execute([id])?;
            tx.prepare_cached("DELETE FROM servers WHERE id = ?1")?
                .execute([id])?;
        }
        Change::SoftDeleteServer(id) => {
            tx.prepare_cached("UPDATE servers SET deleted = 1 WHERE id = ?1")?
                .execute([id])?;
        }
        Change::PutFaultRule(rule) => {
            tx.prepare_cached(
                "INSERT INTO fault_rules (id, rule) VALUES (?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET rule = excluded.rule",
            )?
            .execute(params![
                rule.id,
                serde_json::to_string(rule).expect("serializable")
            ])?;
        }
        Change::DeleteFaultRule(id) => {
            tx.prepare_cached("DELETE FROM fault_rules WHERE id = ?1")?
                .execute([id])?;
        }
        Change::ClearFaultRules => {
            tx.execute_batch("DELETE FROM fault_rules")?;
        }
        Change::Reset => {
            tx.execute_batch(
                "DELETE FROM ports; DELETE FROM subnets;
                 DELETE FROM networks; DELETE FROM instance_actions; DELETE FROM servers;",
            )?;
        }
    }
    Ok(())
}

fn attrs_json(attrs: &NeutronAttrs) -> String {
    serde_json::to_string(attrs).expect("serializable")
}

/// A JSON column, parsed from SQLite's buffer (no copy of the text).
fn json_column<T: serde::de::DeserializeOwned>(
    row: &rusqlite::Row,
    column: usize,
) -> rusqlite::Result<T> {
    serde_json::from_str(row.get_ref(column)?.as_str()?).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// The last JSON text parsed from a column and its value: rows that repeat
/// it (a million ports with the same attributes) share one value, parsed
/// once.
struct SharedJson<T> {
    text: String,
    value: Option<Arc<T>>,
}

impl<T> Default for SharedJson<T> {
    fn default() -> Self {
        SharedJson {
            text: String::new(),
            value: None,
        }
    }
}

impl<T: serde::de::DeserializeOwned> SharedJson<T> {
    fn parse(&mut self, row: &rusqlite::Row, column: usize) -> rusqlite::Result<Arc<T>> {
        let text = row.get_ref(column)?.as_str()?;
        if let Some(value) = self.value.as_ref().filter(|_| self.text == text) {
            return Ok(value.clone());
        }
        let value: Arc<T> = Arc::new(json_column(row, column)?);
        self.text.clear();
        self.text.push_str(text);
        self.value = Some(value.clone());
        Ok(value)
    }
}

/// A text column parsed with `FromStr`, from SQLite's buffer.
fn parse_ref<T: std::str::FromStr>(row: &rusqlite::Row, column: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    parse_text(column, row.get_ref(column)?.as_str()?)
}

/// `text` (of `column`) parsed with `FromStr`.
fn parse_text<T: std::str::FromStr>(column: usize, text: &str) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    text.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// A table's row count (capacities for the load).
fn count(connection: &Connection, table: &str) -> rusqlite::Result<usize> {
    connection
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n as usize)
}

/// One server's instance actions, oldest first.
fn read_actions(connection: &Connection, server_id: &str) -> rusqlite::Result<Vec<InstanceAction>> {
    let mut actions = Vec::new();
    for_each_action(connection, Some(server_id), |action| actions.push(action))?;
    Ok(actions)
}

/// Instance actions oldest first, one at a time: one server's, or (`None`)
/// all (a load: the world keeps only the newest per server, so a long
/// history never sits in memory whole).
fn for_each_action(
    connection: &Connection,
    server_id: Option<&str>,
    mut each: impl FnMut(InstanceAction),
) -> rusqlite::Result<()> {
    // Two statements, not `?1 IS NULL OR server_id = ?1`: SQLite plans that
    // one as a scan and sort of every server's actions, on each request
    // for one server's.
    macro_rules! select_actions {
        ($filter:literal) => {
            concat!(
                "SELECT server_id, request_id, action, user_id, project_id, start_time, updated_at, message, seq, events
                 FROM instance_actions ",
                $filter,
                " ORDER BY seq"
            )
        };
    }
    let mut statement = connection.prepare_cached(match server_id {
        Some(_) => select_actions!("WHERE server_id = ?1"),
        None => select_actions!(""),
    })?;
    let rows = statement.query_map(rusqlite::params_from_iter(server_id), |r| {
        let server_id: ServerId = r.get(0)?;
        let request_id: String = r.get(1)?;
        Ok(InstanceAction {
            events: json_column(r, 9)?,
            server_id,
            request_id,
            action: r.get(2)?,
            user_id: r.get(3)?,
            project_id: r.get(4)?,
            start_time: r.get(5)?,
            updated_at: r.get(6)?,
            message: r.get(7)?,
            seq: r.get::<_, i64>(8)? as u64,
        })
    })?;
    for action in rows {
        each(action?);
    }
    Ok(())
}

fn read_world(connection: &Connection) -> rusqlite::Result<World> {
    let mut world = World::default();
    world.reserve(count(connection, "servers")?, count(connection, "ports")?);
    let mut servers = connection.prepare(
        "SELECT id, name, project_id, user_id, vm_state, task_state, locked, launched, details, deleted
         FROM servers ORDER BY rowid",
    )?;
    for server in servers.query_map([], |r| {
        let deleted: bool = r.get(9)?;
        let server = Server {
            id: r.get(0)?,
            name: r.get(1)?,
            project_id: r.get(2)?,
            user_id: r.get(3)?,
            vm_state: r.get(4)?,
            task_state: r.get(5)?,
            locked: r.get(6)?,
            launched: r.get(7)?,
            details: json_column(r, 8)?,
        };
        Ok((server, deleted))
    })? {
        let (server, deleted) = server?;
        let id = server.id.clone();
        world.apply(Change::PutServer(server));
        if deleted {
            world.apply(Change::SoftDeleteServer(id));
        }
    }
    let mut networks = connection.prepare(
        "SELECT id, name, project_id, shared, external, port_security_enabled, neutron FROM networks ORDER BY rowid",
    )?;
    for network in networks.query_map([], |r| {
        Ok(Network {
            id: r.get(0)?,
            name: r.get(1)?,
            project_id: r.get(2)?,
            shared: r.get(3)?,
            external: r.get(4)?,
            port_security_enabled: r.get(5)?,
            neutron: json_column(r, 6)?,
        })
    })? {
        world.apply(Change::PutNetwork(network?));
    }
    let mut subnets = connection.prepare(
        "SELECT id, network_id, cidr, gateway_ip, allocation_pools, neutron FROM subnets ORDER BY rowid",
    )?;
    for subnet in subnets.query_map([], |r| {
        Ok(Subnet {
            id: r.get(0)?,
            network_id: r.get(1)?,
            cidr: parse_ref(r, 2)?,
            gateway_ip: r
                .get_ref(3)?
                .as_str_or_null()?
                .map(|text| parse_text(3, text))
                .transpose()?,
            allocation_pools: json_column(r, 4)?,
            neutron: json_column(r, 5)?,
        })
    })? {
        world.apply(Change::PutSubnet(subnet?));
    }
    // Not read in an index's order: walking an index costs a table lookup
    // per row, and the world comes out the same in any port order.
    let mut ports = connection.prepare(
        "SELECT id, network_id, project_id, mac_address, device_id, device_owner, status, preserve_on_delete, tag, seq,
           neutron, fixed_ips
         FROM ports",
    )?;
    let mut port_attrs = SharedJson::default();
    let mut rows = ports.query([])?;
    while let Some(r) = rows.next()? {
        let port = Port {
            id: r.get(0)?,
            network_id: r.get(1)?,
            project_id: r.get(2)?,
            mac_address: r.get(3)?,
            device_id: r.get(4)?,
            device_owner: r.get(5)?,
            status: r.get(6)?,
            preserve_on_delete: r.get(7)?,
            tag: r.get(8)?,
            seq: r.get::<_, i64>(9)? as u64,
            neutron: port_attrs.parse(r, 10)?,
            fixed_ips: {
                // Parsed into a vector that grew by pushes (room for 4).
                let mut ips: Vec<FixedIp> = json_column(r, 11)?;
                ips.shrink_to_fit();
                ips
            },
        };
        world.apply(Change::PutPort(port));
    }
    for_each_action(connection, None, |action| {
        world.apply(Change::PutAction(action))
    })?;
    let mut tokens = connection.prepare(
        "SELECT id, user_id, project_id, roles, methods, issued_at, expires_at, audit_id,
           domain_id, system, parent_audit_id, revoked
         FROM tokens ORDER BY issued_at",
    )?;
    for token in tokens.query_map([], |r| {
        Ok(crate::domain::directory::Token {
            id: r.get(0)?,
            user_id: r.get(1)?,
            project_id: r.get(2)?,
            roles: json_column(r, 3)?,
            methods: json_column(r, 4)?,
            issued_at: r.get(5)?,
            expires_at: r.get(6)?,
            audit_id: r.get(7)?,
            domain_id: r.get(8)?,
            system: r.get(9)?,
            parent_audit_id: r.get(10)?,
            revoked: r.get(11)?,
        })
    })? {
        world.apply(Change::PutToken(token?));
    }
    let mut rules = connection.prepare("SELECT rule FROM fault_rules ORDER BY rowid")?;
    for rule in rules.query_map([], |r| json_column(r, 0))? {
        world.apply(Change::PutFaultRule(rule?));
    }
    Ok(world)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Commit one batch in a session of its own.
    async fn commit_now(store: &SqliteStore, changes: Vec<Change>) {
        let mut session = store.begin(0).await.unwrap();
        session.missed();
        session.commit(vec![changes]).await.unwrap();
    }

    fn server(id: &str, vm_state: VmState, task_state: Option<TaskState>) -> Change {
        Change::PutServer(Server {
            id: id.into(),
            name: String::new(),
            project_id: "p".into(),
            user_id: "u".into(),
            vm_state,
            task_state,
            locked: false,
            launched: true,
            details: Default::default(),
        })
    }

    /// The columns hold the same text as before the states were typed, so
    /// existing files load without a migration.
    #[tokio::test]
    async fn states_are_stored_as_their_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let store = SqliteStore::open(&path).unwrap();
        commit_now(
            &store,
            vec![
                server("s1", VmState::SoftDeleted, Some(TaskState::PoweringOff)),
                server("s2", VmState::Active, None),
                Change::PutPort(Port {
                    id: "port-a".into(),
                    network_id: "n".into(),
                    project_id: "p".into(),
                    mac_address: "fa:16:3e:00:00:01".into(),
                    fixed_ips: Vec::new(),
                    device_id: String::new(),
                    device_owner: String::new(),
                    status: PortStatus::Build,
                    preserve_on_delete: true,
                    tag: None,
                    seq: 0,
                    neutron: NeutronAttrs {
                        name: "named".into(),
                        ..Default::default()
                    }
                    .into(),
                }),
            ],
        )
        .await;
        let raw = Connection::open(&path).unwrap();
        let states: Vec<(String, Option<String>)> = raw
            .prepare("SELECT vm_state, task_state FROM servers ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            states,
            [
                ("soft-delete".to_owned(), Some("powering-off".to_owned())),
                ("active".to_owned(), None)
            ]
        );
        let status: String = raw
            .query_row("SELECT status FROM ports", [], |r| r.get(0))
            .unwrap();
        assert_eq!(status, "BUILD");
        let loaded = store.load().await.unwrap().world;
        assert_eq!(
            loaded.server("s1").unwrap().task_state,
            Some(TaskState::PoweringOff)
        );
        // Neutron's attributes round-trip through their JSON column.
        assert_eq!(loaded.port("port-a").unwrap().neutron.name, "named");
        assert!(loaded.port("port-a").unwrap().neutron.admin_state_up);

        // A text no state has is refused at load, not guessed.
        raw.execute(
            "UPDATE servers SET task_state = 'warping' WHERE id = 's2'",
            [],
        )
        .unwrap();
        let error = store.load().await.unwrap_err().to_string();
        assert!(
            error.contains("task_state 'warping' is not one of"),
            "{error}"
        );
    }

    /// The network API's changes: Neutron's attributes kept, deletes durable.
    #[tokio::test]
    async fn networks_and_subnets_are_kept_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let store = SqliteStore::open(&path).unwrap();
        let network = |id: &str| Network {
            id: id.into(),
            name: id.into(),
            project_id: "p".into(),
            shared: false,
            external: false,
            port_security_enabled: true,
            neutron: NeutronAttrs {
                mtu: 1450,
                description: "d".into(),
                revision_number: 3,
                ..Default::default()
            },
        };
        let subnet = |id: &str, network: &str, cidr: &str| Subnet {
            id: id.into(),
            network_id: network.into(),
            cidr: cidr.parse().unwrap(),
            gateway_ip: None,
            allocation_pools: Vec::new(),
            neutron: NeutronAttrs {
                dns_nameservers: vec!["9.9.9.9".into()],
                ..Default::default()
            },
        };
        commit_now(
            &store,
            vec![
                Change::PutNetwork(network("n1")),
                Change::PutNetwork(network("n2")),
                Change::PutSubnet(subnet("s1", "n1", "10.0.0.0/24")),
                Change::PutSubnet(subnet("s2", "n2", "10.1.0.0/24")),
                Change::DeleteSubnet("s2".into()),
                Change::DeleteNetwork("n2".into()),
            ],
        )
        .await;
        drop(store);
        let loaded = SqliteStore::open(&path)
            .unwrap()
            .load()
            .await
            .unwrap()
            .world;
        assert_eq!(loaded.network("n1"), Some(&network("n1")));
        assert!(loaded.network("n2").is_none());
        assert_eq!(
            loaded.subnet("s1"),
            Some(&subnet("s1", "n1", "10.0.0.0/24"))
        );
        assert!(loaded.subnet("s2").is_none());
    }

    /// Migration 005: the servers API's fields survive a reload; a row
    /// written before it (`details` = '{}') loads with the defaults.
    #[tokio::test]
    async fn server_details_round_trip_and_old_rows_get_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let store = SqliteStore::open(&path).unwrap();
        let mut detailed = Server {
            id: "s1".into(),
            name: "vm".into(),
            project_id: "p".into(),
            user_id: "u".into(),
            vm_state: VmState::Active,
            task_state: None,
            locked: true,
            launched: true,
            details: Default::default(),
        };
        detailed.details.flavor_id = "3".into();
        detailed.details.image_id = "img".into();
        detailed.details.metadata.insert("k".into(), "v".into());
        detailed.details.tags = vec!["a".into()];
        detailed.details.description = Some("d".into());
        detailed.details.locked_reason = Some("why".into());
        detailed.details.launched_at = Some(42);
        commit_now(
            &store,
            vec![
                Change::PutServer(detailed.clone()),
                server("s2", VmState::Stopped, None),
            ],
        )
        .await;
        Connection::open(&path)
            .unwrap()
            .execute("UPDATE servers SET details = '{}' WHERE id = 's2'", [])
            .unwrap();
        let loaded = store.load().await.unwrap().world;
        assert_eq!(loaded.server("s1"), Some(&detailed));
        assert_eq!(
            loaded.server("s2").unwrap().details,
            ServerDetails::default()
        );
    }

    /// Migration 009: each port's addresses move into its row in their
    /// order (inserted out of order here), a port without any gets `[]`,
    /// and the old table is gone.
    #[tokio::test]
    async fn fixed_ips_move_into_their_port_rows_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            // A store as migration 8 left it: addresses in their own table.
            let mut raw = Connection::open(&path).unwrap();
            migrations().to_version(&mut raw, 8).unwrap();
            raw.execute_batch(
                "INSERT INTO ports (id, network_id, project_id, mac_address, device_id, device_owner, status,
                   preserve_on_delete, tag, seq)
                 VALUES ('p1', 'n', 'proj', 'fa:16:3e:00:00:01', '', '', 'DOWN', 1, NULL, 1),
                        ('p2', 'n', 'proj', 'fa:16:3e:00:00:02', '', '', 'DOWN', 1, NULL, 2);
                 INSERT INTO port_fixed_ips (port_id, position, subnet_id, ip_address)
                 VALUES ('p1', 1, 's6', '2001:db8::5'), ('p1', 0, 's4', '10.0.0.5');",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let world = store.load().await.unwrap().world;
        let ips = |id: &str| {
            let port = world.port(id).unwrap();
            port.fixed_ips
                .iter()
                .map(|ip| (ip.subnet_id.to_string(), ip.ip_address.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ips("p1"),
            [
                ("s4".to_owned(), "10.0.0.5".to_owned()),
                ("s6".to_owned(), "2001:db8::5".to_owned())
            ]
        );
        assert_eq!(ips("p2"), []);
        let tables: i64 = Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'port_fixed_ips'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0);
    }

    /// Migration 006: a soft-deleted server comes back deleted (rows from
    /// before it are live); a later put of the same id makes it live again,
    /// and a hard delete removes it.
    #[tokio::test]
    async fn deleted_servers_stay_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let store = SqliteStore::open(&path).unwrap();
        commit_now(
            &store,
            vec![
                server("s1", VmState::Active, None),
                server("s2", VmState::Active, None),
                server("s3", VmState::Active, None),
                Change::SoftDeleteServer("s1".into()),
                Change::SoftDeleteServer("s2".into()),
                Change::SoftDeleteServer("s3".into()),
                server("s2", VmState::Stopped, None),
                Change::DeleteServer("s3".into()),
            ],
        )
        .await;
        let loaded = store.load().await.unwrap().world;
        assert!(loaded.server("s1").is_none());
        assert!(loaded.deleted_server("s1").is_some());
        assert_eq!(loaded.server("s2").unwrap().vm_state, VmState::Stopped);
        assert!(loaded.deleted_server("s2").is_none());
        assert!(loaded.server("s3").is_none() && loaded.deleted_server("s3").is_none());
    }
}
