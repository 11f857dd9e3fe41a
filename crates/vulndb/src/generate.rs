//! Synthetic OSV records for benchmarks and tests: no package registry carries OSV's
//! published archives, so the import benchmark and the large-store tests write their own.
//! Records are deterministic for a seed, valid against the OSV schema, and shaped like the
//! real feeds (several ecosystems, ranges with several events, CVSS vectors, aliases,
//! details and references that the store drops on import).

use serde_json::{json, Value};

/// A small deterministic generator (xorshift64*), so runs are comparable.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (0 is replaced: xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 { 0x9e37_79b9_7f4a_7c15 } else { seed })
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

/// Ecosystems generated, with the id prefix of their advisories and how versions look.
const ECOSYSTEMS: &[(&str, &str)] = &[
    ("npm", "GHSA"),
    ("PyPI", "PYSEC"),
    ("Go", "GO"),
    ("Maven", "GHSA"),
    ("crates.io", "RUSTSEC"),
    ("RubyGems", "GHSA"),
    ("Debian:12", "DEBIAN"),
    ("Alpine:v3.20", "ALPINE"),
    ("Ubuntu:22.04:LTS", "UBUNTU"),
];

/// Distinct package names per ecosystem: records share packages, as real feeds do.
const PACKAGES_PER_ECOSYSTEM: u64 = 2_000;

/// The package name `n` of an ecosystem, spelled as that ecosystem spells names.
pub fn package_name(ecosystem: &str, n: u64) -> String {
    match ecosystem {
        "Go" => format!("github.com/org{}/module{n}", n % 97),
        "Maven" => format!("org.example.group{}:artifact-{n}", n % 53),
        // One npm name in five is scoped.
        "npm" if n % 5 < 1 => format!("@scope{}/package-{n}", n % 11),
        _ => format!("package-{n}"),
    }
}

fn version(ecosystem: &str, rng: &mut Rng) -> (String, String) {
    let (major, minor, patch) = (rng.below(5), rng.below(20), rng.below(30));
    let fixed_patch = patch + 1 + rng.below(3);
    match ecosystem {
        "Debian:12" => (
            format!("{major}.{minor}.{patch}-1"),
            format!("{major}.{minor}.{patch}-1+deb12u{}", 1 + rng.below(3)),
        ),
        "Ubuntu:22.04:LTS" => (
            format!("{major}.{minor}.{patch}-0ubuntu1"),
            format!("{major}.{minor}.{patch}-0ubuntu1.{}", 1 + rng.below(4)),
        ),
        "Alpine:v3.20" => {
            (format!("{major}.{minor}.{patch}-r0"), format!("{major}.{minor}.{fixed_patch}-r0"))
        }
        _ => (format!("{major}.{minor}.{patch}"), format!("{major}.{minor}.{fixed_patch}")),
    }
}

const METRICS: [&str; 3] = ["N", "L", "H"];

fn cvss_v3(rng: &mut Rng) -> String {
    let mut pick = |options: &[&'static str]| options[rng.below(options.len() as u64) as usize];
    format!(
        "CVSS:3.1/AV:{}/AC:{}/PR:{}/UI:{}/S:{}/C:{}/I:{}/A:{}",
        pick(&["N", "A", "L", "P"]),
        pick(&["L", "H"]),
        pick(&METRICS),
        pick(&["N", "R"]),
        pick(&["U", "C"]),
        pick(&METRICS),
        pick(&METRICS),
        pick(&METRICS)
    )
}

/// Record number `n` of a feed generated from `seed`.
pub fn record(seed: u64, n: u64) -> Value {
    let mut rng = Rng::new(seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let (ecosystem, prefix) = ECOSYSTEMS[(n % ECOSYSTEMS.len() as u64) as usize];
    let year = 2015 + rng.below(10);
    let cve = format!("CVE-{year}-{}", 10_000 + n);
    let id = match prefix {
        "GHSA" => {
            let alphabet = b"23456789cfghjmpqrvwx";
            let mut part = || (0..4).map(|_| alphabet[rng.below(20) as usize] as char).collect::<String>();
            format!("GHSA-{}-{}-{}", part(), part(), part())
        }
        "DEBIAN" | "ALPINE" | "UBUNTU" => format!("{prefix}-{cve}"),
        _ => format!("{prefix}-{year}-{n}"),
    };
    let name = package_name(ecosystem, rng.below(PACKAGES_PER_ECOSYSTEM));
    let (introduced, fixed) = version(ecosystem, &mut rng);
    let range_type = if matches!(ecosystem, "Go" | "crates.io") { "SEMVER" } else { "ECOSYSTEM" };
    let mut events =
        vec![json!({"introduced": if rng.below(3) == 0 { "0".to_string() } else { introduced }})];
    events.push(if rng.below(10) == 0 { json!({"last_affected": fixed}) } else { json!({"fixed": fixed}) });
    let mut affected = json!({
        "package": {"ecosystem": ecosystem, "name": name},
        "ranges": [{"type": range_type, "events": events}],
        "database_specific": {"source": format!("https://example.invalid/advisories/{id}.json")}
    });
    if rng.below(4) == 0 {
        affected["versions"] = json!(["0.0.1", "0.0.2"]);
    }
    let month = 1 + rng.below(12);
    let day = 1 + rng.below(28);
    let label = ["LOW", "MODERATE", "HIGH", "CRITICAL"][rng.below(4) as usize];
    let mut value = json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": format!("{}-{month:02}-{day:02}T12:00:00Z", year + 1),
        "published": format!("{year}-{month:02}-{day:02}T08:30:00Z"),
        "summary": format!("Synthetic vulnerability {n} in {name}"),
        "details": "Synthetic record written by the kubesecops benchmark generator. ".repeat(4),
        "affected": [affected],
        "references": [
            {"type": "ADVISORY", "url": format!("https://example.invalid/advisory/{n}")},
            {"type": "WEB", "url": format!("https://example.invalid/fix/{n}")}
        ],
        "database_specific": {"severity": label}
    });
    if prefix == "DEBIAN" || prefix == "UBUNTU" || prefix == "ALPINE" {
        value["upstream"] = json!([cve]);
    } else {
        value["aliases"] = json!([cve]);
    }
    if rng.below(3) != 0 {
        value["severity"] = json!([{"type": "CVSS_V3", "score": cvss_v3(&mut rng)}]);
    }
    value
}

/// `count` records of the feed generated from `seed`.
pub fn records(seed: u64, count: u64) -> impl Iterator<Item = Value> {
    (0..count).map(move |n| record(seed, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::Record;

    #[test]
    fn records_are_deterministic_and_parse() {
        assert_eq!(record(7, 42), record(7, 42));
        assert_ne!(record(7, 42), record(8, 42));
        for value in records(1, 200) {
            let parsed: Record = serde_json::from_value(value).unwrap();
            assert!(!parsed.affected.is_empty());
        }
    }
}
