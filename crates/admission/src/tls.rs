//! TLS with rustls (ring provider): the certificate and key are read from PEM files and
//! replaced, without a restart, when the files change (cert-manager and kubelet rotate the
//! files of a mounted Secret in place).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

/// Modification time and size of a file: what changes when it is rewritten.
pub type FileStamp = Option<(SystemTime, u64)>;

/// The stamp of `path`, `None` when it cannot be read.
pub fn file_stamp(path: &Path) -> FileStamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// What the TLS files' content is: a hash of their bytes. Timestamps alone miss a rewrite
/// within the file system's clock tick when the length does not change (a new certificate
/// of the same key type), and these files are small enough to read on every check.
pub type ContentStamp = Option<u64>;

/// The [`ContentStamp`] of `path` (`None` when it cannot be read).
pub fn content_stamp(path: &Path) -> ContentStamp {
    use std::hash::{Hash, Hasher};
    let bytes = std::fs::read(path).ok()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    Some(hasher.finish())
}

/// Reads a certificate chain and its private key from PEM files and checks they belong
/// together. Errors name the file.
pub fn load_certified_key(
    provider: &CryptoProvider,
    cert_path: &Path,
    key_path: &Path,
) -> Result<CertifiedKey, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| format!("{}: {e}", cert_path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert_path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate found", cert_path.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("{}: unusable private key: {e}", key_path.display()))?;
    let certified = CertifiedKey::new(certs, signing_key);
    certified
        .keys_match()
        .map_err(|e| format!("{} and {} do not match: {e}", cert_path.display(), key_path.display()))?;
    Ok(certified)
}

/// The current certificate; swapped in place on reload, read by every handshake.
#[derive(Debug)]
pub struct ReloadingCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// Stamps of the files the current certificate was read from.
    stamps: RwLock<(ContentStamp, ContentStamp)>,
}

impl ReloadingCert {
    /// Loads the certificate and key once; an error here stops the server from starting.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<ReloadingCert>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let stamps = (content_stamp(cert_path), content_stamp(key_path));
        let key = load_certified_key(&provider, cert_path, key_path)?;
        Ok(Arc::new(ReloadingCert {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            provider,
            current: RwLock::new(Arc::new(key)),
            stamps: RwLock::new(stamps),
        }))
    }

    /// Reloads when either file changed since the last successful load. `Ok(false)`: no
    /// change; `Ok(true)`: new certificate in use; `Err`: the files changed but do not load
    /// (the previous certificate stays; the next call tries again, so a certificate written
    /// before its key is picked up once both are in place).
    pub fn reload_if_changed(&self) -> Result<bool, String> {
        let stamps = (content_stamp(&self.cert_path), content_stamp(&self.key_path));
        if *self.stamps.read().unwrap_or_else(|p| p.into_inner()) == stamps {
            return Ok(false);
        }
        let key = load_certified_key(&self.provider, &self.cert_path, &self.key_path)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
        *self.stamps.write().unwrap_or_else(|p| p.into_inner()) = stamps;
        Ok(true)
    }

    /// The rustls server configuration using this certificate (HTTP/2 and HTTP/1.1 by ALPN).
    pub fn server_config(self: &Arc<Self>) -> Result<ServerConfig, String> {
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(|p| p.into_inner()).clone())
    }
}
