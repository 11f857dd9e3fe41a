#!/usr/bin/env bash
# Whole-binary benchmark of `kubesecops scan`, with checkov measured beside it in the same run.
#   scripts/bench.sh [WORKDIR]
# Generates the corpora with kubesecops-corpus (deterministic), then prints wall time, MB/s,
# objects/s and peak RSS. checkov is run when found (CHECKOV=/path/to/checkov or on PATH);
# install it with `python3 -m venv /opt/checkov-venv && /opt/checkov-venv/bin/pip install checkov`.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/kubesecops-bench}
mkdir -p "$work"
cargo build -q --release -p kubesecops -p kubesecops-corpus
bin=target/release/kubesecops
gen=target/release/kubesecops-corpus
[ -d "$work/c1k" ] || "$gen" 1000 "$work/c1k"
[ -d "$work/c50k" ] || "$gen" 50000 "$work/c50k"

measure() { # label objects dir cmd...
  local label=$1 objects=$2 dir=$3; shift 3
  local bytes; bytes=$(du -sb "$dir" | cut -f1)
  # Warm the page cache so both tools read from memory.
  cat "$dir"/* > /dev/null
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" > "$work/out.txt" 2> "$work/err.txt" || true
  read -r secs rss_kb < "$work/time.txt"
  awk -v l="$label" -v s="$secs" -v b="$bytes" -v o="$objects" -v r="$rss_kb" 'BEGIN {
    printf "%-34s %8.3f s %9.1f MB/s %10.0f objects/s %8.1f MB peak RSS\n", l, s, b/1e6/(s>0?s:1e-9), o/(s>0?s:1e-9), r/1024 }'
  echo "$secs"
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "kubesecops $($bin --version | awk '{print $2}'), corpus: kubesecops-corpus (seed 1)"
k1=$(measure "kubesecops scan 1,000 objects" 1000 "$work/c1k" $bin scan "$work/c1k" --format json | tee /dev/stderr | tail -1)
measure "kubesecops scan 50,000 objects" 50000 "$work/c50k" $bin scan "$work/c50k" --format json | head -1
measure "kubesecops scan 50,000 (sarif)" 50000 "$work/c50k" $bin scan "$work/c50k" --format sarif | head -1
checkov=${CHECKOV:-$(command -v checkov || echo /opt/checkov-venv/bin/checkov)}
if [ -x "$checkov" ]; then
  echo "checkov $($checkov --version)"
  c1=$(measure "checkov --framework kubernetes 1,000" 1000 "$work/c1k" "$checkov" --framework kubernetes -d "$work/c1k" --quiet --compact -o json | tee /dev/stderr | tail -1)
  awk -v c="$c1" -v k="$k1" 'BEGIN { printf "speed-up over checkov on 1,000 objects: %.0fx\n", c/k }'
else
  echo "checkov not found: no peer figure"
fi
