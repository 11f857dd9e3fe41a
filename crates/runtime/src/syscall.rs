//! Syscall events (the `syscall` rule source): one enriched system call as the sensor sees it,
//! with the calling process, its ancestors, the file descriptor involved and the container
//! and Kubernetes attribution, plus the capture format (JSON lines) that records them.
//!
//! A capture line is one JSON object:
//!
//! ```text
//! {"kind":"SyscallEvent","ts":1700000000000000000,"num":7,"type":"openat","dir":"<","res":3,
//!  "args":{"name":"/etc/shadow","flags":"O_RDONLY"},
//!  "proc":{"pid":42,"ppid":1,"name":"cat","exe":"cat","exepath":"/usr/bin/cat",
//!          "args":["/etc/shadow"],"uid":0,"user":"root"},
//!  "ancestors":[{"pid":1,"name":"bash","exepath":"/bin/bash","exe":"bash","args":[]}],
//!  "fd":{"num":3,"type":"file","name":"/etc/shadow"},
//!  "container":{"id":"0123456789ab","image":"docker.io/library/nginx:1.25"},
//!  "k8s":{"ns":"default","pod":"web"}}
//! ```
//!
//! Every key but `ts` and `type` is optional; [`SyscallEvent::to_json_line`] writes the same
//! shape back, so captures replay exactly.

use crate::json::{self, write_quoted, Json};

/// The `kind` of a capture line.
pub const KIND: &str = "SyscallEvent";

/// Direction of a syscall event: Falco's `>` (enter) and `<` (exit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// The call is entered (`>`): arguments only.
    Enter,
    /// The call returned (`<`): arguments and result.
    #[default]
    Exit,
}

impl Direction {
    /// `>` or `<`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Enter => ">",
            Direction::Exit => "<",
        }
    }
}

/// A process (the caller, or one of its ancestors).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Process {
    /// Process id (thread group id) as the host sees it.
    pub pid: u64,
    /// Thread id.
    pub tid: u64,
    /// Parent process id.
    pub ppid: u64,
    /// Process name (the kernel's `comm`, at most 15 bytes).
    pub name: String,
    /// The first command-line argument (`argv[0]`), as Falco's `proc.exe`.
    pub exe: String,
    /// Full path of the executable file.
    pub exepath: String,
    /// Command-line arguments after `argv[0]`.
    pub args: Vec<String>,
    /// Current working directory.
    pub cwd: String,
    /// Controlling terminal (device number), 0 when none.
    pub tty: u64,
    /// Effective user id.
    pub uid: u64,
    /// Effective group id.
    pub gid: u64,
    /// User name of `uid`, when known.
    pub user: Option<String>,
    /// Group name of `gid`, when known.
    pub group: Option<String>,
    /// Audit login uid; `None` when unset (`4294967295`).
    pub loginuid: Option<u64>,
    /// Login user name of `loginuid`, when known.
    pub loginname: Option<String>,
    /// Process start time, nanoseconds since the Unix epoch.
    pub start_ns: i64,
    /// Name of the session leader.
    pub sname: Option<String>,
    /// The executable is a memfd (fileless execution).
    pub exe_from_memfd: Option<bool>,
    /// The executable is in the writable upper layer of an overlay file system.
    pub exe_upper_layer: Option<bool>,
    /// Effective capabilities, as `CAP_A CAP_B`.
    pub cap_effective: Option<String>,
    /// Environment (`KEY=value`), when captured.
    pub env: Vec<String>,
}

impl Process {
    /// `name args...`, as Falco's `proc.cmdline`.
    pub fn cmdline(&self) -> String {
        let mut out = self.name.clone();
        for arg in &self.args {
            out.push(' ');
            out.push_str(arg);
        }
        out
    }
}

/// The kind of a file descriptor, with Falco's type names and type characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FdKind {
    /// A regular file (`f`).
    #[default]
    File,
    /// A directory (`d`).
    Directory,
    /// An IPv4 socket (`4`).
    Ipv4,
    /// An IPv6 socket (`6`).
    Ipv6,
    /// A Unix socket (`u`).
    Unix,
    /// A pipe (`p`).
    Pipe,
    /// An event fd (`e`).
    Event,
    /// A signal fd (`s`).
    Signal,
    /// An eventpoll fd (`l`).
    Epoll,
    /// An inotify fd (`i`).
    Inotify,
    /// A timer fd (`t`).
    Timer,
    /// A netlink socket (`n`).
    Netlink,
    /// A memfd (`m`).
    Memfd,
    /// Anything else (`o`).
    Other,
}

impl FdKind {
    const ALL: [(FdKind, &'static str, char); 14] = [
        (FdKind::File, "file", 'f'),
        (FdKind::Directory, "directory", 'd'),
        (FdKind::Ipv4, "ipv4", '4'),
        (FdKind::Ipv6, "ipv6", '6'),
        (FdKind::Unix, "unix", 'u'),
        (FdKind::Pipe, "pipe", 'p'),
        (FdKind::Event, "event", 'e'),
        (FdKind::Signal, "signalfd", 's'),
        (FdKind::Epoll, "eventpoll", 'l'),
        (FdKind::Inotify, "inotify", 'i'),
        (FdKind::Timer, "timerfd", 't'),
        (FdKind::Netlink, "netlink", 'n'),
        (FdKind::Memfd, "memfd", 'm'),
        (FdKind::Other, "other", 'o'),
    ];

    /// Falco's type name (`fd.type`).
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(k, _, _)| *k == self).map_or("other", |(_, n, _)| n)
    }

    /// Falco's type character (`fd.typechar`).
    pub fn typechar(self) -> char {
        Self::ALL.iter().find(|(k, _, _)| *k == self).map_or('o', |(_, _, c)| *c)
    }

    /// The kind of a type name.
    pub fn from_name(name: &str) -> Option<FdKind> {
        Self::ALL.iter().find(|(_, n, _)| *n == name).map(|(k, _, _)| *k)
    }
}

/// The file descriptor an event is about (opened, connected, accepted, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fd {
    /// Descriptor number; negative when the call failed.
    pub num: i64,
    /// Kind of descriptor.
    pub kind: FdKind,
    /// Full name: the absolute path of a file, `cip:cport->sip:sport` of a socket.
    pub name: String,
    /// The path as the process passed it (before resolution against the cwd).
    pub nameraw: Option<String>,
    /// Transport protocol of a socket (`tcp`, `udp`, ...).
    pub l4proto: Option<String>,
    /// Client address of a socket.
    pub cip: Option<String>,
    /// Client port.
    pub cport: Option<u16>,
    /// Server address of a socket.
    pub sip: Option<String>,
    /// Server port.
    pub sport: Option<u16>,
    /// The descriptor is connected (sockets).
    pub connected: Option<bool>,
    /// The local side is the client (outbound connection); decides `fd.lport`/`fd.rport`.
    pub local_is_client: Option<bool>,
}

/// The container a process runs in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Container {
    /// Container id (12 hex digits, as Falco shows it); `host` outside containers.
    pub id: String,
    /// Container name.
    pub name: Option<String>,
    /// Image reference.
    pub image: Option<String>,
    /// Whether the container is privileged.
    pub privileged: Option<bool>,
    /// Container start time, nanoseconds since the Unix epoch.
    pub start_ns: Option<i64>,
}

/// Kubernetes attribution of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct K8s {
    /// Namespace.
    pub ns: Option<String>,
    /// Pod name.
    pub pod: Option<String>,
    /// Pod uid.
    pub pod_uid: Option<String>,
    /// Container name in the pod.
    pub container: Option<String>,
}

/// One enriched syscall event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyscallEvent {
    /// Time, nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// Sequence number.
    pub num: u64,
    /// Syscall name (`openat`, `execve`, ...).
    pub ty: String,
    /// Enter or exit.
    pub dir: Direction,
    /// Return value (exit events).
    pub res: Option<i64>,
    /// Arguments by name, formatted as Falco prints them (`flags` as `O_RDONLY|O_CLOEXEC`).
    pub args: Vec<(String, String)>,
    /// The calling thread's process.
    pub proc: Process,
    /// Ancestors, parent first. Shared: the sensor hands every event of a process the same
    /// list until the process table changes.
    pub ancestors: std::sync::Arc<Vec<Process>>,
    /// The file descriptor involved.
    pub fd: Option<Fd>,
    /// The container; `None` on the host.
    pub container: Option<Container>,
    /// Kubernetes attribution.
    pub k8s: Option<K8s>,
    /// Host name of the node.
    pub hostname: Option<String>,
}

impl SyscallEvent {
    /// The value of argument `name`.
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The absolute, normalised path a process means by `path` given its working directory (or
/// the directory of an `*at` call's descriptor): joined when relative, with empty and `.`
/// components dropped and `..` taking one component off (never above `/`), as Falco's
/// `fd.name` shows it. Only the text is used; symbolic links are not followed. With no
/// directory known, a relative path stays as it is.
pub fn resolve_path(path: &str, dir: &str) -> String {
    if !path.starts_with('/') && !dir.starts_with('/') {
        return path.to_string();
    }
    let mut parts: Vec<&str> = Vec::new();
    let joined = if path.starts_with('/') { None } else { Some(dir) };
    for part in joined.into_iter().flat_map(|d| d.split('/')).chain(path.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    let mut out = String::with_capacity(path.len() + dir.len() + 1);
    for part in &parts {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Why a capture line is not a syscall event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// The object's `kind` is not `SyscallEvent`.
    #[error("not a syscall event (expected kind SyscallEvent)")]
    NotAnEvent,
    /// A required key is missing.
    #[error("syscall event has no {0:?}")]
    Missing(&'static str),
    /// A key has a value of the wrong type.
    #[error("syscall event: {0:?} has the wrong type (expected {1})")]
    BadValue(String, &'static str),
}

fn num_i64(value: &Json<'_>, key: &str) -> Result<i64, CaptureError> {
    match value {
        Json::Number(n) => n.parse().map_err(|_| CaptureError::BadValue(key.to_string(), "an integer")),
        _ => Err(CaptureError::BadValue(key.to_string(), "an integer")),
    }
}

fn num_u64(value: &Json<'_>, key: &str) -> Result<u64, CaptureError> {
    match value {
        Json::Number(n) => {
            n.parse().map_err(|_| CaptureError::BadValue(key.to_string(), "a non-negative integer"))
        }
        _ => Err(CaptureError::BadValue(key.to_string(), "a non-negative integer")),
    }
}

fn text(value: &Json<'_>, key: &str) -> Result<String, CaptureError> {
    value.as_str().map(|s| s.into_owned()).ok_or_else(|| CaptureError::BadValue(key.to_string(), "a string"))
}

fn boolean(value: &Json<'_>, key: &str) -> Result<bool, CaptureError> {
    match value {
        Json::Bool(b) => Ok(*b),
        _ => Err(CaptureError::BadValue(key.to_string(), "true or false")),
    }
}

fn strings(value: &Json<'_>, key: &str) -> Result<Vec<String>, CaptureError> {
    let items = value.as_array().ok_or_else(|| CaptureError::BadValue(key.to_string(), "an array"))?;
    items.iter().map(|item| text(item, key)).collect()
}

fn opt<T>(
    obj: &Json<'_>,
    key: &'static str,
    read: impl Fn(&Json<'_>, &str) -> Result<T, CaptureError>,
) -> Result<Option<T>, CaptureError> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(value) => read(value, key).map(Some),
    }
}

fn process(obj: &Json<'_>) -> Result<Process, CaptureError> {
    if !matches!(obj, Json::Object(_)) {
        return Err(CaptureError::BadValue("proc".into(), "an object"));
    }
    Ok(Process {
        pid: opt(obj, "pid", num_u64)?.unwrap_or(0),
        tid: opt(obj, "tid", num_u64)?.unwrap_or(0),
        ppid: opt(obj, "ppid", num_u64)?.unwrap_or(0),
        name: opt(obj, "name", text)?.unwrap_or_default(),
        exe: opt(obj, "exe", text)?.unwrap_or_default(),
        exepath: opt(obj, "exepath", text)?.unwrap_or_default(),
        args: opt(obj, "args", strings)?.unwrap_or_default(),
        cwd: opt(obj, "cwd", text)?.unwrap_or_default(),
        tty: opt(obj, "tty", num_u64)?.unwrap_or(0),
        uid: opt(obj, "uid", num_u64)?.unwrap_or(0),
        gid: opt(obj, "gid", num_u64)?.unwrap_or(0),
        user: opt(obj, "user", text)?,
        group: opt(obj, "group", text)?,
        loginuid: opt(obj, "loginuid", num_u64)?,
        loginname: opt(obj, "loginname", text)?,
        start_ns: opt(obj, "start", num_i64)?.unwrap_or(0),
        sname: opt(obj, "sname", text)?,
        exe_from_memfd: opt(obj, "memfd", boolean)?,
        exe_upper_layer: opt(obj, "upper_layer", boolean)?,
        cap_effective: opt(obj, "cap_effective", text)?,
        env: opt(obj, "env", strings)?.unwrap_or_default(),
    })
}

impl SyscallEvent {
    /// Reads an event from a parsed capture line.
    pub fn from_json(obj: &Json<'_>) -> Result<SyscallEvent, CaptureError> {
        if obj.get("kind").and_then(Json::as_str).as_deref() != Some(KIND) {
            return Err(CaptureError::NotAnEvent);
        }
        let time_ns = num_i64(obj.get("ts").ok_or(CaptureError::Missing("ts"))?, "ts")?;
        let ty = text(obj.get("type").ok_or(CaptureError::Missing("type"))?, "type")?;
        let dir = match opt(obj, "dir", text)?.as_deref() {
            None | Some("<") => Direction::Exit,
            Some(">") => Direction::Enter,
            Some(_) => return Err(CaptureError::BadValue("dir".into(), "\"<\" or \">\"")),
        };
        let mut args = Vec::new();
        match obj.get("args") {
            None | Some(Json::Null) => {}
            Some(Json::Object(members)) => {
                for (key, value) in members {
                    let key = key.decoded().into_owned();
                    let value = match value {
                        Json::String(s) => s.decoded().into_owned(),
                        Json::Number(n) => n.to_string(),
                        _ => return Err(CaptureError::BadValue(format!("args.{key}"), "a string or number")),
                    };
                    args.push((key, value));
                }
            }
            Some(_) => return Err(CaptureError::BadValue("args".into(), "an object")),
        }
        let proc = match obj.get("proc") {
            Some(p) => process(p)?,
            None => Process::default(),
        };
        let ancestors = match obj.get("ancestors") {
            None | Some(Json::Null) => Vec::new(),
            Some(value) => value
                .as_array()
                .ok_or_else(|| CaptureError::BadValue("ancestors".into(), "an array"))?
                .iter()
                .map(process)
                .collect::<Result<_, _>>()?,
        };
        let ancestors = std::sync::Arc::new(ancestors);
        let fd = match obj.get("fd") {
            None | Some(Json::Null) => None,
            Some(f) => {
                let kind = match opt(f, "type", text)? {
                    None => FdKind::File,
                    Some(name) => FdKind::from_name(&name)
                        .ok_or_else(|| CaptureError::BadValue("fd.type".into(), "a Falco fd type"))?,
                };
                let port = |key: &'static str| -> Result<Option<u16>, CaptureError> {
                    opt(f, key, num_u64)?
                        .map(|p| u16::try_from(p).map_err(|_| CaptureError::BadValue(key.into(), "a port")))
                        .transpose()
                };
                Some(Fd {
                    num: opt(f, "num", num_i64)?.unwrap_or(-1),
                    kind,
                    name: opt(f, "name", text)?.unwrap_or_default(),
                    nameraw: opt(f, "nameraw", text)?,
                    l4proto: opt(f, "l4proto", text)?,
                    cip: opt(f, "cip", text)?,
                    cport: port("cport")?,
                    sip: opt(f, "sip", text)?,
                    sport: port("sport")?,
                    connected: opt(f, "connected", boolean)?,
                    local_is_client: opt(f, "local_is_client", boolean)?,
                })
            }
        };
        let container = match obj.get("container") {
            None | Some(Json::Null) => None,
            Some(c) => Some(Container {
                id: opt(c, "id", text)?.ok_or(CaptureError::Missing("container.id"))?,
                name: opt(c, "name", text)?,
                image: opt(c, "image", text)?,
                privileged: opt(c, "privileged", boolean)?,
                start_ns: opt(c, "start", num_i64)?,
            }),
        };
        let k8s = match obj.get("k8s") {
            None | Some(Json::Null) => None,
            Some(k) => Some(K8s {
                ns: opt(k, "ns", text)?,
                pod: opt(k, "pod", text)?,
                pod_uid: opt(k, "pod_uid", text)?,
                container: opt(k, "container", text)?,
            }),
        };
        Ok(SyscallEvent {
            time_ns,
            num: opt(obj, "num", num_u64)?.unwrap_or(0),
            ty,
            dir,
            res: opt(obj, "res", num_i64)?,
            args,
            proc,
            ancestors,
            fd,
            container,
            k8s,
            hostname: opt(obj, "hostname", text)?,
        })
    }

    /// Parses one capture line.
    pub fn parse_line(line: &str) -> Result<SyscallEvent, String> {
        let value = json::parse(line).map_err(|e| format!("invalid JSON: {}", e.message))?;
        SyscallEvent::from_json(&value).map_err(|e| e.to_string())
    }

    /// The event as one capture line (no trailing newline).
    pub fn to_json_line(&self) -> String {
        let mut w = Writer { out: String::with_capacity(512), first: Vec::new() };
        w.open();
        w.key("kind");
        write_quoted(&mut w.out, KIND);
        w.int("ts", self.time_ns);
        w.uint("num", self.num);
        w.str("type", &self.ty);
        w.str("dir", self.dir.as_str());
        if let Some(res) = self.res {
            w.int("res", res);
        }
        if !self.args.is_empty() {
            w.key("args");
            w.open();
            for (k, v) in &self.args {
                w.str(k, v);
            }
            w.close();
        }
        w.key("proc");
        write_process(&mut w, &self.proc);
        if !self.ancestors.is_empty() {
            w.key("ancestors");
            w.out.push('[');
            for (i, p) in self.ancestors.iter().enumerate() {
                if i > 0 {
                    w.out.push(',');
                }
                write_process(&mut w, p);
            }
            w.out.push(']');
        }
        if let Some(fd) = &self.fd {
            w.key("fd");
            w.open();
            w.int("num", fd.num);
            w.str("type", fd.kind.name());
            w.str("name", &fd.name);
            w.opt_str("nameraw", fd.nameraw.as_deref());
            w.opt_str("l4proto", fd.l4proto.as_deref());
            w.opt_str("cip", fd.cip.as_deref());
            if let Some(p) = fd.cport {
                w.uint("cport", p.into());
            }
            w.opt_str("sip", fd.sip.as_deref());
            if let Some(p) = fd.sport {
                w.uint("sport", p.into());
            }
            w.opt_bool("connected", fd.connected);
            w.opt_bool("local_is_client", fd.local_is_client);
            w.close();
        }
        if let Some(c) = &self.container {
            w.key("container");
            w.open();
            w.str("id", &c.id);
            w.opt_str("name", c.name.as_deref());
            w.opt_str("image", c.image.as_deref());
            w.opt_bool("privileged", c.privileged);
            if let Some(start) = c.start_ns {
                w.int("start", start);
            }
            w.close();
        }
        if let Some(k) = &self.k8s {
            w.key("k8s");
            w.open();
            w.opt_str("ns", k.ns.as_deref());
            w.opt_str("pod", k.pod.as_deref());
            w.opt_str("pod_uid", k.pod_uid.as_deref());
            w.opt_str("container", k.container.as_deref());
            w.close();
        }
        w.opt_str("hostname", self.hostname.as_deref());
        w.close();
        w.out
    }
}

fn write_process(w: &mut Writer, p: &Process) {
    w.open();
    w.uint("pid", p.pid);
    if p.tid != 0 {
        w.uint("tid", p.tid);
    }
    w.uint("ppid", p.ppid);
    w.str("name", &p.name);
    w.str("exe", &p.exe);
    w.str("exepath", &p.exepath);
    w.key("args");
    w.out.push('[');
    for (i, a) in p.args.iter().enumerate() {
        if i > 0 {
            w.out.push(',');
        }
        write_quoted(&mut w.out, a);
    }
    w.out.push(']');
    if !p.cwd.is_empty() {
        w.str("cwd", &p.cwd);
    }
    w.uint("tty", p.tty);
    w.uint("uid", p.uid);
    w.uint("gid", p.gid);
    w.opt_str("user", p.user.as_deref());
    w.opt_str("group", p.group.as_deref());
    if let Some(l) = p.loginuid {
        w.uint("loginuid", l);
    }
    w.opt_str("loginname", p.loginname.as_deref());
    if p.start_ns != 0 {
        w.int("start", p.start_ns);
    }
    w.opt_str("sname", p.sname.as_deref());
    w.opt_bool("memfd", p.exe_from_memfd);
    w.opt_bool("upper_layer", p.exe_upper_layer);
    w.opt_str("cap_effective", p.cap_effective.as_deref());
    if !p.env.is_empty() {
        w.key("env");
        w.out.push('[');
        for (i, e) in p.env.iter().enumerate() {
            if i > 0 {
                w.out.push(',');
            }
            write_quoted(&mut w.out, e);
        }
        w.out.push(']');
    }
    w.close();
}

/// A small JSON object writer (the capture format has no serde dependency).
struct Writer {
    out: String,
    first: Vec<bool>,
}

impl Writer {
    fn open(&mut self) {
        self.out.push('{');
        self.first.push(true);
    }
    fn close(&mut self) {
        self.out.push('}');
        self.first.pop();
    }
    fn key(&mut self, key: &str) {
        if let Some(first) = self.first.last_mut() {
            if !*first {
                self.out.push(',');
            }
            *first = false;
        }
        write_quoted(&mut self.out, key);
        self.out.push(':');
    }
    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        write_quoted(&mut self.out, value);
    }
    fn opt_str(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.str(key, v);
        }
    }
    fn int(&mut self, key: &str, value: i64) {
        self.key(key);
        self.out.push_str(&value.to_string());
    }
    fn uint(&mut self, key: &str, value: u64) {
        self.key(key);
        self.out.push_str(&value.to_string());
    }
    fn opt_bool(&mut self, key: &str, value: Option<bool>) {
        if let Some(v) = value {
            self.key(key);
            self.out.push_str(if v { "true" } else { "false" });
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_resolve_like_falco() {
        assert_eq!(resolve_path("/etc/shadow", "/tmp"), "/etc/shadow");
        assert_eq!(resolve_path("shadow", "/etc"), "/etc/shadow");
        assert_eq!(resolve_path("./shadow", "/etc/"), "/etc/shadow");
        assert_eq!(resolve_path("../etc/shadow", "/tmp"), "/etc/shadow");
        assert_eq!(resolve_path("/tmp/../etc//./shadow", "/"), "/etc/shadow");
        assert_eq!(resolve_path("../../..", "/a"), "/");
        assert_eq!(resolve_path("/etc/", "/"), "/etc");
        assert_eq!(resolve_path("x", ""), "x", "no directory known");
    }

    use super::*;

    pub(crate) fn sample() -> SyscallEvent {
        SyscallEvent {
            time_ns: 1_700_000_000_123_456_789,
            num: 9,
            ty: "openat".into(),
            dir: Direction::Exit,
            res: Some(3),
            args: vec![("name".into(), "/etc/shadow".into()), ("flags".into(), "O_RDONLY".into())],
            proc: Process {
                pid: 42,
                ppid: 7,
                name: "cat".into(),
                exe: "cat".into(),
                exepath: "/usr/bin/cat".into(),
                args: vec!["/etc/shadow".into()],
                cwd: "/root/".into(),
                tty: 34816,
                user: Some("root".into()),
                loginuid: Some(1000),
                ..Process::default()
            },
            ancestors: vec![Process { pid: 7, name: "bash".into(), ..Process::default() }].into(),
            fd: Some(Fd { num: 3, kind: FdKind::File, name: "/etc/shadow".into(), ..Fd::default() }),
            container: Some(Container { id: "0123456789ab".into(), ..Container::default() }),
            k8s: Some(K8s { ns: Some("default".into()), pod: Some("web".into()), ..K8s::default() }),
            hostname: None,
        }
    }

    #[test]
    fn capture_lines_round_trip() {
        let event = sample();
        let line = event.to_json_line();
        assert!(!line.contains('\n'));
        assert_eq!(SyscallEvent::parse_line(&line).unwrap(), event);
        assert_eq!(event.proc.cmdline(), "cat /etc/shadow");
    }

    #[test]
    fn bad_lines_say_why() {
        assert_eq!(
            SyscallEvent::parse_line(r#"{"kind":"Event"}"#).unwrap_err(),
            "not a syscall event (expected kind SyscallEvent)"
        );
        assert_eq!(
            SyscallEvent::parse_line(r#"{"kind":"SyscallEvent","type":"x"}"#).unwrap_err(),
            "syscall event has no \"ts\""
        );
        let err = SyscallEvent::parse_line(r#"{"kind":"SyscallEvent","ts":1,"type":"x","proc":{"pid":"a"}}"#)
            .unwrap_err();
        assert!(err.contains("\"pid\" has the wrong type"), "{err}");
        let err =
            SyscallEvent::parse_line(r#"{"kind":"SyscallEvent","ts":1,"type":"x","fd":{"type":"blob"}}"#)
                .unwrap_err();
        assert!(err.contains("fd.type"), "{err}");
        assert!(SyscallEvent::parse_line("{").unwrap_err().starts_with("invalid JSON"));
    }
}
