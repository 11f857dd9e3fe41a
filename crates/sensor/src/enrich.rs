//! Turning raw records into syscall events: syscall names, arguments formatted as Falco
//! prints them, the file descriptor, and the process, ancestors, container and pod from the
//! process table.

use kubesecops_runtime::syscall::{Container, Direction, Fd, FdKind, SyscallEvent};

use crate::procs::{split_argv, ProcTable};
use crate::raw::{Kind, Record};

/// Ancestors attached to each event (`proc.aname[1..]`).
pub const ANCESTORS: usize = 8;

/// The name of an x86_64 syscall number the sensor watches.
pub fn syscall_name(id: i64) -> &'static str {
    match id {
        2 => "open",
        257 => "openat",
        437 => "openat2",
        42 => "connect",
        43 => "accept",
        288 => "accept4",
        59 => "execve",
        322 => "execveat",
        101 => "ptrace",
        165 => "mount",
        272 => "unshare",
        308 => "setns",
        175 => "init_module",
        313 => "finit_module",
        319 => "memfd_create",
        263 => "unlinkat",
        316 => "renameat2",
        266 => "symlinkat",
        88 => "symlink",
        265 => "linkat",
        86 => "link",
        321 => "bpf",
        105 => "setuid",
        106 => "setgid",
        113 => "setreuid",
        114 => "setregid",
        117 => "setresuid",
        119 => "setresgid",
        80 => "chdir",
        81 => "fchdir",
        _ => "unknown",
    }
}

/// Open flags as Falco prints them (`O_RDONLY|O_CLOEXEC`).
pub fn open_flags(flags: u64) -> String {
    let mut out = vec![match flags & 3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        _ => "O_RDWR",
    }];
    for (bit, name) in [
        (0o100, "O_CREAT"),
        (0o200, "O_EXCL"),
        (0o1000, "O_TRUNC"),
        (0o2000, "O_APPEND"),
        (0o4000, "O_NONBLOCK"),
        (0o200000, "O_DIRECTORY"),
        (0o2000000, "O_CLOEXEC"),
        (0o10000000, "O_PATH"),
    ] {
        if flags & bit != 0 {
            out.push(name);
        }
    }
    out.join("|")
}

/// A ptrace request as Falco prints it.
pub fn ptrace_request(request: u64) -> String {
    match request {
        0 => "PTRACE_TRACEME".into(),
        1 => "PTRACE_PEEKTEXT".into(),
        2 => "PTRACE_PEEKDATA".into(),
        4 => "PTRACE_POKETEXT".into(),
        5 => "PTRACE_POKEDATA".into(),
        7 => "PTRACE_CONT".into(),
        12 => "PTRACE_GETREGS".into(),
        13 => "PTRACE_SETREGS".into(),
        16 => "PTRACE_ATTACH".into(),
        17 => "PTRACE_DETACH".into(),
        0x4206 => "PTRACE_SEIZE".into(),
        other => other.to_string(),
    }
}

/// The fd of a `connect`: the peer address decoded from its sockaddr bytes.
pub fn connect_fd(num: i64, sockaddr: &[u8]) -> Option<Fd> {
    if sockaddr.len() < 8 {
        return None;
    }
    let family = u16::from_ne_bytes([sockaddr[0], sockaddr[1]]);
    let port = u16::from_be_bytes([sockaddr[2], sockaddr[3]]);
    let (kind, ip) = match family {
        2 => (FdKind::Ipv4, std::net::IpAddr::from([sockaddr[4], sockaddr[5], sockaddr[6], sockaddr[7]])),
        10 if sockaddr.len() >= 24 => {
            let bytes: [u8; 16] = sockaddr[8..24].try_into().ok()?;
            (FdKind::Ipv6, std::net::IpAddr::from(bytes))
        }
        1 => {
            let path = &sockaddr[2..];
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            return Some(Fd {
                num,
                kind: FdKind::Unix,
                name: String::from_utf8_lossy(&path[..end]).into_owned(),
                ..Fd::default()
            });
        }
        _ => return None,
    };
    Some(Fd {
        num,
        kind,
        name: format!("->{ip}:{port}"),
        l4proto: None,
        sip: Some(ip.to_string()),
        sport: Some(port),
        connected: Some(true),
        local_is_client: Some(true),
        ..Fd::default()
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `AT_FDCWD`: "relative to the working directory" as a directory descriptor.
const AT_FDCWD: i32 = -100;

/// The directory a directory descriptor of a process refers to (`/proc/PID/fd/N`), for
/// `*at` calls given a descriptor other than `AT_FDCWD`; `None` for `AT_FDCWD`, or when the
/// process or the descriptor is already gone.
fn directory_of_fd(pid: u64, dirfd: i32) -> Option<String> {
    if dirfd == AT_FDCWD || dirfd < 0 {
        return None;
    }
    let target = std::fs::read_link(format!("/proc/{pid}/fd/{dirfd}")).ok()?;
    let text = target.to_str()?;
    text.starts_with('/').then(|| text.to_string())
}

/// Converts monotonic kernel times to wall-clock times.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    offset_ns: i64,
}

impl Clock {
    /// Measures the offset between `CLOCK_MONOTONIC` and the wall clock now.
    pub fn now() -> Clock {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes into the timespec we own.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        let mono = ts.tv_sec * 1_000_000_000 + ts.tv_nsec;
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        Clock { offset_ns: wall - mono }
    }

    /// The wall-clock time of a monotonic time.
    pub fn wall(&self, mono_ns: u64) -> i64 {
        mono_ns as i64 + self.offset_ns
    }
}

/// Applies a record to the process table and returns the event the rules see, if any
/// (forks and exits only change the table).
pub fn enrich(table: &mut ProcTable, record: &Record, clock: &Clock, num: u64) -> Option<SyscallEvent> {
    let time_ns = clock.wall(record.ts);
    let pid = u64::from(record.pid);
    match record.kind {
        Kind::Fork => {
            table.fork(u64::from(record.ppid), record.id as u64, time_ns);
            return None;
        }
        Kind::Exit => {
            table.exit(pid);
            return None;
        }
        Kind::Exec => {
            table.exec(
                pid,
                u64::from(record.ppid),
                &record.comm,
                &text(&record.s0),
                split_argv(&record.argv),
                &text(&record.s1),
                u64::from(record.uid),
                u64::from(record.gid),
                time_ns,
            );
        }
        // The new working directory, for the relative paths of the process's next calls
        // (a process gone from /proc by then keeps what the table knew).
        Kind::Syscall if record.ret == 0 && (record.id == 80 || record.id == 81) => {
            let cwd = if record.id == 80 {
                let old = table.lookup(pid).map(|e| e.proc.cwd.clone()).unwrap_or_default();
                Some(kubesecops_runtime::syscall::resolve_path(&text(&record.s0), &old))
                    .filter(|c| c.starts_with('/'))
            } else {
                std::fs::read_link(format!("/proc/{pid}/cwd")).ok().and_then(|p| p.to_str().map(String::from))
            };
            if let Some(cwd) = cwd {
                table.chdir(pid, cwd);
            }
        }
        Kind::Syscall => {}
    }
    let mut proc = match table.lookup(pid) {
        Some(entry) => entry.proc.clone(),
        None => kubesecops_runtime::syscall::Process { pid, name: record.comm.clone(), ..Default::default() },
    };
    proc.tid = u64::from(record.tid);
    proc.uid = u64::from(record.uid);
    proc.gid = u64::from(record.gid);
    proc.user = table.user_name(proc.uid);
    if proc.name.is_empty() || record.kind == Kind::Syscall {
        proc.name = record.comm.clone();
    }
    // The cgroup id names the container even when the process is already gone from /proc;
    // the table's entry (from /proc/PID/cgroup) is the fallback.
    let container_id = match table.cgroups.lookup(record.cgroup) {
        Some(found) => found,
        None => table.get(pid).and_then(|e| e.container.clone()),
    };
    let ty = if record.kind == Kind::Exec { "execve" } else { syscall_name(record.id) };
    let mut event = SyscallEvent {
        time_ns,
        num,
        ty: ty.to_string(),
        dir: Direction::Exit,
        res: Some(record.ret),
        ancestors: table.ancestors_shared(pid, ANCESTORS),
        ..SyscallEvent::default()
    };
    let s0 = text(&record.s0);
    let s1 = text(&record.s1);
    let a = &record.args;
    let mut args: Vec<(String, String)> = Vec::new();
    match ty {
        "execve" => {
            args.push(("filename".into(), s0.clone()));
            args.push(("exe".into(), proc.exe.clone()));
            args.push(("args".into(), proc.args.join(" ")));
        }
        "open" | "openat" | "openat2" => {
            let flags = if ty == "open" { a[1] } else { a[2] };
            args.push(("name".into(), s0.clone()));
            args.push(("flags".into(), open_flags(flags)));
            let kind = if flags & 0o200000 != 0 { FdKind::Directory } else { FdKind::File };
            // A relative path is relative to openat's directory descriptor unless that is
            // AT_FDCWD (open has none); only then is /proc asked.
            let dir = match ty {
                "open" => None,
                _ if s0.starts_with('/') => None,
                _ => directory_of_fd(pid, a[0] as i32),
            };
            event.fd = Some(Fd {
                num: if record.ret >= 0 { record.ret } else { -1 },
                kind,
                name: kubesecops_runtime::syscall::resolve_path(&s0, dir.as_deref().unwrap_or(&proc.cwd)),
                nameraw: Some(s0.clone()),
                ..Fd::default()
            });
        }
        "connect" => {
            event.fd = connect_fd(a[0] as i64, &record.s0);
            if let Some(fd) = &event.fd {
                args.push(("fd".into(), a[0].to_string()));
                args.push(("addr".into(), fd.name.trim_start_matches("->").to_string()));
            }
        }
        "ptrace" => {
            args.push(("request".into(), ptrace_request(a[0])));
            args.push(("pid".into(), a[1].to_string()));
        }
        "symlinkat" | "symlink" => {
            args.push(("target".into(), s0.clone()));
            args.push(("linkpath".into(), s1.clone()));
        }
        "linkat" | "link" | "renameat2" => {
            args.push(("oldpath".into(), s0.clone()));
            args.push(("newpath".into(), s1.clone()));
        }
        "unlinkat" => args.push(("name".into(), s0.clone())),
        "chdir" => args.push(("path".into(), s0.clone())),
        "fchdir" => args.push(("fd".into(), a[0].to_string())),
        "mount" => {
            args.push(("dev".into(), s0.clone()));
            args.push(("dir".into(), s1.clone()));
        }
        "memfd_create" => args.push(("name".into(), s0.clone())),
        "unshare" | "setns" => {
            args.push(("flags".into(), format!("{:#x}", if ty == "setns" { a[1] } else { a[0] })))
        }
        "setuid" | "setgid" => {
            args.push((if ty == "setuid" { "uid" } else { "gid" }.into(), a[0].to_string()))
        }
        _ => {}
    }
    event.args = args;
    if let Some(id) = container_id {
        let info = table.container(&id);
        event.container = Some(Container { id, ..info.container });
        event.k8s = info.k8s;
    }
    event.proc = proc;
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(open_flags(0o2000000), "O_RDONLY|O_CLOEXEC");
        assert_eq!(open_flags(0o1101), "O_WRONLY|O_CREAT|O_TRUNC");
        assert_eq!(ptrace_request(16), "PTRACE_ATTACH");
        assert_eq!(syscall_name(257), "openat");
        let mut sa = vec![0u8; 28];
        sa[0..2].copy_from_slice(&2u16.to_ne_bytes());
        sa[2..4].copy_from_slice(&443u16.to_be_bytes());
        sa[4..8].copy_from_slice(&[10, 96, 0, 1]);
        let fd = connect_fd(5, &sa).unwrap();
        assert_eq!((fd.kind, fd.name.as_str(), fd.sport), (FdKind::Ipv4, "->10.96.0.1:443", Some(443)));
        assert_eq!(kubesecops_runtime::syscall::resolve_path("../x", "/tmp/"), "/x");
        // A directory descriptor of this process resolves through /proc.
        let dir = std::fs::File::open("/usr").unwrap();
        use std::os::fd::AsRawFd;
        let me = u64::from(std::process::id());
        assert_eq!(directory_of_fd(me, dir.as_raw_fd()).as_deref(), Some("/usr"));
        assert_eq!(directory_of_fd(me, AT_FDCWD), None);
    }

    #[test]
    fn an_openat_record_becomes_an_event_with_its_process() {
        let mut table = ProcTable::new("/nonexistent-proc-root");
        table.fork(1, 50, 10);
        table.exec(50, 1, "cat", "/bin/cat", vec!["cat".into(), "shadow".into()], "cat", 0, 0, 11);
        let record = Record {
            kind: Kind::Syscall,
            pid: 50,
            tid: 50,
            ppid: 1,
            uid: 0,
            gid: 0,
            id: 257,
            ret: 3,
            ts: 100,
            args: [u64::MAX - 99, 0, 0o2000000, 0, 0, 0],
            comm: "cat".into(),
            cgroup: 0,
            s0: b"/etc/shadow".to_vec(),
            s1: Vec::new(),
            argv: Vec::new(),
        };
        let event = enrich(&mut table, &record, &Clock { offset_ns: 1000 }, 7).unwrap();
        assert_eq!(event.ty, "openat");
        assert_eq!(event.time_ns, 1100);
        assert_eq!(event.arg("flags"), Some("O_RDONLY|O_CLOEXEC"));
        assert_eq!(event.fd.as_ref().map(|f| (f.num, f.name.as_str())), Some((3, "/etc/shadow")));
        assert_eq!(event.proc.cmdline(), "cat shadow");
        let rules = kubesecops_runtime::builtin::syscall_loader().compile().unwrap();
        let alerts = rules.evaluate_syscall(&event);
        assert_eq!(alerts[0].rule.name, "Credential file read by an unexpected program");
    }

    /// A shell that changed directory before a short-lived child opened a relative path: the
    /// child (gone from /proc) inherits the directory the chdir record set.
    #[test]
    fn a_chdir_record_moves_the_working_directory_of_later_relative_opens() {
        let mut table = ProcTable::new("/nonexistent-proc-root");
        table.fork(1, 60, 10);
        table.exec(60, 1, "sh", "/bin/sh", vec!["sh".into()], "sh", 0, 0, 11);
        let record = |pid: u32, id: i64, ret: i64, s0: &[u8]| Record {
            kind: Kind::Syscall,
            pid,
            tid: pid,
            ppid: 1,
            uid: 0,
            gid: 0,
            id,
            ret,
            ts: 100,
            args: [AT_FDCWD as u64, 0, 0, 0, 0, 0],
            comm: "sh".into(),
            cgroup: 0,
            s0: s0.to_vec(),
            s1: Vec::new(),
            argv: Vec::new(),
        };
        let clock = Clock { offset_ns: 0 };
        let chdir = enrich(&mut table, &record(60, 80, 0, b"/etc"), &clock, 1).unwrap();
        assert_eq!((chdir.ty.as_str(), chdir.arg("path")), ("chdir", Some("/etc")));
        // A failed chdir changes nothing; a relative one is resolved against the last.
        enrich(&mut table, &record(60, 80, -2, b"/nonexistent"), &clock, 2);
        enrich(&mut table, &record(60, 80, 0, b"./pam.d/../"), &clock, 3);
        table.fork(60, 61, 20);
        let open = enrich(&mut table, &record(61, 257, 3, b"./shadow"), &clock, 4).unwrap();
        assert_eq!(open.fd.map(|f| f.name), Some("/etc/shadow".to_string()));
    }
}
