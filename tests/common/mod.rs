//! Test helpers: the app in-process (`oneshot`), a seeded world, and
//! `(status, headers, json)` results.
#![allow(dead_code)]

pub mod postgres;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use porthole::auth::{Authenticator, BuiltinKeystone};
use porthole::config::AuthMode;
use porthole::seed::SeedDocument;
use porthole::service::Cloud;
use porthole::store::{MemoryStore, Store};
use porthole::{build_router, AppState};

pub const PROJECT: &str = "6f70656e737461636b20342065766572";
pub const OTHER_PROJECT: &str = "0123456789abcdef0123456789abcdef";
pub const NET: &str = "3cb9bc59-5699-4588-a4b1-b87f96708bc6";
pub const SUBNET: &str = "f8a6e8f8-c2ec-497c-9f23-da9616de54ef";
pub const NET_EXTERNAL: &str = "7f1e6d1c-5a4e-4b9e-9a49-9a2f4c1f3e10";
pub const NET_SHARED: &str = "5e2c6c1a-4d1b-4b8e-8f3a-2a1b3c4d5e6f";
pub const NET_OTHER: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
pub const NET_NO_SUBNET: &str = "11111111-2222-4333-8444-555555555555";
pub const NET_FULL: &str = "66666666-7777-4888-8999-aaaaaaaaaaaa";
/// A free port of PROJECT on NET (192.168.1.3, fa:16:3e:4c:2c:30).
pub const PORT_FREE: &str = "ce531f90-199f-48c0-816c-13e38010b442";
pub const PORT_FREE2: &str = "f0000000-0000-0000-0000-000000000002";
/// Bound to a device that is not a server.
pub const PORT_IN_USE: &str = "f0000000-0000-0000-0000-000000000003";
/// A port of OTHER_PROJECT.
pub const PORT_OTHER: &str = "f0000000-0000-0000-0000-000000000004";
/// Attached to SERVER_WITH_PORT.
pub const PORT_ATTACHED: &str = "f0000000-0000-0000-0000-000000000005";
pub const SERVER: &str = "afe25d9b-890b-4847-995c-534aa0cb7cc4";
pub const SERVER_WITH_PORT: &str = "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6";
pub const SERVER_STOPPED: &str = "9c1b4a6e-2b3f-4c1d-8e7a-5f6b7c8d9e0f";
pub const SERVER_PAUSED: &str = "3a4b5c6d-7e8f-4a9b-8c0d-1e2f3a4b5c6d";
pub const SERVER_SUSPENDED: &str = "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f";
pub const SERVER_LOCKED: &str = "4d5e6f70-8192-4a3b-9c4d-5e6f708192a3";
pub const SERVER_BUILDING: &str = "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e";
pub const SERVER_TASK: &str = "c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f";
pub const SERVER_UNLAUNCHED: &str = "d3e4f5a6-b7c8-4d9e-8f0a-2b3c4d5e6f7a";
pub const SERVER_ERROR: &str = "e4f5a6b7-c8d9-4e0f-8a1b-3c4d5e6f7a8b";
pub const SERVER_OTHER: &str = "f5a6b7c8-d9e0-4f1a-8b2c-4d5e6f7a8b9c";
pub const SERVER_NO_NETWORK: &str = "a6b7c8d9-e0f1-4a2b-8c3d-5e6f7a8b9c0d";
pub const NO_NETWORK_PROJECT: &str = "abcdef00abcdef00abcdef00abcdef00";

/// The world every test starts from.
pub fn seed_toml() -> String {
    format!(
        r#"
[[networks]]
id = "{NET}"
name = "private"
project_id = "{PROJECT}"

[[networks]]
id = "{NET_EXTERNAL}"
name = "public"
project_id = "{PROJECT}"
external = true

[[networks]]
id = "{NET_SHARED}"
name = "shared"
project_id = "{OTHER_PROJECT}"
shared = true

[[networks]]
id = "{NET_OTHER}"
name = "other"
project_id = "{OTHER_PROJECT}"

[[networks]]
id = "{NET_NO_SUBNET}"
name = "no-subnet"
project_id = "{PROJECT}"

[[networks]]
id = "{NET_FULL}"
name = "full"
project_id = "{PROJECT}"

[[subnets]]
id = "{SUBNET}"
network_id = "{NET}"
cidr = "192.168.1.0/24"
gateway_ip = "192.168.1.1"

[[subnets]]
id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
network_id = "{NET_EXTERNAL}"
cidr = "203.0.113.0/24"

[[subnets]]
id = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
network_id = "{NET_SHARED}"
cidr = "10.10.0.0/24"

[[subnets]]
id = "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
network_id = "{NET_OTHER}"
cidr = "10.20.0.0/24"

[[subnets]]
id = "3d4e5f6a-7b8c-4d9e-8f1a-2b3c4d5e6f7a"
network_id = "{NET_FULL}"
cidr = "10.30.0.0/30"

[[ports]]
id = "{PORT_FREE}"
network_id = "{NET}"
project_id = "{PROJECT}"
mac_address = "fa:16:3e:4c:2c:30"
fixed_ips = [{{ subnet_id = "{SUBNET}", ip_address = "192.168.1.3" }}]

[[ports]]
id = "{PORT_FREE2}"
network_id = "{NET}"
project_id = "{PROJECT}"
mac_address = "fa:16:3e:00:00:02"
fixed_ips = [{{ ip_address = "192.168.1.4" }}]

[[ports]]
id = "{PORT_IN_USE}"
network_id = "{NET}"
project_id = "{PROJECT}"
mac_address = "fa:16:3e:00:00:03"
device_id = "c0ffee00-0000-4000-8000-000000000000"
device_owner = "network:dhcp"
fixed_ips = [{{ ip_address = "192.168.1.5" }}]

[[ports]]
id = "{PORT_OTHER}"
network_id = "{NET_OTHER}"
project_id = "{OTHER_PROJECT}"
mac_address = "fa:16:3e:00:00:04"

[[ports]]
id = "{PORT_ATTACHED}"
network_id = "{NET}"
project_id = "{PROJECT}"
mac_address = "fa:16:3e:00:00:05"
fixed_ips = [{{ ip_address = "192.168.1.6" }}]
device_id = "{SERVER_WITH_PORT}"

[[ports]]
id = "f0000000-0000-0000-0000-000000000006"
network_id = "{NET_FULL}"
project_id = "{PROJECT}"
mac_address = "fa:16:3e:00:00:06"
fixed_ips = [{{ ip_address = "10.30.0.2" }}]

[[servers]]
id = "{SERVER}"
name = "vm1"
project_id = "{PROJECT}"

[[servers]]
id = "{SERVER_WITH_PORT}"
name = "vm-with-port"
project_id = "{PROJECT}"

[[servers]]
id = "{SERVER_STOPPED}"
project_id = "{PROJECT}"
vm_state = "stopped"

[[servers]]
id = "{SERVER_PAUSED}"
project_id = "{PROJECT}"
vm_state = "paused"

[[servers]]
id = "{SERVER_SUSPENDED}"
project_id = "{PROJECT}"
vm_state = "suspended"

[[servers]]
id = "{SERVER_LOCKED}"
project_id = "{PROJECT}"
locked = true

[[servers]]
id = "{SERVER_BUILDING}"
project_id = "{PROJECT}"
vm_state = "building"
task_state = "spawning"
launched = false

[[servers]]
id = "{SERVER_TASK}"
project_id = "{PROJECT}"
task_state = "rebooting"

[[servers]]
id = "{SERVER_UNLAUNCHED}"
project_id = "{PROJECT}"
launched = false

[[servers]]
id = "{SERVER_ERROR}"
project_id = "{PROJECT}"
vm_state = "error"

[[servers]]
id = "{SERVER_OTHER}"
project_id = "{OTHER_PROJECT}"

[[servers]]
id = "{SERVER_NO_NETWORK}"
project_id = "{NO_NETWORK_PROJECT}"
"#
    )
}

/// A world-state service over `store`, seeded with [`seed_toml`].
pub async fn seeded_cloud(store: std::sync::Arc<dyn Store>) -> Cloud {
    let cloud = Cloud::open(store).await.expect("store opens");
    let changes = SeedDocument::from_toml(&seed_toml())
        .unwrap()
        .into_changes()
        .unwrap();
    cloud.seed_if_empty(changes).await.expect("seed applies");
    cloud
}

/// The app in-process, on a fresh in-memory world.
pub struct TestApp {
    pub router: porthole::App,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn request_id(&self) -> String {
        self.header("x-openstack-request-id")
            .expect("request id")
            .to_owned()
    }
    /// Assert a Nova fault: status, fault name and message.
    #[track_caller]
    pub fn assert_fault(&self, status: u16, name: &str, message: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        assert_eq!(
            self.json(),
            serde_json::json!({ name: { "code": status, "message": message } }),
            "fault body"
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/json; charset=UTF-8")
        );
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_store(std::sync::Arc::new(MemoryStore)).await
    }

    pub async fn with_store(store: std::sync::Arc<dyn Store>) -> Self {
        let cloud = seeded_cloud(store).await;
        TestApp {
            router: build_router(AppState::new(cloud, AuthMode::Noauth)),
        }
    }

    /// The usual world with `options` (its `seed`, what reset returns to,
    /// set to the usual world) and ids from `ids`.
    pub async fn with_options(
        auth: AuthMode,
        options: porthole::app::AppOptions,
        ids: porthole::domain::ids::IdSource,
    ) -> Self {
        let cloud = Cloud::open_with(std::sync::Arc::new(MemoryStore), ids)
            .await
            .expect("store opens");
        let changes = SeedDocument::from_toml(&seed_toml())
            .unwrap()
            .into_changes_with(cloud.ids())
            .unwrap();
        cloud
            .seed_if_empty(changes.clone())
            .await
            .expect("seed applies");
        let state = AppState::new(cloud, auth).with_options(porthole::app::AppOptions {
            seed: std::sync::Arc::new(changes),
            ..options
        });
        TestApp {
            router: build_router(state),
        }
    }

    /// The usual world in `noauth` mode under a policy file (YAML).
    pub async fn with_policy(policy: &str) -> Self {
        let cloud = seeded_cloud(std::sync::Arc::new(MemoryStore)).await;
        let policy = porthole::domain::Policy::from_yaml(policy).expect("policy parses");
        TestApp {
            router: build_router(AppState::with(cloud, Authenticator::NoAuth, policy)),
        }
    }

    /// An in-memory app seeded with `seed` (TOML) instead of the usual world.
    pub async fn with_seed(seed: &str) -> Self {
        let cloud = Cloud::open(std::sync::Arc::new(MemoryStore))
            .await
            .expect("store opens");
        let changes = SeedDocument::from_toml(seed)
            .unwrap()
            .into_changes()
            .unwrap();
        cloud.seed_if_empty(changes).await.expect("seed applies");
        TestApp {
            router: build_router(AppState::new(cloud, AuthMode::Noauth)),
        }
    }

    /// The usual world in `builtin` mode, with the identity section of
    /// `config` (TOML, `[identity]` included) and an optional policy (YAML).
    pub async fn builtin(config: &str, policy: Option<&str>) -> Self {
        Self::builtin_on(std::sync::Arc::new(MemoryStore), config, policy).await
    }

    pub async fn builtin_on(
        store: std::sync::Arc<dyn Store>,
        config: &str,
        policy: Option<&str>,
    ) -> Self {
        let cloud = seeded_cloud(store).await;
        let file: porthole::config::FileConfig = toml::from_str(config).expect("config parses");
        let identity = BuiltinKeystone::from_config(&file.identity.expect("[identity]"))
            .expect("identity is valid");
        let policy = match policy {
            Some(text) => porthole::domain::Policy::from_yaml(text).expect("policy parses"),
            None => porthole::domain::Policy::default(),
        };
        TestApp {
            router: build_router(AppState::with(
                cloud,
                Authenticator::Builtin(identity),
                policy,
            )),
        }
    }

    /// Send a request with the given headers (`("Name", "value")`) and raw body.
    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        let mut builder = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(uri);
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
            builder = builder.header("host", "porthole.test");
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(
                body.map(|b| Body::from(b.to_owned()))
                    .unwrap_or_else(Body::empty),
            )
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send("GET", uri, &[], None).await
    }

    pub async fn get_v(&self, uri: &str, version: &str) -> Reply {
        let header = format!("compute {version}");
        self.send("GET", uri, &[("OpenStack-API-Version", &header)], None)
            .await
    }

    /// POST a JSON body (with `Content-Type: application/json`).
    pub async fn post(&self, uri: &str, body: &Value) -> Reply {
        self.send(
            "POST",
            uri,
            &[("content-type", "application/json")],
            Some(&body.to_string()),
        )
        .await
    }

    pub async fn post_v(&self, uri: &str, version: &str, body: &Value) -> Reply {
        let header = format!("compute {version}");
        self.send(
            "POST",
            uri,
            &[
                ("content-type", "application/json"),
                ("OpenStack-API-Version", &header),
            ],
            Some(&body.to_string()),
        )
        .await
    }

    pub async fn delete(&self, uri: &str) -> Reply {
        self.send("DELETE", uri, &[], None).await
    }
}

pub fn interfaces(server: &str) -> String {
    format!("/v2.1/{PROJECT}/servers/{server}/os-interface")
}

pub fn interface(server: &str, port: &str) -> String {
    format!("/v2.1/{PROJECT}/servers/{server}/os-interface/{port}")
}

/// Headers of a member of `project` (noauth token `user:project`).
pub fn member_of(project: &str) -> Vec<(String, String)> {
    vec![
        ("X-Auth-Token".into(), format!("demo:{project}")),
        ("X-Roles".into(), "member".into()),
    ]
}
