//! docs/image-rules/ is generated from the rule metadata; this test keeps it current
//! (`KUBESECOPS_UPDATE_DOCS=1` rewrites it).

use std::path::Path;

use kubesecops_image::compliance::{rule_doc, rules_index, DOCKERFILE_RULES, IMAGE_RULES};

#[test]
fn rule_docs_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/image-rules");
    let mut pages = vec![("README.md".to_string(), rules_index())];
    for rule in IMAGE_RULES.iter().chain(DOCKERFILE_RULES) {
        pages.push((format!("{}.md", rule.id), rule_doc(rule)));
    }
    if std::env::var_os("KUBESECOPS_UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &pages {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
    let stale: Vec<&str> = pages
        .iter()
        .filter(|(name, text)| std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(text.as_str()))
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(
        stale.is_empty(),
        "docs/image-rules is stale for {stale:?}: run KUBESECOPS_UPDATE_DOCS=1 cargo test -p kubesecops-image --test rule_docs"
    );
}

#[test]
fn rule_ids_are_unique_and_documented() {
    let mut ids: Vec<&str> = IMAGE_RULES.iter().chain(DOCKERFILE_RULES).map(|r| r.id).collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count);
    for rule in IMAGE_RULES.iter().chain(DOCKERFILE_RULES) {
        for section in ["## What it checks", "## Why it matters", "## Example", "## Fix", "## References"] {
            assert!(rule.doc.contains(section), "{} lacks {section}", rule.id);
        }
    }
}
