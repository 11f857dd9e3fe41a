//! Kubernetes RBAC for kubesecops: exact authorization decisions, `who-can`, privilege paths
//! to cluster-admin, and least-privilege roles from audit logs.
//!
//! - [`model`]: Roles, ClusterRoles (aggregation resolved), bindings, service accounts and
//!   token Secrets gathered object by object from manifests, snapshots or a live cluster.
//! - [`authorizer`]: the RBAC authorizer's rule matching (verbs, API groups, resources and
//!   subresources, resource names, non-resource URLs, wildcards, namespace vs cluster scope).
//! - [`paths`]: the privilege graph and the shortest escalation chain of every subject.
//! - [`suggest`]: roles that allow what a user did, from audit events.

pub mod authorizer;
pub mod model;
pub mod paths;
pub mod subject;
pub mod suggest;

pub use authorizer::{parse_resource, rule_allows, Request};
pub use model::{Binding, Model, PolicyRule, Resolved, Role, RoleKind};
pub use paths::{Graph, PrivilegePath, Step, Target};
pub use subject::{
    Subject, SubjectKind, UserInfo, ANONYMOUS_USER, AUTHENTICATED_GROUP, MASTERS_GROUP, UNAUTHENTICATED_GROUP,
};

/// Errors of RBAC inputs.
#[derive(Debug, thiserror::Error)]
pub enum RbacError {
    /// A subject not written `User:NAME`, `Group:NAME` or `ServiceAccount:NS/NAME`.
    #[error("{0:?} is not a subject: write User:NAME, Group:NAME or ServiceAccount:NAMESPACE/NAME")]
    Subject(String),
    /// An audit log that is not JSON.
    #[error("audit log line {line}: {message}")]
    AuditLog {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}
