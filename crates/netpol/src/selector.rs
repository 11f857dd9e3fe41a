//! Label sets and label selectors, validated as the API server validates them.

use std::fmt;

/// Labels of a pod or namespace, sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// Builds a label set; a later duplicate key replaces an earlier one.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Labels {
        let mut labels = Labels::default();
        for (k, v) in pairs {
            labels.insert(k, v);
        }
        labels
    }

    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: String, value: String) {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok().map(|i| self.0[i].1.as_str())
    }

    /// The pairs, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no label.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Requirement {
    /// `key=value` (from `matchLabels`).
    Equals(String, String),
    /// `In`: the label is set to one of the values.
    In(String, Vec<String>),
    /// `NotIn`: the label is unset or set to none of the values.
    NotIn(String, Vec<String>),
    /// `Exists`.
    Exists(String),
    /// `DoesNotExist`.
    DoesNotExist(String),
}

impl Requirement {
    /// The label key the requirement is about.
    pub fn key(&self) -> &str {
        match self {
            Requirement::Equals(k, _)
            | Requirement::In(k, _)
            | Requirement::NotIn(k, _)
            | Requirement::Exists(k)
            | Requirement::DoesNotExist(k) => k,
        }
    }

    fn matches(&self, labels: &Labels) -> bool {
        match self {
            Requirement::Equals(k, v) => labels.get(k) == Some(v.as_str()),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.iter().any(|x| x == v)),
            Requirement::Exists(k) => labels.get(k).is_some(),
            Requirement::DoesNotExist(k) => labels.get(k).is_none(),
        }
    }
}

/// A label selector (`matchLabels` and `matchExpressions`). The empty selector matches
/// everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// The selector that matches everything.
    pub fn everything() -> Selector {
        Selector::default()
    }

    /// Builds and validates a selector; the error says which key, value or operator is wrong.
    pub fn new(
        match_labels: Vec<(String, String)>,
        expressions: Vec<(String, String, Vec<String>)>,
    ) -> Result<Selector, String> {
        let mut requirements = Vec::new();
        for (key, value) in match_labels {
            validate_key(&key)?;
            validate_value(&value)?;
            requirements.push(Requirement::Equals(key, value));
        }
        for (key, operator, values) in expressions {
            validate_key(&key)?;
            let requirement = match operator.as_str() {
                "In" | "NotIn" => {
                    if values.is_empty() {
                        return Err(format!(
                            "for 'in', 'notin' operators, values set can't be empty (key {key:?})"
                        ));
                    }
                    for v in &values {
                        validate_value(v)?;
                    }
                    if operator == "In" {
                        Requirement::In(key, values)
                    } else {
                        Requirement::NotIn(key, values)
                    }
                }
                "Exists" | "DoesNotExist" => {
                    if !values.is_empty() {
                        return Err(format!(
                            "values set must be empty for exists and does not exist (key {key:?})"
                        ));
                    }
                    if operator == "Exists" {
                        Requirement::Exists(key)
                    } else {
                        Requirement::DoesNotExist(key)
                    }
                }
                other => return Err(format!("{other:?} is not a valid label selector operator")),
            };
            requirements.push(requirement);
        }
        Ok(Selector { requirements })
    }

    /// True when the selector has no requirement (matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

impl fmt::Display for Selector {
    /// Kubernetes' selector string: `app=web,tier in (a,b),!x`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match r {
                Requirement::Equals(k, v) => write!(f, "{k}={v}")?,
                Requirement::In(k, vs) => write!(f, "{k} in ({})", vs.join(","))?,
                Requirement::NotIn(k, vs) => write!(f, "{k} notin ({})", vs.join(","))?,
                Requirement::Exists(k) => write!(f, "{k}")?,
                Requirement::DoesNotExist(k) => write!(f, "!{k}")?,
            }
        }
        Ok(())
    }
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 characters.
fn is_label_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A DNS-1123 subdomain: lowercase labels of `[a-z0-9-]` joined by dots, at most 253.
fn is_dns_subdomain(text: &str) -> bool {
    text.len() <= 253
        && text.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        })
}

fn validate_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| !p.is_empty() && is_dns_subdomain(p));
    if prefix_ok && is_label_name(name) {
        Ok(())
    } else {
        Err(format!(
            "invalid label key {key:?}: name part must consist of alphanumeric characters, '-', '_' or '.', \
             and must start and end with an alphanumeric character"
        ))
    }
}

fn validate_value(value: &str) -> Result<(), String> {
    if value.is_empty() || is_label_name(value) {
        Ok(())
    } else {
        Err(format!(
            "invalid label value {value:?}: a valid label must be an empty string or consist of alphanumeric \
             characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn matching_follows_kubernetes_semantics() {
        let sel = Selector::new(
            vec![("app".into(), "web".into())],
            vec![
                ("tier".into(), "In".into(), vec!["a".into(), "b".into()]),
                ("env".into(), "NotIn".into(), vec!["prod".into()]),
                ("x".into(), "DoesNotExist".into(), vec![]),
            ],
        )
        .unwrap();
        assert!(sel.matches(&labels(&[("app", "web"), ("tier", "a")])));
        assert!(sel.matches(&labels(&[("app", "web"), ("tier", "b"), ("env", "dev")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "a"), ("env", "prod")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "a"), ("x", "")])));
        assert!(Selector::everything().matches(&labels(&[])));
        assert_eq!(sel.to_string(), "app=web,tier in (a,b),env notin (prod),!x");
    }

    #[test]
    fn invalid_selectors_are_rejected() {
        assert!(Selector::new(vec![("bad key!".into(), "v".into())], vec![]).is_err());
        assert!(Selector::new(vec![("k".into(), "-bad".into())], vec![]).is_err());
        assert!(Selector::new(vec![], vec![("k".into(), "In".into(), vec![])]).is_err());
        assert!(Selector::new(vec![], vec![("k".into(), "Exists".into(), vec!["v".into()])]).is_err());
        assert!(Selector::new(vec![], vec![("k".into(), "Has".into(), vec![])]).is_err());
        assert!(Selector::new(vec![("example.com/app".into(), "".into())], vec![]).is_ok());
    }
}
