//! Library mode: `Embedded` serves in-process on a random port (the flow of
//! `examples/embedded.rs`), shuts down, and two instances are independent.
mod common;

use common::{seed_toml, NET, PROJECT, SERVER, SUBNET};
use porthole::{AuthMode, Embedded};
use serde_json::{json, Value};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

fn interfaces(porthole: &Embedded) -> String {
    format!(
        "{}/v2.1/{PROJECT}/servers/{SERVER}/os-interface",
        porthole.url()
    )
}

async fn list(client: &reqwest::Client, porthole: &Embedded) -> Value {
    let response = client.get(interfaces(porthole)).send().await.unwrap();
    response.json().await.unwrap()
}

#[tokio::test]
async fn embedded_serves_attaches_and_shuts_down() {
    let porthole = Embedded::builder()
        .auth(AuthMode::Noauth)
        .seed_toml(seed_toml())
        .start()
        .await
        .unwrap();
    assert!(porthole.url().starts_with("http://127.0.0.1:"));
    assert_ne!(porthole.address().port(), 0);
    let client = client();

    let response = client
        .post(interfaces(&porthole))
        .json(&json!({"interfaceAttachment": {
            "net_id": NET, "fixed_ips": [{"ip_address": "192.168.1.50"}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let attached: Value = response.json().await.unwrap();
    assert_eq!(attached["interfaceAttachment"]["net_id"], NET);
    assert_eq!(
        attached["interfaceAttachment"]["fixed_ips"],
        json!([{"ip_address": "192.168.1.50", "subnet_id": SUBNET}])
    );
    let listed = list(&client, &porthole).await;
    assert_eq!(
        listed,
        json!({"interfaceAttachments": [attached["interfaceAttachment"]]})
    );
    let health = client
        .get(format!("{}/healthz", porthole.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // Reset returns to the builder's seed: the seeded server is still there,
    // without the attachment.
    let reset = client
        .post(format!("{}/_porthole/reset", porthole.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    let listed = list(&client, &porthole).await;
    assert_eq!(listed, json!({"interfaceAttachments": []}));

    let address = porthole.address();
    porthole.shutdown().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "still listening after shutdown"
    );
}

#[tokio::test]
async fn two_embedded_worlds_are_independent_and_drop_stops_them() {
    let one = Embedded::builder()
        .seed_toml(seed_toml())
        .start()
        .await
        .unwrap();
    let two = Embedded::builder()
        .seed_toml(seed_toml())
        .start()
        .await
        .unwrap();
    assert_ne!(one.url(), two.url());
    let client = client();
    let attach = client
        .post(interfaces(&one))
        .json(&json!({"interfaceAttachment": {"net_id": NET}}))
        .send()
        .await
        .unwrap();
    assert_eq!(attach.status(), 200);
    assert_eq!(
        list(&client, &one).await["interfaceAttachments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        list(&client, &two).await,
        json!({"interfaceAttachments": []})
    );

    // Dropped: the server stops by itself (bounded wait).
    let address = two.address();
    drop(two);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while tokio::net::TcpStream::connect(address).await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "still listening after drop"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    one.shutdown().await.unwrap();
}

#[tokio::test]
async fn embedded_builtin_auth_and_bad_seed() {
    let porthole = Embedded::builder()
        .auth(AuthMode::Builtin)
        .seed_toml(seed_toml())
        .start()
        .await
        .unwrap();
    let response = client().get(interfaces(&porthole)).send().await.unwrap();
    assert_eq!(response.status(), 401);
    porthole.shutdown().await.unwrap();

    let error = Embedded::builder()
        .seed_toml("[[ports]]\nnetwork_id = \"nope\"\nproject_id = \"p\"\n")
        .start()
        .await
        .err()
        .expect("a bad seed is refused");
    assert!(error.contains("ports[0]"), "{error}");
}
