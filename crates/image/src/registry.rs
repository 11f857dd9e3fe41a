//! Pulling from a registry (OCI distribution API v2): manifests and blobs over HTTPS (or
//! plain HTTP for hosts named with `--insecure-registry`), bearer tokens obtained through
//! the `WWW-Authenticate` challenge, basic credentials from the docker `config.json`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::reference::{Reference, DOCKER_HUB};
use crate::ImageError;

/// Accept header for manifests: every index and manifest type we read.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// A user name and password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, <redacted>)", self.username)
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 (padding optional); `None` on any other character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in text.trim().trim_end_matches('=').bytes() {
        let value = BASE64.iter().position(|&b| b == c)? as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The docker `config.json`: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".docker/config.json"))
}

/// Credentials for `registry` from a docker config file, as docker resolves them: the
/// registry's `credHelpers` entry, else the `credsStore`, else an `auths` entry (keys may be a
/// bare host or a URL; Docker Hub's is `https://index.docker.io/v1/`). A helper is the program
/// `docker-credential-NAME` on PATH, run as `get` with the server on standard input.
pub fn credentials_from(config: &Path, registry: &str) -> Result<Option<Credentials>, ImageError> {
    credentials_with_helpers(config, registry, &|name| format!("docker-credential-{name}").into())
}

/// [`credentials_from`] with the helper program of each helper name chosen by `program`.
pub fn credentials_with_helpers(
    config: &Path,
    registry: &str,
    program: &dyn Fn(&str) -> PathBuf,
) -> Result<Option<Credentials>, ImageError> {
    let text = match std::fs::read_to_string(config) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ImageError::Io { path: config.display().to_string(), error: e }),
    };
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| ImageError::Parse {
        path: config.display().to_string(),
        line: e.line(),
        message: e.to_string(),
    })?;
    let host_of = |key: &str| {
        let key = key.split_once("://").map_or(key, |(_, rest)| rest);
        key.split('/').next().unwrap_or(key).to_string()
    };
    let wanted = if registry == DOCKER_HUB {
        vec![DOCKER_HUB, "index.docker.io", "registry-1.docker.io"]
    } else {
        vec![registry]
    };
    let helpers = json.get("credHelpers").and_then(|h| h.as_object());
    let helper = helpers
        .and_then(|h| h.iter().find(|(key, _)| wanted.contains(&host_of(key).as_str())))
        .and_then(|(_, name)| name.as_str())
        .or_else(|| json.get("credsStore").and_then(|s| s.as_str()))
        .filter(|name| !name.is_empty());
    if let Some(name) = helper {
        // Docker asks helpers for Docker Hub by its legacy URL.
        let server = if registry == DOCKER_HUB { "https://index.docker.io/v1/" } else { registry };
        if let Some(found) = run_credential_helper(&program(name), server)? {
            return Ok(Some(found));
        }
    }
    let Some(auths) = json.get("auths").and_then(|a| a.as_object()) else { return Ok(None) };
    for (key, entry) in auths {
        if !wanted.contains(&host_of(key).as_str()) {
            continue;
        }
        if let Some(auth) = entry.get("auth").and_then(|a| a.as_str()).filter(|a| !a.is_empty()) {
            let decoded = base64_decode(auth).and_then(|b| String::from_utf8(b).ok());
            let Some((username, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
                return Err(ImageError::Parse {
                    path: config.display().to_string(),
                    line: 0,
                    message: format!("auths.{key}.auth is not base64 of user:password"),
                });
            };
            return Ok(Some(Credentials { username: username.into(), password: password.into() }));
        }
        let field = |name: &str| entry.get(name).and_then(|v| v.as_str()).map(str::to_string);
        if let (Some(username), Some(password)) = (field("username"), field("password")) {
            return Ok(Some(Credentials { username, password }));
        }
    }
    Ok(None)
}

/// Runs `program get` with `server` on standard input, as the docker credential-helper
/// protocol says: `{"Username", "Secret"}` on success; "credentials not found" is no
/// credentials, any other failure an error naming the helper.
fn run_credential_helper(program: &Path, server: &str) -> Result<Option<Credentials>, ImageError> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let failed = |message: String| ImageError::Registry { registry: server.to_string(), message };
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("credential helper {}: {e}", program.display())))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading its input is judged by its exit status below.
        let _ = stdin.write_all(server.as_bytes());
    }
    let output = child
        .wait_with_output()
        .map_err(|e| failed(format!("credential helper {}: {e}", program.display())))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failed(format!(
            "credential helper {} failed ({}): {}",
            program.display(),
            output.status,
            format!("{stdout} {stderr}").trim()
        )));
    }
    let json: serde_json::Value = serde_json::from_str(&stdout)
        .map_err(|e| failed(format!("credential helper {}: not JSON: {e}", program.display())))?;
    let field = |name: &str| json.get(name).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let (username, password) = (field("Username"), field("Secret"));
    if password.is_empty() {
        return Err(failed(format!("credential helper {}: no Secret in its answer", program.display())));
    }
    Ok(Some(Credentials { username, password }))
}

/// The scheme and parameters of a `WWW-Authenticate` challenge.
fn parse_challenge(header: &str) -> (String, Vec<(String, String)>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else { break };
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            (&quoted[..end], quoted.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        params.push((key.trim().to_ascii_lowercase(), value.to_string()));
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    (scheme.to_ascii_lowercase(), params)
}

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A connection to one repository of a registry.
pub struct Registry {
    agent: ureq::Agent,
    base: String,
    reference: Reference,
    credentials: Option<Credentials>,
    authorization: Option<String>,
    max_document_bytes: u64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Registry({})", self.base)
    }
}

impl Registry {
    /// A client for `reference`'s repository; plain HTTP when `insecure`.
    pub fn new(
        reference: &Reference,
        insecure: bool,
        credentials: Option<Credentials>,
        max_document_bytes: u64,
    ) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .user_agent(concat!("kubesecops/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let scheme = if insecure { "http" } else { "https" };
        Registry {
            agent,
            base: format!("{scheme}://{}/v2/{}", reference.api_host(), reference.repository),
            reference: reference.clone(),
            credentials,
            authorization: None,
            max_document_bytes,
        }
    }

    fn error(&self, message: impl Into<String>) -> ImageError {
        ImageError::Registry { registry: self.reference.registry.clone(), message: message.into() }
    }

    fn send(&self, url: &str, accept: &str) -> Result<ureq::http::Response<ureq::Body>, ImageError> {
        let mut request = self.agent.get(url).header("Accept", accept);
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        request.call().map_err(|e| self.error(format!("GET {url}: {e}")))
    }

    /// Answers a 401 challenge: a bearer token from the realm, or basic credentials.
    fn authenticate(&mut self, challenge: &str) -> Result<(), ImageError> {
        let (scheme, params) = parse_challenge(challenge);
        let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let basic = self
            .credentials
            .as_ref()
            .map(|c| format!("Basic {}", base64_encode(format!("{}:{}", c.username, c.password).as_bytes())));
        match scheme.as_str() {
            "basic" => {
                self.authorization = Some(basic.ok_or_else(|| {
                    self.error(
                        "requires credentials (basic auth): log in with `docker login` or set DOCKER_CONFIG",
                    )
                })?);
                Ok(())
            }
            "bearer" => {
                let realm = param("realm").ok_or_else(|| self.error("bearer challenge without realm"))?;
                let scope = param("scope")
                    .unwrap_or_else(|| format!("repository:{}:pull", self.reference.repository));
                let mut url = format!(
                    "{realm}{}scope={}",
                    if realm.contains('?') { '&' } else { '?' },
                    percent_encode(&scope)
                );
                if let Some(service) = param("service") {
                    url.push_str(&format!("&service={}", percent_encode(&service)));
                }
                let mut request = self.agent.get(&url);
                if let Some(basic) = &basic {
                    request = request.header("Authorization", basic);
                }
                let response =
                    request.call().map_err(|e| self.error(format!("token request {realm}: {e}")))?;
                let status = response.status().as_u16();
                if status != 200 {
                    return Err(self.error(format!(
                        "token request {realm}: HTTP {status} (check the credentials in the docker config)"
                    )));
                }
                let body = response
                    .into_body()
                    .with_config()
                    .limit(1024 * 1024)
                    .read_to_vec()
                    .map_err(|e| self.error(format!("token response: {e}")))?;
                let json: serde_json::Value =
                    serde_json::from_slice(&body).map_err(|e| self.error(format!("token response: {e}")))?;
                let token = json
                    .get("token")
                    .or_else(|| json.get("access_token"))
                    .and_then(|t| t.as_str())
                    .ok_or_else(|| self.error("token response has no token"))?;
                self.authorization = Some(format!("Bearer {token}"));
                Ok(())
            }
            other => Err(self.error(format!("unsupported authentication scheme {other:?}"))),
        }
    }

    /// GET with one authentication round on 401.
    fn get(&mut self, path: &str, accept: &str) -> Result<ureq::http::Response<ureq::Body>, ImageError> {
        let url = format!("{}/{path}", self.base);
        let mut response = self.send(&url, accept)?;
        if response.status().as_u16() == 401 {
            let challenge = response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .ok_or_else(|| self.error(format!("GET {url}: 401 without a WWW-Authenticate challenge")))?;
            self.authenticate(&challenge)?;
            response = self.send(&url, accept)?;
        }
        let status = response.status().as_u16();
        match status {
            200 => Ok(response),
            401 | 403 => Err(self.error(format!(
                "GET {url}: HTTP {status}: access denied (credentials from the docker config.json)"
            ))),
            404 => Err(self.error(format!("GET {url}: not found ({} does not exist)", self.reference))),
            _ => Err(self.error(format!("GET {url}: HTTP {status}"))),
        }
    }

    /// A manifest or index by tag or digest, with its media type.
    pub fn manifest(&mut self, reference: &str) -> Result<(Vec<u8>, String), ImageError> {
        let response = self.get(&format!("manifests/{reference}"), MANIFEST_ACCEPT)?;
        let media_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let limit = self.max_document_bytes;
        let body = response
            .into_body()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| self.error(format!("manifest {reference}: {e}")))?;
        Ok((body, media_type))
    }

    /// A blob as a stream (never buffered whole).
    pub fn blob(&mut self, digest: &str) -> Result<Box<dyn Read + Send>, ImageError> {
        let response = self.get(&format!("blobs/{digest}"), "*/*")?;
        Ok(Box::new(response.into_body().into_reader()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for text in ["", "a", "ab", "abc", "user:pa ss:word"] {
            assert_eq!(base64_decode(&base64_encode(text.as_bytes())).unwrap(), text.as_bytes());
        }
        assert_eq!(base64_encode(b"user:pass"), "dXNlcjpwYXNz");
        assert!(base64_decode("***").is_none());
    }

    #[test]
    fn challenges() {
        let (scheme, params) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#,
        );
        assert_eq!(scheme, "bearer");
        assert_eq!(params[0], ("realm".to_string(), "https://auth.example/token".to_string()));
        assert_eq!(params[2].1, "repository:a/b:pull");
        assert_eq!(parse_challenge("Basic realm=\"Registry\"").0, "basic");
    }

    #[test]
    fn credential_helpers_are_run_as_docker_runs_them() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // A helper that knows one server and records what it was asked.
        let helper = dir.path().join("docker-credential-test");
        let asked = dir.path().join("asked");
        std::fs::write(
            &helper,
            format!(
                "#!/bin/sh\nread server\necho \"$1 $server\" >> {}\nif [ \"$server\" = 127.0.0.1:5000 ]; then\n  echo '{{\"ServerURL\":\"127.0.0.1:5000\",\"Username\":\"robot\",\"Secret\":\"s3cret\"}}'\nelse\n  echo 'credentials not found in native keychain'; exit 1\nfi\n",
                asked.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(
            &config,
            r#"{"credHelpers": {"127.0.0.1:5000": "test", "broken.example": "missing"},
                "auths": {"127.0.0.1:5000": {"auth": "dXNlcjpwYXNz"}, "other.example": {"auth": "dXNlcjpwYXNz"}}}"#,
        )
        .unwrap();
        let program = |name: &str| dir.path().join(format!("docker-credential-{name}"));
        let found = credentials_with_helpers(&config, "127.0.0.1:5000", &program).unwrap().unwrap();
        assert_eq!((found.username.as_str(), found.password.as_str()), ("robot", "s3cret"));
        assert_eq!(std::fs::read_to_string(&asked).unwrap(), "get 127.0.0.1:5000\n");
        // No helper for this registry: `auths`.
        assert_eq!(
            credentials_with_helpers(&config, "other.example", &program).unwrap().unwrap().username,
            "user"
        );
        // A helper that cannot run is an error that names it, not anonymous access.
        let err = credentials_with_helpers(&config, "broken.example", &program).unwrap_err().to_string();
        assert!(err.contains("docker-credential-missing"), "{err}");
        // credsStore answers for every registry; "not found" falls back to `auths`.
        std::fs::write(
            &config,
            r#"{"credsStore": "test", "auths": {"other.example": {"auth": "dXNlcjpwYXNz"}}}"#,
        )
        .unwrap();
        assert_eq!(
            credentials_with_helpers(&config, "127.0.0.1:5000", &program).unwrap().unwrap().username,
            "robot"
        );
        assert_eq!(
            credentials_with_helpers(&config, "other.example", &program).unwrap().unwrap().username,
            "user"
        );
    }

    #[test]
    fn docker_config_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths": {"https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="}, "127.0.0.1:5000": {"auth": "dXNlcjpwYXNz"}}}"#,
        )
        .unwrap();
        let local = credentials_from(&path, "127.0.0.1:5000").unwrap().unwrap();
        assert_eq!((local.username.as_str(), local.password.as_str()), ("user", "pass"));
        assert_eq!(credentials_from(&path, "docker.io").unwrap().unwrap().username, "hub");
        assert!(credentials_from(&path, "ghcr.io").unwrap().is_none());
        assert!(credentials_from(&dir.path().join("missing.json"), "x").unwrap().is_none());
        assert!(!format!("{local:?}").contains("pass\""));
    }
}
