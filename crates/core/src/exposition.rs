//! The Prometheus text format, as the servers' `/metrics` endpoints write it.

/// A label value escaped as the text format requires: backslash, double quote and newline.
pub fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn backslashes_quotes_and_newlines_are_escaped() {
        assert_eq!(super::escape_label("a\\b \"c\"\nd"), "a\\\\b \\\"c\\\"\\nd");
        assert_eq!(super::escape_label("plain"), "plain");
    }
}
