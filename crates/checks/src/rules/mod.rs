//! One module per rule family, one file per rule. Ids: `KSO-C` container and pod security
//! context, `KSO-H` host access, `KSO-I` images, `KSO-L` resources and probes, `KSO-W`
//! workload placement and identity, `KSO-N` network exposure and policies, `KSO-R` RBAC,
//! `KSO-S` secrets in configuration, `KSO-K` what a running cluster shows. Ids are never reused.

pub mod cluster;
pub mod host;
pub mod image;
pub mod network;
pub mod pod;
pub mod rbac;
pub mod resources;
pub mod secrets;
pub mod util;
pub mod workload;
