//! The vulnerability store of kubesecops: exact version comparison per ecosystem and an
//! offline store of OSV records with lookup by (ecosystem, package).
//!
//! - [`version`]: orderings of dpkg, apk, RPM, PEP 440, SemVer (npm, Go, Cargo), Maven, RubyGems.
//! - [`osv`]: OSV records and the evaluation of their ranges.
//! - [`store`]: `import` of OSV files, directories and zip archives; read-only lookups.

pub mod cvss;
pub mod osv;
pub mod store;
pub mod version;

pub use cvss::Level;
pub use osv::Record;
pub use store::{default_dir, import, parse_records, rfc3339, ImportSummary, Meta, Store, StoreError, Vuln};
pub use version::{Ecosystem, VersionError};
