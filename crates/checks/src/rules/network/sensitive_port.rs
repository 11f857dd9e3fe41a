use kubesecops_k8s::{Node, Object};

use crate::rules::network::{service_spec, service_type};
use crate::{declare_rule, Config, Emitter};

/// Ports whose service should never face networks outside the cluster, with what usually
/// listens there. Remote shells, container and cluster control interfaces, and data stores
/// that are commonly deployed without authentication.
const SENSITIVE_PORTS: &[(i64, &str)] = &[
    (22, "SSH"),
    (23, "Telnet"),
    (445, "SMB"),
    (1433, "Microsoft SQL Server"),
    (1521, "Oracle Database"),
    (2181, "ZooKeeper"),
    (2375, "the Docker API (plain text)"),
    (2376, "the Docker API"),
    (2379, "the etcd client API"),
    (2380, "etcd peer traffic"),
    (3306, "MySQL"),
    (3389, "RDP"),
    (4194, "cAdvisor"),
    (5432, "PostgreSQL"),
    (5900, "VNC"),
    (5984, "CouchDB"),
    (6379, "Redis"),
    (8086, "InfluxDB"),
    (9042, "Cassandra"),
    (9200, "the Elasticsearch HTTP API"),
    (9300, "Elasticsearch transport"),
    (10250, "the kubelet API"),
    (10255, "the kubelet read-only API"),
    (10257, "kube-controller-manager"),
    (10259, "kube-scheduler"),
    (11211, "memcached"),
    (27017, "MongoDB"),
];

declare_rule! {
    /// ## What it checks
    /// Services reachable from outside the cluster (`type: NodePort`, `type: LoadBalancer`,
    /// or any Service with `externalIPs`) whose `port` or numeric `targetPort` is a well-known
    /// sensitive port: remote shells (SSH 22, Telnet 23, RDP 3389, VNC 5900), container and
    /// cluster control interfaces (Docker API 2375/2376, etcd 2379/2380, kubelet
    /// 10250/10255, cAdvisor 4194, controller-manager 10257, scheduler 10259), and data
    /// stores (MySQL 3306, PostgreSQL 5432, SQL Server 1433, Oracle 1521, MongoDB 27017, Redis
    /// 6379, Elasticsearch 9200/9300, memcached 11211, CouchDB 5984, Cassandra 9042,
    /// InfluxDB 8086, ZooKeeper 2181, SMB 445). ClusterIP Services on these ports are normal
    /// and not reported.
    ///
    /// ## Why it matters
    /// These interfaces are built for trusted networks. Exposed, they are the first thing
    /// scanners probe: a Docker API or kubelet port gives code execution, an unauthenticated
    /// Redis, MongoDB or Elasticsearch gives the data (and Redis often a shell), and SSH or a
    /// database invites password guessing (MITRE ATT&CK T1133, external remote services;
    /// T1046, network service discovery).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Service
    /// metadata:
    ///   name: db
    /// spec:
    ///   type: LoadBalancer
    ///   ports:
    ///   - port: 5432   # reported
    /// ```
    ///
    /// ## Fix
    /// Keep such Services `ClusterIP` and reach them through `kubectl port-forward`, a VPN or
    /// a bastion. If clients outside the cluster must connect, use an internal load balancer
    /// with `loadBalancerSourceRanges` and authentication on the service itself.
    ///
    /// ## References
    /// - NSA-CISA Kubernetes Hardening Guidance, network separation
    /// - Kubernetes documentation, "Ports and Protocols"
    pub static META = {
        id: "KSO-N004",
        title: "Sensitive port exposed outside the cluster",
        severity: High,
        category: Network,
        aliases: ["C-0021", "C-0042"],
        frameworks: [NsaCisa("network separation"), MitreAttack("T1133"), MitreAttack("T1046")],
    };
}

/// The well-known service on a port node, when sensitive.
fn sensitive(node: Option<&Node>) -> Option<(&Node, i64, &'static str)> {
    let node = node?;
    let number = node.as_i64()?;
    SENSITIVE_PORTS.iter().find(|(p, _)| *p == number).map(|(p, label)| (node, *p, *label))
}

/// Reports sensitive ports of externally reachable Services.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    let Some(spec) = service_spec(obj) else { return };
    let exposure = match service_type(spec).0 {
        "NodePort" => "type NodePort",
        "LoadBalancer" => "type LoadBalancer",
        _ if spec.get("externalIPs").is_some_and(|e| !e.items().is_empty()) => "externalIPs",
        _ => return,
    };
    for (i, port) in spec.get("ports").map(Node::items).unwrap_or_default().iter().enumerate() {
        let Some((node, number, label)) =
            sensitive(port.get("port")).or_else(|| sensitive(port.get("targetPort")))
        else {
            continue;
        };
        let name = port.get("name").and_then(Node::as_str).map_or_else(|| i.to_string(), str::to_string);
        out.emit(
            node.pos,
            &format!("spec.ports[{name}]"),
            format!("Service exposes {label} (port {number}) outside the cluster through {exposure}"),
        );
    }
}
