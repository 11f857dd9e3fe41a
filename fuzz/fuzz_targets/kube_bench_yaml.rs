//! The kube-bench definition loader and test evaluation must never panic: any bytes either
//! load into controls or give an error naming the line; loaded checks evaluate on outputs
//! made of the same bytes (command line, YAML config, environment).
#![no_main]

use std::path::Path;

use kubesecops_bench::controls::Controls;
use kubesecops_bench::evaluate::AuditOutputs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(controls) = Controls::parse(Path::new("fuzz.yaml"), text) {
        let outputs =
            AuditOutputs { audit: text.to_string(), config: text.to_string(), env: text.to_string() };
        for group in controls.groups.iter().take(8) {
            for check in group.checks.iter().take(16) {
                let _ = check.execute(&outputs);
                let _ = check.static_status(false);
            }
        }
    }
});
