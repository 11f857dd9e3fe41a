//! Live Kubernetes clusters for kubesecops.
//!
//! - [`connect`]: authentication like kubectl (kubeconfig with token, client certificate or
//!   exec plugin; basic auth refused; in-cluster service account), a client-side QPS limit
//!   and a per-request timeout.
//! - [`list`]: discovery of every served resource at its preferred version (CRDs included)
//!   and paginated listing (`limit`/`continue`) of dynamic objects, streamed page by page to
//!   the caller so that the cluster is never held in memory at once. A resource the caller
//!   may not list is a [`Gap`], and a scan with gaps is partial.
//! - [`convert`]: live JSON objects to the manifest [`kubesecops_k8s::Object`] model, with
//!   Secret values and `managedFields` removed.
//! - [`snapshot`]: what was read, written as one `List` file that `scan` and the RBAC
//!   commands read offline.

pub mod connect;
pub mod convert;
pub mod list;
pub mod snapshot;

pub use connect::{Cluster, ConnectOptions};
pub use convert::{redact, to_object};
pub use list::{Gap, ListSummary, Resource, Selection};
pub use snapshot::SnapshotWriter;

/// Errors talking to a cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The kubeconfig could not be read or has no usable context.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    /// The kubeconfig user authenticates with a user name and password.
    #[error(
        "kubeconfig user {user:?} uses basic authentication (username/password), which kubesecops refuses: \
         it sends the password with every request and Kubernetes removed it in v1.19; use a token, \
         a client certificate or an exec plugin"
    )]
    BasicAuth {
        /// The `users[].name` of the kubeconfig.
        user: String,
    },
    /// No kubeconfig and not inside a pod.
    #[error("no kubeconfig found (--kubeconfig, KUBECONFIG, ~/.kube/config) and not running in a pod: {0}")]
    NoConfig(String),
    /// The client could not be built (TLS material, URL).
    #[error("cannot build the Kubernetes client: {0}")]
    Client(String),
    /// A request failed in a way that stops the whole scan (discovery of the core API).
    #[error("{what}: {message}")]
    Request {
        /// What was asked.
        what: String,
        /// The error.
        message: String,
    },
    /// The tokio runtime could not start.
    #[error("cannot start the I/O runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// The snapshot file could not be written.
    #[error("snapshot {path}: {message}")]
    Snapshot {
        /// The file.
        path: String,
        /// The error.
        message: String,
    },
}
