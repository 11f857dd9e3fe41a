use kubesecops_rbac::paths::{first_grant, is_builtin};
use kubesecops_rbac::{Graph, Target};

use crate::index::Index;
use crate::{declare_rule, Config, IndexEmitter};

declare_rule! {
    /// ## What it checks
    /// Subjects (users, groups, service accounts) that are not bound to cluster-admin but can
    /// become it through a chain of their permissions: creating pods or workloads that run as
    /// a more powerful service account, reading its token Secret or requesting a token,
    /// impersonation, `bind`/`escalate` on roles, `nodes/proxy`, approving certificate
    /// requests, or switching admission webhooks off (the steps are described in
    /// `kubesecops rbac paths`). Permissions are decided as the API server's RBAC authorizer
    /// decides them, aggregated ClusterRoles included. The finding points at the binding that
    /// grants the first step and gives the whole chain.
    ///
    /// Kubernetes' own components (`system:` users and groups other than the anonymous,
    /// authenticated and service-account groups; service accounts of `kube-system`) and
    /// subjects that hold the first step only through a group (the group is reported) are
    /// left out; `kubesecops rbac paths` lists them all.
    ///
    /// ## Why it matters
    /// A permission that looks harmless alone, such as `create pods` in one namespace, is
    /// cluster-admin when a cluster-admin service account lives there. Attackers who steal
    /// such an identity walk these chains (MITRE ATT&CK T1078, valid accounts; T1098,
    /// account manipulation).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: RoleBinding
    /// metadata: {name: ci-deployer, namespace: ops}
    /// roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
    /// subjects:
    /// - {kind: User, name: ci}        # reported: edit in ops creates pods as ops/admin-bot
    /// ---
    /// apiVersion: rbac.authorization.k8s.io/v1
    /// kind: ClusterRoleBinding
    /// metadata: {name: admin-bot}
    /// roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
    /// subjects:
    /// - {kind: ServiceAccount, name: admin-bot, namespace: ops}
    /// ```
    ///
    /// ## Fix
    /// Break the chain at its cheapest step: move powerful service accounts to namespaces
    /// where no one else can create pods, drop the step's permission, or remove the powerful
    /// binding.
    ///
    /// ## References
    /// - Kubernetes documentation, "Role Based Access Control Good Practices": privilege
    ///   escalation risks
    /// - CIS Kubernetes Benchmark 5.1.1, 5.1.8
    pub static META = {
        id: "KSO-R016",
        title: "Subject can escalate to cluster-admin",
        severity: High,
        category: Rbac,
        aliases: [],
        frameworks: [Cis("5.1.8"), MitreAttack("T1078"), MitreAttack("T1098")],
    };
}

/// Reports every indirect path to cluster-admin.
pub fn check(index: &Index, _config: &Config, out: &mut IndexEmitter<'_>) {
    if index.rbac.is_empty() {
        return;
    }
    let resolved = index.rbac.resolve();
    let graph = Graph::build(&resolved);
    for path in graph.paths(&Target::ClusterAdmin, None) {
        let subject = path.subject.subject();
        if path.direct || is_builtin(&subject) {
            continue;
        }
        let Some((object, location)) = first_grant(&path) else { continue };
        let chain: Vec<String> = path
            .steps
            .iter()
            .map(|s| match &s.via {
                Some(via) => format!("{} ({} {})", s.detail, via.kind, via.name),
                None => s.detail.clone(),
            })
            .collect();
        out.emit(
            location,
            &object,
            &format!("path/{subject}"),
            format!(
                "{subject} can become cluster-admin in {} step(s): {}",
                path.steps.len(),
                chain.join("; then ")
            ),
        );
    }
}
