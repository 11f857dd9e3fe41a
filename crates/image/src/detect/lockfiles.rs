//! Language lockfiles: Cargo.lock, package-lock.json (v1 to v3), requirements.txt, go.mod.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use super::Package;
use crate::ImageError;

fn parse_error(path: &str, line: usize, message: impl Into<String>) -> ImageError {
    ImageError::Parse { path: path.to_string(), line, message: message.into() }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[derive(Deserialize)]
struct CargoLock {
    #[serde(default)]
    package: Vec<CargoPackage>,
}

#[derive(Deserialize)]
struct CargoPackage {
    name: String,
    version: String,
}

/// Reads `Cargo.lock`: every `[[package]]`.
pub fn parse_cargo_lock(text: &str, path: &str) -> Result<Vec<Package>, ImageError> {
    let lock: CargoLock = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |span| line_of(text, span.start));
        parse_error(path, line, e.message().to_string())
    })?;
    Ok(lock.package.iter().map(|p| Package::new(&p.name, &p.version, "crates.io", path)).collect())
}

/// Reads `package-lock.json`: `packages` (v2, v3) or nested `dependencies` (v1). Linked
/// workspace members and entries without a version are left out; duplicates count once.
pub fn parse_package_lock(text: &str, path: &str) -> Result<Vec<Package>, ImageError> {
    let lock: Value = serde_json::from_str(text).map_err(|e| parse_error(path, e.line(), e.to_string()))?;
    let mut seen = BTreeSet::new();
    if let Some(packages) = lock.get("packages").and_then(Value::as_object) {
        for (key, entry) in packages {
            let Some(index) = key.rfind("node_modules/") else { continue };
            if entry.get("link").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let name =
                entry.get("name").and_then(Value::as_str).unwrap_or(&key[index + "node_modules/".len()..]);
            if let Some(version) = entry.get("version").and_then(Value::as_str) {
                seen.insert((name.to_string(), version.to_string()));
            }
        }
    } else if let Some(dependencies) = lock.get("dependencies") {
        let mut pending = vec![dependencies];
        while let Some(dependencies) = pending.pop() {
            for (name, entry) in dependencies.as_object().into_iter().flatten() {
                if let Some(version) = entry.get("version").and_then(Value::as_str) {
                    seen.insert((name.clone(), version.to_string()));
                }
                pending.extend(entry.get("dependencies"));
            }
        }
    } else if !lock.is_object() {
        return Err(parse_error(path, 1, "not a package-lock.json object"));
    }
    Ok(seen.into_iter().map(|(name, version)| Package::new(&name, &version, "npm", path)).collect())
}

/// Reads a pip requirements file: one package per requirement line; the version is the one
/// pinned with `==`/`===`, empty otherwise. Options (`-r`, `-e`, `--hash`), URLs and
/// comments are skipped.
pub fn parse_requirements(text: &str, path: &str) -> Result<Vec<Package>, ImageError> {
    let mut packages = Vec::new();
    let mut logical = String::new();
    for raw in text.lines() {
        // A trailing backslash continues the requirement on the next line.
        if let Some(start) = raw.strip_suffix('\\') {
            logical.push_str(start);
            logical.push(' ');
            continue;
        }
        logical.push_str(raw);
        let line = std::mem::take(&mut logical);
        let line = match line.find(" #").or_else(|| line.starts_with('#').then_some(0)) {
            Some(i) => &line[..i],
            None => line.as_str(),
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('-') || line.contains("://") {
            continue;
        }
        let requirement = line.split(';').next().unwrap_or("").trim();
        let requirement = requirement.split(" --").next().unwrap_or("").trim();
        let name_end = requirement
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
            .unwrap_or(requirement.len());
        let name = &requirement[..name_end];
        if name.is_empty() {
            continue;
        }
        let mut rest = requirement[name_end..].trim_start();
        if rest.starts_with('[') {
            rest = rest.find(']').map_or("", |i| rest[i + 1..].trim_start());
        }
        let version = rest
            .split(',')
            .map(str::trim)
            .find_map(|spec| spec.strip_prefix("===").or_else(|| spec.strip_prefix("==")))
            .map(str::trim)
            .filter(|v| !v.contains('*'))
            .unwrap_or("");
        packages.push(Package::new(name, version, "PyPI", path));
    }
    Ok(packages)
}

/// Reads `go.mod`: `require`d modules (after `replace`s; a module replaced by a local
/// directory is kept under that path with no version, as osv-scanner does) and the Go
/// standard library at the `toolchain` or `go` version, as `stdlib`.
/// Versions lose their `v`, as OSV writes them.
pub fn parse_go_mod(text: &str, path: &str) -> Result<Vec<Package>, ImageError> {
    let mut requires: Vec<(String, String)> = Vec::new();
    let mut replaces: Vec<(String, Option<String>, String, Option<String>)> = Vec::new();
    let mut go_version = None;
    let mut toolchain = None;
    let mut block: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (verb, args) = match &block {
            Some(verb) if line == ")" => {
                let _ = verb;
                block = None;
                continue;
            }
            Some(verb) => (verb.clone(), line.to_string()),
            None => {
                let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                let rest = rest.trim();
                if rest == "(" {
                    block = Some(verb.to_string());
                    continue;
                }
                (verb.to_string(), rest.to_string())
            }
        };
        let fields: Vec<&str> = args.split_whitespace().map(|f| f.trim_matches('"')).collect();
        match verb.as_str() {
            "go" => go_version = fields.first().map(|v| v.to_string()),
            "toolchain" => toolchain = fields.first().map(|v| v.trim_start_matches("go").to_string()),
            "require" => match fields[..] {
                [module, version, ..] => requires.push((module.to_string(), version.to_string())),
                _ => return Err(parse_error(path, n + 1, "require needs a module and a version")),
            },
            "replace" => {
                let Some(arrow) = fields.iter().position(|f| *f == "=>") else {
                    return Err(parse_error(path, n + 1, "replace without =>"));
                };
                let (old, new) = (&fields[..arrow], &fields[arrow + 1..]);
                if old.is_empty() || new.is_empty() {
                    return Err(parse_error(path, n + 1, "replace needs modules on both sides"));
                }
                replaces.push((
                    old[0].to_string(),
                    old.get(1).map(|v| v.to_string()),
                    new[0].to_string(),
                    new.get(1).map(|v| v.to_string()),
                ));
            }
            _ => {}
        }
    }
    let mut packages = Vec::new();
    for (module, version) in requires {
        let replacement = replaces.iter().find(|(old, old_version, _, _)| {
            *old == module && old_version.as_ref().is_none_or(|v| *v == version)
        });
        let (module, version) = match replacement {
            // A replacement without a version is a local directory: no published version.
            Some((_, _, new, None)) => (new.clone(), String::new()),
            Some((_, _, new, Some(new_version))) => (new.clone(), new_version.clone()),
            None => (module, version),
        };
        packages.push(Package::new(&module, version.trim_start_matches('v'), "Go", path));
    }
    if let Some(version) = toolchain.or(go_version) {
        packages.push(Package::new("stdlib", &version, "Go", path));
    }
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(packages: &[Package]) -> Vec<String> {
        packages.iter().map(|p| format!("{}@{}", p.name, p.version)).collect()
    }

    #[test]
    fn cargo_lock() {
        let text = "version = 3\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.200\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n";
        let packages = parse_cargo_lock(text, "Cargo.lock").unwrap();
        assert_eq!(names(&packages), ["serde@1.0.200", "app@0.1.0"]);
        let err = parse_cargo_lock("[[package]]\nname = \"x\"\nversion = \n", "Cargo.lock").unwrap_err();
        assert!(err.to_string().starts_with("Cargo.lock:3:"), "{err}");
    }

    #[test]
    fn package_lock_v3_and_v1() {
        let v3 = r#"{"lockfileVersion": 3, "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "node_modules/lodash": {"version": "4.17.20"},
            "node_modules/a/node_modules/lodash": {"version": "3.10.1"},
            "node_modules/alias": {"name": "real-name", "version": "2.0.0"},
            "node_modules/local": {"resolved": "packages/local", "link": true},
            "packages/local": {"version": "0.0.1"}
        }}"#;
        assert_eq!(
            names(&parse_package_lock(v3, "package-lock.json").unwrap()),
            ["lodash@3.10.1", "lodash@4.17.20", "real-name@2.0.0"]
        );
        let v1 = r#"{"lockfileVersion": 1, "dependencies": {
            "a": {"version": "1.0.0", "dependencies": {"b": {"version": "2.0.0"}}},
            "b": {"version": "2.1.0"}
        }}"#;
        assert_eq!(names(&parse_package_lock(v1, "p").unwrap()), ["a@1.0.0", "b@2.0.0", "b@2.1.0"]);
        let err = parse_package_lock("{\n  \"packages\": [,]\n}", "p").unwrap_err();
        assert!(err.to_string().starts_with("p:2:"), "{err}");
    }

    #[test]
    fn requirements() {
        let text = "# comment\nDjango==4.2.1 # pinned\nrequests[socks] >= 2.0\nflask===2.3.0 ; python_version > \"3.8\"\n-r other.txt\n--index-url https://x\nnumpy==1.26.* \\\n  --hash=sha256:abc\ngit+https://example.invalid/x.git\n";
        let packages = parse_requirements(text, "requirements.txt").unwrap();
        assert_eq!(names(&packages), ["Django@4.2.1", "requests@", "flask@2.3.0", "numpy@"]);
    }

    #[test]
    fn go_mod() {
        let text = "module example.com/app\n\ngo 1.21\ntoolchain go1.21.5\n\nrequire (\n\tgolang.org/x/net v0.17.0\n\tgithub.com/a/b v1.2.3 // indirect\n\texample.com/local v0.0.0\n)\nrequire github.com/c/d v2.0.0+incompatible\n\nreplace github.com/a/b => github.com/fork/b v1.2.4\nreplace example.com/local => ../local\n";
        let packages = parse_go_mod(text, "go.mod").unwrap();
        assert_eq!(
            names(&packages),
            [
                "golang.org/x/net@0.17.0",
                "github.com/fork/b@1.2.4",
                "../local@",
                "github.com/c/d@2.0.0+incompatible",
                "stdlib@1.21.5"
            ]
        );
        assert!(parse_go_mod("require x\n", "go.mod").unwrap_err().to_string().starts_with("go.mod:1:"));
    }
}
