//! Throughput of secret detection with all built-in rules on a generated mixed corpus.
//!
//! `cargo bench -p kubesecops-secrets --bench scan` reports MB/s (criterion's `thrpt`):
//! - `parallel`: every file scanned with rayon across the machine's cores, wall-clock time
//!   (what `kubesecops secrets` does after reading the files);
//! - `single`: one thread, wall-clock time;
//! - `single-cpu`: one thread, measured in CPU time of that thread (Linux), which stays
//!   meaningful on a machine shared with other work.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kubesecops_secrets::{builtin, Input, Scanner};
use rayon::prelude::*;

#[path = "support/corpus.rs"]
mod corpus;

/// About 43 MB of text.
const FILES: usize = 2_500;

/// CPU time consumed by the calling thread, when the platform tells it.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn scan_all(scanner: &Scanner, files: &[(String, String)]) -> usize {
    files.iter().map(|(path, text)| scanner.scan(&Input::new(path, text)).len()).sum()
}

fn bench_scan(c: &mut Criterion) {
    let scanner = Scanner::new(builtin::ruleset());
    let examples: Vec<&str> = builtin::rules().map(|r| r.example).collect();
    let files = corpus::generate(FILES, 0x5ec7e7, &examples);
    let bytes: usize = files.iter().map(|(_, text)| text.len()).sum();
    eprintln!(
        "corpus: {} files, {:.1} MB, {} findings, {} rules",
        files.len(),
        bytes as f64 / 1e6,
        scan_all(&scanner, &files),
        scanner.rules().len()
    );

    let mut group = c.benchmark_group("secrets");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    group.bench_function("parallel", |b| {
        b.iter(|| {
            files.par_iter().map(|(path, text)| scanner.scan(&Input::new(path, text)).len()).sum::<usize>()
        })
    });
    group.bench_function("single", |b| b.iter(|| scan_all(&scanner, &files)));
    if thread_cpu_time().is_some() {
        group.bench_function("single-cpu", |b| {
            b.iter_custom(|iters| {
                let wall = Instant::now();
                let start = thread_cpu_time().unwrap_or_default();
                for _ in 0..iters {
                    std::hint::black_box(scan_all(&scanner, &files));
                }
                thread_cpu_time().map_or_else(|| wall.elapsed(), |end| end - start)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_scan);
criterion_main!(benches);
