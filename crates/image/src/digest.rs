//! Content digests (`sha256:<hex>`) computed while streaming.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use kubesecops_core::hex;
use sha2::{Digest as _, Sha256};

use crate::ImageError;

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

/// Checks that `digest` is `sha256:` followed by 64 lower-case hex digits (the only algorithm
/// images use in practice; others are refused rather than trusted unchecked).
pub fn validate(digest: &str, what: &str) -> Result<(), ImageError> {
    match digest.strip_prefix("sha256:") {
        Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) => {
            Ok(())
        }
        _ => Err(ImageError::image(what, format!("unsupported or malformed digest {digest:?}"))),
    }
}

/// Checks `bytes` against `expected` (`sha256:<hex>`).
pub fn verify(bytes: &[u8], expected: &str, what: &str) -> Result<(), ImageError> {
    validate(expected, what)?;
    let actual = sha256_digest(bytes);
    if actual != expected {
        return Err(ImageError::Digest { what: what.to_string(), expected: expected.to_string(), actual });
    }
    Ok(())
}

/// A reader that hashes (optionally) and counts what passes through it. The count is shared
/// so that a reader further down the chain can compare sizes (decompression ratio).
pub struct HashingReader<R> {
    inner: R,
    hasher: Option<Sha256>,
    count: Rc<Cell<u64>>,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`; hashes only when `hash` is true.
    pub fn new(inner: R, hash: bool) -> Self {
        HashingReader { inner, hasher: hash.then(Sha256::new), count: Rc::new(Cell::new(0)) }
    }

    /// The shared byte counter.
    pub fn counter(&self) -> Rc<Cell<u64>> {
        Rc::clone(&self.count)
    }

    /// Bytes read so far.
    pub fn count(&self) -> u64 {
        self.count.get()
    }

    /// `sha256:<hex>` of everything read (`None` when not hashing).
    pub fn finish(self) -> Option<String> {
        self.hasher.map(|h| format!("sha256:{}", hex(&h.finalize())))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&buf[..n]);
        }
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_counts_while_reading() {
        let mut reader = HashingReader::new(&b"abc"[..], true);
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(reader.count(), 3);
        assert_eq!(
            reader.finish().unwrap(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(verify(b"abc", "sha256:00", "x").is_err());
        assert!(matches!(
            verify(b"abd", "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "x"),
            Err(ImageError::Digest { .. })
        ));
    }
}
