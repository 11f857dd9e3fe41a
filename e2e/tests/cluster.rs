//! Live cluster audit and RBAC privilege paths against the real test cluster (`cluster_*`:
//! run by `.ci/e2e cluster cluster_`, inside the kso-node network namespace).
//!
//! Scenario (namespaces `e2e-cluster` and `e2e-cluster-b`, cluster objects prefixed
//! `e2e-cluster-`): a cluster-admin service account `e2e-cluster/admin-bot`, and subjects
//! that reach it in different ways (pods, impersonation, token Secrets, token requests) or
//! not at all. Everything is deleted at the end, also when a test fails.

use std::collections::BTreeSet;
use std::process::Output;

use kubesecops_e2e::{kubesecops, require, Cluster};
use serde_json::Value;

const SCENARIO: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: e2e-cluster}
---
apiVersion: v1
kind: Namespace
metadata: {name: e2e-cluster-b}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: admin-bot, namespace: e2e-cluster}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: e2e-cluster-b}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-cluster-admin-bot}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: admin-bot, namespace: e2e-cluster}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-cluster-pod-maker}
rules:
- {apiGroups: [""], resources: [pods], verbs: [create, get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci-pods, namespace: e2e-cluster}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-cluster-pod-maker}
subjects:
- {kind: User, name: e2e-ci, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dev-pods, namespace: e2e-cluster-b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-cluster-pod-maker}
subjects:
- {kind: User, name: e2e-dev, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-cluster-impersonate-ci}
rules:
- {apiGroups: [""], resources: [users], verbs: [impersonate], resourceNames: [e2e-ci]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-cluster-auditors}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-cluster-impersonate-ci}
subjects:
- {kind: Group, name: e2e-auditors, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: secret-reader, namespace: e2e-cluster}
rules:
- {apiGroups: [""], resources: [secrets], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: e2e-cluster}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: secret-reader}
subjects:
- {kind: User, name: e2e-reader, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: token-maker, namespace: e2e-cluster}
rules:
- {apiGroups: [""], resources: [serviceaccounts/token], verbs: [create], resourceNames: [admin-bot]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: tokener, namespace: e2e-cluster}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: token-maker}
subjects:
- {kind: User, name: e2e-tokener, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: e2e-cluster-aggregated
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {e2e-cluster/aggregate: "true"}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: e2e-cluster-part
  labels: {e2e-cluster/aggregate: "true"}
rules:
- {apiGroups: [apps], resources: [deployments], verbs: [get, list, delete]}
- {apiGroups: [""], resources: [pods/log], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: aggregated, namespace: e2e-cluster-b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-cluster-aggregated}
subjects:
- {kind: ServiceAccount, name: web}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: e2e-cluster-b}
spec:
  replicas: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.invalid/web:1.0
        securityContext: {privileged: true}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: quiet, namespace: e2e-cluster}
spec:
  replicas: 0
  selector: {matchLabels: {app: quiet}}
  template:
    metadata: {labels: {app: quiet}}
    spec:
      serviceAccountName: admin-bot
      automountServiceAccountToken: false
      containers:
      - name: app
        image: registry.invalid/app:1.0
"#;

/// Deletes the scenario when dropped.
struct Scenario(Cluster);

impl Scenario {
    fn apply(cluster: &Cluster) -> Scenario {
        cluster.wait_namespaces_gone(&["e2e-cluster", "e2e-cluster-b"]);
        let guard = Scenario(cluster.clone());
        let out = cluster.apply(SCENARIO);
        assert!(out.status.success(), "apply: {}", String::from_utf8_lossy(&out.stderr));
        // The token controller creates the legacy token Secret of admin-bot (v1.20).
        for _ in 0..60 {
            let secrets = cluster.kubectl_ok(&["get", "secrets", "-n", "e2e-cluster", "-o", "name"]);
            if secrets.contains("admin-bot-token") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        guard
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        for kind in ["clusterrolebinding", "clusterrole"] {
            let names = self.0.kubectl(&["get", kind, "-o", "name"]);
            for name in String::from_utf8_lossy(&names.stdout).lines().filter(|n| n.contains("/e2e-cluster-"))
            {
                let _ = self.0.kubectl(&["delete", name, "--wait=false"]);
            }
        }
        let _ = self.0.kubectl(&[
            "delete",
            "namespace",
            "e2e-cluster",
            "e2e-cluster-b",
            "e2e-cluster-limited",
            "--wait=false",
            "--ignore-not-found",
        ]);
    }
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn context(cluster: &Cluster) -> String {
    cluster.kubectl_ok(&["config", "current-context"]).trim().to_string()
}

#[test]
#[ignore = "end-to-end: .ci/e2e"]
fn cluster_cluster_scan_reports_live_objects_and_paths() {
    let Some(cluster) = Cluster::require() else { return };
    let _scenario = Scenario::apply(&cluster);
    let kubeconfig = cluster.kubeconfig.display().to_string();
    let out = kubesecops()
        .args(["cluster", "scan", "--kubeconfig", &kubeconfig, "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c < 2),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    let ctx = context(&cluster);
    assert_eq!(report["cluster"]["context"], ctx.as_str());
    assert_eq!(report["cluster"]["partial"], false, "admin sees everything: {}", report["cluster"]);
    let findings = report["findings"].as_array().unwrap();
    let expected_path = format!("cluster://{ctx}");
    for f in findings {
        assert_eq!(f["location"]["path"], expected_path.as_str());
        assert!(f["location"].get("line").is_none(), "live findings have no line: {f}");
    }
    let has = |rule: &str, kind: &str, ns: &str, name: &str, text: &str| {
        findings.iter().any(|f| {
            f["rule"]["id"] == rule
                && f["object"]["kind"] == kind
                && f["object"]["namespace"].as_str().unwrap_or("") == ns
                && f["object"]["name"] == name
                && f["message"].as_str().unwrap_or("").contains(text)
        })
    };
    assert!(
        has("KSO-C001", "Deployment", "e2e-cluster-b", "web", ""),
        "privileged container on the live Deployment"
    );
    assert!(has(
        "KSO-R016",
        "RoleBinding",
        "e2e-cluster",
        "ci-pods",
        "User:e2e-ci can become cluster-admin in 2 step(s)"
    ));
    assert!(has(
        "KSO-R016",
        "ClusterRoleBinding",
        "",
        "e2e-cluster-auditors",
        "Group:e2e-auditors can become cluster-admin in 3 step(s)"
    ));
    assert!(has(
        "KSO-R016",
        "RoleBinding",
        "e2e-cluster",
        "reader",
        "User:e2e-reader can become cluster-admin in 2 step(s)"
    ));
    assert!(has(
        "KSO-R016",
        "RoleBinding",
        "e2e-cluster",
        "tokener",
        "User:e2e-tokener can become cluster-admin in 2 step(s)"
    ));
    let dev = findings.iter().any(|f| f["message"].as_str().unwrap_or("").contains("User:e2e-dev"));
    assert!(!dev, "e2e-dev creates pods where no powerful account lives");
    assert!(has("KSO-N007", "Namespace", "", "e2e-cluster-b", ""), "namespace without NetworkPolicy");
    let token_secret = findings.iter().any(|f| {
        f["rule"]["id"] == "KSO-K001"
            && f["object"]["namespace"] == "e2e-cluster"
            && f["object"]["name"].as_str().unwrap_or("").starts_with("admin-bot-token-")
    });
    assert!(token_secret, "legacy token Secret of admin-bot");
    assert!(
        findings.iter().any(|f| f["rule"]["id"] == "KSO-K003" && f["object"]["kind"] == "Node"),
        "the v1.20.2 kubelet is vulnerable"
    );
    assert!(has("KSO-W003", "Deployment", "e2e-cluster-b", "web", ""), "web runs as the default account");
    // Pods and ReplicaSets of Deployments are not reported twice.
    assert!(!findings.iter().any(|f| f["object"]["kind"] == "ReplicaSet"));
}

#[test]
#[ignore = "end-to-end: .ci/e2e"]
fn cluster_rbac_paths_match_the_scenario() {
    let Some(cluster) = Cluster::require() else { return };
    let _scenario = Scenario::apply(&cluster);
    let kubeconfig = cluster.kubeconfig.display().to_string();
    let out = kubesecops()
        .args(["rbac", "paths", "--kubeconfig", &kubeconfig, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report = json(&out);
    let paths = report["paths"].as_array().unwrap();
    let find = |kind: &str, name: &str, ns: &str| {
        paths.iter().find(|p| {
            p["subject"]["kind"] == kind
                && p["subject"]["name"] == name
                && p["subject"]["namespace"].as_str().unwrap_or("") == ns
        })
    };
    let actions = |p: &Value| -> Vec<String> {
        p["steps"].as_array().unwrap().iter().map(|s| s["action"].as_str().unwrap().to_string()).collect()
    };
    let bot = find("ServiceAccount", "admin-bot", "e2e-cluster").expect("admin-bot listed");
    assert_eq!(bot["direct"], true);
    assert_eq!(bot["steps"][0]["via"]["name"], "e2e-cluster-admin-bot");
    let ci = find("User", "e2e-ci", "").expect("e2e-ci has a path");
    assert_eq!(actions(ci), ["create-pod", "bound"]);
    assert_eq!(
        ci["steps"][0]["via"],
        serde_json::json!({"kind": "RoleBinding", "name": "ci-pods", "namespace": "e2e-cluster"})
    );
    let auditors = find("Group", "e2e-auditors", "").expect("auditors have a path");
    assert_eq!(actions(auditors), ["impersonate", "create-pod", "bound"]);
    assert_eq!(actions(find("User", "e2e-reader", "").expect("reader")), ["read-token-secret", "bound"]);
    assert_eq!(actions(find("User", "e2e-tokener", "").expect("tokener")), ["create-token", "bound"]);
    assert!(find("User", "e2e-dev", "").is_none());
    assert!(find("ServiceAccount", "web", "e2e-cluster-b").is_none());

    // --from and --to SUBJECT, dot output.
    let out = kubesecops()
        .args([
            "rbac",
            "paths",
            "--kubeconfig",
            &kubeconfig,
            "--to",
            "ServiceAccount:e2e-cluster/admin-bot",
            "--from",
            "Group:e2e-auditors",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let report = json(&out);
    let only = report["paths"].as_array().unwrap();
    assert_eq!(only.len(), 1, "{report}");
    assert_eq!(only[0]["target"], "ServiceAccount:e2e-cluster/admin-bot");
    assert_eq!(only[0]["steps"].as_array().unwrap().len(), 2);
    let dot = kubesecops()
        .args(["rbac", "paths", "--kubeconfig", &kubeconfig, "--format", "dot"])
        .output()
        .unwrap();
    let dot = String::from_utf8_lossy(&dot.stdout);
    assert!(
        dot.starts_with("digraph")
            && dot.contains("\"User:e2e-ci\" -> \"ServiceAccount:e2e-cluster/admin-bot\""),
        "{dot}"
    );
}

/// Groups a subject carries, as the API server adds them to an impersonated identity.
fn identity(subject: &str) -> (String, Vec<String>) {
    if let Some(rest) = subject.strip_prefix("ServiceAccount:") {
        let (ns, name) = rest.split_once('/').unwrap();
        let user = format!("system:serviceaccount:{ns}:{name}");
        (
            user,
            vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{ns}"),
                "system:authenticated".into(),
            ],
        )
    } else if let Some(rest) = subject.strip_prefix("User:") {
        let (name, groups) = rest.split_once('+').unwrap_or((rest, ""));
        let mut groups: Vec<String> =
            groups.split('+').filter(|g| !g.is_empty()).map(str::to_string).collect();
        groups.push("system:authenticated".into());
        (name.to_string(), groups)
    } else {
        unreachable!()
    }
}

#[test]
#[ignore = "end-to-end: .ci/e2e"]
fn cluster_rbac_who_can_agrees_with_kubectl_auth_can_i() {
    let Some(cluster) = Cluster::require() else { return };
    let _scenario = Scenario::apply(&cluster);
    let kubeconfig = cluster.kubeconfig.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("snapshot.json");
    let out = kubesecops()
        .args(["cluster", "snapshot", "--kubeconfig", &kubeconfig, "-o", snapshot.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&snapshot).unwrap();
    assert!(text.contains("admin-bot-token"), "the snapshot holds the token Secret");
    // Secret values are removed: every data value is empty.
    let parsed: Value = serde_json::from_str(&text).unwrap();
    for item in parsed["items"].as_array().unwrap() {
        if item["kind"] == "Secret" {
            for (_, v) in item["data"].as_object().into_iter().flatten() {
                assert_eq!(v, "", "secret value left in the snapshot");
            }
        }
    }
    // `scan` reads the snapshot like any manifest.
    let scan = kubesecops().args(["scan", snapshot.to_str().unwrap(), "--format", "json"]).output().unwrap();
    let scan_report = json(&scan);
    assert!(scan_report["findings"].as_array().unwrap().iter().any(|f| f["rule"]["id"] == "KSO-R016"));

    // Subjects: users (with groups after `+`) and service accounts.
    let subjects = [
        "User:e2e-ci",
        "User:e2e-reader",
        "User:e2e-dev",
        "User:e2e-tokener",
        "User:someone+e2e-auditors",
        "ServiceAccount:e2e-cluster/admin-bot",
        "ServiceAccount:e2e-cluster-b/web",
    ];
    let verbs = ["get", "list", "create", "delete", "impersonate"];
    let resources = [
        ("pods", ""),
        ("secrets", ""),
        ("deployments.apps", ""),
        ("serviceaccounts", "token"),
        ("pods", "log"),
        ("users", ""),
        ("clusterroles.rbac.authorization.k8s.io", ""),
    ];
    let namespaces = ["e2e-cluster", "e2e-cluster-b", ""];
    // Our decisions from who-can, then the API server's for the same cells: one
    // SubjectAccessReview per cell (what `kubectl auth can-i --as` asks), sent in one
    // `kubectl create`, plus a sample of real `kubectl auth can-i --as` calls.
    let mut cells = Vec::new();
    for (resource, sub) in resources {
        for verb in verbs {
            for ns in namespaces {
                let mut args =
                    vec!["rbac", "who-can", verb, resource, snapshot.to_str().unwrap(), "--format", "json"];
                if !ns.is_empty() {
                    args.extend(["-n", ns]);
                }
                if !sub.is_empty() {
                    args.extend(["--subresource", sub]);
                }
                let out = kubesecops().args(&args).output().unwrap();
                let report = json(&out);
                let allowed: BTreeSet<(String, String, String)> = report["subjects"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| {
                        (
                            s["kind"].as_str().unwrap().to_string(),
                            s["name"].as_str().unwrap().to_string(),
                            s["namespace"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect();
                for subject in subjects {
                    let (user, groups) = identity(subject);
                    let ours = allowed.contains(&("User".into(), user.clone(), String::new()))
                        || groups
                            .iter()
                            .any(|g| allowed.contains(&("Group".into(), g.clone(), String::new())))
                        || user
                            .strip_prefix("system:serviceaccount:")
                            .and_then(|r| r.split_once(':'))
                            .is_some_and(|(n, s)| {
                                allowed.contains(&("ServiceAccount".into(), s.to_string(), n.to_string()))
                            });
                    cells.push((subject, user, groups, verb, resource, sub, ns, ours));
                }
            }
        }
    }
    let reviews: Vec<Value> = cells
        .iter()
        .map(|(_, user, groups, verb, resource, sub, ns, _)| {
            let (group, plural) = match resource.split_once('.') {
                Some((r, g)) => (g, r),
                None => ("", *resource),
            };
            serde_json::json!({
                "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "spec": {"user": user, "groups": groups, "resourceAttributes": {
                    "verb": verb, "group": group, "resource": plural, "subresource": sub, "namespace": ns}}
            })
        })
        .collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": reviews});
    let dir_reviews = dir.path().join("reviews.json");
    std::fs::write(&dir_reviews, list.to_string()).unwrap();
    let answers = cluster.kubectl_ok(&["create", "-f", dir_reviews.to_str().unwrap(), "-o", "json"]);
    // kubectl prints a List, or (older versions) one document per object.
    let docs: Vec<Value> =
        serde_json::Deserializer::from_str(&answers).into_iter::<Value>().map(Result::unwrap).collect();
    let answers: Vec<Value> = docs
        .into_iter()
        .flat_map(|d| d["items"].as_array().cloned().unwrap_or_else(|| vec![d.clone()]))
        .collect();
    assert_eq!(answers.len(), cells.len());
    let mut mismatches = Vec::new();
    for (cell, answer) in cells.iter().zip(&answers) {
        let (subject, _, _, verb, resource, sub, ns, ours) = cell;
        let theirs = answer["status"]["allowed"].as_bool().unwrap_or(false);
        if *ours != theirs {
            mismatches.push(format!(
                "{subject} {verb} {resource}/{sub} ns={ns:?}: ours {ours}, API server {theirs}"
            ));
        }
    }
    let checked = cells.len();
    // A sample through `kubectl auth can-i --as` itself (impersonation adds the groups).
    let mut sampled = 0;
    for (subject, user, groups, verb, resource, sub, ns, ours) in cells.iter().step_by(17) {
        let mut kargs = vec![
            "auth".to_string(),
            "can-i".into(),
            verb.to_string(),
            resource.to_string(),
            format!("--as={user}"),
        ];
        for g in groups.iter().filter(|g| !g.starts_with("system:")) {
            kargs.push(format!("--as-group={g}"));
        }
        if !sub.is_empty() {
            kargs.push(format!("--subresource={sub}"));
        }
        if ns.is_empty() {
            kargs.push("--all-namespaces".into());
        } else {
            kargs.push(format!("--namespace={ns}"));
        }
        let kargs: Vec<&str> = kargs.iter().map(String::as_str).collect();
        let answer = cluster.kubectl(&kargs);
        let theirs = String::from_utf8_lossy(&answer.stdout).trim() == "yes";
        sampled += 1;
        if *ours != theirs {
            mismatches.push(format!(
                "can-i: {subject} {verb} {resource}/{sub} ns={ns:?}: ours {ours}, kubectl {theirs}"
            ));
        }
    }
    eprintln!("sampled {sampled} decisions through kubectl auth can-i --as");
    eprintln!("who-can vs kubectl auth can-i: {checked} decisions, {} mismatches", mismatches.len());
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    assert!(checked >= 500);

    // The live form gives the same answer as the snapshot.
    let live = kubesecops()
        .args([
            "rbac",
            "who-can",
            "create",
            "pods",
            "-n",
            "e2e-cluster",
            "--kubeconfig",
            &kubeconfig,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let offline = kubesecops()
        .args([
            "rbac",
            "who-can",
            "create",
            "pods",
            "-n",
            "e2e-cluster",
            snapshot.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(json(&live)["subjects"], json(&offline)["subjects"]);
    assert!(json(&live)["subjects"].as_array().unwrap().iter().any(|s| s["name"] == "e2e-ci"));
}

#[test]
#[ignore = "end-to-end: .ci/e2e"]
fn cluster_cluster_scan_with_limited_rights_is_partial() {
    let Some(cluster) = Cluster::require() else { return };
    let _scenario = Scenario::apply(&cluster);
    // A service account that may read pods in one namespace only.
    let limited = r#"
apiVersion: v1
kind: Namespace
metadata: {name: e2e-cluster-limited}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: viewer, namespace: e2e-cluster-limited}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pods, namespace: e2e-cluster-limited}
rules:
- {apiGroups: [""], resources: [pods], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewer, namespace: e2e-cluster-limited}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pods}
subjects:
- {kind: ServiceAccount, name: viewer}
"#;
    let out = cluster.apply(limited);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut token = String::new();
    for _ in 0..60 {
        let secret = cluster.kubectl(&["get", "secrets", "-n", "e2e-cluster-limited", "-o", "jsonpath={.items[?(@.metadata.annotations.kubernetes\\.io/service-account\\.name=='viewer')].data.token}"]);
        token = String::from_utf8_lossy(&secret.stdout).trim().to_string();
        if !token.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    if !require(!token.is_empty(), "a token for e2e-cluster-limited/viewer") {
        return;
    }
    let decoded = std::process::Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(token.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let token = String::from_utf8_lossy(&decoded.stdout).trim().to_string();
    let server = cluster
        .kubectl_ok(&["config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"])
        .trim()
        .to_string();
    assert!(server.starts_with("https://"), "server {server:?}");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("limited.kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\ncurrent-context: limited\nclusters:\n- name: k\n  cluster: {{server: '{server}', insecure-skip-tls-verify: true}}\ncontexts:\n- name: limited\n  context: {{cluster: k, user: viewer}}\nusers:\n- name: viewer\n  user: {{token: '{token}'}}\n"),
    )
    .unwrap();
    let out = kubesecops()
        .args([
            "cluster",
            "scan",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "-n",
            "e2e-cluster-limited",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let report = json(&out);
    assert_eq!(report["cluster"]["context"], "limited");
    assert_eq!(report["cluster"]["partial"], true, "{}", report["cluster"]);
    let gaps = report["cluster"]["gaps"].as_array().unwrap();
    assert!(gaps.iter().any(|g| g["resource"] == "secrets" && g["code"] == 403), "{gaps:?}");
    assert!(gaps.iter().any(|g| g["resource"] == "clusterroles.rbac.authorization.k8s.io"), "{gaps:?}");
    assert!(!gaps.iter().any(|g| g["resource"] == "pods"), "pods may be listed: {gaps:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("PARTIAL"));

    // Basic auth is refused with a reason.
    let basic = dir.path().join("basic.kubeconfig");
    std::fs::write(
        &basic,
        format!("apiVersion: v1\nkind: Config\ncurrent-context: b\nclusters:\n- name: k\n  cluster: {{server: '{server}'}}\ncontexts:\n- name: b\n  context: {{cluster: k, user: u}}\nusers:\n- name: u\n  user: {{username: admin, password: admin}}\n"),
    )
    .unwrap();
    let out =
        kubesecops().args(["cluster", "scan", "--kubeconfig", basic.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("basic authentication"));
}

#[test]
#[ignore = "end-to-end: .ci/e2e"]
fn cluster_cluster_scan_loads_only_signed_policies() {
    use kubesecops_trust::testing::TestKey;
    let Some(cluster) = Cluster::require() else { return };
    let _scenario = Scenario::apply(&cluster);
    let kubeconfig = cluster.kubeconfig.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let key = TestKey::new(11, [1, 3, 5, 7, 9, 11, 13, 15]);
    std::fs::write(dir.path().join("policy.pub"), key.public_file()).unwrap();
    let policy = "package main\n\ndeny[msg] {\n  input.kind == \"Deployment\"\n  input.metadata.name == \"web\"\n  msg := \"web needs a review\"\n}\n";
    let policy_path = dir.path().join("review.rego");
    std::fs::write(&policy_path, policy).unwrap();
    std::fs::write(
        dir.path().join("review.rego.minisig"),
        key.sign(policy.as_bytes(), "timestamp:1700000000\tfile:review.rego", true),
    )
    .unwrap();
    let scan = || {
        kubesecops()
            .args(["cluster", "scan", "--kubeconfig", &kubeconfig, "--format", "json"])
            .args(["--policy", &policy_path.display().to_string()])
            .args(["--policy-key", &dir.path().join("policy.pub").display().to_string()])
            .output()
            .unwrap()
    };
    let reviewed = |report: &Value| {
        report["findings"].as_array().unwrap().iter().any(|f| {
            f["message"] == "web needs a review"
                && f["object"]["kind"] == "Deployment"
                && f["object"]["namespace"] == "e2e-cluster-b"
        })
    };
    let out = scan();
    let report = json(&out);
    assert!(report["errors"].as_array().unwrap().is_empty(), "{}", report["errors"]);
    assert!(reviewed(&report), "the signed policy's finding on the live Deployment");

    // Changed after signing: not loaded, named, exit 2; the built-in rules still report.
    std::fs::write(&policy_path, policy.replace("a review", "nothing")).unwrap();
    let out = scan();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let report = json(&out);
    let errors = report["errors"].to_string();
    assert!(errors.contains("review.rego") && errors.contains("does not match"), "{errors}");
    assert!(!reviewed(&report));
    assert!(report["findings"].as_array().unwrap().iter().any(|f| f["rule"]["id"] == "KSO-C001"));
}
