#!/usr/bin/env bash
# Cluster scan benchmark: creates 10,000 objects (ConfigMaps and Deployments with replicas 0)
# in namespaces e2e-cluster-bench-N of the kso test cluster, runs `kubesecops cluster scan`
# under /usr/bin/time -v, prints wall time and peak memory, and deletes the namespaces.
# Run inside the kso-node network namespace with the cluster up, e.g.:
#   ip netns exec kso-node env KSO_KUBECONFIG=/var/lib/kso-cluster/admin.kubeconfig \
#     KSO_KUBECTL=/var/cache/kso-cluster/bin/kubectl scripts/bench-cluster-scan.sh target/release/kubesecops
set -euo pipefail
BIN=${1:?usage: bench-cluster-scan.sh PATH/TO/kubesecops [OBJECTS]}
TOTAL=${2:-10000}
KUBECONFIG=${KSO_KUBECONFIG:?set KSO_KUBECONFIG}
KUBECTL=${KSO_KUBECTL:-kubectl}
NAMESPACES=10
WORK=$(mktemp -d)
cleanup() {
  for i in $(seq 1 $NAMESPACES); do
    "$KUBECTL" --kubeconfig "$KUBECONFIG" delete namespace "e2e-cluster-bench-$i" --wait=false --ignore-not-found >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Half ConfigMaps, half Deployments, spread over the namespaces.
per_ns=$((TOTAL / NAMESPACES))
for i in $(seq 1 $NAMESPACES); do
  f="$WORK/ns-$i.yaml"
  printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: e2e-cluster-bench-%d}\n' "$i" > "$f"
  for j in $(seq 1 $((per_ns / 2))); do
    printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: e2e-cluster-bench-%d}\ndata: {key: value-%d, other: "some configuration text"}\n' "$j" "$i" "$j" >> "$f"
    printf -- '---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app-%d, namespace: e2e-cluster-bench-%d, labels: {app: app-%d}}\nspec:\n  replicas: 0\n  selector: {matchLabels: {app: app-%d}}\n  template:\n    metadata: {labels: {app: app-%d}}\n    spec:\n      containers:\n      - name: app\n        image: registry.invalid/app:%d\n        ports: [{containerPort: 8080}]\n        resources: {limits: {cpu: 100m, memory: 64Mi}}\n' "$j" "$i" "$j" "$j" "$j" "$j" >> "$f"
  done
done
start=$(date +%s)
for i in $(seq 1 $NAMESPACES); do
  "$KUBECTL" --kubeconfig "$KUBECONFIG" apply -f "$WORK/ns-$i.yaml" >/dev/null &
done
wait
echo "created $TOTAL objects in $(( $(date +%s) - start )) s"
count=$("$KUBECTL" --kubeconfig "$KUBECONFIG" get configmaps,deployments -A --no-headers | grep -c e2e-cluster-bench || true)
echo "objects present: $count"

for run in 1 2 3; do
  /usr/bin/time -v "$BIN" cluster scan --kubeconfig "$KUBECONFIG" --format json -o "$WORK/report.json" \
    --qps 1000 2> "$WORK/time.txt" || true
  wall=$(grep 'Elapsed (wall clock)' "$WORK/time.txt" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$WORK/time.txt" | awk '{print $NF}')
  summary=$(grep '^kubesecops: cluster' "$WORK/time.txt" || true)
  echo "run $run: wall $wall, peak RSS $((rss / 1024)) MB; $summary"
done

# The floor beside it: kubectl only listing every listable resource (no evaluation), same run.
resources=$("$KUBECTL" --kubeconfig "$KUBECONFIG" api-resources --verbs=list -o name | paste -sd, -)
for run in 1 2 3; do
  /usr/bin/time -v "$KUBECTL" --kubeconfig "$KUBECONFIG" get "$resources" -A -o json \
    > "$WORK/kubectl.json" 2> "$WORK/time.txt" || true
  wall=$(grep 'Elapsed (wall clock)' "$WORK/time.txt" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$WORK/time.txt" | awk '{print $NF}')
  echo "kubectl get (all listable resources) -A -o json, run $run: wall $wall, peak RSS $((rss / 1024)) MB"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
