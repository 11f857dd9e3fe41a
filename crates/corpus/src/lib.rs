//! Deterministic corpora of Kubernetes manifests for benchmarks.
//!
//! The mix resembles a real repository of applications: Deployments, StatefulSets,
//! CronJobs, Pods, Services, Ingresses, ConfigMaps, RBAC objects and NetworkPolicies, with
//! security settings that vary from hardened to careless so that rules both fire and pass.
//! The same seed always gives the same bytes.

use std::fmt::Write;

/// A small xorshift generator: deterministic, dependency-free, good enough for variety.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is mapped to a fixed non-zero state).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const APPS: &[&str] =
    &["web", "api", "worker", "cache", "search", "billing", "auth", "catalog", "cart", "mailer"];
const IMAGES: &[&str] = &[
    "nginx:1.25.3",
    "nginx:latest",
    "registry.example.com/team/api:2.4.1",
    "registry.example.com/team/worker@sha256:8f14e45fceea167a5a36dedd4bea2543e8f1c4f0a1b2c3d4e5f60718293a4b5c",
    "redis",
    "postgres:16",
    "ghcr.io/example/search:0.9.0",
    "busybox:1.36",
];

fn container(out: &mut String, rng: &mut Rng, indent: &str, name: &str) {
    let image = rng.pick(IMAGES);
    let _ = writeln!(out, "{indent}- name: {name}\n{indent}  image: {image}");
    if rng.chance(50) {
        let _ = writeln!(out, "{indent}  imagePullPolicy: {}", rng.pick(&["Always", "IfNotPresent"]));
    }
    let _ = writeln!(
        out,
        "{indent}  ports:\n{indent}  - containerPort: {}\n{indent}    name: http",
        8000 + rng.below(100)
    );
    if rng.chance(10) {
        let _ = writeln!(out, "{indent}    hostPort: {}", 30000 + rng.below(1000));
    }
    let _ = writeln!(
        out,
        "{indent}  env:\n{indent}  - name: LOG_LEVEL\n{indent}    value: info\n{indent}  - name: APP_MODE\n{indent}    value: production"
    );
    if rng.chance(15) {
        let _ = writeln!(out, "{indent}  - name: DB_PASSWORD\n{indent}    value: example-not-secret");
    } else {
        let _ = writeln!(
            out,
            "{indent}  - name: DB_PASSWORD\n{indent}    valueFrom:\n{indent}      secretKeyRef:\n{indent}        name: db\n{indent}        key: password"
        );
    }
    if rng.chance(80) {
        let _ = writeln!(out, "{indent}  securityContext:");
        if rng.chance(5) {
            let _ = writeln!(out, "{indent}    privileged: true");
        }
        let _ = writeln!(out, "{indent}    allowPrivilegeEscalation: {}", rng.chance(80));
        let _ = writeln!(out, "{indent}    readOnlyRootFilesystem: {}", rng.chance(70));
        if rng.chance(70) {
            let _ = writeln!(
                out,
                "{indent}    runAsNonRoot: true\n{indent}    runAsUser: {}",
                1000 + rng.below(20000)
            );
        }
        let _ = writeln!(out, "{indent}    capabilities:");
        if rng.chance(10) {
            let _ = writeln!(
                out,
                "{indent}      add: [{}]",
                rng.pick(&["NET_ADMIN", "SYS_ADMIN", "NET_BIND_SERVICE"])
            );
        }
        let _ = writeln!(out, "{indent}      drop: [ALL]");
    }
    if rng.chance(75) {
        let _ = writeln!(
            out,
            "{indent}  resources:\n{indent}    requests:\n{indent}      cpu: {}m\n{indent}      memory: {}Mi\n{indent}    limits:\n{indent}      cpu: {}m\n{indent}      memory: {}Mi",
            50 + rng.below(500),
            64 + rng.below(512),
            500 + rng.below(1500),
            256 + rng.below(2048)
        );
    }
    if rng.chance(70) {
        let _ = writeln!(
            out,
            "{indent}  livenessProbe:\n{indent}    httpGet:\n{indent}      path: /healthz\n{indent}      port: http\n{indent}    periodSeconds: 10\n{indent}  readinessProbe:\n{indent}    httpGet:\n{indent}      path: /ready\n{indent}      port: http"
        );
    }
    let _ = writeln!(
        out,
        "{indent}  volumeMounts:\n{indent}  - name: config\n{indent}    mountPath: /etc/{name}\n{indent}    readOnly: true"
    );
}

fn pod_spec(out: &mut String, rng: &mut Rng, indent: &str, app: &str) {
    if rng.chance(60) {
        let _ = writeln!(out, "{indent}serviceAccountName: {app}");
    }
    if rng.chance(50) {
        let _ = writeln!(out, "{indent}automountServiceAccountToken: false");
    }
    if rng.chance(5) {
        let _ = writeln!(out, "{indent}hostNetwork: true");
    }
    if rng.chance(60) {
        let _ = writeln!(
            out,
            "{indent}securityContext:\n{indent}  runAsNonRoot: true\n{indent}  fsGroup: 2000\n{indent}  seccompProfile:\n{indent}    type: RuntimeDefault"
        );
    }
    let _ = writeln!(out, "{indent}containers:");
    container(out, rng, indent, app);
    if rng.chance(30) {
        container(out, rng, indent, "sidecar");
    }
    let _ = writeln!(
        out,
        "{indent}volumes:\n{indent}- name: config\n{indent}  configMap:\n{indent}    name: {app}-config"
    );
    if rng.chance(5) {
        let _ = writeln!(
            out,
            "{indent}- name: host\n{indent}  hostPath:\n{indent}    path: /var/run/docker.sock"
        );
    }
}

fn metadata(out: &mut String, name: &str, namespace: &str, app: &str) {
    let _ = writeln!(
        out,
        "metadata:\n  name: {name}\n  namespace: {namespace}\n  labels:\n    app: {app}\n    team: platform\n  annotations:\n    owner: platform@example.com"
    );
}

/// Writes object number `i` (one YAML document, without the `---` separator).
pub fn object(rng: &mut Rng, i: usize) -> String {
    let app = *rng.pick(APPS);
    let namespace = format!("team-{}", i % 37);
    let name = format!("{app}-{i}");
    let mut out = String::with_capacity(2048);
    match rng.below(100) {
        0..=29 => {
            out.push_str("apiVersion: apps/v1\nkind: Deployment\n");
            metadata(&mut out, &name, &namespace, app);
            let _ = writeln!(
                out,
                "spec:\n  replicas: {}\n  selector:\n    matchLabels:\n      app: {app}\n  template:\n    metadata:\n      labels:\n        app: {app}\n    spec:",
                1 + rng.below(5)
            );
            pod_spec(&mut out, rng, "      ", app);
        }
        30..=37 => {
            out.push_str("apiVersion: apps/v1\nkind: StatefulSet\n");
            metadata(&mut out, &name, &namespace, app);
            let _ = writeln!(
                out,
                "spec:\n  serviceName: {app}\n  selector:\n    matchLabels:\n      app: {app}\n  template:\n    metadata:\n      labels:\n        app: {app}\n    spec:"
            );
            pod_spec(&mut out, rng, "      ", app);
        }
        38..=43 => {
            out.push_str("apiVersion: batch/v1\nkind: CronJob\n");
            metadata(&mut out, &name, &namespace, app);
            out.push_str("spec:\n  schedule: \"*/15 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n");
            pod_spec(&mut out, rng, "          ", app);
        }
        44..=49 => {
            out.push_str("apiVersion: v1\nkind: Pod\n");
            metadata(&mut out, &name, &namespace, app);
            out.push_str("spec:\n");
            pod_spec(&mut out, rng, "  ", app);
        }
        50..=64 => {
            out.push_str("apiVersion: v1\nkind: Service\n");
            metadata(&mut out, &name, &namespace, app);
            let kind = rng.pick(&["ClusterIP", "ClusterIP", "ClusterIP", "NodePort", "LoadBalancer"]);
            let _ = writeln!(
                out,
                "spec:\n  type: {kind}\n  selector:\n    app: {app}\n  ports:\n  - name: http\n    port: 80\n    targetPort: http"
            );
        }
        65..=74 => {
            out.push_str("apiVersion: v1\nkind: ConfigMap\n");
            metadata(&mut out, &format!("{app}-config"), &namespace, app);
            let _ = writeln!(
                out,
                "data:\n  LOG_FORMAT: json\n  FEATURE_FLAGS: \"search,checkout,recommendations\"\n  settings.yaml: |\n    server:\n      port: 8080\n      timeout: 30s\n    cache:\n      ttl: 300"
            );
        }
        75..=81 => {
            out.push_str("apiVersion: networking.k8s.io/v1\nkind: Ingress\n");
            metadata(&mut out, &name, &namespace, app);
            if rng.chance(60) {
                let _ =
                    writeln!(out, "spec:\n  tls:\n  - hosts: [{app}.example.com]\n    secretName: {app}-tls");
            } else {
                out.push_str("spec:\n");
            }
            let _ = writeln!(
                out,
                "  rules:\n  - host: {app}.example.com\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: {app}\n            port:\n              number: 80"
            );
        }
        82..=89 => {
            let cluster = rng.chance(30);
            let kind = if cluster { "ClusterRole" } else { "Role" };
            let _ = writeln!(out, "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}");
            metadata(&mut out, &name, &namespace, app);
            let verbs = rng.pick(&["[get, list, watch]", "[\"*\"]", "[get, list, create, update, delete]"]);
            let resources =
                rng.pick(&["[pods, services]", "[secrets]", "[\"*\"]", "[configmaps]", "[pods/exec]"]);
            let _ = writeln!(out, "rules:\n- apiGroups: [\"\"]\n  resources: {resources}\n  verbs: {verbs}");
        }
        90..=94 => {
            let _ = writeln!(out, "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding");
            metadata(&mut out, &name, &namespace, app);
            let role = rng.pick(&["edit", "view", "cluster-admin", "deployer"]);
            let _ = writeln!(
                out,
                "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: {role}\nsubjects:\n- kind: ServiceAccount\n  name: {app}\n  namespace: {namespace}"
            );
        }
        _ => {
            out.push_str("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n");
            metadata(&mut out, &name, &namespace, app);
            if rng.chance(50) {
                out.push_str("spec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n");
            } else {
                let _ = writeln!(
                    out,
                    "spec:\n  podSelector:\n    matchLabels:\n      app: {app}\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n          app: web\n    ports:\n    - port: 8080\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 0.0.0.0/0\n        except: [169.254.169.254/32]"
                );
            }
        }
    }
    out
}

/// A corpus of `objects` objects split into files of `per_file` documents each, as
/// (file name, content) pairs.
pub fn corpus(objects: usize, per_file: usize, seed: u64) -> Vec<(String, String)> {
    let mut rng = Rng::new(seed);
    let per_file = per_file.max(1);
    let mut files = Vec::new();
    let mut current = String::new();
    for i in 0..objects {
        if i > 0 && i % per_file == 0 {
            files.push((format!("manifests-{:05}.yaml", files.len()), std::mem::take(&mut current)));
        }
        current.push_str("---\n");
        current.push_str(&object(&mut rng, i));
    }
    if !current.is_empty() {
        files.push((format!("manifests-{:05}.yaml", files.len()), current));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_split_into_files() {
        let a = corpus(250, 100, 7);
        assert_eq!(a, corpus(250, 100, 7));
        assert_ne!(a, corpus(250, 100, 8));
        assert_eq!(a.len(), 3);
        let docs: usize = a.iter().map(|(_, t)| t.matches("---\n").count()).sum();
        assert_eq!(docs, 250);
    }
}
