//! Each built-in rule replayed on an event that must fire it and on a benign twin that must
//! not, and the generated documentation kept current.

use std::path::Path;

use super::*;
use crate::{event, json, Matching, Priority};

/// An audit event built field by field, rendered as the API server writes it.
#[derive(Clone)]
struct Ev {
    stage: &'static str,
    verb: &'static str,
    user: &'static str,
    groups: Vec<&'static str>,
    uri: String,
    resource: Option<&'static str>,
    subresource: Option<&'static str>,
    namespace: Option<&'static str>,
    name: Option<&'static str>,
    code: u16,
    decision: &'static str,
    request_object: Option<String>,
}

impl Ev {
    fn new(verb: &'static str, resource: &'static str, namespace: &'static str, name: &'static str) -> Ev {
        Ev {
            stage: "ResponseComplete",
            verb,
            user: "mallory",
            groups: vec!["system:authenticated"],
            uri: format!("/api/v1/namespaces/{namespace}/{resource}/{name}"),
            resource: Some(resource),
            subresource: None,
            namespace: Some(namespace),
            name: Some(name),
            code: 200,
            decision: "allow",
            request_object: None,
        }
    }

    fn json(&self) -> String {
        let mut object_ref = serde_like_object(&[
            ("resource", self.resource),
            ("subresource", self.subresource),
            ("namespace", self.namespace),
            ("name", self.name),
        ]);
        if self.resource.is_none() {
            object_ref.clear();
        } else {
            object_ref = format!(r#","objectRef":{object_ref}"#);
        }
        let groups: Vec<String> = self.groups.iter().map(|g| format!("{g:?}")).collect();
        let body =
            self.request_object.as_ref().map(|o| format!(r#","requestObject":{o}"#)).unwrap_or_default();
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"a-1","stage":"{}","requestURI":{:?},"verb":"{}","user":{{"username":"{}","groups":[{}]}},"sourceIPs":["10.0.0.9"],"userAgent":"kubectl/v1.30.0"{object_ref},"responseStatus":{{"metadata":{{}},"code":{}}}{body},"stageTimestamp":"2024-05-01T10:00:00.000000Z","annotations":{{"authorization.k8s.io/decision":"{}","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \"x\""}}}}"#,
            self.stage,
            self.uri,
            self.verb,
            self.user,
            groups.join(","),
            self.code,
            self.decision
        )
    }
}

fn serde_like_object(pairs: &[(&str, Option<&str>)]) -> String {
    let fields: Vec<String> =
        pairs.iter().filter_map(|(k, v)| v.map(|v| format!(r#""{k}":"{v}""#))).collect();
    format!("{{{}}}", fields.join(","))
}

/// The names of the built-in rules firing on `event` (every match, not only the first).
fn fired(event: &Ev) -> Vec<String> {
    let rules = ruleset().with_matching(Matching::All);
    let text = event.json();
    let doc = json::parse(&text).unwrap_or_else(|e| panic!("{e:?}: {text}"));
    let events = event::events_in(&doc);
    let event = events[0].as_ref().unwrap();
    rules.evaluate(event).into_iter().map(|a| a.rule.name.clone()).collect()
}

fn assert_fires(rule: &str, event: &Ev) {
    assert_eq!(fired(event), [rule], "{}", event.json());
}

fn assert_silent(event: &Ev) {
    assert_eq!(fired(event), Vec::<String>::new(), "{}", event.json());
}

fn pod(containers: &str, volumes: &str) -> String {
    format!(
        r#"{{"kind":"Pod","apiVersion":"v1","metadata":{{"name":"web"}},"spec":{{"containers":{containers},"volumes":{volumes}}}}}"#
    )
}

#[test]
fn every_rule_has_an_id_and_a_page_and_compiles() {
    let rules = ruleset();
    let stats = rules.stats();
    let syscall = syscall_loader().compile().unwrap();
    assert_eq!(stats.audit_rules + syscall.stats().syscall_rules, RULE_DOCS_LEN);
    assert!(syscall.notices().is_empty(), "{:?}", syscall.notices());
    assert_eq!(stats.disabled, 0);
    assert!(rules.notices().is_empty(), "{:?}", rules.notices());
    let mut ids: Vec<&str> = Vec::new();
    for rule in rules.rules().chain(syscall.rules()) {
        let prefix = if rule.source == "syscall" { "KSO-Y" } else { "KSO-A" };
        let id = rule_id(rule.tags.iter()).unwrap_or_else(|| panic!("{} has no {prefix} tag", rule.name));
        assert!(id.starts_with(prefix), "{id} on a {} rule", rule.source);
        assert!(docs::rule_doc(id).is_some(), "{id} has no documentation");
        assert!(!ids.contains(&id), "{id} used twice");
        ids.push(id);
    }
}

const RULE_DOCS_LEN: usize = docs::RULE_DOCS.len();

#[test]
fn exec_and_attach() {
    let mut exec = Ev::new("create", "pods", "payments", "api-0");
    exec.stage = "ResponseStarted";
    exec.subresource = Some("exec");
    exec.code = 101;
    exec.uri = "/api/v1/namespaces/payments/pods/api-0/exec?command=sh&container=api&stdin=true".into();
    assert_fires("Shell or attach into a pod", &exec);
    let mut attach = exec.clone();
    attach.subresource = Some("attach");
    attach.verb = "get";
    assert_fires("Shell or attach into a pod", &attach);
    // The same session's completion, a refused exec, and a log read are not alerts.
    let mut complete = exec.clone();
    complete.stage = "ResponseComplete";
    assert_silent(&complete);
    let mut refused = exec.clone();
    refused.code = 403;
    refused.decision = "forbid";
    assert_silent(&refused);
    let mut logs = exec.clone();
    logs.subresource = Some("log");
    logs.verb = "get";
    assert_silent(&logs);
}

#[test]
fn exec_output_names_user_container_and_command() {
    let mut exec = Ev::new("create", "pods", "payments", "api-0");
    exec.stage = "ResponseStarted";
    exec.subresource = Some("exec");
    exec.code = 101;
    exec.uri = "/api/v1/namespaces/payments/pods/api-0/exec?command=sh&container=api".into();
    let text = exec.json();
    let doc = json::parse(&text).unwrap();
    let alerts = ruleset().evaluate(&event::events_in(&doc)[0].clone().unwrap());
    assert_eq!(alerts[0].rule.priority, Priority::Notice);
    assert_eq!(
        alerts[0].output,
        "mallory opened exec into pod payments/api-0 (container=api command=sh source=(10.0.0.9) agent=kubectl/v1.30.0)"
    );
}

#[test]
fn port_forward() {
    let mut forward = Ev::new("create", "pods", "data", "postgres-0");
    forward.stage = "ResponseStarted";
    forward.subresource = Some("portforward");
    forward.code = 101;
    forward.uri = "/api/v1/namespaces/data/pods/postgres-0/portforward?ports=5432".into();
    assert_fires("Port forward to a pod", &forward);
    let mut proxy = forward.clone();
    proxy.subresource = Some("proxy");
    assert_silent(&proxy);
}

#[test]
fn secrets_read_by_unexpected_subjects() {
    let read = Ev::new("get", "secrets", "payments", "db");
    assert_fires("Secret read by an unexpected subject", &read);
    let mut list = Ev::new("list", "secrets", "payments", "db");
    list.name = None;
    assert_fires("Secret read by an unexpected subject", &list);
    // The kubelet, a kube-system controller and the controller manager read secrets all day.
    for user in [
        "system:node:worker-1",
        "system:serviceaccount:kube-system:generic-garbage-collector",
        "system:kube-controller-manager",
    ] {
        let mut twin = read.clone();
        twin.user = user;
        assert_silent(&twin);
    }
    let mut denied = read.clone();
    denied.code = 403;
    assert_silent(&denied);
    let mut create = read.clone();
    create.verb = "create";
    assert_silent(&create);
}

#[test]
fn privileged_pods() {
    let mut create = Ev::new("create", "pods", "e2e-runtime", "web");
    create.code = 201;
    create.request_object =
        Some(pod(r#"[{"name":"a","image":"busybox","securityContext":{"privileged":true}}]"#, "[]"));
    assert_fires("Privileged pod created", &create);
    let mut init = create.clone();
    init.request_object = Some(
        r#"{"spec":{"initContainers":[{"name":"i","image":"x","securityContext":{"privileged":true}}],"containers":[{"name":"a","image":"busybox"}]}}"#.into(),
    );
    assert_fires("Privileged pod created", &init);
    let mut plain = create.clone();
    plain.request_object =
        Some(pod(r#"[{"name":"a","image":"busybox","securityContext":{"privileged":false}}]"#, "[]"));
    assert_silent(&plain);
    let mut system = create.clone();
    system.namespace = Some("kube-system");
    assert_silent(&system);
}

#[test]
fn host_path_pods() {
    let mut create = Ev::new("create", "pods", "default", "web");
    create.code = 201;
    create.request_object =
        Some(pod(r#"[{"name":"a","image":"busybox"}]"#, r#"[{"name":"h","hostPath":{"path":"/etc"}}]"#));
    assert_fires("Pod with a host path volume created", &create);
    let mut empty_dir = create.clone();
    empty_dir.request_object =
        Some(pod(r#"[{"name":"a","image":"busybox"}]"#, r#"[{"name":"h","emptyDir":{}}]"#));
    assert_silent(&empty_dir);
    let mut status = create.clone();
    status.subresource = Some("status");
    status.verb = "update";
    assert_silent(&status);
}

#[test]
fn bindings_to_cluster_admin() {
    let binding = |role: &str| {
        format!(
            r#"{{"kind":"ClusterRoleBinding","roleRef":{{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"{role}"}},"subjects":[{{"kind":"ServiceAccount","name":"default","namespace":"e2e"}}]}}"#
        )
    };
    let mut create = Ev::new("create", "clusterrolebindings", "", "backdoor");
    create.namespace = None;
    create.code = 201;
    create.request_object = Some(binding("cluster-admin"));
    assert_fires("Binding to cluster-admin", &create);
    let mut namespaced = create.clone();
    namespaced.resource = Some("rolebindings");
    namespaced.namespace = Some("payments");
    assert_fires("Binding to cluster-admin", &namespaced);
    let mut view = create.clone();
    view.request_object = Some(binding("view"));
    assert_silent(&view);
}

#[test]
fn anonymous_requests_allowed() {
    let mut anonymous = Ev::new("list", "pods", "default", "");
    anonymous.name = None;
    anonymous.uri = "/api/v1/namespaces/default/pods".into();
    anonymous.user = "system:anonymous";
    anonymous.groups = vec!["system:unauthenticated"];
    assert_fires("Unauthenticated request allowed", &anonymous);
    let mut group_only = anonymous.clone();
    group_only.user = "someone";
    assert_fires("Unauthenticated request allowed", &group_only);
    // Health checks are public; refused requests are not "allowed".
    let mut health = anonymous.clone();
    health.resource = None;
    health.verb = "get";
    health.uri = "/readyz?verbose".into();
    assert_silent(&health);
    let mut refused = anonymous.clone();
    refused.code = 403;
    refused.decision = "forbid";
    assert_silent(&refused);
    let mut authenticated = anonymous.clone();
    authenticated.user = "alice";
    authenticated.groups = vec!["system:authenticated"];
    assert_silent(&authenticated);
}

#[test]
fn service_account_tokens() {
    let mut token = Ev::new("create", "serviceaccounts", "kube-system", "deployment-controller");
    token.subresource = Some("token");
    token.code = 201;
    assert_fires("Service account token requested", &token);
    let mut kubelet = token.clone();
    kubelet.user = "system:node:worker-1";
    assert_silent(&kubelet);
    let mut get_account = token.clone();
    get_account.subresource = None;
    get_account.verb = "get";
    assert_silent(&get_account);
}

#[test]
fn network_policy_deletions() {
    let delete = Ev::new("delete", "networkpolicies", "payments", "default-deny");
    assert_fires("Network policy deleted", &delete);
    let mut cilium = delete.clone();
    cilium.resource = Some("ciliumnetworkpolicies");
    cilium.verb = "deletecollection";
    assert_fires("Network policy deleted", &cilium);
    let mut update = delete.clone();
    update.verb = "update";
    assert_silent(&update);
}

#[test]
fn audit_configuration_deletions() {
    let delete = Ev::new("delete", "configmaps", "kube-system", "audit-policy");
    assert_fires("Audit configuration deleted", &delete);
    let mut sink = delete.clone();
    sink.resource = Some("auditsinks");
    sink.namespace = None;
    sink.name = Some("remote");
    assert_fires("Audit configuration deleted", &sink);
    let mut other = delete.clone();
    other.name = Some("coredns");
    assert_silent(&other);
}

#[test]
fn ephemeral_containers() {
    let mut debug = Ev::new("patch", "pods", "payments", "api-0");
    debug.subresource = Some("ephemeralcontainers");
    debug.request_object = Some(
        r#"{"spec":{"ephemeralContainers":[{"name":"debugger","image":"busybox","targetContainerName":"api"}]}}"#
            .into(),
    );
    assert_fires("Ephemeral container added to a pod", &debug);
    let mut read = debug.clone();
    read.verb = "get";
    assert_silent(&read);
}

#[test]
fn generated_docs_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/runtime-rules");
    let update = std::env::var("KUBESECOPS_UPDATE_DOCS").is_ok();
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let pages = docs::all_pages();
    let mut stale = Vec::new();
    for (name, content) in &pages {
        let path = dir.join(name);
        if update {
            std::fs::write(&path, content).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(content.as_str()) {
            stale.push(name.clone());
        }
    }
    // Pages of rules that no longer exist are stale too.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !pages.iter().any(|(n, _)| *n == name) {
                stale.push(name);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "docs/runtime-rules is stale for {stale:?}: run KUBESECOPS_UPDATE_DOCS=1 cargo test -p kubesecops-runtime builtin"
    );
    assert_eq!(pages.len(), RULE_DOCS_LEN + 1);
}
