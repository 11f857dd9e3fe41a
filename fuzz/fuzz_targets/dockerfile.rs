//! The Dockerfile parser and the Dockerfile compliance rules must never panic nor allocate
//! without bound: any text parses (instructions on lines of the text, stages in order) or is
//! an error naming a line of it. Every line and every stage's base image also go through the
//! image reference parser, whose references print back to themselves.
#![no_main]

use std::collections::BTreeMap;

use kubesecops_image::compliance::{check_dockerfile, ComplianceConfig};
use kubesecops_image::dockerfile;
use kubesecops_image::reference::Reference;
use libfuzzer_sys::fuzz_target;

fn reference(text: &str) {
    if let Some(r) = Reference::parse(text) {
        let _ = (r.api_host(), r.manifest_ref());
        let printed = r.to_string();
        assert_eq!(Reference::parse(&printed).as_ref(), Some(&r), "{text:?} printed as {printed:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let lines = text.lines().count().max(1);
    for line in text.lines().take(32) {
        reference(line);
    }
    let vars: BTreeMap<String, String> =
        [("A".to_string(), "1".to_string()), ("B".to_string(), String::new())].into();
    let _ = dockerfile::substitute(text, &vars, '\\');
    let _ = dockerfile::key_values("ENV", text);
    match dockerfile::parse(text) {
        Ok(parsed) => {
            assert!(!parsed.stages.is_empty(), "a parsed Dockerfile has a FROM");
            for instruction in &parsed.instructions {
                assert!(
                    instruction.line >= 1 && instruction.line <= lines,
                    "instruction line {}",
                    instruction.line
                );
            }
            for stage in &parsed.stages {
                reference(&stage.image);
            }
            let settings =
                ComplianceConfig { allowed_base_images: vec!["debian:*".to_string(), "alpine".to_string()] };
            let _ = check_dockerfile(&parsed, "Dockerfile", &settings, &|text| {
                text.contains("AKIA").then(|| "aws key".to_string())
            });
        }
        Err(err) => assert!(err.line >= 1 && err.line <= lines, "error line {} of {lines}", err.line),
    }
});
