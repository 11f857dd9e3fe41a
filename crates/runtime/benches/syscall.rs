//! Syscall events per second through the rules: a generated mix of ordinary activity (file
//! opens, program starts, connections; a few suspicious ones) evaluated, already parsed, with
//! Falco's `falco_rules.yaml` when the suites are beside the repository, and with the built-in
//! syscall rules. The figure is events per CPU-second of one thread.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kubesecops_runtime::syscall::{Container, Fd, FdKind, K8s, Process};
use kubesecops_runtime::{builtin, RuleLoader, Ruleset, SyscallEvent};

const EVENTS: usize = 20_000;

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn generate(count: usize) -> Vec<SyscallEvent> {
    const FILES: [&str; 8] = [
        "/etc/hosts",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/var/log/app.log",
        "/proc/self/status",
        "/etc/ld.so.cache",
        "/srv/data/orders.db",
        "/etc/shadow",
        "/tmp/cache/item",
    ];
    const PROGRAMS: [(&str, &str); 6] = [
        ("ls", "/bin/ls"),
        ("python3", "/usr/bin/python3"),
        ("sh", "/bin/sh"),
        ("curl", "/usr/bin/curl"),
        ("grep", "/bin/grep"),
        ("nginx", "/usr/sbin/nginx"),
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..count)
        .map(|i| {
            let (name, exepath) = PROGRAMS[rng.below(PROGRAMS.len() as u64) as usize];
            let proc = Process {
                pid: 1000 + rng.below(50),
                ppid: 900,
                name: name.into(),
                exe: name.into(),
                exepath: exepath.into(),
                args: vec!["-c".into(), format!("job-{}", rng.below(100))],
                uid: 1000,
                user: Some("app".into()),
                start_ns: 1_700_000_000_000_000_000,
                ..Process::default()
            };
            let ancestors = vec![
                Process {
                    name: "bash".into(),
                    exe: "bash".into(),
                    exepath: "/bin/bash".into(),
                    ..Process::default()
                },
                Process { name: "containerd-shim".into(), ..Process::default() },
            ];
            let in_container = rng.below(2) == 0;
            let mut event = SyscallEvent {
                time_ns: 1_700_000_001_000_000_000 + i as i64,
                num: i as u64,
                proc,
                ancestors: ancestors.into(),
                container: in_container.then(|| Container {
                    id: "0123456789ab".into(),
                    image: Some("docker.io/library/python:3.12".into()),
                    ..Container::default()
                }),
                k8s: in_container.then(|| K8s {
                    ns: Some("shop".into()),
                    pod: Some("cart-1".into()),
                    ..K8s::default()
                }),
                ..SyscallEvent::default()
            };
            match rng.below(10) {
                0..=6 => {
                    let file = FILES[rng.below(FILES.len() as u64) as usize];
                    event.ty = "openat".into();
                    event.res = Some(3);
                    event.args =
                        vec![("name".into(), file.into()), ("flags".into(), "O_RDONLY|O_CLOEXEC".into())];
                    event.fd = Some(Fd { num: 3, kind: FdKind::File, name: file.into(), ..Fd::default() });
                }
                7..=8 => {
                    event.ty = "execve".into();
                    event.res = Some(0);
                }
                _ => {
                    event.ty = "connect".into();
                    event.res = Some(0);
                    event.fd = Some(Fd {
                        num: 5,
                        kind: FdKind::Ipv4,
                        name: "10.1.0.7:41000->10.96.0.1:443".into(),
                        l4proto: Some("tcp".into()),
                        cip: Some("10.1.0.7".into()),
                        cport: Some(41000),
                        sip: Some("10.96.0.1".into()),
                        sport: Some(443),
                        ..Fd::default()
                    });
                }
            }
            event
        })
        .collect()
}

fn falco_rules() -> Option<Ruleset> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/suites/falco-k8saudit/falco-rules/rules/falco_rules.yaml");
    if !path.is_file() {
        return None;
    }
    let mut loader = RuleLoader::new();
    loader.load_file(&path).expect("falco_rules.yaml loads");
    Some(loader.compile().expect("falco_rules.yaml compiles"))
}

fn run(rules: &Ruleset, events: &[SyscallEvent]) -> usize {
    let mut alerts = Vec::new();
    let mut count = 0;
    for event in events {
        alerts.clear();
        count += rules.evaluate_syscall_into(event, &mut alerts);
    }
    count
}

/// Nanoseconds this thread has spent on a CPU (Linux).
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Events per CPU-second: the best of 5 windows of `rounds` passes over the events.
fn per_cpu_second(rounds: usize, count: usize, mut pass: impl FnMut() -> usize) -> Option<f64> {
    let mut best: Option<u64> = None;
    for _ in 0..5 {
        let start = thread_cpu_ns()?;
        for _ in 0..rounds {
            black_box(pass());
        }
        let spent = thread_cpu_ns()? - start;
        best = Some(best.map_or(spent, |b| b.min(spent)));
    }
    Some((rounds * count) as f64 / (best? as f64 / 1e9))
}

fn bench(c: &mut Criterion) {
    let events = generate(EVENTS);
    let lines: Vec<String> = events.iter().map(SyscallEvent::to_json_line).collect();
    let builtin_rules = builtin::syscall_loader().compile().expect("built-in rules compile");
    let mut sets = vec![("builtin", builtin_rules)];
    if let Some(falco) = falco_rules() {
        sets.push(("falco_rules.yaml", falco));
    }
    let mut group = c.benchmark_group("syscall");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(10);
    for (name, rules) in &sets {
        let alerts = run(rules, &events);
        let rate = per_cpu_second(5, EVENTS, || run(rules, &events));
        eprintln!(
            "syscall bench: {EVENTS} events, {name}: {} syscall rules ({} not evaluated), {alerts} alerts; {}",
            rules.stats().syscall_rules,
            rules.stats().syscall_unsupported.len(),
            rate.map_or("no CPU clock".into(), |r| format!("{:.0} events per CPU-second (rules only)", r))
        );
        group.bench_function(format!("evaluate/{name}"), |b| b.iter(|| run(rules, &events)));
    }
    let parse_rate =
        per_cpu_second(3, EVENTS, || lines.iter().filter_map(|l| SyscallEvent::parse_line(l).ok()).count());
    if let Some(rate) = parse_rate {
        eprintln!("syscall bench: capture lines parsed: {rate:.0} per CPU-second");
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
