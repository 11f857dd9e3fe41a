//! Falco rule files: loading any text (lists, macros, rules, append/override, exceptions)
//! and compiling it (macro expansion, list substitution, fields, operators, output
//! templates) must never panic; errors name the file and a line of it. The first byte picks
//! what the file is loaded onto (nothing, the built-in audit rules, the built-in syscall
//! rules); the rest is the file. The condition parser also gets the whole text directly, and
//! compiled rules are evaluated on a fixed audit event and a fixed syscall event.
#![no_main]

use std::sync::OnceLock;

use kubesecops_runtime::{
    builtin, condition, json, AuditEvent, Matching, RuleError, RuleLoader, SyscallEvent,
};
use libfuzzer_sys::fuzz_target;

const AUDIT_EVENT: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse",
    "auditID":"id-1","stage":"ResponseComplete","stageTimestamp":"2024-05-01T10:00:00.5Z",
    "requestReceivedTimestamp":"2024-05-01T10:00:00.1Z","verb":"create",
    "user":{"username":"mallory","groups":["devs","system:authenticated"]},
    "impersonatedUser":{"username":"system:admin"},"sourceIPs":["10.0.0.7"],"userAgent":"kubectl/v1.30",
    "objectRef":{"resource":"pods","namespace":"default","name":"web","subresource":"exec","apiGroup":"","apiVersion":"v1"},
    "requestURI":"/api/v1/namespaces/default/pods/web/exec?command=sh&command=-c&container=a",
    "responseStatus":{"code":201,"reason":"Created"},
    "annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC"},
    "requestObject":{"kind":"Pod","metadata":{"name":"web","labels":{"app":"web"}},
      "roleRef":{"kind":"ClusterRole","name":"cluster-admin"},
      "subjects":[{"kind":"User","name":"eve"}],
      "rules":[{"verbs":["*"],"resources":["secrets"],"apiGroups":[""]}],
      "spec":{"hostNetwork":true,"hostPID":true,"serviceAccountName":"default",
      "volumes":[{"name":"root","hostPath":{"path":"/"}}],
      "containers":[
        {"name":"a","image":"nginx:1","command":["sh"],"args":["-c","id"],
         "securityContext":{"privileged":true,"runAsUser":0,"capabilities":{"add":["SYS_ADMIN"]}},
         "ports":[{"containerPort":80,"hostPort":8080}],"volumeMounts":[{"name":"root","mountPath":"/host"}]},
        {"name":"b","image":"registry.k8s.io/busybox@sha256:abc"}]},
      "data":{"k":"dg=="}}}"#;

const SYSCALL_EVENT: &str = r#"{"kind":"SyscallEvent","ts":5,"num":7,"type":"openat","res":3,
    "args":{"flags":"O_RDONLY","name":"/etc/shadow"},
    "proc":{"pid":9,"ppid":8,"name":"cat","exe":"/usr/bin/cat","args":["/etc/shadow"],"uid":0,"user":"root"},
    "ancestors":[{"name":"bash"},{"name":"sshd"}],
    "fd":{"num":3,"type":"file","name":"/etc/shadow"},
    "container":{"id":"0123456789ab","name":"web","image":"nginx:1","privileged":true},
    "k8s":{"ns":"default","pod":"web","container":"a"},"hostname":"node-1"}"#;

fn base(selector: u8) -> RuleLoader {
    static AUDIT: OnceLock<RuleLoader> = OnceLock::new();
    static SYSCALL: OnceLock<RuleLoader> = OnceLock::new();
    match selector % 4 {
        1 => AUDIT.get_or_init(builtin::loader).clone(),
        2 => SYSCALL.get_or_init(builtin::syscall_loader).clone(),
        _ => RuleLoader::new(),
    }
}

fn check_location(err: &RuleError, text: &str) {
    if let RuleError::Invalid { location, .. } = err {
        if &*location.file == "fuzz.yaml" {
            // YAML breaks lines at LF, CRLF and a lone CR.
            let lines = (text.matches('\n').count() + text.matches('\r').count()
                - text.matches("\r\n").count()) as u32
                + 1;
            assert!(location.line <= lines, "error line {} past the end ({lines}): {err}", location.line);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let _ = condition::parse(text);
    let _ = condition::parse_field_prefix(text);

    let mut loader = base(selector);
    // Items before an error stay loaded, so compile either way.
    if let Err(err) = loader.load_str("fuzz.yaml", text) {
        check_location(&err, text);
    }
    let rules = match loader.compile() {
        Ok(rules) => rules.with_matching(Matching::All),
        Err(err) => {
            check_location(&err, text);
            return;
        }
    };
    let doc = json::parse(AUDIT_EVENT).expect("fixed audit event");
    let event = AuditEvent::from_json(&doc).expect("fixed audit event");
    for alert in rules.evaluate(&event) {
        let _ = alert.rule.priority.severity();
    }
    let sys = SyscallEvent::parse_line(&SYSCALL_EVENT.replace('\n', " ")).expect("fixed syscall event");
    let _ = rules.evaluate_syscall(&sys);
    let _ = rules.stats();
});
