//! The OSV record parser and range evaluation: any bytes give records or an error naming
//! the position, and evaluating the records' ranges on any version never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(records) = kubesecops_vulndb::parse_records(data, "fuzz.json") else { return };
    // Versions from the input itself, so comparisons meet the record's own odd strings.
    let probes = ["0", "1.0.0", "v1.2.3", "1:2.3-4", "1.0-r1", "2.0.0a1", ""];
    for record in &records {
        for affected in &record.affected {
            for probe in probes.iter().copied().chain(affected.versions.iter().map(String::as_str)) {
                let _ = affected.evaluate(probe);
            }
            let _ = record.severity_for(affected);
        }
    }
});
