#!/usr/bin/env bash
# What the kernel hooks a syscall sensor could use cost by themselves, on this machine:
#   scripts/bench-syscall-hooks.sh [ITERATIONS] [ROUNDS]
# First says which hooks load here (a BPF trampoline on do_sys_openat2, a BPF LSM program on
# file_open, ftrace's function tracer), then runs a C loop of open/read/close on one file
# ROUNDS times without any program and with each attachable hook holding a BPF program that
# returns at once, alternating, and prints the medians and the slowdown. No work is done in
# the programs: this is the floor under any sensor built on that hook, the issue-10 sensor
# included. Root; needs clang, cc and libbpf headers (libbpf-dev).
set -euo pipefail
iterations=${1:-500000}
rounds=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

cat > hooks.bpf.c <<'C'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
/* One syscall's tracepoint: the sensor's hook (perf dispatch, then the program). */
SEC("tracepoint/syscalls/sys_exit_openat")
int tracepoint_openat(void *ctx) { return 0; }
/* The raw tracepoint every syscall exit passes. */
SEC("raw_tracepoint/sys_exit")
int raw_sys_exit(struct bpf_raw_tracepoint_args *ctx) { return 0; }
/* The same raw tracepoint with typed arguments. */
SEC("tp_btf/sys_exit")
int btf_sys_exit(__u64 *ctx) { return 0; }
/* The hooks that avoid the syscall slow path: a trampoline and an LSM program. */
SEC("fexit/do_sys_openat2")
int fexit_openat2(void *ctx) { return 0; }
SEC("lsm/file_open")
int lsm_file_open(void *ctx) { return 0; }
C

cat > hold.c <<'C'
/* hold PROGRAM: loads and attaches one program of hooks.bpf.o, prints "attached" and waits
 * for a signal; "load failed: ERR" or "attach failed: ERR" otherwise. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static int quiet(enum libbpf_print_level level, const char *format, va_list args) { return 0; }
int main(int argc, char **argv) {
    libbpf_set_print(quiet);
    struct bpf_object *object = bpf_object__open_file(argv[1], NULL);
    if (!object) { printf("open failed: %s\n", strerror(errno)); return 1; }
    struct bpf_program *program;
    bpf_object__for_each_program(program, object)
        bpf_program__set_autoload(program, strcmp(bpf_program__name(program), argv[2]) == 0);
    int err = bpf_object__load(object);
    if (err) { printf("load failed: %s\n", strerror(-err)); return 1; }
    program = bpf_object__find_program_by_name(object, argv[2]);
    if (!bpf_program__attach(program)) { printf("attach failed: %s\n", strerror(errno)); return 1; }
    printf("attached\n");
    fflush(stdout);
    pause();
    return 0;
}
C

cat > loop.c <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    char buf[256];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        int fd = open("/etc/hostname", O_RDONLY);
        if (fd < 0 || read(fd, buf, sizeof buf) < 0) { perror("loop"); return 1; }
        close(fd);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.4f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
    return 0;
}
C

arch_include=/usr/include/$(uname -m)-linux-gnu
clang -O2 -g -target bpf -I"$arch_include" -c hooks.bpf.c -o hooks.bpf.o
cc -O2 -o hold hold.c -lbpf
cc -O2 -o loop loop.c

# attach PROGRAM: starts ./hold in the background; its pid in $holder, or returns 1 with the reason.
attach() {
  ./hold hooks.bpf.o "$1" > "hold.$1" 2>&1 &
  holder=$!
  for _ in $(seq 100); do
    grep -q attached "hold.$1" && return 0
    kill -0 "$holder" 2>/dev/null || break
    sleep 0.05
  done
  kill "$holder" 2>/dev/null || true
  wait "$holder" 2>/dev/null || true
  return 1
}

echo "== hooks on this kernel ($(uname -r))"
hooks=(none)
for program in tracepoint_openat raw_sys_exit btf_sys_exit fexit_openat2 lsm_file_open; do
  if attach "$program"; then
    kill "$holder"; wait "$holder" 2>/dev/null || true
    echo "$program: attaches"
    hooks+=("$program")
  else
    echo "$program: $(cat "hold.$program")"
  fi
done
tracing=/sys/kernel/tracing
[ -e "$tracing/current_tracer" ] || mount -t tracefs nodev "$tracing" 2>/dev/null || true
if (echo function > "$tracing/current_tracer") 2>/dev/null; then
  echo nop > "$tracing/current_tracer"
  echo "ftrace function tracer: can be enabled"
else
  echo "ftrace function tracer: refused ($(cat /sys/kernel/security/lockdown 2>/dev/null || echo 'lockdown state unknown'))"
fi

echo "== open/read/close of /etc/hostname, $iterations times, $rounds rounds, load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
  for hook in "${hooks[@]}"; do
    if [ "$hook" = none ]; then
      seconds=$(./loop "$iterations")
    else
      attach "$hook"
      seconds=$(./loop "$iterations")
      kill "$holder"; wait "$holder" 2>/dev/null || true
    fi
    echo "round $round $hook $seconds"
    echo "$hook $seconds" >> times
  done
done
echo "== medians (load $(cut -d' ' -f1-3 /proc/loadavg))"
median() { grep "^$1 " times | cut -d' ' -f2 | sort -n | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
base=$(median none)
for hook in "${hooks[@]}"; do
  m=$(median "$hook")
  awk -v h="$hook" -v m="$m" -v b="$base" 'BEGIN{ if (h=="none") printf "%-18s %.3f s\n", h, m; else printf "%-18s %.3f s  %+.1f%%\n", h, m, (m/b-1)*100 }'
done
