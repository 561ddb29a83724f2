//! porthole inside a Rust program or test: an in-memory world seeded from a
//! TOML string, `noauth`, on a random loopback port.
//!
//!     cargo run --example embedded

use porthole::{AuthMode, Embedded};
use serde_json::{json, Value};

const PROJECT: &str = "6f70656e737461636b20342065766572";
const SERVER: &str = "afe25d9b-890b-4847-995c-534aa0cb7cc4";
const NETWORK: &str = "3cb9bc59-5699-4588-a4b1-b87f96708bc6";

const SEED: &str = r#"
[[networks]]
id = "3cb9bc59-5699-4588-a4b1-b87f96708bc6"
name = "private"
project_id = "6f70656e737461636b20342065766572"

[[subnets]]
network_id = "3cb9bc59-5699-4588-a4b1-b87f96708bc6"
cidr = "192.168.1.0/24"

[[servers]]
id = "afe25d9b-890b-4847-995c-534aa0cb7cc4"
name = "vm1"
project_id = "6f70656e737461636b20342065766572"
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let porthole = Embedded::builder()
        .auth(AuthMode::Noauth)
        .seed_toml(SEED)
        .start()
        .await?;
    println!("porthole at {}", porthole.url());

    let client = reqwest::Client::builder().no_proxy().build()?;
    let interfaces = format!(
        "{}/v2.1/{PROJECT}/servers/{SERVER}/os-interface",
        porthole.url()
    );
    let attached: Value = client
        .post(&interfaces)
        .header("X-Auth-Token", format!("demo:{PROJECT}"))
        .json(&json!({"interfaceAttachment": {"net_id": NETWORK}}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!("attached: {attached}");
    let listed: Value = client
        .get(&interfaces)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!("listed: {listed}");

    porthole.shutdown().await?;
    Ok(())
}
