//! `kubesecops image REF|PATH`: packages, vulnerabilities, secrets in layers and image
//! compliance of a container image (docker-archive, OCI archive or layout, registry
//! reference, or `--rootfs DIR`).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use kubesecops_core::{fingerprint, Finding, Package as FindingPackage, Report, Severity};
use kubesecops_image::compliance::{self, ComplianceConfig, ImageFacts};
use kubesecops_image::detect::detect_packages_with;
use kubesecops_image::{
    open_image, scan_image, Inventory, LayerObserver, Limits, OpenOptions, Platform, RootFs,
};
use kubesecops_report::{render, Format, RenderConfig};
use kubesecops_sbom::{cyclonedx, spdx, OsInfo, Sbom, SbomPackage, WriteOptions};
use kubesecops_secrets::{builtin, Input, Scanner};
use kubesecops_vulndb::{
    match_packages, parse_severity_list, vulnerability_findings, FindingOptions, PackageRef,
};
use serde_json::{json, Value};

use crate::metrics::MetricsArgs;
use crate::{output, Status};

/// Largest layer file handed to the secret scanner.
const MAX_SECRET_FILE: u64 = 1024 * 1024;

/// Flags of `kubesecops image`.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// The image: a `docker save` tarball, an OCI archive or layout directory, or a registry
    /// reference (`registry.example/app:1.2`).
    #[arg(value_name = "REF|PATH", required_unless_present = "rootfs", conflicts_with = "rootfs")]
    pub image: Option<String>,
    /// Scan an unpacked root filesystem directory instead of an image.
    #[arg(long, value_name = "DIR")]
    pub rootfs: Option<PathBuf>,
    /// Platform to pick from multi-platform images.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]", default_value = "linux/amd64")]
    pub platform: String,
    /// A registry (`host[:port]`) to reach over plain HTTP; repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
    /// What to look for, comma-separated: vuln (vulnerable packages), secret (secrets in
    /// layer files), config (image compliance rules).
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "vuln,config")]
    pub scanners: Vec<String>,
    /// Vulnerability database directory (default: the user's cache directory).
    #[arg(long, value_name = "DIR", env = "KUBESECOPS_DB")]
    pub db: Option<PathBuf>,
    /// Report only these severities, comma-separated (`HIGH,CRITICAL`).
    #[arg(long, value_name = "LIST")]
    pub severity: Option<String>,
    /// Leave out vulnerabilities that have no fixed version.
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// Output format: table, json, sarif, junit, cyclonedx (1.6 JSON), spdx (2.3 JSON).
    #[arg(short, long, default_value = "table")]
    pub format: String,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// An approved base image (`debian:12*`, trailing `*` matches any suffix); repeatable.
    /// With any, images and Dockerfiles on other bases are reported (KSO-IMG-004).
    #[arg(long = "allowed-base", value_name = "IMAGE")]
    pub allowed_base: Vec<String>,
    /// Skip a rule (id) or vulnerability (id or alias); repeatable.
    #[arg(long, value_name = "ID")]
    pub skip: Vec<String>,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// Output formats of `image`: the shared report or an SBOM.
enum ImageFormat {
    Report(Format),
    CycloneDx,
    Spdx,
}

fn parse_format(text: &str) -> Result<ImageFormat> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "cyclonedx" => ImageFormat::CycloneDx,
        "spdx" | "spdx-json" => ImageFormat::Spdx,
        other => ImageFormat::Report(
            Format::from_str(other).map_err(|e| anyhow::anyhow!("--format: {e} (or cyclonedx, spdx)"))?,
        ),
    })
}

/// The scanners asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Scanners {
    vuln: bool,
    secret: bool,
    config: bool,
}

fn parse_scanners(names: &[String]) -> Result<Scanners> {
    let mut scanners = Scanners::default();
    for name in names.iter().map(|n| n.trim().to_ascii_lowercase()) {
        match name.as_str() {
            "vuln" | "vulnerability" | "vulnerabilities" => scanners.vuln = true,
            "secret" | "secrets" => scanners.secret = true,
            "config" | "misconfig" => scanners.config = true,
            "" => {}
            other => anyhow::bail!("--scanners: unknown scanner {other:?} (expected vuln, secret, config)"),
        }
    }
    Ok(scanners)
}

/// Runs the built-in secret rules over layer files as they stream by.
struct SecretObserver<'a> {
    scanner: &'a Scanner,
    target: Arc<str>,
    findings: Vec<Finding>,
}

impl LayerObserver for SecretObserver<'_> {
    fn wants(&self, path: &str, size: u64) -> bool {
        size > 0 && size <= MAX_SECRET_FILE && !self.scanner.skips_file(Path::new(path))
    }

    fn file(&mut self, layer: &str, path: &str, bytes: &[u8]) {
        // Binary files (a NUL early on) and non-UTF-8 text are not scanned.
        if bytes.iter().take(8192).any(|&b| b == 0) {
            return;
        }
        let Ok(text) = std::str::from_utf8(bytes) else { return };
        for found in self.scanner.scan(&Input::new(path, text)) {
            let mut finding = self.scanner.finding(&found, &self.target, None);
            let key = format!("{path}\0{}", found.secret_sha256);
            finding.fingerprint = fingerprint(&finding.rule.id, &self.target, None, &key);
            finding.message = format!("{} in {path}", finding.message);
            finding.package = Some(Box::new(FindingPackage {
                path: path.to_string(),
                layer: Some(layer.to_string()),
                ..FindingPackage::default()
            }));
            self.findings.push(finding);
        }
    }
}

/// A text check for the compliance rules: the first built-in secret rule that matches.
pub(crate) fn secret_check(scanner: &Scanner) -> impl Fn(&str) -> Option<String> + '_ {
    move |text: &str| {
        scanner
            .scan(&Input::new("image-config", text))
            .first()
            .map(|m| scanner.rules()[m.rule].title().to_string())
    }
}

/// What the scan read: the inventory and, for images, the image itself.
struct Scanned {
    target: String,
    inventory: Inventory,
    image: Option<Value>,
    compliance: Vec<Finding>,
    secrets: Vec<Finding>,
    notices: Vec<String>,
}

fn scan_target(args: &ImageArgs, scanners: Scanners, secret_scanner: &Scanner) -> Result<Scanned> {
    let limits = Limits::default();
    if let Some(dir) = &args.rootfs {
        let target = dir.display().to_string();
        anyhow::ensure!(dir.is_dir(), "{target}: --rootfs needs a directory");
        let inventory = detect_packages_with(&mut RootFs::new(dir), &limits)?;
        let mut notices = Vec::new();
        if scanners.secret {
            notices
                .push("--scanners secret with --rootfs: run `kubesecops secrets DIR` for directories".into());
        }
        return Ok(Scanned {
            target,
            inventory,
            image: None,
            compliance: Vec::new(),
            secrets: Vec::new(),
            notices,
        });
    }
    let input = args.image.clone().unwrap_or_default();
    let platform: Platform = args.platform.parse().map_err(|e: String| anyhow::anyhow!("--platform: {e}"))?;
    let options = OpenOptions {
        platform,
        insecure_registries: args.insecure_registries.clone(),
        limits,
        docker_config: None,
    };
    let mut image = open_image(&input, &options)?;
    let mut observer =
        SecretObserver { scanner: secret_scanner, target: Arc::from(input.as_str()), findings: Vec::new() };
    let scan = scan_image(&mut image, scanners.secret.then_some(&mut observer as &mut dyn LayerObserver))?;
    let mut fs = scan.fs;
    let inventory = detect_packages_with(&mut fs, &limits)?;
    let config = &image.config;
    let base_key = "org.opencontainers.image.base.name";
    let base_image = image
        .annotations
        .get(base_key)
        .or_else(|| config.config.labels.as_ref().and_then(|l| l.get(base_key)))
        .cloned();
    let mut compliance = Vec::new();
    if scanners.config {
        let settings = ComplianceConfig { allowed_base_images: args.allowed_base.clone() };
        let facts = ImageFacts {
            name: &input,
            reference: (image.kind == "registry").then_some(input.as_str()),
            tags: &image.tags,
            base_image: base_image.as_deref(),
        };
        compliance = compliance::check_image(config, &facts, &settings, &secret_check(secret_scanner));
    }
    let exposed: Vec<&String> = config.config.exposed_ports.iter().flat_map(|p| p.keys()).collect();
    let summary = json!({
        "input": input,
        "kind": image.kind,
        "os": inventory.os,
        "platform": format!("{}/{}", config.os, config.architecture),
        "configDigest": image.config_digest,
        "tags": image.tags,
        "user": config.config.user,
        "exposedPorts": exposed,
        "baseImage": base_image,
        "layers": scan.layers,
    });
    Ok(Scanned {
        target: input,
        inventory,
        image: Some(summary),
        compliance,
        secrets: observer.findings,
        notices: fs.notices().to_vec(),
    })
}

fn package_refs(inventory: &Inventory) -> Vec<PackageRef<'_>> {
    inventory
        .packages
        .iter()
        .map(|p| PackageRef {
            name: &p.name,
            version: &p.version,
            ecosystem: &p.ecosystem,
            source_name: p.source_name.as_deref(),
            source_version: p.source_version.as_deref(),
            path: &p.path,
            layer: p.layer.as_deref(),
        })
        .collect()
}

fn packages_json(inventory: &Inventory) -> Value {
    Value::Array(
        inventory
            .packages
            .iter()
            .map(|p| {
                let mut entry =
                    json!({"name": p.name, "version": p.version, "ecosystem": p.ecosystem, "path": p.path});
                if let Some(layer) = &p.layer {
                    entry["layer"] = json!(layer);
                }
                if let Some(source) = &p.source_name {
                    entry["sourceName"] = json!(source);
                }
                if let Some(version) = &p.source_version {
                    entry["sourceVersion"] = json!(version);
                }
                entry
            })
            .collect(),
    )
}

fn sbom_of(scanned: &Scanned) -> Sbom {
    Sbom {
        target: scanned.target.clone(),
        os: scanned
            .inventory
            .os
            .as_ref()
            .map(|os| OsInfo { id: os.id.clone(), version: os.version_id.clone().unwrap_or_default() }),
        packages: scanned
            .inventory
            .packages
            .iter()
            .map(|p| SbomPackage {
                name: p.name.clone(),
                version: p.version.clone(),
                ecosystem: p.ecosystem.clone(),
                path: p.path.clone(),
                layer: p.layer.clone(),
                source_name: p.source_name.clone(),
                source_version: p.source_version.clone(),
                purl: None,
            })
            .collect(),
        vulnerabilities: Vec::new(),
    }
}

/// Runs the scan and writes the report.
pub fn run(args: ImageArgs) -> Result<Status> {
    let metrics = args.metrics.start()?;
    let format = parse_format(&args.format)?;
    let scanners = parse_scanners(&args.scanners)?;
    let severities = match &args.severity {
        Some(list) => parse_severity_list(list).map_err(|e| anyhow::anyhow!("--severity: {e}"))?,
        None => Vec::new(),
    };
    // Open the database first: a missing one is an error before minutes of pulling.
    let database = if scanners.vuln { Some(super::db::open_for_scan(args.db.as_deref())?) } else { None };
    let secret_scanner = Scanner::new(builtin::ruleset());
    let shown = args
        .image
        .clone()
        .or_else(|| args.rootfs.as_ref().map(|d| d.display().to_string()))
        .unwrap_or_default();
    let scanned =
        scan_target(&args, scanners, &secret_scanner).with_context(|| format!("cannot scan {shown}"))?;

    let refs = package_refs(&scanned.inventory);
    let options = FindingOptions {
        target: &scanned.target,
        ignore_unfixed: args.ignore_unfixed,
        severities: &severities,
    };
    let mut matches = Vec::new();
    let mut findings = Vec::new();
    if let Some((store, _)) = &database {
        matches = match_packages(store, refs.iter().copied())?;
        findings = vulnerability_findings(&refs, &matches, &options);
    }
    findings.extend(scanned.compliance.iter().cloned());
    findings.extend(scanned.secrets.iter().cloned());
    let skipped: BTreeSet<String> = args.skip.iter().map(|s| s.trim().to_ascii_uppercase()).collect();
    findings.retain(|f| {
        let named = std::iter::once(&f.rule.id).chain(&f.rule.aliases);
        let skip = named.clone().any(|id| skipped.contains(&id.to_ascii_uppercase()));
        !skip && (severities.is_empty() || severities.contains(&f.severity))
    });
    if !scanned.notices.is_empty() {
        output::notices(&scanned.notices);
    }
    let exit = if args.fail_on.is_some_and(|t| findings.iter().any(|f| f.severity >= t)) {
        Status::Findings
    } else {
        Status::Clean
    };

    let mut out = output::open(args.output.as_deref())?;
    // Built for every format: metrics count its findings whatever the output.
    let mut report = Report::with_findings(findings, Vec::new());
    if let Some((_, status)) = &database {
        super::db::attach_status(&mut report, status)?;
    }
    match format {
        ImageFormat::CycloneDx | ImageFormat::Spdx => {
            let mut sbom = sbom_of(&scanned);
            let kept: Vec<_> = matches.into_iter().filter(|m| options.keeps(m)).collect();
            sbom.set_vulnerabilities(&kept);
            let options = WriteOptions::now(env!("CARGO_PKG_VERSION"));
            let document = match format {
                ImageFormat::CycloneDx => cyclonedx::write(&sbom, &options),
                _ => spdx::write(&sbom, &options),
            };
            serde_json::to_writer_pretty(&mut out, &document)?;
            writeln!(out)?;
        }
        ImageFormat::Report(format) => {
            report.sections.insert("packages".to_string(), packages_json(&scanned.inventory));
            if let Some(image) = &scanned.image {
                report.sections.insert("image".to_string(), image.clone());
            }
            if !scanned.notices.is_empty() {
                report.sections.insert("notices".to_string(), json!(scanned.notices));
            }
            let lookup = |id: &str| compliance::find_rule(id).or_else(|| builtin::find(id).map(|r| &r.meta));
            let mut config = RenderConfig::new(env!("CARGO_PKG_VERSION"));
            config.rule_lookup = Some(&lookup);
            config.color = output::stdout_is_terminal(args.output.as_deref());
            render(&report, format, &config, &mut out)?;
        }
    }
    out.flush()?;
    eprintln!(
        "kubesecops: {}: {} package(s){}",
        scanned.target,
        scanned.inventory.packages.len(),
        scanned
            .inventory
            .os
            .as_ref()
            .and_then(|os| os.pretty_name.as_ref())
            .map(|n| format!(", {n}"))
            .unwrap_or_default()
    );
    if let Some(metrics) = &metrics {
        metrics.publish("image", &report, exit)?;
    }
    Ok(exit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_and_format_lists() {
        let all = parse_scanners(&["vuln".into(), "secret".into(), "config".into()]).unwrap();
        assert_eq!(all, Scanners { vuln: true, secret: true, config: true });
        assert!(parse_scanners(&["license".into()]).unwrap_err().to_string().contains("license"));
        assert!(matches!(parse_format("SPDX").unwrap(), ImageFormat::Spdx));
        assert!(matches!(parse_format("sarif").unwrap(), ImageFormat::Report(Format::Sarif)));
    }
}
