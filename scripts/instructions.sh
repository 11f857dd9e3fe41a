#!/usr/bin/env bash
# Instructions executed by `kubesecops scan` (JSON) on a generated corpus, counted by callgrind:
#   scripts/instructions.sh [OBJECTS] [BINARY...]
# A steadier measure than wall time on a machine whose speed drifts, for comparing two builds
# of the same work (this VM has no hardware counters for `perf stat -e instructions`). Without
# BINARY, builds and measures the release binary of the checkout. Needs valgrind. Note that
# callgrind runs SHA-256 without the CPU's SHA extensions, so fingerprint hashing counts for
# far more here than it costs natively.
set -euo pipefail
cd "$(dirname "$0")/.."
objects=${1:-5000}
shift || true
work=${WORK:-/tmp/kubesecops-bench}
target_dir=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p kubesecops-corpus
corpus="$work/c$objects"
[ -d "$corpus" ] || "$target_dir/release/kubesecops-corpus" "$objects" "$corpus" > /dev/null 2>&1
binaries=("$@")
if [ ${#binaries[@]} -eq 0 ]; then
  cargo build -q --release -p kubesecops
  binaries=("$target_dir/release/kubesecops")
fi
for bin in "${binaries[@]}"; do
  out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" scan "$corpus" --format json -o /dev/null 2>&1 \
    | sed -n 's/.*I *refs: *//p' | sed "s|^|$bin ($("$bin" --version | awk '{print $2}')), $objects objects: |;s|$| instructions|"
  rm -f "$out"
done
