//! The validated configuration: defaults, then the optional TOML file, then
//! flags and `PORTHOLE_*` variables (see `cli.rs`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// Embedded SQLite file under the data directory (durable; the default).
    Sqlite,
    /// In memory only: lost when the process ends.
    Memory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// No authentication: `X-Auth-Token: user:project`, roles from `X-Roles`.
    Noauth,
}

/// What the config file may set (every key optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub store: Option<StoreKind>,
    pub data_dir: Option<PathBuf>,
    pub seed: Option<PathBuf>,
    pub auth: Option<AuthMode>,
    pub log_level: Option<String>,
    pub shutdown_grace: Option<u64>,
}

impl FileConfig {
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("bad config {}: {e}", path.display()))
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub store: StoreKind,
    pub data_dir: PathBuf,
    pub seed: Option<PathBuf>,
    pub auth: AuthMode,
    pub log_level: String,
    /// How long in-flight requests may take to finish on SIGTERM.
    pub shutdown_grace: std::time::Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8774)),
            store: StoreKind::Sqlite,
            data_dir: PathBuf::from("porthole-data"),
            seed: None,
            auth: AuthMode::Noauth,
            log_level: "info".to_owned(),
            shutdown_grace: std::time::Duration::from_secs(10),
        }
    }
}

impl Config {
    /// The SQLite database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("porthole.sqlite3")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/porthole.example.toml");
        let file = FileConfig::read(&path).unwrap();
        assert_eq!(file.store, Some(StoreKind::Sqlite));
        assert_eq!(file.shutdown_grace, Some(10));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
    }
}
