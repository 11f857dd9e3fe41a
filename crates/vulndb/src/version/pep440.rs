//! Python package versions (PEP 440): parsing with the normalisations of `packaging`, ordering,
//! and the normalised string form.

use std::cmp::Ordering;
use std::fmt;

use super::VersionError;

/// One segment of a local version label (`+ubuntu.1`): numbers sort after words.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LocalSegment {
    /// An alphanumeric segment, lowercased.
    Word(String),
    /// A numeric segment.
    Number(u64),
}

/// Pre-release kind; the order is the release order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PreKind {
    /// `a`, `alpha`.
    Alpha,
    /// `b`, `beta`.
    Beta,
    /// `rc`, `c`, `pre`, `preview`.
    ReleaseCandidate,
}

/// A parsed PEP 440 version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pep440Version {
    /// Epoch (`N!`).
    pub epoch: u64,
    /// Release numbers.
    pub release: Vec<u64>,
    /// Pre-release kind and number.
    pub pre: Option<(PreKind, u64)>,
    /// Post-release number.
    pub post: Option<u64>,
    /// Development release number.
    pub dev: Option<u64>,
    /// Local version label segments.
    pub local: Option<Vec<LocalSegment>>,
}

/// A small cursor over the lowercased version text.
struct Cursor<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_separator(&mut self) -> bool {
        matches!(self.peek(), Some(b'-' | b'_' | b'.')) && {
            self.pos += 1;
            true
        }
    }

    fn number(&mut self) -> Option<Result<u64, ()>> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if start == self.pos {
            return None;
        }
        let digits = std::str::from_utf8(&self.text[start..self.pos]).unwrap_or("");
        Some(digits.parse::<u64>().map_err(|_| ()))
    }

    /// Eats the first of `words` found at the cursor, returning its index.
    fn word(&mut self, words: &[&str]) -> Option<usize> {
        let rest = &self.text[self.pos..];
        let found = words.iter().position(|w| rest.starts_with(w.as_bytes()))?;
        self.pos += words[found].len();
        Some(found)
    }
}

impl Pep440Version {
    /// Parses a version as `packaging.version.Version` does (case-insensitive, surrounding
    /// whitespace and a leading `v` allowed, alternative spellings normalised).
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let invalid = |why: &str| VersionError::new("PyPI", text, why);
        let lower = text.trim().to_ascii_lowercase();
        let mut cur = Cursor { text: lower.as_bytes(), pos: 0 };
        let too_big = |_| invalid("number too large");
        cur.eat(b'v');
        let mut epoch = 0;
        let mut release = Vec::new();
        let first = cur.number().ok_or_else(|| invalid("no release number"))?.map_err(too_big)?;
        if cur.eat(b'!') {
            epoch = first;
            release.push(cur.number().ok_or_else(|| invalid("no release number"))?.map_err(too_big)?);
        } else {
            release.push(first);
        }
        loop {
            let save = cur.pos;
            if cur.eat(b'.') {
                if let Some(n) = cur.number() {
                    release.push(n.map_err(too_big)?);
                    continue;
                }
            }
            cur.pos = save;
            break;
        }
        // Pre-release: [sep] label [sep] [number]
        let mut pre = None;
        let save = cur.pos;
        cur.eat_separator();
        let pre_words = ["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"];
        if let Some(index) = cur.word(&pre_words) {
            let kind = match index {
                0 | 1 => PreKind::Alpha,
                2 | 3 => PreKind::Beta,
                _ => PreKind::ReleaseCandidate,
            };
            let before_number = cur.pos;
            cur.eat_separator();
            let number = match cur.number() {
                Some(n) => n.map_err(too_big)?,
                None => {
                    cur.pos = before_number;
                    0
                }
            };
            pre = Some((kind, number));
        } else {
            cur.pos = save;
        }
        // Post-release: `-N` or [sep] label [sep] [number]
        let mut post = None;
        let save = cur.pos;
        if cur.eat(b'-') {
            if let Some(n) = cur.number() {
                post = Some(n.map_err(too_big)?);
            } else {
                cur.pos = save;
            }
        }
        if post.is_none() {
            cur.eat_separator();
            if cur.word(&["post", "rev", "r"]).is_some() {
                let before_number = cur.pos;
                cur.eat_separator();
                post = Some(match cur.number() {
                    Some(n) => n.map_err(too_big)?,
                    None => {
                        cur.pos = before_number;
                        0
                    }
                });
            } else {
                cur.pos = save;
            }
        }
        // Development release.
        let mut dev = None;
        let save = cur.pos;
        cur.eat_separator();
        if cur.word(&["dev"]).is_some() {
            let before_number = cur.pos;
            cur.eat_separator();
            dev = Some(match cur.number() {
                Some(n) => n.map_err(too_big)?,
                None => {
                    cur.pos = before_number;
                    0
                }
            });
        } else {
            cur.pos = save;
        }
        // Local label: `+` alnum runs separated by `-_.`.
        let mut local = None;
        if cur.eat(b'+') {
            let label = &lower[cur.pos..];
            let mut segments = Vec::new();
            for part in label.split(['-', '_', '.']) {
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(invalid("invalid local version label"));
                }
                segments.push(if part.bytes().all(|b| b.is_ascii_digit()) {
                    LocalSegment::Number(part.parse().map_err(|_| invalid("number too large"))?)
                } else {
                    LocalSegment::Word(part.to_string())
                });
            }
            cur.pos = lower.len();
            local = Some(segments);
        }
        if cur.pos != lower.len() {
            return Err(invalid("unexpected text"));
        }
        Ok(Self { epoch, release, pre, post, dev, local })
    }

    /// True for pre-releases and development releases.
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    /// The version without its local label.
    pub fn public(&self) -> Self {
        Self { local: None, ..self.clone() }
    }

    /// Release numbers without trailing zeros (`1.0.0` sorts as `1`).
    fn trimmed_release(&self) -> &[u64] {
        let len = self.release.iter().rposition(|n| *n != 0).map_or(0, |i| i + 1);
        &self.release[..len]
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        // Sort key of `packaging`: a dev release without pre/post sorts before all pre-releases.
        fn pre_key(v: &Pep440Version) -> (i8, Option<(PreKind, u64)>) {
            match (v.pre, v.post, v.dev) {
                (None, None, Some(_)) => (-1, None),
                (None, _, _) => (1, None),
                (Some(pre), _, _) => (0, Some(pre)),
            }
        }
        fn post_key(v: &Pep440Version) -> (i8, u64) {
            v.post.map_or((-1, 0), |n| (0, n))
        }
        fn dev_key(v: &Pep440Version) -> (i8, u64) {
            v.dev.map_or((1, 0), |n| (0, n))
        }
        fn local_key(v: &Pep440Version) -> (i8, &[LocalSegment]) {
            v.local.as_deref().map_or((-1, &[][..]), |l| (0, l))
        }
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| self.trimmed_release().cmp(other.trimmed_release()))
            .then_with(|| pre_key(self).cmp(&pre_key(other)))
            .then_with(|| post_key(self).cmp(&post_key(other)))
            .then_with(|| dev_key(self).cmp(&dev_key(other)))
            .then_with(|| local_key(self).cmp(&local_key(other)))
    }
}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Pep440Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}!", self.epoch)?;
        }
        let release: Vec<String> = self.release.iter().map(u64::to_string).collect();
        f.write_str(&release.join("."))?;
        if let Some((kind, n)) = self.pre {
            let label = match kind {
                PreKind::Alpha => "a",
                PreKind::Beta => "b",
                PreKind::ReleaseCandidate => "rc",
            };
            write!(f, "{label}{n}")?;
        }
        if let Some(n) = self.post {
            write!(f, ".post{n}")?;
        }
        if let Some(n) = self.dev {
            write!(f, ".dev{n}")?;
        }
        if let Some(local) = &self.local {
            let parts: Vec<String> = local
                .iter()
                .map(|s| match s {
                    LocalSegment::Word(w) => w.clone(),
                    LocalSegment::Number(n) => n.to_string(),
                })
                .collect();
            write!(f, "+{}", parts.join("."))?;
        }
        Ok(())
    }
}

/// Compares two PEP 440 versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(Pep440Version::parse(a)?.cmp(&Pep440Version::parse(b)?))
}

/// A version specifier operator (PEP 440).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecOp {
    /// `~=`
    Compatible,
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
    /// `<=`
    LessEqual,
    /// `>=`
    GreaterEqual,
    /// `<`
    Less,
    /// `>`
    Greater,
    /// `===`
    Arbitrary,
}

/// One version specifier (`>=1.0`, `==2.1.*`, `~=1.4.2`), as `packaging.specifiers.Specifier`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Specifier {
    /// Operator.
    pub op: SpecOp,
    /// The version text after the operator (for `===`, compared as text).
    pub text: String,
    /// The parsed version (the prefix for `==X.*`/`!=X.*`; `None` for `===`).
    pub version: Option<Pep440Version>,
    /// `==X.*` or `!=X.*`.
    pub wildcard: bool,
}

/// `packaging`'s `_version_split`: epoch, then release parts, with `1a1`-style parts split.
fn version_split(normalized: &str) -> Vec<String> {
    let (epoch, rest) = normalized.rsplit_once('!').unwrap_or(("0", normalized));
    let mut out = vec![epoch.to_string()];
    for item in rest.split('.') {
        let digits = item.bytes().take_while(u8::is_ascii_digit).count();
        let tail = &item[digits..];
        let is_pre = ["a", "b", "c", "rc"].iter().any(|p| {
            tail.strip_prefix(p).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
        if digits > 0 && is_pre {
            out.push(item[..digits].to_string());
            out.push(tail.to_string());
        } else {
            out.push(item.to_string());
        }
    }
    out
}

impl Specifier {
    /// Parses a specifier, with the validity rules of `packaging` (no local versions except
    /// with `==`/`!=`, wildcards only on release versions with `==`/`!=`, `~=` needs two
    /// release numbers).
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let invalid = |why: &str| VersionError::new("PyPI specifier", text, why);
        let trimmed = text.trim();
        let ops = [
            ("===", SpecOp::Arbitrary),
            ("~=", SpecOp::Compatible),
            ("==", SpecOp::Equal),
            ("!=", SpecOp::NotEqual),
            ("<=", SpecOp::LessEqual),
            (">=", SpecOp::GreaterEqual),
            ("<", SpecOp::Less),
            (">", SpecOp::Greater),
        ];
        let (op, rest) = ops
            .iter()
            .find_map(|(prefix, op)| trimmed.strip_prefix(prefix).map(|rest| (*op, rest.trim())))
            .ok_or_else(|| invalid("no operator"))?;
        if rest.is_empty() || rest.contains(char::is_whitespace) {
            return Err(invalid("no version"));
        }
        if op == SpecOp::Arbitrary {
            return Ok(Self { op, text: rest.to_string(), version: None, wildcard: false });
        }
        let wildcard = rest.ends_with(".*");
        let version_text = if wildcard { &rest[..rest.len() - 2] } else { rest };
        let version = Pep440Version::parse(version_text).map_err(|e| invalid(&e.reason))?;
        if wildcard {
            let release_only = version.pre.is_none() && version.post.is_none() && version.dev.is_none();
            if !matches!(op, SpecOp::Equal | SpecOp::NotEqual) || !release_only || version.local.is_some() {
                return Err(invalid("wildcard not allowed here"));
            }
        } else if version.local.is_some() && !matches!(op, SpecOp::Equal | SpecOp::NotEqual) {
            return Err(invalid("local version not allowed with this operator"));
        }
        if op == SpecOp::Compatible && version.release.len() < 2 {
            return Err(invalid("~= needs at least two release numbers"));
        }
        Ok(Self { op, text: rest.to_string(), version: Some(version), wildcard })
    }

    /// True when the specifier names a pre-release with an inclusive operator, so it lets
    /// pre-releases in by default.
    pub fn allows_prereleases(&self) -> bool {
        matches!(self.op, SpecOp::Equal | SpecOp::GreaterEqual | SpecOp::LessEqual | SpecOp::Compatible)
            && self.version.as_ref().is_some_and(Pep440Version::is_prerelease)
    }

    /// `==prefix.*`: the version's split form, release padded with zeros, starts with the
    /// prefix's split form.
    fn prefix_matches(prefix: &Pep440Version, version: &Pep440Version) -> bool {
        let spec = version_split(&prefix.to_string());
        let mut prospective = version_split(&version.public().to_string());
        let release_len =
            |parts: &[String]| parts.iter().take_while(|p| p.bytes().all(|b| b.is_ascii_digit())).count();
        let (spec_release, prospective_release) = (release_len(&spec), release_len(&prospective));
        if prospective_release < spec_release {
            let padding = vec!["0".to_string(); spec_release - prospective_release];
            prospective.splice(prospective_release..prospective_release, padding);
        }
        prospective.len() >= spec.len() && prospective[..spec.len()] == spec[..]
    }

    fn base(version: &Pep440Version) -> Pep440Version {
        Pep440Version {
            epoch: version.epoch,
            release: version.release.clone(),
            pre: None,
            post: None,
            dev: None,
            local: None,
        }
    }

    /// Whether `version` satisfies the specifier (pre-releases are not filtered here).
    pub fn contains(&self, version: &Pep440Version) -> bool {
        let Some(spec) = &self.version else {
            return version.to_string().eq_ignore_ascii_case(&self.text);
        };
        let equal = || {
            if self.wildcard {
                Self::prefix_matches(spec, version)
            } else if spec.local.is_some() {
                version == spec || version.cmp(spec) == Ordering::Equal
            } else {
                version.public().cmp(spec) == Ordering::Equal
            }
        };
        match self.op {
            SpecOp::Equal => equal(),
            SpecOp::NotEqual => !equal(),
            SpecOp::LessEqual => version.public() <= *spec,
            SpecOp::GreaterEqual => version.public() >= *spec,
            SpecOp::Less => {
                version < spec
                    && !(!spec.is_prerelease()
                        && version.is_prerelease()
                        && Self::base(version).cmp(&Self::base(spec)) == Ordering::Equal)
            }
            SpecOp::Greater => {
                version.public() > *spec
                    && !(spec.post.is_none()
                        && version.post.is_some()
                        && Self::base(version).cmp(&Self::base(spec)) == Ordering::Equal)
            }
            SpecOp::Compatible => {
                let mut prefix = spec.clone();
                prefix.release.pop();
                prefix.pre = None;
                prefix.post = None;
                prefix.dev = None;
                version.public() >= *spec && Self::prefix_matches(&prefix, version)
            }
            SpecOp::Arbitrary => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(text: &str) -> String {
        Pep440Version::parse(text).unwrap().to_string()
    }

    #[test]
    fn normalises_spellings() {
        assert_eq!(norm("1.0-ALPHA.2"), "1.0a2");
        assert_eq!(norm("v2!1.0preview"), "2!1.0rc0");
        assert_eq!(norm("1.0-1"), "1.0.post1");
        assert_eq!(norm("1.0.r4_dev"), "1.0.post4.dev0");
        assert_eq!(norm("1.0+Ubuntu-1"), "1.0+ubuntu.1");
    }

    #[test]
    fn orders_releases() {
        let sorted = ["1.0.dev1", "1.0a1", "1.0b2.post1", "1.0rc1", "1.0", "1.0+local", "1.0.post1", "1.1"];
        for pair in sorted.windows(2) {
            assert_eq!(compare(pair[0], pair[1]).unwrap(), Ordering::Less, "{pair:?}");
        }
        assert_eq!(compare("1.0", "1.0.0").unwrap(), Ordering::Equal);
    }

    #[test]
    fn specifiers() {
        let contains =
            |spec: &str, v: &str| Specifier::parse(spec).unwrap().contains(&Pep440Version::parse(v).unwrap());
        assert!(contains("==2.*", "2.0.1") && !contains("==2.*", "3.0"));
        assert!(contains("~=1.4.2", "1.4.9") && !contains("~=1.4.2", "1.5"));
        assert!(contains("<2", "1.9") && !contains("<2", "2.0a1"));
        assert!(contains(">2", "2.1") && !contains(">2", "2.0.post1"));
        assert!(contains("==1.0", "1.0+local") && !contains("==1.0+a", "1.0+b"));
        for bad in ["2.0", "=>2.0", "~=1", ">=1.0.*", "<1.0+local", "==1.0a1.*"] {
            assert!(Specifier::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_junk() {
        for bad in ["french toast", "1.0+", "1.0+a+", "1.0.", "1..0", ""] {
            assert!(Pep440Version::parse(bad).is_err(), "{bad}");
        }
    }
}
