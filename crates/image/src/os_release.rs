//! `/etc/os-release` (and `/usr/lib/os-release`): the distribution and its release.

/// Distribution identity from os-release.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct OsRelease {
    /// `ID` (`debian`, `alpine`, `ubuntu`, ...).
    pub id: String,
    /// `VERSION_ID` (`12`, `3.20.3`, `22.04`).
    pub version_id: Option<String>,
    /// `VERSION` (`22.04.4 LTS (Jammy Jellyfish)`).
    pub version: Option<String>,
    /// `VERSION_CODENAME`.
    pub codename: Option<String>,
    /// `PRETTY_NAME`.
    pub pretty_name: Option<String>,
}

/// Removes shell quoting of an os-release value (`"..."`, `'...'`, backslash escapes).
fn unquote(value: &str) -> String {
    let value = value.trim();
    let inner = if value.len() >= 2
        && ((value.starts_with('"') && value.ends_with('"'))
            || (value.starts_with('\'') && value.ends_with('\'')))
    {
        &value[1..value.len() - 1]
    } else {
        value
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

impl OsRelease {
    /// Parses os-release text; `None` without an `ID`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut release = Self::default();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else { continue };
            let value = unquote(value);
            match key.trim() {
                "ID" => release.id = value.to_ascii_lowercase(),
                "VERSION_ID" => release.version_id = Some(value),
                "VERSION" => release.version = Some(value),
                "VERSION_CODENAME" => release.codename = Some(value),
                "PRETTY_NAME" => release.pretty_name = Some(value),
                _ => {}
            }
        }
        (!release.id.is_empty()).then_some(release)
    }

    /// The OSV ecosystem of the distribution's packages (`Debian:12`, `Alpine:v3.20`,
    /// `Ubuntu:22.04`, `Ubuntu:22.04:LTS` for LTS releases, as OSV names them), or `None` for
    /// distributions without one.
    pub fn osv_ecosystem(&self) -> Option<String> {
        let version = self.version_id.as_deref().unwrap_or("");
        let major_minor = || version.split('.').take(2).collect::<Vec<_>>().join(".");
        match self.id.as_str() {
            "debian" => {
                let major = version.split('.').next().unwrap_or("");
                Some(if major.is_empty() { "Debian".to_string() } else { format!("Debian:{major}") })
            }
            "ubuntu" => Some(match version {
                "" => "Ubuntu".to_string(),
                _ if self.version.as_deref().is_some_and(|v| v.contains("LTS")) => {
                    format!("Ubuntu:{version}:LTS")
                }
                _ => format!("Ubuntu:{version}"),
            }),
            "alpine" => Some(if version.is_empty() {
                "Alpine".to_string()
            } else {
                format!("Alpine:v{}", major_minor())
            }),
            "wolfi" => Some("Wolfi".to_string()),
            "chainguard" => Some("Chainguard".to_string()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_debian_and_alpine() {
        let debian = OsRelease::parse(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n",
        )
        .unwrap();
        assert_eq!(debian.osv_ecosystem().as_deref(), Some("Debian:12"));
        assert_eq!(debian.codename.as_deref(), Some("bookworm"));
        let alpine = OsRelease::parse("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n").unwrap();
        assert_eq!(alpine.osv_ecosystem().as_deref(), Some("Alpine:v3.20"));
        assert!(OsRelease::parse("# nothing\nNAME=x\n").is_none());
        let jammy =
            OsRelease::parse("ID=ubuntu\nVERSION_ID=\"22.04\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\n");
        assert_eq!(jammy.unwrap().osv_ecosystem().as_deref(), Some("Ubuntu:22.04:LTS"));
        let mantic =
            OsRelease::parse("ID=ubuntu\nVERSION_ID=\"23.10\"\nVERSION=\"23.10 (Mantic Minotaur)\"\n");
        assert_eq!(mantic.unwrap().osv_ecosystem().as_deref(), Some("Ubuntu:23.10"));
    }
}
