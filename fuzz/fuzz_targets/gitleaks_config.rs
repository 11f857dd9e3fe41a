//! gitleaks configs (TOML, with Go RE2 patterns translated for the regex crate) must never
//! panic: any text loads into rules or is an error whose line is in the text. The bytes up to
//! the first NUL are the config, the rest (at most 2 KiB) a text scanned with the loaded
//! rules; matches become findings. The config's first line also goes through the Go-regex
//! translation directly and, when it compiles, is matched against the text.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use kubesecops_secrets::{config, goregex, Input, LoadOptions, Scanner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (config_bytes, text_bytes) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (data, &[][..]),
    };
    let Ok(config_text) = std::str::from_utf8(config_bytes) else { return };
    let text = match std::str::from_utf8(&text_bytes[..text_bytes.len().min(2048)]) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&text_bytes[..e.valid_up_to()]).expect("valid prefix"),
    };

    if let Some(first) = config_text.lines().next() {
        let _ = goregex::translate(first);
        if let Ok(re) = goregex::compile(first) {
            let _ = re.find_iter(text).count();
        }
    }

    // A directory that does not exist, so that relative `[extend] path`s resolve only
    // against the working directory.
    let path = Path::new("/nonexistent-kubesecops-fuzz/gitleaks.toml");
    match config::load(config_text, path, &LoadOptions::default()) {
        Ok(ruleset) => {
            let scanner = Scanner::new(ruleset);
            let file: Arc<str> = Arc::from("fuzz.txt");
            let mut input = Input::new("fuzz.txt", text);
            for commit in [None, Some("0123456789abcdef0123456789abcdef01234567")] {
                input.commit = commit;
                for found in scanner.scan(&input) {
                    let _ = scanner.finding(&found, &file, None);
                    let _ = scanner.severity(&found);
                }
            }
        }
        Err(err) => {
            if let Some(line) = err.line {
                let lines = config_text.lines().count() as u32 + 1;
                assert!(line >= 1 && line <= lines, "error line {line} of {lines}: {err}");
            }
        }
    }
});
