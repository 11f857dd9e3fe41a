#!/bin/sh
# Load test of the real binary: starts `kubesecops runtime serve` (release build) with Falco's
# k8saudit 0.6.0 rules when ../shared has them (else the built-in rules), posts EventList
# batches at a target rate with the load example, then prints the server's drop counters.
#
#   crates/runtime-serve/bench/load.sh [RATE] [SECONDS]      (defaults 20000 events/s, 20 s)
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
rate=${1:-20000}
seconds=${2:-20}
target_dir=${CARGO_TARGET_DIR:-$root/target}
cd "$root"
cargo build --release -p kubesecops -p kubesecops-runtime-serve --example load
bin=${KUBESECOPS_BIN:-$target_dir/release/kubesecops}
suite=$root/../shared/suites/falco-k8saudit
set --
if [ -f "$suite/falco-rules/rules/falco_rules.yaml" ]; then
  set -- --rules "$suite/falco-rules/rules/falco_rules.yaml" \
         --rules "$suite/plugins-k8saudit-0.6.0/plugins/k8saudit/rules/k8s_audit_rules.yaml"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
work=$(mktemp -d)
"$bin" runtime serve --listen "127.0.0.1:$port" --no-stdout --alert-file "$work/alerts.jsonl" "$@" 2>"$work/serve.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
"$target_dir/release/examples/load" --target "http://127.0.0.1:$port" --rate "$rate" --seconds "$seconds"
curl -s "http://127.0.0.1:$port/metrics" | grep -E '^kubesecops_runtime_(events_(received|dropped)_total|batches_rejected_total)'
