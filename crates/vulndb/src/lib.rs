//! The vulnerability store of kubesecops: exact version comparison per ecosystem, an offline
//! store of OSV records with lookup by (ecosystem, package), and matching of inventories.
//!
//! - [`version`]: orderings of dpkg, apk, RPM, PEP 440, SemVer (npm, Go, Cargo), Maven, RubyGems.
//! - [`osv`]: OSV records and the evaluation of their ranges.
//! - [`store`]: `import` of OSV files, directories and zip archives; read-only lookups.
//! - [`matching`]: [`match_packages`] over [`PackageRef`]s (source packages for distributions).
//! - [`findings`]: matches as findings of the shared report.
//! - [`status`]: the database's age and size, for every report.

pub mod cvss;
pub mod findings;
pub mod generate;
pub mod matching;
pub mod osv;
pub mod status;
pub mod store;
pub mod version;

pub use cvss::Level;
pub use findings::{parse_severity_list, report_severity, vulnerability_findings, FindingOptions};
pub use kubesecops_trust::{KeyId, TrustError, TrustedKeys};
pub use matching::{match_packages, normalize_ecosystem, os_ecosystem, PackageRef, VulnMatch};
pub use osv::Record;
pub use status::{describe_age, open_for_scan, DbStatus, OldestSignature, STALE_AFTER};
pub use store::{
    default_dir, import, import_with, parse_records, rfc3339, ImportOptions, ImportSummary, Meta, SignedFile,
    Source, Store, StoreError, Vuln,
};
pub use version::{Ecosystem, VersionError};
