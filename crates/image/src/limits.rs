//! Bounds on what an image may make the scanner read or hold.

/// Size limits. The defaults keep peak memory well under 200 MB for any image while
/// accepting every real-world image we know of; [`ImageError::Limit`](crate::ImageError)
/// errors name the limit that was hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest package database or lockfile kept for the detectors.
    pub max_file_bytes: u64,
    /// Largest executable or jar read for embedded package metadata; larger ones are skipped
    /// with a notice.
    pub max_binary_bytes: u64,
    /// Largest uncompressed size of one layer.
    pub max_layer_bytes: u64,
    /// Largest ratio of uncompressed to compressed layer size (checked once a layer has
    /// produced [`Limits::ratio_floor_bytes`]); real layers stay far below it, decompression
    /// bombs do not.
    pub max_ratio: u64,
    /// Uncompressed bytes a layer may produce before the ratio is checked.
    pub ratio_floor_bytes: u64,
    /// Largest manifest, index or config document.
    pub max_document_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 32 * 1024 * 1024,
            max_binary_bytes: 96 * 1024 * 1024,
            max_layer_bytes: 64 * 1024 * 1024 * 1024,
            max_ratio: 200,
            ratio_floor_bytes: 64 * 1024 * 1024,
            max_document_bytes: 8 * 1024 * 1024,
        }
    }
}
