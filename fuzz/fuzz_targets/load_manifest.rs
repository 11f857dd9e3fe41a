//! The manifest loader must never panic, whatever the bytes: every input either parses
//! into objects or becomes errors with lines.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let loaded = kubesecops_k8s::loader::load_text(Arc::from("fuzz.yaml"), text);
        for obj in &loaded.objects {
            // Walk what the rules walk: pod templates, containers, JSON conversion.
            if let Some(template) = obj.pod_template() {
                for container in template.containers() {
                    let _ = container.key();
                }
                let _ = template.labels();
            }
            let _ = obj.root.to_json();
        }
        for err in &loaded.errors {
            assert!(err.line.is_some(), "parse errors carry a line");
        }
    }
});
