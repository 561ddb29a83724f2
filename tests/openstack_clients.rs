//! The real OpenStack clients against the real binary in `builtin` mode:
//! python-openstackclient issues a token and reads the catalog; openstacksdk
//! authenticates with a password and lists, attaches, shows and detaches
//! through the catalog's compute endpoint; both create, list, show, rename
//! and delete networks, subnets and ports through its network endpoint, and
//! show, list, create (image and flavor by name), stop, start, suspend and
//! delete servers.
//!
//! Needs `PORTHOLE_OPENSTACK_BIN_DIR` (a virtualenv's `bin/` with both
//! installed; `.ci/run` makes one). Without it the test says so and passes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_porthole");
const SERVER: &str = "afe25d9b-890b-4847-995c-534aa0cb7cc4";
const PORT: &str = "ce531f90-199f-48c0-816c-13e38010b442";

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const SDK_SCRIPT: &str = r#"
import json, sys, time
import openstack
server, port = sys.argv[1], sys.argv[2]
started = time.monotonic()
conn = openstack.connect(cloud="porthole")
before = [i.port_id for i in conn.compute.server_interfaces(server)]
attached = conn.compute.create_server_interface(server, port_id=port)
shown = conn.compute.get_server_interface(port, server=server)
during = [i.port_id for i in conn.compute.server_interfaces(server)]
conn.compute.delete_server_interface(port, server=server, ignore_missing=False)
after = [i.port_id for i in conn.compute.server_interfaces(server)]
print(json.dumps({
    "before": before, "attached": attached.port_id, "shown_mac": shown.mac_addr,
    "shown_ips": shown.fixed_ips, "during": during, "after": after,
    "seconds": round(time.monotonic() - started, 3),
}))
"#;

/// openstacksdk on the network API: a port made there, attached by
/// port_id through compute, found by `device_id`, then detached and deleted.
const SDK_NETWORK_SCRIPT: &str = r#"
import json, sys
import openstack
server, network = sys.argv[1], sys.argv[2]
conn = openstack.connect(cloud="porthole")
port = conn.network.create_port(network_id=network, name="sdk-port")
conn.compute.create_server_interface(server, port_id=port.id)
bound = [(p.id, p.device_owner) for p in conn.network.ports(device_id=server)]
conn.compute.delete_server_interface(port.id, server=server, ignore_missing=False)
conn.network.delete_port(port, ignore_missing=False)
print(json.dumps({
    "created": port.id, "name": port.name, "ips": [ip["ip_address"] for ip in port.fixed_ips],
    "bound": bound, "left": [p.id for p in conn.network.ports(name="sdk-port")],
}))
"#;

fn json_of(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

const SDK_SERVERS_SCRIPT: &str = r#"
import json, sys
import openstack
net = sys.argv[1]
conn = openstack.connect(cloud="porthole")
image = conn.image.find_image("cirros-0.6.3-x86_64-disk")
flavor = conn.compute.find_flavor("m1.small")
server = conn.compute.create_server(name="sdk-vm", image_id=image.id, flavor_id=flavor.id,
                                    networks=[{"uuid": net}])
server = conn.compute.wait_for_server(server, status="ACTIVE", wait=30)
ports = [i.port_id for i in conn.compute.server_interfaces(server)]
conn.compute.suspend_server(server)
suspended = conn.compute.get_server(server.id).status
try:
    conn.compute.create_server_interface(server, net_id=net)
    refused = None
except openstack.exceptions.ConflictException as e:
    refused = e.details
conn.compute.resume_server(server)
conn.compute.delete_server(server)
conn.compute.wait_for_delete(server, wait=30)
print(json.dumps({
    "status": server.status, "addresses": server.addresses, "ports": ports,
    "suspended": suspended, "refused": refused,
    "gone": conn.compute.find_server("sdk-vm") is None,
}))
"#;

/// `openstack …` expected to fail: its stderr.
fn run_failing(bin_dir: &Path, program: &str, args: &[&str], clouds: &Path) -> String {
    let output = Command::new(bin_dir.join(program))
        .args(args)
        .env("OS_CLIENT_CONFIG_FILE", clouds)
        .env("OS_CLOUD", "porthole")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(!output.status.success(), "{program} {args:?} succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn run(bin_dir: &Path, program: &str, args: &[&str], clouds: &Path) -> String {
    let started = Instant::now();
    let output = Command::new(bin_dir.join(program))
        .args(args)
        .env("OS_CLIENT_CONFIG_FILE", clouds)
        .env("OS_CLOUD", "porthole")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!(
        "{program} {} took {:?}",
        args.first().unwrap_or(&""),
        started.elapsed()
    );
    stdout
}

#[test]
fn openstack_clients_work_against_builtin_mode() {
    let Some(bin_dir) = std::env::var_os("PORTHOLE_OPENSTACK_BIN_DIR").map(PathBuf::from) else {
        println!("PORTHOLE_OPENSTACK_BIN_DIR is not set: skipping the OpenStack client test (.ci/run sets it)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/seed.example.toml");
    let mut command = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("PORTHOLE_") {
            command.env_remove(name);
        }
    }
    let _porthole = Proc(
        command
            .args(["serve", "--store", "memory", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--seed")
            .arg(&seed)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "porthole did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The README's clouds.yaml, pointed at this port.
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(
        &clouds,
        format!(
            "clouds:\n  porthole:\n    auth:\n      auth_url: http://127.0.0.1:{port}/identity/v3\n      \
             username: demo\n      password: porthole-demo\n      project_name: demo\n      \
             user_domain_name: Default\n      project_domain_name: Default\n    \
             region_name: RegionOne\n    interface: public\n    identity_api_version: 3\n"
        ),
    )
    .unwrap();

    let token: serde_json::Value = serde_json::from_str(&run(
        &bin_dir,
        "openstack",
        &["token", "issue", "-f", "json"],
        &clouds,
    ))
    .unwrap();
    assert_eq!(token["project_id"], "6f70656e737461636b20342065766572");
    let catalog = run(
        &bin_dir,
        "openstack",
        &["catalog", "list", "-f", "json"],
        &clouds,
    );
    assert!(
        catalog.contains(&format!(
            "http://127.0.0.1:{port}/v2.1/6f70656e737461636b20342065766572"
        )),
        "{catalog}"
    );

    let out = run(
        &bin_dir,
        "python",
        &["-c", SDK_SCRIPT, SERVER, PORT],
        &clouds,
    );
    println!("openstacksdk: {out}");
    let result: serde_json::Value =
        serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    assert_eq!(result["before"], serde_json::json!([]));
    assert_eq!(result["attached"], PORT);
    assert_eq!(result["shown_mac"], "fa:16:3e:4c:2c:30");
    assert_eq!(result["during"], serde_json::json!([PORT]));
    assert_eq!(result["after"], serde_json::json!([]));

    // The network API through the catalog's network endpoint.
    assert!(
        catalog.contains(&format!("http://127.0.0.1:{port}/networking")),
        "{catalog}"
    );
    let osc = |args: &[&str]| run(&bin_dir, "openstack", args, &clouds);
    let network = json_of(&osc(&["network", "create", "ci-net", "-f", "json"]));
    assert_eq!(network["name"], "ci-net");
    assert_eq!(network["status"], "ACTIVE");
    assert_eq!(network["project_id"], "6f70656e737461636b20342065766572");
    let net_id = network["id"].as_str().unwrap().to_owned();
    let subnet = json_of(&osc(&[
        "subnet",
        "create",
        "ci-subnet",
        "--network",
        "ci-net",
        "--subnet-range",
        "10.50.0.0/24",
        "-f",
        "json",
    ]));
    assert_eq!(subnet["cidr"], "10.50.0.0/24");
    assert_eq!(subnet["gateway_ip"], "10.50.0.1");
    assert_eq!(subnet["network_id"], net_id.as_str());
    let created = json_of(&osc(&[
        "port",
        "create",
        "ci-port",
        "--network",
        "ci-net",
        "-f",
        "json",
    ]));
    let port_id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["name"], "ci-port");
    assert!(
        created["fixed_ips"].to_string().contains("10.50.0.2"),
        "the lowest free address: {created}"
    );
    let listed = json_of(&osc(&["port", "list", "--network", "ci-net", "-f", "json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["ID"], port_id.as_str());
    let shown = json_of(&osc(&["port", "show", &port_id, "-f", "json"]));
    assert_eq!(shown["mac_address"], created["mac_address"]);
    assert_eq!(shown["network_id"], net_id.as_str());
    osc(&["port", "set", "--name", "ci-port-renamed", &port_id]);
    let shown = json_of(&osc(&["port", "show", &port_id, "-f", "json"]));
    assert_eq!(shown["name"], "ci-port-renamed");
    osc(&["port", "delete", &port_id]);
    let listed = json_of(&osc(&["port", "list", "--network", "ci-net", "-f", "json"]));
    assert_eq!(listed, serde_json::json!([]));

    let out = run(
        &bin_dir,
        "python",
        &["-c", SDK_NETWORK_SCRIPT, SERVER, &net_id],
        &clouds,
    );
    println!("openstacksdk (network): {out}");
    let result = json_of(out.trim().lines().last().unwrap());
    let created = result["created"].as_str().unwrap();
    assert_eq!(result["name"], "sdk-port");
    assert_eq!(result["ips"], serde_json::json!(["10.50.0.2"]));
    assert_eq!(
        result["bound"],
        serde_json::json!([[created, "compute:nova"]])
    );
    assert_eq!(result["left"], serde_json::json!([]));

    // Servers through the clients: show and list resolve names, create
    // boots from the image API's cirros and a flavor, state actions move it.
    let osc = |args: &[&str]| run(&bin_dir, "openstack", args, &clouds);
    let shown: serde_json::Value =
        serde_json::from_str(&osc(&["server", "show", "vm1", "-f", "json"])).unwrap();
    assert_eq!(shown["id"], SERVER);
    assert_eq!(shown["status"], "ACTIVE");
    let listed = osc(&["server", "list", "-f", "json"]);
    assert!(listed.contains(SERVER), "{listed}");
    let created: serde_json::Value = serde_json::from_str(&osc(&[
        "server",
        "create",
        "--image",
        "cirros-0.6.3-x86_64-disk",
        "--flavor",
        "m1.tiny",
        "--no-network",
        "--wait",
        "osc-vm",
        "-f",
        "json",
    ]))
    .unwrap();
    assert_eq!(created["status"], "ACTIVE");
    let status = |name: &str| osc(&["server", "show", name, "-c", "status", "-f", "value"]);
    osc(&["server", "stop", "osc-vm"]);
    assert_eq!(status("osc-vm").trim(), "SHUTOFF");
    osc(&["server", "start", "osc-vm"]);
    assert_eq!(status("osc-vm").trim(), "ACTIVE");
    let refused = run_failing(
        &bin_dir,
        "openstack",
        &["server", "start", "osc-vm"],
        &clouds,
    );
    assert!(
        refused.contains("while it is in vm_state active"),
        "{refused}"
    );
    osc(&["server", "delete", "--wait", "osc-vm"]);
    let gone = run_failing(
        &bin_dir,
        "openstack",
        &["server", "show", "osc-vm"],
        &clouds,
    );
    assert!(gone.contains("No Server found for osc-vm"), "{gone}");

    // openstacksdk: a server on a network, its port, suspend refusing attach.
    let out = run(
        &bin_dir,
        "python",
        &[
            "-c",
            SDK_SERVERS_SCRIPT,
            "3cb9bc59-5699-4588-a4b1-b87f96708bc6",
        ],
        &clouds,
    );
    println!("openstacksdk servers: {out}");
    let result: serde_json::Value =
        serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    assert_eq!(result["status"], "ACTIVE");
    assert_eq!(result["ports"].as_array().unwrap().len(), 1);
    assert!(
        result["addresses"].as_object().unwrap().len() == 1,
        "{result}"
    );
    assert_eq!(result["suspended"], "SUSPENDED");
    assert!(
        result["refused"]
            .as_str()
            .unwrap()
            .contains("while it is in vm_state suspended"),
        "{result}"
    );
    assert_eq!(result["gone"], true);
}
