//! Findings for the renderers' tests.

use std::sync::Arc;

use kubesecops_core::{Finding, Location, ObjectRef, Package, RuleRef, Severity, Vcs};

/// Findings with every optional field set or not, rules with no, one or several aliases,
/// objects with and without a namespace, and characters JSON escapes.
pub(crate) fn varied_findings(n: usize) -> Vec<Finding> {
    let rules: Vec<Arc<RuleRef>> = (0..4)
        .map(|r| {
            Arc::new(RuleRef {
                id: format!("KSO-X{r:03}"),
                aliases: (0..r).map(|a| format!("A\"{a}\\")).collect(),
                title: format!("title\t{r} é \u{1}"),
            })
        })
        .collect();
    let objects: Vec<Arc<ObjectRef>> = (0..3)
        .map(|o| {
            Arc::new(ObjectRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: if o == 0 { String::new() } else { format!("ns{o}") },
                name: format!("n\"{o}"),
            })
        })
        .collect();
    (0..n)
        .map(|i| Finding {
            rule: rules[i % rules.len()].clone(),
            severity: Severity::ALL[i % 4],
            message: format!("m{i}\r\n\u{7f}</script>"),
            location: Location {
                // Mostly relative files; some absolute with characters a URI encodes, some
                // live objects (SARIF gives those a logical location).
                path: match i % 23 {
                    0 => format!("/srv/my dir/f{}#.yaml", i / 50),
                    1 => format!("cluster://ctx/f{}", i / 50),
                    _ => format!("dir/f{}.yaml", i / 50),
                }
                .into(),
                line: (i % 3 != 0).then_some(i as u32),
                column: (i % 5 == 0).then_some(7),
            },
            object: (i % 7 != 0).then(|| objects[(i / 10) % objects.len()].clone()),
            fingerprint: format!("{i:016x}"),
            vcs: (i % 11 == 0)
                .then(|| Box::new(Vcs { commit: "c".into(), author: "a <b>".into(), date: "d".into() })),
            package: (i % 13 == 0).then(|| {
                Box::new(Package {
                    name: "p".into(),
                    version: "1".into(),
                    ecosystem: "npm".into(),
                    path: String::new(),
                    layer: None,
                })
            }),
            fixed_version: (i % 17 == 0).then(|| "2".to_string()),
        })
        .collect()
}
