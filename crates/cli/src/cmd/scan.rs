//! `kubesecops scan`: manifests through the built-in rules, the Pod Security Standards, Rego
//! policies and the secret detector (values of Secrets, ConfigMaps, env and annotations, and
//! Helm values files).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result};
use clap::Args;
use kubesecops_checks::config::SecretManager;
use kubesecops_checks::engine::ignored_rules;
use kubesecops_checks::pss::{self, Level, Version};
use kubesecops_checks::{find_rule, Config, Engine, Index};
use kubesecops_core::{merge_findings, sort_findings, Finding, Report, ReportError, Severity};
use kubesecops_k8s::{discover, load_source, LoadOptions, Object, Source};
use kubesecops_policy::{Inventory, PolicyOptions, PolicySet};
use kubesecops_report::{render, Format, RenderConfig};
use kubesecops_secrets::{builtin as secret_rules, Input, Scanner};
use kubesecops_trust::TrustedKeys;
use rayon::prelude::*;

use crate::filter::{self, Choices};
use crate::metrics::MetricsArgs;
use crate::{output, settings, Status};

/// Flags of `kubesecops scan`. Each overrides the matching key of `kubesecops.toml`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files, directories (recursive, honouring .gitignore) or `-` for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format: table, json, sarif, junit.
    #[arg(short, long)]
    pub format: Option<String>,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Report only these severities (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "SEVERITIES")]
    pub severity: Vec<Severity>,
    /// Skip a rule (id or alias of any tool); repeatable.
    #[arg(long, value_name = "ID")]
    pub skip: Vec<String>,
    /// Ignore file (default: .kubesecopsignore in the current directory, when present).
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
    /// A previous JSON report: report only findings that are not in it.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Pod Security Standards level for findings: privileged (off), baseline, restricted.
    #[arg(long, value_name = "LEVEL")]
    pub pss_level: Option<String>,
    /// Pod Security Standards version: v1.N or latest.
    #[arg(long, value_name = "VERSION")]
    pub pss_version: Option<String>,
    /// A registry images may come from (enables the registry allowlist rule); repeatable.
    #[arg(long = "allowed-registry", value_name = "REGISTRY")]
    pub allowed_registries: Vec<String>,
    /// Helm values file for charts; repeatable.
    #[arg(long, value_name = "FILE")]
    pub helm_values: Vec<PathBuf>,
    /// Helm `--set` value for charts; repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    pub helm_set: Vec<String>,
    /// Rego policies (conftest style) and Gatekeeper templates/constraints: a directory or
    /// file; repeatable.
    #[arg(long, value_name = "DIR")]
    pub policy: Vec<PathBuf>,
    /// Data files (JSON or YAML) for the policies, loaded under `data`; repeatable.
    #[arg(long, value_name = "FILE")]
    pub data: Vec<PathBuf>,
    /// Rego package whose `deny`/`violation`/`warn` rules are evaluated (default `main`);
    /// repeatable.
    #[arg(long, value_name = "PACKAGE")]
    pub rego_namespace: Vec<String>,
    /// A minisign public key (`minisign.pub`); with one, every `--policy` and `--data` file
    /// must carry a signature by one of the keys beside it (`FILE.minisig`); repeatable.
    #[arg(long, value_name = "FILE")]
    pub policy_key: Vec<PathBuf>,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// Everything one source contributed.
#[derive(Default)]
struct SourceResult {
    findings: Vec<Finding>,
    errors: Vec<ReportError>,
    skipped: Vec<ReportError>,
    index: Index,
    objects: usize,
    /// Findings and errors of Rego policies evaluated in this pass.
    policy_findings: Vec<Finding>,
    policy_errors: Vec<ReportError>,
    /// Gatekeeper templates and constraints found among the scanned objects.
    gatekeeper: Vec<Object>,
}

/// Whether an object is a Gatekeeper ConstraintTemplate or Constraint.
fn is_gatekeeper(obj: &Object) -> bool {
    (obj.kind() == "ConstraintTemplate" && obj.group() == "templates.gatekeeper.sh")
        || obj.group() == "constraints.gatekeeper.sh"
}

/// Resolved scan settings: flags over `kubesecops.toml` over defaults.
struct Resolved {
    format: Format,
    fail_on: Option<Severity>,
    /// `--skip`, `--severity`, ignore file and baseline.
    choices: Choices,
    pss: Option<(Level, Version)>,
    config: Config,
    load: LoadOptions,
}

fn resolve(args: &ScanArgs) -> Result<Resolved> {
    let settings = settings::load()?;
    let file = settings.scan;
    let format_text = args.format.clone().or(file.format).unwrap_or_else(|| "table".to_string());
    let format = Format::from_str(&format_text).map_err(|e| anyhow::anyhow!("--format: {e}"))?;
    let fail_on = match (args.fail_on, file.fail_on) {
        (Some(s), _) => Some(s),
        (None, Some(text)) => Some(text.parse().context("kubesecops.toml: scan.fail-on")?),
        (None, None) => None,
    };
    let severities = if args.severity.is_empty() {
        file.severity
            .unwrap_or_default()
            .iter()
            .map(|s| s.parse())
            .collect::<Result<Vec<Severity>, _>>()
            .context("kubesecops.toml: scan.severity")?
    } else {
        args.severity.clone()
    };
    let mut skip = file.skip;
    skip.extend(args.skip.iter().cloned());
    for id in &skip {
        let known = find_rule(id).is_some()
            || id.to_ascii_uppercase().starts_with("KSO-PSS-")
            || secret_rules::find(id).is_some();
        if !known {
            eprintln!("kubesecops: note: --skip {id}: no built-in rule has this id or alias");
        }
    }
    let level_text = args.pss_level.clone().or(file.pss_level).unwrap_or_else(|| "restricted".to_string());
    let version_text = args.pss_version.clone().or(file.pss_version).unwrap_or_else(|| "latest".to_string());
    let level: Level = level_text.parse().map_err(|e| anyhow::anyhow!("--pss-level: {e}"))?;
    let version: Version = version_text.parse().map_err(|e| anyhow::anyhow!("--pss-version: {e}"))?;
    let pss = (level != Level::Privileged).then_some((level, version));
    let mut allowed_registries = file.allowed_registries;
    allowed_registries.extend(args.allowed_registries.iter().cloned());
    let secret_managers = file
        .secret_managers
        .iter()
        .map(|m| m.parse::<SecretManager>())
        .collect::<Result<Vec<_>, _>>()
        .context("kubesecops.toml: scan.secret-managers")?;
    let config = Config { allowed_registries, secret_managers };
    let mut load = LoadOptions { helm_values: file.helm_values, helm_set: file.helm_set };
    load.helm_values.extend(args.helm_values.iter().cloned());
    load.helm_set.extend(args.helm_set.iter().cloned());
    let choices = Choices {
        skip,
        severities,
        ignore_file: args.ignore_file.clone().or(file.ignore_file),
        baseline: args.baseline.clone().or(file.baseline),
    };
    Ok(Resolved { format, fail_on, choices, pss, config, load })
}

/// True for a Helm values file name: `values.yaml`, `values-prod.yml`, ...
fn is_values_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with("values") && (name.ends_with(".yaml") || name.ends_with(".yml"))
}

/// The values files of a chart and of its subcharts (`charts/*/`).
fn chart_values_files(chart: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![chart.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(chart.join("charts")) {
        dirs.extend(entries.flatten().map(|e| e.path()).filter(|p| p.join("Chart.yaml").is_file()));
    }
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .filter(|p| p.is_file() && is_values_file(p))
        .collect();
    files.sort();
    files
}

/// Secrets in a text file (a Helm values file), with their lines.
fn scan_text_file(scanner: &Scanner, path: &Path, result: &mut SourceResult) {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let label: Arc<str> = Arc::from(path.display().to_string());
            let matches = scanner.scan(&Input::new(&label, &text));
            result.findings.extend(matches.iter().map(|m| scanner.finding(m, &label, None)));
        }
        Err(err) => result.errors.push(ReportError::at(
            path.display().to_string(),
            None,
            format!("cannot read: {err}"),
        )),
    }
}

/// The secret scanner, built by the first thread that needs it.
///
/// Building it (the built-in rules' allowlist regexes and the keyword automaton) takes a few
/// milliseconds of one core. `run` starts it on a thread of its own while the first files are
/// read, parsed and checked by the rules (secrets are looked for last), instead of before
/// them; a scan thread that needs it sooner waits for it or, should that build have failed,
/// builds it itself.
struct LazyScanner<'a> {
    cell: OnceLock<Scanner>,
    /// `--skip` ids: the secret rules they name are left out.
    skip: &'a [String],
}

impl LazyScanner<'_> {
    fn get(&self) -> &Scanner {
        self.cell.get_or_init(|| {
            let mut ruleset = secret_rules::ruleset();
            ruleset.rules.retain(|rule| !self.skip.iter().any(|id| rule.matches(id)));
            Scanner::new(ruleset)
        })
    }
}

fn scan_source(
    source: &Source,
    resolved: &Resolved,
    engine: &Engine,
    secrets: &LazyScanner<'_>,
    policies: Option<&PolicySet>,
) -> SourceResult {
    let loaded = load_source(source, &resolved.load);
    let mut result = SourceResult {
        errors: loaded.errors,
        skipped: loaded.skipped,
        objects: loaded.objects.len(),
        ..SourceResult::default()
    };
    // Room for more findings than objects usually have (about nine each with every rule):
    // grown by doubling, the vector would write about twice the memory it ends up holding.
    result.findings.reserve(loaded.objects.len() * 16);
    for obj in &loaded.objects {
        engine.check_object(obj, &mut result.findings);
        if let Some((level, version)) = resolved.pss {
            // The ignore annotation silences PSS checks too (by `KSO-PSS-<check>`).
            let ignored = ignored_rules(obj);
            result.findings.extend(
                pss::findings(obj, level, version)
                    .into_iter()
                    .filter(|f| !ignored.iter().any(|id| filter::rule_matches(&f.rule, id))),
            );
        }
        result.index.add(obj);
        if let Some(set) = policies {
            let (findings, errors) = set.evaluate(obj);
            result.policy_findings.extend(findings);
            result.policy_errors.extend(errors);
        }
        if is_gatekeeper(obj) {
            result.gatekeeper.push(obj.clone());
        }
    }
    // Secrets last: the scanner may still be being built while the first files' rules run
    // (the report is sorted, so the order findings are found in does not show).
    let secrets = secrets.get();
    for obj in &loaded.objects {
        result.findings.extend(kubesecops_secrets::k8s::scan_object(secrets, obj));
    }
    // Helm values files are not Kubernetes objects: their text is scanned for secrets.
    match source {
        Source::HelmChart(chart) => {
            for values in chart_values_files(chart) {
                scan_text_file(secrets, &values, &mut result);
            }
        }
        Source::File(path) if is_values_file(path) && loaded.objects.is_empty() => {
            scan_text_file(secrets, path, &mut result);
        }
        _ => {}
    }
    // Sorted here, on the thread that found them, so that `run` only merges.
    sort_findings(&mut result.findings);
    result
}

/// Loads `--policy` and `--data` files (none: no set), checked against `--policy-key`s when
/// there are some; shared by `scan` and `cluster scan`. Load errors are returned so the
/// built-in scan still runs and reports them.
pub(crate) fn load_policy_set(
    policy: &[PathBuf],
    data: &[PathBuf],
    namespaces: &[String],
    keys: &[PathBuf],
) -> (Option<PolicySet>, Vec<ReportError>) {
    if policy.is_empty() && data.is_empty() {
        return (None, Vec::new());
    }
    let mut options =
        PolicyOptions { policy_paths: policy.to_vec(), data_paths: data.to_vec(), ..Default::default() };
    if !namespaces.is_empty() {
        options.namespaces = namespaces.to_vec();
    }
    if !keys.is_empty() {
        match TrustedKeys::load(keys) {
            Ok(keys) => options.trusted = Some(keys),
            // A key that cannot be read must not leave the policies unchecked.
            Err(e) => return (None, vec![ReportError::at("--policy-key", None, e.to_string())]),
        }
    }
    match PolicySet::load(&options) {
        Ok(set) => (Some(set), Vec::new()),
        Err(errors) => (None, errors),
    }
}

/// The Gatekeeper pass: templates and constraints from the scanned paths join the policy set,
/// and every object is evaluated with the inventory (`data.inventory`) of all scanned objects.
/// Referential policies need every object at once, so only this pass keeps them all in memory.
fn gatekeeper_pass(
    sources: &[Source],
    resolved: &Resolved,
    set: &mut PolicySet,
    found: &[Object],
) -> (Vec<Finding>, Vec<ReportError>) {
    let mut errors = set.add_gatekeeper_objects(found);
    let objects: Vec<Object> =
        sources.par_iter().flat_map_iter(|source| load_source(source, &resolved.load).objects).collect();
    errors.extend(set.set_inventory(Inventory::from_objects(&objects)));
    let per_object: Vec<_> = objects.par_iter().map(|obj| set.evaluate(obj)).collect();
    let mut findings = Vec::new();
    for (f, e) in per_object {
        findings.extend(f);
        errors.extend(e);
    }
    (findings, errors)
}

/// Runs the scan and writes the report.
pub fn run(args: ScanArgs) -> Result<Status> {
    let metrics = args.metrics.start()?;
    let resolved = resolve(&args)?;
    let skip = &resolved.choices.skip;
    let engine = Engine::new(resolved.config.clone(), |meta| !skip.iter().any(|id| meta.matches(id)));
    let secrets = LazyScanner { cell: OnceLock::new(), skip };
    let (sources, mut errors) = discover(&args.paths);
    let (mut policies, policy_load_errors) =
        load_policy_set(&args.policy, &args.data, &args.rego_namespace, &args.policy_key);
    errors.extend(policy_load_errors);
    // Policies that need the inventory are evaluated in the Gatekeeper pass only.
    let first_pass_policies = policies.as_ref().filter(|set| !set.needs_inventory());

    let results: Vec<SourceResult> = std::thread::scope(|scope| {
        // Should no thread be available, the first scan thread that needs the scanner builds it.
        let _ = std::thread::Builder::new().spawn_scoped(scope, || {
            secrets.get();
        });
        sources
            .par_iter()
            .map(|source| scan_source(source, &resolved, &engine, &secrets, first_pass_policies))
            .collect()
    });
    let secrets = secrets.get();
    let mut notices = Vec::new();
    let mut index = Index::default();
    let mut objects = 0;
    let (mut policy_findings, mut policy_errors, mut gatekeeper) = (Vec::new(), Vec::new(), Vec::new());
    let mut per_source = Vec::with_capacity(results.len());
    for r in results {
        per_source.push(r.findings);
        errors.extend(r.errors);
        notices.extend(r.skipped);
        index.merge(r.index);
        objects += r.objects;
        policy_findings.extend(r.policy_findings);
        policy_errors.extend(r.policy_errors);
        gatekeeper.extend(r.gatekeeper);
    }
    let mut index_findings = Vec::new();
    engine.check_index(&index, &mut index_findings);
    let needs_gatekeeper_pass =
        !gatekeeper.is_empty() || policies.as_ref().is_some_and(PolicySet::needs_inventory);
    if needs_gatekeeper_pass {
        let mut set = match policies.take() {
            Some(set) => set,
            None => PolicySet::load(&PolicyOptions::default()).map_err(|e| {
                anyhow::anyhow!(
                    "cannot prepare the Rego engine: {}",
                    e.first().map_or("", |e| e.message.as_str())
                )
            })?,
        };
        // The second pass evaluates every policy again, so it replaces the first pass's results.
        (policy_findings, policy_errors) = gatekeeper_pass(&sources, &resolved, &mut set, &gatekeeper);
    }
    errors.extend(policy_errors);
    // `--helm-values` files are the user's own values: they are scanned for secrets too.
    let chart_values: Vec<PathBuf> = sources
        .iter()
        .filter_map(|s| match s {
            Source::HelmChart(chart) => Some(chart_values_files(chart)),
            _ => None,
        })
        .flatten()
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    let mut user_values = SourceResult::default();
    for values in &resolved.load.helm_values {
        // Already scanned when it belongs to a chart being scanned.
        if !values.canonicalize().is_ok_and(|c| chart_values.contains(&c)) {
            scan_text_file(secrets, values, &mut user_values);
        }
    }
    errors.extend(user_values.errors);
    per_source.extend([index_findings, policy_findings, user_values.findings]);
    // Gathered once, in order, into a vector of the exact size: growing a vector of several
    // hundred thousand findings would copy them all and hold two copies at the peak.
    let mut findings = merge_findings(per_source);

    // User choices: --skip (PSS findings included), severities, ignore file, baseline.
    resolved.choices.apply(&mut findings, &mut errors, &mut notices)?;
    let status = filter::exit_status(&errors, &findings, resolved.fail_on);
    let finding_count = findings.len();
    let mut report = Report::with_findings(findings, errors);
    if !notices.is_empty() {
        output::notices(
            &notices
                .iter()
                .map(|n| match n.line {
                    Some(line) => format!("{}:{line}: {}", n.path, n.message),
                    None => format!("{}: {}", n.path, n.message),
                })
                .collect::<Vec<_>>(),
        );
        report.sections.insert("notices".to_string(), serde_json::to_value(&notices)?);
    }
    let mut out = output::open(args.output.as_deref())?;
    let lookup = |id: &str| {
        find_rule(id)
            .map(|def| def.meta)
            .or_else(|| pss::check_metas().iter().copied().find(|m| m.matches(id)))
            .or_else(|| secret_rules::find(id).map(|rule| &rule.meta))
    };
    let config = RenderConfig {
        rule_lookup: Some(&lookup),
        color: output::stdout_is_terminal(args.output.as_deref()),
        ..RenderConfig::new(env!("CARGO_PKG_VERSION"))
    };
    render(&report, resolved.format, &config, &mut out)?;
    out.flush()?;
    if let Some(metrics) = &metrics {
        metrics.publish("scan", &report, status)?;
    }
    if std::io::stderr().is_terminal() {
        eprintln!(
            "kubesecops: {} source(s), {objects} object(s), {} rule(s): {finding_count} finding(s), {} error(s)",
            sources.len(),
            engine.rule_count(),
            report.errors.len()
        );
    }
    // The process exits next and the OS takes the memory back at once: freeing every finding
    // and the index piece by piece was the last, single-threaded milliseconds of a scan.
    std::mem::forget(report);
    std::mem::forget(index);
    Ok(status)
}
