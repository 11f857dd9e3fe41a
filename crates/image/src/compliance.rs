//! Image compliance rules (dev stage) for built images and for Dockerfiles.
//!
//! Image rules read the image config (user, environment, history, ports, health check) and
//! the reference; Dockerfile rules read a parsed [`Dockerfile`]. Secrets are recognised by a
//! caller-supplied check (the CLI passes kubesecops' secret scanner) plus the names of
//! variables that conventionally hold credentials.

use std::sync::Arc;

use kubesecops_core::{fingerprint, Category, Finding, Location, RuleMeta, RuleRef, Severity};

use crate::dockerfile::{key_values, split_words, Arguments, Dockerfile};
use crate::oci::ImageConfig;

/// Settings of the compliance rules.
#[derive(Debug, Clone, Default)]
pub struct ComplianceConfig {
    /// Approved base images (`debian:12`, `gcr.io/distroless/static`, a trailing `*` matches
    /// any suffix). Empty: the allowlist rule is off.
    pub allowed_base_images: Vec<String>,
}

/// Finds a secret in a text: returns the name of what it found (a rule title).
pub type SecretCheck<'a> = &'a dyn Fn(&str) -> Option<String>;

macro_rules! rule {
    ($name:ident, $id:literal, $title:literal, $severity:ident, $doc:literal) => {
        /// Rule metadata; see its `doc`.
        pub static $name: RuleMeta = RuleMeta {
            id: $id,
            title: $title,
            severity: Severity::$severity,
            category: Category::Images,
            aliases: &[],
            frameworks: &[],
            doc: $doc,
        };
    };
}

rule!(IMG_ROOT, "KSO-IMG-001", "Image runs as root", High,
"## What it checks\n\nThe image config sets no `User`, or sets `root`, `0` or `0:<group>`.\n\n\
## Why it matters\n\nA container process running as root is root inside the container: any code \
execution bug becomes full control of the container's files, and one kernel or runtime escape away \
from the node. Kubernetes can force a user, but only if every workload remembers to.\n\n\
## Example\n\nAn image built from a Dockerfile with no `USER` instruction.\n\n\
## Fix\n\nCreate an unprivileged user in the image and end the Dockerfile with `USER 10001` (a \
numeric id, so that `runAsNonRoot` can verify it).\n\n## References\n\n- Docker documentation, `USER` instruction\n");

rule!(
    IMG_SECRET,
    "KSO-IMG-002",
    "Secret in image environment or history",
    Critical,
    "## What it checks\n\nEnvironment variables of the image config and the build history (`ENV`, \
`ARG`, `RUN` steps) for credentials: values the secret scanner recognises, and non-empty values \
of variables named like credentials (`PASSWORD`, `SECRET`, `TOKEN`, `API_KEY`, `PRIVATE_KEY`, \
`ACCESS_KEY`, `CREDENTIALS`).\n\n## Why it matters\n\nThe config and history travel with the image \
to every registry and node that pulls it; anyone who can pull can read them with `docker \
inspect` or `docker history`.\n\n## Example\n\n`ENV DB_PASSWORD=hunter2`, or `ARG TOKEN` used in a \
`RUN` step (build arguments are recorded in the history).\n\n## Fix\n\nPass secrets at run time \
(Kubernetes Secrets, a vault) or use BuildKit secret mounts (`RUN --mount=type=secret`), then \
rotate the exposed secret.\n\n## References\n\n- Docker documentation, build secrets\n"
);

rule!(
    IMG_LATEST,
    "KSO-IMG-003",
    "Image reference uses the latest tag",
    Medium,
    "## What it checks\n\nThe scanned reference or the tags recorded in the archive use `latest`, or \
no tag and no digest.\n\n## Why it matters\n\n`latest` moves: what was scanned is not what the next \
pull runs, so the scan result and rollbacks mean nothing.\n\n## Example\n\n`registry.example/app` or \
`registry.example/app:latest`.\n\n## Fix\n\nTag releases with immutable versions and deploy by \
digest (`app@sha256:...`).\n\n## References\n\n- Kubernetes documentation, images: updating images\n"
);

rule!(
    IMG_BASE,
    "KSO-IMG-004",
    "Base image is not in the allowlist",
    Medium,
    "## What it checks\n\nWhen an allowlist is given (`--allowed-base`), the image's base (the \
`org.opencontainers.image.base.name` annotation or label) must match an entry. An image that \
does not declare its base is reported too, since it cannot be checked.\n\n## Why it matters\n\n\
Teams must know and approve the base images they ship: the base brings most of the packages, \
and with them most vulnerabilities and the patch cadence.\n\n## Example\n\nAllowlist \
`[\"gcr.io/distroless/*\"]`, image built `FROM ubuntu:22.04`.\n\n## Fix\n\nRebuild on an approved \
base, or get the base approved; label images with `org.opencontainers.image.base.name` (BuildKit \
does with `--build-arg BUILDKIT_...` or `docker buildx build --annotation`).\n\n## References\n\n\
- OCI image spec, pre-defined annotation keys\n"
);

rule!(
    IMG_PORTS,
    "KSO-IMG-005",
    "Image exposes a remote administration port",
    Medium,
    "## What it checks\n\n`ExposedPorts` of the image config include a remote administration port: \
22 (SSH), 23 (telnet), 2375/2376 (Docker API), 3389 (RDP), 5900 (VNC). Every exposed port is \
listed in the report's `image` section.\n\n## Why it matters\n\nContainers are administered through \
the orchestrator (`kubectl exec`); a login service inside the container is extra attack surface, \
usually with long-lived credentials.\n\n## Example\n\n`EXPOSE 22`.\n\n## Fix\n\nRemove the daemon and \
the `EXPOSE`; use `kubectl exec` or ephemeral debug containers.\n\n## References\n\n- NSA-CISA \
Kubernetes Hardening Guidance, container images\n"
);

rule!(
    IMG_HEALTH,
    "KSO-IMG-006",
    "Image has no health check",
    Low,
    "## What it checks\n\nThe image config has no `Healthcheck`, or `NONE`.\n\n## Why it matters\n\n\
Without a health check, a hung process looks healthy to Docker and Compose; on Kubernetes, set \
liveness and readiness probes instead (Kubernetes ignores `HEALTHCHECK`), which is why this is \
low severity.\n\n## Example\n\nA Dockerfile without `HEALTHCHECK`.\n\n## Fix\n\n`HEALTHCHECK CMD \
[\"/app\", \"health\"]`, and probes in the pod spec.\n\n## References\n\n- Docker documentation, \
`HEALTHCHECK` instruction\n"
);

rule!(
    DF_ROOT,
    "KSO-DF-001",
    "Dockerfile's final stage runs as root",
    High,
    "## What it checks\n\nThe last build stage has no `USER` instruction, or its last `USER` is \
`root`, `0` or `0:<group>`.\n\n## Why it matters\n\nThe image runs its process as root; see \
KSO-IMG-001.\n\n## Example\n\n```dockerfile\nFROM debian:12\nCOPY app /app\nCMD [\"/app\"]\n```\n\n\
## Fix\n\nAdd `USER 10001` (a numeric, unprivileged id) after the steps that need root.\n\n\
## References\n\n- Docker documentation, `USER` instruction\n"
);

rule!(
    DF_LATEST,
    "KSO-DF-002",
    "FROM uses the latest tag or no tag",
    Medium,
    "## What it checks\n\nA `FROM` names an image with the `latest` tag, or with neither tag nor \
digest (earlier stages and `scratch` are fine).\n\n## Why it matters\n\nThe build is not repeatable: \
the base changes under it, with new packages and vulnerabilities, without any change in the \
repository.\n\n## Example\n\n`FROM node` or `FROM node:latest`.\n\n## Fix\n\nPin a version, better a \
digest: `FROM node:20.11-bookworm@sha256:...`.\n\n## References\n\n- Docker documentation, best \
practices for `FROM`\n"
);

rule!(
    DF_BASE,
    "KSO-DF-003",
    "FROM uses a base image outside the allowlist",
    Medium,
    "## What it checks\n\nWhen an allowlist is given (`--allowed-base`), every external `FROM` image \
(not `scratch`, not an earlier stage) must match an entry; a trailing `*` matches any suffix.\n\n\
## Why it matters\n\nTeams must know and approve their base images; see KSO-IMG-004.\n\n\
## Example\n\nAllowlist `[\"debian:12*\"]`, `FROM alpine:3.20`.\n\n## Fix\n\nUse an approved base or \
get this one approved.\n\n## References\n\n- OCI image spec, pre-defined annotation keys\n"
);

rule!(
    DF_SECRET,
    "KSO-DF-004",
    "Secret in ENV or ARG",
    Critical,
    "## What it checks\n\n`ENV` and `ARG` values that the secret scanner recognises, and non-empty \
literal values of variables named like credentials (`PASSWORD`, `SECRET`, `TOKEN`, `API_KEY`, \
`PRIVATE_KEY`, `ACCESS_KEY`, `CREDENTIALS`).\n\n## Why it matters\n\n`ENV` values are stored in the \
image config and `ARG` values in its history: everyone who can pull the image can read them.\n\n\
## Example\n\n`ENV AWS_SECRET_ACCESS_KEY=...`\n\n## Fix\n\nUse BuildKit secret mounts (`RUN \
--mount=type=secret,id=token`) and runtime secrets; rotate the exposed value.\n\n## References\n\n\
- Docker documentation, build secrets\n"
);

rule!(
    DF_HEALTH,
    "KSO-DF-005",
    "Final stage has no HEALTHCHECK",
    Low,
    "## What it checks\n\nThe last build stage has no `HEALTHCHECK` instruction (or only \
`HEALTHCHECK NONE`).\n\n## Why it matters\n\nSee KSO-IMG-006: without it Docker cannot tell a hung \
container from a healthy one (Kubernetes uses probes instead).\n\n## Example\n\nA service image \
without `HEALTHCHECK`.\n\n## Fix\n\n`HEALTHCHECK CMD [\"/app\", \"health\"]`.\n\n## References\n\n\
- Docker documentation, `HEALTHCHECK` instruction\n"
);

rule!(
    DF_PORTS,
    "KSO-DF-006",
    "EXPOSE of a remote administration port",
    Medium,
    "## What it checks\n\n`EXPOSE` of 22 (SSH), 23 (telnet), 2375/2376 (Docker API), 3389 (RDP) or \
5900 (VNC), in any stage that ends up in the image (the last).\n\n## Why it matters\n\nSee \
KSO-IMG-005.\n\n## Example\n\n`EXPOSE 22/tcp`\n\n## Fix\n\nDrop the daemon and the `EXPOSE`.\n\n\
## References\n\n- NSA-CISA Kubernetes Hardening Guidance, container images\n"
);

rule!(DF_ADD, "KSO-DF-007", "ADD used where COPY is meant", Low,
"## What it checks\n\n`ADD` with a remote URL or a local file that is not an archive. `ADD` \
fetches URLs without verification (unless `--checksum` is given) and unpacks local archives \
implicitly.\n\n## Why it matters\n\nA remote `ADD` without a checksum trusts whatever the server \
returns at build time; implicit unpacking surprises readers.\n\n## Example\n\n`ADD https://example.com/tool /usr/local/bin/tool`\n\n\
## Fix\n\n`COPY` local files; for downloads use `ADD --checksum=sha256:...` or fetch and verify in \
a `RUN` step.\n\n## References\n\n- Docker documentation, `ADD` and `COPY`\n");

rule!(
    DF_PIPE,
    "KSO-DF-008",
    "Download piped into a shell",
    High,
    "## What it checks\n\nA `RUN` step (or heredoc) that pipes `curl` or `wget` output straight into \
`sh`, `bash` or another shell.\n\n## Why it matters\n\nThe build runs whatever the server returns, \
unverified: a compromised or spoofed server owns the image.\n\n## Example\n\n`RUN curl -fsSL \
https://example.com/install.sh | sh`\n\n## Fix\n\nDownload to a file, verify its checksum or \
signature, then run it.\n\n## References\n\n- Docker documentation, build best practices\n"
);

rule!(
    DF_SUDO,
    "KSO-DF-009",
    "sudo in RUN",
    Medium,
    "## What it checks\n\nA `RUN` step that calls `sudo`.\n\n## Why it matters\n\nBuild steps already \
run as the current `USER`; `sudo` in an image means it is installed and configured, which gives \
a runtime attacker an easy way back to root.\n\n## Example\n\n`RUN sudo apt-get install -y curl`\n\n\
## Fix\n\nSwitch with `USER root` for the step and back to the unprivileged user after; do not \
install sudo.\n\n## References\n\n- Docker documentation, `USER` instruction\n"
);

/// The image rules, in id order.
pub static IMAGE_RULES: &[&RuleMeta] =
    &[&IMG_ROOT, &IMG_SECRET, &IMG_LATEST, &IMG_BASE, &IMG_PORTS, &IMG_HEALTH];

/// The Dockerfile rules, in id order.
pub static DOCKERFILE_RULES: &[&RuleMeta] =
    &[&DF_ROOT, &DF_LATEST, &DF_BASE, &DF_SECRET, &DF_HEALTH, &DF_PORTS, &DF_ADD, &DF_PIPE, &DF_SUDO];

/// A rule of either list by id or alias.
pub fn find_rule(id: &str) -> Option<&'static RuleMeta> {
    IMAGE_RULES.iter().chain(DOCKERFILE_RULES).copied().find(|r| r.matches(id))
}

/// Remote administration ports.
const ADMIN_PORTS: &[(u16, &str)] = &[
    (22, "SSH"),
    (23, "telnet"),
    (2375, "Docker API"),
    (2376, "Docker API (TLS)"),
    (3389, "RDP"),
    (5900, "VNC"),
];

/// Variable names that conventionally hold credentials.
fn credential_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "ACCESS_KEY", "CREDENTIALS"]
        .iter()
        .any(|marker| upper.contains(marker))
}

/// A value that is a placeholder or a reference rather than a secret.
fn placeholder(value: &str) -> bool {
    let v = value.trim();
    v.is_empty()
        || v.starts_with('$')
        || v.starts_with('/')
        || ["changeme", "change-me", "none", "null", "true", "false", "xxx", "<", "{{"]
            .iter()
            .any(|p| v.eq_ignore_ascii_case(p) || v.starts_with(p))
}

fn is_root_user(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or("").trim();
    name.is_empty() || name == "root" || name == "0"
}

/// Whether `image` matches an allowlist entry (exact, ignoring a `docker.io/` or
/// `docker.io/library/` prefix; trailing `*` matches any suffix).
pub fn base_allowed(image: &str, allowlist: &[String]) -> bool {
    let normalize = |s: &str| {
        let s = s.trim();
        let s = s.strip_prefix("docker.io/").unwrap_or(s);
        s.strip_prefix("library/").unwrap_or(s).to_string()
    };
    let image = normalize(image);
    allowlist.iter().any(|entry| {
        let entry = normalize(entry);
        match entry.strip_suffix('*') {
            Some(prefix) => image.starts_with(prefix),
            None => image == entry || image.split('@').next() == Some(entry.as_str()),
        }
    })
}

/// The tag of an image reference (`None` when it has none), ignoring a registry port.
fn tag_of(image: &str) -> Option<&str> {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.rsplit_once(':').map(|(_, tag)| tag)
}

fn finding(
    rule: &'static RuleMeta,
    message: String,
    path: &Arc<str>,
    line: Option<usize>,
    key: &str,
) -> Finding {
    Finding {
        rule: Arc::new(RuleRef::from(rule)),
        severity: rule.severity,
        message,
        location: Location {
            path: Arc::clone(path),
            line: line.and_then(|l| u32::try_from(l).ok()),
            column: None,
        },
        object: None,
        fingerprint: fingerprint(rule.id, path, None, key),
        vcs: None,
        package: None,
        fixed_version: None,
    }
}

/// Facts about an image besides its config that the image rules read.
#[derive(Debug, Clone, Default)]
pub struct ImageFacts<'a> {
    /// What the report names as the image (reference or archive path).
    pub name: &'a str,
    /// The reference given by the user, when it was one (`app:1.2`).
    pub reference: Option<&'a str>,
    /// Tags recorded in the archive (`RepoTags`, `org.opencontainers.image.ref.name`).
    pub tags: &'a [String],
    /// The declared base image, when known.
    pub base_image: Option<&'a str>,
}

/// Runs the image rules on a config.
pub fn check_image(
    config: &ImageConfig,
    facts: &ImageFacts<'_>,
    settings: &ComplianceConfig,
    secret_check: SecretCheck<'_>,
) -> Vec<Finding> {
    let path: Arc<str> = Arc::from(facts.name);
    let mut out = Vec::new();
    let container = &config.config;
    let user = container.user.as_deref().unwrap_or("");
    if is_root_user(user) {
        let message = if user.trim().is_empty() {
            "the image sets no USER, so its process runs as root".to_string()
        } else {
            format!("the image runs as USER {user:?} (root)")
        };
        out.push(finding(&IMG_ROOT, message, &path, None, "user"));
    }
    for entry in container.env.iter().flatten() {
        let (name, value) = entry.split_once('=').unwrap_or((entry, ""));
        let found = secret_check(entry).or_else(|| {
            (credential_name(name) && !placeholder(value)).then(|| "credential-named variable".to_string())
        });
        if let Some(what) = found {
            out.push(finding(
                &IMG_SECRET,
                format!("environment variable {name} holds a secret ({what}); value redacted"),
                &path,
                None,
                &format!("env:{name}"),
            ));
        }
    }
    for (index, step) in config.history.iter().enumerate() {
        let Some(created_by) = step.created_by.as_deref() else { continue };
        // ENV steps are reported through the config's environment already.
        if created_by.contains("#(nop) ENV ") || created_by.starts_with("ENV ") {
            continue;
        }
        let from_name = split_words(created_by).into_iter().find_map(|word| {
            let (name, value) = word.split_once('=')?;
            (credential_name(name) && !placeholder(value)).then(|| format!("{name}=…"))
        });
        if let Some(what) = secret_check(created_by).or(from_name) {
            out.push(finding(
                &IMG_SECRET,
                format!("build history step {} records a secret ({what}); value redacted", index + 1),
                &path,
                None,
                &format!("history:{index}"),
            ));
        }
    }
    let named: Vec<&str> = facts.reference.into_iter().chain(facts.tags.iter().map(String::as_str)).collect();
    for name in &named {
        let digest_pinned = name.contains('@');
        let tag = tag_of(name);
        if !digest_pinned && matches!(tag, None | Some("latest")) {
            out.push(finding(
                &IMG_LATEST,
                format!(
                    "{name} uses the latest tag (explicitly or by naming no tag): pin a version or digest"
                ),
                &path,
                None,
                &format!("tag:{name}"),
            ));
            break;
        }
    }
    if !settings.allowed_base_images.is_empty() {
        match facts.base_image {
            Some(base) if base_allowed(base, &settings.allowed_base_images) => {}
            Some(base) => out.push(finding(
                &IMG_BASE,
                format!("base image {base} is not in the allowlist"),
                &path,
                None,
                "base",
            )),
            None => out.push(finding(
                &IMG_BASE,
                "the image does not declare its base image (org.opencontainers.image.base.name), so the allowlist cannot be checked".to_string(),
                &path,
                None,
                "base",
            )),
        }
    }
    for port in container.exposed_ports.iter().flat_map(|p| p.keys()) {
        let number: Option<u16> = port.split('/').next().and_then(|p| p.parse().ok());
        if let Some((_, service)) = ADMIN_PORTS.iter().find(|(p, _)| Some(*p) == number) {
            out.push(finding(
                &IMG_PORTS,
                format!("the image exposes {port} ({service})"),
                &path,
                None,
                &format!("port:{port}"),
            ));
        }
    }
    let health = container.healthcheck.as_ref().and_then(|h| h.test.as_ref());
    if health.is_none_or(|test| test.first().is_none_or(|t| t == "NONE")) {
        out.push(finding(
            &IMG_HEALTH,
            "the image defines no HEALTHCHECK".to_string(),
            &path,
            None,
            "healthcheck",
        ));
    }
    out
}

/// Runs the Dockerfile rules.
pub fn check_dockerfile(
    dockerfile: &Dockerfile,
    path: &str,
    settings: &ComplianceConfig,
    secret_check: SecretCheck<'_>,
) -> Vec<Finding> {
    let path: Arc<str> = Arc::from(path);
    let mut out = Vec::new();
    let last = dockerfile.stages.len() - 1;
    for (index, stage) in dockerfile.stages.iter().enumerate() {
        let image = stage.image.as_str();
        if image.eq_ignore_ascii_case("scratch") || dockerfile.is_stage_name(image, index) {
            continue;
        }
        if !image.contains('@') && matches!(tag_of(image), None | Some("latest")) {
            out.push(finding(
                &DF_LATEST,
                format!("FROM {image} does not pin a version (latest or no tag)"),
                &path,
                Some(stage.line),
                &format!("from:{index}:{image}"),
            ));
        }
        if !settings.allowed_base_images.is_empty() && !base_allowed(image, &settings.allowed_base_images) {
            out.push(finding(
                &DF_BASE,
                format!("base image {image} is not in the allowlist"),
                &path,
                Some(stage.line),
                &format!("base:{index}:{image}"),
            ));
        }
    }
    let final_stage: Vec<_> = dockerfile.stage_instructions(last).collect();
    let last_user = final_stage.iter().rev().find(|i| i.keyword == "USER");
    match last_user {
        None => out.push(finding(
            &DF_ROOT,
            "the final stage sets no USER, so the image runs as root".to_string(),
            &path,
            Some(dockerfile.stages[last].line),
            "user",
        )),
        Some(user) if is_root_user(&user.arguments.text()) => out.push(finding(
            &DF_ROOT,
            format!("the final stage's last USER is {:?} (root)", user.arguments.text().trim()),
            &path,
            Some(user.line),
            "user",
        )),
        Some(_) => {}
    }
    let has_health = final_stage
        .iter()
        .any(|i| i.keyword == "HEALTHCHECK" && !i.arguments.text().trim().eq_ignore_ascii_case("none"));
    if !has_health {
        out.push(finding(
            &DF_HEALTH,
            "the final stage has no HEALTHCHECK".to_string(),
            &path,
            Some(dockerfile.stages[last].line),
            "healthcheck",
        ));
    }
    for instruction in &dockerfile.instructions {
        let text = instruction.arguments.text();
        match instruction.keyword.as_str() {
            "ENV" | "ARG" => {
                for (name, value) in key_values(&instruction.keyword, &text) {
                    let Some(value) = value else { continue };
                    let found = secret_check(&format!("{name}={value}")).or_else(|| {
                        (credential_name(&name) && !placeholder(&value))
                            .then(|| "credential-named variable".to_string())
                    });
                    if let Some(what) = found {
                        out.push(finding(
                            &DF_SECRET,
                            format!("{} {name} holds a secret ({what}); value redacted", instruction.keyword),
                            &path,
                            Some(instruction.line),
                            &format!("{}:{name}", instruction.keyword),
                        ));
                    }
                }
            }
            "EXPOSE" if instruction.stage == Some(last) => {
                for port in split_words(&text) {
                    let number: Option<u16> = port.split('/').next().and_then(|p| p.parse().ok());
                    if let Some((_, service)) = ADMIN_PORTS.iter().find(|(p, _)| Some(*p) == number) {
                        out.push(finding(
                            &DF_PORTS,
                            format!("EXPOSE {port} ({service})"),
                            &path,
                            Some(instruction.line),
                            &format!("port:{port}"),
                        ));
                    }
                }
            }
            "ADD" if instruction.heredocs.is_empty() => {
                let words = match &instruction.arguments {
                    Arguments::Exec(words) => words.clone(),
                    Arguments::Shell(text) => split_words(text),
                };
                let sources = &words[..words.len().saturating_sub(1)];
                let archive = |s: &str| {
                    [".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar.zst"]
                        .iter()
                        .any(|e| s.ends_with(e))
                };
                for source in sources {
                    let remote = source.contains("://") || source.starts_with("git@");
                    let message = if remote && instruction.flag("checksum").is_none() {
                        format!("ADD {source} fetches a remote file without --checksum")
                    } else if !remote && !archive(source) {
                        format!("ADD {source}: use COPY for local files")
                    } else {
                        continue;
                    };
                    out.push(finding(
                        &DF_ADD,
                        message,
                        &path,
                        Some(instruction.line),
                        &format!("add:{source}"),
                    ));
                }
            }
            "RUN" => {
                let scripts: Vec<&str> = std::iter::once(text.as_str())
                    .chain(instruction.heredocs.iter().map(|h| h.body.as_str()))
                    .collect();
                for script in scripts {
                    if pipes_download_to_shell(script) {
                        out.push(finding(
                            &DF_PIPE,
                            "a download is piped straight into a shell".to_string(),
                            &path,
                            Some(instruction.line),
                            &format!("pipe:{}", instruction.line),
                        ));
                    }
                    if split_words(script).iter().any(|w| w == "sudo") {
                        out.push(finding(
                            &DF_SUDO,
                            "RUN calls sudo".to_string(),
                            &path,
                            Some(instruction.line),
                            &format!("sudo:{}", instruction.line),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// `curl ... | sh`, `wget -O- ... | bash`, including `| sudo sh`.
fn pipes_download_to_shell(script: &str) -> bool {
    script.split(['\n', ';', '&']).any(|command| {
        let stages: Vec<&str> = command.split('|').map(str::trim).collect();
        stages.windows(2).any(|pair| {
            let fetches = split_words(pair[0]).iter().any(|w| w == "curl" || w == "wget");
            let receiver: Vec<String> = split_words(pair[1]).into_iter().filter(|w| w != "sudo").collect();
            let shell = receiver.first().map(|w| w.rsplit('/').next().unwrap_or(w).to_string());
            fetches
                && shell.is_some_and(|s| matches!(s.as_str(), "sh" | "bash" | "zsh" | "dash" | "ash" | "ksh"))
        })
    })
}

/// The documentation page of a rule (Markdown), as written to `docs/image-rules/ID.md`.
pub fn rule_doc(rule: &RuleMeta) -> String {
    format!(
        "# {}: {}\n\nSeverity: {}. Applies to: {}.\n\n{}",
        rule.id,
        rule.title,
        rule.severity.as_str(),
        if rule.id.starts_with("KSO-DF") { "`kubesecops dockerfile`" } else { "`kubesecops image`" },
        rule.doc
    )
}

/// The index page of `docs/image-rules/`.
pub fn rules_index() -> String {
    let mut out = String::from(
        "# Image and Dockerfile rules\n\nGenerated from crates/image/src/compliance.rs; do not edit by hand \
         (`KUBESECOPS_UPDATE_DOCS=1 cargo test -p kubesecops-image --test rule_docs` rewrites it).\n\n\
         The base image allowlist is given with `--allowed-base IMAGE` (repeatable; a trailing `*` \
         matches any suffix) on `kubesecops image` and `kubesecops dockerfile`.\n\n\
         | id | severity | title |\n|---|---|---|\n",
    );
    for rule in IMAGE_RULES.iter().chain(DOCKERFILE_RULES) {
        out.push_str(&format!(
            "| [{}]({}.md) | {} | {} |\n",
            rule.id,
            rule.id,
            rule.severity.as_str(),
            rule.title
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::parse;

    fn no_secrets(_: &str) -> Option<String> {
        None
    }

    fn ids(findings: &[Finding]) -> Vec<&str> {
        let mut ids: Vec<&str> = findings.iter().map(|f| f.rule.id.as_str()).collect();
        ids.sort();
        ids
    }

    #[test]
    fn image_rules_fire_and_stay_quiet() {
        let config: ImageConfig = serde_json::from_str(
            r#"{"config": {"Env": ["PATH=/usr/bin", "DB_PASSWORD=hunter2", "API_TOKEN=$FROM_ENV"],
                "ExposedPorts": {"22/tcp": {}, "8080/tcp": {}}},
                "history": [{"created_by": "RUN |1 GITHUB_TOKEN=abc123 /bin/sh -c make"}, {"created_by": "RUN make"}]}"#,
        )
        .unwrap();
        let facts = ImageFacts {
            name: "app.tar",
            reference: None,
            tags: &["app:latest".to_string()],
            base_image: Some("ubuntu:22.04"),
        };
        let settings = ComplianceConfig { allowed_base_images: vec!["debian:12*".into()] };
        let found = check_image(&config, &facts, &settings, &no_secrets);
        assert_eq!(
            ids(&found),
            [
                "KSO-IMG-001",
                "KSO-IMG-002",
                "KSO-IMG-002",
                "KSO-IMG-003",
                "KSO-IMG-004",
                "KSO-IMG-005",
                "KSO-IMG-006"
            ]
        );
        assert!(found.iter().all(|f| !f.message.contains("hunter2") && !f.message.contains("abc123")));

        let good: ImageConfig = serde_json::from_str(
            r#"{"config": {"User": "10001", "Env": ["PATH=/usr/bin"], "Healthcheck": {"Test": ["CMD", "/app", "health"]}}}"#,
        )
        .unwrap();
        let facts = ImageFacts {
            name: "x",
            reference: Some("app:1.2"),
            tags: &[],
            base_image: Some("docker.io/library/debian:12.5"),
        };
        assert!(check_image(&good, &facts, &settings, &no_secrets).is_empty());
        let scanner = |text: &str| text.contains("AKIA").then(|| "AWS access key".to_string());
        let leaky: ImageConfig =
            serde_json::from_str(r#"{"config": {"User": "app", "Env": ["K=AKIAXXXX"]}}"#).unwrap();
        assert!(ids(&check_image(&leaky, &facts, &ComplianceConfig::default(), &scanner))
            .contains(&"KSO-IMG-002"));
    }

    #[test]
    fn dockerfile_rules_fire_with_lines() {
        let text = "FROM golang:1.22 AS build\nRUN curl -fsSL https://x/install.sh | sudo bash\nFROM node\nENV API_KEY=abcdef123456\nADD app.js /app/\nADD https://example.com/t /t\nEXPOSE 22 8080\nUSER root\n";
        let df = parse(text).unwrap();
        let found = check_dockerfile(&df, "Dockerfile", &ComplianceConfig::default(), &no_secrets);
        let lines: Vec<(&str, Option<u32>)> = {
            let mut v: Vec<_> = found.iter().map(|f| (f.rule.id.as_str(), f.location.line)).collect();
            v.sort();
            v
        };
        assert_eq!(
            lines,
            [
                ("KSO-DF-001", Some(8)),
                ("KSO-DF-002", Some(3)),
                ("KSO-DF-004", Some(4)),
                ("KSO-DF-005", Some(3)),
                ("KSO-DF-006", Some(7)),
                ("KSO-DF-007", Some(5)),
                ("KSO-DF-007", Some(6)),
                ("KSO-DF-008", Some(2)),
                ("KSO-DF-009", Some(2)),
            ]
        );
        let good = parse("FROM debian:12@sha256:abc AS base\nFROM base\nCOPY app /app\nUSER 10001\nHEALTHCHECK CMD [\"/app\",\"health\"]\n").unwrap();
        let strict = ComplianceConfig { allowed_base_images: vec!["debian:12*".into()] };
        assert!(check_dockerfile(&good, "D", &strict, &no_secrets).is_empty());
    }
}
