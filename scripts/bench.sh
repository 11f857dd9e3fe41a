#!/usr/bin/env bash
# Whole-binary benchmark of `kubesecops scan`, with checkov measured beside it in the same run.
#   scripts/bench.sh [WORKDIR]
# Generates the corpora with kubesecops-corpus (deterministic), then prints wall time, MB/s,
# objects/s and peak RSS. checkov is run when found (CHECKOV=/path/to/checkov or on PATH);
# install it with `python3 -m venv /opt/checkov-venv && /opt/checkov-venv/bin/pip install checkov`.
# BIN=BINARY measures that kubesecops build instead of building one (the corpora must exist in
# WORKDIR, or GEN=BINARY name the generator); OTHER=BINARY also runs the 50,000-object JSON and
# SARIF scans with that build (an earlier commit's), each just before this build's.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/kubesecops-bench}
mkdir -p "$work"
[ -n "${BIN:-}" ] || cargo build -q --release -p kubesecops -p kubesecops-corpus
target_dir=${CARGO_TARGET_DIR:-target}
bin=${BIN:-$target_dir/release/kubesecops}
gen=${GEN:-$target_dir/release/kubesecops-corpus}
[ -d "$work/c1k" ] || "$gen" 1000 "$work/c1k"
[ -d "$work/c50k" ] || "$gen" 50000 "$work/c50k"

# measure LABEL OBJECTS DIR CMD...: prints one line of figures; leaves the seconds in $secs.
# With RUNS=N (default 1) the command runs N times and the run of median wall time is shown
# (this machine's speed drifts by tens of percent from minute to minute), with every run's
# seconds after it; the peak RSS shown is the highest of all runs.
measure() {
  local label=$1 objects=$2 dir=$3; shift 3
  local bytes rss_kb runs=${RUNS:-1}; bytes=$(du -sb "$dir" | cut -f1)
  cat "$dir"/* > /dev/null # warm the page cache so every tool reads from memory
  : > "$work/runs.txt"
  for _ in $(seq "$runs"); do
    /usr/bin/time -q -f "%e %M %U %S" -o "$work/time.txt" "$@" > /dev/null 2> "$work/err.txt" || true
    cat "$work/time.txt" >> "$work/runs.txt"
  done
  sort -g "$work/runs.txt" | sed -n "$(( (runs + 1) / 2 ))p" > "$work/time.txt"
  read -r secs rss_kb user sys < "$work/time.txt"
  # Peak memory is the highest of all runs, not the median run's.
  rss_kb=$(cut -d' ' -f2 "$work/runs.txt" | sort -g | tail -1)
  [ "$runs" -gt 1 ] && label="$label, median of $runs"
  awk -v l="$label" -v s="$secs" -v b="$bytes" -v o="$objects" -v r="$rss_kb" -v u="$user" -v y="$sys" 'BEGIN {
    if (s <= 0) s = 0.001
    printf "%-38s %8.3f s %8.1f MB/s %9.0f objects/s %7.1f MB peak RSS %7.2f CPU s\n", l, s, b/1e6/s, o/s, r/1024, u+y }'
  [ "$runs" -gt 1 ] && echo "    every run (wall s): $(cut -d' ' -f1 "$work/runs.txt" | tr '\n' ' ')"
  true
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "kubesecops $($bin --version | awk '{print $2}'), corpus: kubesecops-corpus (seed 1)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(wall s, and CPU s = user + system: on a loaded machine CPU time is the steadier figure)"
measure "kubesecops scan 1,000 objects (json)" 1000 "$work/c1k" $bin scan "$work/c1k" --format json; k1=$secs
# /usr/bin/time has 10 ms steps, too coarse for a run this short: the mean of 20 runs (perf
# stat, when present) is the figure the checkov ratio uses.
if command -v perf >/dev/null; then
  k1=$(perf stat -r 20 $bin scan "$work/c1k" --format json -o /dev/null 2>&1 >/dev/null \
    | awk '/seconds time elapsed/ {print $1}')
  echo "kubesecops scan 1,000 objects (json), mean of 20 runs: $k1 s wall"
fi
for format in json sarif; do
  [ -n "${OTHER:-}" ] && RUNS=5 measure "OTHER: scan 50,000 objects ($format)" 50000 "$work/c50k" \
    "$OTHER" scan "$work/c50k" --format $format
  RUNS=5 measure "kubesecops scan 50,000 objects ($format)" 50000 "$work/c50k" $bin scan "$work/c50k" --format $format
done
RUNS=5 measure "kubesecops pss 50,000 objects" 50000 "$work/c50k" $bin pss "$work/c50k"
checkov=${CHECKOV:-$(command -v checkov || echo /opt/checkov-venv/bin/checkov)}
if [ -x "$checkov" ]; then
  echo "checkov $($checkov --version)"
  measure "checkov --framework kubernetes 1,000" 1000 "$work/c1k" "$checkov" --framework kubernetes -d "$work/c1k" --quiet --compact -o json; c1=$secs
  awk -v c="$c1" -v k="$k1" 'BEGIN { printf "speed-up over checkov on 1,000 objects: %.0fx\n", c/k }'
else
  echo "checkov not found: no peer figure"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
