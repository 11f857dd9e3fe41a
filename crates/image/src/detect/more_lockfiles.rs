//! More language package files: yarn.lock, pnpm-lock.yaml, Python metadata, poetry.lock,
//! Pipfile.lock, Gemfile.lock, composer.lock and Maven `pom.properties`.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use super::Package;
use crate::ImageError;

fn parse_error(path: &str, line: usize, message: impl Into<String>) -> ImageError {
    ImageError::Parse { path: path.to_string(), line, message: message.into() }
}

fn unquote(text: &str) -> &str {
    let text = text.trim();
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')))
        .unwrap_or(text)
}

/// The package name of an npm specifier `name@range` (the `@` of a scope is not the separator).
fn npm_spec_name(spec: &str) -> &str {
    match spec.get(1..).and_then(|rest| rest.find('@')) {
        Some(at) => &spec[..at + 1],
        None => spec,
    }
}

fn into_packages(seen: BTreeSet<(String, String)>, ecosystem: &str, path: &str) -> Vec<Package> {
    seen.into_iter().map(|(name, version)| Package::new(&name, &version, ecosystem, path)).collect()
}

/// Reads `yarn.lock`, classic (v1, `version "x"`) or berry (`version: x`). Workspace and
/// linked entries have no published version and are left out.
pub fn parse_yarn_lock(text: &str, path: &str) -> Result<Vec<Package>, ImageError> {
    let mut seen = BTreeSet::new();
    let mut current: Option<(String, usize)> = None;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            let Some(header) = line.trim_end().strip_suffix(':') else {
                return Err(parse_error(path, n + 1, "expected `specifier:` at the start of an entry"));
            };
            let first = unquote(header.split(',').next().unwrap_or(""));
            let name = npm_spec_name(first);
            let local = ["@workspace:", "@link:", "@portal:", "@file:"].iter().any(|p| first.contains(p));
            current = (!name.is_empty() && name != "__metadata" && !local).then(|| (name.to_string(), n + 1));
            continue;
        }
        let Some((name, _)) = &current else { continue };
        let field = line.trim();
        let version = field.strip_prefix("version:").or_else(|| {
            field.strip_prefix("version ").filter(|_| line.starts_with("  ") && !line.starts_with("   "))
        });
        if let Some(version) = version {
            let version = unquote(version);
            if version.is_empty() {
                return Err(parse_error(path, n + 1, "empty version"));
            }
            seen.insert((name.clone(), version.to_string()));
            current = None;
        }
    }
    Ok(into_packages(seen, "npm", path))
}

/// Reads `pnpm-lock.yaml`: the keys of its top-level `packages:` map (`/name/1.0.0` before
/// lockfile version 6, `/name@1.0.0` in 6, `name@1.0.0` in 9; peer suffixes removed).
pub fn parse_pnpm_lock(text: &str, path: &str) -> Result<Vec<Package>, ImageError> {
    let mut lockfile_version: Option<f64> = None;
    let mut in_packages = false;
    let mut seen = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            in_packages = line.trim_end() == "packages:";
            if let Some(version) = line.strip_prefix("lockfileVersion:") {
                let version = unquote(version);
                lockfile_version = Some(
                    version
                        .parse()
                        .map_err(|_| parse_error(path, n + 1, format!("bad lockfileVersion {version:?}")))?,
                );
            }
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if !in_packages || indent != 2 {
            continue;
        }
        let Some(key) = line.trim().strip_suffix(':') else { continue };
        let key = unquote(key);
        let key = key.strip_prefix('/').unwrap_or(key);
        if key.contains("file:") || key.contains("link:") || key.contains("://") {
            continue;
        }
        let key = key.split('(').next().unwrap_or(key);
        let (name, version) = if lockfile_version.unwrap_or(9.0) < 6.0 {
            let Some((name, version)) = key.rsplit_once('/') else {
                return Err(parse_error(path, n + 1, format!("package key {key:?} has no version")));
            };
            (name, version.split('_').next().unwrap_or(version))
        } else {
            let name = npm_spec_name(key);
            (name, key.get(name.len() + 1..).unwrap_or(""))
        };
        if name.is_empty() || version.is_empty() {
            return Err(parse_error(path, n + 1, format!("package key {key:?} has no version")));
        }
        seen.insert((name.to_string(), version.to_string()));
    }
    Ok(into_packages(seen, "npm", path))
}

/// Reads an installed Python distribution's `METADATA` (or `PKG-INFO`): `Name` and `Version`
/// from the header block.
pub fn parse_python_metadata(text: &str, path: &str) -> Result<Vec<Package>, ImageError> {
    let (mut name, mut version) = (None, None);
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if let Some((key, value)) = line.split_once(':') {
            match key.trim() {
                "Name" => name = Some(value.trim()),
                "Version" => version = Some(value.trim()),
                _ => {}
            }
        }
    }
    match (name, version) {
        (Some(name), Some(version)) => Ok(vec![Package::new(name, version, "PyPI", path)]),
        _ => Err(parse_error(path, 1, "no Name and Version headers")),
    }
}

#[derive(Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<PoetryPackage>,
}

#[derive(Deserialize)]
struct PoetryPackage {
    name: String,
    version: String,
}

/// Reads `poetry.lock`: every `[[package]]`.
pub fn parse_poetry_lock(text: &str, path: &str) -> Result<Vec<Package>, ImageError> {
    let lock: PoetryLock = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        parse_error(path, line, e.message().to_string())
    })?;
    Ok(lock.package.iter().map(|p| Package::new(&p.name, &p.version, "PyPI", path)).collect())
}

fn parse_json(text: &str, path: &str) -> Result<Value, ImageError> {
    serde_json::from_str(text).map_err(|e| parse_error(path, e.line(), e.to_string()))
}

/// Reads `Pipfile.lock`: the `default` and `develop` sections, versions pinned with `==`.
pub fn parse_pipfile_lock(text: &str, path: &str) -> Result<Vec<Package>, ImageError> {
    let lock = parse_json(text, path)?;
    let mut seen = BTreeSet::new();
    for section in ["default", "develop"] {
        for (name, entry) in lock.get(section).and_then(Value::as_object).into_iter().flatten() {
            if let Some(version) = entry.get("version").and_then(Value::as_str) {
                seen.insert((name.clone(), version.trim_start_matches("==").to_string()));
            }
        }
    }
    Ok(into_packages(seen, "PyPI", path))
}

/// Reads `Gemfile.lock`: the gems under `specs:` of the `GEM`, `GIT` and `PATH` sections
/// (four-space indent; six-space lines are their dependencies).
pub fn parse_gemfile_lock(text: &str, path: &str) -> Result<Vec<Package>, ImageError> {
    let mut seen = BTreeSet::new();
    let mut in_specs = false;
    let mut in_gem_section = false;
    for (n, line) in text.lines().enumerate() {
        if !line.starts_with(' ') {
            in_gem_section = matches!(line.trim(), "GEM" | "GIT" | "PATH");
            in_specs = false;
            continue;
        }
        if line.trim() == "specs:" {
            in_specs = in_gem_section;
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if !in_specs || indent != 4 {
            continue;
        }
        let spec = line.trim();
        let Some((name, rest)) = spec.split_once(" (") else {
            return Err(parse_error(path, n + 1, format!("gem {spec:?} has no (version)")));
        };
        let version = rest.trim_end_matches(')');
        // Platform gems carry a suffix (`1.16.0-x86_64-linux`); the gem version is before it.
        let version = match version.split_once('-') {
            Some((v, platform)) if platform.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) => v,
            _ => version,
        };
        seen.insert((name.to_string(), version.to_string()));
    }
    Ok(into_packages(seen, "RubyGems", path))
}

/// Reads `composer.lock`: `packages` and `packages-dev`.
pub fn parse_composer_lock(text: &str, path: &str) -> Result<Vec<Package>, ImageError> {
    let lock = parse_json(text, path)?;
    let mut seen = BTreeSet::new();
    for section in ["packages", "packages-dev"] {
        for entry in lock.get(section).and_then(Value::as_array).into_iter().flatten() {
            let name = entry.get("name").and_then(Value::as_str);
            let version = entry.get("version").and_then(Value::as_str);
            if let (Some(name), Some(version)) = (name, version) {
                seen.insert((name.to_string(), version.to_string()));
            }
        }
    }
    Ok(into_packages(seen, "Packagist", path))
}

/// Reads a Maven `pom.properties`: `groupId:artifactId` at `version`; `None` when a key is
/// missing.
pub fn parse_pom_properties(text: &str, path: &str) -> Option<Package> {
    let (mut group, mut artifact, mut version) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some((key, value)) = line.split_once(['=', ':']) else { continue };
        match key.trim() {
            "groupId" => group = Some(value.trim()),
            "artifactId" => artifact = Some(value.trim()),
            "version" => version = Some(value.trim()),
            _ => {}
        }
    }
    let (group, artifact, version) = (group?, artifact?, version?);
    (!group.is_empty() && !artifact.is_empty() && !version.is_empty())
        .then(|| Package::new(&format!("{group}:{artifact}"), version, "Maven", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(packages: &[Package]) -> Vec<String> {
        packages.iter().map(|p| format!("{}@{}", p.name, p.version)).collect()
    }

    #[test]
    fn yarn_classic_and_berry() {
        let classic = "# yarn lockfile v1\n\n\"@babel/core@^7.0.0\", \"@babel/core@^7.1.0\":\n  version \"7.22.5\"\n  resolved \"https://x\"\n  dependencies:\n    debug \"^4.1.0\"\n\nlodash@^4.17.20:\n  version \"4.17.21\"\n";
        assert_eq!(
            names(&parse_yarn_lock(classic, "yarn.lock").unwrap()),
            ["@babel/core@7.22.5", "lodash@4.17.21"]
        );
        let berry = "__metadata:\n  version: 6\n\n\"app@workspace:.\":\n  version: 0.0.0-use.local\n\n\"lodash@npm:^4.17.20\":\n  version: 4.17.21\n  resolution: \"lodash@npm:4.17.21\"\n";
        assert_eq!(names(&parse_yarn_lock(berry, "yarn.lock").unwrap()), ["lodash@4.17.21"]);
        let err = parse_yarn_lock("lodash@^4\n  version \"1\"\n", "yarn.lock").unwrap_err();
        assert_eq!(err.to_string(), "yarn.lock:1: expected `specifier:` at the start of an entry");
    }

    #[test]
    fn pnpm_versions_5_6_9() {
        let v5 = "lockfileVersion: 5.4\npackages:\n  /@babel/core/7.22.5:\n    resolution: {integrity: x}\n  /react-dom/18.2.0_react@18.2.0:\n    dev: false\n";
        assert_eq!(names(&parse_pnpm_lock(v5, "p").unwrap()), ["@babel/core@7.22.5", "react-dom@18.2.0"]);
        let v6 = "lockfileVersion: '6.0'\npackages:\n  /@babel/core@7.22.5:\n    dev: true\n  /react-dom@18.2.0(react@18.2.0):\n    dev: false\n";
        assert_eq!(names(&parse_pnpm_lock(v6, "p").unwrap()), ["@babel/core@7.22.5", "react-dom@18.2.0"]);
        let v9 = "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies: {}\npackages:\n  '@babel/core@7.22.5':\n    resolution: {integrity: x}\n  lodash@4.17.21:\n    resolution: {}\nsnapshots:\n  lodash@4.17.21: {}\n";
        assert_eq!(names(&parse_pnpm_lock(v9, "p").unwrap()), ["@babel/core@7.22.5", "lodash@4.17.21"]);
        assert!(parse_pnpm_lock("lockfileVersion: x.y\n", "p").unwrap_err().to_string().starts_with("p:1:"));
    }

    #[test]
    fn python_files() {
        let meta = "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n\nVersion: 9\n";
        assert_eq!(names(&parse_python_metadata(meta, "m").unwrap()), ["requests@2.31.0"]);
        assert!(parse_python_metadata("Summary: x\n", "m").is_err());
        let poetry =
            "[[package]]\nname = \"django\"\nversion = \"4.2.1\"\n\n[metadata]\nlock-version = \"2.0\"\n";
        assert_eq!(names(&parse_poetry_lock(poetry, "poetry.lock").unwrap()), ["django@4.2.1"]);
        let pipfile = r#"{"_meta": {}, "default": {"flask": {"version": "==2.3.0"}}, "develop": {"pytest": {"version": "==7.4.0"}, "local": {"path": "."}}}"#;
        assert_eq!(names(&parse_pipfile_lock(pipfile, "P").unwrap()), ["flask@2.3.0", "pytest@7.4.0"]);
    }

    #[test]
    fn gemfile_composer_pom() {
        let gems = "GEM\n  remote: https://rubygems.org/\n  specs:\n    nokogiri (1.16.0-x86_64-linux)\n      racc (~> 1.4)\n    racc (1.7.3)\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  nokogiri\n";
        assert_eq!(
            names(&parse_gemfile_lock(gems, "Gemfile.lock").unwrap()),
            ["nokogiri@1.16.0", "racc@1.7.3"]
        );
        let composer = r#"{"packages": [{"name": "monolog/monolog", "version": "2.9.1"}], "packages-dev": [{"name": "phpunit/phpunit", "version": "10.0.0"}]}"#;
        assert_eq!(
            names(&parse_composer_lock(composer, "c").unwrap()),
            ["monolog/monolog@2.9.1", "phpunit/phpunit@10.0.0"]
        );
        let pom =
            "#Generated\nversion=2.15.2\ngroupId=com.fasterxml.jackson.core\nartifactId=jackson-databind\n";
        assert_eq!(
            parse_pom_properties(pom, "p").map(|p| format!("{}@{}", p.name, p.version)).as_deref(),
            Some("com.fasterxml.jackson.core:jackson-databind@2.15.2")
        );
    }
}
