#!/bin/sh
# Speed and memory of `kubesecops image` on a ~1 GB docker-archive tarball, beside
# `sha256sum` of the same file, in one run (figures in docs/benchmarks.md).
#
#   crates/image/benches/image_scan.sh [KUBESECOPS_BIN] [MEGABYTES]
#
# Times sha256sum, the library pipeline (`scan_image` example: open, every layer read once with
# digests verified, packages detected) and, when a release build of kubesecops exists, the
# full command. Needs /usr/bin/time. The image is generated once into $BENCH_DIR (default
# /tmp/kso-image-bench); delete it afterwards (it is as large as asked).
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
bin=${1:-$target/release/kubesecops}
megabytes=${2:-1024}
dir=${BENCH_DIR:-/tmp/kso-image-bench}
mkdir -p "$dir"
image=$dir/big-$megabytes.tar
cargo build --release -q -p kubesecops-image --example big_image --example scan_image
if [ ! -f "$image" ]; then
  "$target/release/examples/big_image" "$image" "$megabytes"
fi
# A database with one record, so that the vulnerability scanner runs its lookups.
mkdir -p "$dir/osv"
cat > "$dir/osv/BENCH-1.json" <<'JSON'
{"schema_version": "1.6.0", "id": "BENCH-1", "modified": "2024-05-01T00:00:00Z",
 "affected": [{"package": {"ecosystem": "PyPI", "name": "django"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "4.2.2"}]}]}]}
JSON
[ -x "$bin" ] && "$bin" db import --db "$dir/db" "$dir/osv" >/dev/null
cat "$image" > /dev/null # warm the page cache for both tools alike
measure() {
  label=$1; shift
  /usr/bin/time -v "$@" > /dev/null 2> "$dir/time.txt" || { cat "$dir/time.txt"; exit 1; }
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/time.txt")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/time.txt")
  user=$(sed -n 's/.*User time (seconds): //p' "$dir/time.txt")
  sys=$(sed -n 's/.*System time (seconds): //p' "$dir/time.txt")
  echo "$label: wall $wall, user ${user}s, sys ${sys}s, max RSS $((rss / 1024)) MB"
}
echo "image: $image ($(du -m "$image" | cut -f1) MB); load: $(cut -d' ' -f1-3 /proc/loadavg)"
for run in 1 2 3; do
  measure "run $run sha256sum" sha256sum "$image"
  measure "run $run scan_image (library)" "$target/release/examples/scan_image" "$image"
  if [ -x "$bin" ]; then
    measure "run $run kubesecops image (vuln,config)" "$bin" image "$image" --db "$dir/db" --format json
    measure "run $run kubesecops image (vuln,secret,config)" "$bin" image "$image" --db "$dir/db" --scanners vuln,secret,config --format json
  fi
done
