//! An offline copy of a node (`--root` + `ps` listing) written here: built-in checks, and a
//! small benchmark folder in kube-bench's format run through the real audit commands.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use kubesecops_bench::audit::AuditRunner;
use kubesecops_bench::builtin::run_builtin;
use kubesecops_bench::config::BenchConfig;
use kubesecops_bench::node::NodeView;
use kubesecops_bench::runner::run_benchmark;
use kubesecops_bench::version::{choose_benchmark, detect_version, KubeVersion};
use kubesecops_bench::Status;

fn write(root: &Path, path: &str, text: &str, mode: u32) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn node() -> (tempfile::TempDir, NodeView) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    write(
        &root,
        "/etc/kubelet.yaml",
        "kind: KubeletConfiguration\nauthentication:\n  anonymous:\n    enabled: true\n",
        0o644,
    );
    write(&root, "/etc/pki/apiserver.key", "key", 0o600);
    let ps = dir.path().join("ps.txt");
    std::fs::write(
        &ps,
        "UID PID PPID C STIME TTY TIME CMD\n\
         root 10 1 0 10:00 ? 00:00:01 /usr/bin/kubelet --config=/etc/kubelet.yaml --read-only-port=0\n\
         root 11 1 0 10:00 ? 00:00:09 /usr/bin/kube-apiserver --authorization-mode=Node,RBAC --anonymous-auth=false --tls-private-key-file=/etc/pki/apiserver.key --profiling=false\n",
    )
    .unwrap();
    let view = NodeView::offline(&root, &ps).unwrap();
    (dir, view)
}

#[test]
fn builtin_checks_on_an_offline_copy() {
    let (_dir, view) = node();
    let version = KubeVersion::parse("v1.28.3").unwrap();
    let results = run_builtin(&view, Some(&version));
    let status = |id: &str| results.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("{id}")).status;
    // Config file says anonymous auth on; no flag overrides it.
    assert_eq!(status("KSO-B001"), Status::Fail);
    let b001 = results.iter().find(|r| r.id == "KSO-B001").unwrap();
    assert_eq!((b001.path.as_deref(), b001.line), (Some("/etc/kubelet.yaml"), Some(4)));
    // The flag wins over the config file's default for the read-only port.
    assert_eq!(status("KSO-B004"), Status::Pass);
    assert_eq!(status("KSO-B010"), Status::Pass);
    assert_eq!(status("KSO-B012"), Status::Pass);
    assert_eq!(status("KSO-B020"), Status::Pass);
    assert_eq!(status("KSO-B018"), Status::Fail);
    assert_eq!(status("KSO-B015"), Status::Fail);
    assert_eq!(status("KSO-B030"), Status::Info, "etcd is not running");
    let key = results.iter().find(|r| r.id == "KSO-B040").unwrap();
    assert_eq!(key.status, Status::Pass, "{}", key.message);
    let conf = results.iter().find(|r| r.id == "KSO-B045").unwrap();
    assert_eq!(conf.status, Status::Fail, "kubelet config is 644: {}", conf.message);
}

#[test]
fn unknown_version_is_said_with_the_benchmark_chosen() {
    let (dir, view) = node();
    let cfg = dir.path().join("cfg");
    write(&cfg, "config.yaml", "version_mapping:\n  \"1.20\": bm-old\n  \"1.28\": bm-new\n", 0o644);
    std::fs::create_dir_all(cfg.join("bm-new")).unwrap();
    let config = BenchConfig::load(&cfg).unwrap();
    let detection = detect_version(&view, None);
    assert!(detection.version.is_none());
    let choice = choose_benchmark(&config, None, &detection).unwrap();
    assert_eq!(choice.benchmark, "bm-new");
    assert!(choice.reason.contains("UNKNOWN") && choice.reason.contains("offline copy"), "{}", choice.reason);
    let given = detect_version(&view, Some("1.21"));
    assert_eq!(choose_benchmark(&config, None, &given).unwrap().benchmark, "bm-old");
}

#[test]
fn benchmark_folder_runs_audits_against_the_copy() {
    let (dir, view) = node();
    let cfg = dir.path().join("cfg");
    write(
        &cfg,
        "config.yaml",
        "node:\n  components: [kubelet]\n  kubelet:\n    bins: [kubelet]\n    confs: [/etc/kubelet.yaml]\n    defaultconf: /none\n\
         version_mapping:\n  \"1.28\": bm\ntarget_mapping:\n  bm: [node]\n",
        0o644,
    );
    write(
        &cfg,
        "bm/node.yaml",
        r#"---
controls:
id: 4
version: bm
text: Worker
type: node
groups:
  - id: 4.2
    text: Kubelet
    checks:
      - id: 4.2.1
        text: anonymous auth off
        audit: "/bin/ps -fC $kubeletbin"
        audit_config: "/bin/cat $kubeletconf"
        tests:
          test_items:
            - flag: "--anonymous-auth"
              path: '{.authentication.anonymous.enabled}'
              compare:
                op: eq
                value: false
        remediation: fix it
        scored: true
      - id: 4.2.4
        text: read-only port 0
        audit: "/bin/ps -fC $kubeletbin"
        audit_config: "/bin/cat $kubeletconf"
        tests:
          test_items:
            - flag: "--read-only-port"
              path: '{.readOnlyPort}'
              compare:
                op: eq
                value: 0
        scored: true
      - id: 4.2.9
        text: manual
        type: manual
"#,
        0o644,
    );
    let config = BenchConfig::load(&cfg).unwrap().for_benchmark("bm").unwrap();
    let runner = AuditRunner { timeout: Duration::from_secs(10), ps_file: view.ps_file.clone() };
    let (results, errors) = run_benchmark(&config, "bm", &["node".to_string()], &view, &runner, None);
    assert!(errors.is_empty(), "{errors:?}");
    let checks = &results[0].groups[0].checks;
    assert_eq!(checks[0].status, Status::Fail, "{:?}", checks[0]);
    assert_eq!(checks[0].expected_result, "'{.authentication.anonymous.enabled}' is equal to 'false'");
    assert_eq!(checks[1].status, Status::Pass, "{:?}", checks[1]);
    assert_eq!(checks[1].expected_result, "'--read-only-port' is equal to '0'");
    assert_eq!(checks[2].status, Status::Warn);
}
