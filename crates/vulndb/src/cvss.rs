//! CVSS base scores from vector strings (v4.0, v3.0/v3.1 and v2), for severity levels.

/// A qualitative severity level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Severity not known.
    Unknown,
    /// Score 0.
    None,
    /// Score 0.1 to 3.9.
    Low,
    /// Score 4.0 to 6.9.
    Medium,
    /// Score 7.0 to 8.9.
    High,
    /// Score 9.0 to 10.0.
    Critical,
}

impl Level {
    /// The level of a CVSS v3 base score.
    pub fn from_score(score: f64) -> Self {
        match score {
            s if s <= 0.0 => Self::None,
            s if s < 4.0 => Self::Low,
            s if s < 7.0 => Self::Medium,
            s if s < 9.0 => Self::High,
            _ => Self::Critical,
        }
    }

    /// Reads a level name as advisories write it (`HIGH`, `moderate`, `important`, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "critical" => Some(Self::Critical),
            "high" | "important" => Some(Self::High),
            "medium" | "moderate" => Some(Self::Medium),
            "low" | "negligible" | "unimportant" => Some(Self::Low),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    /// The upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "UNKNOWN",
            Self::None => "NONE",
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
            Self::Critical => "CRITICAL",
        }
    }
}

/// Rounds up to one decimal as CVSS v3.1 specifies (avoiding floating-point artefacts).
fn round_up(value: f64) -> f64 {
    let int = (value * 100_000.0).round() as i64;
    if int % 10_000 == 0 {
        int as f64 / 100_000.0
    } else {
        ((int / 10_000) + 1) as f64 / 10.0
    }
}

fn metrics(vector: &str) -> impl Iterator<Item = (&str, &str)> {
    vector.split('/').filter_map(|m| m.split_once(':'))
}

/// Base score of a CVSS v3.x vector (`CVSS:3.1/AV:N/AC:L/...`); `None` when a base metric is
/// missing or unknown.
pub fn v3_base_score(vector: &str) -> Option<f64> {
    if !vector.starts_with("CVSS:3.") {
        return None;
    }
    let (mut av, mut ac, mut pr, mut ui, mut scope_changed, mut c, mut i, mut a) =
        (None, None, None, None, None, None, None, None);
    for (key, value) in metrics(vector) {
        match key {
            "AV" => {
                av = Some(match value {
                    "N" => 0.85,
                    "A" => 0.62,
                    "L" => 0.55,
                    "P" => 0.2,
                    _ => return None,
                })
            }
            "AC" => {
                ac = Some(match value {
                    "L" => 0.77,
                    "H" => 0.44,
                    _ => return None,
                })
            }
            "PR" => pr = Some(value.to_string()),
            "UI" => {
                ui = Some(match value {
                    "N" => 0.85,
                    "R" => 0.62,
                    _ => return None,
                })
            }
            "S" => {
                scope_changed = Some(match value {
                    "U" => false,
                    "C" => true,
                    _ => return None,
                })
            }
            "C" | "I" | "A" => {
                let impact = match value {
                    "H" => 0.56,
                    "L" => 0.22,
                    "N" => 0.0,
                    _ => return None,
                };
                match key {
                    "C" => c = Some(impact),
                    "I" => i = Some(impact),
                    _ => a = Some(impact),
                }
            }
            _ => {}
        }
    }
    let scope_changed = scope_changed?;
    let pr = match (pr?.as_str(), scope_changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let iss = 1.0 - (1.0 - c?) * (1.0 - i?) * (1.0 - a?);
    let impact =
        if scope_changed { 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02_f64).powi(15) } else { 6.42 * iss };
    let exploitability = 8.22 * av? * ac? * pr * ui?;
    if impact <= 0.0 {
        return Some(0.0);
    }
    Some(if scope_changed {
        round_up((1.08 * (impact + exploitability)).min(10.0))
    } else {
        round_up((impact + exploitability).min(10.0))
    })
}

/// Base score of a CVSS v4.0 vector (`CVSS:4.0/AV:N/AC:L/AT:N/...`); `None` when it does not
/// parse. v4 scores come from the specification's table of expert-scored macro vectors and
/// their interpolation, which the RustSec `cvss` crate implements.
pub fn v4_base_score(vector: &str) -> Option<f64> {
    let parsed: cvss::v4::Vector = vector.trim().parse().ok()?;
    Some(parsed.score().value())
}

/// Base score of a CVSS v2 vector (`AV:N/AC:L/Au:N/C:P/I:P/A:P`).
pub fn v2_base_score(vector: &str) -> Option<f64> {
    let (mut av, mut ac, mut au, mut c, mut i, mut a) = (None, None, None, None, None, None);
    for (key, value) in metrics(vector) {
        let impact = || match value {
            "N" => Some(0.0),
            "P" => Some(0.275),
            "C" => Some(0.660),
            _ => None,
        };
        match key {
            "AV" => {
                av = Some(match value {
                    "L" => 0.395,
                    "A" => 0.646,
                    "N" => 1.0,
                    _ => return None,
                })
            }
            "AC" => {
                ac = Some(match value {
                    "H" => 0.35,
                    "M" => 0.61,
                    "L" => 0.71,
                    _ => return None,
                })
            }
            "Au" => {
                au = Some(match value {
                    "M" => 0.45,
                    "S" => 0.56,
                    "N" => 0.704,
                    _ => return None,
                })
            }
            "C" => c = impact(),
            "I" => i = impact(),
            "A" => a = impact(),
            _ => {}
        }
    }
    let impact = 10.41 * (1.0 - (1.0 - c?) * (1.0 - i?) * (1.0 - a?));
    let exploitability = 20.0 * av? * ac? * au?;
    let f: f64 = if impact == 0.0 { 0.0 } else { 1.176 };
    let score = ((0.6 * impact) + (0.4 * exploitability) - 1.5) * f;
    Some((score * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_scores() {
        assert_eq!(v3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), Some(9.8));
        assert_eq!(v3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"), Some(6.1));
        assert_eq!(v3_base_score("CVSS:3.0/AV:L/AC:H/PR:H/UI:N/S:U/C:N/I:N/A:N"), Some(0.0));
        assert_eq!(v3_base_score("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H"), Some(9.9));
        assert_eq!(v3_base_score("CVSS:3.1/AV:N"), None);
    }

    #[test]
    fn v4_scores() {
        // Scores as the FIRST CVSS v4.0 calculator gives them.
        assert_eq!(
            v4_base_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            Some(9.3)
        );
        assert_eq!(
            v4_base_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N"),
            Some(6.9)
        );
        assert_eq!(
            v4_base_score("CVSS:4.0/AV:L/AC:H/AT:P/PR:H/UI:A/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N"),
            Some(0.0)
        );
        assert_eq!(v4_base_score("CVSS:4.0/AV:N"), None);
        assert_eq!(v4_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), None);
    }

    #[test]
    fn v2_scores() {
        assert_eq!(v2_base_score("AV:N/AC:L/Au:N/C:P/I:P/A:P"), Some(7.5));
        assert_eq!(v2_base_score("AV:N/AC:M/Au:N/C:N/I:P/A:N"), Some(4.3));
    }

    #[test]
    fn levels() {
        assert_eq!(Level::from_score(9.8), Level::Critical);
        assert_eq!(Level::from_score(4.0), Level::Medium);
        assert_eq!(Level::from_name("Moderate"), Some(Level::Medium));
    }
}
