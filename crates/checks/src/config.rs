//! Settings rules read.

/// Settings that change what rules report. The default is the neutral setting of every
/// field (for example, no registry allowlist: `KSO-I004` reports nothing).
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Registries images may come from (`KSO-I004`). Matched as a prefix of the normalised
    /// image name at a `/` boundary: `registry.example.com` allows
    /// `registry.example.com/team/app:1`, `docker.io/library` allows `nginx:1.27`. An empty
    /// list turns the rule off: every registry is trusted.
    pub allowed_registries: Vec<String>,
}
