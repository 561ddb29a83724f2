//! Library mode: porthole inside a Rust test, on a random loopback port.
//!
//! ```no_run
//! # async fn example() -> Result<(), String> {
//! let porthole = porthole::Embedded::builder()
//!     .auth(porthole::AuthMode::Noauth)
//!     .seed_toml(r#"
//!         [[servers]]
//!         id = "afe25d9b-890b-4847-995c-534aa0cb7cc4"
//!         project_id = "6f70656e737461636b20342065766572"
//!     "#)
//!     .start()
//!     .await?;
//! let url = format!("{}/v2.1/servers/afe25d9b-890b-4847-995c-534aa0cb7cc4/os-interface", porthole.url());
//! // ... send requests to `url` ...
//! porthole.shutdown().await.map_err(|e| e.to_string())?;
//! # Ok(())
//! # }
//! ```
//!
//! Dropping the handle stops the server too (without waiting for it).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::{AppOptions, AppState};
use crate::config::AuthMode;
use crate::seed::SeedDocument;
use crate::server::serve_until;
use crate::service::Cloud;
use crate::store::{MemoryStore, Store};

/// A porthole serving in this process, until [`Embedded::shutdown`] or drop.
pub struct Embedded {
    address: SocketAddr,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Embedded {
    /// In-memory store, no seed, `noauth`: see [`EmbeddedBuilder`].
    pub fn builder() -> EmbeddedBuilder {
        EmbeddedBuilder::default()
    }

    /// Serve `state` on 127.0.0.1 at a port the system picks.
    pub async fn start(state: AppState) -> std::io::Result<Self> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        Self::start_on(listener, state, DEFAULT_GRACE)
    }

    /// Serve `state` on `listener`; `grace` bounds the drain on shutdown.
    /// Call within a Tokio runtime.
    pub fn start_on(
        listener: TcpListener,
        state: AppState,
        grace: Duration,
    ) -> std::io::Result<Self> {
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_until(
            listener,
            state.clone(),
            grace,
            // Fires on `shutdown()` and when the handle is dropped.
            async move {
                let _ = stopped.await;
            },
        ));
        Ok(Embedded {
            address,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The served state (its `cloud`, its `metrics`).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stop accepting, let in-flight requests finish (within the grace
    /// period), and wait for the server to end.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// How long in-flight requests may take on shutdown, by default.
const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// What an [`Embedded`] porthole starts with.
pub struct EmbeddedBuilder {
    auth: AuthMode,
    seed: Option<String>,
    store: Arc<dyn Store>,
    grace: Duration,
}

impl Default for EmbeddedBuilder {
    fn default() -> Self {
        EmbeddedBuilder {
            auth: AuthMode::Noauth,
            seed: None,
            store: Arc::new(MemoryStore),
            grace: DEFAULT_GRACE,
        }
    }
}

impl EmbeddedBuilder {
    /// `noauth` (the default here) or `builtin` (the default users of
    /// `config/porthole.toml`).
    pub fn auth(mut self, auth: AuthMode) -> Self {
        self.auth = auth;
        self
    }

    /// A seed document (TOML, the format of `--seed`), applied at start.
    pub fn seed_toml(mut self, seed: impl Into<String>) -> Self {
        self.seed = Some(seed.into());
        self
    }

    /// Another store than memory (e.g. a `SqliteStore` in a temp dir).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = store;
        self
    }

    /// How long in-flight requests may take on shutdown [default: 5 s].
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Load and seed the store, then serve on 127.0.0.1 at a free port.
    pub async fn start(self) -> Result<Embedded, String> {
        if self.auth == AuthMode::Keystone {
            return Err("keystone mode needs a [keystone] config: use open_state".into());
        }
        let changes = match &self.seed {
            Some(text) => SeedDocument::from_toml(text)
                .and_then(SeedDocument::into_changes)
                .map_err(|e| e.to_string())?,
            None => Vec::new(),
        };
        let cloud = Cloud::open(self.store)
            .await
            .map_err(|e| format!("cannot load state: {e}"))?;
        cloud
            .seed_if_empty(changes.clone())
            .await
            .map_err(|e| format!("cannot apply the seed: {e}"))?;
        // `POST /_porthole/reset` returns to this seed, as in `serve`.
        let state = AppState::new(cloud, self.auth).with_options(AppOptions {
            seed: Arc::new(changes),
            ..AppOptions::default()
        });
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| format!("cannot listen: {e}"))?;
        Embedded::start_on(listener, state, self.grace).map_err(|e| e.to_string())
    }
}
