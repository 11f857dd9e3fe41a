use std::collections::HashSet;

use kubesecops_rbac::SubjectKind;

use crate::index::Index;
use crate::{declare_rule, Config, IndexEmitter};

declare_rule! {
    /// ## What it checks
    /// Pods and workloads that mount their service account's API token although no
    /// RoleBinding or ClusterRoleBinding names that service account: the token is mounted
    /// (neither the pod spec nor the ServiceAccount sets `automountServiceAccountToken:
    /// false`) for a pod that has nothing of its own to do with the API. Only accounts whose
    /// ServiceAccount object is in the input (a cluster scan, a snapshot, or a manifest set
    /// that ships it) are judged; permissions granted to whole groups
    /// (`system:serviceaccounts`, `system:authenticated`) do not count as the pod's own.
    ///
    /// ## Why it matters
    /// A token nobody uses is pure risk: code execution or a file read in the container hands
    /// it to the attacker, who then holds every permission granted to all service accounts
    /// and authenticated users, and any permission granted to this account later (MITRE
    /// ATT&CK T1528). Unlike `KSO-C023`, which asks every pod to opt out, this rule points at
    /// the pods where the token is demonstrably unneeded.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: ServiceAccount
    /// metadata: {name: web, namespace: shop}
    /// ---
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata: {name: web, namespace: shop}
    /// spec:
    ///   template:
    ///     spec:
    ///       serviceAccountName: web      # reported: no binding names shop/web
    ///       containers: [{name: web, image: registry.example.com/web:1.0}]
    /// ```
    ///
    /// ## Fix
    /// Set `automountServiceAccountToken: false` on the ServiceAccount or in the pod spec.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.1.6
    /// - Kubernetes documentation, "Configure Service Accounts for Pods"
    pub static META = {
        id: "KSO-K002",
        title: "Token mounted for a service account without permissions",
        severity: Low,
        category: PodSecurity,
        aliases: [],
        frameworks: [Cis("5.1.6"), MitreAttack("T1528")],
    };
}

/// Reports pod specs that mount the token of an account no binding names.
pub fn check(index: &Index, _config: &Config, out: &mut IndexEmitter<'_>) {
    let bound: HashSet<(String, String)> = index
        .rbac
        .bindings
        .iter()
        .flat_map(|b| b.resolved_subjects())
        .filter(|s| s.kind == SubjectKind::ServiceAccount)
        .map(|s| (s.namespace, s.name))
        .collect();
    for mount in &index.cluster.token_mounts {
        let key = (mount.namespace.clone(), mount.service_account.clone());
        let Some(account_automount) = index.cluster.service_accounts.get(&key) else { continue };
        // The pod's own setting wins over the ServiceAccount's.
        let mounted = mount.pod_automount.or(*account_automount).unwrap_or(true);
        if !mounted || bound.contains(&key) {
            continue;
        }
        out.emit(
            mount.location.clone(),
            &mount.object,
            "automountServiceAccountToken",
            format!(
                "pods mount the API token of service account {}/{}, which no RoleBinding or ClusterRoleBinding names",
                mount.namespace, mount.service_account
            ),
        );
    }
}
