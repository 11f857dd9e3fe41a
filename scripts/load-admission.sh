#!/usr/bin/env bash
# Load test of the admission webhook: builds the release binary, serves with TLS on
# loopback, and POSTs a realistic AdmissionReview (a ReplicaSet's pod, denied by the default
# config) with wrk for DURATION (20 s). Prints requests/s, errors and the p99 latency.
#   scripts/load-admission.sh [--no-build]
#   env: DURATION=20s THREADS=1 CONNECTIONS=2 CONFIG=FILE (default config without)
# Goal (issue 3): >= 1,000 req/s, zero errors, p99 < 10 ms on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DURATION=${DURATION:-20s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-2}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/kubesecops

command -v wrk >/dev/null || {
  echo "wrk is missing; installing the Debian package" >&2
  apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
}
if [ "${1:-}" != "--no-build" ]; then
  cargo build --release -p kubesecops
fi
[ -x "$BIN" ] || { echo "no release binary at $BIN" >&2; exit 1; }

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
config_args=()
[ -n "${CONFIG:-}" ] && config_args=(--config "$CONFIG")
"$BIN" serve --listen "127.0.0.1:$port" --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" \
  "${config_args[@]}" 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS --cacert "$work/tls.crt" "https://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS --cacert "$work/tls.crt" "https://127.0.0.1:$port/healthz" >/dev/null || {
  echo "the webhook did not start:" >&2; cat "$work/serve.log" >&2; exit 1;
}
REVIEW=$ROOT/crates/admission/tests/fixtures/pod-review.json
# One sanity request: the verdict the load test measures.
curl -fsS --cacert "$work/tls.crt" -H 'Content-Type: application/json' --data-binary "@$REVIEW" \
  "https://127.0.0.1:$port/validate" | python3 -c 'import json,sys; r=json.load(sys.stdin)["response"]; print("verdict: allowed=%s %s" % (r["allowed"], r.get("status",{}).get("message","")[:160]))'

cat > "$work/review.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("$REVIEW", "rb"))
wrk.body = f:read("*a")
f:close()
function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  io.write(string.format("RESULT requests=%d duration_s=%.2f rps=%.1f errors=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6), errors,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
LUA
echo "machine: $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$work/review.lua" "https://127.0.0.1:$port/validate"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
curl -fsS --cacert "$work/tls.crt" "https://127.0.0.1:$port/metrics" | grep -E '^kubesecops_admission_requests_total|_count ' || true
