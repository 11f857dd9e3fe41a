//! The state of the store a scan used: every report carries it, so that a stale or empty
//! database is never mistaken for a clean result.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::store::{rfc3339, SignedFile, Source, Store, StoreError};

/// A store older than this is reported as stale.
pub const STALE_AFTER: Duration = Duration::from_secs(7 * 86_400);

/// What a report says about the database it was matched against (JSON key `database`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DbStatus {
    /// Store directory.
    pub path: String,
    /// Layout version of the store.
    pub schema: u32,
    /// Build time (RFC 3339, UTC).
    pub built: String,
    /// Seconds since the build.
    pub age_seconds: u64,
    /// Records stored.
    pub records: usize,
    /// Records per ecosystem.
    pub ecosystems: BTreeMap<String, usize>,
    /// Import sources.
    pub sources: Vec<Source>,
    /// Ids of the keys the store's inputs were verified with (empty: unsigned imports).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trusted_keys: Vec<String>,
    /// Signed files imported, by signed name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub signed: BTreeMap<String, SignedFile>,
    /// The signed file signed longest ago, and when (RFC 3339): how old the signed data is,
    /// whenever it was imported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_signature: Option<OldestSignature>,
    /// Built, or holding a file signed, longer ago than [`STALE_AFTER`].
    pub stale: bool,
}

/// The signed file of a store signed longest ago.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OldestSignature {
    /// Its signed name.
    pub name: String,
    /// When it was signed (RFC 3339).
    pub signed: String,
}

impl DbStatus {
    /// The status of an opened store.
    pub fn of(store: &Store) -> Self {
        let meta = store.meta();
        let age = meta.age();
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        // A store imported today from data signed a month ago is a month old: a replayed old
        // snapshot (a freeze) must look stale.
        let oldest = meta.signed.iter().filter_map(|(name, file)| file.signed_at.map(|at| (at, name))).min();
        let signature_stale =
            oldest.is_some_and(|(at, _)| Duration::from_secs(now.saturating_sub(at)) > STALE_AFTER);
        Self {
            path: store.dir().display().to_string(),
            schema: meta.schema,
            built: rfc3339(meta.built),
            age_seconds: age.as_secs(),
            records: meta.records,
            ecosystems: meta.ecosystems.clone(),
            sources: meta.sources.clone(),
            trusted_keys: meta.trusted_keys.clone(),
            signed: meta.signed.clone(),
            oldest_signature: oldest
                .map(|(at, name)| OldestSignature { name: name.clone(), signed: rfc3339(at) }),
            stale: age > STALE_AFTER || signature_stale,
        }
    }

    /// One line for every report: where the database is and how old.
    pub fn summary(&self) -> String {
        format!(
            "vulnerability database {} built {} ({}), {} records",
            self.path,
            self.built,
            describe_age(self.age_seconds),
            self.records
        )
    }

    /// A warning to print loudly when the database cannot be trusted to be complete: stale,
    /// or without records. `None` when it is fresh and not empty.
    pub fn warning(&self) -> Option<String> {
        if self.records == 0 {
            Some(format!(
                "the vulnerability database at {} has no records: no vulnerability can be found \
                 (run `kubesecops db import`)",
                self.path
            ))
        } else if let (true, Some(oldest)) = (self.stale, &self.oldest_signature) {
            Some(format!(
                "the vulnerability database at {} holds {}, signed {}: vulnerabilities published \
                 since are missing; import a newer signed copy",
                self.path, oldest.name, oldest.signed
            ))
        } else if self.stale {
            Some(format!(
                "the vulnerability database at {} is {} old (built {}): vulnerabilities published \
                 since are missing; re-import it",
                self.path,
                describe_age(self.age_seconds).trim_end_matches(" ago"),
                self.built
            ))
        } else {
            None
        }
    }
}

/// Opens the store a scan reads (read-only) and its status. A missing store is an error
/// ([`StoreError::Missing`]), never an empty result.
pub fn open_for_scan(dir: &Path) -> Result<(Store, DbStatus), StoreError> {
    let store = Store::open(dir)?;
    let status = DbStatus::of(&store);
    Ok((store, status))
}

/// An age as people say it: `5 minutes ago`, `9 days ago`.
pub fn describe_age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} seconds ago"),
        s if s < 2 * 3600 => format!("{} minutes ago", s / 60),
        s if s < 2 * 86_400 => format!("{} hours ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(age_seconds: u64, records: usize) -> DbStatus {
        DbStatus {
            path: "/db".into(),
            schema: 2,
            built: "2024-05-01T00:00:00Z".into(),
            age_seconds,
            records,
            ecosystems: BTreeMap::new(),
            sources: Vec::new(),
            trusted_keys: Vec::new(),
            signed: BTreeMap::new(),
            oldest_signature: None,
            stale: Duration::from_secs(age_seconds) > STALE_AFTER,
        }
    }

    #[test]
    fn warns_when_stale_or_empty() {
        assert_eq!(status(3600, 10).warning(), None);
        let stale = status(9 * 86_400, 10).warning().unwrap();
        assert!(stale.contains("is 9 days old"), "{stale}");
        assert!(status(60, 0).warning().unwrap().contains("has no records"));
        assert!(status(60, 3).summary().contains("(60 seconds ago), 3 records"));
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(describe_age(5), "5 seconds ago");
        assert_eq!(describe_age(600), "10 minutes ago");
        assert_eq!(describe_age(5 * 3600), "5 hours ago");
        assert_eq!(describe_age(9 * 86_400), "9 days ago");
    }
}
