//! `kubesecops db`: build and inspect the local vulnerability database (OSV records).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use kubesecops_core::Report;
use kubesecops_vulndb::{
    default_dir, describe_age, import_with, rfc3339, DbStatus, ImportOptions, Meta, Store, TrustedKeys,
};

use crate::{output, Status};

/// The database directory: `--db DIR`, else the user's cache directory.
pub fn database_dir(db: Option<&Path>) -> Result<PathBuf> {
    match db {
        Some(dir) => Ok(dir.to_path_buf()),
        None => default_dir().context("no cache directory (HOME unset): pass --db DIR"),
    }
}

/// Opens the database a scan matches against (read-only), for `image` and `sbom`. A
/// missing or unreadable database is an error (exit 2), never an empty result; a stale or
/// empty one is said on stderr, and [`attach_status`] puts its age into the report.
pub fn open_for_scan(db: Option<&Path>) -> Result<(Store, DbStatus)> {
    let dir = database_dir(db)?;
    let (store, status) = kubesecops_vulndb::open_for_scan(&dir)?;
    if let Some(warning) = status.warning() {
        eprintln!("kubesecops: warning: {warning}");
    }
    Ok((store, status))
}

/// Adds the database's status (path, build time, age, counts, `stale`) to a report under
/// the `database` key, and a one-line summary on stderr.
pub fn attach_status(report: &mut Report, status: &DbStatus) -> Result<()> {
    report.sections.insert("database".to_string(), serde_json::to_value(status)?);
    eprintln!("kubesecops: {}", status.summary());
    Ok(())
}

/// Flags of `kubesecops db`.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// Database directory (default: the user's cache directory, `~/.cache/kubesecops/db`).
    #[arg(long, global = true, value_name = "DIR", env = "KUBESECOPS_DB")]
    pub db: Option<PathBuf>,
    #[command(subcommand)]
    pub command: DbCommand,
}

/// Subcommands of `kubesecops db`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Import OSV records: JSON files, directories (recursively) and the per-ecosystem zip
    /// archives OSV publishes. Newer versions of a record replace older ones.
    ///
    /// With `--trusted-key`, every file read must carry a detached minisign signature beside
    /// it (`FILE.minisig`, as `minisign -S -m FILE` writes it) by one of the keys; a file
    /// signed before the one already imported under its signed name is refused, and the
    /// database takes only signed inputs from then on.
    Import {
        /// Files, directories or zip archives.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// A minisign public key file (`minisign.pub`) whose signatures are trusted (repeatable).
        #[arg(long = "trusted-key", value_name = "FILE")]
        trusted_keys: Vec<PathBuf>,
        /// Accept a signed file signed before the one already imported under its name.
        #[arg(long, requires = "trusted_keys")]
        allow_rollback: bool,
    },
    /// Show the database's sources, record counts and age.
    Info {
        /// Output format.
        #[arg(short, long, value_enum, default_value = "table")]
        format: InfoFormat,
    },
}

/// Output of `db info`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InfoFormat {
    /// Aligned text.
    #[value(alias = "text")]
    Table,
    /// The metadata as JSON, with `path` and `ageSeconds` added.
    Json,
}

/// Runs a `db` subcommand.
pub fn run(args: DbArgs) -> Result<Status> {
    let dir = database_dir(args.db.as_deref())?;
    match args.command {
        DbCommand::Import { paths, trusted_keys, allow_rollback } => {
            let keys = TrustedKeys::load(&trusted_keys)?;
            let trusted = (!keys.is_empty()).then_some(&keys);
            let summary = import_with(&dir, &paths, ImportOptions { trusted, allow_rollback })?;
            if trusted.is_some() {
                eprintln!(
                    "kubesecops: every input verified with key {}",
                    keys.ids().map(|id| id.to_string()).collect::<Vec<_>>().join(", ")
                );
            }
            eprintln!(
                "kubesecops: imported {} records ({} new or updated); {} records in {}",
                summary.read,
                summary.stored,
                summary.total,
                dir.display()
            );
            Ok(Status::Clean)
        }
        DbCommand::Info { format } => {
            let store = Store::open(&dir)?;
            let meta = store.meta();
            let mut out = output::open(None)?;
            match format {
                InfoFormat::Json => {
                    let mut value = serde_json::to_value(meta)?;
                    value["path"] = serde_json::Value::from(dir.display().to_string());
                    value["ageSeconds"] = serde_json::Value::from(meta.age().as_secs());
                    serde_json::to_writer_pretty(&mut out, &value)?;
                    writeln!(out)?;
                }
                InfoFormat::Table => write_table(&mut out, &dir, meta)?,
            }
            if let Some(warning) = DbStatus::of(&store).warning() {
                eprintln!("kubesecops: warning: {warning}");
            }
            Ok(Status::Clean)
        }
    }
}

fn write_table(out: &mut impl Write, dir: &std::path::Path, meta: &Meta) -> Result<()> {
    writeln!(out, "database    {} (schema {})", dir.display(), meta.schema)?;
    writeln!(out, "built       {} ({})", rfc3339(meta.built), describe_age(meta.age().as_secs()))?;
    writeln!(out, "records     {} ({} withdrawn)", meta.records, meta.withdrawn)?;
    writeln!(out, "ecosystems")?;
    let width = meta.ecosystems.keys().map(String::len).max().unwrap_or(0);
    for (ecosystem, count) in &meta.ecosystems {
        writeln!(out, "  {ecosystem:<width$}  {count}")?;
    }
    if !meta.trusted_keys.is_empty() {
        writeln!(out, "signed by   {}", meta.trusted_keys.join(", "))?;
    }
    writeln!(out, "sources")?;
    for source in &meta.sources {
        writeln!(
            out,
            "  {}  ({} records, imported {})",
            source.path,
            source.records,
            rfc3339(source.imported)
        )?;
    }
    if !meta.signed.is_empty() {
        writeln!(out, "signed files")?;
        for (name, file) in &meta.signed {
            let signed = file.signed_at.map_or_else(|| "at an unknown time".to_string(), rfc3339);
            writeln!(out, "  {name}  (key {}, signed {signed}; {})", file.key, file.path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesecops_vulndb::import;

    #[test]
    fn info_table_lists_counts_and_sources() {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("r.json");
        std::fs::write(
            &record,
            r#"{"id": "GHSA-1", "modified": "2024-01-01T00:00:00Z",
                "affected": [{"package": {"ecosystem": "npm", "name": "a"}, "versions": ["1.0.0"]}]}"#,
        )
        .unwrap();
        let db = dir.path().join("db");
        import(&db, &[record]).unwrap();
        let store = Store::open(&db).unwrap();
        let mut out = Vec::new();
        write_table(&mut out, &db, store.meta()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("records     1 (0 withdrawn)"), "{text}");
        assert!(text.contains("  npm  1\n"), "{text}");
        assert!(text.contains("(1 records, imported "), "{text}");
    }
}
