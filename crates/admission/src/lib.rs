//! The validating admission webhook of kubesecops (`kubesecops serve`).
//!
//! - [`review`]: the `AdmissionReview` v1 request and response.
//! - [`config`]: the TOML config: which groups of rules are enforced, in which mode, where.
//! - [`decision`]: the policies a config enables and the verdict on one request
//!   (built-in rules, Pod Security Standards, conftest-style Rego, Gatekeeper constraints).
//! - [`object`]: a request's object as the rules' [`kubesecops_k8s::Object`].
//! - [`metrics`]: Prometheus counters and the latency histogram.
//! - [`tls`]: rustls with certificate reload.
//! - [`server`]: the HTTPS server, its endpoints and policy reload.

#![warn(missing_docs)]

pub mod config;
pub mod decision;
pub mod error;
pub mod metrics;
pub mod object;
pub mod review;
pub mod server;
pub mod tls;

pub use config::{Config, Mode, OnError};
pub use decision::{Decision, Policies, RuleGroup, Violation};
pub use error::{ConfigError, ServeError};
pub use review::{AdmissionRequest, AdmissionResponse, AdmissionReview};
pub use server::{serve, ServeOptions, Server};
