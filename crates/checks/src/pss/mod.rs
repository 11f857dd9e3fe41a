//! Pod Security Standards evaluation (filled in by the PSS work).
