//! The eBPF syscall sensor on this host (root, a binary built with `--features ebpf`): while
//! `kubesecops runtime sensor` runs with the built-in rules, the test reads /etc/shadow, greps
//! for private keys, runs a program copied to /dev/shm and one from a memfd; each gives its
//! alert, ordinary activity (reading /etc/hostname, running `true`) gives none, and the capture
//! replays to the same alerts without privileges.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kubesecops_e2e::{kubesecops, require, ChildGuard};

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

fn built_with_ebpf() -> bool {
    let out = kubesecops().args(["runtime", "sensor", "--duration", "0"]).stderr(Stdio::piped()).output();
    out.is_ok_and(|o| !String::from_utf8_lossy(&o.stderr).contains("built without the eBPF sensor"))
}

/// Runs a program from an anonymous memory file (memfd_create + exec of /proc/self/fd/N).
fn run_from_memfd() {
    let program = std::fs::read("/bin/true").unwrap();
    let name = std::ffi::CString::new("kso-e2e").unwrap();
    // SAFETY: memfd_create with a valid C string; the fd is owned by this test.
    let fd = unsafe { libc_memfd_create(name.as_ptr(), 0) };
    assert!(fd >= 0, "memfd_create failed");
    let path = format!("/proc/self/fd/{fd}");
    std::fs::write(&path, program).unwrap();
    let status = Command::new(&path).status().unwrap();
    assert!(status.success());
}

extern "C" {
    #[link_name = "memfd_create"]
    fn libc_memfd_create(name: *const std::ffi::c_char, flags: u32) -> i32;
}

#[test]
#[ignore = "end-to-end: .ci/e2e"]
fn local_sensor_alerts_on_host_activity_and_capture_replays() {
    if !require(is_root(), "root (the sensor loads BPF programs)") {
        return;
    }
    if !require(built_with_ebpf(), "kubesecops built with --features ebpf") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture.jsonl");
    let child = kubesecops()
        .args(["runtime", "sensor", "--duration", "12", "--capture"])
        .arg(&capture)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut guard = ChildGuard(child);
    // Wait until the programs are attached: the capture file gets events.
    let start = Instant::now();
    while std::fs::metadata(&capture).map(|m| m.len()).unwrap_or(0) == 0 {
        assert!(start.elapsed() < Duration::from_secs(10), "the sensor recorded nothing");
        std::fs::read_to_string("/etc/hostname").ok();
        std::thread::sleep(Duration::from_millis(200));
    }
    // Ordinary activity.
    std::fs::read_to_string("/etc/hostname").ok();
    Command::new("true").status().unwrap();
    // Suspicious activity.
    Command::new("cat").arg("/etc/shadow").stdout(Stdio::null()).status().unwrap();
    Command::new("grep").args(["-r", "BEGIN PRIVATE", "/etc/hostname"]).status().unwrap();
    let shm = format!("/dev/shm/kso-e2e-{}", std::process::id());
    std::fs::copy("/bin/true", &shm).unwrap();
    Command::new(&shm).status().unwrap();
    std::fs::remove_file(&shm).ok();
    run_from_memfd();

    let status = guard.0.wait().unwrap();
    let mut stdout = String::new();
    guard.0.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    let mut stderr = String::new();
    guard.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "alerts make exit code 1; stderr: {stderr}");
    assert!(stderr.contains("drops: kernel"), "{stderr}");
    let alerts: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let fired = |rule: &str, needle: &str| {
        alerts.iter().any(|a| a["rule"] == rule && a["output"].as_str().unwrap_or_default().contains(needle))
    };
    assert!(fired("Credential file read by an unexpected program", "/etc/shadow read by cat"), "{stdout}");
    assert!(fired("Search for private keys", "grep"), "{stdout}");
    assert!(fired("Program run from shared memory", &shm), "{stdout}");
    assert!(fired("Program run from an anonymous memory file", "memfd:kso-e2e"), "{stdout}");
    assert!(!stdout.contains("/etc/hostname read"), "ordinary reads give no alert: {stdout}");
    assert!(alerts.iter().all(|a| a["drops"]["kernel"].is_u64()), "every alert carries the drop count");

    // The capture replays to the same alerts, without privileges.
    let replay =
        kubesecops().args(["runtime", "replay", "--source", "syscall"]).arg(&capture).output().unwrap();
    let replayed = String::from_utf8_lossy(&replay.stdout);
    for rule in [
        "Credential file read by an unexpected program",
        "Search for private keys",
        "Program run from shared memory",
        "Program run from an anonymous memory file",
    ] {
        assert!(replayed.contains(rule), "replay lacks {rule}: {replayed}");
    }
}
