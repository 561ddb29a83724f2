//! Log lines: each carries the request id of the request it was logged in,
//! in both formats, and no password or token ever appears.
mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use porthole::LogFormat;
use serde_json::{json, Value};

/// Log lines written to memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Captured {
    type Writer = Captured;
    fn make_writer(&'w self) -> Captured {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

const ADMIN_PASSWORD: &str = "porthole-admin";
const WRONG_PASSWORD: &str = "not-the-Pa55word";

fn password_auth(password: &str) -> String {
    json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}}}})
    .to_string()
}

/// Issue a token, use it, validate it, revoke it, fail a login: every
/// request id of the replies, and the token.
async fn identity_session(app: &TestApp) -> (Vec<String>, String) {
    let json = ("content-type", "application/json");
    let mut ids = Vec::new();
    let issued = app
        .send(
            "POST",
            "/identity/v3/auth/tokens",
            &[json],
            Some(&password_auth(ADMIN_PASSWORD)),
        )
        .await;
    assert_eq!(issued.status, 201, "{}", issued.text());
    let token = issued.header("x-subject-token").unwrap().to_owned();
    assert_eq!(issued.json()["token"]["project"]["id"], PROJECT);
    // Keystone's answers carry their request id too (checked after Nova's).
    let mut identity_ids = vec![issued.request_id()];

    let listed = app
        .send(
            "GET",
            &interfaces(SERVER),
            &[("X-Auth-Token", &token)],
            None,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    ids.push(listed.request_id());
    let attached = app
        .send(
            "POST",
            &interfaces(SERVER),
            &[("X-Auth-Token", &token), json],
            Some(r#"{"interfaceAttachment": {"port_id": "ce531f90-199f-48c0-816c-13e38010b442"}}"#),
        )
        .await;
    assert_eq!(attached.status, 200, "{}", attached.text());
    ids.push(attached.request_id());

    let headers = [
        ("X-Auth-Token", token.as_str()),
        ("X-Subject-Token", token.as_str()),
    ];
    let validated = app
        .send("GET", "/identity/v3/auth/tokens", &headers, None)
        .await;
    assert_eq!(validated.status, 200, "{}", validated.text());
    identity_ids.push(validated.request_id());
    let revoked = app
        .send("DELETE", "/identity/v3/auth/tokens", &headers, None)
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.text());
    let refused = app
        .send(
            "GET",
            &interfaces(SERVER),
            &[("X-Auth-Token", &token)],
            None,
        )
        .await;
    assert_eq!(refused.status, 401, "{}", refused.text());
    let failed = app
        .send(
            "POST",
            "/identity/v3/auth/tokens",
            &[json],
            Some(&password_auth(WRONG_PASSWORD)),
        )
        .await;
    assert_eq!(failed.status, 401, "{}", failed.text());
    identity_ids.push(failed.request_id());
    ids.extend(identity_ids);
    (ids, token)
}

#[tokio::test]
async fn json_lines_carry_the_request_id_and_no_secret() {
    let logs = Captured::default();
    // The current-thread runtime polls every request on this thread.
    let _default = tracing::subscriber::set_default(porthole::telemetry::subscriber(
        LogFormat::Json,
        "trace",
        logs.clone(),
    ));
    let app = TestApp::builtin(porthole::config::DEFAULT_CONFIG, None).await;
    let (api_ids, token) = identity_session(&app).await;

    let text = logs.text();
    assert!(!text.contains(ADMIN_PASSWORD), "{text}");
    assert!(!text.contains(WRONG_PASSWORD), "{text}");
    assert!(!text.contains(&token), "{text}");

    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let accesses: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert_eq!(accesses.len(), 7, "{text}");
    for line in &lines {
        let id = line["span"]["request_id"].as_str().unwrap_or_default();
        assert!(id.starts_with("req-"), "no request id: {line}");
        assert_eq!(line["span"]["name"], "request", "{line}");
    }
    // The API replies' ids are the ones logged.
    for id in &api_ids {
        assert!(
            accesses
                .iter()
                .any(|l| l["span"]["request_id"] == id.as_str()),
            "{id} not logged: {text}"
        );
    }
    // Each request has its own id.
    let mut distinct: Vec<&str> = accesses
        .iter()
        .map(|l| l["span"]["request_id"].as_str().unwrap())
        .collect();
    distinct.dedup();
    assert_eq!(distinct.len(), 7, "{text}");
    // The access line's fields, flattened.
    let list = accesses
        .iter()
        .find(|l| l["span"]["request_id"] == api_ids[0].as_str())
        .unwrap();
    assert_eq!(list["level"], "INFO");
    assert_eq!(list["method"], "GET");
    assert_eq!(list["path"], interfaces(SERVER));
    assert_eq!(list["status"], 200);
    assert!(list["micros"].is_u64(), "{list}");
    // The identity audit lines sit in their requests too.
    let issued = lines
        .iter()
        .find(|l| l["message"] == "token issued")
        .expect("token issued logged");
    assert_eq!(issued["project_id"], PROJECT);
    let failed = lines
        .iter()
        .find(|l| l["message"] == "password authentication failed")
        .expect("failure logged");
    assert_eq!(failed["user"], "admin");
}

#[tokio::test]
async fn text_lines_carry_the_request_id_and_no_secret() {
    let logs = Captured::default();
    let _default = tracing::subscriber::set_default(porthole::telemetry::subscriber(
        LogFormat::Text,
        "trace",
        logs.clone(),
    ));
    let app = TestApp::builtin(porthole::config::DEFAULT_CONFIG, None).await;
    let (api_ids, token) = identity_session(&app).await;

    let text = logs.text();
    assert!(!text.contains(ADMIN_PASSWORD), "{text}");
    assert!(!text.contains(WRONG_PASSWORD), "{text}");
    assert!(!text.contains(&token), "{text}");
    assert!(text.lines().count() >= 7, "{text}");
    for line in text.lines() {
        assert!(line.contains(" request{request_id=req-"), "{line}");
    }
    let list = text
        .lines()
        .find(|l| l.contains(&api_ids[0]))
        .expect("list logged");
    assert!(
        list.contains(&format!(
            "request method=GET path={} status=200 micros=",
            interfaces(SERVER)
        )),
        "{list}"
    );
}
