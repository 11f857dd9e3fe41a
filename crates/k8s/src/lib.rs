//! Loading Kubernetes manifests with line numbers.
//!
//! - [`node`]: a YAML/JSON tree whose every node knows its line and column, parsed leniently
//!   one document at a time so that one broken document never hides the others.
//! - [`object`]: a Kubernetes object (apiVersion, kind, metadata) over such a tree, and the
//!   discovery of pod templates in every workload kind, CRDs included.
//! - [`loader`]: files, directories (honouring `.gitignore`), stdin, `List` kinds, Helm charts
//!   and kustomizations (rendered, each object traced back to its file and lines).

mod fast;
mod kustomize;
pub mod loader;
pub mod node;
pub mod object;
pub mod selector;

pub use loader::{discover, load_source, LoadOptions, Loaded, Source};
pub use node::{parse_documents, Document, Entry, Node, ParseError, Pos, Scalar, Value};
pub use object::{Container, ContainerKind, Object, PodTemplate};
