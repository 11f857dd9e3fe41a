//! Pod Security Standards evaluation: check ids, lines, and version-dependent behaviour,
//! on fixtures in `tests/fixtures/pss/`.

use std::path::Path;
use std::sync::Arc;

use kubesecops_checks::pss::{
    self, check_ids, check_metas, evaluate, evaluate_object, findings, Level, Version, NEWEST_MINOR,
};
use kubesecops_core::Severity;
use kubesecops_k8s::loader::load_text;
use kubesecops_k8s::Object;

fn load_fixture(name: &str) -> Vec<Object> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pss").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    load_objects(&format!("fixtures/pss/{name}"), &text)
}

fn load_objects(label: &str, text: &str) -> Vec<Object> {
    let loaded = load_text(Arc::from(label), text);
    assert!(loaded.errors.is_empty(), "{label}: {:?}", loaded.errors);
    loaded.objects
}

fn object<'a>(objects: &'a [Object], name: &str) -> &'a Object {
    objects.iter().find(|o| o.meta.name == name).unwrap_or_else(|| panic!("no object {name}"))
}

fn v(text: &str) -> Version {
    text.parse().unwrap()
}

/// (check id, line) of every violation, in report order.
fn violations(obj: &Object, level: Level, version: &str) -> Vec<(&'static str, u32)> {
    let template = obj.pod_template().expect("pod template");
    evaluate(&template, level, v(version)).iter().map(|x| (x.check, x.pos.line)).collect()
}

#[test]
fn every_baseline_check_is_reported_at_its_field() {
    let objects = load_fixture("baseline-violations.yaml");
    let pod = object(&objects, "everything-wrong");
    let expected = vec![
        ("appArmorProfile", 40),
        ("appArmorProfile", 8),
        ("capabilities_baseline", 42),
        ("hostNamespaces", 11),
        ("hostNamespaces", 12),
        ("hostPathVolumes", 49),
        ("hostPorts", 36),
        ("hostProbesAndHostLifecycle", 45),
        ("privileged", 27),
        ("procMount", 38),
        ("seLinuxOptions", 29),
        ("seLinuxOptions", 30),
        ("seccompProfile_baseline", 15),
        ("sysctls", 19),
        ("windowsHostProcess", 22),
    ];
    assert_eq!(violations(pod, Level::Baseline, "latest"), expected);
    // Host probes are judged from v1.34 only.
    let before: Vec<_> =
        expected.iter().copied().filter(|(id, _)| *id != "hostProbesAndHostLifecycle").collect();
    assert_eq!(violations(pod, Level::Baseline, "v1.33"), before);
    // The privileged level allows anything.
    assert!(violations(pod, Level::Privileged, "latest").is_empty());
}

#[test]
fn columns_and_messages_name_the_field() {
    let objects = load_fixture("baseline-violations.yaml");
    let template = object(&objects, "everything-wrong").pod_template().unwrap();
    let found = evaluate(&template, Level::Baseline, Version::Latest);
    let capability = found.iter().find(|x| x.check == "capabilities_baseline").unwrap();
    assert_eq!((capability.pos.line, capability.pos.column), (42, 24));
    assert_eq!(capability.key, "containers[app].securityContext.capabilities.add[NET_ADMIN]");
    assert!(capability.message.contains("NET_ADMIN") && capability.message.contains("\"app\""));
    let privileged = found.iter().find(|x| x.check == "privileged").unwrap();
    assert_eq!((privileged.pos.line, privileged.pos.column), (27, 7));
    assert_eq!(privileged.key, "initContainers[setup].securityContext.privileged");
}

#[test]
fn restricted_level_adds_its_checks_and_replaces_some_baseline_ones() {
    let objects = load_fixture("restricted.yaml");
    for version in ["v1.0", "v1.8", "v1.19", "v1.22", "v1.25", "v1.35", "latest"] {
        let hardened = object(&objects, "hardened");
        assert_eq!(violations(hardened, Level::Restricted, version), [], "{version}");
    }
    let loose = object(&objects, "loose");
    assert_eq!(loose.kind(), "Deployment");
    assert_eq!(
        violations(loose, Level::Restricted, "latest"),
        [
            ("allowPrivilegeEscalation", 41),
            ("capabilities_restricted", 42),
            ("capabilities_restricted", 43),
            ("restrictedVolumes", 46),
            ("restrictedVolumes", 50),
            ("runAsNonRoot", 41),
            ("runAsUser", 37),
            ("seccompProfile_restricted", 41),
        ]
    );
    // Before v1.22 capabilities_baseline still runs at the restricted level; runAsUser
    // starts at v1.23; hostPathVolumes is always replaced by restrictedVolumes.
    assert_eq!(
        violations(loose, Level::Restricted, "v1.21"),
        [
            ("capabilities_baseline", 43),
            ("allowPrivilegeEscalation", 41),
            ("restrictedVolumes", 46),
            ("restrictedVolumes", 50),
            ("runAsNonRoot", 41),
            ("seccompProfile_restricted", 41),
        ]
    );
    // allowPrivilegeEscalation starts at v1.8, seccompProfile_restricted at v1.19.
    assert_eq!(
        violations(loose, Level::Restricted, "v1.7"),
        [
            ("capabilities_baseline", 43),
            ("restrictedVolumes", 46),
            ("restrictedVolumes", 50),
            ("runAsNonRoot", 41)
        ]
    );
    assert_eq!(
        violations(loose, Level::Baseline, "latest"),
        [("capabilities_baseline", 43), ("hostPathVolumes", 50)]
    );
}

#[test]
fn safe_sysctls_grow_with_the_version() {
    let objects = load_fixture("sysctls.yaml");
    let pod = object(&objects, "tuned");
    let lines = |version: &str| -> Vec<u32> {
        violations(pod, Level::Baseline, version)
            .into_iter()
            .map(|(id, line)| {
                assert_eq!(id, "sysctls");
                line
            })
            .collect()
    };
    assert_eq!(lines("v1.26"), [9, 11, 13, 15]);
    assert_eq!(lines("v1.27"), [11, 13, 15]);
    assert_eq!(lines("v1.28"), [11, 13, 15]);
    assert_eq!(lines("v1.29"), [13, 15]);
    assert_eq!(lines("v1.32"), [15]);
    assert_eq!(lines("v1.36"), [15]);
    assert_eq!(lines("v1.37"), Vec::<u32>::new());
    assert_eq!(lines("latest"), Vec::<u32>::new());
}

#[test]
fn seccomp_annotations_count_before_v1_19_only() {
    let objects = load_fixture("versions.yaml");
    let pod = object(&objects, "annotated");
    assert_eq!(violations(pod, Level::Baseline, "v1.18"), [("seccompProfile_baseline", 7)]);
    assert_eq!(violations(pod, Level::Baseline, "v1.19"), []);
}

#[test]
fn windows_pods_are_exempt_from_linux_only_restricted_checks_from_v1_25() {
    let objects = load_fixture("versions.yaml");
    let pod = object(&objects, "windows");
    assert_eq!(
        violations(pod, Level::Restricted, "v1.24"),
        [
            ("allowPrivilegeEscalation", 24),
            ("capabilities_restricted", 24),
            ("seccompProfile_restricted", 24)
        ]
    );
    assert_eq!(violations(pod, Level::Restricted, "v1.25"), []);
}

#[test]
fn user_namespaces_relax_root_and_proc_checks_from_v1_35() {
    let objects = load_fixture("versions.yaml");
    let pod = object(&objects, "userns");
    // container_engine_t became an allowed SELinux type at v1.31.
    assert_eq!(violations(pod, Level::Baseline, "v1.30"), [("procMount", 43), ("seLinuxOptions", 47)]);
    assert_eq!(violations(pod, Level::Baseline, "v1.34"), [("procMount", 43)]);
    assert_eq!(violations(pod, Level::Baseline, "v1.35"), []);
    assert_eq!(
        violations(pod, Level::Restricted, "v1.34"),
        [("procMount", 43), ("runAsNonRoot", 41), ("runAsUser", 35)]
    );
    assert_eq!(violations(pod, Level::Restricted, "v1.35"), [("procMount_restricted", 43)]);
}

#[test]
fn host_network_pods_get_host_ports_but_templates_do_not() {
    let objects = load_fixture("versions.yaml");
    let pod = object(&objects, "host-network");
    assert_eq!(violations(pod, Level::Baseline, "latest"), [("hostNamespaces", 55), ("hostPorts", 60)]);
    let deployment = load_objects(
        "inline.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      \
         hostNetwork: true\n      containers:\n      - name: app\n        ports: [{containerPort: 9100}]\n",
    );
    assert_eq!(violations(&deployment[0], Level::Baseline, "latest"), [("hostNamespaces", 7)]);
}

#[test]
fn yaml_typing_is_what_the_api_server_sees() {
    let objects = load_objects(
        "inline.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostIPC: \"true\"\n  hostPID: on\n  \
         containers:\n  - name: a\n    securityContext: {privileged: 'true', procMount: null}\n",
    );
    // A quoted "true" is a string, not a bool; `on` is YAML 1.1 true; null is unset.
    assert_eq!(violations(&objects[0], Level::Baseline, "latest"), [("hostNamespaces", 6)]);
}

#[test]
fn versions_after_the_newest_known_behave_as_latest() {
    let objects = load_fixture("baseline-violations.yaml");
    let pod = object(&objects, "everything-wrong");
    assert_eq!(violations(pod, Level::Restricted, "v1.99"), violations(pod, Level::Restricted, "latest"));
    assert_eq!(Version::Minor(99).effective_minor(), NEWEST_MINOR);
    assert_eq!(check_ids(Level::Baseline, Version::Minor(0)).len(), 11);
    assert!(check_ids(Level::Privileged, Version::Latest).is_empty());
    let restricted = check_ids(Level::Restricted, Version::Latest);
    for replaced in ["capabilities_baseline", "hostPathVolumes", "procMount", "seccompProfile_baseline"] {
        assert!(!restricted.contains(&replaced), "{replaced}");
    }
    assert_eq!(
        pss::replaced_by("hostPathVolumes", Level::Restricted, Version::Minor(0)),
        Some("restrictedVolumes")
    );
    assert_eq!(pss::replaced_by("capabilities_baseline", Level::Restricted, Version::Minor(21)), None);
    assert_eq!(pss::replaced_by("hostPathVolumes", Level::Baseline, Version::Latest), None);
}

#[test]
fn levels_and_versions_parse_or_explain() {
    assert_eq!("Restricted".parse::<Level>().unwrap(), Level::Restricted);
    assert_eq!("BASELINE".parse::<Level>().unwrap(), Level::Baseline);
    assert!("strict".parse::<Level>().unwrap_err().to_string().contains("strict"));
    assert_eq!(v("v1.30"), Version::Minor(30));
    assert_eq!(v("1.0"), Version::Minor(0));
    assert_eq!(v("latest"), Version::Latest);
    for bad in ["v2.1", "v1.", "v1.030", "1.30.1", "v1.x", "", "v1.-1"] {
        let err = bad.parse::<Version>().unwrap_err();
        assert!(err.to_string().contains("v1.N"), "{bad}: {err}");
    }
    assert_eq!(Version::Minor(7).to_string(), "v1.7");
}

#[test]
fn results_serialise_with_the_documented_keys() {
    let objects = load_fixture("restricted.yaml");
    let result = evaluate_object(object(&objects, "loose"), Level::Baseline, Version::Latest).unwrap();
    assert!(!result.allowed);
    assert_eq!(result.failed_checks(), ["capabilities_baseline", "hostPathVolumes"]);
    let json = serde_json::to_value(&result).unwrap();
    let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["allowed", "kind", "line", "name", "namespace", "path", "violations"]);
    assert_eq!(json["path"], "fixtures/pss/restricted.yaml");
    assert_eq!(json["name"], "loose");
    assert_eq!(json["line"], 26);
    let first = json["violations"][0].as_object().unwrap();
    assert_eq!(first.keys().collect::<Vec<_>>(), ["check", "message"]);
    assert_eq!(first["check"], "capabilities_baseline");

    let clean = evaluate_object(object(&objects, "hardened"), Level::Restricted, Version::Latest).unwrap();
    let json = serde_json::to_value(&clean).unwrap();
    assert_eq!(json["allowed"], true);
    assert!(json.get("namespace").is_none(), "empty namespace is left out");

    let not_a_pod =
        load_objects("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {}\n");
    assert!(evaluate_object(&not_a_pod[0], Level::Restricted, Version::Latest).is_none());
    assert!(findings(&not_a_pod[0], Level::Restricted, Version::Latest).is_empty());
}

#[test]
fn findings_carry_rule_ids_severities_and_stable_fingerprints() {
    let objects = load_fixture("restricted.yaml");
    let loose = object(&objects, "loose");
    let found = findings(loose, Level::Restricted, Version::Latest);
    let ids: Vec<_> = found.iter().map(|f| f.rule.id.as_str()).collect();
    assert_eq!(ids[0], "KSO-PSS-allowPrivilegeEscalation");
    assert!(found.iter().all(|f| f.severity == Severity::Medium));
    let volume = found.iter().find(|f| f.rule.id == "KSO-PSS-restrictedVolumes").unwrap();
    assert_eq!(volume.location.line, Some(46));
    assert_eq!(volume.object.as_ref().unwrap().name, "loose");
    let baseline = findings(loose, Level::Baseline, Version::Latest);
    assert!(baseline.iter().all(|f| f.severity == Severity::High));
    assert_eq!(baseline[0].rule.title, "Pod Security Standards: non-default capability added");

    // Moving the object down the file changes lines, not fingerprints.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pss/restricted.yaml"),
    )
    .unwrap();
    let shifted = load_objects("fixtures/pss/restricted.yaml", &format!("\n\n\n{text}"));
    let moved = findings(object(&shifted, "loose"), Level::Restricted, Version::Latest);
    assert_eq!(moved.len(), found.len());
    for (a, b) in found.iter().zip(&moved) {
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.location.line.unwrap() + 3, b.location.line.unwrap());
    }
    let mut prints: Vec<_> = found.iter().map(|f| &f.fingerprint).collect();
    prints.sort();
    prints.dedup();
    assert_eq!(prints.len(), found.len(), "each violation has its own fingerprint");
}

#[test]
fn every_check_is_documented() {
    let metas = check_metas();
    assert_eq!(metas.len(), pss::all_check_ids().count());
    for (meta, id) in metas.iter().zip(pss::all_check_ids()) {
        assert_eq!(meta.id, format!("KSO-PSS-{id}"));
        for heading in ["## What it checks", "## Why it matters", "## Example", "## Fix", "## References"] {
            assert!(meta.doc.contains(heading), "{}: no {heading}", meta.id);
        }
        assert!(std::ptr::eq(pss::check_meta(id).unwrap(), *meta));
    }
}
