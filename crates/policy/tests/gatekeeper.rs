//! Gatekeeper templates and constraints, and `gator verify` suites, with the project's own
//! example template.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kubesecops_core::Severity;
use kubesecops_k8s::loader::load_text;
use kubesecops_k8s::Object;
use kubesecops_policy::verify::run_suites;
use kubesecops_policy::{Gatekeeper, Inventory, PolicyOptions, PolicySet};

/// Requires the labels named in `parameters.labels`.
const LABELS_TEMPLATE: &str = r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: orgrequiredlabels
  annotations:
    metadata.gatekeeper.sh/title: "Required labels"
spec:
  crd:
    spec:
      names:
        kind: OrgRequiredLabels
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package orgrequiredlabels

        import data.lib.labels.present

        violation[{"msg": msg, "details": {"missing": missing}}] {
          required := {l | l := input.parameters.labels[_]}
          missing := required - present(input.review.object)
          count(missing) > 0
          msg := sprintf("%s %s lacks labels %v", [input.review.kind.kind, input.review.name, sort(missing)])
        }
      libs:
        - |
          package lib.labels

          present(obj) = {k | obj.metadata.labels[k]}
"#;

/// Two objects of a kind may not share a name across namespaces (uses `data.inventory`).
const UNIQUE_TEMPLATE: &str = r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: orguniquename
spec:
  crd:
    spec:
      names:
        kind: OrgUniqueName
  targets:
    - target: admission.k8s.gatekeeper.sh
      code:
        - engine: K8sNativeValidation
          source:
            validations: []
        - engine: Rego
          source:
            rego: |
              package orguniquename

              violation[{"msg": msg}] {
                other := data.inventory.namespace[ns][_][input.review.kind.kind][input.review.name]
                ns != input.review.namespace
                msg := sprintf("name %s is also used in namespace %s", [input.review.name, ns])
              }
"#;

const CONSTRAINTS: &str = "apiVersion: constraints.gatekeeper.sh/v1beta1
kind: OrgRequiredLabels
metadata:
  name: need-owner
spec:
  match:
    kinds:
      - apiGroups: [\"\", \"apps\"]
        kinds: [Pod, Deployment]
    excludedNamespaces: [kube-*]
    namespaceSelector:
      matchLabels: {team: shop}
  parameters:
    labels: [owner]
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: OrgRequiredLabels
metadata:
  name: need-tier-dryrun
spec:
  enforcementAction: dryrun
  match:
    kinds:
      - apiGroups: [\"*\"]
        kinds: [\"*\"]
    namespaces: [shop]
    labelSelector:
      matchExpressions:
        - {key: app, operator: Exists}
  parameters:
    labels: [tier]
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: OrgUniqueName
metadata:
  name: unique-pods
spec:
  enforcementAction: warn
  match:
    kinds:
      - apiGroups: [\"\"]
        kinds: [Pod]
";

const OBJECTS: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {team: shop}
---
apiVersion: v1
kind: Namespace
metadata:
  name: lab
  labels: {team: lab}
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  containers: [{name: a, image: a}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: lab
spec:
  containers: [{name: a, image: a}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
  labels: {owner: me, tier: back, app: api}
spec: {}
";

fn objects(label: &str, text: &str) -> Vec<Object> {
    let loaded = load_text(Arc::from(label), text);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    loaded.objects
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

#[test]
fn constraints_match_and_set_severity() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "labels-template.yaml", LABELS_TEMPLATE);
    write(dir.path(), "unique-template.yaml", UNIQUE_TEMPLATE);
    write(dir.path(), "constraints.yaml", CONSTRAINTS);
    let mut set =
        PolicySet::load(&PolicyOptions { policy_paths: vec![dir.path().into()], ..Default::default() })
            .unwrap();
    assert_eq!(set.gatekeeper().constraints().len(), 3);
    let objs = objects("app.yaml", OBJECTS);
    let errors = set.set_inventory(Inventory::from_objects(&objs));
    assert!(errors.is_empty(), "{errors:?}");

    // shop/web: no owner (deny, HIGH), no tier (dryrun, LOW), name also used in lab (warn).
    let (mut findings, errors) = set.evaluate(&objs[2]);
    assert!(errors.is_empty(), "{errors:?}");
    findings.sort_by(|a, b| a.rule.id.cmp(&b.rule.id));
    let summary: Vec<_> =
        findings.iter().map(|f| (f.rule.id.as_str(), f.severity, f.message.as_str())).collect();
    assert_eq!(
        summary,
        [
            ("OrgRequiredLabels/need-owner", Severity::High, "Pod web lacks labels [\"owner\"]"),
            (
                "OrgRequiredLabels/need-tier-dryrun",
                Severity::Low,
                "Pod web lacks labels [\"tier\"] (enforcementAction: dryrun)"
            ),
            (
                "OrgUniqueName/unique-pods",
                Severity::Medium,
                "name web is also used in namespace lab (enforcementAction: warn)"
            ),
        ]
    );
    assert_eq!(findings[0].rule.title, "Required labels");
    assert_eq!(findings[0].location.line, Some(13));

    // lab/web: namespace not selected by team=shop, not in `shop`; only the unique name.
    let (findings, _) = set.evaluate(&objs[3]);
    let ids: Vec<_> = findings.iter().map(|f| f.rule.id.as_str()).collect();
    assert_eq!(ids, ["OrgUniqueName/unique-pods"]);

    // The Deployment has every label; Namespaces are not Pods or Deployments and have no
    // `app` label.
    for obj in [&objs[0], &objs[1], &objs[4]] {
        let (findings, errors) = set.evaluate(obj);
        assert!(findings.is_empty() && errors.is_empty(), "{findings:?} {errors:?}");
    }
}

#[test]
fn namespace_selector_without_namespace_object_is_an_error() {
    let mut gk = Gatekeeper::new(Duration::from_secs(2));
    let mut errors = gk.add_objects(&objects("t.yaml", LABELS_TEMPLATE));
    errors.extend(gk.add_objects(&objects("c.yaml", CONSTRAINTS)));
    assert!(errors.is_empty(), "{errors:?}");
    let pod =
        objects("p.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ghost}\nspec: {}\n");
    let errors = gk.set_inventory(Inventory::from_objects(&pod));
    assert_eq!(errors.len(), 1, "the OrgUniqueName template is missing: {errors:?}");
    let (findings, errors) = gk.evaluate(&pod[0]);
    assert!(findings.is_empty());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("Namespace ghost"), "{}", errors[0].message);
}

#[test]
fn template_errors_point_into_the_template_file() {
    let broken = LABELS_TEMPLATE.replace("count(missing) > 0", "count(missing) > 0 ]");
    let mut gk = Gatekeeper::new(Duration::from_secs(2));
    let errors = gk.add_objects(&objects("broken.yaml", &broken));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, "broken.yaml");
    let line = errors[0].line.unwrap();
    assert_eq!(line, 22, "the line of `count(missing) > 0 ]` in the file: {errors:?}");
    let cel_only = UNIQUE_TEMPLATE.replace("engine: Rego", "engine: Other");
    let errors = gk.add_objects(&objects("cel.yaml", &cel_only));
    assert!(errors[0].message.contains("no Rego code"), "{errors:?}");
}

#[test]
fn verify_runs_gator_suites() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "template.yaml", LABELS_TEMPLATE);
    write(
        d,
        "samples/constraint.yaml",
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: OrgRequiredLabels\nmetadata: {name: owner}\nspec:\n  match:\n    kinds: [{apiGroups: [\"\"], kinds: [Pod]}]\n  parameters: {labels: [owner, team]}\n",
    );
    write(
        d,
        "samples/ok.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ok, labels: {owner: a, team: b}}\n",
    );
    write(d, "samples/bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\n");
    write(d, "samples/svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: svc}\n");
    write(
        d,
        "samples/delete.yaml",
        "apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\nrequest:\n  operation: DELETE\n  name: gone\n  kind: {group: \"\", version: v1, kind: Pod}\n  oldObject:\n    apiVersion: v1\n    kind: Pod\n    metadata: {name: gone}\n",
    );
    write(
        d,
        "suite.yaml",
        "kind: Suite\napiVersion: test.gatekeeper.sh/v1alpha1\ntests:\n- name: owner\n  template: template.yaml\n  constraint: samples/constraint.yaml\n  cases:\n  - name: allowed\n    object: samples/ok.yaml\n    assertions: [{violations: no}]\n  - name: disallowed\n    object: samples/bad.yaml\n    assertions:\n    - violations: 1\n    - message: owner\n    - message: nothing-like-this\n      violations: 0\n  - name: other-kind\n    object: samples/svc.yaml\n    assertions: [{violations: no}]\n  - name: delete-review\n    object: samples/delete.yaml\n    assertions: [{violations: yes, message: gone}]\n  - name: wrong-expectation\n    object: samples/ok.yaml\n    assertions: [{violations: yes}]\n",
    );
    let run = run_suites(&[d.to_path_buf()], Duration::from_secs(2));
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    let verdicts: Vec<_> = run.results.iter().map(|r| (r.case.as_str(), r.pass)).collect();
    assert_eq!(
        verdicts,
        [
            ("allowed", true),
            ("disallowed", true),
            ("other-kind", true),
            ("delete-review", true),
            ("wrong-expectation", false)
        ]
    );
    assert!(!run.passed());
    assert!(run.results[4].message.as_ref().unwrap().contains("0 matching"));
}
