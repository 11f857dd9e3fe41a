use kubesecops_k8s::Object;

use crate::rules::rbac::report_grants;
use crate::{declare_rule, Config, Emitter};

/// Resources whose creation or modification starts pods of the writer's choosing.
const POD_STARTERS: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
];

declare_rule! {
    /// ## What it checks
    /// Role and ClusterRole rules that grant `create`, `update` or `patch` on pods or on the
    /// controllers that create them: ReplicationControllers, Deployments, ReplicaSets,
    /// StatefulSets, DaemonSets, Jobs and CronJobs (also through `*`, unless verbs and
    /// resources are both `*`). Rules limited to named objects with `resourceNames` are not
    /// reported: they cannot create new objects and only change the ones named.
    ///
    /// ## Why it matters
    /// Whoever can create a pod in a namespace can run it as any service account of that
    /// namespace, mount any of its Secrets and ConfigMaps, and, unless Pod Security admission
    /// stops it, mount the node's filesystem or run privileged. Creating pods is therefore
    /// equivalent to holding every credential of the namespace, and often the node (MITRE
    /// ATT&CK T1610, deploy container). Updating a controller's pod template does the same.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: Role
    /// metadata:
    ///   name: ci-deployer
    /// rules:
    /// - apiGroups: ["apps"]
    ///   resources: ["deployments"]   # reported
    ///   verbs: ["create", "update", "patch"]
    /// ```
    ///
    /// ## Fix
    /// Keep pod creation with controllers and a small number of deployers, enforce Pod
    /// Security admission (`restricted`) in their namespaces, and give CI a dedicated
    /// namespace-scoped identity rather than a ClusterRole.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.1.4
    /// - Kubernetes documentation, "RBAC Good Practices": workload creation
    pub static META = {
        id: "KSO-R009",
        title: "Role can create or modify workloads",
        severity: Medium,
        category: Rbac,
        aliases: ["KSV-0048", "C-0188", "access-to-create-pods"],
        frameworks: [Cis("5.1.4"), NsaCisa("authentication and authorization"), MitreAttack("T1610")],
    };
}

/// Reports rules granting creation or modification of pods and pod controllers.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    report_grants(obj, out, &["create", "update", "patch"], POD_STARTERS, true, |verb, resource| {
        format!("grants {verb:?} on {resource:?}, which runs pods of the writer's choosing")
    });
}
