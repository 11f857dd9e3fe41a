//! Registry-wide tests and one snapshot per rule.
//!
//! Each rule has `tests/fixtures/rules/<ID>.yaml` holding at least one object that fails the
//! rule and one that passes; the fixture is run with only that rule enabled and the findings
//! are snapshot-tested.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kubesecops_checks::config::SecretManager;
use kubesecops_checks::{docs, Config, Engine, Index, RULES};
use kubesecops_core::Finding;
use kubesecops_k8s::loader::load_text;

fn fixture_path(id: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules").join(format!("{id}.yaml"))
}

/// Settings for fixtures: a registry allowlist, so that `KSO-I004` has something to enforce.
fn test_config() -> Config {
    let registries = [
        "registry.k8s.io",
        "docker.io/library",
        "gcr.io/distroless",
        "mcr.microsoft.com",
        "cgr.dev/chainguard",
    ];
    Config {
        allowed_registries: registries.iter().map(|r| r.to_string()).collect(),
        // `KSO-S007` reports only when the project requires a secret manager.
        secret_managers: vec![SecretManager::Vault, SecretManager::Csi],
    }
}

fn run_rule(id: &str, path: &Path) -> (Vec<Finding>, usize) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let label = format!("fixtures/{id}.yaml");
    let loaded = load_text(Arc::from(label.as_str()), &text);
    assert!(loaded.errors.is_empty(), "{id}: fixture has errors: {:?}", loaded.errors);
    let engine = Engine::new(test_config(), |m| m.id == id);
    let mut findings = Vec::new();
    let mut index = Index::default();
    for obj in &loaded.objects {
        engine.check_object(obj, &mut findings);
        index.add(obj);
    }
    engine.check_index(&index, &mut findings);
    kubesecops_core::sort_findings(&mut findings);
    (findings, loaded.objects.len())
}

#[test]
fn ids_are_unique_and_well_formed() {
    let mut seen = HashSet::new();
    for def in RULES.iter() {
        let id = def.meta.id;
        assert!(seen.insert(id), "duplicate id {id}");
        let family_ok =
            id.len() == 8 && id.starts_with("KSO-") && id[5..].bytes().all(|b| b.is_ascii_digit());
        assert!(family_ok, "{id}: ids look like KSO-X000");
        assert!(!def.meta.title.is_empty() && !def.meta.title.ends_with('.'), "{id}: title");
    }
    assert!(RULES.len() >= 80, "only {} rules", RULES.len());
}

#[test]
fn aliases_do_not_collide() {
    let mut seen = HashSet::new();
    for def in RULES.iter() {
        for alias in def.meta.aliases {
            assert!(seen.insert(alias.to_ascii_uppercase()), "{}: alias {alias} used twice", def.meta.id);
        }
    }
}

#[test]
fn every_rule_is_documented_in_the_fixed_outline() {
    for def in RULES.iter() {
        let doc = def.meta.doc;
        let mut last = 0;
        for heading in ["## What it checks", "## Why it matters", "## Example", "## Fix", "## References"] {
            let at = doc.find(heading).unwrap_or_else(|| panic!("{}: doc lacks {heading:?}", def.meta.id));
            assert!(at >= last, "{}: {heading:?} out of order", def.meta.id);
            last = at;
        }
    }
}

#[test]
fn every_rule_has_a_fixture_that_fails_and_passes() {
    for def in RULES.iter() {
        let id = def.meta.id;
        let (findings, objects) = run_rule(id, &fixture_path(id));
        assert!(!findings.is_empty(), "{id}: fixture gives no finding");
        let failing: HashSet<_> =
            findings.iter().filter_map(|f| f.object.as_ref().map(|o| o.display())).collect();
        assert!(failing.len() < objects, "{id}: fixture needs an object that passes");
        assert!(findings.iter().all(|f| f.location.line.is_some()), "{id}: findings need lines");
    }
}

#[test]
fn rule_snapshots() {
    for def in RULES.iter() {
        let id = def.meta.id;
        let (findings, _) = run_rule(id, &fixture_path(id));
        let rows: Vec<String> = findings
            .iter()
            .map(|f| {
                format!(
                    "{}:{} {} {} {}",
                    f.location.line.unwrap_or(0),
                    f.location.column.unwrap_or(0),
                    f.severity,
                    f.object.as_ref().map(|o| o.display()).unwrap_or_default(),
                    f.message
                )
            })
            .collect();
        insta::assert_snapshot!(id, rows.join("\n"));
    }
}

#[test]
fn aliases_exist_in_the_peers_lists() {
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference");
    if !reference.is_dir() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {} is missing",
            reference.display()
        );
        eprintln!("skipped: {} not present (fresh clone without ../shared)", reference.display());
        return;
    }
    let mut known = HashSet::new();
    for entry in std::fs::read_dir(&reference).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                if let Some(id) = line.split('|').next() {
                    known.insert(id.trim().to_ascii_uppercase());
                }
            }
        }
    }
    for def in RULES.iter() {
        for alias in def.meta.aliases {
            assert!(
                known.contains(&alias.to_ascii_uppercase()),
                "{}: alias {alias} not in shared/reference",
                def.meta.id
            );
        }
    }
}

#[test]
fn generated_docs_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules");
    let update = std::env::var("KUBESECOPS_UPDATE_DOCS").is_ok();
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut stale = Vec::new();
    for (name, content) in docs::all_pages() {
        let path = dir.join(&name);
        if update {
            std::fs::write(&path, &content).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(content.as_str()) {
            stale.push(name);
        }
    }
    assert!(stale.is_empty(), "docs/rules is stale for {stale:?}: run KUBESECOPS_UPDATE_DOCS=1 cargo test -p kubesecops-checks --test rules");
}
