#!/usr/bin/env bash
# Creates a CA and a serving certificate for the webhook Service, stores them in the Secret
# kubesecops-admission-tls and sets the CA in the ValidatingWebhookConfiguration.
#   deploy/gen-cert.sh [KUBECTL_ARGS...]     (e.g. --context staging)
# Run it after `kubectl apply -k deploy/`. To rotate, run it again: the webhook reloads the
# mounted certificate without a restart. With cert-manager, use a Certificate for the same
# DNS names and the cert-manager.io/inject-ca-from annotation instead.
set -euo pipefail
NS=kubesecops-system
SVC=kubesecops-admission
DAYS=${DAYS:-365}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$DAYS" \
  -subj "/CN=kubesecops-admission-ca" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=$SVC.$NS.svc" -keyout "$dir/tls.key" -out "$dir/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s,DNS:%s.%s,DNS:%s.%s.svc,DNS:%s.%s.svc.cluster.local\nextendedKeyUsage=serverAuth\n' \
  "$SVC" "$SVC" "$NS" "$SVC" "$NS" "$SVC" "$NS" > "$dir/ext.cnf"
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
  -days "$DAYS" -extfile "$dir/ext.cnf" -out "$dir/tls.crt" 2>/dev/null
kubectl "$@" -n "$NS" create secret tls "$SVC-tls" --cert="$dir/tls.crt" --key="$dir/tls.key" \
  --dry-run=client -o yaml | kubectl "$@" apply -f -
ca=$(base64 < "$dir/ca.crt" | tr -d '\n')
kubectl "$@" patch validatingwebhookconfiguration "$SVC" --type=json \
  -p "[{\"op\":\"replace\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"$ca\"}]"
echo "certificate for $SVC.$NS.svc installed; CA set in ValidatingWebhookConfiguration $SVC"
