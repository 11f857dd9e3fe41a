//! Settings rules read.

use std::fmt;
use std::str::FromStr;

/// Settings that change what rules report. The default is the neutral setting of every
/// field (for example, no registry allowlist: `KSO-I004` reports nothing).
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Registries images may come from (`KSO-I004`). Matched as a prefix of the normalised
    /// image name at a `/` boundary: `registry.example.com` allows
    /// `registry.example.com/team/app:1`, `docker.io/library` allows `nginx:1.27`. An empty
    /// list turns the rule off: every registry is trusted.
    pub allowed_registries: Vec<String>,
    /// Secret managers credentials must come from (`KSO-S007`). Empty turns the rule off.
    pub secret_managers: Vec<SecretManager>,
}

/// A secret manager a project may require (`KSO-S007`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretManager {
    /// HashiCorp Vault through the Vault Agent injector (`vault.hashicorp.com/agent-inject`).
    Vault,
    /// The Secrets Store CSI driver (`secrets-store.csi.k8s.io` volumes).
    Csi,
    /// The External Secrets Operator (`ExternalSecret` objects syncing Secrets).
    ExternalSecrets,
}

impl SecretManager {
    /// The name used in settings: `vault`, `csi`, `external-secrets`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vault => "vault",
            Self::Csi => "csi",
            Self::ExternalSecrets => "external-secrets",
        }
    }
}

impl fmt::Display for SecretManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secret manager name that is not one of `vault`, `csi`, `external-secrets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSecretManager(pub String);

impl fmt::Display for UnknownSecretManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown secret manager {:?}: expected vault, csi or external-secrets", self.0)
    }
}

impl std::error::Error for UnknownSecretManager {}

impl FromStr for SecretManager {
    type Err = UnknownSecretManager;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "vault" | "vault-agent" => Ok(Self::Vault),
            "csi" | "secrets-store-csi" => Ok(Self::Csi),
            "external-secrets" | "eso" => Ok(Self::ExternalSecrets),
            _ => Err(UnknownSecretManager(text.to_string())),
        }
    }
}
