//! The validated configuration: defaults, then the optional TOML file, then
//! flags and `PORTHOLE_*` variables (see `cli.rs`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::PortStatus;

/// Where the state lives: `sqlite`, `memory` or a PostgreSQL URL.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum StoreKind {
    /// Embedded SQLite file under the data directory (durable; the default;
    /// several processes on one host may share it).
    Sqlite,
    /// In memory only: lost when the process ends; one process.
    Memory,
    /// PostgreSQL at this URL (`postgres://user@host:5432/db`): several
    /// processes, on any hosts, share it.
    Postgres(String),
}

impl std::str::FromStr for StoreKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "sqlite" => Ok(StoreKind::Sqlite),
            "memory" => Ok(StoreKind::Memory),
            url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(StoreKind::Postgres(url.to_owned()))
            }
            other => Err(format!(
                "unknown store '{other}': expected sqlite, memory or a postgres:// URL"
            )),
        }
    }
}

impl TryFrom<String> for StoreKind {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

// By hand: a URL's password never reaches a log line.
impl std::fmt::Debug for StoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreKind::Sqlite => f.write_str("Sqlite"),
            StoreKind::Memory => f.write_str("Memory"),
            StoreKind::Postgres(_) => f.write_str("Postgres(<url>)"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// No authentication: `X-Auth-Token: user:project`, roles from `X-Roles`.
    Noauth,
    /// porthole is its own minimal Keystone v3 (users from the config file).
    Builtin,
    /// Tokens validated by an external Keystone (`[keystone]` in the config file).
    Keystone,
}

/// On or off (`--control-plane off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Switch {
    On,
    Off,
}

/// The status of an attached port until it is activated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "UPPERCASE")]
pub enum PortInitialStatus {
    #[value(name = "DOWN", alias = "down")]
    Down,
    #[value(name = "BUILD", alias = "build")]
    Build,
}

impl PortInitialStatus {
    pub fn status(self) -> PortStatus {
        match self {
            PortInitialStatus::Down => PortStatus::Down,
            PortInitialStatus::Build => PortStatus::Build,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event (the default).
    #[default]
    Text,
    /// One JSON object per line, span fields (the request id) included.
    Json,
}

/// The `[keystone]` section: the external Keystone of `keystone` mode.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeystoneConfig {
    /// Keystone's v3 endpoint, e.g. `http://keystone:5000/v3`.
    pub auth_url: String,
    /// porthole's service user, project and password.
    pub username: String,
    pub password: String,
    pub project: String,
    /// Domain names [default: Default].
    pub user_domain: Option<String>,
    pub project_domain: Option<String>,
    /// How long a valid token is trusted without asking again [default: 300 s].
    pub cache_seconds: Option<u64>,
    /// HTTP timeout towards Keystone [default: 5 s].
    pub timeout: Option<u64>,
    /// `WWW-Authenticate` URI [default: auth_url without `/v3`].
    pub www_authenticate_uri: Option<String>,
}

/// The identity section of the config file (`[identity]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// Token lifetime in seconds [default: 3600].
    pub token_expiration: Option<u64>,
    /// Region named in the catalog [default: RegionOne].
    pub region: Option<String>,
    /// Base URL for the catalog and `WWW-Authenticate` (default: from the request's Host).
    pub public_url: Option<String>,
    #[serde(default)]
    pub domains: Vec<DomainConfig>,
    #[serde(default)]
    pub projects: Vec<ProjectConfig>,
    #[serde(default)]
    pub users: Vec<UserConfig>,
    /// Role assignments: a user's roles on a project, a domain or the system.
    #[serde(default)]
    pub assignments: Vec<AssignmentConfig>,
    /// Fixed tokens that never expire (for curl and CI).
    #[serde(default)]
    pub static_tokens: Vec<StaticTokenConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainConfig {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    pub id: String,
    pub name: String,
    /// Domain id [default: default].
    pub domain: Option<String>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub id: String,
    pub name: String,
    pub password: String,
    /// Domain id [default: default].
    pub domain: Option<String>,
    /// Project (id or name) an unscoped request is scoped to.
    pub default_project: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentConfig {
    /// User id or name.
    pub user: String,
    /// Project id or name (exactly one of `project`, `domain`, `system`).
    pub project: Option<String>,
    /// Domain id or name: the roles of a domain-scoped token.
    pub domain: Option<String>,
    /// `"all"`: the roles of a system-scoped token.
    pub system: Option<String>,
    pub roles: Vec<String>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticTokenConfig {
    pub token: String,
    /// User id or name.
    pub user: String,
    /// Project id or name.
    pub project: String,
}

/// The configuration used when no config file is given (admin, demo, viewer).
pub const DEFAULT_CONFIG: &str = include_str!("../config/porthole.toml");

/// The identity section of [`DEFAULT_CONFIG`].
pub fn default_identity() -> IdentityConfig {
    toml::from_str::<FileConfig>(DEFAULT_CONFIG)
        .expect("the embedded config parses")
        .identity
        .expect("the embedded config has an identity section")
}

/// What the config file may set (every key optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub store: Option<StoreKind>,
    pub store_timeout_ms: Option<u64>,
    pub instance_actions_in_memory: Option<usize>,
    pub data_dir: Option<PathBuf>,
    pub seed: Option<PathBuf>,
    pub auth: Option<AuthMode>,
    pub log_level: Option<String>,
    pub log_format: Option<LogFormat>,
    pub shutdown_grace: Option<u64>,
    pub policy_file: Option<PathBuf>,
    pub control_plane: Option<Switch>,
    pub port_activation_delay_ms: Option<u64>,
    pub port_initial_status: Option<PortInitialStatus>,
    pub deterministic: Option<u64>,
    pub server_build_delay_ms: Option<u64>,
    /// Replaces Nova's classic flavors.
    pub flavors: Option<Vec<crate::domain::catalog::Flavor>>,
    /// Replaces the cirros image.
    pub images: Option<Vec<crate::domain::catalog::Image>>,
    pub identity: Option<IdentityConfig>,
    pub keystone: Option<KeystoneConfig>,
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
    /// How long a request waits for the store before Nova's 503.
    pub store_timeout: std::time::Duration,
    /// Instance actions per server kept in memory; older ones stay in a
    /// durable store only (the memory store forgets them).
    pub instance_actions_in_memory: usize,
    pub data_dir: PathBuf,
    pub seed: Option<PathBuf>,
    pub auth: AuthMode,
    pub log_level: String,
    pub log_format: LogFormat,
    /// How long in-flight requests may take to finish on SIGTERM.
    pub shutdown_grace: std::time::Duration,
    /// oslo.policy overrides (YAML).
    pub policy_file: Option<PathBuf>,
    /// Serve `/_porthole/*`.
    pub control_plane: bool,
    /// How long an attached port stays `port_initial_status` (zero: `ACTIVE` at once).
    pub port_activation_delay: std::time::Duration,
    pub port_initial_status: PortInitialStatus,
    /// Seed of the id generator: reproducible ids, MACs and request ids.
    pub deterministic: Option<u64>,
    /// How long a created server stays BUILD (zero: ACTIVE at once).
    pub server_build_delay: std::time::Duration,
    pub flavors: Vec<crate::domain::catalog::Flavor>,
    pub images: Vec<crate::domain::catalog::Image>,
    pub identity: IdentityConfig,
    pub keystone: Option<KeystoneConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8774)),
            store: StoreKind::Sqlite,
            store_timeout: crate::service::DEFAULT_STORE_TIMEOUT,
            instance_actions_in_memory: crate::domain::world::DEFAULT_ACTIONS_IN_MEMORY,
            data_dir: PathBuf::from("porthole-data"),
            seed: None,
            auth: AuthMode::Builtin,
            log_level: "info".to_owned(),
            log_format: LogFormat::Text,
            shutdown_grace: std::time::Duration::from_secs(10),
            policy_file: None,
            control_plane: true,
            port_activation_delay: std::time::Duration::ZERO,
            port_initial_status: PortInitialStatus::Down,
            deterministic: None,
            server_build_delay: std::time::Duration::ZERO,
            flavors: crate::domain::catalog::default_flavors(),
            images: crate::domain::catalog::default_images(),
            identity: default_identity(),
            keystone: None,
        }
    }
}

impl Config {
    /// The SQLite database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("porthole.sqlite3")
    }
}

// Hand-written Debug: passwords and tokens never reach a log line.
const REDACTED: &str = crate::domain::directory::REDACTED;

impl std::fmt::Debug for KeystoneConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeystoneConfig")
            .field("auth_url", &self.auth_url)
            .field("username", &self.username)
            .field("password", &REDACTED)
            .field("project", &self.project)
            .field("user_domain", &self.user_domain)
            .field("project_domain", &self.project_domain)
            .field("cache_seconds", &self.cache_seconds)
            .field("timeout", &self.timeout)
            .field("www_authenticate_uri", &self.www_authenticate_uri)
            .finish()
    }
}

impl std::fmt::Debug for UserConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserConfig")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("password", &REDACTED)
            .field("domain", &self.domain)
            .field("default_project", &self.default_project)
            .finish()
    }
}

impl std::fmt::Debug for StaticTokenConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticTokenConfig")
            .field("token", &REDACTED)
            .field("user", &self.user)
            .field("project", &self.project)
            .finish()
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
    fn default_config_has_the_three_users() {
        let identity = default_identity();
        let names: Vec<_> = identity.users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["admin", "demo", "viewer"]);
        assert_eq!(
            toml::from_str::<FileConfig>(DEFAULT_CONFIG).unwrap().auth,
            Some(AuthMode::Builtin)
        );
    }

    #[test]
    fn debug_output_hides_passwords_and_tokens() {
        let config = Config::default();
        let text = format!("{config:?}");
        assert!(text.contains("admin"), "{text}");
        assert!(!text.contains("porthole-admin"), "{text}");
        let keystone: KeystoneConfig = toml::from_str(
            "auth_url = \"http://k/v3\"\nusername = \"nova\"\npassword = \"s3cret\"\nproject = \"service\"",
        )
        .unwrap();
        assert!(!format!("{keystone:?}").contains("s3cret"));
        let token: StaticTokenConfig =
            toml::from_str("token = \"t0ken\"\nuser = \"demo\"\nproject = \"demo\"").unwrap();
        assert!(!format!("{token:?}").contains("t0ken"));
    }

    #[test]
    fn flavors_and_images_can_be_replaced() {
        let file: FileConfig = toml::from_str(
            "server_build_delay_ms = 500\n\
             [[flavors]]\nid = \"42\"\nname = \"tiny\"\nram = 64\ndisk = 1\nvcpus = 1\n\
             [[images]]\nid = \"i1\"\nname = \"alpine\"\n",
        )
        .unwrap();
        let flavors = file.flavors.unwrap();
        assert_eq!(flavors[0].name, "tiny");
        assert!(flavors[0].is_public);
        assert_eq!(file.images.unwrap()[0].disk_format, "qcow2");
        assert_eq!(file.server_build_delay_ms, Some(500));
        assert_eq!(Config::default().flavors.len(), 5);
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
    }
}
