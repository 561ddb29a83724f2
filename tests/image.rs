//! The release binary run the way the Docker image runs it (see
//! `Dockerfile`): `porthole serve` with the image's environment
//! (`PORTHOLE_LISTEN=0.0.0.0:<port>`, `PORTHOLE_DATA_DIR`, a read-only
//! "mounted" seed in `PORTHOLE_SEED`), as the image's non-root user, with
//! `porthole healthcheck` as the HEALTHCHECK runs it. No Docker engine is
//! needed: `PORTHOLE_IMAGE_BIN` names the binary (`.ci/run` sets it after
//! `cargo build --release --locked`); without it the test is skipped.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The image's `USER` (any non-root uid would do).
const IMAGE_UID: u32 = 10001;
const DEMO_PROJECT: &str = "6f70656e737461636b20342065766572";
/// The example seed's server.
const SERVER: &str = "afe25d9b-890b-4847-995c-534aa0cb7cc4";
const READY_TIMEOUT: Duration = Duration::from_secs(20);

fn image_bin() -> Option<PathBuf> {
    let bin = std::env::var_os("PORTHOLE_IMAGE_BIN")?;
    let bin = PathBuf::from(bin);
    assert!(
        bin.is_file(),
        "PORTHOLE_IMAGE_BIN={} is no file",
        bin.display()
    );
    Some(bin)
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// A root file system in miniature: `/usr/local/bin/porthole`, the data
/// volume owned by the image's user, and the mounted seed (read-only).
struct Image {
    root: tempfile::TempDir,
    listen_port: u16,
    as_root: bool,
}

impl Image {
    fn new(bin: &Path) -> Self {
        let root = tempfile::tempdir().unwrap();
        let as_root = is_root();
        let mode = |path: &Path, mode: u32| {
            fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap()
        };
        mode(root.path(), 0o755);
        let bin_dir = root.path().join("usr/local/bin");
        fs::create_dir_all(&bin_dir).unwrap();
        fs::copy(bin, bin_dir.join("porthole")).unwrap();
        mode(&bin_dir.join("porthole"), 0o755);
        for dir in ["usr", "usr/local", "usr/local/bin"] {
            mode(&root.path().join(dir), 0o755);
        }
        let data = root.path().join("var/lib/porthole");
        fs::create_dir_all(&data).unwrap();
        for dir in ["var", "var/lib"] {
            mode(&root.path().join(dir), 0o755);
        }
        mode(&data, 0o755);
        if as_root {
            std::os::unix::fs::chown(&data, Some(IMAGE_UID), Some(IMAGE_UID)).unwrap();
        }
        let etc = root.path().join("etc/porthole");
        fs::create_dir_all(&etc).unwrap();
        let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/seed.example.toml");
        fs::copy(seed, etc.join("seed.toml")).unwrap();
        mode(&etc.join("seed.toml"), 0o444);
        mode(&etc, 0o555);
        mode(&root.path().join("etc"), 0o755);
        let listen_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Image {
            root,
            listen_port,
            as_root,
        }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    /// `porthole ARGS` as the container runs it: the image's `ENV`, `USER`,
    /// `WORKDIR` and `PATH`, nothing of this process's environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = if self.as_root {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={IMAGE_UID}"),
                &format!("--regid={IMAGE_UID}"),
                "--clear-groups",
                "porthole",
            ]);
            c
        } else {
            // Already not root.
            Command::new(self.path("usr/local/bin/porthole"))
        };
        command
            .args(args)
            .env_clear()
            .env(
                "PATH",
                format!(
                    "{}:/usr/sbin:/usr/bin:/sbin:/bin",
                    self.path("usr/local/bin").display()
                ),
            )
            // ENV of the Dockerfile.
            .env("PORTHOLE_LISTEN", format!("0.0.0.0:{}", self.listen_port))
            .env("PORTHOLE_DATA_DIR", self.path("var/lib/porthole"))
            .env("PORTHOLE_SHUTDOWN_GRACE", "8")
            // docker run -e PORTHOLE_SEED=... -v seed.toml:/etc/porthole/seed.toml:ro
            .env("PORTHOLE_SEED", self.path("etc/porthole/seed.toml"))
            .current_dir(self.path("var/lib/porthole"))
            .stdin(Stdio::null());
        command
    }

    /// `ENTRYPOINT ["porthole"]` + `CMD ["serve"]`, output to a file.
    fn run(&self) -> Child {
        let log = fs::File::create(self.path("container.log")).unwrap();
        self.command(&["serve"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start porthole serve")
    }

    /// `HEALTHCHECK CMD ["porthole", "healthcheck"]`.
    fn healthcheck(&self) -> std::process::Output {
        self.command(&["healthcheck"])
            .output()
            .expect("run porthole healthcheck")
    }

    fn log(&self) -> String {
        fs::read_to_string(self.path("container.log")).unwrap_or_default()
    }
}

fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The running container: killed if the test fails half-way.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_binary_runs_as_the_image_runs_it() {
    let Some(bin) = image_bin() else {
        eprintln!("skipped: PORTHOLE_IMAGE_BIN is not set (.ci/run sets it to the release binary)");
        return;
    };
    let image = Image::new(&bin);
    let mut running = Running(image.run());
    let child = &mut running.0;
    let port = image.listen_port;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    // Docker's start period: probe until healthy (bounded).
    let deadline = Instant::now() + READY_TIMEOUT;
    let probe = loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("porthole exited ({status}):\n{}", image.log());
        }
        let probe = tokio::task::block_in_place(|| image.healthcheck());
        if probe.status.success() || Instant::now() > deadline {
            break probe;
        }
        assert_eq!(probe.status.code(), Some(1), "unhealthy is exit 1");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        probe.status.code(),
        Some(0),
        "healthcheck: {}{}\nlog:\n{}",
        String::from_utf8_lossy(&probe.stdout),
        String::from_utf8_lossy(&probe.stderr),
        image.log()
    );

    // The default URL: PORTHOLE_LISTEN's port, on loopback.
    assert_eq!(
        String::from_utf8_lossy(&probe.stdout),
        format!("porthole: healthy (http://127.0.0.1:{port}/healthz)\n")
    );

    // Every interface: 127.0.0.2 reaches a 0.0.0.0 listener, not a 127.0.0.1 one.
    let base = format!("http://127.0.0.2:{port}");
    let health: Value = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("porthole listens on every interface")
        .json()
        .await
        .unwrap();
    assert_eq!(
        health,
        json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"), "store": "sqlite"})
    );

    // The embedded default: builtin Keystone, admin/porthole-admin.
    let issued = client
        .post(format!("{base}/identity/v3/auth/tokens"))
        .json(&json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"name": "Default"}, "password": "porthole-admin"}}},
            "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), 201);
    let token = issued.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let url = format!("{base}/v2.1/{DEMO_PROJECT}/servers/{SERVER}/os-interface");
    let refused = client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let listed = client
        .get(&url)
        .header("X-Auth-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    // The mounted seed was applied: the server exists, with no interface yet.
    assert_eq!(
        listed.json::<Value>().await.unwrap(),
        json!({"interfaceAttachments": []})
    );

    // The database is in the volume, written by the image's user.
    let database = image.path("var/lib/porthole/porthole.sqlite3");
    assert!(database.is_file(), "{}", image.log());
    if image.as_root {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(fs::metadata(&database).unwrap().uid(), IMAGE_UID);
    }

    // `docker stop`: SIGTERM, and a clean exit.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = wait_exit(child, Duration::from_secs(15));
    assert!(
        exit.is_some_and(|s| s.success()),
        "{exit:?}:\n{}",
        image.log()
    );
    let probe = image.healthcheck();
    assert_eq!(probe.status.code(), Some(1), "nothing listens any more");
}
