//! Layer blobs and image archives from arbitrary bytes must never panic or allocate without
//! bound: every input either applies (whiteouts, links, hostile names included) or is an
//! error. The same bytes go through the archive indexer, the jar reader and the ELF readers.
#![no_main]

use std::io::Cursor;

use kubesecops_image::detect::detect_packages_with;
use kubesecops_image::scan::{read_layer, LayerDesc};
use kubesecops_image::{binary, jar, tarindex, LayeredFs, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small limits so that a bomb is caught quickly.
    let limits = Limits {
        max_file_bytes: 1 << 20,
        max_binary_bytes: 4 << 20,
        max_layer_bytes: 64 << 20,
        max_ratio: 100,
        ratio_floor_bytes: 1 << 20,
        max_document_bytes: 1 << 20,
    };
    let layer = LayerDesc { locator: "fuzz".into(), digest: None, diff_id: None, media_type: String::new() };
    let mut fs = LayeredFs::new();
    let mut raw: &[u8] = data;
    if read_layer(&mut raw, &layer, &mut fs, &limits, None).is_ok() {
        let _ = detect_packages_with(&mut fs, &limits);
    }
    let _ = tarindex::index(&mut Cursor::new(data), "fuzz.tar");
    let _ = jar::packages(data, "fuzz.jar", &limits);
    let _ = binary::packages(data, "fuzz-bin");
});
