//! The fields of the `syscall` source (`evt.*`, `proc.*`, `thread.*`, `user.*`, `group.*`,
//! `fd.*`, `container.*`, `k8s.*`), extracted from a [`SyscallEvent`].
//!
//! Semantics follow Falco's field descriptions: `proc.aname[N]` is the name of the Nth
//! ancestor (`[0]` the process itself) and, without an index, matches when any ancestor
//! matches; `proc.cmdline` is the name followed by the arguments; `proc.exe` is `argv[0]` and
//! `proc.exepath` the executable's path; `evt.res` is `SUCCESS` or the error name; a field the
//! event has no value for is absent (every check on it is false, `exists` included).

use std::borrow::Cow;

use crate::fields::{ArgKind, FieldError, FieldInfo, FieldType, Values};
use crate::syscall::{FdKind, Process, SyscallEvent};
use crate::time::{format_rfc3339_nanos, format_time_of_day};

/// The name of the event source these fields belong to.
pub const SOURCE: &str = "syscall";

const fn s(name: &'static str, arg: ArgKind, desc: &'static str) -> FieldInfo {
    FieldInfo { name, list: false, arg, ty: FieldType::Str, desc }
}

const fn t(name: &'static str, arg: ArgKind, ty: FieldType, desc: &'static str) -> FieldInfo {
    FieldInfo { name, list: false, arg, ty, desc }
}

use ArgKind::{Index as I, Key as K, None as N};
use FieldType::{HostName as HOST, IpAddr as IP, IpNet as NET, I64, U64};

/// Every field of the source. `evt.arg.NAME` is the dotted spelling of `evt.arg[NAME]`.
pub const FIELDS: &[FieldInfo] = &[
    s("evt.type", N, "The syscall name (openat, execve, connect, ...)"),
    s("evt.dir", N, "The direction: > for enter, < for exit"),
    t("evt.num", N, U64, "The event sequence number"),
    s("evt.res", N, "The result: SUCCESS, or the error name (ENOENT, EACCES, ...)"),
    t("evt.rawres", N, I64, "The result as a number"),
    s("evt.failed", N, "true when the call returned an error"),
    s("evt.arg", K, "An argument by name (evt.arg[name] or evt.arg.name)"),
    s("evt.rawarg", K, "An argument by name, as recorded"),
    s("evt.args", N, "All arguments as name=value pairs"),
    s("evt.is_open_read", N, "true for an open with read access"),
    s("evt.is_open_write", N, "true for an open with write access"),
    s("evt.is_open_exec", N, "true for an open with execute intent"),
    s("evt.time", N, "The event time of day (UTC, nanoseconds)"),
    s("evt.time.iso8601", N, "The event time, RFC 3339 with nanoseconds"),
    s("evt.datetime", N, "The event date and time (UTC)"),
    t("evt.rawtime", N, U64, "The event time in nanoseconds since the epoch"),
    s("evt.hostname", N, "The host name of the node"),
    s("evt.source", N, "The event source (syscall)"),
    s("proc.name", N, "The process name (comm)"),
    s("proc.exe", N, "The first command-line argument (argv[0])"),
    s("proc.exepath", N, "The full path of the executable"),
    s("proc.cmdline", N, "The process name followed by its arguments"),
    s("proc.args", N, "The arguments, space separated"),
    s("proc.cwd", N, "The current working directory"),
    t("proc.pid", N, U64, "The process id"),
    t("proc.ppid", N, U64, "The parent process id"),
    t("proc.tty", N, U64, "The controlling terminal, 0 when none"),
    s("proc.pname", N, "The parent process name"),
    s("proc.pexe", N, "The parent's argv[0]"),
    s("proc.pexepath", N, "The parent's executable path"),
    s("proc.pcmdline", N, "The parent's command line"),
    s("proc.aname", I, "The name of the Nth ancestor ([0] is the process); any ancestor without index"),
    s("proc.aexe", I, "The argv[0] of the Nth ancestor; any ancestor without index"),
    s("proc.aexepath", I, "The executable path of the Nth ancestor; any ancestor without index"),
    t("proc.apid", I, U64, "The pid of the Nth ancestor; any ancestor without index"),
    t("proc.duration", N, U64, "Nanoseconds since the process started"),
    t("proc.ppid.duration", N, U64, "Nanoseconds since the parent process started"),
    s("proc.sname", N, "The name of the session leader"),
    s("proc.is_exe_from_memfd", N, "true when the executable is a memfd (fileless)"),
    s("proc.is_exe_upper_layer", N, "true when the executable is in an overlay upper layer"),
    s("proc.env", N, "The environment, space separated"),
    t("thread.tid", N, U64, "The thread id"),
    s("thread.cap_effective", N, "The effective capabilities"),
    t("user.uid", N, U64, "The effective user id"),
    s("user.name", N, "The effective user name"),
    t("user.loginuid", N, I64, "The audit login uid, -1 when unset"),
    s("user.loginname", N, "The audit login user name"),
    t("group.gid", N, U64, "The effective group id"),
    s("group.name", N, "The effective group name"),
    t("fd.num", N, I64, "The file descriptor number"),
    s("fd.name", N, "The full name: a file's path, a socket's cip:cport->sip:sport"),
    s("fd.nameraw", N, "The path as the process passed it"),
    s("fd.directory", N, "The directory of a file"),
    s("fd.filename", N, "The file name without its directory"),
    s("fd.typechar", N, "The descriptor type as one character (f, d, 4, 6, u, ...)"),
    s("fd.type", N, "The descriptor type (file, directory, ipv4, ipv6, unix, ...)"),
    s("fd.l4proto", N, "The transport protocol of a socket"),
    t("fd.cip", N, IP, "The client IP address"),
    t("fd.sip", N, IP, "The server IP address"),
    t("fd.lip", N, IP, "The local IP address"),
    t("fd.rip", N, IP, "The remote IP address"),
    t("fd.ip", N, IP, "The client or server IP address (filters only)"),
    t("fd.cip.name", N, HOST, "The rules' host names that resolve to the client IP address"),
    t("fd.sip.name", N, HOST, "The rules' host names that resolve to the server IP address"),
    t("fd.lip.name", N, HOST, "The rules' host names that resolve to the local IP address"),
    t("fd.rip.name", N, HOST, "The rules' host names that resolve to the remote IP address"),
    t("fd.cport", N, U64, "The client port"),
    t("fd.sport", N, U64, "The server port"),
    t("fd.lport", N, U64, "The local port"),
    t("fd.rport", N, U64, "The remote port"),
    t("fd.port", N, U64, "The client or server port (filters only)"),
    t("fd.net", N, NET, "The client or server address, compared with networks (filters only)"),
    t("fd.cnet", N, NET, "The client address, compared with networks"),
    t("fd.snet", N, NET, "The server address, compared with networks"),
    t("fd.lnet", N, NET, "The local address, compared with networks"),
    t("fd.rnet", N, NET, "The remote address, compared with networks"),
    s("fd.connected", N, "true when the socket is connected"),
    s("fd.name_changed", N, "true when the descriptor's name changed with this event"),
    s("container.id", N, "The container id, host outside containers"),
    s("container.name", N, "The container name, host outside containers"),
    s("container.image", N, "The container image reference"),
    s("container.image.repository", N, "The repository of the container image"),
    s("container.image.tag", N, "The tag of the container image"),
    s("container.privileged", N, "true for a privileged container"),
    t("container.start_ts", N, U64, "The container start time, nanoseconds since the epoch"),
    s("k8s.ns.name", N, "The Kubernetes namespace"),
    s("k8s.pod.name", N, "The Kubernetes pod name"),
    s("k8s.pod.uid", N, "The Kubernetes pod uid"),
    s("k8s.container.name", N, "The container name in the pod"),
];

/// Which process of the ancestor chain a field reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    /// The process itself.
    Me,
    /// The parent.
    Parent,
    /// The Nth ancestor (`0` the process itself).
    Ancestor(usize),
    /// Every ancestor (parent first).
    AnyAncestor,
}

/// A process attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcAttr {
    /// `name`.
    Name,
    /// `argv[0]`.
    Exe,
    /// Executable path.
    ExePath,
    /// Command line.
    Cmdline,
    /// Process id.
    Pid,
    /// Start time as a duration until the event.
    Duration,
}

/// A resolved syscall field, ready to extract from events.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum SysField {
    EvtType,
    EvtDir,
    EvtNum,
    EvtRes,
    EvtRawRes,
    EvtFailed,
    /// `evt.arg[name]`.
    Arg(String),
    EvtArgs,
    /// `evt.is_open_read` / `_write` / `_exec`: the flag names that make it true.
    IsOpen(&'static [&'static str]),
    Time,
    TimeIso,
    DateTime,
    RawTime,
    Hostname,
    Source,
    /// A process attribute of a process of the chain.
    Proc(Who, ProcAttr),
    Args,
    Cwd,
    Ppid,
    Tty,
    Sname,
    ExeMemfd,
    ExeUpper,
    Env,
    Tid,
    CapEffective,
    Uid,
    UserName,
    LoginUid,
    LoginName,
    Gid,
    GroupName,
    FdNum,
    FdName,
    FdNameRaw,
    FdDirectory,
    FdFilename,
    FdTypeChar,
    FdType,
    L4Proto,
    /// An address: client, server, local, remote or either (`fd.ip`, `fd.net`).
    Ip(Side),
    /// The registered host names resolving to an address (`fd.sip.name`, ...).
    IpName(Side),
    /// A port: client, server, local, remote or either.
    Port(Side),
    Connected,
    NameChanged,
    ContainerId,
    ContainerName,
    Image,
    ImageRepository,
    ImageTag,
    Privileged,
    ContainerStart,
    K8sNs,
    K8sPod,
    K8sPodUid,
    K8sContainer,
}

/// The side of a connection an address or port field reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The client.
    Client,
    /// The server.
    Server,
    /// This host's side.
    Local,
    /// The peer's side.
    Remote,
    /// Either side.
    Any,
}

/// Looks up the catalog entry of a field name (`evt.arg.NAME` included).
pub fn field_info(name: &str) -> Option<FieldInfo> {
    if name.starts_with("evt.arg.") || name.starts_with("evt.rawarg.") {
        return Some(s("evt.arg.*", N, "An argument by name"));
    }
    FIELDS.iter().find(|info| info.name == name).copied()
}

/// Resolves `name[arg]` to an extractor, checking the argument.
pub fn resolve(name: &str, arg: Option<&str>) -> Result<(SysField, FieldInfo), FieldError> {
    if let Some(key) = name.strip_prefix("evt.arg.").or_else(|| name.strip_prefix("evt.rawarg.")) {
        if arg.is_some() {
            return Err(FieldError::UnexpectedArg(name.to_string()));
        }
        let info = field_info(name).expect("prefix checked");
        return Ok((SysField::Arg(key.to_string()), info));
    }
    let info = field_info(name).ok_or_else(|| FieldError::Unknown(name.to_string()))?;
    let index = match (info.arg, arg) {
        (ArgKind::Key, None) => return Err(FieldError::MissingArg(name.to_string())),
        (ArgKind::None, Some(_)) => return Err(FieldError::UnexpectedArg(name.to_string())),
        (ArgKind::Index, Some(text)) => Some(
            text.parse::<usize>().map_err(|_| FieldError::BadIndex(name.to_string(), text.to_string()))?,
        ),
        _ => None,
    };
    let who = match index {
        Some(n) => Who::Ancestor(n),
        None => Who::AnyAncestor,
    };
    use SysField as F;
    let field = match name {
        "evt.type" => F::EvtType,
        "evt.dir" => F::EvtDir,
        "evt.num" => F::EvtNum,
        "evt.res" => F::EvtRes,
        "evt.rawres" => F::EvtRawRes,
        "evt.failed" => F::EvtFailed,
        "evt.arg" | "evt.rawarg" => F::Arg(arg.unwrap_or_default().to_string()),
        "evt.args" => F::EvtArgs,
        "evt.is_open_read" => F::IsOpen(&["O_RDONLY", "O_RDWR"]),
        "evt.is_open_write" => F::IsOpen(&["O_WRONLY", "O_RDWR"]),
        "evt.is_open_exec" => F::IsOpen(&["O_EXEC"]),
        "evt.time" => F::Time,
        "evt.time.iso8601" => F::TimeIso,
        "evt.datetime" => F::DateTime,
        "evt.rawtime" => F::RawTime,
        "evt.hostname" => F::Hostname,
        "evt.source" => F::Source,
        "proc.name" => F::Proc(Who::Me, ProcAttr::Name),
        "proc.exe" => F::Proc(Who::Me, ProcAttr::Exe),
        "proc.exepath" => F::Proc(Who::Me, ProcAttr::ExePath),
        "proc.cmdline" => F::Proc(Who::Me, ProcAttr::Cmdline),
        "proc.pid" => F::Proc(Who::Me, ProcAttr::Pid),
        "proc.duration" => F::Proc(Who::Me, ProcAttr::Duration),
        "proc.args" => F::Args,
        "proc.cwd" => F::Cwd,
        "proc.ppid" => F::Ppid,
        "proc.tty" => F::Tty,
        "proc.pname" => F::Proc(Who::Parent, ProcAttr::Name),
        "proc.pexe" => F::Proc(Who::Parent, ProcAttr::Exe),
        "proc.pexepath" => F::Proc(Who::Parent, ProcAttr::ExePath),
        "proc.pcmdline" => F::Proc(Who::Parent, ProcAttr::Cmdline),
        "proc.ppid.duration" => F::Proc(Who::Parent, ProcAttr::Duration),
        "proc.aname" => F::Proc(who, ProcAttr::Name),
        "proc.aexe" => F::Proc(who, ProcAttr::Exe),
        "proc.aexepath" => F::Proc(who, ProcAttr::ExePath),
        "proc.apid" => F::Proc(who, ProcAttr::Pid),
        "proc.sname" => F::Sname,
        "proc.is_exe_from_memfd" => F::ExeMemfd,
        "proc.is_exe_upper_layer" => F::ExeUpper,
        "proc.env" => F::Env,
        "thread.tid" => F::Tid,
        "thread.cap_effective" => F::CapEffective,
        "user.uid" => F::Uid,
        "user.name" => F::UserName,
        "user.loginuid" => F::LoginUid,
        "user.loginname" => F::LoginName,
        "group.gid" => F::Gid,
        "group.name" => F::GroupName,
        "fd.num" => F::FdNum,
        "fd.name" => F::FdName,
        "fd.nameraw" => F::FdNameRaw,
        "fd.directory" => F::FdDirectory,
        "fd.filename" => F::FdFilename,
        "fd.typechar" => F::FdTypeChar,
        "fd.type" => F::FdType,
        "fd.l4proto" => F::L4Proto,
        "fd.cip" | "fd.cnet" => F::Ip(Side::Client),
        "fd.sip" | "fd.snet" => F::Ip(Side::Server),
        "fd.lip" | "fd.lnet" => F::Ip(Side::Local),
        "fd.rip" | "fd.rnet" => F::Ip(Side::Remote),
        "fd.ip" | "fd.net" => F::Ip(Side::Any),
        "fd.cip.name" => F::IpName(Side::Client),
        "fd.sip.name" => F::IpName(Side::Server),
        "fd.lip.name" => F::IpName(Side::Local),
        "fd.rip.name" => F::IpName(Side::Remote),
        "fd.cport" => F::Port(Side::Client),
        "fd.sport" => F::Port(Side::Server),
        "fd.lport" => F::Port(Side::Local),
        "fd.rport" => F::Port(Side::Remote),
        "fd.port" => F::Port(Side::Any),
        "fd.connected" => F::Connected,
        "fd.name_changed" => F::NameChanged,
        "container.id" => F::ContainerId,
        "container.name" => F::ContainerName,
        "container.image" => F::Image,
        "container.image.repository" => F::ImageRepository,
        "container.image.tag" => F::ImageTag,
        "container.privileged" => F::Privileged,
        "container.start_ts" => F::ContainerStart,
        "k8s.ns.name" => F::K8sNs,
        "k8s.pod.name" => F::K8sPod,
        "k8s.pod.uid" => F::K8sPodUid,
        "k8s.container.name" => F::K8sContainer,
        _ => return Err(FieldError::Unknown(name.to_string())),
    };
    Ok((field, info))
}

fn one(text: &str) -> Option<Values<'_>> {
    Some(Values::One(Cow::Borrowed(text)))
}

fn owned<'e>(text: String) -> Option<Values<'e>> {
    Some(Values::One(Cow::Owned(text)))
}

fn boolean<'e>(value: bool) -> Option<Values<'e>> {
    Some(Values::One(Cow::Borrowed(if value { "true" } else { "false" })))
}

fn many(values: Vec<Cow<'_, str>>) -> Option<Values<'_>> {
    let mut values = values;
    match values.len() {
        0 => None,
        1 => values.pop().map(Values::One),
        _ => Some(Values::Many(values)),
    }
}

/// The addresses of the sides a field reads: client, server, local, remote or both.
fn side_ips(fd: &crate::syscall::Fd, side: Side) -> Vec<Option<&str>> {
    pick_side(fd, side, fd.cip.as_deref(), fd.sip.as_deref())
}

/// Of a client value `c` and a server value `s`, those a field of `side` reads (local and
/// remote follow the direction of the connection).
fn pick_side<T: Copy>(fd: &crate::syscall::Fd, side: Side, c: T, s: T) -> Vec<T> {
    let local_client = fd.local_is_client.unwrap_or(true);
    match side {
        Side::Client => vec![c],
        Side::Server => vec![s],
        Side::Local => vec![if local_client { c } else { s }],
        Side::Remote => vec![if local_client { s } else { c }],
        Side::Any => vec![c, s],
    }
}

/// The error name of a (negative) syscall result, as Falco's `evt.res` shows it.
pub fn errno_name(res: i64) -> Cow<'static, str> {
    const NAMES: [&str; 41] = [
        "",
        "EPERM",
        "ENOENT",
        "ESRCH",
        "EINTR",
        "EIO",
        "ENXIO",
        "E2BIG",
        "ENOEXEC",
        "EBADF",
        "ECHILD",
        "EAGAIN",
        "ENOMEM",
        "EACCES",
        "EFAULT",
        "ENOTBLK",
        "EBUSY",
        "EEXIST",
        "EXDEV",
        "ENODEV",
        "ENOTDIR",
        "EISDIR",
        "EINVAL",
        "ENFILE",
        "EMFILE",
        "ENOTTY",
        "ETXTBSY",
        "EFBIG",
        "ENOSPC",
        "ESPIPE",
        "EROFS",
        "EMLINK",
        "EPIPE",
        "EDOM",
        "ERANGE",
        "EDEADLK",
        "ENAMETOOLONG",
        "ENOLCK",
        "ENOSYS",
        "ENOTEMPTY",
        "ELOOP",
    ];
    let code = res.unsigned_abs();
    match code {
        c if (c as usize) < NAMES.len() && c > 0 => Cow::Borrowed(NAMES[c as usize]),
        95 => Cow::Borrowed("EOPNOTSUPP"),
        97 => Cow::Borrowed("EAFNOSUPPORT"),
        98 => Cow::Borrowed("EADDRINUSE"),
        99 => Cow::Borrowed("EADDRNOTAVAIL"),
        101 => Cow::Borrowed("ENETUNREACH"),
        104 => Cow::Borrowed("ECONNRESET"),
        110 => Cow::Borrowed("ETIMEDOUT"),
        111 => Cow::Borrowed("ECONNREFUSED"),
        113 => Cow::Borrowed("EHOSTUNREACH"),
        114 => Cow::Borrowed("EALREADY"),
        115 => Cow::Borrowed("EINPROGRESS"),
        c => Cow::Owned(format!("E{c}")),
    }
}

fn process_at(event: &SyscallEvent, n: usize) -> Option<&Process> {
    match n {
        0 => Some(&event.proc),
        n => event.ancestors.get(n - 1),
    }
}

fn attr<'e>(event: &'e SyscallEvent, p: &'e Process, attr: ProcAttr) -> Option<Cow<'e, str>> {
    Some(match attr {
        ProcAttr::Name => Cow::Borrowed(p.name.as_str()),
        ProcAttr::Exe => Cow::Borrowed(p.exe.as_str()),
        ProcAttr::ExePath => Cow::Borrowed(p.exepath.as_str()),
        ProcAttr::Cmdline => Cow::Owned(p.cmdline()),
        ProcAttr::Pid => Cow::Owned(p.pid.to_string()),
        ProcAttr::Duration => {
            if p.start_ns <= 0 || event.time_ns < p.start_ns {
                return None;
            }
            Cow::Owned((event.time_ns - p.start_ns).to_string())
        }
    })
}

/// The repository of an image reference: without tag or digest (a `:` after the last `/` starts
/// the tag).
pub fn image_repository(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let name_start = without_digest.rfind('/').map_or(0, |i| i + 1);
    match without_digest[name_start..].find(':') {
        Some(colon) => &without_digest[..name_start + colon],
        None => without_digest,
    }
}

fn image_tag(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let name_start = without_digest.rfind('/').map_or(0, |i| i + 1);
    without_digest[name_start..].find(':').map(|colon| &without_digest[name_start + colon + 1..])
}

impl SysField {
    /// Extracts the field from an event; `None` when it is absent.
    pub fn extract<'e>(&self, event: &'e SyscallEvent) -> Option<Values<'e>> {
        use SysField as F;
        let p = &event.proc;
        let fd = event.fd.as_ref();
        match self {
            F::EvtType => one(&event.ty),
            F::EvtDir => one(event.dir.as_str()),
            F::EvtNum => owned(event.num.to_string()),
            F::EvtRes => {
                let res = event.res?;
                if res >= 0 {
                    one("SUCCESS")
                } else {
                    Some(Values::One(errno_name(res)))
                }
            }
            F::EvtRawRes => owned(event.res?.to_string()),
            F::EvtFailed => boolean(event.res? < 0),
            F::Arg(name) => event.arg(name).map(|v| Values::One(Cow::Borrowed(v))),
            F::EvtArgs => {
                let parts: Vec<String> = event.args.iter().map(|(k, v)| format!("{k}={v}")).collect();
                owned(parts.join(" "))
            }
            F::IsOpen(flags) => {
                if !matches!(event.ty.as_str(), "open" | "openat" | "openat2") {
                    return None;
                }
                let given = event.arg("flags").unwrap_or_default();
                boolean(given.split('|').any(|f| flags.contains(&f)))
            }
            F::Time => owned(format_time_of_day(event.time_ns)),
            F::TimeIso => owned(format_rfc3339_nanos(event.time_ns)),
            F::DateTime => {
                let iso = format_rfc3339_nanos(event.time_ns);
                owned(format!("{} {}", &iso[..10], &iso[11..19]))
            }
            F::RawTime => owned(event.time_ns.max(0).to_string()),
            F::Hostname => event.hostname.as_deref().and_then(one),
            F::Source => one(SOURCE),
            F::Proc(who, a) => match who {
                Who::Me => attr(event, p, *a).map(Values::One),
                Who::Parent => attr(event, event.ancestors.first()?, *a).map(Values::One),
                Who::Ancestor(n) => attr(event, process_at(event, *n)?, *a).map(Values::One),
                Who::AnyAncestor => many(event.ancestors.iter().filter_map(|q| attr(event, q, *a)).collect()),
            },
            F::Args => owned(p.args.join(" ")),
            F::Cwd => (!p.cwd.is_empty()).then_some(Values::One(Cow::Borrowed(p.cwd.as_str()))),
            F::Ppid => owned(p.ppid.to_string()),
            F::Tty => owned(p.tty.to_string()),
            F::Sname => p.sname.as_deref().and_then(one),
            F::ExeMemfd => boolean(p.exe_from_memfd?),
            F::ExeUpper => boolean(p.exe_upper_layer?),
            F::Env => (!p.env.is_empty()).then(|| Values::One(Cow::Owned(p.env.join(" ")))),
            F::Tid => owned(if p.tid == 0 { p.pid } else { p.tid }.to_string()),
            F::CapEffective => p.cap_effective.as_deref().and_then(one),
            F::Uid => owned(p.uid.to_string()),
            F::UserName => p.user.as_deref().and_then(one),
            F::LoginUid => owned(p.loginuid.map_or(-1, |l| l as i64).to_string()),
            F::LoginName => p.loginname.as_deref().and_then(one),
            F::Gid => owned(p.gid.to_string()),
            F::GroupName => p.group.as_deref().and_then(one),
            F::FdNum => owned(fd?.num.to_string()),
            F::FdName => one(&fd?.name),
            F::FdNameRaw => {
                let fd = fd?;
                one(fd.nameraw.as_deref().unwrap_or(&fd.name))
            }
            F::FdDirectory => {
                let fd = fd?;
                match fd.kind {
                    FdKind::Directory => one(&fd.name),
                    FdKind::File => {
                        let cut = fd.name.rfind('/')?;
                        one(if cut == 0 { "/" } else { &fd.name[..cut] })
                    }
                    _ => None,
                }
            }
            F::FdFilename => {
                let fd = fd?;
                if fd.kind != FdKind::File {
                    return None;
                }
                fd.name.rsplit('/').next().and_then(one)
            }
            F::FdTypeChar => owned(fd?.kind.typechar().to_string()),
            F::FdType => one(fd?.kind.name()),
            F::L4Proto => fd?.l4proto.as_deref().and_then(one),
            F::Ip(side) => many(side_ips(fd?, *side).into_iter().flatten().map(Cow::Borrowed).collect()),
            F::IpName(side) => {
                let table = crate::hostnames::table();
                let names = side_ips(fd?, *side).into_iter().flatten().flat_map(|ip| table.names_of(ip));
                many(names.map(Cow::Owned).collect())
            }
            F::Port(side) => {
                let fd = fd?;
                let pick = pick_side(fd, *side, fd.cport, fd.sport);
                many(pick.into_iter().flatten().map(|p| Cow::Owned(p.to_string())).collect())
            }
            F::Connected => boolean(fd?.connected?),
            F::NameChanged => None,
            F::ContainerId => match &event.container {
                Some(c) => one(&c.id),
                None => one("host"),
            },
            F::ContainerName => match &event.container {
                Some(c) => c.name.as_deref().and_then(one),
                None => one("host"),
            },
            F::Image => event.container.as_ref()?.image.as_deref().and_then(one),
            F::ImageRepository => event
                .container
                .as_ref()?
                .image
                .as_deref()
                .map(|i| Values::One(Cow::Borrowed(image_repository(i)))),
            F::ImageTag => event.container.as_ref()?.image.as_deref().and_then(image_tag).and_then(one),
            F::Privileged => boolean(event.container.as_ref()?.privileged?),
            F::ContainerStart => owned(event.container.as_ref()?.start_ns?.max(0).to_string()),
            F::K8sNs => event.k8s.as_ref()?.ns.as_deref().and_then(one),
            F::K8sPod => event.k8s.as_ref()?.pod.as_deref().and_then(one),
            F::K8sPodUid => event.k8s.as_ref()?.pod_uid.as_deref().and_then(one),
            F::K8sContainer => event.k8s.as_ref()?.container.as_deref().and_then(one),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::{Container, Fd, SyscallEvent};

    fn event() -> SyscallEvent {
        let line = r#"{"kind":"SyscallEvent","ts":2000000000,"num":5,"type":"openat","dir":"<","res":3,
            "args":{"name":"/etc/shadow","flags":"O_RDONLY|O_CLOEXEC"},
            "proc":{"pid":42,"ppid":7,"name":"cat","exe":"cat","exepath":"/usr/bin/cat","args":["-n","/etc/shadow"],
                    "uid":0,"user":"root","start":1000000000,"tty":0},
            "ancestors":[{"pid":7,"name":"bash","exe":"-bash","exepath":"/bin/bash","args":[]},
                         {"pid":1,"name":"sshd","exe":"sshd","exepath":"/usr/sbin/sshd","args":["-D"]}],
            "fd":{"num":3,"type":"file","name":"/etc/shadow"},
            "container":{"id":"0123456789ab","image":"reg.io:5000/team/app:1.2@sha256:ff"},
            "k8s":{"ns":"prod","pod":"web-1"}}"#
            .replace('\n', " ");
        SyscallEvent::parse_line(&line).unwrap()
    }

    fn get(ev: &SyscallEvent, name: &str, arg: Option<&str>) -> Option<Vec<String>> {
        let (field, _) = resolve(name, arg).unwrap();
        field.extract(ev).map(|v| v.as_slice().iter().map(|s| s.to_string()).collect())
    }

    fn v(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn process_and_event_fields() {
        let ev = event();
        assert_eq!(get(&ev, "evt.type", None), v(&["openat"]));
        assert_eq!(get(&ev, "evt.dir", None), v(&["<"]));
        assert_eq!(get(&ev, "evt.res", None), v(&["SUCCESS"]));
        assert_eq!(get(&ev, "evt.arg.flags", None), v(&["O_RDONLY|O_CLOEXEC"]));
        assert_eq!(get(&ev, "evt.arg", Some("name")), v(&["/etc/shadow"]));
        assert_eq!(get(&ev, "evt.is_open_read", None), v(&["true"]));
        assert_eq!(get(&ev, "evt.is_open_write", None), v(&["false"]));
        assert_eq!(get(&ev, "proc.cmdline", None), v(&["cat -n /etc/shadow"]));
        assert_eq!(get(&ev, "proc.args", None), v(&["-n /etc/shadow"]));
        assert_eq!(get(&ev, "proc.pname", None), v(&["bash"]));
        assert_eq!(get(&ev, "proc.pexe", None), v(&["-bash"]));
        assert_eq!(get(&ev, "proc.aname", Some("0")), v(&["cat"]));
        assert_eq!(get(&ev, "proc.aname", Some("2")), v(&["sshd"]));
        assert_eq!(get(&ev, "proc.aname", Some("3")), None);
        assert_eq!(get(&ev, "proc.aname", None), v(&["bash", "sshd"]));
        assert_eq!(get(&ev, "proc.pcmdline", None), v(&["bash"]));
        assert_eq!(get(&ev, "proc.duration", None), v(&["1000000000"]));
        assert_eq!(get(&ev, "user.loginuid", None), v(&["-1"]));
        assert_eq!(get(&ev, "proc.sname", None), None);
    }

    #[test]
    fn fd_and_container_fields() {
        let mut ev = event();
        assert_eq!(get(&ev, "fd.directory", None), v(&["/etc"]));
        assert_eq!(get(&ev, "fd.filename", None), v(&["shadow"]));
        assert_eq!(get(&ev, "fd.typechar", None), v(&["f"]));
        assert_eq!(get(&ev, "fd.num", None), v(&["3"]));
        assert_eq!(get(&ev, "container.image.repository", None), v(&["reg.io:5000/team/app"]));
        assert_eq!(get(&ev, "container.image.tag", None), v(&["1.2"]));
        assert_eq!(get(&ev, "k8s.ns.name", None), v(&["prod"]));
        assert_eq!(get(&ev, "k8s.pod.name", None), v(&["web-1"]));
        ev.container = None;
        assert_eq!(get(&ev, "container.id", None), v(&["host"]));
        assert_eq!(get(&ev, "container.image.repository", None), None);
        ev.fd = Some(Fd {
            num: 4,
            kind: FdKind::Ipv4,
            name: "10.0.0.5:40000->93.184.216.34:443".into(),
            cip: Some("10.0.0.5".into()),
            cport: Some(40000),
            sip: Some("93.184.216.34".into()),
            sport: Some(443),
            ..Fd::default()
        });
        assert_eq!(get(&ev, "fd.sport", None), v(&["443"]));
        assert_eq!(get(&ev, "fd.rport", None), v(&["443"]));
        assert_eq!(get(&ev, "fd.lport", None), v(&["40000"]));
        assert_eq!(get(&ev, "fd.sip", None), v(&["93.184.216.34"]));
        assert_eq!(get(&ev, "fd.typechar", None), v(&["4"]));
        assert_eq!(get(&ev, "fd.directory", None), None);
        ev.res = Some(-2);
        assert_eq!(get(&ev, "evt.res", None), v(&["ENOENT"]));
        assert_eq!(get(&ev, "evt.failed", None), v(&["true"]));
        let _ = Container::default();
    }

    #[test]
    fn resolution_checks_arguments() {
        assert!(matches!(resolve("proc.nope", None), Err(FieldError::Unknown(_))));
        assert!(matches!(resolve("evt.arg", None), Err(FieldError::MissingArg(_))));
        assert!(matches!(resolve("proc.name", Some("1")), Err(FieldError::UnexpectedArg(_))));
        assert!(matches!(resolve("proc.aname", Some("x")), Err(FieldError::BadIndex(..))));
        for info in FIELDS {
            let arg = (info.arg == ArgKind::Key).then_some("k");
            assert!(resolve(info.name, arg).is_ok(), "{}", info.name);
        }
    }

    #[test]
    fn image_repository_and_errno() {
        assert_eq!(image_repository("nginx:1.25"), "nginx");
        assert_eq!(image_repository("localhost:5000/app"), "localhost:5000/app");
        assert_eq!(image_repository("docker.io/library/busybox@sha256:abc"), "docker.io/library/busybox");
        assert_eq!(errno_name(-13), "EACCES");
        assert_eq!(errno_name(-115), "EINPROGRESS");
        assert_eq!(errno_name(-200), "E200");
    }
}
