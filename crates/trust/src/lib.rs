//! Signed inputs: which minisign public keys are trusted, and whether a file's detached
//! signature (`FILE.minisig`, as `minisign -S -m FILE` writes it) was made by one of them.
//!
//! A signature covers the file and its *trusted comment*, where minisign writes
//! `timestamp:<Unix seconds>\tfile:<name>` unless told otherwise. [`Verified`] returns both, so
//! that a caller can refuse a file older than one it already accepted under the same name (a
//! rollback) and can judge how old the signed content is (a freeze).
//!
//! Both of minisign's signature kinds are accepted: prehashed (`ED`, BLAKE2b-512 of the file,
//! minisign's default since 0.10), verified while streaming the file, and legacy (`Ed`, over
//! the whole file, `minisign -l`), read into memory up to [`LEGACY_LIMIT`].
//!
//! [`TrustedKeys::verify`] streams a file of any size and callers read it again to use it;
//! [`TrustedKeys::read_verified`] returns the very bytes it verified, for inputs small enough
//! to hold (policies, rules), so that a file replaced between the check and the use (a
//! ConfigMap update, say) cannot slip in unchecked.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;

/// Extension of a detached signature beside the file it signs.
pub const SIGNATURE_EXTENSION: &str = "minisig";

/// Largest file a legacy (not prehashed) signature is checked on: it must be held in memory.
pub const LEGACY_LIMIT: u64 = 256 * 1024 * 1024;

/// Largest signature or public key file read: real ones are a few hundred bytes.
const SMALL_FILE_LIMIT: u64 = 64 * 1024;

/// Errors of loading keys and verifying signatures. Each names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// A key, signature or signed file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A public key file is not in minisign's format.
    #[error("{path}:{line}: not a minisign public key: {reason}")]
    Key {
        /// The key file.
        path: String,
        /// Line of the problem.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A signature file is not in minisign's format.
    #[error("{path}:{line}: not a minisign signature: {reason}")]
    Malformed {
        /// The signature file.
        path: String,
        /// Line of the problem.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A file has no signature beside it.
    #[error("{path}: not signed: {signature} is missing (with trusted keys, every input must be signed)")]
    Unsigned {
        /// The file.
        path: String,
        /// Where its signature was looked for.
        signature: String,
    },
    /// A file is signed by a key that is not trusted.
    #[error("{path}: signed by key {key}, which is not a trusted key (trusted: {trusted})")]
    UntrustedKey {
        /// The file.
        path: String,
        /// The signing key's id.
        key: KeyId,
        /// The trusted keys' ids, comma-separated.
        trusted: String,
    },
    /// The signature does not verify: the file or the trusted comment changed after signing,
    /// or the signature belongs to another file.
    #[error(
        "{path}: the signature {signature} does not match: the file or the signature's trusted \
         comment was changed after signing, or the signature is another file's"
    )]
    Mismatch {
        /// The file.
        path: String,
        /// The signature file.
        signature: String,
    },
    /// A verified file that was to be read as text is not UTF-8.
    #[error("{path}: cannot read: not UTF-8 text")]
    NotText {
        /// The file.
        path: String,
    },
    /// A file to be read whole and verified ([`TrustedKeys::read_verified`]) is too large to
    /// hold in memory.
    #[error("{path}: over {limit} bytes, too large to read whole and verify")]
    TooLarge {
        /// The file.
        path: String,
        /// [`LEGACY_LIMIT`].
        limit: u64,
    },
    /// A legacy signature on a file too large to hold in memory.
    #[error(
        "{path}: a legacy (not prehashed) signature on a file over {limit} bytes; sign it again \
         with a current minisign (prehashed by default)"
    )]
    LegacyTooLarge {
        /// The file.
        path: String,
        /// [`LEGACY_LIMIT`].
        limit: u64,
    },
}

impl TrustError {
    /// The file the error is about.
    pub fn path(&self) -> &str {
        match self {
            TrustError::Io { path, .. }
            | TrustError::Key { path, .. }
            | TrustError::Malformed { path, .. }
            | TrustError::Unsigned { path, .. }
            | TrustError::UntrustedKey { path, .. }
            | TrustError::Mismatch { path, .. }
            | TrustError::NotText { path }
            | TrustError::TooLarge { path, .. }
            | TrustError::LegacyTooLarge { path, .. } => path,
        }
    }

    /// The message without the leading `PATH: `, for reports that show the path apart.
    pub fn reason(&self) -> String {
        let message = self.to_string();
        match message.strip_prefix(self.path()).and_then(|rest| rest.strip_prefix(": ")) {
            Some(reason) => reason.to_string(),
            None => message,
        }
    }
}

/// `FILE.minisig`, or [`TrustError::Unsigned`] when it is missing beside an existing file (a
/// missing file is left to the read, whose error names it).
fn existing_signature(file: &Path) -> Result<PathBuf, TrustError> {
    let signature = signature_path(file);
    if !signature.exists() && file.exists() {
        return Err(TrustError::Unsigned {
            path: file.display().to_string(),
            signature: signature.display().to_string(),
        });
    }
    Ok(signature)
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> TrustError + '_ {
    move |source| TrustError::Io { path: path.display().to_string(), source }
}

/// A minisign key id: eight bytes, shown as minisign shows it (hexadecimal of the bytes read
/// as a little-endian number, `A70872180855FA31`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub u64);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", self.0)
    }
}

impl KeyId {
    fn from_bytes(bytes: &[u8]) -> Self {
        let mut id = [0u8; 8];
        id.copy_from_slice(&bytes[..8]);
        Self(u64::from_le_bytes(id))
    }
}

/// One trusted public key.
#[derive(Clone)]
struct TrustedKey {
    id: KeyId,
    key: minisign_verify::PublicKey,
}

/// The public keys whose signatures are accepted.
#[derive(Clone, Default)]
pub struct TrustedKeys {
    keys: Vec<TrustedKey>,
}

impl fmt::Debug for TrustedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.ids()).finish()
    }
}

/// What a verified signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key that made the signature.
    pub key: KeyId,
    /// The signature's trusted comment, as signed.
    pub trusted_comment: String,
    /// `timestamp:` of the trusted comment: when the file was signed (Unix seconds).
    pub signed_at: Option<u64>,
    /// `file:` of the trusted comment: the file's name when it was signed.
    pub signed_name: Option<String>,
}

/// Where the detached signature of `file` is looked for: `FILE.minisig`.
pub fn signature_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push(".");
    name.push(SIGNATURE_EXTENSION);
    PathBuf::from(name)
}

fn read_small(path: &Path) -> Result<String, TrustError> {
    let file = File::open(path).map_err(io_error(path))?;
    let mut bytes = Vec::new();
    file.take(SMALL_FILE_LIMIT + 1).read_to_end(&mut bytes).map_err(io_error(path))?;
    if bytes.len() as u64 > SMALL_FILE_LIMIT {
        return Err(TrustError::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(format!("larger than {SMALL_FILE_LIMIT} bytes")),
        });
    }
    String::from_utf8(bytes).map_err(|_| TrustError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other("not UTF-8 text"),
    })
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text.trim()).ok()
}

impl TrustedKeys {
    /// Loads public key files: minisign's two-line `minisign.pub`, or the bare base64 key on a
    /// line of its own. Every file must hold a valid key.
    pub fn load(paths: &[PathBuf]) -> Result<Self, TrustError> {
        let mut keys = Self::default();
        for path in paths {
            keys.add(path, &read_small(path)?)?;
        }
        Ok(keys)
    }

    /// Adds the key in `text`, read from `path` (named in errors).
    pub fn add(&mut self, path: &Path, text: &str) -> Result<KeyId, TrustError> {
        let key_error = |line: usize, reason: &str| TrustError::Key {
            path: path.display().to_string(),
            line,
            reason: reason.to_string(),
        };
        // The first line that is neither empty nor a comment holds the key.
        let (index, line) = text
            .lines()
            .enumerate()
            .find(|(_, line)| !line.trim().is_empty() && !line.starts_with("untrusted comment:"))
            .ok_or_else(|| key_error(1, "no key line"))?;
        let line_number = index + 1;
        let bytes = decode_base64(line).ok_or_else(|| key_error(line_number, "not base64"))?;
        if bytes.len() != 42 || &bytes[..2] != b"Ed" {
            return Err(key_error(line_number, "not an Ed25519 public key (42 bytes starting `Ed`)"));
        }
        let key = minisign_verify::PublicKey::from_base64(line.trim())
            .map_err(|e| key_error(line_number, &e.to_string()))?;
        let id = KeyId::from_bytes(&bytes[2..10]);
        if !self.keys.iter().any(|k| k.id == id) {
            self.keys.push(TrustedKey { id, key });
        }
        Ok(id)
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The trusted keys' ids, in the order they were added.
    pub fn ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.keys.iter().map(|k| k.id)
    }

    /// Verifies `file` against its signature `FILE.minisig` ([`signature_path`]).
    pub fn verify(&self, file: &Path) -> Result<Verified, TrustError> {
        self.verify_with(file, &existing_signature(file)?)
    }

    /// Verifies `file` against the signature file `signature`.
    pub fn verify_with(&self, file: &Path, signature: &Path) -> Result<Verified, TrustError> {
        let input = File::open(file).map_err(io_error(file))?;
        self.verify_reader(file, signature, input)
    }

    /// Reads `file` (up to [`LEGACY_LIMIT`] bytes) and verifies what was read against
    /// `FILE.minisig`: the bytes returned are the bytes verified, however the file changes
    /// afterwards.
    pub fn read_verified(&self, file: &Path) -> Result<(Vec<u8>, Verified), TrustError> {
        let mut bytes = Vec::new();
        File::open(file)
            .and_then(|f| f.take(LEGACY_LIMIT + 1).read_to_end(&mut bytes))
            .map_err(io_error(file))?;
        if bytes.len() as u64 > LEGACY_LIMIT {
            return Err(TrustError::TooLarge { path: file.display().to_string(), limit: LEGACY_LIMIT });
        }
        let verified = self.verify_reader(file, &existing_signature(file)?, bytes.as_slice())?;
        Ok((bytes, verified))
    }

    /// [`TrustedKeys::read_verified`] for a text file (policies, rules): the verified text.
    pub fn read_verified_text(&self, file: &Path) -> Result<String, TrustError> {
        let (bytes, _) = self.read_verified(file)?;
        String::from_utf8(bytes).map_err(|_| TrustError::NotText { path: file.display().to_string() })
    }

    /// Verifies the content read from `input` (the content of `file`) against `signature`.
    fn verify_reader(
        &self,
        file: &Path,
        signature: &Path,
        mut input: impl Read,
    ) -> Result<Verified, TrustError> {
        let text = read_small(signature)?;
        let parsed = ParsedSignature::parse(&text, signature)?;
        let trusted =
            self.keys.iter().find(|k| k.id == parsed.key).ok_or_else(|| TrustError::UntrustedKey {
                path: file.display().to_string(),
                key: parsed.key,
                trusted: self.ids().map(|id| id.to_string()).collect::<Vec<_>>().join(", "),
            })?;
        let malformed =
            |reason: String| TrustError::Malformed { path: signature.display().to_string(), line: 1, reason };
        let decoded = minisign_verify::Signature::decode(&text).map_err(|e| malformed(e.to_string()))?;
        let mismatch = || TrustError::Mismatch {
            path: file.display().to_string(),
            signature: signature.display().to_string(),
        };
        if parsed.prehashed {
            let mut verifier = trusted.key.verify_stream(&decoded).map_err(|_| mismatch())?;
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                let n = input.read(&mut buffer).map_err(io_error(file))?;
                if n == 0 {
                    break;
                }
                verifier.update(&buffer[..n]);
            }
            verifier.finalize().map_err(|_| mismatch())?;
        } else {
            let mut bytes = Vec::new();
            (&mut input).take(LEGACY_LIMIT + 1).read_to_end(&mut bytes).map_err(io_error(file))?;
            if bytes.len() as u64 > LEGACY_LIMIT {
                return Err(TrustError::LegacyTooLarge {
                    path: file.display().to_string(),
                    limit: LEGACY_LIMIT,
                });
            }
            trusted.key.verify(&bytes, &decoded, true).map_err(|_| mismatch())?;
        }
        let trusted_comment = parsed.trusted_comment;
        let field =
            |name: &str| trusted_comment.split('\t').find_map(|f| f.strip_prefix(name)).map(str::to_string);
        Ok(Verified {
            key: parsed.key,
            signed_at: field("timestamp:").and_then(|t| t.parse().ok()),
            signed_name: field("file:"),
            trusted_comment,
        })
    }
}

/// What the lines of a signature file say, checked line by line so errors can name the line.
struct ParsedSignature {
    key: KeyId,
    prehashed: bool,
    trusted_comment: String,
}

impl ParsedSignature {
    fn parse(text: &str, path: &Path) -> Result<Self, TrustError> {
        let malformed = |line: usize, reason: &str| TrustError::Malformed {
            path: path.display().to_string(),
            line,
            reason: reason.to_string(),
        };
        let lines: Vec<&str> = text.lines().collect();
        let line = |n: usize| lines.get(n - 1).copied().unwrap_or("");
        if !line(1).starts_with("untrusted comment:") {
            return Err(malformed(1, "expected `untrusted comment: ...`"));
        }
        let signature = decode_base64(line(2)).ok_or_else(|| malformed(2, "not base64"))?;
        if signature.len() != 74 {
            return Err(malformed(2, "not a signature (74 bytes expected)"));
        }
        let prehashed = match &signature[..2] {
            b"ED" => true,
            b"Ed" => false,
            _ => return Err(malformed(2, "unknown signature algorithm (expected `ED` or `Ed`)")),
        };
        let trusted_comment = line(3)
            .strip_prefix("trusted comment: ")
            .ok_or_else(|| malformed(3, "expected `trusted comment: ...`"))?;
        match decode_base64(line(4)) {
            Some(global) if global.len() == 64 => {}
            _ => return Err(malformed(4, "expected the 64-byte global signature in base64")),
        }
        Ok(Self {
            key: KeyId::from_bytes(&signature[2..10]),
            prehashed,
            trusted_comment: trusted_comment.to_string(),
        })
    }
}

/// Signing in minisign's format, for tests of this crate and of its users (feature `testing`):
/// a key pair made from a seed, and prehashed or legacy signatures with a chosen trusted
/// comment.
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    pub use signer::*;

    mod signer {
        use base64::Engine;
        use blake2::Digest;
        use ring::signature::{Ed25519KeyPair, KeyPair};

        /// A minisign key pair for tests.
        pub struct TestKey {
            pair: Ed25519KeyPair,
            keynum: [u8; 8],
        }

        fn b64(bytes: &[u8]) -> String {
            base64::engine::general_purpose::STANDARD.encode(bytes)
        }

        impl TestKey {
            /// A key pair from a 32-byte seed and an 8-byte key number.
            pub fn new(seed: u8, keynum: [u8; 8]) -> Self {
                let pair = Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
                Self { pair, keynum }
            }

            /// The public key file, as `minisign -G` writes it.
            pub fn public_file(&self) -> String {
                let mut bytes = b"Ed".to_vec();
                bytes.extend_from_slice(&self.keynum);
                bytes.extend_from_slice(self.pair.public_key().as_ref());
                format!("untrusted comment: minisign public key\n{}\n", b64(&bytes))
            }

            /// A signature file over `data` with `trusted_comment`.
            pub fn sign(&self, data: &[u8], trusted_comment: &str, prehashed: bool) -> String {
                let (algorithm, message) = if prehashed {
                    (b"ED", blake2::Blake2b512::digest(data).to_vec())
                } else {
                    (b"Ed", data.to_vec())
                };
                let signature = self.pair.sign(&message);
                let mut line = algorithm.to_vec();
                line.extend_from_slice(&self.keynum);
                line.extend_from_slice(signature.as_ref());
                let mut global_message = signature.as_ref().to_vec();
                global_message.extend_from_slice(trusted_comment.as_bytes());
                let global = self.pair.sign(&global_message);
                format!(
                    "untrusted comment: test signature\n{}\ntrusted comment: {trusted_comment}\n{}\n",
                    b64(&line),
                    b64(global.as_ref())
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::TestKey;
    use super::*;

    const KEYNUM: [u8; 8] = [0x31, 0xFA, 0x55, 0x08, 0x18, 0x72, 0x08, 0xA7];

    struct Setup {
        dir: tempfile::TempDir,
        keys: TrustedKeys,
        key: TestKey,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let key = TestKey::new(7, KEYNUM);
        let pub_path = dir.path().join("k.pub");
        std::fs::write(&pub_path, key.public_file()).unwrap();
        let keys = TrustedKeys::load(&[pub_path]).unwrap();
        Setup { dir, keys, key }
    }

    fn signed_file(s: &Setup, name: &str, data: &[u8], comment: &str, prehashed: bool) -> PathBuf {
        let path = s.dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        std::fs::write(signature_path(&path), s.key.sign(data, comment, prehashed)).unwrap();
        path
    }

    #[test]
    fn key_ids_read_as_minisign_shows_them() {
        let s = setup();
        assert_eq!(s.keys.ids().map(|id| id.to_string()).collect::<Vec<_>>(), ["A70872180855FA31"]);
    }

    #[test]
    fn prehashed_and_legacy_signatures_verify_and_yield_their_trusted_comment() {
        let s = setup();
        for prehashed in [true, false] {
            let file = signed_file(
                &s,
                "npm.zip",
                b"records",
                "timestamp:1700000000\tfile:npm.zip\thashed",
                prehashed,
            );
            let verified = s.keys.verify(&file).unwrap();
            assert_eq!(verified.key.to_string(), "A70872180855FA31");
            assert_eq!(verified.signed_at, Some(1_700_000_000));
            assert_eq!(verified.signed_name.as_deref(), Some("npm.zip"));
        }
    }

    #[test]
    fn a_changed_file_or_trusted_comment_does_not_verify() {
        let s = setup();
        for prehashed in [true, false] {
            let file = signed_file(&s, "a.json", b"{}", "timestamp:1\tfile:a.json", prehashed);
            std::fs::write(&file, b"{ }").unwrap();
            assert!(
                matches!(s.keys.verify(&file), Err(TrustError::Mismatch { .. })),
                "prehashed {prehashed}"
            );

            let file = signed_file(&s, "b.json", b"{}", "timestamp:1\tfile:b.json", prehashed);
            let signature = signature_path(&file);
            let text = std::fs::read_to_string(&signature).unwrap().replace("timestamp:1", "timestamp:9");
            std::fs::write(&signature, text).unwrap();
            assert!(
                matches!(s.keys.verify(&file), Err(TrustError::Mismatch { .. })),
                "prehashed {prehashed}"
            );
        }
    }

    #[test]
    fn read_verified_returns_the_bytes_it_verified_and_refuses_what_verify_refuses() {
        let s = setup();
        for prehashed in [true, false] {
            let file = signed_file(&s, "p.rego", b"package main\n", "timestamp:5\tfile:p.rego", prehashed);
            let (bytes, verified) = s.keys.read_verified(&file).unwrap();
            assert_eq!(bytes, b"package main\n");
            assert_eq!(verified.signed_at, Some(5));
            std::fs::write(&file, b"package evil\n").unwrap();
            assert!(
                matches!(s.keys.read_verified(&file), Err(TrustError::Mismatch { .. })),
                "prehashed {prehashed}"
            );
        }
        let file = signed_file(&s, "r.rego", b"package main\n", "timestamp:5", true);
        assert_eq!(s.keys.read_verified_text(&file).unwrap(), "package main\n");
        let binary = signed_file(&s, "b.bin", &[0xff, 0xfe], "timestamp:5", true);
        let err = s.keys.read_verified_text(&binary).unwrap_err();
        assert!(err.path().ends_with("b.bin") && err.reason() == "cannot read: not UTF-8 text", "{err}");
        let unsigned = s.dir.path().join("q.rego");
        std::fs::write(&unsigned, b"package main\n").unwrap();
        assert!(matches!(s.keys.read_verified(&unsigned), Err(TrustError::Unsigned { .. })));
        assert!(matches!(
            s.keys.read_verified(&s.dir.path().join("absent.rego")),
            Err(TrustError::Io { .. })
        ));
    }

    #[test]
    fn another_key_or_no_signature_is_refused_with_the_file_named() {
        let s = setup();
        let file = s.dir.path().join("c.json");
        std::fs::write(&file, b"{}").unwrap();
        let err = s.keys.verify(&file).unwrap_err();
        assert!(matches!(err, TrustError::Unsigned { .. }), "{err}");
        assert!(err.to_string().contains("c.json.minisig is missing"), "{err}");

        let other = TestKey::new(9, [1, 2, 3, 4, 5, 6, 7, 8]);
        std::fs::write(signature_path(&file), other.sign(b"{}", "timestamp:1", true)).unwrap();
        let err = s.keys.verify(&file).unwrap_err();
        assert!(matches!(err, TrustError::UntrustedKey { .. }), "{err}");
        assert!(err.to_string().contains("key 0807060504030201"), "{err}");
        assert!(err.to_string().contains("trusted: A70872180855FA31"), "{err}");
    }

    #[test]
    fn malformed_keys_and_signatures_name_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut keys = TrustedKeys::default();
        let err = keys.add(Path::new("k.pub"), "untrusted comment: x\nnot base64!\n").unwrap_err();
        assert_eq!(err.to_string(), "k.pub:2: not a minisign public key: not base64");
        let err = keys.add(Path::new("k.pub"), "\n").unwrap_err();
        assert!(err.to_string().starts_with("k.pub:1:"), "{err}");

        let s = setup();
        let file = signed_file(&s, "d.json", b"{}", "timestamp:1", true);
        let signature = signature_path(&file);
        let text = std::fs::read_to_string(&signature).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines[2] = "trusted: x";
        std::fs::write(&signature, lines.join("\n")).unwrap();
        let err = s.keys.verify(&file).unwrap_err();
        assert!(err.to_string().contains("d.json.minisig:3: not a minisign signature"), "{err}");
        drop(dir);
    }

    #[test]
    fn a_custom_trusted_comment_has_no_timestamp() {
        let s = setup();
        let file = signed_file(&s, "e.json", b"{}", "release 2026-11", true);
        let verified = s.keys.verify(&file).unwrap();
        assert_eq!((verified.signed_at, verified.signed_name), (None, None));
        assert_eq!(verified.trusted_comment, "release 2026-11");
    }
}
