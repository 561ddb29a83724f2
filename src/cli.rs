//! The command line. Every flag has its `PORTHOLE_*` variable here, and only here.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{
    AuthMode, Config, FileConfig, LogFormat, PortInitialStatus, StoreKind, Switch,
};

#[derive(Debug, Parser)]
#[command(
    name = "porthole",
    version,
    about = "A standalone, Nova-compatible os-interface server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per run: the size of the serve flags does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API.
    Serve(ServeArgs),
    /// Probe a running porthole (Docker HEALTHCHECK): exit 0 when GET URL
    /// answers 200, 1 otherwise.
    Healthcheck(HealthcheckArgs),
}

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// URL to probe [default: http://127.0.0.1:PORT/healthz, PORT from PORTHOLE_LISTEN or 8774].
    pub url: Option<String>,
    /// The server's listen address, for the default URL (0.0.0.0 is probed on 127.0.0.1).
    #[arg(long, env = "PORTHOLE_LISTEN")]
    pub listen: Option<String>,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 3)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML config file (flags and variables override it).
    #[arg(long, env = "PORTHOLE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8774].
    #[arg(long, env = "PORTHOLE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Storage backend: sqlite, memory, or a PostgreSQL URL
    /// (postgres://user@host:5432/db) [default: sqlite].
    #[arg(
        long,
        env = "PORTHOLE_STORE",
        value_name = "sqlite|memory|postgres://…"
    )]
    pub store: Option<StoreKind>,
    /// Milliseconds a request waits for the store before it is answered
    /// 503 [default: 5000].
    #[arg(long, env = "PORTHOLE_STORE_TIMEOUT_MS")]
    pub store_timeout_ms: Option<u64>,
    /// Instance actions per server kept in memory; older ones are read from
    /// SQLite or PostgreSQL when asked for (the memory store forgets them)
    /// [default: 1000].
    #[arg(long, env = "PORTHOLE_INSTANCE_ACTIONS_IN_MEMORY")]
    pub instance_actions_in_memory: Option<usize>,
    /// Directory of the SQLite database [default: ./porthole-data].
    #[arg(long, env = "PORTHOLE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Seed file (TOML) applied to an empty store at start-up.
    #[arg(long, env = "PORTHOLE_SEED")]
    pub seed: Option<PathBuf>,
    /// Authentication mode [default: builtin].
    #[arg(long, env = "PORTHOLE_AUTH", value_enum)]
    pub auth: Option<AuthMode>,
    /// Log filter, e.g. `info` or `porthole=debug` [default: info].
    #[arg(long, env = "PORTHOLE_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Log lines as text or JSON [default: text].
    #[arg(long, env = "PORTHOLE_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Seconds in-flight requests may take to finish on SIGTERM [default: 10].
    #[arg(long, env = "PORTHOLE_SHUTDOWN_GRACE")]
    pub shutdown_grace: Option<u64>,
    /// oslo.policy file (YAML) overriding Nova's default rules.
    #[arg(long, env = "PORTHOLE_POLICY_FILE")]
    pub policy_file: Option<PathBuf>,
    /// Serve the control plane under /_porthole/ [default: on].
    #[arg(long, env = "PORTHOLE_CONTROL_PLANE", value_enum)]
    pub control_plane: Option<Switch>,
    /// Milliseconds an attached port stays DOWN/BUILD before it turns ACTIVE [default: 0].
    #[arg(long, env = "PORTHOLE_PORT_ACTIVATION_DELAY_MS")]
    pub port_activation_delay_ms: Option<u64>,
    /// Status of an attached port until it is activated [default: DOWN].
    #[arg(long, env = "PORTHOLE_PORT_INITIAL_STATUS", value_enum)]
    pub port_initial_status: Option<PortInitialStatus>,
    /// Seed for generated ids, MACs and request ids: reproducible run to run.
    #[arg(long, env = "PORTHOLE_DETERMINISTIC", value_name = "SEED")]
    pub deterministic: Option<u64>,
    /// Milliseconds a created server stays BUILD before it turns ACTIVE [default: 0].
    #[arg(long, env = "PORTHOLE_SERVER_BUILD_DELAY_MS")]
    pub server_build_delay_ms: Option<u64>,
}

impl ServeArgs {
    /// Defaults, then the config file, then flags and variables.
    pub fn into_config(self) -> Result<Config, String> {
        let file = match &self.config {
            Some(path) => FileConfig::read(path)?,
            None => FileConfig::default(),
        };
        let defaults = Config::default();
        Ok(Config {
            listen: self.listen.or(file.listen).unwrap_or(defaults.listen),
            store: self.store.or(file.store).unwrap_or(defaults.store),
            store_timeout: self
                .store_timeout_ms
                .or(file.store_timeout_ms)
                .filter(|ms| *ms > 0)
                .map(std::time::Duration::from_millis)
                .unwrap_or(defaults.store_timeout),
            instance_actions_in_memory: self
                .instance_actions_in_memory
                .or(file.instance_actions_in_memory)
                .filter(|n| *n > 0)
                .unwrap_or(defaults.instance_actions_in_memory),
            data_dir: self.data_dir.or(file.data_dir).unwrap_or(defaults.data_dir),
            seed: self.seed.or(file.seed),
            auth: self.auth.or(file.auth).unwrap_or(defaults.auth),
            log_level: self
                .log_level
                .or(file.log_level)
                .unwrap_or(defaults.log_level),
            log_format: self
                .log_format
                .or(file.log_format)
                .unwrap_or(defaults.log_format),
            shutdown_grace: self
                .shutdown_grace
                .or(file.shutdown_grace)
                .map(std::time::Duration::from_secs)
                .unwrap_or(defaults.shutdown_grace),
            policy_file: self.policy_file.or(file.policy_file),
            control_plane: self
                .control_plane
                .or(file.control_plane)
                .map(|s| s == Switch::On)
                .unwrap_or(defaults.control_plane),
            port_activation_delay: self
                .port_activation_delay_ms
                .or(file.port_activation_delay_ms)
                .map(std::time::Duration::from_millis)
                .unwrap_or(defaults.port_activation_delay),
            port_initial_status: self
                .port_initial_status
                .or(file.port_initial_status)
                .unwrap_or(defaults.port_initial_status),
            deterministic: self.deterministic.or(file.deterministic),
            server_build_delay: self
                .server_build_delay_ms
                .or(file.server_build_delay_ms)
                .map(std::time::Duration::from_millis)
                .unwrap_or(defaults.server_build_delay),
            flavors: file.flavors.unwrap_or(defaults.flavors),
            images: file.images.unwrap_or(defaults.images),
            identity: file.identity.unwrap_or(defaults.identity),
            keystone: file.keystone,
        })
    }
}
