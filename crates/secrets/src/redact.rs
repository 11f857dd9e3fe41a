//! Redaction: the only form in which a secret leaves the detection engine.

/// Characters kept at most; the rest is replaced by a fixed mask so the length is not told.
const MAX_KEPT: usize = 4;

/// The secret with a few leading characters kept for recognition and the rest masked:
/// a quarter of the characters, at most four (`ghp_****`, `hu****`, `****`).
pub fn redact(secret: &str) -> String {
    let count = secret.chars().count();
    let keep = (count / 4).min(MAX_KEPT);
    let mut out: String = secret.chars().take(keep).collect();
    out.push_str("****");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_a_quarter_and_four_chars() {
        assert_eq!(redact("ghp_0123456789abcdefghij0123456789abcd"), "ghp_****");
        assert_eq!(redact("hunter22"), "hu****");
        assert_eq!(redact("abc"), "****");
        assert_eq!(redact(""), "****");
        assert_eq!(redact("ééééééééé"), "éé****");
    }
}
