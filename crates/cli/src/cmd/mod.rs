//! One module per subcommand.

pub mod pss;
pub mod rules;
pub mod scan;
