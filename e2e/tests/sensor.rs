//! The eBPF syscall sensor on this host (root, a binary built with `--features ebpf`): while
//! `kubesecops runtime sensor` runs with the built-in rules, the test reads /etc/shadow, greps
//! for private keys, runs a program copied to /dev/shm and one from a memfd; each gives its
//! alert, ordinary activity (reading /etc/hostname, running `true`) gives none, the kernel
//! keeps the opens no rule cares about, and the capture replays to the same alerts without
//! privileges.

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

/// Root and a binary built with the sensor: what every test here needs (each missing one is
/// reported by `require`, and fails the test under CI).
fn sensor_can_run() -> bool {
    require(is_root(), "root (the sensor loads BPF programs)")
        && require(built_with_ebpf(), "kubesecops built with --features ebpf")
}

/// Starts the sensor (`command`, with its output piped) and waits until its programs are
/// attached: the capture file gets its first events.
fn start_sensor(mut command: Command, capture: &std::path::Path) -> ChildGuard {
    let child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let guard = ChildGuard(child);
    let start = Instant::now();
    while std::fs::metadata(capture).map(|m| m.len()).unwrap_or(0) == 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "the sensor recorded nothing");
        // A program start: always recorded (opens of most files stay in the kernel).
        Command::new("true").status().ok();
        std::thread::sleep(Duration::from_millis(200));
    }
    guard
}

/// Waits for the sensor to end; its exit status, stdout and stderr.
fn finish(guard: &mut ChildGuard) -> (std::process::ExitStatus, String, String) {
    let status = guard.0.wait().unwrap();
    let mut stdout = String::new();
    guard.0.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    let mut stderr = String::new();
    guard.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (status, stdout, stderr)
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
    if !sensor_can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture.jsonl");
    let mut command = kubesecops();
    command.args(["runtime", "sensor", "--duration", "12", "--capture"]).arg(&capture);
    let mut guard = start_sensor(command, &capture);
    // Ordinary activity.
    std::fs::read_to_string("/etc/hostname").ok();
    Command::new("true").status().unwrap();
    // Suspicious activity.
    Command::new("cat").arg("/etc/shadow").stdout(Stdio::null()).status().unwrap();
    // A relative path after a chdir (the child changes directory between fork and exec).
    Command::new("cat").arg("shadow").current_dir("/etc").stdout(Stdio::null()).status().unwrap();
    Command::new("grep").args(["-r", "BEGIN PRIVATE", "/etc/hostname"]).status().unwrap();
    let shm = format!("/dev/shm/kso-e2e-{}", std::process::id());
    std::fs::copy("/bin/true", &shm).unwrap();
    Command::new(&shm).status().unwrap();
    std::fs::remove_file(&shm).ok();
    run_from_memfd();

    let (status, stdout, stderr) = finish(&mut guard);
    assert_eq!(status.code(), Some(1), "alerts make exit code 1; stderr: {stderr}");
    assert!(stderr.contains("drops: kernel"), "{stderr}");
    let alerts: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let fired = |rule: &str, needle: &str| {
        alerts.iter().any(|a| a["rule"] == rule && a["output"].as_str().unwrap_or_default().contains(needle))
    };
    let shadow_reads = alerts
        .iter()
        .filter(|a| a["output"].as_str().unwrap_or_default().contains("/etc/shadow read by cat"))
        .count();
    assert_eq!(shadow_reads, 2, "both reads of /etc/shadow, the relative one too: {stdout}");
    assert!(fired("Search for private keys", "grep"), "{stdout}");
    assert!(fired("Program run from shared memory", &shm), "{stdout}");
    assert!(fired("Program run from an anonymous memory file", "memfd:kso-e2e"), "{stdout}");
    assert!(!stdout.contains("/etc/hostname read"), "ordinary reads give no alert: {stdout}");
    assert!(alerts.iter().all(|a| a["drops"]["kernel"].is_u64()), "every alert carries the drop count");

    // The built-in rules care about a few files only: the kernel kept the other opens, and
    // counted them; the capture holds the opens of /etc/shadow and none of /etc/hostname.
    assert!(stderr.contains("kernel filter: only opens of paths"), "{stderr}");
    let filtered: u64 = stderr
        .split("opens kept in the kernel by the filter: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no filter count: {stderr}"));
    assert!(filtered > 0, "{stderr}");
    let recorded = std::fs::read_to_string(&capture).unwrap();
    assert!(recorded.contains(r#""name":"/etc/shadow""#), "the capture has the opens of /etc/shadow");
    assert!(!recorded.contains(r#""name":"/etc/hostname""#), "the kernel kept the opens of /etc/hostname");

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

/// Paths that probe the kernel's open filter at its edges, from the filter's own shapes: each
/// prefix and suffix whole, one byte short and one byte changed, at several lengths (so that
/// they start and end at every offset of an eight-byte word), the unusual forms (`//`, `/./`,
/// `/.` at the end, `..`, a trailing `/`, relative) and their near misses, and long paths up to
/// the 255 bytes the sensor reads. Every path holds `token(i)`, a string no other path holds.
fn filter_probe_paths(
    shapes: &kubesecops_runtime::pathfilter::PathShapes,
    token: impl Fn(usize) -> String,
) -> Vec<String> {
    let mut bodies: Vec<(String, String)> = Vec::new();
    for prefix in shapes.prefixes.iter().take(64) {
        bodies.push((prefix.clone(), String::new()));
        if let Some(short) = prefix.get(..prefix.len() - 1) {
            bodies.push((short.to_string(), String::new()));
        }
        let mut changed = prefix.clone().into_bytes();
        if let Some(last) = changed.last_mut() {
            *last = if *last == b'q' { b'r' } else { b'q' };
        }
        bodies.push((String::from_utf8_lossy(&changed).into_owned(), String::new()));
    }
    for suffix in &shapes.suffixes {
        bodies.push(("/tmp/".to_string(), suffix.clone()));
        bodies.push(("/tmp/".to_string(), suffix[1.min(suffix.len())..].to_string()));
        bodies.push(("/tmp/".to_string(), format!("{suffix}q")));
        let mut changed = suffix.clone().into_bytes();
        changed[0] = if changed[0] == b'q' { b'r' } else { b'q' };
        bodies.push(("/tmp/".to_string(), String::from_utf8_lossy(&changed).into_owned()));
    }
    for (head, tail) in [
        ("/tmp//", ""),
        ("/tmp/./", ""),
        ("/tmp/", "/."),
        ("/tmp/", "/.x"),
        ("/tmp/", "/"),
        ("/tmp/", "/./x"),
        ("/tmp/", "/../x"),
        ("/tmp/", "..x"),
        ("/tmp/", ".x."),
        ("/tmp/", "/x/"),
        ("/tmp/", "//x"),
        ("/tmp/", "/.hidden"),
        ("", ""),
        ("./", ""),
        ("x/", "/y"),
    ] {
        bodies.push((head.to_string(), tail.to_string()));
    }
    let mut paths = Vec::new();
    for (head, tail) in &bodies {
        for pad in 0..9 {
            let i = paths.len();
            paths.push(format!("{head}{}{}{tail}", token(i), "p".repeat(pad)));
        }
    }
    // Long paths: the whole of each is read by the kernel (255 bytes at most).
    for (tail, total) in [("", 255), ("/.", 255), ("", 254), ("/", 250), ("", 200)] {
        let i = paths.len();
        let head = format!("/tmp/{}", token(i));
        let pad = total - head.len() - tail.len();
        paths.push(format!("{head}/{}{tail}", "l".repeat(pad - 1)));
    }
    paths
}

/// The kernel's open filter against the Rust one it mirrors
/// ([`kubesecops_runtime::pathfilter::OpenInterest::passes`]), path by path: while the sensor
/// runs with Falco's rules (the built-in ones without `../shared`), the test opens about 800
/// paths built at the edges of the filter's prefixes, suffixes and unusual forms; exactly the
/// ones the Rust filter passes must be in the capture.
#[test]
#[ignore = "end-to-end: .ci/e2e"]
fn local_sensor_kernel_filter_agrees_with_the_rust_filter_path_by_path() {
    use kubesecops_runtime::pathfilter::OpenInterest;
    if !sensor_can_run() {
        return;
    }
    // The rules the sensor gets below: Falco's file, else (no --rules) the built-in ones.
    let falco = Some(falco_rules()).filter(|path| path.is_file());
    let rules = match &falco {
        Some(path) => kubesecops_runtime::Ruleset::from_files(&[path]).unwrap(),
        None => kubesecops_runtime::builtin::loader().compile().unwrap(),
    };
    let OpenInterest::Paths(shapes) = rules.open_interest() else {
        panic!("the rules leave the kernel filter off");
    };
    let fitted = shapes.fitted(kubesecops_sensor::MAX_OPEN_PREFIXES, kubesecops_sensor::MAX_OPEN_SUFFIXES);
    let interest = OpenInterest::Paths(fitted.clone());
    let tag = format!("kso{}f", std::process::id());
    let paths = filter_probe_paths(&fitted, |i| format!("{tag}{i}z"));

    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture.jsonl");
    let mut command = kubesecops();
    command.args(["runtime", "sensor", "--duration", "60", "--capture"]).arg(&capture);
    if let Some(path) = &falco {
        command.arg("--rules").arg(path);
    }
    let mut guard = start_sensor(command, &capture);
    for path in &paths {
        // None of these exists (each holds its own token; relative ones resolve in the
        // package directory): every open fails, after the kernel has read its path.
        assert!(std::fs::File::open(path).is_err(), "{path} exists");
    }
    // Stopped at once: the sensor reads what is left in its ring buffer before it ends.
    // SAFETY: kill(2) on the sensor child this test started.
    unsafe { libc_kill(guard.0.id() as i32, 15) };
    let (_, _, stderr) = finish(&mut guard);
    assert!(stderr.contains("drops: kernel 0 "), "{stderr}");
    let recorded = std::fs::read_to_string(&capture).unwrap();
    let mut wrong = Vec::new();
    let mut passed = 0;
    for (i, path) in paths.iter().enumerate() {
        let token = format!("{tag}{i}z");
        let expected = interest.passes(path);
        passed += usize::from(expected);
        if recorded.contains(&token) != expected {
            wrong.push(format!(
                "{path:?}: the Rust filter {}",
                if expected { "passes it, the kernel kept it" } else { "drops it, the kernel passed it" }
            ));
        }
    }
    assert!(passed > 0 && passed < paths.len(), "{passed} of {} paths pass: no edge is probed", paths.len());
    assert!(
        wrong.is_empty(),
        "{} of {} paths judged differently:\n{}",
        wrong.len(),
        paths.len(),
        wrong.join("\n")
    );
}

/// A tiny program that copies a file into an anonymous memory file and executes it from
/// there (`memfd_create` + `fexecve`): fileless execution as malware does it. Built static so
/// it runs in the busybox image.
const MEMFD_EXEC_C: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: memfd-exec FILE ARGV0 [ARG]...\n"); return 2; }
    int in = open(argv[1], O_RDONLY);
    int mem = memfd_create("kso-payload", 0);
    if (in < 0 || mem < 0) { perror("open/memfd_create"); return 1; }
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(mem, buf, (size_t)n) != n) { perror("write"); return 1; }
    fexecve(mem, argv + 2, environ);
    perror("fexecve");
    return 1;
}
"#;

/// Falco's own `falco_rules.yaml`, unchanged, from the shared suites.
fn falco_rules() -> std::path::PathBuf {
    kubesecops_e2e::workspace_root()
        .join("../shared/suites/falco-k8saudit/falco-rules/rules/falco_rules.yaml")
}

/// The sensor runs (with Falco's `falco_rules.yaml`) while a pod of the test cluster does
/// what an intruder does: reads /etc/shadow, runs `nc -e`, greps for private keys, runs a
/// program from /dev/shm and one from a memfd, and connects to the API server by its
/// Service address. Each gives its Falco rule with the pod's name and namespace; ordinary
/// activity of the same pod gives nothing. The API server's name in Falco's rule
/// (`fd.sip.name="kubernetes.default.svc.cluster.local"`) is resolved by the sensor: the
/// test gives it a hosts file of its own (a private mount namespace) naming the Service IP.
#[test]
#[ignore = "end-to-end: .ci/e2e cluster"]
fn cluster_sensor_reports_falco_rules_for_pod_activity() {
    let Some(cluster) = kubesecops_e2e::Cluster::require() else { return };
    if !sensor_can_run() {
        return;
    }
    if !require(falco_rules().is_file(), "../shared/suites/falco-k8saudit (Falco's falco_rules.yaml)") {
        return;
    }
    let compiler = ["cc", "gcc", "clang"].into_iter().find(|c| kubesecops_e2e::have_program(c));
    if !require(compiler.is_some(), "a C compiler with a static libc (libc6-dev)") {
        return;
    }
    const NS: &str = "e2e-sensor";
    const POD: &str = "victim";
    cluster.wait_namespaces_gone(&[NS]);

    // The helper, built static, and the hosts file, in a directory the pod mounts.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("memfd-exec.c"), MEMFD_EXEC_C).unwrap();
    let built = Command::new(compiler.unwrap())
        .args(["-static", "-O2", "-o"])
        .arg(dir.path().join("memfd-exec"))
        .arg(dir.path().join("memfd-exec.c"))
        .output()
        .unwrap();
    assert!(built.status.success(), "building the memfd helper: {}", String::from_utf8_lossy(&built.stderr));
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n10.96.0.1 kubernetes.default.svc.cluster.local\n").unwrap();

    let manifest = format!(
        r#"apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: {POD}, namespace: {NS}}}
spec:
  dnsPolicy: Default
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: localhost/busybox:1.35
    imagePullPolicy: Never
    # The image has no /etc/shadow: the pod writes one before the sensor starts.
    command: ["/bin/sh", "-c", "echo 'root:*:19000:0:99999:7:::' > /etc/shadow && chmod 600 /etc/shadow && touch /tmp/ready && exec sleep 100000"]
    volumeMounts:
    - {{name: helper, mountPath: /kso}}
    - {{name: shm, mountPath: /dev/shm}}
  volumes:
  # The helper is written into the pod (not a hostPath), so how the host mounts its
  # temporary directory (noexec or not) cannot matter.
  - name: helper
    emptyDir: {{}}
  - name: shm
    emptyDir: {{medium: Memory}}
"#
    );
    let out = cluster.apply(&manifest);
    assert!(out.status.success(), "apply: {}", String::from_utf8_lossy(&out.stderr));
    cluster.kubectl_ok(&["wait", "-n", NS, "--for=condition=Ready", &format!("pod/{POD}"), "--timeout=120s"]);
    let exec = |args: &[&str]| {
        let mut all = vec!["exec", "-n", NS, POD, "--"];
        all.extend_from_slice(args);
        cluster.kubectl(&all)
    };
    let start = Instant::now();
    while !exec(&["test", "-f", "/tmp/ready"]).status.success() {
        assert!(start.elapsed() < Duration::from_secs(30), "the pod never wrote /etc/shadow");
        std::thread::sleep(Duration::from_millis(300));
    }
    let helper = std::fs::read(dir.path().join("memfd-exec")).unwrap();
    let copied = cluster.kubectl_stdin(
        &[
            "exec",
            "-i",
            "-n",
            NS,
            POD,
            "--",
            "sh",
            "-c",
            "cat > /kso/memfd-exec && chmod 755 /kso/memfd-exec",
        ],
        &helper,
    );
    assert!(
        copied.status.success(),
        "copying the helper into the pod: {}",
        String::from_utf8_lossy(&copied.stderr)
    );

    // The sensor, in a mount namespace of its own where /etc/hosts is the test's file.
    // Pods and images come from containerd's CRI API (the cluster's own socket).
    let Some(cri) = kubesecops_e2e::require_env("KSO_CONTAINERD_SOCK") else { return };
    let metrics_port = kubesecops_e2e::free_port();
    let capture = dir.path().join("capture.jsonl");
    let script = format!(
        "mount --bind '{}' /etc/hosts && exec '{}' runtime sensor --rules '{}' --duration 120 --capture '{}' \
         --cri-socket '{cri}' --metrics-addr 127.0.0.1:{metrics_port}",
        hosts.display(),
        kubesecops_e2e::kubesecops_bin().display(),
        falco_rules().display(),
        capture.display()
    );
    let mut command = Command::new("unshare");
    command.args(["--mount", "--propagation", "private", "sh", "-c", &script]);
    let mut guard = start_sensor(command, &capture);

    // Ordinary activity of the pod.
    for args in [&["cat", "/etc/hostname"][..], &["ls", "/"], &["sh", "-c", "echo hello > /tmp/greeting"]] {
        assert!(exec(args).status.success(), "{args:?}");
    }
    // What an intruder does.
    exec(&["cat", "/etc/shadow"]);
    // busybox nc takes `-e PROG` last.
    exec(&["nc", "-w", "1", "127.0.0.1", "9", "-e", "/bin/true"]);
    exec(&["grep", "-r", "BEGIN PRIVATE", "/etc"]);
    // These two must run, or their rules cannot fire: a failure is reported as itself. The
    // memfd helper runs under a shell that stays (`; true`): Falco's rule leaves out programs
    // whose parent is runc, and a program `kubectl exec` starts directly has runc as its
    // parent until runc exits, a race the test must not depend on.
    for args in [
        &["sh", "-c", "cp /bin/busybox /dev/shm/true && /dev/shm/true"][..],
        &["sh", "-c", "/kso/memfd-exec /bin/busybox true; true"],
    ] {
        let out = exec(args);
        assert!(out.status.success(), "{args:?} in the pod: {}", String::from_utf8_lossy(&out.stderr));
    }
    exec(&["nc", "-w", "2", "10.96.0.1", "443"]);
    // Let the last records through the ring buffer, read the sensor's metrics, then stop it
    // (SIGTERM: it writes its summary and flushes the capture).
    std::thread::sleep(Duration::from_secs(2));
    let metrics = http_get(metrics_port, "/metrics");
    // SAFETY: kill with the pid of our own child (unshare and sh exec into the sensor).
    unsafe { libc_kill(guard.0.id() as i32, 15) };
    let (status, stdout, stderr) = finish(&mut guard);
    cluster.kubectl(&["delete", "namespace", NS, "--wait=false"]);
    assert_eq!(status.code(), Some(1), "alerts make exit code 1; stderr: {stderr}");
    assert!(
        stderr.contains("kubernetes.default.svc.cluster.local") && stderr.contains("10.96.0.1"),
        "the sensor says what the rules' host names resolve to: {stderr}"
    );

    let alerts: Vec<serde_json::Value> =
        stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let of_pod: Vec<&serde_json::Value> = alerts
        .iter()
        .filter(|a| a["output_fields"]["k8s.pod.name"] == POD && a["output_fields"]["k8s.ns.name"] == NS)
        .collect();
    let shown: Vec<String> =
        of_pod.iter().map(|a| format!("{} | {}", a["rule"], a["output_fields"]["proc.cmdline"])).collect();
    // Each alert is found by a field of Falco's own output text.
    let fired = |rule: &str, needle: &str| {
        of_pod.iter().any(|a| {
            let output = a["output"].as_str().unwrap_or_default();
            a["rule"] == rule
                && output.contains(needle)
                && output.ends_with(&format!("k8s.ns={NS} k8s.pod={POD}"))
        })
    };
    for (rule, needle) in [
        ("Read sensitive file untrusted", "command=cat /etc/shadow"),
        ("Netcat Remote Code Execution in Container", "command=nc -w 1 127.0.0.1 9 -e /bin/true"),
        ("Search Private Keys or Passwords", "command=grep -r BEGIN PRIVATE /etc"),
        ("Execution from /dev/shm", "proc_exepath=/dev/shm/true"),
        ("Fileless execution via memfd_create", "proc_exepath=/memfd:kso-payload"),
        ("Contact K8S API Server From Container", "command=nc -w 2 10.96.0.1 443"),
    ] {
        if !fired(rule, needle) {
            // The recorded program starts of the pod say what the sensor saw instead.
            let recorded = std::fs::read_to_string(&capture).unwrap_or_default();
            let starts: Vec<&str> =
                recorded.lines().filter(|l| l.contains("\"execve") && l.contains(POD)).take(40).collect();
            panic!(
                "no '{rule}' with `{needle}` in the pod's alerts:\n{}\nall alerts:\n{stdout}\nstderr:\n{stderr}\n\
                 program starts of the pod in the capture:\n{}",
                shown.join("\n"),
                starts.join("\n")
            );
        }
    }
    // Every alert of the pod comes from one of the intruder's commands (grep also opens
    // /etc/shadow on its way through /etc, a true "Read sensitive file untrusted").
    let intruder = [
        "cat /etc/shadow",
        "nc -w 1 127.0.0.1 9 -e /bin/true",
        "grep -r BEGIN PRIVATE /etc",
        "true",
        "memfd:kso-paylo",
        "nc -w 2 10.96.0.1 443",
    ];
    for alert in &of_pod {
        let cmdline = alert["output_fields"]["proc.cmdline"].as_str().unwrap_or_default();
        assert!(intruder.contains(&cmdline), "alert on activity the test did not plant: {alert}");
    }
    for ordinary in ["cat /etc/hostname", "ls /", "echo hello"] {
        assert!(
            !shown.iter().any(|s| s.contains(ordinary)),
            "ordinary activity `{ordinary}` alerted:\n{}",
            shown.join("\n")
        );
    }
    assert!(alerts.iter().all(|a| a["drops"]["kernel"].is_u64()), "every alert carries the drop count");
    assert!(
        of_pod
            .iter()
            .all(|a| a["output_fields"]["container.image"].as_str().unwrap_or_default().contains("busybox")),
        "the pod's image comes from the CRI API:\n{stdout}"
    );
    for line in [
        "kubesecops_sensor_kernel_drops_total{cpu=\"0\"}",
        "kubesecops_sensor_user_drops_total",
        "kubesecops_sensor_alerts_total{",
    ] {
        assert!(metrics.contains(line), "/metrics lacks {line}:\n{metrics}");
    }
}

/// A plain HTTP/1.1 GET on the loopback; the body.
fn http_get(port: u16, path: &str) -> String {
    use std::io::Write;
    let mut stream =
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the sensor's metrics");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, signal: i32) -> i32;
}
