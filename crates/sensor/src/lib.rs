//! The eBPF syscall sensor of kubesecops.
//!
//! - [`raw`]: the records the BPF programs write to the ring buffer, decoded.
//! - [`procs`]: the user-space process table (seeded from `/proc`, kept by exec, fork and exit
//!   records) and container attribution from cgroup paths and the runtime's bundle files.
//! - [`cgroups`]: container attribution by the cgroup id every record carries.
//! - [`enrich`]: turning a raw record into a [`kubesecops_runtime::SyscallEvent`].
//! - `cri` (feature `cri`, on by default): pod, namespace and image of containers from the
//!   node runtime's CRI API (gRPC over its Unix socket), cached.
//! - [`metrics`]: the counters in the Prometheus text format and the `/metrics` server.
//! - `bpf` (feature `bpf`): loading the tracepoint programs with libbpf-rs and the event loop.
//!
//! Everything but `bpf` is plain Rust and needs no privileges, so it is tested everywhere.

pub mod cgroups;
#[cfg(feature = "cri")]
pub mod cri;
pub mod enrich;
pub mod metrics;
pub mod procs;
pub mod raw;

#[cfg(feature = "bpf")]
pub mod bpf;

/// Most path prefixes the kernel's open filter holds (`open_prefixes` in sensor.bpf.c).
/// Outside the `bpf` module so that tests can fit a rule set's shapes as the sensor does.
pub const MAX_OPEN_PREFIXES: usize = 1024;

/// Most path suffixes the kernel's open filter holds (`SUFFIX_SLOTS` in sensor.bpf.c).
pub const MAX_OPEN_SUFFIXES: usize = 16;

/// Why the sensor cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    /// The BPF object could not be opened, loaded or attached.
    #[error("BPF: {0}")]
    Bpf(String),
    /// An I/O error (capture file, /proc).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Set by SIGINT and SIGTERM once [`stop_on_signals`] is called.
pub static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Makes SIGINT and SIGTERM set [`STOP`] (for the sensor's event loop) instead of killing the
/// process, so the summary and the capture file are complete.
pub fn stop_on_signals() -> &'static std::sync::atomic::AtomicBool {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    &STOP
}
