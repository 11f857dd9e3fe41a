use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// Hardening advice; little direct risk.
    Low,
    /// A weakness an attacker can use with some other foothold.
    Medium,
    /// A weakness that gives an attacker a large step (host access, privilege gain).
    High,
    /// Direct compromise of a node or the cluster.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 4] = [Self::Low, Self::Medium, Self::High, Self::Critical];

    /// The upper-case name used in reports (`HIGH`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
            Self::Critical => "CRITICAL",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text given was not one of `LOW`, `MEDIUM`, `HIGH`, `CRITICAL`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?}: expected one of LOW, MEDIUM, HIGH, CRITICAL")]
pub struct ParseSeverityError(pub String);

impl FromStr for Severity {
    type Err = ParseSeverityError;

    /// Case-insensitive, as users type `--fail-on high`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseSeverityError(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_case_and_orders() {
        assert_eq!("high".parse::<Severity>().unwrap(), Severity::High);
        assert_eq!("Critical".parse::<Severity>().unwrap(), Severity::Critical);
        assert!("severe".parse::<Severity>().is_err());
        assert!(Severity::Low < Severity::Medium && Severity::High < Severity::Critical);
    }
}
