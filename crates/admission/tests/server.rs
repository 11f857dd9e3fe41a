//! The HTTPS server on loopback with a certificate generated here: endpoints, malformed
//! requests, body limit, deadline, policy reload (file change and SIGHUP), certificate reload.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kubesecops_admission::{ServeOptions, Server};
use serde_json::{json, Value as Json};
use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// A self-signed certificate for `localhost` and 127.0.0.1, written to `dir`.
struct TestCert {
    pem: String,
}

fn write_cert(dir: &Path) -> TestCert {
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("certificate generated");
    let pem = generated.cert.pem();
    // Write through temporary files and rename, as a Secret volume update does.
    std::fs::write(dir.join("tls.key.new"), generated.signing_key.serialize_pem()).unwrap();
    std::fs::write(dir.join("tls.crt.new"), &pem).unwrap();
    std::fs::rename(dir.join("tls.key.new"), dir.join("tls.key")).unwrap();
    std::fs::rename(dir.join("tls.crt.new"), dir.join("tls.crt")).unwrap();
    TestCert { pem }
}

/// Replaces a file by writing a temporary one and renaming it, as editors and Secret volume
/// updates do, so that a poll never reads it half-written.
fn replace_file(path: &Path, content: &str) -> std::io::Result<()> {
    let temporary = path.with_extension("new");
    std::fs::write(&temporary, content)?;
    std::fs::rename(&temporary, path)
}

struct TestServer {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn start(dir: &Path, config: Option<PathBuf>, tweak: impl FnOnce(&mut ServeOptions)) -> TestServer {
    let mut options =
        ServeOptions::new("127.0.0.1:0".parse().unwrap(), dir.join("tls.crt"), dir.join("tls.key"), config);
    options.reload_interval = Duration::from_millis(100);
    tweak(&mut options);
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async move {
            match Server::bind(options).await {
                Ok(server) => {
                    addr_tx.send(Ok(server.local_addr().unwrap())).unwrap();
                    server
                        .run(async {
                            let _ = shutdown_rx.await;
                        })
                        .await
                        .unwrap();
                }
                Err(err) => addr_tx.send(Err(err.to_string())).unwrap(),
            }
        });
    });
    let addr = addr_rx.recv().unwrap().expect("server starts");
    TestServer { addr, shutdown: Some(shutdown_tx), thread: Some(thread) }
}

fn agent(cert_pem: &str) -> ureq::Agent {
    let cert = Certificate::from_pem(cert_pem.as_bytes()).unwrap().to_owned();
    let tls = TlsConfig::builder().root_certs(RootCerts::Specific(Arc::new(vec![cert]))).build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// POSTs a body; returns status and body text.
fn post(agent: &ureq::Agent, server: &TestServer, body: &[u8]) -> (u16, String) {
    let url = format!("https://localhost:{}/validate", server.addr.port());
    let mut response =
        agent.post(&url).header("content-type", "application/json").send(body).expect("request completes");
    let status = response.status().as_u16();
    (status, response.body_mut().with_config().limit(1 << 20).read_to_string().unwrap())
}

fn get(agent: &ureq::Agent, server: &TestServer, path: &str) -> (u16, String) {
    let url = format!("https://localhost:{}{path}", server.addr.port());
    let mut response = agent.get(&url).call().expect("request completes");
    (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
}

fn pod_review(uid: &str, privileged: bool) -> Vec<u8> {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "namespace": "team", "operation": "CREATE", "userInfo": {"username": "alice"},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36",
                "securityContext": {"privileged": privileged}}]}}}})
    .to_string()
    .into_bytes()
}

fn response_of(body: &str) -> Json {
    let reply: Json = serde_json::from_str(body).unwrap();
    assert_eq!(reply["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(reply["kind"], "AdmissionReview");
    reply["response"].clone()
}

/// Retries `check` until it holds or 10 s pass.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn validates_and_reports_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path());
    let server = start(dir.path(), None, |_| {});
    let client = agent(&cert.pem);

    let (status, body) = post(&client, &server, &pod_review("uid-1", true));
    assert_eq!(status, 200, "{body}");
    let response = response_of(&body);
    assert_eq!(response["uid"], "uid-1");
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 403);
    let message = response["status"]["message"].as_str().unwrap();
    assert!(message.contains("[KSO-C001]") && message.contains("[KSO-PSS-privileged]"), "{message}");

    let (status, body) = post(&client, &server, &pod_review("uid-2", false));
    assert_eq!(status, 200);
    let response = response_of(&body);
    assert_eq!(response["uid"], "uid-2");
    assert_eq!(response["allowed"], true);
    assert!(response.get("status").is_none());

    assert_eq!(get(&client, &server, "/healthz"), (200, "ok\n".to_string()));
    let (status, ready) = get(&client, &server, "/readyz");
    assert_eq!(status, 200);
    assert!(ready.starts_with("ok: builtin: "), "{ready}");

    let (status, metrics) = get(&client, &server, "/metrics");
    assert_eq!(status, 200);
    for line in [
        "kubesecops_admission_requests_total{result=\"denied\"} 1",
        "kubesecops_admission_requests_total{result=\"allowed\"} 1",
        "kubesecops_admission_violations_total{rule=\"KSO-C001\",mode=\"enforce\"} 1",
        "kubesecops_admission_request_duration_seconds_count 2",
    ] {
        assert!(metrics.lines().any(|l| l == line), "missing {line:?} in\n{metrics}");
    }
}

#[test]
fn malformed_and_oversized_requests_get_clear_http_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path());
    let server = start(dir.path(), None, |options| options.max_body_bytes = 64 * 1024);
    let client = agent(&cert.pem);

    let (status, body) = post(&client, &server, b"{\"apiVersion\": ");
    assert_eq!(status, 400);
    assert!(body.starts_with("malformed AdmissionReview: "), "{body}");

    let (status, body) = post(&client, &server, br#"{"apiVersion":"v1","kind":"Pod"}"#);
    assert_eq!(status, 400);
    assert!(body.contains("kind is \"Pod\""), "{body}");

    let (status, body) = post(
        &client,
        &server,
        br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","kind":{"kind":"Pod"},"operation":"CREATE","object":"text"}}"#,
    );
    assert_eq!(status, 400);
    assert!(body.contains("request.object must be an object for CREATE"), "{body}");

    let mut big = pod_review("big", false);
    let padding = format!(",\"padding\":\"{}\"}}", "x".repeat(100 * 1024));
    big.truncate(big.len() - 1);
    big.extend_from_slice(padding.as_bytes());
    // The server answers 413 as soon as the limit is passed and closes the connection, so
    // the client may still be writing: a broken pipe is that same refusal seen too early.
    // Retry until the answer itself is read.
    let url = format!("https://localhost:{}/validate", server.addr.port());
    let status = (0..20)
        .find_map(|_| {
            client
                .post(&url)
                .header("content-type", "application/json")
                .send(&big[..])
                .ok()
                .map(|r| r.status())
        })
        .expect("an answer to the oversized request within 20 tries");
    assert_eq!(status.as_u16(), 413);

    // Still serving after all that.
    let (status, body) = post(&client, &server, &pod_review("after", true));
    assert_eq!(status, 200);
    assert_eq!(response_of(&body)["allowed"], false);
    let (_, metrics) = get(&client, &server, "/metrics");
    assert!(metrics.contains("kubesecops_admission_requests_total{result=\"bad_request\"} 3"), "{metrics}");
}

const SLOW_POLICY: &str = "package main\n\ndeny[msg] {\n  a := numbers.range(1, 20000)[_]\n  b := numbers.range(1, 20000)[_]\n  a * b == -1\n  msg := \"never\"\n}\n";

#[test]
fn the_deadline_bounds_evaluation_and_on_error_decides() {
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path());
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    std::fs::write(dir.path().join("policies/slow.rego"), SLOW_POLICY).unwrap();
    let config = dir.path().join("webhook.toml");
    replace_file(&config, "deadline_ms = 100\n[rego]\npolicies = [\"policies\"]\n").unwrap();
    let server = start(dir.path(), Some(config.clone()), |_| {});
    let client = agent(&cert.pem);

    let start = Instant::now();
    let (status, body) = post(&client, &server, &pod_review("slow", false));
    assert!(start.elapsed() < Duration::from_secs(3), "took {:?}", start.elapsed());
    assert_eq!(status, 200);
    let response = response_of(&body);
    assert_eq!(response["allowed"], false, "{response}");
    let message = response["status"]["message"].as_str().unwrap();
    assert!(message.contains("evaluation error"), "{message}");
    assert!(message.contains("100 ms"), "{message}");

    // Fail open instead: admitted with a warning naming the error.
    replace_file(&config, "deadline_ms = 100\non_error = \"allow\"\n[rego]\npolicies = [\"policies\"]\n")
        .unwrap();
    eventually("the on_error change to be loaded", || {
        let (_, body) = post(&client, &server, &pod_review("slow-open", false));
        let response = response_of(&body);
        response["allowed"] == true
            && response["warnings"][0].as_str().is_some_and(|w| w.contains("evaluation error"))
    });
}

#[test]
fn policies_reload_on_file_change_and_a_bad_reload_keeps_the_previous_ones() {
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path());
    let config = dir.path().join("webhook.toml");
    replace_file(&config, "[pss]\nlevel = \"baseline\"\nmode = \"warn\"\n").unwrap();
    let server = start(dir.path(), Some(config.clone()), |_| {});
    let client = agent(&cert.pem);
    let allowed =
        |uid: &str| response_of(&post(&client, &server, &pod_review(uid, true)).1)["allowed"] == true;
    assert!(allowed("warned"));

    replace_file(&config, "[pss]\nlevel = \"baseline\"\nmode = \"enforce\"\n").unwrap();
    eventually("the enforce config to be loaded", || !allowed("enforced"));

    // A broken config: the enforce policies stay, and readyz and metrics say why.
    replace_file(&config, "[pss]\nlevel = \"strictest\"\n").unwrap();
    eventually("the failed reload to be reported", || {
        get(&client, &server, "/readyz").1.contains("last policy reload failed")
    });
    let (status, ready) = get(&client, &server, "/readyz");
    assert_eq!(status, 200);
    assert!(ready.contains("webhook.toml:2:9: unknown Pod Security level \"strictest\""), "{ready}");
    assert!(ready.starts_with("ok: pss: baseline latest (enforce)"), "{ready}");
    assert!(!allowed("still-enforced"));
    let (_, metrics) = get(&client, &server, "/metrics");
    assert!(metrics.contains("kubesecops_admission_policy_reload_success 0"), "{metrics}");
    assert!(metrics.contains("kubesecops_admission_policy_reloads_total{result=\"failure\"} 1"), "{metrics}");

    // A broken Rego policy is refused the same way.
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    std::fs::write(dir.path().join("policies/p.rego"), "package main\ndeny[msg] {\n").unwrap();
    replace_file(&config, "[pss]\nlevel = \"baseline\"\n[rego]\npolicies = [\"policies\"]\n").unwrap();
    eventually("the Rego error to be reported", || get(&client, &server, "/readyz").1.contains("p.rego"));
    assert!(!allowed("still-enforced-2"));
}

#[test]
fn sighup_reloads_the_policies() {
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path());
    let config = dir.path().join("webhook.toml");
    replace_file(&config, "[pss]\nlevel = \"baseline\"\nmode = \"warn\"\n").unwrap();
    // No file poll within the test's time: only the signal can reload.
    let server = start(dir.path(), Some(config.clone()), |o| o.reload_interval = Duration::from_secs(3600));
    let client = agent(&cert.pem);
    let allowed =
        |uid: &str| response_of(&post(&client, &server, &pod_review(uid, true)).1)["allowed"] == true;
    replace_file(&config, "[pss]\nlevel = \"baseline\"\nmode = \"enforce\"\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(allowed("before-signal"));
    let status =
        std::process::Command::new("kill").args(["-HUP", &std::process::id().to_string()]).status().unwrap();
    assert!(status.success());
    eventually("SIGHUP to reload the config", || !allowed("after-signal"));
}

#[test]
fn the_certificate_is_reloaded_when_its_files_change() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_cert(dir.path());
    let server = start(dir.path(), None, |_| {});
    let (status, _) = get(&agent(&first.pem), &server, "/healthz");
    assert_eq!(status, 200);

    let second = write_cert(dir.path());
    eventually("the new certificate to be served", || {
        let url = format!("https://localhost:{}/healthz", server.addr.port());
        agent(&second.pem).get(&url).call().is_ok()
    });
    let url = format!("https://localhost:{}/healthz", server.addr.port());
    assert!(agent(&first.pem).get(&url).call().is_err(), "the old certificate is no longer served");

    // A key that does not match its certificate is refused; the current one stays. The plain
    // write may be seen truncated first: that passing state is not counted as a failure.
    let third = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.path().join("tls.crt"), third.cert.pem()).unwrap();
    eventually("the mismatch to be counted", || {
        get(&agent(&second.pem), &server, "/metrics")
            .1
            .contains("kubesecops_admission_certificate_reloads_total{result=\"failure\"} 1")
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(agent(&second.pem).get(&url).call().is_ok());
    let (_, metrics) = get(&agent(&second.pem), &server, "/metrics");
    assert!(
        metrics.contains("kubesecops_admission_certificate_reloads_total{result=\"failure\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kubesecops_admission_certificate_reloads_total{result=\"success\"} 1"),
        "{metrics}"
    );
}

#[test]
fn startup_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_cert(dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let bind = |options: ServeOptions| runtime.block_on(Server::bind(options)).err().map(|e| e.to_string());

    let missing = ServeOptions::new(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().join("nope.crt"),
        dir.path().join("tls.key"),
        None,
    );
    let err = bind(missing).unwrap();
    assert!(err.starts_with("TLS: ") && err.contains("nope.crt"), "{err}");

    let config = dir.path().join("webhook.toml");
    replace_file(&config, "mode = \"audit\"\n").unwrap();
    let bad_config = ServeOptions::new(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().join("tls.crt"),
        dir.path().join("tls.key"),
        Some(config),
    );
    let err = bind(bad_config).unwrap();
    assert!(err.contains("webhook.toml:1:8: unknown mode \"audit\""), "{err}");
}

#[test]
fn a_policy_changed_without_its_signature_is_not_reloaded() {
    use kubesecops_trust::testing::TestKey;
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path());
    let key = TestKey::new(5, [5, 4, 3, 2, 1, 0, 1, 2]);
    std::fs::write(dir.path().join("policy.pub"), key.public_file()).unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    let policy = dir.path().join("policies/p.rego");
    let deny_named = |name: &str| {
        format!(
            "package main\n\ndeny[msg] {{\n  input.metadata.name == \"{name}\"\n  msg := \"no {name}\"\n}}\n"
        )
    };
    let sign = |text: &str| key.sign(text.as_bytes(), "timestamp:1700000000\tfile:p.rego", true);
    replace_file(&policy, &deny_named("p")).unwrap();
    replace_file(&dir.path().join("policies/p.rego.minisig"), &sign(&deny_named("p"))).unwrap();
    let config = dir.path().join("webhook.toml");
    replace_file(&config, "policy_keys = [\"policy.pub\"]\n[rego]\npolicies = [\"policies\"]\n").unwrap();
    let server = start(dir.path(), Some(config.clone()), |_| {});
    let client = agent(&cert.pem);
    let allowed =
        |uid: &str| response_of(&post(&client, &server, &pod_review(uid, false)).1)["allowed"] == true;
    assert!(!allowed("signed"), "the signed policy denies pod p");

    // Edited in place, signature unchanged: refused, the signed policy stays.
    replace_file(&policy, &deny_named("nobody")).unwrap();
    eventually("the mismatch to be reported", || {
        get(&client, &server, "/readyz").1.contains("p.rego: the signature")
    });
    assert!(!allowed("still-signed"));

    // Signed again: loaded.
    replace_file(&dir.path().join("policies/p.rego.minisig"), &sign(&deny_named("nobody"))).unwrap();
    eventually("the newly signed policy to be loaded", || allowed("resigned"));
    assert!(!get(&client, &server, "/readyz").1.contains("failed"));
}
