//! Differential fuzzing of the loader's fast path: for any input, parsing with the fast path
//! for plain block YAML must give exactly what the full parser alone gives (the same trees
//! with the same positions, the same errors).
#![no_main]

use kubesecops_k8s::node::{parse_documents, parse_documents_full_parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(parse_documents(text), parse_documents_full_parser(text), "input: {text:?}");
    }
});
