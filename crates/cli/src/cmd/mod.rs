//! One module per subcommand.

pub mod db;
pub mod netpol;
pub mod policy;
pub mod pss;
pub mod rules;
pub mod runtime;
pub mod scan;
pub mod secrets;
