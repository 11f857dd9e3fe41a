//! NetworkPolicy reachability from any manifest text must never panic nor run away: the text
//! loads into objects (Namespaces, Pods, workloads, NetworkPolicies, AdminNetworkPolicies,
//! Services, ...), which give a reachability or errors, and a reachability renders in every
//! output format and diffs against itself to nothing. Inputs are at most 4 KiB and 64
//! objects so that one run stays fast.
#![no_main]

use std::sync::Arc;

use kubesecops_netpol::{connlist, diff, output};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > 4096 {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let loaded = kubesecops_k8s::loader::load_text(Arc::from("fuzz.yaml"), text);
    if loaded.objects.len() > 64 {
        return;
    }
    let Ok((reach, _skipped)) = connlist(&loaded.objects) else { return };
    let lines = output::lines(&reach, &output::Filter::default());
    let _ = output::txt(&reach, &lines);
    let _ = output::json_connections(&reach, &lines);
    let _ = output::csv(&reach, &lines);
    let _ = output::md(&reach, &lines);
    let _ = output::dot(&reach, &lines);
    let changes = diff::diff(&reach, &reach);
    assert!(changes.is_empty(), "a reachability differs from itself: {changes:?}");
});
