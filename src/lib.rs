//! porthole: a standalone, Nova-compatible `os-interface` server.
//!
//! `build_router(state)` is the whole application; tests and embedders need
//! no socket. `serve` runs it on a listener until shutdown.

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod domain;
pub mod embedded;
pub mod error;
pub mod healthcheck;
pub mod metrics;
pub mod seed;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;

pub use app::{build_router, App, AppState};

/// porthole's version (probes, metrics, the OpenAPI document).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub use config::{AuthMode, Config, LogFormat, StoreKind};
pub use embedded::{Embedded, EmbeddedBuilder};
pub use server::{open_state, serve, serve_until};
