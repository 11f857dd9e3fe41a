//! The `syscall` source of `kubesecops runtime`: `replay --source syscall` over captures
//! (JSON lines of `SyscallEvent`, as `runtime sensor --capture` writes them), the eBPF
//! `sensor` (cargo feature `ebpf`), and the alert lines both print.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use kubesecops_runtime::{builtin, Alert, Matching, Priority, RuleLoader, Ruleset, SyscallEvent};

use super::runtime::{display, read_input, RuleMatching};
use crate::{output, Status};

/// Flags of `kubesecops runtime sensor`.
#[derive(Debug, Args)]
pub struct SensorArgs {
    /// A Falco rules file (syscall rules); repeat for several, later files amend earlier ones.
    /// Without it, the built-in syscall rules.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// A minisign public key; with one, every --rules file must carry a signature by one of
    /// the keys beside it (`FILE.minisig`), or the command stops; repeatable.
    #[arg(long, value_name = "FILE")]
    pub rules_key: Vec<PathBuf>,
    /// Record every enriched event (JSON lines) to FILE, for `runtime replay --source syscall`.
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,
    /// Which rules fire when several match one event.
    #[arg(long, value_enum, default_value = "first")]
    pub rule_matching: RuleMatching,
    /// Only report alerts of this priority or more severe.
    #[arg(long, value_name = "PRIORITY", value_parser = super::runtime::parse_priority, default_value = "debug")]
    pub min_priority: Priority,
    /// Stop after SECONDS (default: until SIGINT or SIGTERM).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<u64>,
    /// Resolve the host names the rules use (`fd.sip.name`) again every SECONDS (0: only at
    /// start).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub host_refresh: u64,
    /// The node runtime's CRI socket, asked for the pod, namespace, container name and image of
    /// each new container (default: the first of /run/containerd/containerd.sock,
    /// /run/crio/crio.sock, /var/run/cri-dockerd.sock that exists). Without one, pods come from
    /// the runtime's bundle files only.
    #[arg(long, value_name = "PATH")]
    pub cri_socket: Option<PathBuf>,
    /// Serve the sensor's counters in the Prometheus text format on ADDR (`GET /metrics`, and
    /// `GET /healthz`), e.g. 127.0.0.1:9810.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// Keep in the kernel the opens no loaded rule can match (judged from the rules' path
    /// checks; opens of relative paths and of paths with `.` or `..` components always pass).
    /// They are counted, not sent: the capture then holds only opens some rule could match,
    /// so use `off` to capture every open.
    #[arg(long, value_enum, default_value = "on")]
    pub kernel_filter: OnOff,
}

/// A switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// The syscall rules: the files in order, or the built-in syscall rules when there is none.
pub(crate) fn load_rules(files: &[PathBuf], keys: &[PathBuf]) -> Result<Ruleset> {
    let mut loader = if files.is_empty() { builtin::syscall_loader() } else { RuleLoader::new() };
    super::runtime::load_rule_files(&mut loader, files, keys)?;
    Ok(loader.compile()?)
}

/// Prints the load notices and the rules that are not evaluated, on stderr.
pub(crate) fn announce(rules: &Ruleset) {
    let notices: Vec<String> = rules.notices().iter().map(ToString::to_string).collect();
    output::notices(&notices);
    let stats = rules.stats();
    if !stats.syscall_unsupported.is_empty() {
        eprintln!(
            "kubesecops: {} syscall rule(s) not evaluated (unsupported fields or operators):",
            stats.syscall_unsupported.len()
        );
        for (rule, reason) in &stats.syscall_unsupported {
            eprintln!("  {rule}: {reason}");
        }
    }
}

/// Resolves the host names the rules compare addresses with (`fd.sip.name`) through the
/// system's resolver and says on stderr what each resolved to; a name that does not resolve
/// is said too, since the checks on it stay false until it does.
/// Returns the addresses found, name by name, for `refresh_host_names` (the sensor) to compare with.
pub(crate) fn resolve_host_names() -> Vec<Vec<std::net::IpAddr>> {
    let table = kubesecops_runtime::hostnames::table();
    let found = table.refresh(&kubesecops_runtime::hostnames::SystemResolver);
    for found in &found {
        match (&found.error, found.addrs.is_empty()) {
            (None, _) | (Some(_), false) => eprintln!(
                "kubesecops: host name {} (used by rules) resolves to {}",
                found.name,
                addresses_text(&found.addrs)
            ),
            (Some(error), true) => eprintln!(
                "kubesecops: warning: host name {} (used by rules) does not resolve ({error}): checks on it are false until it does",
                found.name
            ),
        }
    }
    found.into_iter().map(|f| f.addrs).collect()
}

/// Addresses as a comma-separated list.
fn addresses_text(addrs: &[std::net::IpAddr]) -> String {
    addrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Resolves the rules' host names again every `every`, in a thread of its own, and says on
/// stderr when a name's addresses change from `last` (what [`resolve_host_names`] found at
/// start); evaluation reads the last results and never waits.
#[cfg(feature = "ebpf")]
fn refresh_host_names(every: std::time::Duration, mut last: Vec<Vec<std::net::IpAddr>>) {
    let table = kubesecops_runtime::hostnames::table();
    if table.names().is_empty() || every.is_zero() {
        return;
    }
    std::thread::spawn(move || loop {
        std::thread::sleep(every);
        let found = table.refresh(&kubesecops_runtime::hostnames::SystemResolver);
        let now: Vec<_> = found.iter().map(|f| f.addrs.clone()).collect();
        if now != last {
            for f in &found {
                eprintln!("kubesecops: host name {} now resolves to {}", f.name, addresses_text(&f.addrs));
            }
        }
        last = now;
    });
}

/// One alert as a JSON object: the keys of the audit path (`rule`, `priority`, `time`,
/// `output`, `source`, `tags`) plus `output_fields` naming the process, container and pod. The
/// output text gets the pod's namespace and name appended when the event has them (as Falco's
/// `append_output` does). Replay prints it as is; the sensor adds its drop counts.
pub(crate) fn alert_json(alert: &Alert, event: &SyscallEvent) -> serde_json::Value {
    let mut output = alert.output.clone();
    let k8s = event.k8s.as_ref();
    let ns = k8s.and_then(|k| k.ns.as_deref());
    let pod = k8s.and_then(|k| k.pod.as_deref());
    if let (Some(ns), Some(pod)) = (ns, pod) {
        output.push_str(&format!(" k8s.ns={ns} k8s.pod={pod}"));
    }
    let container = event.container.as_ref();
    serde_json::json!({
        "rule": alert.rule.name,
        "priority": alert.rule.priority.as_str(),
        "time": kubesecops_runtime::time::format_rfc3339_nanos(alert.time_ns),
        "output": output,
        "source": alert.rule.source,
        "tags": alert.rule.tags,
        "output_fields": {
            "evt.type": event.ty,
            "proc.name": event.proc.name,
            "proc.pid": event.proc.pid,
            "proc.cmdline": event.proc.cmdline(),
            "container.id": container.map_or("host", |c| c.id.as_str()),
            "container.image": container.and_then(|c| c.image.as_deref()),
            "k8s.ns.name": ns,
            "k8s.pod.name": pod,
        },
    })
}

/// `runtime sensor`: without the `ebpf` feature, says how to get it.
#[cfg(not(feature = "ebpf"))]
pub fn sensor(_args: SensorArgs) -> Result<Status> {
    anyhow::bail!(
        "this kubesecops was built without the eBPF sensor: build it with `cargo build --release --features ebpf` (needs clang and the libbpf headers)"
    )
}

/// `runtime sensor`: loads the BPF programs and evaluates every event until a signal (or
/// `--duration`). Alerts go to stdout, each with the kernel drop count so far; drops and
/// counts are reported on stderr every second they change and at the end.
#[cfg(feature = "ebpf")]
pub fn sensor(args: SensorArgs) -> Result<Status> {
    use anyhow::Context;
    use std::sync::atomic::Ordering;

    let rules =
        load_rules(&args.rules, &args.rules_key)?.with_matching(super::runtime::matching(args.rule_matching));
    announce(&rules);
    let addresses = resolve_host_names();
    refresh_host_names(std::time::Duration::from_secs(args.host_refresh), addresses);
    let mut capture = match &args.capture {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("{}: cannot create", path.display()))?,
        )),
        None => None,
    };
    let stop = kubesecops_sensor::stop_on_signals();
    if let Some(seconds) = args.duration {
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(seconds));
            kubesecops_sensor::STOP.store(true, Ordering::Relaxed);
        });
    }
    let metrics = std::sync::Arc::new(kubesecops_sensor::metrics::Metrics::default());
    if let Some(addr) = &args.metrics_addr {
        let bound = kubesecops_sensor::metrics::serve(addr.as_str(), metrics.clone())
            .with_context(|| format!("--metrics-addr {addr}: cannot listen"))?;
        eprintln!("kubesecops: metrics on http://{bound}/metrics");
    }
    let source = cri_source(args.cri_socket.as_deref(), &metrics);
    let open_filter = open_filter(&rules, args.kernel_filter);
    let stats = rules.stats();
    eprintln!(
        "kubesecops: runtime sensor: {} syscall rule(s) ({} disabled, {} not evaluated); loading BPF programs",
        stats.syscall_rules,
        stats.syscall_disabled,
        stats.syscall_unsupported.len()
    );
    let mut stdout = std::io::stdout().lock();
    let mut alerts = Vec::new();
    let mut total = 0u64;
    let mut io_error: Option<std::io::Error> = None;
    let mut reported_drops = 0u64;
    let mut said_unwatched = false;
    let counters = kubesecops_sensor::bpf::run(
        stop,
        source,
        &open_filter,
        |event, counters| {
            if let Some(file) = capture.as_mut() {
                if let Err(e) = writeln!(file, "{}", event.to_json_line()) {
                    io_error.get_or_insert(e);
                }
            }
            alerts.clear();
            rules.evaluate_syscall_into(event, &mut alerts);
            for alert in alerts.iter().filter(|a| a.rule.priority <= args.min_priority) {
                total += 1;
                metrics.alert(&alert.rule.name, alert.rule.priority.as_str());
                let mut line = alert_json(alert, event);
                line["drops"] = serde_json::json!({
                    "kernel": counters.kernel_drops_total(),
                    "user": counters.user_drops,
                });
                if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
                    io_error.get_or_insert(e);
                    kubesecops_sensor::STOP.store(true, Ordering::Relaxed);
                }
            }
        },
        |counters| {
            if !said_unwatched && !counters.unwatched.is_empty() {
                eprintln!(
                    "kubesecops: this kernel has no tracepoint for: {} (not watched)",
                    counters.unwatched.join(", ")
                );
            }
            said_unwatched = true;
            publish(&metrics, counters);
            let drops = counters.kernel_drops_total() + counters.user_drops;
            if drops != reported_drops {
                eprintln!(
                    "kubesecops: sensor drops: kernel {} (per CPU {:?}), user space {}",
                    counters.kernel_drops_total(),
                    counters.kernel_drops,
                    counters.user_drops
                );
                reported_drops = drops;
            }
        },
    )?;
    publish(&metrics, &counters);
    if let Some(file) = capture.as_mut() {
        file.flush()?;
    }
    eprintln!(
        "kubesecops: runtime sensor stopped: {} record(s), {} event(s), {total} alert(s); drops: kernel {} (per CPU {:?}), user space {}; opens kept in the kernel by the filter: {}",
        counters.records,
        counters.events,
        counters.kernel_drops_total(),
        counters.kernel_drops,
        counters.user_drops,
        counters.kernel_filtered.iter().sum::<u64>()
    );
    for program in &counters.programs {
        eprintln!(
            "kubesecops: BPF program {}: {} run(s), {} ns per run",
            program.name,
            program.runs,
            program.run_time_ns.checked_div(program.runs).unwrap_or(0)
        );
    }
    if let Some(e) = io_error {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    Ok(if total > 0 { Status::Findings } else { Status::Clean })
}

/// Publishes the event loop's counters on `/metrics`.
#[cfg(feature = "ebpf")]
fn publish(metrics: &kubesecops_sensor::metrics::Metrics, counters: &kubesecops_sensor::bpf::Counters) {
    metrics.set_counters(counters.records, counters.events, &counters.kernel_drops, counters.user_drops);
    metrics.set_kernel_filtered(&counters.kernel_filtered);
}

/// Which opens leave the kernel, from the rules' path checks (see
/// `kubesecops_runtime::pathfilter`); says on stderr what was decided and why.
#[cfg(feature = "ebpf")]
fn open_filter(rules: &Ruleset, switch: OnOff) -> kubesecops_sensor::bpf::OpenFilter {
    use kubesecops_runtime::pathfilter::OpenInterest;
    use kubesecops_sensor::bpf::{OpenFilter, MAX_OPEN_PREFIXES, MAX_OPEN_SUFFIXES};
    if switch == OnOff::Off {
        eprintln!("kubesecops: kernel filter off (--kernel-filter off): every open leaves the kernel");
        return OpenFilter::Off;
    }
    match rules.open_interest() {
        OpenInterest::All { rule } => {
            eprintln!("kubesecops: kernel filter off: rule '{rule}' can match an open of any path");
            OpenFilter::Off
        }
        OpenInterest::Paths(shapes) => {
            let fitted = shapes.fitted(MAX_OPEN_PREFIXES, MAX_OPEN_SUFFIXES);
            let merged = if fitted == shapes { "" } else { " (merged to fit the kernel's tables)" };
            eprintln!(
                "kubesecops: kernel filter: only opens of paths starting with one of {} prefix(es) or ending with one of {} suffix(es){merged} leave the kernel, and relative paths or paths with . or .. components; the others are counted",
                fitted.prefixes.len(),
                fitted.suffixes.len()
            );
            OpenFilter::Paths(fitted)
        }
    }
}

/// The CRI cache of the sensor: the socket given, else the first default socket that exists;
/// says on stderr which one is used and whether it answered.
#[cfg(feature = "ebpf")]
fn cri_source(
    socket: Option<&Path>,
    metrics: &kubesecops_sensor::metrics::Metrics,
) -> Option<Box<dyn kubesecops_sensor::procs::ContainerSource + Send>> {
    use kubesecops_sensor::cri::{find_socket, CriCache, CriClient, DEFAULT_SOCKETS};
    let Some(socket) = socket.map(Path::to_path_buf).or_else(|| find_socket(DEFAULT_SOCKETS)) else {
        eprintln!(
            "kubesecops: no CRI socket found ({}); pod names from the runtime's bundle files only",
            DEFAULT_SOCKETS.join(", ")
        );
        return None;
    };
    let client = match CriClient::new(&socket) {
        Ok(client) => client,
        Err(e) => {
            eprintln!(
                "kubesecops: CRI {}: {e}; pod names from the runtime's bundle files only",
                socket.display()
            );
            return None;
        }
    };
    let mut cache = CriCache::new(Box::new(client), metrics.cri.clone());
    // A first list says at start whether the runtime answers (a failure is said once, by the
    // cache) and fills the cache with the containers already running.
    if let Ok(count) = cache.prime() {
        eprintln!("kubesecops: CRI {}: {count} container(s)", cache.describe());
    }
    Some(Box::new(cache))
}

/// `runtime replay --source syscall`: evaluates the rules over capture files.
pub fn replay(
    rule_files: &[PathBuf],
    rule_keys: &[PathBuf],
    inputs: &[PathBuf],
    matching: Matching,
    min_priority: Priority,
    output_path: Option<&Path>,
) -> Result<Status> {
    let rules = load_rules(rule_files, rule_keys)?.with_matching(matching);
    announce(&rules);
    resolve_host_names();
    let mut out = output::open(output_path)?;
    let mut errors: Vec<String> = Vec::new();
    let mut events = 0usize;
    let mut per_rule: BTreeMap<(Priority, String), usize> = BTreeMap::new();
    let mut alerts = Vec::new();
    for path in inputs {
        let text = match read_input(path) {
            Ok(text) => text,
            Err(err) => {
                errors.push(format!("{err:#}"));
                continue;
            }
        };
        let name = display(path);
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let event = match SyscallEvent::parse_line(line) {
                Ok(event) => event,
                Err(err) => {
                    errors.push(format!("{name}:{}: {err}", index + 1));
                    continue;
                }
            };
            events += 1;
            alerts.clear();
            rules.evaluate_syscall_into(&event, &mut alerts);
            for alert in alerts.iter().filter(|a| a.rule.priority <= min_priority) {
                writeln!(out, "{}", alert_json(alert, &event))?;
                *per_rule.entry((alert.rule.priority, alert.rule.name.clone())).or_default() += 1;
            }
        }
    }
    out.flush()?;
    let total: usize = per_rule.values().sum();
    let stats = rules.stats();
    let mut stderr = std::io::stderr().lock();
    writeln!(
        stderr,
        "kubesecops: {events} syscall event(s), {total} alert(s); {} syscall rule(s) ({} disabled), {} not evaluated",
        stats.syscall_rules,
        stats.syscall_disabled,
        stats.syscall_unsupported.len()
    )?;
    super::runtime::replay_summary(&mut stderr, &per_rule, &errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesecops_runtime::syscall::{Container, Fd, FdKind, K8s, Process};

    fn open_event(proc_name: &str, file: &str) -> SyscallEvent {
        SyscallEvent {
            time_ns: 1_700_000_000_000_000_000,
            num: 1,
            ty: "openat".into(),
            res: Some(3),
            args: vec![("name".into(), file.into()), ("flags".into(), "O_RDONLY".into())],
            proc: Process {
                pid: 77,
                name: proc_name.into(),
                exe: proc_name.into(),
                exepath: format!("/bin/{proc_name}"),
                args: vec![file.into()],
                ..Process::default()
            },
            fd: Some(Fd { num: 3, kind: FdKind::File, name: file.into(), ..Fd::default() }),
            container: Some(Container {
                id: "abcdef012345".into(),
                image: Some("docker.io/library/alpine:3".into()),
                ..Container::default()
            }),
            k8s: Some(K8s { ns: Some("shop".into()), pod: Some("cart-1".into()), ..K8s::default() }),
            ..SyscallEvent::default()
        }
    }

    fn run(capture: &str, rules: Option<&str>) -> (Status, String) {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("capture.jsonl");
        let out = dir.path().join("alerts.jsonl");
        std::fs::write(&input, capture).unwrap();
        let mut files = Vec::new();
        if let Some(text) = rules {
            let path = dir.path().join("rules.yaml");
            std::fs::write(&path, text).unwrap();
            files.push(path);
        }
        let status = replay(&files, &[], &[input], Matching::First, Priority::Debug, Some(&out)).unwrap();
        (status, std::fs::read_to_string(out).unwrap())
    }

    #[test]
    fn builtin_rules_alert_on_shadow_with_pod_and_namespace() {
        let capture = format!(
            "{}\n{}\n",
            open_event("cat", "/etc/shadow").to_json_line(),
            open_event("cat", "/etc/hostname").to_json_line()
        );
        let (status, out) = run(&capture, None);
        assert_eq!(status, Status::Findings);
        let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 1, "{out}");
        assert_eq!(lines[0]["rule"], "Credential file read by an unexpected program");
        assert_eq!(lines[0]["source"], "syscall");
        assert_eq!(lines[0]["priority"], "Warning");
        assert_eq!(lines[0]["output_fields"]["k8s.pod.name"], "cart-1");
        let output = lines[0]["output"].as_str().unwrap();
        assert!(output.ends_with(" k8s.ns=shop k8s.pod=cart-1"), "{output}");
    }

    #[test]
    fn sensor_flags_for_the_cri_socket_and_metrics() {
        use clap::Parser;
        #[derive(Parser)]
        struct Sensor {
            #[command(flatten)]
            args: SensorArgs,
        }
        let parsed = Sensor::try_parse_from([
            "sensor",
            "--cri-socket",
            "/var/lib/kso-cluster/containerd/containerd.sock",
            "--metrics-addr",
            "127.0.0.1:9810",
        ])
        .unwrap();
        assert_eq!(
            parsed.args.cri_socket.as_deref(),
            Some(Path::new("/var/lib/kso-cluster/containerd/containerd.sock"))
        );
        assert_eq!(parsed.args.metrics_addr.as_deref(), Some("127.0.0.1:9810"));
        let defaults = Sensor::try_parse_from(["sensor"]).unwrap();
        assert_eq!((defaults.args.cri_socket, defaults.args.metrics_addr), (None, None));
    }

    #[test]
    fn own_rule_files_and_bad_lines() {
        let rules = "- rule: Any open\n  desc: d\n  condition: evt.type = openat and fd.name startswith /etc/\n  output: '%proc.name opened %fd.name'\n  priority: NOTICE\n";
        let capture =
            format!("{}\nnot json\n{{\"kind\":\"Event\"}}\n", open_event("vi", "/etc/hosts").to_json_line());
        let (status, out) = run(&capture, Some(rules));
        assert_eq!(status, Status::InputErrors);
        let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(line["output"], "vi opened /etc/hosts k8s.ns=shop k8s.pod=cart-1");
    }

    #[test]
    fn host_names_in_rules_resolve_through_the_system_resolver() {
        // `localhost` comes from /etc/hosts: resolved locally, no DNS query leaves the host.
        let rules = "- rule: Loopback by name\n  desc: d\n  condition: evt.type = connect and fd.sip.name = localhost\n  output: '%proc.name to %fd.sip.name:%fd.sport'\n  priority: NOTICE\n";
        let connect = |ip: &str| {
            let mut event = open_event("curl", "");
            event.ty = "connect".into();
            event.args.clear();
            event.fd = Some(Fd {
                num: 3,
                kind: FdKind::Ipv4,
                name: format!("->{ip}:8080"),
                sip: Some(ip.into()),
                sport: Some(8080),
                ..Fd::default()
            });
            event.to_json_line()
        };
        let capture = format!("{}\n{}\n", connect("127.0.0.1"), connect("10.9.9.9"));
        let (status, out) = run(&capture, Some(rules));
        assert_eq!(status, Status::Findings);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1, "{out}");
        let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert!(line["output"].as_str().unwrap().starts_with("curl to localhost:8080"), "{line}");
    }
}
