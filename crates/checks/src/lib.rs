//! Built-in Kubernetes misconfiguration rules and the Pod Security Standards evaluator.
//!
//! - [`rule`]: how a rule is declared ([`declare_rule!`]) and what a check receives.
//! - [`registry`]: the explicit list of every built-in rule.
//! - [`rules`]: one file per rule; the file's doc comment is the rule's documentation.
//! - [`index`]: the compact cross-object index (namespaces, NetworkPolicies, workloads) that
//!   rules spanning several objects read after every file was seen.
//! - [`engine`]: runs the selected rules over objects, honouring ignore annotations.
//! - [`pss`]: the Pod Security Standards evaluator, check for check as the admission does.

pub mod config;
pub mod docs;
pub mod engine;
pub mod index;
pub mod pss;
pub mod registry;
pub mod rule;
pub mod rules;

pub use config::Config;
pub use engine::{Engine, IGNORE_ANNOTATION};
pub use index::Index;
pub use registry::{find_rule, RULES};
pub use rule::{Check, Emitter, IndexEmitter, RuleDef};
