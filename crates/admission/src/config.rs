//! The webhook's configuration file (TOML): what is enforced, in which mode, where.
//!
//! ```toml
//! mode = "enforce"                  # default mode of every group: enforce | warn | dry-run
//! deadline_ms = 2000                # time allowed for one decision
//! on_error = "deny"                 # what an evaluation error or a missed deadline does: deny | allow
//! exempt_namespaces = ["kube-system", "kubesecops-system"]
//! policy_keys = ["keys/policy.pub"] # minisign keys: every Rego and Gatekeeper file must be signed
//!
//! [rules]                           # per-rule modes by id or alias (built-in, PSS, Rego or Gatekeeper)
//! "KSO-I001" = "warn"
//!
//! [builtin]                         # kubesecops' own rules
//! select = ["KSO-C001", "KSV-0017"] # ids or aliases; empty: every rule
//! min_severity = "HIGH"
//!
//! [pss]                             # Pod Security Standards
//! level = "baseline"
//! version = "latest"
//!
//! [rego]                            # conftest-style policies
//! policies = ["policies"]           # relative paths are relative to this file
//!
//! [gatekeeper]                      # ConstraintTemplates and constraints
//! paths = ["gatekeeper"]
//! ```
//!
//! A group is enabled by its table. Unknown keys, unknown modes, severities, levels and rule
//! ids are errors that name the file, line and column.

use std::fmt;
use std::path::{Path, PathBuf};

use kubesecops_checks::pss::{Level, Version};
use kubesecops_core::Severity;
use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::error::ConfigError;

/// What happens to a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// Only counted in metrics and logged; the request is admitted without a warning.
    DryRun,
    /// Admitted, with a warning the client shows (`kubectl` prints it).
    Warn,
    /// Denied.
    Enforce,
}

impl Mode {
    /// The name used in the config file and in metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Warn => "warn",
            Mode::DryRun => "dry-run",
        }
    }

    /// Parses `enforce`, `warn`, `dry-run` (also `dryrun`, as Gatekeeper writes it).
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "enforce" | "deny" => Some(Mode::Enforce),
            "warn" => Some(Mode::Warn),
            "dry-run" | "dryrun" => Some(Mode::DryRun),
            _ => None,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Mode::parse(&text).ok_or_else(|| {
            de::Error::custom(format!("unknown mode {text:?}: expected \"enforce\", \"warn\" or \"dry-run\""))
        })
    }
}

/// What an evaluation error (a policy that fails, a missed deadline) does to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Deny the request (fail closed), with the error in the message.
    #[default]
    Deny,
    /// Admit the request with a warning naming the error (fail open).
    Allow,
}

/// Settings every group shares (each group's table has `mode` and `exempt_namespaces`).
#[derive(Debug, Clone, Default)]
pub struct GroupSettings {
    /// The group's mode; the global `mode` when absent.
    pub mode: Option<Mode>,
    /// Namespaces this group does not evaluate (names or `prefix*` globs), besides the global ones.
    pub exempt_namespaces: Vec<String>,
}

macro_rules! group_settings {
    ($($group:ty),*) => {$(
        impl $group {
            /// The group's mode and exemptions.
            pub fn settings(&self) -> GroupSettings {
                GroupSettings { mode: self.mode, exempt_namespaces: self.exempt_namespaces.clone() }
            }
        }
    )*};
}

group_settings!(BuiltinConfig, PssConfig, RegoConfig, GatekeeperConfig);

/// `[builtin]`: kubesecops' built-in rules.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuiltinConfig {
    /// Rule ids or aliases to run; empty runs every rule (at or above `min_severity`).
    #[serde(default)]
    pub select: Vec<String>,
    /// Rule ids or aliases never run.
    #[serde(default)]
    pub skip: Vec<String>,
    /// Only rules of this severity or above (`LOW`, `MEDIUM`, `HIGH`, `CRITICAL`).
    #[serde(default, deserialize_with = "severity")]
    pub min_severity: Option<Severity>,
    /// Registries images may come from (rule `KSO-I004`); empty trusts every registry.
    #[serde(default)]
    pub allowed_registries: Vec<String>,
    /// The group's mode; the global `mode` when absent.
    pub mode: Option<Mode>,
    /// Namespaces this group does not evaluate (names or `prefix*` globs), besides the global ones.
    #[serde(default)]
    pub exempt_namespaces: Vec<String>,
}

/// `[pss]`: a Pod Security Standards level and version, as the namespace labels give them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PssConfig {
    /// `privileged`, `baseline` or `restricted`.
    #[serde(deserialize_with = "level")]
    pub level: Level,
    /// `latest` (default) or `v1.N`.
    #[serde(default = "latest", deserialize_with = "version")]
    pub version: Version,
    /// The group's mode; the global `mode` when absent.
    pub mode: Option<Mode>,
    /// Namespaces this group does not evaluate (names or `prefix*` globs), besides the global ones.
    #[serde(default)]
    pub exempt_namespaces: Vec<String>,
}

/// `[rego]`: conftest-style policies (`deny`, `violation`, `warn` rules).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegoConfig {
    /// Directories or files of `.rego` policies.
    pub policies: Vec<PathBuf>,
    /// JSON/YAML files (or directories) loaded as `data`.
    #[serde(default)]
    pub data: Vec<PathBuf>,
    /// Packages whose rules are evaluated (default `main`).
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// The group's mode; the global `mode` when absent.
    pub mode: Option<Mode>,
    /// Namespaces this group does not evaluate (names or `prefix*` globs), besides the global ones.
    #[serde(default)]
    pub exempt_namespaces: Vec<String>,
}

/// `[gatekeeper]`: ConstraintTemplates and constraints.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatekeeperConfig {
    /// Directories or YAML files holding templates and constraints.
    pub paths: Vec<PathBuf>,
    /// The group's mode; the global `mode` when absent.
    pub mode: Option<Mode>,
    /// Namespaces this group does not evaluate (names or `prefix*` globs), besides the global ones.
    #[serde(default)]
    pub exempt_namespaces: Vec<String>,
}

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Default mode of every group.
    #[serde(default = "enforce")]
    pub mode: Mode,
    /// Time allowed for one decision, in milliseconds (also the limit of one Rego evaluation).
    #[serde(default = "default_deadline")]
    pub deadline_ms: u64,
    /// What an evaluation error or a missed deadline does.
    #[serde(default)]
    pub on_error: OnError,
    /// Namespaces no group evaluates (names or `prefix*` globs).
    #[serde(default)]
    pub exempt_namespaces: Vec<String>,
    /// Per-rule modes, by rule id or alias; they win over the group's mode.
    #[serde(default)]
    pub rules: std::collections::BTreeMap<String, Mode>,
    /// minisign public keys; when set, every file of the `[rego]` and `[gatekeeper]` groups
    /// must carry a detached signature (`FILE.minisig`) by one of them, or nothing is loaded.
    #[serde(default)]
    pub policy_keys: Vec<PathBuf>,
    /// Built-in rules, when the table is present.
    pub builtin: Option<BuiltinConfig>,
    /// Pod Security Standards, when the table is present.
    pub pss: Option<PssConfig>,
    /// Rego policies, when the table is present.
    pub rego: Option<RegoConfig>,
    /// Gatekeeper templates and constraints, when the table is present.
    pub gatekeeper: Option<GatekeeperConfig>,
    /// The folder relative paths are resolved against (the config file's folder).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

impl Default for Config {
    /// Without a config file: built-in rules of severity HIGH and above, and the baseline
    /// Pod Security Standard (latest), both enforced; `kube-system` exempt.
    fn default() -> Self {
        Config {
            mode: Mode::Enforce,
            deadline_ms: default_deadline(),
            on_error: OnError::Deny,
            exempt_namespaces: vec!["kube-system".to_string()],
            rules: Default::default(),
            policy_keys: Vec::new(),
            builtin: Some(BuiltinConfig { min_severity: Some(Severity::High), ..Default::default() }),
            pss: Some(PssConfig {
                level: Level::Baseline,
                version: Version::Latest,
                mode: None,
                exempt_namespaces: Vec::new(),
            }),
            rego: None,
            gatekeeper: None,
            base_dir: PathBuf::from("."),
        }
    }
}

impl Config {
    /// Reads and parses a config file. Relative paths in it are resolved against its folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        Config::parse(&text, path, base)
    }

    /// Parses config text; `path` names the file in errors, `base_dir` resolves relative paths.
    pub fn parse(text: &str, path: &Path, base_dir: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|err| {
            let (line, column) = err.span().map_or((0, 0), |span| line_column(text, span.start));
            ConfigError::Parse { path: path.to_path_buf(), line, column, message: err.message().to_string() }
        })?;
        if config.deadline_ms == 0 {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: "deadline_ms must be at least 1".to_string(),
            });
        }
        config.base_dir = base_dir.to_path_buf();
        Ok(config)
    }

    /// `path` resolved against the config file's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn enforce() -> Mode {
    Mode::Enforce
}

fn latest() -> Version {
    Version::Latest
}

fn default_deadline() -> u64 {
    2000
}

fn severity<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Severity>, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse::<Severity>().map(Some).map_err(|_| {
        de::Error::custom(format!("unknown severity {text:?}: expected LOW, MEDIUM, HIGH or CRITICAL"))
    })
}

fn level<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Level, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse::<Level>().map_err(de::Error::custom)
}

fn version<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Version, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse::<Version>().map_err(de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("webhook.toml"), Path::new("/etc/kso"))
    }

    #[test]
    fn full_config_is_read() {
        let config = parse(
            "mode = \"warn\"\ndeadline_ms = 500\non_error = \"allow\"\nexempt_namespaces = [\"kube-*\"]\n\
             [rules]\n\"KSO-C001\" = \"dry-run\"\n\
             [builtin]\nselect = [\"KSV-0017\"]\nmin_severity = \"medium\"\nmode = \"enforce\"\n\
             [pss]\nlevel = \"restricted\"\nversion = \"v1.30\"\nexempt_namespaces = [\"legacy\"]\n\
             [rego]\npolicies = [\"policies\"]\n",
        )
        .unwrap();
        assert_eq!(config.mode, Mode::Warn);
        assert_eq!(config.deadline_ms, 500);
        assert_eq!(config.on_error, OnError::Allow);
        assert_eq!(config.rules["KSO-C001"], Mode::DryRun);
        let builtin = config.builtin.as_ref().unwrap();
        assert_eq!(builtin.min_severity, Some(Severity::Medium));
        assert_eq!(builtin.mode, Some(Mode::Enforce));
        let pss = config.pss.as_ref().unwrap();
        assert_eq!((pss.level, pss.version), (Level::Restricted, Version::Minor(30)));
        assert_eq!(pss.exempt_namespaces, ["legacy"]);
        assert_eq!(config.resolve(Path::new("policies")), Path::new("/etc/kso/policies"));
        assert!(config.gatekeeper.is_none());
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let err = parse("mode = \"enforce\"\n[pss]\nlevel = \"strict\"\n").unwrap_err().to_string();
        assert!(err.starts_with("webhook.toml:3:9: "), "{err}");
        assert!(err.contains("unknown Pod Security level \"strict\""), "{err}");

        let err = parse("mode = \"block\"\n").unwrap_err().to_string();
        assert!(err.starts_with("webhook.toml:1:8: "), "{err}");
        assert!(err.contains("unknown mode \"block\""), "{err}");

        let err = parse("[builtin]\nseverity = \"HIGH\"\n").unwrap_err().to_string();
        assert!(err.starts_with("webhook.toml:2:1: "), "{err}");
        assert!(err.contains("unknown field `severity`"), "{err}");

        let err = parse("[builtin]\nmin_severity = \"urgent\"\n").unwrap_err().to_string();
        assert!(err.contains("unknown severity \"urgent\""), "{err}");

        let err = parse("deadline_ms = 0\n").unwrap_err().to_string();
        assert!(err.contains("deadline_ms must be at least 1"), "{err}");
    }

    #[test]
    fn modes_parse_both_spellings_of_dry_run() {
        assert_eq!(Mode::parse("dry-run"), Some(Mode::DryRun));
        assert_eq!(Mode::parse("dryrun"), Some(Mode::DryRun));
        assert_eq!(Mode::parse("deny"), Some(Mode::Enforce));
        assert_eq!(Mode::parse("audit"), None);
        assert!(Mode::Enforce > Mode::Warn && Mode::Warn > Mode::DryRun);
    }
}
