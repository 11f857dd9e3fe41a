//! One module per subcommand.

pub mod bench;
pub mod cluster;
pub mod db;
pub mod dockerfile;
pub mod forensics;
pub mod image;
pub mod netpol;
pub mod policy;
pub mod probe;
pub mod pss;
pub mod rbac;
pub mod rules;
pub mod runtime;
pub mod runtime_syscall;
pub mod sbom;
pub mod scan;
pub mod secrets;
pub mod serve;
