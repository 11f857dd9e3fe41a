//! Package URLs (`pkg:type/namespace/name@version?qualifiers#subpath`) for the packages of an
//! inventory, and back from a purl to an OSV ecosystem and name.

use std::collections::BTreeMap;

use kubesecops_vulndb::os_ecosystem;

/// A parsed package URL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Purl {
    /// Type (`deb`, `npm`, `pypi`, ...), lowercase.
    pub kind: String,
    /// Namespace (`debian`, `@scope`, `github.com/owner`, Maven group), decoded.
    pub namespace: Option<String>,
    /// Name, decoded.
    pub name: String,
    /// Version, decoded.
    pub version: Option<String>,
    /// Qualifiers (`arch`, `distro`, `upstream`, ...), decoded, keys lowercase.
    pub qualifiers: BTreeMap<String, String>,
}

/// Why a text is not a package URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid package URL {purl:?}: {reason}")]
pub struct PurlError {
    /// The text.
    pub purl: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// Percent-encodes everything but unreserved characters (and `/` where `keep_slash`).
fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) || (keep_slash && byte == b'/') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl Purl {
    /// Parses a package URL.
    pub fn parse(text: &str) -> Result<Self, PurlError> {
        let error = |reason| PurlError { purl: text.to_string(), reason };
        let rest = text.trim();
        let rest = rest
            .strip_prefix("pkg:")
            .or_else(|| rest.strip_prefix("PKG:"))
            .ok_or_else(|| error("does not start with `pkg:`"))?;
        let rest = rest.trim_start_matches('/');
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let (rest, qualifier_text) = rest.split_once('?').unwrap_or((rest, ""));
        let mut qualifiers = BTreeMap::new();
        for pair in qualifier_text.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').ok_or_else(|| error("qualifier without `=`"))?;
            let value = decode(value).ok_or_else(|| error("bad percent-encoding in a qualifier"))?;
            if !value.is_empty() {
                qualifiers.insert(key.to_ascii_lowercase(), value);
            }
        }
        let (kind, path) = rest.split_once('/').ok_or_else(|| error("no type"))?;
        if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) {
            return Err(error("invalid type"));
        }
        let path = path.trim_end_matches('/');
        // The version starts at the last `@` after the last `/` (npm scopes are `%40`-encoded).
        let last_segment = path.rfind('/').map_or(0, |i| i + 1);
        let (path, version) = match path[last_segment..].rfind('@') {
            Some(at) => {
                let at = last_segment + at;
                let version =
                    decode(&path[at + 1..]).ok_or_else(|| error("bad percent-encoding in the version"))?;
                (&path[..at], Some(version).filter(|v| !v.is_empty()))
            }
            None => (path, None),
        };
        let (namespace, name) = match path.rsplit_once('/') {
            Some((namespace, name)) => {
                let segments: Option<Vec<String>> =
                    namespace.split('/').filter(|s| !s.is_empty()).map(decode).collect();
                let namespace =
                    segments.ok_or_else(|| error("bad percent-encoding in the namespace"))?.join("/");
                (Some(namespace).filter(|n| !n.is_empty()), name)
            }
            None => (None, path),
        };
        let name = decode(name).ok_or_else(|| error("bad percent-encoding in the name"))?;
        if name.is_empty() {
            return Err(error("no name"));
        }
        Ok(Self { kind: kind.to_ascii_lowercase(), namespace, name, version, qualifiers })
    }

    /// The canonical text: components encoded, qualifiers sorted by key.
    pub fn to_text(&self) -> String {
        let mut out = format!("pkg:{}/", self.kind);
        if let Some(namespace) = &self.namespace {
            for segment in namespace.split('/').filter(|s| !s.is_empty()) {
                out.push_str(&encode(segment, false));
                out.push('/');
            }
        }
        out.push_str(&encode(&self.name, false));
        if let Some(version) = &self.version {
            out.push('@');
            out.push_str(&encode(version, false));
        }
        let mut separator = '?';
        for (key, value) in &self.qualifiers {
            out.push(separator);
            separator = '&';
            out.push_str(key);
            out.push('=');
            out.push_str(&encode(value, false));
        }
        out
    }
}

/// purl type and namespace of a distribution's packages, by OSV ecosystem base name, with
/// the os-release `ID` used in `distro` qualifiers.
const DISTRIBUTIONS: &[(&str, &str, &str)] = &[
    ("Debian", "deb", "debian"),
    ("Ubuntu", "deb", "ubuntu"),
    ("Alpine", "apk", "alpine"),
    ("Wolfi", "apk", "wolfi"),
    ("Chainguard", "apk", "chainguard"),
    ("Rocky Linux", "rpm", "rocky"),
    ("AlmaLinux", "rpm", "almalinux"),
    ("Red Hat", "rpm", "redhat"),
    ("openSUSE", "rpm", "opensuse"),
    ("SUSE", "rpm", "suse"),
    ("Azure Linux", "rpm", "azurelinux"),
    ("Photon OS", "rpm", "photon"),
    ("openEuler", "rpm", "openeuler"),
    ("Mageia", "rpm", "mageia"),
];

/// purl type of a language ecosystem, by OSV ecosystem name.
const LANGUAGES: &[(&str, &str)] = &[
    ("npm", "npm"),
    ("PyPI", "pypi"),
    ("crates.io", "cargo"),
    ("Go", "golang"),
    ("Maven", "maven"),
    ("RubyGems", "gem"),
    ("Packagist", "composer"),
    ("NuGet", "nuget"),
    ("Hex", "hex"),
    ("Pub", "pub"),
];

/// The package URL of a package of the OSV `ecosystem`; `None` for ecosystems without a
/// purl type. Distribution packages get a `distro` qualifier from the release
/// (`Debian:12` → `distro=debian-12`) and an `upstream` qualifier naming the source package.
pub fn purl_for(
    ecosystem: &str,
    name: &str,
    version: &str,
    source_name: Option<&str>,
    source_version: Option<&str>,
) -> Option<Purl> {
    let (base, release) = ecosystem.split_once(':').unwrap_or((ecosystem, ""));
    let version = Some(version.to_string()).filter(|v| !v.is_empty());
    if let Some((_, kind, id)) = DISTRIBUTIONS.iter().find(|(b, _, _)| b.eq_ignore_ascii_case(base)) {
        let mut qualifiers = BTreeMap::new();
        let release = release.trim_end_matches(":LTS").trim_start_matches('v');
        // Red Hat's release is a product CPE, not a distribution version.
        if !release.is_empty() && *id != "redhat" {
            qualifiers.insert("distro".to_string(), format!("{id}-{release}"));
        }
        if let Some(source) = source_name.filter(|s| *s != name) {
            let upstream = match source_version {
                Some(v) => format!("{source}@{v}"),
                None => source.to_string(),
            };
            qualifiers.insert("upstream".to_string(), upstream);
        } else if let Some(v) = source_version {
            qualifiers.insert("upstream".to_string(), format!("{name}@{v}"));
        }
        return Some(Purl {
            kind: kind.to_string(),
            namespace: Some(id.to_string()),
            name: name.to_string(),
            version,
            qualifiers,
        });
    }
    let (_, kind) = LANGUAGES.iter().find(|(b, _)| b.eq_ignore_ascii_case(base))?;
    let (namespace, short) = match *kind {
        // Maven names are `group:artifact`.
        "maven" => name.split_once(':').map_or((None, name), |(g, a)| (Some(g), a)),
        "npm" | "golang" | "composer" => name.rsplit_once('/').map_or((None, name), |(n, s)| (Some(n), s)),
        _ => (None, name),
    };
    let short =
        if *kind == "pypi" { short.to_ascii_lowercase().replace('_', "-") } else { short.to_string() };
    Some(Purl {
        kind: kind.to_string(),
        namespace: namespace.map(str::to_string),
        name: short,
        version,
        qualifiers: BTreeMap::new(),
    })
}

/// A package as a purl describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PurlPackage {
    /// OSV ecosystem, with the release when the purl (or `os`) gives one.
    pub ecosystem: String,
    /// Name as the ecosystem writes it (`@scope/name`, `group:artifact`).
    pub name: String,
    /// Version.
    pub version: String,
    /// Source package, from an `upstream` qualifier.
    pub source_name: Option<String>,
    /// Source version, from an `upstream` qualifier.
    pub source_version: Option<String>,
}

/// The distribution a document describes, for purls without a `distro` qualifier.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OsHint {
    /// os-release `ID` (`debian`).
    pub id: String,
    /// os-release `VERSION_ID` (`12`).
    pub version: String,
}

/// Reads an `upstream` qualifier: `name`, `name@version`, or a source RPM file name
/// (`openssl-3.0.7-27.el9.src.rpm`).
fn parse_upstream(upstream: &str) -> (String, Option<String>) {
    if let Some(stem) = upstream.strip_suffix(".src.rpm").or_else(|| upstream.strip_suffix(".nosrc.rpm")) {
        // name-version-release: the last two dashes.
        let mut parts = stem.rsplitn(3, '-');
        let (release, version, name) = (parts.next(), parts.next(), parts.next());
        if let (Some(release), Some(version), Some(name)) = (release, version, name) {
            return (name.to_string(), Some(format!("{version}-{release}")));
        }
        return (stem.to_string(), None);
    }
    match upstream.split_once('@') {
        Some((name, version)) => (name.to_string(), Some(version.to_string()).filter(|v| !v.is_empty())),
        None => (upstream.to_string(), None),
    }
}

/// The OSV ecosystem, name and version of a purl; `None` for types OSV has no ecosystem
/// for. `os` fills in the release of distribution packages whose purl has no `distro`.
pub fn package_of(purl: &Purl, os: Option<&OsHint>) -> Option<PurlPackage> {
    let version = purl.version.clone().unwrap_or_default();
    if let Some((base, _, id)) = DISTRIBUTIONS.iter().find(|(_, kind, id)| {
        *kind == purl.kind && purl.namespace.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(id))
    }) {
        let release = purl
            .qualifiers
            .get("distro")
            .map(|d| {
                // `debian-12`, `alpine-3.20.3`, `bookworm`-style names have no number: skip.
                let d = d.trim();
                d.strip_prefix(&format!("{id}-")).unwrap_or(d).to_string()
            })
            // SUSE releases are names (`Leap 15.5`); elsewhere a codename is no release.
            .filter(|d| purl.kind == "rpm" || d.starts_with(|c: char| c.is_ascii_digit()))
            .or_else(|| os.filter(|o| o.id.eq_ignore_ascii_case(id)).map(|o| o.version.clone()))
            .filter(|r| !r.is_empty());
        let ecosystem = match release {
            Some(release) => {
                os_ecosystem(id, Some(&release), None).unwrap_or_else(|| format!("{base}:{release}"))
            }
            None => base.to_string(),
        };
        let (source_name, source_version) = match purl.qualifiers.get("upstream") {
            Some(upstream) => {
                let (name, version) = parse_upstream(upstream);
                (Some(name), version)
            }
            None => (None, None),
        };
        // RPM versions carry the epoch as a qualifier.
        let version = match purl.qualifiers.get("epoch").filter(|e| *e != "0") {
            Some(epoch) if purl.kind == "rpm" && !version.contains(':') => format!("{epoch}:{version}"),
            _ => version,
        };
        return Some(PurlPackage {
            ecosystem,
            name: purl.name.clone(),
            version,
            source_name,
            source_version,
        });
    }
    let (ecosystem, _) = LANGUAGES.iter().find(|(_, kind)| *kind == purl.kind)?;
    let name = match (purl.kind.as_str(), purl.namespace.as_deref()) {
        ("maven", Some(group)) => format!("{group}:{}", purl.name),
        ("npm" | "golang" | "composer", Some(namespace)) => format!("{namespace}/{}", purl.name),
        _ => purl.name.clone(),
    };
    Some(PurlPackage {
        ecosystem: ecosystem.to_string(),
        name,
        version,
        source_name: None,
        source_version: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonically() {
        let purl = Purl::parse("pkg:npm/%40angular/core@16.0.0").unwrap();
        assert_eq!(purl.namespace.as_deref(), Some("@angular"));
        assert_eq!((purl.name.as_str(), purl.version.as_deref()), ("core", Some("16.0.0")));
        assert_eq!(purl.to_text(), "pkg:npm/%40angular/core@16.0.0");
        let deb = Purl::parse("pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=debian-12&arch=amd64").unwrap();
        assert_eq!(deb.to_text(), "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12");
        assert!(Purl::parse("npm/foo@1").is_err());
        assert!(Purl::parse("pkg:npm/%zz@1").is_err());
        assert!(Purl::parse("pkg:npm/").is_err());
    }

    #[test]
    fn round_trips_ecosystems() {
        let cases = [
            ("Debian:12", "libssl3", "3.0.11-1~deb12u2", Some("openssl")),
            ("Alpine:v3.20", "busybox", "1.36.1-r29", None),
            ("Ubuntu:22.04:LTS", "bash", "5.1-6ubuntu1", None),
            ("Rocky Linux:9", "openssl-libs", "1:3.0.7-27.el9", Some("openssl")),
            ("npm", "@angular/core", "16.0.0", None),
            ("Go", "github.com/gin-gonic/gin", "v1.9.0", None),
            ("Maven", "org.apache.logging.log4j:log4j-core", "2.14.1", None),
            ("crates.io", "serde", "1.0.0", None),
            ("PyPI", "jinja2", "3.1.2", None),
            ("RubyGems", "rack", "2.2.3", None),
            ("Packagist", "symfony/http-kernel", "5.4.0", None),
        ];
        for (ecosystem, name, version, source) in cases {
            let purl = purl_for(ecosystem, name, version, source, None).unwrap();
            let reparsed = Purl::parse(&purl.to_text()).unwrap();
            assert_eq!(reparsed, purl, "{ecosystem}");
            let package = package_of(&reparsed, None).unwrap();
            assert_eq!(package.ecosystem, ecosystem, "{}", purl.to_text());
            assert_eq!((package.name.as_str(), package.version.as_str()), (name, version));
            assert_eq!(package.source_name.as_deref(), source);
        }
    }

    #[test]
    fn reads_other_tools_conventions() {
        let os = OsHint { id: "debian".into(), version: "12".into() };
        let bare = Purl::parse("pkg:deb/debian/libc6@2.36-9?arch=amd64").unwrap();
        assert_eq!(package_of(&bare, Some(&os)).unwrap().ecosystem, "Debian:12");
        assert_eq!(package_of(&bare, None).unwrap().ecosystem, "Debian");
        let alpine = Purl::parse("pkg:apk/alpine/musl@1.2.5-r0?distro=3.20.3").unwrap();
        assert_eq!(package_of(&alpine, None).unwrap().ecosystem, "Alpine:v3.20");
        let rpm =
            Purl::parse("pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?epoch=1&upstream=openssl-3.0.7-27.el9.src.rpm&distro=rocky-9.3")
                .unwrap();
        let package = package_of(&rpm, None).unwrap();
        assert_eq!(package.version, "1:3.0.7-27.el9");
        assert_eq!(package.ecosystem, "Rocky Linux:9");
        assert_eq!(
            (package.source_name.as_deref(), package.source_version.as_deref()),
            (Some("openssl"), Some("3.0.7-27.el9"))
        );
        assert!(package_of(&Purl::parse("pkg:generic/thing@1").unwrap(), None).is_none());
    }
}
