//! `kubesecops`: the command line. Thin by design: parsing flags, choosing inputs and
//! outputs, exit codes. The work happens in the library crates.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// Scans allocate many small strings and nodes; mimalloc handles that pattern far better
// than the system allocator (measured in docs/benchmarks.md). Built without transparent huge
// pages (`no_thp`): the kernel zeroes a whole 2 MiB page at the first touch, which cost a
// fifth of a 50,000-object scan's CPU in `perf`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cmd;
mod filter;
mod metrics;
mod output;
mod settings;

/// One binary for the Kubernetes DevSecOps pipeline.
#[derive(Debug, Parser)]
#[command(name = "kubesecops", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// CIS node benchmark: `bench node` (kube-bench benchmark folders or built-in checks).
    Bench(cmd::bench::BenchArgs),
    /// Probe cluster components as an attacker would (kube-hunter class; `--from-pod` too).
    Probe(cmd::probe::ProbeArgs),
    /// Scan manifests (files, directories, `-` for stdin, Helm charts) with the built-in
    /// rules and the Pod Security Standards.
    Scan(cmd::scan::ScanArgs),
    /// Decide each pod against a Pod Security Standards level and version, as the
    /// admission controller does.
    // `--version` here is the standard's version, so the subcommand has no version flag.
    #[command(disable_version_flag = true)]
    Pss(cmd::pss::PssArgs),
    /// List the built-in rules, or explain one (id or alias).
    Rules(cmd::rules::RulesArgs),
    /// Rego policies: `policy test DIR...` (`opa test`), `policy verify SUITE...` (`gator verify`).
    Policy(cmd::policy::PolicyArgs),
    /// Find secrets (keys, tokens, passwords) in files, directories or stdin, with the
    /// built-in rules or a gitleaks configuration.
    Secrets(cmd::secrets::SecretsArgs),
    /// Falco-compatible detection on Kubernetes audit events (`runtime replay`, `runtime serve`).
    Runtime(cmd::runtime::RuntimeArgs),
    /// Evidence of runtime alerts: `forensics verify DIR`, `forensics export DIR`.
    Forensics(cmd::forensics::ForensicsArgs),
    /// NetworkPolicy reachability: `netpol connlist PATH...`, `netpol diff DIR1 DIR2`,
    /// `netpol test-plan PATH...`.
    Netpol(cmd::netpol::NetpolArgs),
    /// The local vulnerability database: `db import PATH...` (OSV records), `db info`.
    Db(cmd::db::DbArgs),
    /// The validating admission webhook over HTTPS: `/validate`, `/healthz`, `/readyz`, `/metrics`.
    Serve(cmd::serve::ServeArgs),
    /// Scan a container image (archive, OCI layout, registry reference or `--rootfs DIR`):
    /// packages, vulnerabilities, secrets in layers, image compliance; SBOM output.
    Image(cmd::image::ImageArgs),
    /// The Dockerfile rules (user, base image, secrets, health check, ports, ADD, ...).
    Dockerfile(cmd::dockerfile::DockerfileArgs),
    /// Vulnerabilities of the packages an SBOM lists (CycloneDX or SPDX JSON).
    Sbom(cmd::sbom::SbomArgs),
    /// Live cluster audit: `cluster scan`, `cluster snapshot -o FILE`.
    Cluster(cmd::cluster::ClusterArgs),
    /// RBAC: `rbac paths` (privilege escalation), `rbac who-can`, `rbac suggest`.
    Rbac(cmd::rbac::RbacArgs),
}

/// Exit status: 0 clean, 1 findings at or above `--fail-on`, 2 usage or input errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing at or above the threshold.
    Clean,
    /// Findings at or above `--fail-on` (or denied pods for `pss`).
    Findings,
    /// An input could not be read or parsed; everything else was reported.
    InputErrors,
}

impl Status {
    /// The process exit code: 0, 1 or 2.
    pub fn code(self) -> u8 {
        match self {
            Status::Clean => 0,
            Status::Findings => 1,
            Status::InputErrors => 2,
        }
    }
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(status.code())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let started = std::time::Instant::now();
    let metrics = metrics_of(&cli.command);
    let result = match cli.command {
        Command::Bench(args) => cmd::bench::run(args),
        Command::Probe(args) => cmd::probe::run(args),
        Command::Scan(args) => cmd::scan::run(args),
        Command::Pss(args) => cmd::pss::run(args),
        Command::Rules(args) => cmd::rules::run(args),
        Command::Policy(args) => cmd::policy::run(args),
        Command::Secrets(args) => cmd::secrets::run(args),
        Command::Runtime(args) => cmd::runtime::run(args),
        Command::Forensics(args) => cmd::forensics::run(args),
        Command::Netpol(args) => cmd::netpol::run(args),
        Command::Db(args) => cmd::db::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Image(args) => cmd::image::run(args),
        Command::Dockerfile(args) => cmd::dockerfile::run(args),
        Command::Sbom(args) => cmd::sbom::run(args),
        Command::Cluster(args) => cmd::cluster::run(args),
        Command::Rbac(args) => cmd::rbac::run(args),
    };
    match result {
        Ok(status) => status.into(),
        Err(err) if output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kubesecops: error: {err:#}");
            if let Some((command, args)) = metrics {
                metrics::publish_failure(command, &args, started, &err);
            }
            ExitCode::from(2)
        }
    }
}

/// The metric name and `--metrics-*` flags of the commands that publish metrics.
fn metrics_of(command: &Command) -> Option<(&'static str, metrics::MetricsArgs)> {
    match command {
        Command::Scan(args) => Some(("scan", args.metrics.clone())),
        Command::Secrets(args) => Some(("secrets", args.metrics.clone())),
        Command::Image(args) => Some(("image", args.metrics.clone())),
        Command::Dockerfile(args) => Some(("dockerfile", args.metrics.clone())),
        Command::Sbom(args) => Some(("sbom", args.metrics.clone())),
        Command::Cluster(args) => match &args.command {
            cmd::cluster::ClusterCommand::Scan(scan) => Some(("cluster", scan.metrics.clone())),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
