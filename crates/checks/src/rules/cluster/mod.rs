//! Rules about what a running cluster shows (`KSO-K`): legacy service-account token
//! Secrets, tokens mounted for pods whose account has no permissions, nodes running
//! kubelet or kube-proxy versions with known vulnerabilities. They read the same objects in
//! manifests and snapshots, but those objects (Nodes, token Secrets, ServiceAccounts next to
//! their pods) mostly come from `kubesecops cluster scan` and `cluster snapshot`.
//!
//! Checked elsewhere and not repeated here: namespaces without NetworkPolicies (`KSO-N007`),
//! workloads running as the `default` service account (`KSO-W003`) and bindings for
//! `system:anonymous`/`system:unauthenticated` (`KSO-R012`).

use std::collections::HashMap;
use std::sync::Arc;

use kubesecops_core::{Location, ObjectRef};
use kubesecops_k8s::{Node, Object};

use crate::index::effective_namespace;
use crate::rule::{Check, RuleDef};

pub mod legacy_token_secret;
pub mod unused_token_mount;
pub mod vulnerable_node_version;

/// The rules of this family, in id order.
pub static RULES: &[RuleDef] = &[
    RuleDef { meta: &legacy_token_secret::META, check: Check::Object(legacy_token_secret::check) },
    RuleDef { meta: &unused_token_mount::META, check: Check::Index(unused_token_mount::check) },
    RuleDef { meta: &vulnerable_node_version::META, check: Check::Object(vulnerable_node_version::check) },
];

/// A pod spec that mounts its service account's token.
#[derive(Debug, Clone)]
pub struct TokenMountRecord {
    /// Effective namespace.
    pub namespace: String,
    /// The service account the pods run as.
    pub service_account: String,
    /// `automountServiceAccountToken` of the pod spec, when written as a boolean.
    pub pod_automount: Option<bool>,
    /// Where the pod spec is.
    pub location: Location,
    /// The object.
    pub object: Arc<ObjectRef>,
}

/// What the cluster rules need from all objects together.
#[derive(Debug, Clone, Default)]
pub struct ClusterRecords {
    /// Pod specs and the account they run as.
    pub token_mounts: Vec<TokenMountRecord>,
    /// ServiceAccounts seen: (namespace, name) → `automountServiceAccountToken` as a boolean.
    pub service_accounts: HashMap<(String, String), Option<bool>>,
}

impl ClusterRecords {
    /// Records pod specs and ServiceAccounts.
    pub fn add(&mut self, obj: &Object) {
        if obj.kind() == "ServiceAccount" && obj.group().is_empty() {
            let automount = obj.root.get("automountServiceAccountToken").and_then(Node::as_bool);
            self.service_accounts.insert((effective_namespace(obj), obj.meta.name.clone()), automount);
        }
        if let Some(template) = obj.pod_template() {
            let account = ["serviceAccountName", "serviceAccount"]
                .into_iter()
                .find_map(|f| template.get(f).and_then(Node::as_str).filter(|s| !s.is_empty()))
                .unwrap_or("default");
            self.token_mounts.push(TokenMountRecord {
                namespace: effective_namespace(obj),
                service_account: account.to_string(),
                pod_automount: template.get("automountServiceAccountToken").and_then(Node::as_bool),
                location: obj.location(template.spec.pos),
                object: Arc::clone(&obj.meta),
            });
        }
    }

    /// Adds another set of records (parallel loading).
    pub fn merge(&mut self, other: ClusterRecords) {
        self.token_mounts.extend(other.token_mounts);
        self.service_accounts.extend(other.service_accounts);
    }
}
