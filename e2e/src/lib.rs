//! Shared helpers for the end-to-end tests under `e2e/tests/`.
//!
//! Every end-to-end test is `#[ignore]`d so that `cargo test --workspace` (the unit tests)
//! never needs a real component; `.ci/e2e` runs them with `--ignored`, phase by phase:
//!
//! | test name prefix | where it runs | what `.ci/e2e` provides |
//! |---|---|---|
//! | `local_` | the root network namespace | Debian packages installed; each test starts the real service it needs (registry, prometheus, etcd) on loopback itself |
//! | `cluster_` | inside the `kso-node` network namespace | the kso-cluster up, with the audit webhook flags of [`AUDIT_WEBHOOK_ADDR`] |
//! | `insecure_kubelet_` | inside `kso-node` | the cluster up with `KSO_KUBELET_INSECURE=1` |
//!
//! A missing prerequisite fails the test when `CI=true` and prints why it skipped otherwise:
//! never a silent pass in CI.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Where the API server sends audit events in the `cluster_` phase (inside the `kso-node`
/// network namespace): `runtime serve` must listen here, plain HTTP, path `/k8s-audit`.
pub const AUDIT_WEBHOOK_ADDR: &str = "127.0.0.1:9765";

/// True when running in CI (`CI=true`): missing prerequisites are failures there.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Checks a prerequisite. Returns `false` (after saying why) when the test should stop
/// early outside CI; panics in CI, so a missing component can never look like a pass.
#[must_use]
pub fn require(ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    if in_ci() {
        panic!("end-to-end prerequisite missing (CI=true): {what}");
    }
    eprintln!("SKIPPED: end-to-end prerequisite missing: {what}");
    false
}

/// Requires an environment variable set by `.ci/e2e` and returns its value.
pub fn require_env(name: &str) -> Option<String> {
    let value = std::env::var(name).ok().filter(|v| !v.is_empty());
    require(value.is_some(), &format!("environment variable {name} (set by .ci/e2e)")).then(|| value.unwrap())
}

/// Returns true when `program` is found on PATH (or is an existing path).
pub fn have_program(program: &str) -> bool {
    find_program(program).is_some()
}

/// Full path of `program` on PATH.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let direct = Path::new(program);
    if direct.components().count() > 1 {
        return direct.is_file().then(|| direct.to_path_buf());
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
}

/// A loopback port that was free a moment ago (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind an ephemeral port")
        .local_addr()
        .expect("address")
        .port()
}

/// The workspace root (the folder holding `.ci/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("e2e/ sits in the workspace root").to_path_buf()
}

/// The `kubesecops` binary under test: `$KUBESECOPS_BIN`, else the workspace's debug build
/// (`.ci/e2e` builds it first).
pub fn kubesecops_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("KUBESECOPS_BIN") {
        return PathBuf::from(bin);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("debug").join("kubesecops")
}

/// A `Command` for the kubesecops binary under test.
pub fn kubesecops() -> Command {
    Command::new(kubesecops_bin())
}

/// The test cluster's admin kubeconfig and kubectl, when the cluster phase is running.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Admin kubeconfig (`$KSO_KUBECONFIG`).
    pub kubeconfig: PathBuf,
    /// kubectl built with the cluster (`$KSO_KUBECTL`).
    pub kubectl: PathBuf,
    /// The node's address inside the namespace (`$KSO_NODE_IP`).
    pub node_ip: String,
}

impl Cluster {
    /// The running test cluster, or `None` (skip outside CI, panic in CI).
    pub fn require() -> Option<Cluster> {
        let kubeconfig = require_env("KSO_KUBECONFIG")?;
        let kubectl = require_env("KSO_KUBECTL")?;
        let node_ip = require_env("KSO_NODE_IP")?;
        let cluster = Cluster { kubeconfig: kubeconfig.into(), kubectl: kubectl.into(), node_ip };
        require(cluster.kubeconfig.is_file(), "the kso-cluster admin kubeconfig").then_some(cluster)
    }

    /// Runs kubectl with the admin kubeconfig; returns its output whatever the status.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new(&self.kubectl)
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .args(args)
            .output()
            .expect("kubectl runs")
    }

    /// Runs kubectl and panics with its stderr when it fails; returns stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(out.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits (up to two minutes) until none of `namespaces` exists: a previous test deletes
    /// its namespaces without waiting, and they cannot be created again while terminating.
    pub fn wait_namespaces_gone(&self, namespaces: &[&str]) {
        let mut args = vec!["get", "namespace"];
        args.extend_from_slice(namespaces);
        args.extend_from_slice(&["-o", "name"]);
        for _ in 0..240 {
            if String::from_utf8_lossy(&self.kubectl(&args).stdout).trim().is_empty() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }

    /// Applies a manifest given as text (`kubectl apply -f -`).
    pub fn apply(&self, manifest: &str) -> Output {
        self.kubectl_stdin(&["apply", "-f", "-"], manifest.as_bytes())
    }

    /// Runs kubectl with `input` on its standard input; returns its output whatever the status.
    pub fn kubectl_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        use std::io::Write;
        let mut child = Command::new(&self.kubectl)
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("kubectl runs");
        child.stdin.take().expect("stdin").write_all(input).expect("write kubectl's input");
        child.wait_with_output().expect("kubectl finishes")
    }
}

/// Kills the child process when dropped, so a failing test never leaves a server behind.
#[derive(Debug)]
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A minimal HTTP/1.1 request (the tests need no client library): returns status and body.
pub fn http(method: &str, addr: SocketAddr, path: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    Some((status, body))
}

fn dechunk(mut text: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = text.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { break };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        text = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Percent-encodes a query parameter value.
pub fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Polls `done` every 250 ms; panics naming `what` after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}
