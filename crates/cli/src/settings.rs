//! `kubesecops.toml`: project-wide settings, found from the current directory upward or
//! named by `KUBESECOPS_CONFIG`. Flags override it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

/// The name searched for from the current directory upward.
pub const FILE_NAME: &str = "kubesecops.toml";

/// The settings file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// `[scan]` table.
    #[serde(default)]
    pub scan: ScanSettings,
    /// Where the file was found (not part of the file).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `[scan]`: defaults for `kubesecops scan`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScanSettings {
    /// Output format.
    pub format: Option<String>,
    /// Exit 1 when a finding is at or above this severity.
    pub fail_on: Option<String>,
    /// Only report these severities.
    pub severity: Option<Vec<String>>,
    /// Rule ids or aliases to skip.
    #[serde(default)]
    pub skip: Vec<String>,
    /// Pod Security Standards level for scan findings (`privileged` turns them off).
    pub pss_level: Option<String>,
    /// Pod Security Standards version.
    pub pss_version: Option<String>,
    /// Registries images may come from.
    #[serde(default)]
    pub allowed_registries: Vec<String>,
    /// A previous JSON report: only findings not in it are reported.
    pub baseline: Option<PathBuf>,
    /// The ignore file (default `.kubesecopsignore` in the current directory).
    pub ignore_file: Option<PathBuf>,
    /// Helm values files.
    #[serde(default)]
    pub helm_values: Vec<PathBuf>,
    /// Helm `--set` values.
    #[serde(default)]
    pub helm_set: Vec<String>,
    /// Secret managers credentials must come from (`vault`, `csi`, `external-secrets`);
    /// turns on `KSO-S007`.
    #[serde(default)]
    pub secret_managers: Vec<String>,
}

/// Finds and reads the settings file: `KUBESECOPS_CONFIG` if set, else the nearest
/// `kubesecops.toml` from the current directory upward, else defaults.
pub fn load() -> Result<Settings> {
    if let Some(path) = std::env::var_os("KUBESECOPS_CONFIG") {
        return read(Path::new(&path));
    }
    let mut dir = std::env::current_dir().ok();
    while let Some(d) = dir {
        let candidate = d.join(FILE_NAME);
        if candidate.is_file() {
            return read(&candidate);
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    Ok(Settings::default())
}

/// Reads one settings file; errors name the file and line.
pub fn read(path: &Path) -> Result<Settings> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut settings: Settings = toml::from_str(&text).map_err(|err| {
        let line = err.span().map(|s| text[..s.start].matches('\n').count() + 1);
        let at = line.map(|l| format!(":{l}")).unwrap_or_default();
        anyhow::anyhow!("{}{at}: {}", path.display(), err.message())
    })?;
    settings.source = Some(path.to_path_buf());
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_with_line() {
        let dir = std::env::temp_dir().join(format!("kso-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(FILE_NAME);
        std::fs::write(&path, "[scan]\nfail-on = \"high\"\nfail_onn = 1\n").unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains(":3:"), "{err}");
        std::fs::write(&path, "[scan]\nfail-on = \"high\"\nskip = [\"KSO-C001\"]\n").unwrap();
        let s = read(&path).unwrap();
        assert_eq!(s.scan.fail_on.as_deref(), Some("high"));
        assert_eq!(s.scan.skip, ["KSO-C001"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
