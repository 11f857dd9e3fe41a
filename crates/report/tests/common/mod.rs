//! A report with several files, every severity, live objects, stdin, a finding without a
//! line, a rule without metadata, awkward characters and input errors.

#![allow(dead_code)] // Each test binary uses a different part.

use std::sync::Arc;

use kubesecops_core::{
    fingerprint, Category, Finding, Framework, Location, ObjectRef, Report, ReportError, RuleMeta, RuleRef,
    Severity,
};
use kubesecops_report::{render, Format, RenderConfig};

pub const TOOL_VERSION: &str = "0.0.0-test";

pub static PRIVILEGED: RuleMeta = RuleMeta {
    id: "KSO-T001",
    title: "Privileged container",
    severity: Severity::Critical,
    category: Category::PodSecurity,
    aliases: &["ALIAS-1", "ALIAS-2"],
    frameworks: &[Framework::Cis("5.2.2"), Framework::MitreAttack("T1611")],
    doc: " ## What it checks\n Containers whose `securityContext.privileged` is\n `true`.\n\n ## Fix\n Remove it.\n",
};

pub static HOST_NETWORK: RuleMeta = RuleMeta {
    id: "KSO-T002",
    title: "Host network",
    severity: Severity::High,
    category: Category::HostAccess,
    aliases: &[],
    frameworks: &[],
    doc: " ## What it checks\n Pods with `hostNetwork: true`.\n",
};

pub static NO_LIMITS: RuleMeta = RuleMeta {
    id: "KSO-T003",
    title: "Memory limit missing",
    severity: Severity::Medium,
    category: Category::Resources,
    aliases: &[],
    frameworks: &[Framework::Pss("restricted:limits")],
    doc: "",
};

pub static LATEST_TAG: RuleMeta = RuleMeta {
    id: "KSO-T004",
    title: "Image uses latest tag",
    severity: Severity::Low,
    category: Category::Images,
    aliases: &["ALIAS-4"],
    frameworks: &[],
    doc: " ## What it checks\n Images tagged `:latest` or untagged.\n",
};

/// Metadata of the rules above; `policy.deny_root` (a Rego-style id) is unknown.
pub fn lookup(id: &str) -> Option<&'static RuleMeta> {
    [&PRIVILEGED, &HOST_NETWORK, &NO_LIMITS, &LATEST_TAG].into_iter().find(|meta| meta.matches(id))
}

pub fn object(api_version: &str, kind: &str, namespace: &str, name: &str) -> Arc<ObjectRef> {
    Arc::new(ObjectRef {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: namespace.into(),
        name: name.into(),
    })
}

pub fn finding(
    rule: &Arc<RuleRef>,
    severity: Severity,
    path: &str,
    line: Option<u32>,
    column: Option<u32>,
    object: Option<Arc<ObjectRef>>,
    message: &str,
) -> Finding {
    Finding {
        rule: rule.clone(),
        severity,
        message: message.into(),
        location: Location { path: path.into(), line, column },
        fingerprint: fingerprint(&rule.id, path, object.as_deref(), message),
        vcs: None,
        package: None,
        fixed_version: None,
        object,
    }
}

pub fn sample_report() -> Report {
    let privileged = Arc::new(RuleRef::from(&PRIVILEGED));
    let host_network = Arc::new(RuleRef::from(&HOST_NETWORK));
    let no_limits = Arc::new(RuleRef::from(&NO_LIMITS));
    let latest = Arc::new(RuleRef::from(&LATEST_TAG));
    let policy = Arc::new(RuleRef { id: "policy.deny_root".into(), aliases: vec![], title: String::new() });

    let web = object("apps/v1", "Deployment", "prod", "web");
    let db = object("apps/v1", "StatefulSet", "", "db");
    let live = object("v1", "Pod", "kube-system", "debug");

    let findings = vec![
        finding(
            &privileged,
            Severity::Critical,
            "deploy/web.yaml",
            Some(14),
            Some(9),
            Some(web.clone()),
            "container \"web\" runs privileged",
        ),
        finding(
            &host_network,
            Severity::High,
            "deploy/web.yaml",
            Some(8),
            Some(7),
            Some(web.clone()),
            "pod uses the host network",
        ),
        finding(
            &latest,
            Severity::Low,
            "deploy/web.yaml",
            Some(12),
            Some(14),
            Some(web),
            "image \"nginx\" has no tag <untagged> & no digest",
        ),
        finding(
            &no_limits,
            Severity::Medium,
            "deploy/db.yaml",
            Some(20),
            None,
            Some(db.clone()),
            "container \"db\" has no memory limit",
        ),
        // Severity raised by configuration above the rule's default.
        finding(
            &latest,
            Severity::High,
            "deploy/db.yaml",
            Some(18),
            Some(16),
            Some(db),
            "image \"postgres:latest\" uses the latest tag",
        ),
        // An index-level finding with no line, in a path that needs URI encoding.
        finding(
            &policy,
            Severity::Medium,
            "charts/my app/values.yaml",
            None,
            None,
            None,
            "policy denied:\nroot user\tallowed",
        ),
        finding(
            &privileged,
            Severity::Critical,
            "-",
            Some(3),
            Some(5),
            Some(object("v1", "Pod", "", "stdin-pod")),
            "container \"x\" runs privileged",
        ),
        finding(
            &host_network,
            Severity::High,
            "cluster://kind-dev",
            None,
            None,
            Some(live),
            "pod uses the host network",
        ),
    ];
    let errors = vec![
        ReportError::at("broken.yaml", Some(3), "mapping values are not allowed in this context"),
        ReportError::at("deploy/web.yaml", None, "unsupported kind \"Widget\" <skipped>"),
    ];
    Report::with_findings(findings, errors)
}

pub fn config(lookup: &dyn Fn(&str) -> Option<&'static RuleMeta>) -> RenderConfig<'_> {
    RenderConfig { rule_lookup: Some(lookup), ..RenderConfig::new(TOOL_VERSION) }
}

pub fn render_string(report: &Report, format: Format, config: &RenderConfig<'_>) -> String {
    let mut out = Vec::new();
    render(report, format, config, &mut out).expect("rendering into memory cannot fail");
    String::from_utf8(out).expect("renderers write UTF-8")
}
