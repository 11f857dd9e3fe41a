//! Benchmark definitions in kube-bench's YAML format: controls, groups, checks, tests.
//!
//! Files are read unchanged. Unknown keys are ignored (kube-bench ignores them too); a key
//! of the wrong shape is an error naming the file and line.

use std::path::{Path, PathBuf};

use kubesecops_k8s::{parse_documents, Node};

use crate::BenchError;

/// One controls file (`master.yaml`, `node.yaml`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Controls {
    /// Section id (`4`).
    pub id: String,
    /// Benchmark version as written in the file (`cis-1.20`).
    pub version: String,
    /// Title.
    pub text: String,
    /// Target type: `master`, `node`, `etcd`, `controlplane`, `policies`, `managedservices`.
    pub node_type: String,
    /// Groups of checks.
    pub groups: Vec<Group>,
}

/// A group of checks (`4.1 Worker Node Configuration Files`).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Group id.
    pub id: String,
    /// Title.
    pub text: String,
    /// `skip` turns every check of the group into INFO.
    pub kind: String,
    /// Checks.
    pub checks: Vec<Check>,
}

/// One recommendation.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Check id (`4.2.1`).
    pub id: String,
    /// Title.
    pub text: String,
    /// Shell command whose output the tests read first.
    pub audit: String,
    /// Shell command printing a config file (YAML/JSON), read when a flag is not found.
    pub audit_config: String,
    /// Shell command printing `NAME=value` lines (a process environment).
    pub audit_env: String,
    /// `manual`, `skip` or empty.
    pub kind: String,
    /// The tests; `None` when the check has no `tests` key.
    pub tests: Option<Tests>,
    /// How to fix it.
    pub remediation: String,
    /// Scored checks fail; unscored ones warn.
    pub scored: bool,
    /// Evaluate every output line separately (`use_multiple_values`).
    pub use_multiple_values: bool,
    /// Line of the check in its file.
    pub line: u32,
}

/// The tests of a check and how their verdicts combine.
#[derive(Debug, Clone, PartialEq)]
pub struct Tests {
    /// `and` (also when empty) or `or`; anything else is an error when the check runs.
    pub bin_op: String,
    /// The test items.
    pub items: Vec<TestItem>,
}

/// One test: which setting, and what it must be.
#[derive(Debug, Clone, PartialEq)]
pub struct TestItem {
    /// A flag or `name` searched in command output (`--anonymous-auth`, `permissions`).
    pub flag: String,
    /// An environment variable searched in the `audit_env` output.
    pub env: String,
    /// A JSONPath template evaluated on the `audit_config` output.
    pub path: String,
    /// Whether the setting must be present (default true).
    pub set: bool,
    /// The comparison, when there is one.
    pub compare: Option<Compare>,
}

/// `compare: {op, value}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compare {
    /// Operation name.
    pub op: String,
    /// Value compared with.
    pub value: String,
}

/// Reads a field's YAML nodes with the file name at hand for errors.
pub(crate) struct Reader<'a> {
    pub(crate) path: &'a Path,
}

impl Reader<'_> {
    pub(crate) fn error(&self, node: &Node, message: impl Into<String>) -> BenchError {
        BenchError::Yaml { path: self.path.to_path_buf(), line: node.pos.line, message: message.into() }
    }

    /// A scalar as text (numbers and bools as written); absent or null gives "".
    pub(crate) fn text(&self, map: &Node, key: &str) -> Result<String, BenchError> {
        match map.get(key) {
            None => Ok(String::new()),
            Some(n) => n
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| self.error(n, format!("`{key}` must be a scalar, not a list or mapping"))),
        }
    }

    /// A boolean; absent or null gives `default`.
    pub(crate) fn bool(&self, map: &Node, key: &str, default: bool) -> Result<bool, BenchError> {
        match map.get(key) {
            None => Ok(default),
            Some(n) => n.as_bool().ok_or_else(|| self.error(n, format!("`{key}` must be true or false"))),
        }
    }

    /// A sequence's items; absent or null gives none.
    pub(crate) fn list<'n>(&self, map: &'n Node, key: &str) -> Result<&'n [Node], BenchError> {
        match map.get(key) {
            None => Ok(&[]),
            Some(n) if n.is_seq() => Ok(n.items()),
            Some(n) => Err(self.error(n, format!("`{key}` must be a list"))),
        }
    }

    pub(crate) fn map<'n>(&self, node: &'n Node, what: &str) -> Result<&'n Node, BenchError> {
        if node.is_map() {
            Ok(node)
        } else {
            Err(self.error(node, format!("{what} must be a mapping")))
        }
    }
}

/// Parses the first YAML document of `text` (errors name `path`); an empty file is `None`.
pub(crate) fn parse_yaml(path: &Path, text: &str) -> Result<Option<Node>, BenchError> {
    match parse_documents(text).into_iter().next() {
        None => Ok(None),
        Some(Ok(doc)) => Ok(doc.root),
        Some(Err(e)) => Err(BenchError::Yaml { path: path.to_path_buf(), line: e.line, message: e.message }),
    }
}

impl Controls {
    /// Parses a controls file's text (after `$variable` substitution). `path` names the file
    /// in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Controls, BenchError> {
        let r = Reader { path };
        let Some(root) = parse_yaml(path, text)? else {
            return Err(BenchError::Yaml { path: path.to_path_buf(), line: 1, message: "empty file".into() });
        };
        let root = r.map(&root, "a controls file")?;
        let mut groups = Vec::new();
        for g in r.list(root, "groups")? {
            let g = r.map(g, "a group")?;
            let mut checks = Vec::new();
            for c in r.list(g, "checks")? {
                checks.push(parse_check(&r, r.map(c, "a check")?)?);
            }
            groups.push(Group {
                id: r.text(g, "id")?,
                text: r.text(g, "text")?,
                kind: r.text(g, "type")?,
                checks,
            });
        }
        Ok(Controls {
            id: r.text(root, "id")?,
            version: r.text(root, "version")?,
            text: r.text(root, "text")?,
            node_type: r.text(root, "type")?,
            groups,
        })
    }

    /// Reads and parses a controls file.
    pub fn load(path: &Path) -> Result<Controls, BenchError> {
        let text = read(path)?;
        Controls::parse(path, &text)
    }

    /// Number of checks over all groups.
    pub fn check_count(&self) -> usize {
        self.groups.iter().map(|g| g.checks.len()).sum()
    }
}

pub(crate) fn read(path: &Path) -> Result<String, BenchError> {
    std::fs::read_to_string(path).map_err(|source| BenchError::Read { path: PathBuf::from(path), source })
}

fn parse_check(r: &Reader<'_>, c: &Node) -> Result<Check, BenchError> {
    let tests = match c.get("tests") {
        None => None,
        Some(t) => {
            let t = r.map(t, "`tests`")?;
            let mut items = Vec::new();
            for item in r.list(t, "test_items")? {
                let item = r.map(item, "a test item")?;
                let compare = match item.get("compare") {
                    None => None,
                    Some(cmp) => {
                        let cmp = r.map(cmp, "`compare`")?;
                        Some(Compare { op: r.text(cmp, "op")?, value: r.text(cmp, "value")? })
                    }
                };
                items.push(TestItem {
                    flag: r.text(item, "flag")?,
                    env: r.text(item, "env")?,
                    path: r.text(item, "path")?,
                    set: r.bool(item, "set", true)?,
                    compare,
                });
            }
            Some(Tests { bin_op: r.text(t, "bin_op")?, items })
        }
    };
    Ok(Check {
        id: r.text(c, "id")?,
        text: r.text(c, "text")?,
        audit: r.text(c, "audit")?,
        audit_config: r.text(c, "audit_config")?,
        audit_env: r.text(c, "audit_env")?,
        kind: r.text(c, "type")?,
        tests,
        remediation: r.text(c, "remediation")?,
        scored: r.bool(c, "scored", false)?,
        use_multiple_values: r.bool(c, "use_multiple_values", false)?,
        line: c.pos.line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"---
controls:
version: "cis-x"
id: 4
text: "Worker Node"
type: "node"
groups:
  - id: 4.2
    text: "Kubelet"
    checks:
      - id: 4.2.1
        text: "anonymous auth off"
        audit: "/bin/ps -fC kubelet"
        audit_config: "/bin/cat /var/lib/kubelet/config.yaml"
        tests:
          test_items:
            - flag: "--anonymous-auth"
              path: '{.authentication.anonymous.enabled}'
              compare:
                op: eq
                value: false
        remediation: |
          Set it to false.
        scored: true
      - id: 4.2.2
        text: "manual one"
        type: manual
"#;

    #[test]
    fn parses_groups_checks_and_tests() {
        let c = Controls::parse(Path::new("node.yaml"), SAMPLE).unwrap();
        assert_eq!((c.id.as_str(), c.node_type.as_str(), c.check_count()), ("4", "node", 2));
        let check = &c.groups[0].checks[0];
        assert_eq!(check.id, "4.2.1");
        assert_eq!(check.line, 11);
        let item = &check.tests.as_ref().unwrap().items[0];
        assert!(item.set);
        assert_eq!(item.compare.as_ref().unwrap().value, "false");
        assert_eq!(c.groups[0].checks[1].kind, "manual");
    }

    #[test]
    fn wrong_shapes_name_file_and_line() {
        let text = "id: 1\ngroups:\n  - id: 1.1\n    checks: nope\n";
        let err = Controls::parse(Path::new("x.yaml"), text).unwrap_err();
        assert_eq!(err.to_string(), "x.yaml:4: `checks` must be a list");
        let err = Controls::parse(Path::new("y.yaml"), "id: [1\n").unwrap_err();
        assert!(err.to_string().starts_with("y.yaml:"), "{err}");
    }
}
