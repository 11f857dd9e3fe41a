//! audit2rbac (k8s-audit-samples): `kubesecops rbac suggest` on the real audit events of
//! `audit2rbac/testdata/demo.log`, compared with the Role and RoleBinding the suite's README
//! shows for user alice.
//!
//! Cases: each expected object must be produced (same kind and namespace; a Role with the
//! same rules, compared as sets of (apiGroups, resources, verbs, nonResourceURLs); a binding
//! with the same roleRef kind and subjects), and nothing else may be produced. Names and
//! labels are the tools' own and are not compared.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use kubesecops_k8s::loader::load_text;
use kubesecops_k8s::{Node, Object};

use super::{Score, Suite};

pub const SUITE: Suite = Suite { name: "audit2rbac", folder: "k8s-audit-samples", goal_percent: 100.0, run };

type RuleKey = (Vec<String>, Vec<String>, Vec<String>, Vec<String>);

fn strings(node: Option<&Node>) -> Vec<String> {
    let mut v: Vec<String> = node
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

/// What is compared of one object.
fn shape(obj: &Object) -> (String, String, BTreeSet<RuleKey>, String, BTreeSet<(String, String)>) {
    let rules = obj
        .root
        .get("rules")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                strings(r.get("apiGroups")),
                strings(r.get("resources")),
                strings(r.get("verbs")),
                strings(r.get("nonResourceURLs")),
            )
        })
        .collect();
    let role_ref = obj.root.path(&["roleRef", "kind"]).and_then(Node::as_str).unwrap_or("").to_string();
    let subjects = obj
        .root
        .get("subjects")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let field = |k: &str| s.get(k).and_then(Node::as_str).unwrap_or("").to_string();
            (field("kind"), field("name"))
        })
        .collect();
    (obj.kind().to_string(), obj.namespace().to_string(), rules, role_ref, subjects)
}

/// The YAML block after `more alice-roles.yaml` in the README.
fn expected_yaml(readme: &str) -> Result<String> {
    let after =
        readme.split("more alice-roles.yaml").nth(1).context("README: no alice-roles.yaml example")?;
    let start = after.find("```yaml").context("README: no yaml block after the example")? + "```yaml".len();
    let end = after[start..].find("```").context("README: unterminated yaml block")?;
    // The block is indented inside a list item.
    let block = &after[start..start + end];
    let indent = block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    Ok(block
        .lines()
        .map(|l| if l.len() >= indent { &l[indent..] } else { l.trim_start() })
        .collect::<Vec<_>>()
        .join("\n"))
}

fn run(folder: &Path) -> Result<Score> {
    let base = folder.join("audit2rbac");
    let readme = fs::read_to_string(base.join("README.md")).context("audit2rbac/README.md")?;
    let log = fs::read_to_string(base.join("testdata/demo.log")).context("audit2rbac/testdata/demo.log")?;
    let expected = load_text(Arc::from("README.md"), &expected_yaml(&readme)?);
    if !expected.errors.is_empty() || expected.objects.is_empty() {
        bail!("README example does not parse: {:?}", expected.errors);
    }
    let suggested = kubesecops_rbac::suggest::suggest(&log, "alice")?;
    let ours = load_text(Arc::from("suggest.yaml"), &kubesecops_rbac::suggest::to_yaml(&suggested));
    if !ours.errors.is_empty() {
        bail!("our YAML does not parse: {:?}", ours.errors);
    }
    println!("  alice: {} request(s) read, {} object(s) suggested", suggested.requests, ours.objects.len());
    let mut score = Score::default();
    let our_shapes: Vec<_> = ours.objects.iter().map(shape).collect();
    for obj in &expected.objects {
        score.total += 1;
        let want = shape(obj);
        if our_shapes.contains(&want) {
            score.passed += 1;
        } else {
            println!("  MISSING {} {}/{}: expected {:?}", obj.kind(), obj.namespace(), obj.meta.name, want);
        }
    }
    score.total += 1;
    let expected_shapes: Vec<_> = expected.objects.iter().map(shape).collect();
    let extra: Vec<_> = our_shapes.iter().filter(|s| !expected_shapes.contains(s)).collect();
    if extra.is_empty() {
        score.passed += 1;
    } else {
        println!("  EXTRA objects: {extra:?}");
    }
    Ok(score)
}
