//! `kubesecops rbac`: privilege paths (`paths`), exact `who-can`, and least privilege from
//! audit logs (`suggest`), on manifests, snapshots or a live cluster.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use kubesecops_core::{Report, ReportError};
use kubesecops_k8s::{discover, load_source, LoadOptions};
use kubesecops_rbac::paths::{render_text, SubjectJson};
use kubesecops_rbac::{parse_resource, suggest, Graph, Model, Request, Subject, Target};

use crate::cmd::cluster::ConnectArgs;
use crate::{output, Status};

/// Flags of `kubesecops rbac`.
#[derive(Debug, Args)]
pub struct RbacArgs {
    #[command(subcommand)]
    pub command: RbacCommand,
}

/// The `rbac` subcommands.
#[derive(Debug, Subcommand)]
pub enum RbacCommand {
    /// Every subject that can reach cluster-admin (or another subject), with the shortest
    /// chain of steps and the binding that grants each.
    Paths(PathsArgs),
    /// Every subject the RBAC authorizer allows VERB on RESOURCE, exactly.
    WhoCan(WhoCanArgs),
    /// The least-privilege Role/ClusterRole and bindings that allow what a user did,
    /// from an audit log.
    Suggest(SuggestArgs),
}

/// Where RBAC objects come from: paths, else a live cluster.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Manifests or snapshots (files or directories). Without any, the live cluster of the
    /// kubeconfig is read.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Text formats of `paths` and `who-can`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RbacFormat {
    /// Human-readable text (`text` is accepted too).
    #[value(alias = "text")]
    Txt,
    /// The JSON envelope.
    Json,
    /// Graphviz (paths only).
    Dot,
}

/// Flags of `kubesecops rbac paths`.
#[derive(Debug, Args)]
pub struct PathsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Target: `cluster-admin` or a subject (`User:NAME`, `Group:NAME`,
    /// `ServiceAccount:NS/NAME`).
    #[arg(long, default_value = "cluster-admin", value_name = "TARGET")]
    pub to: String,
    /// Only this subject's path.
    #[arg(long, value_name = "SUBJECT")]
    pub from: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "txt")]
    pub format: RbacFormat,
    /// Write to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Flags of `kubesecops rbac who-can`.
#[derive(Debug, Args)]
pub struct WhoCanArgs {
    /// Verb (`get`, `list`, `create`, `impersonate`, `*`...).
    pub verb: String,
    /// Resource as kubectl writes it (`pods`, `deployments.apps`, `pods/exec`), or a
    /// non-resource URL starting with `/`.
    pub resource: String,
    #[command(flatten)]
    pub input: InputArgs,
    /// Namespace of the request (default: cluster scope / all namespaces).
    #[arg(short = 'n', long = "namespace", value_name = "NS")]
    pub namespace: Option<String>,
    /// Subresource (`exec`, `log`, `token`, ...).
    #[arg(long, value_name = "S")]
    pub subresource: Option<String>,
    /// Object name (for rules limited by resourceNames).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Output format (txt or json).
    #[arg(short, long, value_enum, default_value = "txt")]
    pub format: RbacFormat,
    /// Write to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Output of `rbac suggest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SuggestFormat {
    /// Manifests for `kubectl apply`.
    Yaml,
    /// The JSON envelope with `roles`.
    Json,
}

/// Flags of `kubesecops rbac suggest`.
#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// Audit log: JSON lines, or a JSON EventList.
    #[arg(long, value_name = "FILE")]
    pub audit_log: PathBuf,
    /// User name, or `system:serviceaccount:NS:NAME`.
    #[arg(long, value_name = "NAME")]
    pub user: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "yaml")]
    pub format: SuggestFormat,
    /// Write to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs an `rbac` subcommand.
pub fn run(args: RbacArgs) -> Result<Status> {
    match args.command {
        RbacCommand::Paths(args) => paths(args),
        RbacCommand::WhoCan(args) => who_can(args),
        RbacCommand::Suggest(args) => suggest_roles(args),
    }
}

/// Reads the RBAC model from paths, or from the live cluster. Errors (unreadable files,
/// resources the caller may not list) are returned for the report: results are partial then.
fn load_model(input: &InputArgs) -> Result<(Model, Vec<ReportError>)> {
    let mut model = Model::default();
    if !input.paths.is_empty() {
        let (sources, mut errors) = discover(&input.paths);
        for source in &sources {
            let loaded = load_source(source, &LoadOptions::default());
            errors.extend(loaded.errors);
            loaded.objects.iter().for_each(|o| model.add(o));
        }
        return Ok((model, errors));
    }
    let cluster = input.connect.connect()?;
    let (objects, summary) = cluster.fetch(kubesecops_cluster::list::RBAC_RESOURCES, &[])?;
    let path: Arc<str> = Arc::from(cluster.location_path());
    for value in &objects {
        if let Some(obj) = kubesecops_cluster::to_object(&path, value) {
            model.add(&obj);
        }
    }
    let errors = summary
        .gaps
        .iter()
        .map(|g| {
            ReportError::at(
                path.to_string(),
                None,
                format!("partial: could not list {}: {}", g.resource, g.reason),
            )
        })
        .collect();
    Ok((model, errors))
}

fn print_errors(errors: &[ReportError]) {
    output::notices(
        &errors
            .iter()
            .map(|e| match e.line {
                Some(line) => format!("{}:{line}: {}", e.path, e.message),
                None => format!("{}: {}", e.path, e.message),
            })
            .collect::<Vec<_>>(),
    );
}

fn status_of(errors: &[ReportError]) -> Status {
    if errors.is_empty() {
        Status::Clean
    } else {
        Status::InputErrors
    }
}

fn paths(args: PathsArgs) -> Result<Status> {
    let target = Target::parse(&args.to).context("--to")?;
    let from = args.from.as_deref().map(Subject::parse).transpose().context("--from")?;
    let (model, errors) = load_model(&args.input)?;
    let resolved = model.resolve();
    let graph = Graph::build(&resolved);
    let found = graph.paths(&target, from.as_ref());
    let mut out = output::open(args.output.as_deref())?;
    match args.format {
        RbacFormat::Txt => {
            print_errors(&errors);
            out.write_all(render_text(&found).as_bytes())?
        }
        RbacFormat::Dot => {
            print_errors(&errors);
            out.write_all(graph.dot(&found).as_bytes())?
        }
        RbacFormat::Json => {
            let report = Report::with_section("paths", serde_json::to_value(&found)?, errors.clone());
            serde_json::to_writer_pretty(&mut out, &report)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(status_of(&errors))
}

fn who_can(args: WhoCanArgs) -> Result<Status> {
    if args.format == RbacFormat::Dot {
        bail!("--format dot is for `rbac paths`; who-can writes txt or json");
    }
    let namespace = args.namespace.clone().unwrap_or_default();
    let request = if args.resource.starts_with('/') {
        Request::NonResource { verb: args.verb.clone(), path: args.resource.clone() }
    } else {
        let (group, resource, sub) = parse_resource(&args.resource);
        let sub = args.subresource.clone().unwrap_or(sub);
        Request::resource(&args.verb, &group, &resource, &sub, &namespace)
            .named(args.name.as_deref().unwrap_or(""))
    };
    let (model, errors) = load_model(&args.input)?;
    let subjects = model.resolve().who_can(&request);
    let mut out = output::open(args.output.as_deref())?;
    match args.format {
        RbacFormat::Json => {
            let list: Vec<SubjectJson> = subjects.iter().map(SubjectJson::from).collect();
            let report = Report::with_section("subjects", serde_json::to_value(&list)?, errors.clone());
            serde_json::to_writer_pretty(&mut out, &report)?;
            out.write_all(b"\n")?;
        }
        _ => {
            print_errors(&errors);
            for subject in &subjects {
                writeln!(out, "{subject}")?;
            }
        }
    }
    out.flush()?;
    Ok(status_of(&errors))
}

fn suggest_roles(args: SuggestArgs) -> Result<Status> {
    let text = std::fs::read_to_string(&args.audit_log)
        .with_context(|| format!("{}: cannot read the audit log", args.audit_log.display()))?;
    let suggested =
        suggest::suggest(&text, &args.user).with_context(|| args.audit_log.display().to_string())?;
    let path = args.audit_log.display().to_string();
    let errors: Vec<ReportError> = suggested
        .skipped
        .iter()
        .map(|(line, why)| ReportError::at(&path, Some(*line as u32), why.clone()))
        .collect();
    if suggested.requests == 0 {
        bail!("{path}: no request of user {:?} in the audit log", args.user);
    }
    let mut out = output::open(args.output.as_deref())?;
    match args.format {
        SuggestFormat::Yaml => {
            print_errors(&errors);
            out.write_all(suggest::to_yaml(&suggested).as_bytes())?;
        }
        SuggestFormat::Json => {
            let roles: Vec<serde_json::Value> = suggested
                .roles
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "kind": if r.namespace.is_empty() { "ClusterRole" } else { "Role" },
                        "name": r.name,
                        "namespace": r.namespace,
                        "rules": r.rules,
                        "subject": SubjectJson::from(&r.subject),
                    })
                })
                .collect();
            let report = Report::with_section("roles", serde_json::Value::Array(roles), errors.clone());
            serde_json::to_writer_pretty(&mut out, &report)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    // Lines that are not audit events are said, but the suggestion stands.
    Ok(Status::Clean)
}
