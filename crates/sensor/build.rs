//! With the `bpf` feature, compiles `src/bpf/sensor.bpf.c` with clang into `OUT_DIR`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=src/bpf/sensor.bpf.c");
    println!("cargo:rerun-if-env-changed=CLANG");
    if std::env::var_os("CARGO_FEATURE_BPF").is_none() {
        return;
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("sensor.bpf.o");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_string());
    let arch = match std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("aarch64") => "arm64",
        _ => "x86",
    };
    let multiarch = match arch {
        "arm64" => "/usr/include/aarch64-linux-gnu",
        _ => "/usr/include/x86_64-linux-gnu",
    };
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", &format!("-D__TARGET_ARCH_{arch}"), "-I", multiarch, "-c"])
        .arg("src/bpf/sensor.bpf.c")
        .arg("-o")
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{clang} failed ({s}) compiling src/bpf/sensor.bpf.c"),
        Err(e) => panic!("cannot run {clang} (the `ebpf` feature needs clang and libbpf headers): {e}"),
    }
}
