//! The decision engine on requests built here: modes, exemptions, operations, Rego and
//! Gatekeeper policies written by this test.

use std::path::Path;

use kubesecops_admission::{AdmissionReview, Config, Mode, Policies, RuleGroup};
use serde_json::{json, Value as Json};

fn privileged_pod() -> Json {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "root-shell", "labels": {"app": "debug"}},
        "spec": {"containers": [{"name": "shell", "image": "busybox:1.36",
            "securityContext": {"privileged": true}}]}})
}

fn hardened_pod() -> Json {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "automountServiceAccountToken": false,
            "securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "runAsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "web", "image": "registry.example.com/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "imagePullPolicy": "Always",
                "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                    "capabilities": {"drop": ["ALL"]}},
                "resources": {"limits": {"cpu": "500m", "memory": "128Mi"},
                    "requests": {"cpu": "100m", "memory": "64Mi"}}}]}})
}

fn review(operation: &str, namespace: &str, object: Option<Json>, old: Option<Json>) -> AdmissionReview {
    let mut request = json!({
        "uid": "0f3c", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "namespace": namespace, "operation": operation,
        "userInfo": {"username": "alice"}});
    if let Some(object) = object {
        request["object"] = object;
    }
    if let Some(old) = old {
        request["oldObject"] = old;
    }
    let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request});
    AdmissionReview::parse(body.to_string().as_bytes()).expect("valid review")
}

fn create(namespace: &str, object: Json) -> AdmissionReview {
    review("CREATE", namespace, Some(object), None)
}

fn policies(toml: &str, dir: &Path) -> Policies {
    let config = Config::parse(toml, Path::new("webhook.toml"), dir).expect("config parses");
    Policies::from_config(&config, Path::new("webhook.toml")).expect("policies load")
}

fn decide(policies: &Policies, review: &AdmissionReview) -> kubesecops_admission::Decision {
    policies.decide(review.request.as_ref().unwrap())
}

#[test]
fn default_config_denies_a_privileged_pod_and_admits_a_hardened_one() {
    let policies = Policies::load(None).unwrap();
    let denied = decide(&policies, &create("team", privileged_pod()));
    assert!(!denied.allowed);
    let rules: Vec<&str> = denied.violations.iter().map(|v| v.rule.as_str()).collect();
    assert!(rules.contains(&"KSO-C001"), "{rules:?}");
    assert!(rules.contains(&"KSO-PSS-privileged"), "{rules:?}");
    let response = denied.response("0f3c");
    assert_eq!(response.uid, "0f3c");
    let status = response.status.unwrap();
    assert_eq!(status.code, 403);
    assert!(status.message.starts_with("kubesecops denied Pod team/root-shell: "), "{}", status.message);
    assert!(status.message.contains("[KSO-C001]"), "{}", status.message);
    assert!(status.message.contains("[KSO-PSS-privileged]"), "{}", status.message);
    assert_eq!(denied.result(), "denied");

    let allowed = decide(&policies, &create("team", hardened_pod()));
    assert!(allowed.allowed, "{:?}", allowed.violations);
    assert_eq!(allowed.result(), "allowed");
    assert!(allowed.response("0f3c").status.is_none());
}

#[test]
fn warn_and_dry_run_modes_admit() {
    let dir = Path::new(".");
    let warn = policies("[pss]\nlevel = \"baseline\"\nmode = \"warn\"\n", dir);
    let decision = decide(&warn, &create("team", privileged_pod()));
    assert!(decision.allowed);
    assert_eq!(decision.result(), "warned");
    let response = decision.response("u");
    assert!(response.status.is_none());
    assert!(
        response.warnings.iter().any(|w| w.starts_with("[KSO-PSS-privileged] ")),
        "{:?}",
        response.warnings
    );

    let dry = policies("mode = \"dry-run\"\n[pss]\nlevel = \"baseline\"\n", dir);
    let decision = decide(&dry, &create("team", privileged_pod()));
    assert!(decision.allowed);
    assert!(decision.violations.iter().all(|v| v.mode == Mode::DryRun && v.group == RuleGroup::Pss));
    assert!(!decision.violations.is_empty());
    assert!(decision.response("u").warnings.is_empty());
}

#[test]
fn per_rule_modes_win_over_the_group_mode() {
    let policies = policies(
        "[rules]\n\"CKV_K8S_16\" = \"warn\"\n\"privileged\" = \"warn\"\n[builtin]\nselect = [\"KSO-C001\"]\n[pss]\nlevel = \"baseline\"\n",
        Path::new("."),
    );
    let decision = decide(&policies, &create("team", privileged_pod()));
    // KSO-C001 through its Checkov alias, the PSS check through its admission id.
    assert!(decision.allowed, "{:?}", decision.violations);
    let warnings = decision.response("u").warnings;
    assert!(warnings.iter().any(|w| w.starts_with("[KSO-C001]")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.starts_with("[KSO-PSS-privileged]")), "{warnings:?}");
}

#[test]
fn exempt_namespaces_globally_and_per_group() {
    let policies = policies(
        "exempt_namespaces = [\"kube-*\"]\n[builtin]\nselect = [\"KSO-C001\"]\nexempt_namespaces = [\"legacy\"]\n[pss]\nlevel = \"baseline\"\n",
        Path::new("."),
    );
    let decision = decide(&policies, &create("kube-system", privileged_pod()));
    assert!(decision.allowed);
    assert_eq!(decision.result(), "skipped");
    assert!(decision.skipped.as_deref().unwrap().contains("kube-system"));

    let decision = decide(&policies, &create("legacy", privileged_pod()));
    assert!(!decision.allowed);
    assert!(decision.violations.iter().all(|v| v.group == RuleGroup::Pss), "{:?}", decision.violations);
}

#[test]
fn updates_deletes_and_subresources() {
    let policies = Policies::load(None).unwrap();
    // A label change on a pod admitted before the policy: not blocked.
    let mut relabelled = privileged_pod();
    relabelled["metadata"]["labels"]["tier"] = json!("debug");
    let decision = decide(&policies, &review("UPDATE", "team", Some(relabelled), Some(privileged_pod())));
    assert!(decision.allowed, "{:?}", decision.violations);

    // Making a hardened pod privileged: the spec changed, so it is judged.
    let decision = decide(&policies, &review("UPDATE", "team", Some(privileged_pod()), Some(hardened_pod())));
    assert!(!decision.allowed);

    let decision = decide(&policies, &review("DELETE", "team", None, Some(privileged_pod())));
    assert!(decision.allowed && decision.violations.is_empty());

    let mut status = review("UPDATE", "team", Some(privileged_pod()), Some(hardened_pod()));
    status.request.as_mut().unwrap().sub_resource = "status".into();
    assert!(decide(&policies, &status).allowed);

    let mut ephemeral = review("UPDATE", "team", Some(privileged_pod()), Some(hardened_pod()));
    ephemeral.request.as_mut().unwrap().sub_resource = "ephemeralcontainers".into();
    assert!(!decide(&policies, &ephemeral).allowed);
}

#[test]
fn builtin_selection_by_severity() {
    let dir = Path::new(".");
    // Beside these (probes, a bare Pod) the hardened pod has no finding at any severity; the
    // same pod without resources is caught at LOW but not at CRITICAL.
    let mut unlimited = hardened_pod();
    unlimited["spec"]["containers"][0].as_object_mut().unwrap().remove("resources");
    let low = policies(
        "[builtin]\nmin_severity = \"LOW\"\nskip = [\"KSO-L005\", \"KSO-L006\", \"KSO-L007\", \"KSO-W005\"]\n",
        dir,
    );
    let hardened = decide(&low, &create("team", hardened_pod()));
    assert!(hardened.allowed, "{:?}", hardened.violations);
    let decision = decide(&low, &create("team", unlimited.clone()));
    assert!(!decision.allowed);
    assert!(decision.violations.iter().all(|v| v.group == RuleGroup::Builtin));
    let critical = policies("[builtin]\nmin_severity = \"CRITICAL\"\n", dir);
    assert!(decide(&critical, &create("team", unlimited)).allowed);
    assert!(!decide(&critical, &create("team", privileged_pod())).allowed);
}

#[test]
fn config_errors_are_clear() {
    let config =
        Config::parse("[builtin]\nselect = [\"KSO-NOPE\"]\n", Path::new("webhook.toml"), Path::new("."))
            .unwrap();
    let err = Policies::from_config(&config, Path::new("webhook.toml")).unwrap_err().to_string();
    assert_eq!(err, "webhook.toml: builtin.select: unknown rule \"KSO-NOPE\" (see `kubesecops rules`)");
}

#[test]
fn rego_deny_rules_enforce_and_warn_rules_warn() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    std::fs::write(
        dir.path().join("policies/labels.rego"),
        "package main\n\ndeny[msg] {\n  input.kind == \"Pod\"\n  not input.metadata.labels.owner\n  msg := sprintf(\"%s has no owner label\", [input.metadata.name])\n}\n\nwarn[msg] {\n  input.metadata.namespace == \"team\"\n  msg := \"team namespace is being retired\"\n}\n",
    )
    .unwrap();
    let policies = policies("[rego]\npolicies = [\"policies\"]\n", dir.path());
    let decision = decide(&policies, &create("team", hardened_pod()));
    assert!(!decision.allowed);
    let response = decision.response("u");
    let message = response.status.unwrap().message;
    assert!(message.contains("[main.deny] web has no owner label"), "{message}");
    // The namespace comes from the request: the object itself does not carry it.
    assert_eq!(response.warnings, ["[main.warn] team namespace is being retired"]);
}

#[test]
fn rego_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.rego"), "package main\n\ndeny[msg] {\n  msg := \n}\n").unwrap();
    let config =
        Config::parse("[rego]\npolicies = [\".\"]\n", Path::new("webhook.toml"), dir.path()).unwrap();
    let err = Policies::from_config(&config, Path::new("webhook.toml")).unwrap_err().to_string();
    assert!(err.starts_with("rego: "), "{err}");
    assert!(err.contains("broken.rego:"), "{err}");
}

const TEMPLATE: &str = r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: ksorequiredlabels
spec:
  crd:
    spec:
      names:
        kind: KsoRequiredLabels
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package ksorequiredlabels

        violation[{"msg": msg}] {
          input.review.operation != "DELETE"
          wanted := input.parameters.labels[_]
          not input.review.object.metadata.labels[wanted]
          msg := sprintf("%v needs label %v (asked by %v)", [input.review.kind.kind, wanted, input.review.userInfo.username])
        }
"#;

fn constraint(name: &str, action: &str, label: &str) -> String {
    format!(
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: KsoRequiredLabels\nmetadata:\n  name: {name}\nspec:\n  enforcementAction: {action}\n  match:\n    kinds:\n      - apiGroups: [\"\"]\n        kinds: [\"Pod\"]\n    excludedNamespaces: [\"sandbox\"]\n  parameters:\n    labels: [\"{label}\"]\n"
    )
}

#[test]
fn gatekeeper_constraints_see_the_admission_request() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("template.yaml"), TEMPLATE).unwrap();
    std::fs::write(
        dir.path().join("constraints.yaml"),
        format!(
            "{}---\n{}",
            constraint("need-team", "deny", "team"),
            constraint("want-cost", "warn", "cost")
        ),
    )
    .unwrap();
    let policies = policies("[gatekeeper]\npaths = [\".\"]\n", dir.path());
    let decision = decide(&policies, &create("apps", hardened_pod()));
    assert!(!decision.allowed);
    let response = decision.response("u");
    let message = response.status.unwrap().message;
    assert!(
        message.contains("[KsoRequiredLabels/need-team] Pod needs label team (asked by alice)"),
        "{message}"
    );
    assert_eq!(response.warnings, ["[KsoRequiredLabels/want-cost] Pod needs label cost (asked by alice)"]);

    // excludedNamespaces, and the operation seen by the template.
    assert!(decide(&policies, &create("sandbox", hardened_pod())).allowed);
    assert!(decide(&policies, &review("DELETE", "apps", None, Some(hardened_pod()))).allowed);
}

#[test]
fn gatekeeper_constraint_without_template_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.yaml"), constraint("orphan", "deny", "team")).unwrap();
    let config =
        Config::parse("[gatekeeper]\npaths = [\".\"]\n", Path::new("webhook.toml"), dir.path()).unwrap();
    let err = Policies::from_config(&config, Path::new("webhook.toml")).unwrap_err().to_string();
    assert!(err.contains("no ConstraintTemplate defines kind KsoRequiredLabels"), "{err}");
    assert!(err.contains("c.yaml:1:"), "{err}");
}

mod signed {
    use super::*;
    use kubesecops_admission::ConfigError;
    use kubesecops_trust::testing::TestKey;

    const POLICY: &str = "package main\n\ndeny[msg] {\n  input.metadata.name == \"root-shell\"\n  msg := \"no root shells\"\n}\n";

    /// Writes `content` to `dir/name` and, when `key` is given, its signature beside it.
    fn write(dir: &Path, name: &str, content: &str, key: Option<&TestKey>) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        if let Some(key) = key {
            let comment = format!("timestamp:1700000000\tfile:{name}");
            std::fs::write(dir.join(format!("{name}.minisig")), key.sign(content.as_bytes(), &comment, true))
                .unwrap();
        }
    }

    fn setup() -> (tempfile::TempDir, TestKey) {
        let dir = tempfile::tempdir().unwrap();
        let key = TestKey::new(3, [9, 8, 7, 6, 5, 4, 3, 2]);
        write(dir.path(), "keys/policy.pub", &key.public_file(), None);
        (dir, key)
    }

    fn load(toml: &str, dir: &Path) -> Result<Policies, ConfigError> {
        let config = Config::parse(toml, Path::new("webhook.toml"), dir).expect("config parses");
        Policies::from_config(&config, Path::new("webhook.toml"))
    }

    const REGO: &str = "policy_keys = [\"keys/policy.pub\"]\n[rego]\npolicies = [\"policies\"]\n";

    #[test]
    fn signed_rego_policies_load_and_decide() {
        let (dir, key) = setup();
        write(dir.path(), "policies/p.rego", POLICY, Some(&key));
        let policies = load(REGO, dir.path()).expect("signed policies load");
        let decision = decide(&policies, &create("team", privileged_pod()));
        let message = decision.response("u").status.unwrap().message;
        assert!(message.contains("no root shells"), "{message}");
    }

    #[test]
    fn a_changed_unsigned_or_foreign_policy_is_refused_and_named() {
        let (dir, key) = setup();
        write(dir.path(), "policies/p.rego", POLICY, Some(&key));
        std::fs::write(dir.path().join("policies/p.rego"), POLICY.replace("root-shell", "nobody")).unwrap();
        let err = load(REGO, dir.path()).map(drop).expect_err("a changed policy is refused").to_string();
        assert!(err.contains("p.rego") && err.contains("does not match"), "{err}");

        write(dir.path(), "policies/p.rego", POLICY, Some(&key));
        write(dir.path(), "policies/extra.rego", "package main\n", None);
        let err = load(REGO, dir.path()).map(drop).expect_err("an unsigned policy is refused").to_string();
        assert!(err.contains("extra.rego") && err.contains("not signed"), "{err}");

        let other = TestKey::new(4, [1, 1, 1, 1, 1, 1, 1, 1]);
        write(dir.path(), "policies/extra.rego", "package main\n", Some(&other));
        let err = load(REGO, dir.path()).map(drop).expect_err("another key is refused").to_string();
        assert!(err.contains("extra.rego") && err.contains("not a trusted key"), "{err}");

        // Without policy_keys nothing is checked.
        assert!(load("[rego]\npolicies = [\"policies\"]\n", dir.path()).is_ok());
    }

    #[test]
    fn gatekeeper_files_are_checked_too() {
        let (dir, key) = setup();
        write(dir.path(), "gk/template.yaml", TEMPLATE, Some(&key));
        write(dir.path(), "gk/constraint.yaml", &constraint("need-team", "deny", "team"), Some(&key));
        let toml = "policy_keys = [\"keys/policy.pub\"]\n[gatekeeper]\npaths = [\"gk\"]\n";
        let policies = load(toml, dir.path()).expect("signed Gatekeeper files load");
        assert!(!decide(&policies, &create("apps", hardened_pod())).allowed);

        write(dir.path(), "gk/constraint.yaml", &constraint("need-team", "dryrun", "team"), None);
        let err = load(toml, dir.path()).map(drop).expect_err("an edited constraint is refused").to_string();
        assert!(err.starts_with("gatekeeper: "), "{err}");
        assert!(err.contains("constraint.yaml") && err.contains("does not match"), "{err}");
    }

    #[test]
    fn an_unreadable_key_is_a_config_error() {
        let (dir, key) = setup();
        write(dir.path(), "policies/p.rego", POLICY, Some(&key));
        let err =
            load("policy_keys = [\"keys/missing.pub\"]\n[rego]\npolicies = [\"policies\"]\n", dir.path())
                .map(drop)
                .expect_err("a missing key is an error")
                .to_string();
        assert!(err.contains("policy_keys") && err.contains("missing.pub"), "{err}");
    }
}
