//! `kubesecops rules`: list the built-in rules or explain one.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use kubesecops_checks::{docs, find_rule, pss};

use crate::{output, Status};

/// Output of `rules`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RulesFormat {
    /// Aligned columns (or the rule's Markdown page for one rule).
    #[value(alias = "txt", alias = "text")]
    Table,
    /// JSON metadata.
    Json,
}

/// Flags of `kubesecops rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// A rule id or alias (any tool's): print its documentation.
    pub id: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: RulesFormat,
    /// Write the Markdown documentation pages of every rule into DIR.
    #[arg(long, value_name = "DIR", conflicts_with = "id")]
    pub docs: Option<PathBuf>,
}

/// Lists, explains or writes docs.
pub fn run(args: RulesArgs) -> Result<Status> {
    if let Some(dir) = &args.docs {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
        for (name, content) in docs::all_pages() {
            std::fs::write(dir.join(&name), content).with_context(|| format!("{}: cannot write", name))?;
        }
        return Ok(Status::Clean);
    }
    let mut out = output::open(None)?;
    if let Some(id) = &args.id {
        let meta = find_rule(id)
            .map(|def| def.meta)
            .or_else(|| pss::check_metas().iter().copied().find(|m| m.matches(id)))
            .or_else(|| kubesecops_secrets::builtin::find(id).map(|r| &r.meta));
        let Some(meta) = meta else { bail!("no rule has the id or alias {id:?} (see `kubesecops rules`)") };
        match args.format {
            RulesFormat::Json => serde_json::to_writer_pretty(&mut out, meta)?,
            RulesFormat::Table => write!(out, "{}", docs::rule_page(meta))?,
        }
        writeln!(out)?;
    } else {
        // Manifest rules and PSS checks, then the secret-detection rules of `kubesecops secrets`.
        let mut metas = docs::all_metas();
        metas.extend(kubesecops_secrets::builtin::metas());
        match args.format {
            RulesFormat::Json => {
                serde_json::to_writer_pretty(&mut out, &metas)?;
                writeln!(out)?;
            }
            RulesFormat::Table => {
                for m in &metas {
                    writeln!(
                        out,
                        "{:<24} {:<9} {:<13} {}  [{}]",
                        m.id,
                        m.severity,
                        m.category.as_str(),
                        m.title,
                        m.aliases.join(", ")
                    )?;
                }
                writeln!(out, "{} rules", metas.len())?;
            }
        }
    }
    out.flush()?;
    Ok(Status::Clean)
}
