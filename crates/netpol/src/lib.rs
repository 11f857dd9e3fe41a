//! Exact reachability between Kubernetes workloads under NetworkPolicies,
//! AdminNetworkPolicies and the BaselineAdminNetworkPolicy, measured against
//! netpol-analyzer's semantics and output.
//!
//! - [`parse`]: manifests to validated [`model::Resources`], errors with file and line.
//! - [`engine`]: the computation, over equivalence classes of workloads.
//! - [`output`]: netpol-analyzer's text lines, JSON, CSV, Markdown, DOT.
//! - [`diff`]: connections added, removed and changed between two inputs.

pub mod diff;
pub mod engine;
pub mod ipv4;
pub mod model;
pub mod output;
pub mod parse;
pub mod ports;
pub mod selector;

use std::path::PathBuf;

use kubesecops_core::ReportError;
use kubesecops_k8s::{discover, load_source, LoadOptions, Object};

pub use engine::{analyze, Connection, Endpoint, Network, Reachability};
pub use model::InputError;

/// Why no reachability could be computed.
#[derive(Debug, thiserror::Error)]
pub enum NetpolError {
    /// Policies or network definitions that cannot be evaluated.
    #[error("{} invalid resource(s): {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<InputError>),
}

/// Manifests read from paths: the objects and the inputs that could not be read.
#[derive(Debug, Default)]
pub struct Input {
    /// Kubernetes objects, in file order.
    pub objects: Vec<Object>,
    /// Files or documents that could not be read or parsed.
    pub errors: Vec<ReportError>,
}

/// Reads manifests from files and directories (recursively, `.yaml`, `.yml`, `.json`).
pub fn load(paths: &[PathBuf]) -> Input {
    let (sources, mut errors) = discover(paths);
    let mut objects = Vec::new();
    for source in &sources {
        let loaded = load_source(source, &LoadOptions::default());
        objects.extend(loaded.objects);
        errors.extend(loaded.errors);
    }
    Input { objects, errors }
}

/// Computes reachability from objects. Objects that could not be read are returned as
/// report errors next to the result; invalid policies make the whole analysis fail.
pub fn connlist(objects: &[Object]) -> Result<(Reachability, Vec<ReportError>), NetpolError> {
    let read = parse::read_resources(objects);
    if !read.fatal.is_empty() {
        return Err(NetpolError::Invalid(read.fatal));
    }
    let skipped: Vec<ReportError> = read.skipped.iter().map(InputError::to_report).collect();
    let reach = analyze(read.resources).map_err(|e| NetpolError::Invalid(vec![e]))?;
    Ok((reach, skipped))
}
