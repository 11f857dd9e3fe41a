//! Settings rules read.

/// Settings that change what rules report.
#[derive(Debug, Clone)]
pub struct Config {
    /// Registries images may come from (`KSO-I003`). Matched as a prefix of the image
    /// reference at a `/` boundary: `registry.example.com` allows
    /// `registry.example.com/team/app:1`. Empty means "any registry is trusted".
    pub allowed_registries: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config { allowed_registries: Vec::new() }
    }
}
