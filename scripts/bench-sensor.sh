#!/usr/bin/env bash
# The eBPF sensor's cost to a syscall-heavy workload, measured side by side in one run:
#   scripts/bench-sensor.sh [ITERATIONS] [ROUNDS]
# Builds kubesecops (release, --features ebpf) and a C loop of open/read/close on one file,
# then runs the loop ROUNDS times without the sensor and ROUNDS times with `runtime sensor`
# running (Falco's falco_rules.yaml when ../shared has it, else the built-in rules),
# alternating, and prints each run, the medians and the slowdown. Root (the sensor loads BPF
# programs); needs clang or cc. The sensor's own summary (events, kernel drops) is printed too.
# With FLOOR=1, a second binary whose openat program returns at once (built with
# -DKSO_BENCH_STOP=0) runs in each round as well: the cost of the tracepoint alone.
# With STATS=1, the kernel's BPF statistics are on during the runs (kernel.bpf_stats_enabled,
# which adds its own clock reads to every program run) and each sensor prints its openat
# program's mean time per run. With OTHER=BINARY, that kubesecops binary (another build of the
# sensor, for example of an earlier commit) runs in each round as well. With STEPS=1 (implies
# STATS=1), four more binaries run in each round, whose openat program stops after step 1..4
# of its work (KSO_BENCH_STOP in sensor.bpf.c): what each step costs.
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-1000000}
rounds=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=${CARGO_TARGET_DIR:-target}/release/kubesecops
# build_stopping STEP: a build whose openat program stops after STEP, as $work/kubesecops-stepSTEP.
build_stopping() {
  printf '#!/bin/sh\nexec %s -DKSO_BENCH_STOP=%s "$@"\n' "${CLANG:-clang}" "$1" > "$work/clang-step$1"
  chmod +x "$work/clang-step$1"
  CLANG="$work/clang-step$1" cargo build -q --release -p kubesecops --features ebpf
  cp "$bin" "$work/kubesecops-step$1"
}
steps=()
if [ "${STEPS:-0}" = 1 ]; then STATS=1; steps=(1 2 3 4); fi
[ "${FLOOR:-0}" = 1 ] && build_stopping 0
for step in "${steps[@]}"; do build_stopping "$step"; done
cargo build -q --release -p kubesecops --features ebpf
cc=$(command -v cc || command -v clang)
cat > "$work/loop.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    char buf[256];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        int fd = open("/etc/hostname", O_RDONLY);
        if (fd < 0) { perror("open"); return 1; }
        if (read(fd, buf, sizeof buf) < 0) { perror("read"); return 1; }
        close(fd);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%.4f\n", s);
    return 0;
}
C
"$cc" -O2 -o "$work/loop" "$work/loop.c"
rules=()
falco=../shared/suites/falco-k8saudit/falco-rules/rules/falco_rules.yaml
[ -f "$falco" ] && rules=(--rules "$falco")

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), kernel $(uname -r)"
echo "workload: $iterations x open/read/close of /etc/hostname; rules: ${rules[1]:-built-in}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# with_sensor BINARY: runs the loop while BINARY's sensor runs; prints the seconds.
with_sensor() {
  "$1" runtime sensor "${rules[@]}" > "$work/alerts" 2> "$work/sensor.err" &
  local sensor=$!
  # Attached once it has said so.
  for _ in $(seq 100); do grep -q "loading BPF programs" "$work/sensor.err" && break; sleep 0.1; done
  sleep 1
  "$work/loop" "$iterations"
  kill -TERM "$sensor"; wait "$sensor" || true
}
# The last sensor's summary and, with STATS=1, its openat program's mean time per run.
sensor_summary() {
  grep -E "sensor stopped|BPF program exit_openat:" "$work/sensor.err" | sed 's/^/    /' || true
}
if [ "${STATS:-0}" = 1 ]; then
  stats_before=$(sysctl -n kernel.bpf_stats_enabled)
  trap 'sysctl -q kernel.bpf_stats_enabled="$stats_before"; rm -rf "$work"' EXIT
  sysctl -q kernel.bpf_stats_enabled=1
  echo "kernel BPF statistics on"
fi
without=() with=() floor=() other=()
for round in $(seq "$rounds"); do
  t=$("$work/loop" "$iterations"); without+=("$t"); echo "round $round without sensor: $t s"
  if [ "${FLOOR:-0}" = 1 ]; then
    t=$(with_sensor "$work/kubesecops-step0"); floor+=("$t"); echo "round $round empty openat program: $t s"
    sensor_summary
  fi
  for step in "${steps[@]}"; do
    t=$(with_sensor "$work/kubesecops-step$step"); echo "round $round openat program stopping after step $step: $t s"
    sensor_summary
  done
  if [ -n "${OTHER:-}" ]; then
    t=$(with_sensor "$OTHER"); other+=("$t"); echo "round $round with $OTHER: $t s"
    sensor_summary
  fi
  t=$(with_sensor "$bin"); with+=("$t"); echo "round $round with sensor:    $t s"
  sensor_summary
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
m0=$(median "${without[@]}"); m1=$(median "${with[@]}")
awk -v a="$m0" -v b="$m1" -v n="$iterations" 'BEGIN {
  printf "median without: %.4f s (%.0f iterations/s), with: %.4f s (%.0f iterations/s): slowdown %.1f%%\n",
    a, n/a, b, n/b, (b/a - 1) * 100 }'
if [ "${FLOOR:-0}" = 1 ]; then
  m2=$(median "${floor[@]}")
  awk -v a="$m0" -v b="$m2" 'BEGIN {
    printf "median with an empty openat program: %.4f s: slowdown %.1f%% (the tracepoint alone)\n", b, (b/a - 1) * 100 }'
fi
if [ -n "${OTHER:-}" ]; then
  m3=$(median "${other[@]}")
  awk -v a="$m0" -v b="$m3" -v o="$OTHER" 'BEGIN {
    printf "median with %s: %.4f s: slowdown %.1f%%\n", o, b, (b/a - 1) * 100 }'
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
