//! Rego policies for kubesecops, evaluated in-process with `regorus`.
//!
//! - [`conftest`]: conftest-style policies (`deny`, `violation`, `warn` rules of chosen
//!   packages) run on every scanned object, results as [`kubesecops_core::Finding`]s.
//! - [`gatekeeper`]: Gatekeeper `ConstraintTemplate`s and their constraints (`spec.match`,
//!   `enforcementAction`, referential `data.inventory`).
//! - [`opatest`]: `opa test`-style runs of `test_*` rules (`kubesecops policy test`).
//! - [`verify`]: Gatekeeper library suites in the `gator verify` format.
//!
//! Policies are parsed and analysed once ([`PolicySet::load`]); evaluation clones the prepared
//! engine, so a [`PolicySet`] can be shared across threads and evaluated many times. Every
//! evaluation has a time limit ([`DEFAULT_TIMEOUT`]).

#![warn(missing_docs)]

pub mod conftest;
mod files;
pub mod gatekeeper;
mod metadata;
pub mod opatest;
mod rego;
pub mod verify;

pub use conftest::{PolicyOptions, PolicySet};
pub use gatekeeper::{Constraint, EnforcementAction, Gatekeeper, Inventory, Template};
pub use metadata::Annotations;
pub use rego::DEFAULT_TIMEOUT;
