//! `kubesecops image` against a real registry: Debian's `docker-registry` on loopback, an
//! image built with `umoci` and pushed with `skopeo`, pulled and scanned over plain HTTP,
//! anonymously, with basic credentials from a docker `config.json`, and with token
//! authentication (a token service written here signs the JWTs the registry verifies).

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kubesecops_e2e::{find_program, free_port, kubesecops, require, ChildGuard};
use serde_json::Value;

const TAG: &str = "1.0";

fn run(program: &str, args: &[&str]) {
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn prerequisites() -> bool {
    ["docker-registry", "umoci", "skopeo"]
        .iter()
        .all(|p| require(find_program(p).is_some(), &format!("{p} (`.ci/e2e install`)")))
}

/// Starts `docker-registry serve` on a free loopback port with storage in `dir`; `htpasswd`
/// turns on basic auth. Returns the guard and `127.0.0.1:PORT`.
fn start_registry(dir: &Path, htpasswd: Option<&str>) -> (ChildGuard, String) {
    let auth = match htpasswd {
        Some(entry) => {
            std::fs::write(dir.join("htpasswd"), format!("{entry}\n")).unwrap();
            format!("auth:\n  htpasswd:\n    realm: e2e\n    path: {}\n", dir.join("htpasswd").display())
        }
        None => String::new(),
    };
    start_registry_with_auth(dir, &auth)
}

/// Starts the registry with `auth` (a YAML `auth:` section, or empty).
fn start_registry_with_auth(dir: &Path, auth: &str) -> (ChildGuard, String) {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let config = format!(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n{auth}",
        dir.join("storage").display()
    );
    std::fs::write(dir.join("config.yml"), config).unwrap();
    let child = Command::new(find_program("docker-registry").unwrap())
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("docker-registry starts");
    let guard = ChildGuard(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(&address).is_err() {
        assert!(Instant::now() < deadline, "docker-registry did not listen on {address}");
        std::thread::sleep(Duration::from_millis(100));
    }
    (guard, address)
}

/// Builds an OCI layout `DIR:1.0` with umoci: a Debian 12 userland with one dpkg package and a
/// Python requirements file, in two layers.
fn build_image(dir: &Path) -> String {
    let layout = dir.join("layout");
    let image = format!("{}:{TAG}", layout.display());
    run("umoci", &["init", "--layout", layout.to_str().unwrap()]);
    run("umoci", &["new", "--image", &image]);
    // One bundle per layer: `repack` diffs against the image the bundle was unpacked from.
    let layer = |name: &str, files: &[(&str, &str)]| {
        let bundle = dir.join(name);
        run("umoci", &["unpack", "--rootless", "--image", &image, bundle.to_str().unwrap()]);
        for (path, text) in files {
            let path = bundle.join("rootfs").join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        run("umoci", &["repack", "--image", &image, bundle.to_str().unwrap()]);
    };
    layer(
        "bundle-base",
        &[
            (
                "etc/os-release",
                "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
            ),
            (
                "var/lib/dpkg/status",
                "Package: zlib1g\nStatus: install ok installed\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n",
            ),
        ],
    );
    layer("bundle-app", &[("srv/app/requirements.txt", "jinja2==3.1.2\n")]);
    run("umoci", &["config", "--image", &image, "--config.user", "10001", "--config.exposedports", "22/tcp"]);
    image
}

/// A database with one advisory for the image's zlib (by its Debian source name).
fn database(dir: &Path) -> String {
    let records = dir.join("osv");
    std::fs::create_dir_all(&records).unwrap();
    std::fs::write(
        records.join("DEBIAN-E2E-1.json"),
        r#"{"schema_version": "1.6.0", "id": "DEBIAN-E2E-1", "modified": "2024-05-01T00:00:00Z",
            "aliases": ["CVE-2099-0001"], "summary": "e2e advisory",
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "zlib"},
              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:1.2.13.dfsg-2"}]}]}]}"#,
    )
    .unwrap();
    let db = dir.join("db");
    let output = kubesecops()
        .args(["db", "import", "--db", db.to_str().unwrap(), records.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "db import: {}", String::from_utf8_lossy(&output.stderr));
    db.display().to_string()
}

fn push(image: &str, address: &str, creds: Option<&str>) -> String {
    let reference = format!("{address}/e2e/app:{TAG}");
    let destination = format!("docker://{reference}");
    let source = format!("oci:{image}");
    let mut args = vec!["copy", "--dest-tls-verify=false", source.as_str(), destination.as_str()];
    if let Some(creds) = creds {
        args.splice(1..1, ["--dest-creds", creds]);
    }
    run("skopeo", &args);
    reference
}

fn scan(
    reference: &str,
    address: &str,
    db: &str,
    docker_config: &Path,
) -> (std::process::ExitStatus, Value, String) {
    let output = kubesecops()
        .args([
            "image",
            "--insecure-registry",
            address,
            "--db",
            db,
            "--scanners",
            "vuln,config",
            "--format",
            "json",
        ])
        .arg(reference)
        .env("DOCKER_CONFIG", docker_config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status, report, stderr)
}

fn check_report(report: &Value, reference: &str) {
    let packages = report["packages"].as_array().expect("packages section");
    let zlib = packages.iter().find(|p| p["name"] == "zlib1g").expect("zlib1g found");
    assert_eq!(zlib["ecosystem"], "Debian:12");
    assert_eq!(zlib["path"], "var/lib/dpkg/status");
    let layers: Vec<&str> =
        report["image"]["layers"].as_array().unwrap().iter().map(|l| l["digest"].as_str().unwrap()).collect();
    assert_eq!(layers.len(), 2, "{layers:?}");
    assert_eq!(zlib["layer"], layers[0]);
    let jinja = packages.iter().find(|p| p["name"] == "jinja2").expect("jinja2 found");
    assert_eq!(jinja["layer"], layers[1]);
    assert_eq!(report["image"]["kind"], "registry");
    let findings = report["findings"].as_array().unwrap();
    let vuln =
        findings.iter().find(|f| f["rule"]["id"] == "DEBIAN-E2E-1").expect("the advisory matches zlib1g");
    assert_eq!(vuln["location"]["path"], reference);
    assert_eq!(vuln["package"]["layer"], layers[0]);
    assert_eq!(vuln["fixedVersion"], "1:1.2.13.dfsg-2");
    let ids: Vec<&str> = findings.iter().filter_map(|f| f["rule"]["id"].as_str()).collect();
    assert!(ids.contains(&"KSO-IMG-005"), "port 22 exposed: {ids:?}");
    assert!(!ids.contains(&"KSO-IMG-001"), "the image runs as 10001: {ids:?}");
}

#[test]
#[ignore = "end-to-end: .ci/e2e"]
fn local_image_registry_pull_and_scan() {
    if !prerequisites() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path());
    let db = database(dir.path());
    let (_registry, address) = start_registry(dir.path(), None);
    let reference = push(&image, &address, None);
    let (status, report, stderr) = scan(&reference, &address, &db, dir.path());
    assert!(status.success(), "kubesecops image failed: {stderr}");
    check_report(&report, &reference);

    // A tag that is not there is an error (exit 2) that says so, never an empty report.
    let missing = format!("{address}/e2e/app:missing");
    let (status, _, stderr) = scan(&missing, &address, &db, dir.path());
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not found"), "{stderr}");
}

#[test]
#[ignore = "end-to-end: .ci/e2e"]
fn local_image_registry_basic_auth_from_docker_config() {
    if !prerequisites() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path());
    let db = database(dir.path());
    let hash = bcrypt::hash("s3cret-pass", 4).unwrap();
    let (_registry, address) = start_registry(dir.path(), Some(&format!("e2e:{hash}")));
    let reference = push(&image, &address, Some("e2e:s3cret-pass"));

    // Without credentials: a clear error.
    let empty = dir.path().join("no-creds");
    std::fs::create_dir_all(&empty).unwrap();
    let (status, _, stderr) = scan(&reference, &address, &db, &empty);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("credentials"), "{stderr}");

    // With the docker config.json that `docker login` would write.
    let config = dir.path().join("docker");
    std::fs::create_dir_all(&config).unwrap();
    // base64("e2e:s3cret-pass")
    std::fs::write(
        config.join("config.json"),
        format!(r#"{{"auths": {{"{address}": {{"auth": "ZTJlOnMzY3JldC1wYXNz"}}}}}}"#),
    )
    .unwrap();
    let (status, report, stderr) = scan(&reference, &address, &db, &config);
    assert!(status.success(), "kubesecops image failed: {stderr}");
    check_report(&report, &reference);
}

/// A token service as the registry's `auth: token` expects one (the Docker token protocol):
/// `GET /token?service=..&scope=repository:NAME:ACTIONS` with basic credentials gives an ES256
/// JWT whose `x5c` certificate is the registry's trusted root. Anonymous requests get a token
/// with no access. Counts the requests that asked for `pull`.
struct TokenService {
    address: String,
    pull_requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn start_token_service(dir: &Path, user: &'static str, password: &'static str) -> TokenService {
    use base64::Engine;
    use std::io::{BufRead, BufReader, Write};
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "kubesecops e2e token issuer");
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.join("token-root.pem"), cert.pem()).unwrap();
    let x5c = base64::engine::general_purpose::STANDARD.encode(cert.der());
    let rng = ring::rand::SystemRandom::new();
    let signer = ring::signature::EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &key.serialize_der(),
        &rng,
    )
    .unwrap();
    let expected =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let pull_requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = pull_requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut authorization = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    if name.eq_ignore_ascii_case("authorization") {
                        authorization = value.trim().to_string();
                    }
                }
            }
            let target = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
            let query = target.split_once('?').map_or("", |(_, q)| q);
            let param = |name: &str| {
                query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                    .map(|v| v.replace("%3A", ":").replace("%2C", ",").replace("%2F", "/"))
            };
            let mut access = Vec::new();
            if authorization == expected {
                if let Some(scope) = param("scope") {
                    let mut parts = scope.splitn(3, ':');
                    let (kind, name, actions) = (parts.next(), parts.next(), parts.next());
                    if let (Some("repository"), Some(name), Some(actions)) = (kind, name, actions) {
                        if actions.contains("pull") {
                            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        let actions: Vec<&str> = actions.split(',').collect();
                        access.push(
                            serde_json::json!({"type": "repository", "name": name, "actions": actions}),
                        );
                    }
                }
            }
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
            let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [x5c]});
            let claims = serde_json::json!({
                "iss": "kubesecops-e2e", "sub": user, "aud": "e2e-registry",
                "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", access.len()),
                "access": access,
            });
            let signing_input = format!(
                "{}.{}",
                b64url(header.to_string().as_bytes()),
                b64url(claims.to_string().as_bytes())
            );
            let signature = signer.sign(&rng, signing_input.as_bytes()).unwrap();
            let token = format!("{signing_input}.{}", b64url(signature.as_ref()));
            let body =
                serde_json::json!({"token": token, "access_token": token, "expires_in": 300}).to_string();
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    TokenService { address, pull_requests }
}

/// Token authentication as most registries use it: the registry answers 401 with a Bearer
/// challenge, the client gets a token from the token service with the docker config's
/// credentials, then pulls with it.
#[test]
#[ignore = "end-to-end: .ci/e2e"]
fn local_image_registry_token_auth() {
    if !prerequisites() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path());
    let db = database(dir.path());
    let tokens = start_token_service(dir.path(), "e2e", "t0ken-pass");
    let auth = format!(
        "auth:\n  token:\n    realm: http://{}/token\n    service: e2e-registry\n    issuer: kubesecops-e2e\n    rootcertbundle: {}\n",
        tokens.address,
        dir.path().join("token-root.pem").display()
    );
    let (_registry, address) = start_registry_with_auth(dir.path(), &auth);
    let reference = push(&image, &address, Some("e2e:t0ken-pass"));
    let pulls_by_skopeo = tokens.pull_requests.load(std::sync::atomic::Ordering::SeqCst);

    // Without credentials the token has no access: a clear error.
    let empty = dir.path().join("no-creds");
    std::fs::create_dir_all(&empty).unwrap();
    let (status, _, stderr) = scan(&reference, &address, &db, &empty);
    assert_eq!(status.code(), Some(2), "{stderr}");

    let config = dir.path().join("docker");
    std::fs::create_dir_all(&config).unwrap();
    // base64("e2e:t0ken-pass")
    std::fs::write(
        config.join("config.json"),
        format!(r#"{{"auths": {{"{address}": {{"auth": "ZTJlOnQwa2VuLXBhc3M="}}}}}}"#),
    )
    .unwrap();
    let (status, report, stderr) = scan(&reference, &address, &db, &config);
    assert!(status.success(), "kubesecops image failed: {stderr}");
    check_report(&report, &reference);
    let pulls = tokens.pull_requests.load(std::sync::atomic::Ordering::SeqCst);
    assert!(pulls > pulls_by_skopeo, "kubesecops never asked the token service for a pull token");
}
