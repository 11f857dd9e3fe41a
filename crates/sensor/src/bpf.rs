//! Loading the tracepoint programs with libbpf-rs and the event loop: ring-buffer records
//! decoded, applied to the process table, enriched and handed to the caller; kernel-to-user
//! drops read from the per-CPU counter.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kubesecops_runtime::pathfilter::PathShapes;
use kubesecops_runtime::SyscallEvent;
use libbpf_rs::{MapCore, MapFlags, ObjectBuilder};

use crate::enrich::{enrich, Clock};
use crate::procs::{ContainerSource, ProcTable};
use crate::raw::Record;
use crate::SensorError;

/// The compiled BPF object (built by `build.rs` with clang).
const OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sensor.bpf.o"));

/// How long the loop waits for a wakeup before reading what is there anyway.
const POLL: Duration = Duration::from_millis(50);

/// A batch this large means records keep coming: read again at once.
const BUSY_BATCH: usize = 256;

/// Records kept between two polls at most; past it they are counted as dropped in user space.
const MAX_PENDING: usize = 65_536;

/// Counters of a sensor run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Records read from the ring buffer.
    pub records: u64,
    /// Events handed to the rules.
    pub events: u64,
    /// Records the kernel could not queue (ring buffer full), per CPU.
    pub kernel_drops: Vec<u64>,
    /// Opens the kernel kept because no loaded rule can match their path, per CPU (see
    /// [`OpenFilter`]).
    pub kernel_filtered: Vec<u64>,
    /// Records dropped in user space (too many between two polls) or undecodable.
    pub user_drops: u64,
    /// Programs not attached because the kernel has no such syscall tracepoint.
    pub unwatched: Vec<String>,
    /// Run statistics of the programs at the end of the run (see [`program_stats`]).
    pub programs: Vec<ProgramStats>,
}

impl Counters {
    /// Kernel drops over all CPUs.
    pub fn kernel_drops_total(&self) -> u64 {
        self.kernel_drops.iter().sum()
    }
}

pub use crate::{MAX_OPEN_PREFIXES, MAX_OPEN_SUFFIXES};

/// Longest suffix the kernel compares (`SUFFIX_MAX` in sensor.bpf.c).
const SUFFIX_MAX: usize = 32;

/// Longest path the programs copy, without its NUL (`STR_MAX` in sensor.bpf.c, less one).
const PATH_MAX: usize = 255;

/// Which opens leave the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenFilter {
    /// Every open.
    Off,
    /// Opens of unusual paths (see [`kubesecops_runtime::pathfilter::is_unusual_path`]) and
    /// of paths with one of these prefixes or suffixes; the others are counted in
    /// [`Counters::kernel_filtered`]. At most [`MAX_OPEN_PREFIXES`] prefixes and
    /// [`MAX_OPEN_SUFFIXES`] suffixes (see [`PathShapes::fitted`]).
    Paths(PathShapes),
}

/// The `struct config` of sensor.bpf.c, as bytes.
fn config_bytes(self_pid: u32, filter: &OpenFilter) -> Result<Vec<u8>, SensorError> {
    let mut bytes = Vec::with_capacity(16 + MAX_OPEN_SUFFIXES * (4 + 2 * SUFFIX_MAX));
    bytes.extend_from_slice(&self_pid.to_ne_bytes());
    let suffixes: &[String] = match filter {
        OpenFilter::Off => &[],
        OpenFilter::Paths(shapes) => &shapes.suffixes,
    };
    if suffixes.len() > MAX_OPEN_SUFFIXES || suffixes.iter().any(|s| s.len() > SUFFIX_MAX) {
        return Err(SensorError::Bpf(format!(
            "open filter: at most {MAX_OPEN_SUFFIXES} suffixes of at most {SUFFIX_MAX} bytes"
        )));
    }
    bytes.extend_from_slice(&u32::from(matches!(filter, OpenFilter::Paths(_))).to_ne_bytes());
    bytes.extend_from_slice(&(suffixes.len() as u32).to_ne_bytes());
    for k in 0..MAX_OPEN_SUFFIXES {
        let len = suffixes.get(k).map_or(0, String::len) as u32;
        bytes.extend_from_slice(&len.to_ne_bytes());
    }
    bytes.extend_from_slice(&0u32.to_ne_bytes());
    // Each suffix right-aligned in SUFFIX_MAX bytes (the words the kernel compares with the
    // last SUFFIX_MAX bytes of a path), then the masks of the bytes it covers.
    let mut words = Vec::with_capacity(MAX_OPEN_SUFFIXES * SUFFIX_MAX);
    let mut masks = Vec::with_capacity(MAX_OPEN_SUFFIXES * SUFFIX_MAX);
    for k in 0..MAX_OPEN_SUFFIXES {
        let mut word = [0u8; SUFFIX_MAX];
        let mut mask = [0u8; SUFFIX_MAX];
        if let Some(suffix) = suffixes.get(k) {
            word[SUFFIX_MAX - suffix.len()..].copy_from_slice(suffix.as_bytes());
            mask[SUFFIX_MAX - suffix.len()..].fill(0xff);
        }
        words.extend_from_slice(&word);
        masks.extend_from_slice(&mask);
    }
    bytes.extend_from_slice(&words);
    bytes.extend_from_slice(&masks);
    Ok(bytes)
}

/// The `struct path_key` of sensor.bpf.c for a prefix: its length in bits, then its bytes.
fn prefix_key(prefix: &str) -> Vec<u8> {
    let mut key = vec![0u8; 4 + PATH_MAX + 1];
    key[..4].copy_from_slice(&((prefix.len() * 8) as u32).to_ne_bytes());
    key[4..4 + prefix.len()].copy_from_slice(prefix.as_bytes());
    key
}

/// Per-CPU values of slot `slot` of a per-CPU array of u64 counters.
fn per_cpu_counts(map: &libbpf_rs::Map<'_>, slot: u32) -> Option<Vec<u64>> {
    let per_cpu = map.lookup_percpu(&slot.to_ne_bytes(), MapFlags::ANY).ok()??;
    Some(
        per_cpu
            .iter()
            .map(|v| v.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_ne_bytes))
            .collect(),
    )
}

fn err(context: &str, e: impl std::fmt::Display) -> SensorError {
    SensorError::Bpf(format!("{context}: {e}"))
}

/// Loads and attaches the programs, then calls `on_event` for every enriched event until
/// `stop` is set; `on_tick` gets the counters about once a second. `source` (the CRI cache) is
/// asked for the pod of each container before the runtime's bundle files; `open_filter` says
/// which opens leave the kernel.
pub fn run(
    stop: &AtomicBool,
    source: Option<Box<dyn ContainerSource + Send>>,
    open_filter: &OpenFilter,
    mut on_event: impl FnMut(&SyscallEvent, &Counters),
    mut on_tick: impl FnMut(&Counters),
) -> Result<Counters, SensorError> {
    let open = ObjectBuilder::default().open_memory(OBJECT).map_err(|e| err("open the BPF object", e))?;
    let obj =
        open.load().map_err(|e| err("load the BPF programs (root or CAP_BPF+CAP_PERFMON needed)", e))?;
    let mut links = Vec::new();
    let mut unwatched = Vec::new();
    for prog in obj.progs_mut() {
        let name = prog.name().to_string_lossy().into_owned();
        match prog.attach() {
            Ok(link) => links.push(link),
            // A syscall this kernel does not have (init_module without module support):
            // nothing to watch, and said at start rather than failing the whole sensor.
            Err(_) if syscall_tracepoint_missing(&name) => unwatched.push(name),
            Err(e) => return Err(err(&format!("attach {name}"), e)),
        }
    }
    let map = |name: &str| {
        obj.maps().find(|m| m.name() == name).ok_or_else(|| SensorError::Bpf(format!("map {name} missing")))
    };
    // The prefixes go in before the configuration turns the filter on.
    if let OpenFilter::Paths(shapes) = open_filter {
        if shapes.prefixes.len() > MAX_OPEN_PREFIXES || shapes.prefixes.iter().any(|p| p.len() > PATH_MAX) {
            return Err(SensorError::Bpf(format!(
                "open filter: at most {MAX_OPEN_PREFIXES} prefixes of at most {PATH_MAX} bytes"
            )));
        }
        let prefixes = map("open_prefixes")?;
        for prefix in &shapes.prefixes {
            prefixes
                .update(&prefix_key(prefix), &[1u8], MapFlags::ANY)
                .map_err(|e| err(&format!("open filter prefix {prefix}"), e))?;
        }
    }
    let config = map("config")?;
    config
        .update(&0u32.to_ne_bytes(), &config_bytes(std::process::id(), open_filter)?, MapFlags::ANY)
        .map_err(|e| err("configure", e))?;
    let counts = map("counts")?;
    let events = map("events")?;

    let pending: Rc<RefCell<Vec<Vec<u8>>>> = Rc::new(RefCell::new(Vec::new()));
    let overflow = Rc::new(RefCell::new(0u64));
    let mut builder = libbpf_rs::RingBufferBuilder::new();
    {
        let pending = pending.clone();
        let overflow = overflow.clone();
        builder
            .add(&events, move |data: &[u8]| {
                let mut queue = pending.borrow_mut();
                if queue.len() < MAX_PENDING {
                    queue.push(data.to_vec());
                } else {
                    *overflow.borrow_mut() += 1;
                }
                0
            })
            .map_err(|e| err("ring buffer", e))?;
    }
    let ring = builder.build().map_err(|e| err("ring buffer", e))?;

    let mut table = ProcTable::new("/proc");
    if let Some(source) = source {
        table = table.with_source(source);
    }
    table.load_users(std::path::Path::new("/etc/passwd"));
    table.seed();
    let clock = Clock::now();
    let mut counters = Counters::default();
    unwatched.sort();
    counters.unwatched = unwatched;
    on_tick(&counters);
    let mut last_tick = Instant::now();
    let mut busy = false;
    let mut stopping = false;
    loop {
        if !stopping && stop.load(Ordering::Relaxed) {
            // Detach first, then read once more: what the programs wrote before the stop is
            // evaluated, not left in the ring buffer.
            stopping = true;
            links.clear();
        }
        // The programs wake this loop only once a batch is waiting; what came in below that
        // is read when the poll times out, so an alert waits at most about POLL. While
        // batches are large the loop reads on without waiting for a wakeup.
        let polled =
            if busy || stopping { ring.consume() } else { ring.poll(POLL).and_then(|()| ring.consume()) };
        if let Err(e) = polled {
            if stopping || stop.load(Ordering::Relaxed) {
                break;
            }
            return Err(err("poll", e));
        }
        let batch = std::mem::take(&mut *pending.borrow_mut());
        busy = batch.len() >= BUSY_BATCH;
        for bytes in batch {
            counters.records += 1;
            let Ok(record) = Record::decode(&bytes) else {
                counters.user_drops += 1;
                continue;
            };
            if let Some(event) = enrich(&mut table, &record, &clock, counters.records) {
                counters.events += 1;
                on_event(&event, &counters);
            }
        }
        counters.user_drops += std::mem::take(&mut *overflow.borrow_mut());
        if stopping {
            break;
        }
        if last_tick.elapsed() >= Duration::from_secs(1) {
            read_kernel_counts(&counts, &mut counters);
            on_tick(&counters);
            last_tick = Instant::now();
        }
    }
    read_kernel_counts(&counts, &mut counters);
    counters.programs = program_stats();
    drop(links);
    Ok(counters)
}

/// Reads the kernel's per-CPU drop and filter counts into `counters`.
fn read_kernel_counts(counts: &libbpf_rs::Map<'_>, counters: &mut Counters) {
    if let Some(dropped) = per_cpu_counts(counts, 0) {
        counters.kernel_drops = dropped;
    }
    if let Some(filtered) = per_cpu_counts(counts, 1) {
        counters.kernel_filtered = filtered;
    }
}

/// True when `program` is a syscall program (`exit_NAME`) whose tracepoint the kernel does not
/// have.
fn syscall_tracepoint_missing(program: &str) -> bool {
    let Some(syscall) = program.strip_prefix("exit_") else {
        return false;
    };
    ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"].iter().any(|root| {
        let events = std::path::Path::new(root).join("events/syscalls");
        events.is_dir() && !events.join(format!("sys_exit_{syscall}")).exists()
    })
}

/// Run statistics of one of the sensor's BPF programs (kept by the kernel only while
/// `kernel.bpf_stats_enabled` is 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramStats {
    /// The program's name.
    pub name: String,
    /// Times it ran.
    pub runs: u64,
    /// Nanoseconds spent in it, in total.
    pub run_time_ns: u64,
}

/// Whether a program name is one of the sensor's (`exit_NAME` per syscall, and the sched
/// programs; the kernel keeps 15 bytes of a name).
fn is_sensor_program(name: &str) -> bool {
    name.starts_with("exit_") || matches!(name, "on_exec" | "on_fork" | "on_exit")
}

/// Run statistics of the sensor's loaded programs, when the kernel keeps them
/// (`sysctl kernel.bpf_stats_enabled=1`); empty otherwise. Benchmarks use it to show what
/// the programs cost the traced processes per call.
pub fn program_stats() -> Vec<ProgramStats> {
    let enabled =
        std::fs::read_to_string("/proc/sys/kernel/bpf_stats_enabled").is_ok_and(|t| t.trim() == "1");
    if !enabled {
        return Vec::new();
    }
    libbpf_rs::query::ProgInfoIter::default()
        .filter_map(|info| {
            let name = info.name.to_string_lossy().into_owned();
            is_sensor_program(&name).then_some(ProgramStats {
                name,
                runs: info.run_cnt,
                run_time_ns: info.run_time_ns,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The configuration written from Rust has the size of the C `struct config` (the value
    /// size of the `config` map in the BPF object, which opens without privileges), and each
    /// suffix sits right-aligned in its words with a mask of exactly its bytes.
    #[test]
    fn config_bytes_match_the_bpf_struct() {
        use libbpf_rs::AsRawLibbpf;
        let open = ObjectBuilder::default().open_memory(OBJECT).unwrap();
        let config = open.maps().find(|m| m.name() == "config").unwrap();
        // SAFETY: the pointer is the map of `open`, which lives until the end of the test.
        let value_size =
            unsafe { libbpf_rs::libbpf_sys::bpf_map__value_size(config.as_libbpf_object().as_ptr()) };
        let shapes =
            PathShapes { prefixes: vec!["/etc/".into()], suffixes: vec!["_history".into(), "id_rsa".into()] };
        let bytes = config_bytes(7, &OpenFilter::Paths(shapes)).unwrap();
        assert_eq!(bytes.len(), value_size as usize);
        assert_eq!(&bytes[..12], [7u32.to_ne_bytes(), 1u32.to_ne_bytes(), 2u32.to_ne_bytes()].concat());
        assert_eq!(&bytes[12..20], [8u32.to_ne_bytes(), 6u32.to_ne_bytes()].concat());
        let words = 16 + 4 * MAX_OPEN_SUFFIXES;
        let masks = words + SUFFIX_MAX * MAX_OPEN_SUFFIXES;
        let second = &bytes[words + SUFFIX_MAX..words + 2 * SUFFIX_MAX];
        assert_eq!(&second[SUFFIX_MAX - 6..], b"id_rsa");
        assert!(second[..SUFFIX_MAX - 6].iter().all(|&b| b == 0));
        let mask = &bytes[masks + SUFFIX_MAX..masks + 2 * SUFFIX_MAX];
        assert_eq!(mask.iter().filter(|&&b| b == 0xff).count(), 6);
        assert!(mask[SUFFIX_MAX - 6..].iter().all(|&b| b == 0xff));
        // Unused slots match nothing: an all-zero mask with a zero word would match every
        // path, so the count, not the slot, bounds the loop.
        assert!(bytes[words + 2 * SUFFIX_MAX..masks].iter().all(|&b| b == 0));

        let off = config_bytes(7, &OpenFilter::Off).unwrap();
        assert_eq!(off.len(), bytes.len());
        assert_eq!(&off[4..12], [0u32.to_ne_bytes(), 0u32.to_ne_bytes()].concat());
    }
}
