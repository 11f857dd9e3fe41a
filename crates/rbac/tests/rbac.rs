//! The authorizer, who-can and privilege paths on a fixture scenario written for them.

use std::sync::Arc;

use kubesecops_k8s::loader::load_text;
use kubesecops_rbac::{Graph, Model, Request, Subject, Target, UserInfo};

fn model() -> Model {
    let text = include_str!("fixtures/scenario.yaml");
    let loaded = load_text(Arc::from("scenario.yaml"), text);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let mut model = Model::default();
    loaded.objects.iter().for_each(|o| model.add(o));
    model
}

fn names(subjects: impl IntoIterator<Item = Subject>) -> Vec<String> {
    subjects.into_iter().map(|s| s.to_string()).collect()
}

#[test]
fn aggregated_roles_grant_their_parts_in_the_binding_namespace_only() {
    let model = model();
    let resolved = model.resolve();
    let rita = UserInfo { name: "rita".into(), groups: vec!["system:authenticated".into()] };
    let get = |ns: &str| Request::resource("get", "", "secrets", "", ns).named("x");
    assert!(resolved.allows(&rita, &get("ops")));
    assert!(!resolved.allows(&rita, &get("web")));
    assert!(!resolved.allows(&rita, &get("")), "a RoleBinding grants nothing cluster-wide");
    assert!(!resolved.allows(&rita, &Request::resource("list", "", "secrets", "", "ops")));
    let masters = UserInfo { name: "root".into(), groups: vec!["system:masters".into()] };
    assert!(resolved.allows(&masters, &Request::NonResource { verb: "get".into(), path: "/metrics".into() }));
}

#[test]
fn who_can_lists_binding_subjects_exactly() {
    let model = model();
    let resolved = model.resolve();
    assert_eq!(
        names(resolved.who_can(&Request::resource("get", "", "secrets", "", "ops").named("x"))),
        ["User:rita", "Group:system:masters", "ServiceAccount:ops/admin-bot"]
    );
    assert_eq!(
        names(resolved.who_can(&Request::resource("patch", "apps", "deployments", "", "ops"))),
        ["Group:system:masters", "ServiceAccount:ops/admin-bot", "ServiceAccount:build/ci"]
    );
    // `patch` does not include `update`.
    assert_eq!(
        names(resolved.who_can(&Request::resource("update", "apps", "deployments", "", "ops"))),
        ["Group:system:masters", "ServiceAccount:ops/admin-bot"]
    );
}

#[test]
fn every_escalation_step_leads_to_cluster_admin() {
    let model = model();
    let resolved = model.resolve();
    let graph = Graph::build(&resolved);
    let paths = graph.paths(&Target::ClusterAdmin, None);
    let summary: Vec<(String, bool, Vec<&str>)> = paths
        .iter()
        .map(|p| (p.subject.subject().to_string(), p.direct, p.steps.iter().map(|s| s.action).collect()))
        .collect();
    let expect = |who: &str, actions: &[&str]| {
        let found = summary
            .iter()
            .find(|(s, _, _)| s == who)
            .unwrap_or_else(|| panic!("{who} missing: {summary:#?}"));
        assert_eq!(found.2, actions, "{who}");
    };
    expect("ServiceAccount:ops/admin-bot", &["bound"]);
    expect("Group:system:masters", &["bound"]);
    expect("User:rita", &["read-token-secret", "bound"]);
    expect("ServiceAccount:build/ci", &["create-pod", "bound"]);
    expect("User:cara", &["create-csr", "approve-csr"]);
    expect("User:bill", &["bind", "create-binding"]);
    expect("Group:monitoring", &["nodes-proxy"]);
    expect("User:ivan", &["impersonate"]);
    // Equal length: the first edge found wins, deterministically.
    expect("User:hank", &["patch-webhook", "create-privileged-pod"]);
    // Webhook configurations are cluster-scoped: a RoleBinding cannot grant them.
    assert!(!summary.iter().any(|(s, _, _)| s == "User:hana"), "{summary:#?}");
    assert!(!summary.iter().any(|(s, _, _)| s == "User:dora"), "{summary:#?}");
    let direct: Vec<&str> = summary.iter().filter(|(_, d, _)| *d).map(|(s, _, _)| s.as_str()).collect();
    assert_eq!(direct, ["Group:system:masters", "ServiceAccount:ops/admin-bot"]);
    // The granting objects are named.
    let rita = paths.iter().find(|p| p.subject.name == "rita").unwrap();
    let via = rita.steps[0].via.as_ref().unwrap();
    assert_eq!(
        (via.kind.as_str(), via.name.as_str(), via.namespace.as_str()),
        ("RoleBinding", "reader", "ops")
    );
    assert_eq!(rita.steps[0].becomes.as_deref(), Some("ServiceAccount:ops/admin-bot"));
}

#[test]
fn paths_to_a_subject_and_from_one() {
    let model = model();
    let resolved = model.resolve();
    let graph = Graph::build(&resolved);
    let target = Target::parse("ServiceAccount:ops/admin-bot").unwrap();
    let to_bot = graph.paths(&target, None);
    assert!(to_bot.iter().all(|p| p.target == "ServiceAccount:ops/admin-bot"));
    assert!(to_bot.iter().any(|p| p.subject.name == "ci" && p.steps.len() == 1));
    let from = Subject::parse("User:rita").unwrap();
    let only = graph.paths(&Target::ClusterAdmin, Some(&from));
    assert_eq!(only.len(), 1);
    let json = serde_json::to_value(&only).unwrap();
    assert_eq!(json[0]["subject"], serde_json::json!({"kind": "User", "name": "rita"}));
    assert_eq!(json[0]["steps"][0]["action"], "read-token-secret");
    assert_eq!(
        json[0]["steps"][0]["via"],
        serde_json::json!({"kind": "RoleBinding", "name": "reader", "namespace": "ops"})
    );
    let dot = graph.dot(&only);
    assert!(dot.contains("\"User:rita\" -> \"ServiceAccount:ops/admin-bot\""), "{dot}");
}
