//! The process table: every process's name, executable, arguments, parent and container,
//! seeded from `/proc` at start and kept by exec, fork and exit records; and container
//! attribution (id from the cgroup path; pod and image from a [`ContainerSource`] such as the
//! CRI API when one is set, and from the runtime's bundle file).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kubesecops_runtime::syscall::{Container, K8s, Process};

/// Entries kept at most; past it, entries of processes gone from `/proc` are dropped.
pub const MAX_ENTRIES: usize = 65_536;

/// What the table knows about one process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The process as the rules see it.
    pub proc: Process,
    /// Its container id (12 hex digits), `None` on the host.
    pub container: Option<String>,
}

/// Container and pod details of a container id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Container fields.
    pub container: Container,
    /// Kubernetes fields, when the runtime recorded them.
    pub k8s: Option<K8s>,
}

/// Container details beyond the bundle files: the runtime's CRI API in the sensor.
pub trait ContainerSource: std::fmt::Debug {
    /// Details of a 12-digit container id; `None` when the source does not know it (now). Called
    /// from the event loop, so it must answer within a short deadline and cache what it can.
    fn lookup(&mut self, id: &str) -> Option<ContainerInfo>;
}

/// Containers remembered at most by the table.
const MAX_CONTAINERS: usize = 4096;

/// The process table over a `/proc`-like root (tests use a directory of their own).
#[derive(Debug, Default)]
pub struct ProcTable {
    root: PathBuf,
    entries: HashMap<u64, Entry>,
    containers: HashMap<String, ContainerInfo>,
    users: HashMap<u64, String>,
    bundle_dirs: Vec<PathBuf>,
    /// Shared ancestor lists by pid, cleared whenever an entry changes.
    ancestry: HashMap<u64, Arc<Vec<Process>>>,
    /// Cgroup ids to containers (records carry the id of their process's cgroup).
    pub cgroups: crate::cgroups::CgroupMap,
    source: Option<Box<dyn ContainerSource + Send>>,
}

/// The container id in a cgroup path: the last 64-hex-digit token (containerd
/// `cri-containerd-<id>.scope`, CRI-O `crio-<id>.scope`, Docker `docker-<id>.scope` or
/// `/docker/<id>`, cgroupfs `/kubepods/.../<id>`), shortened to 12 digits as Falco shows it.
pub fn container_id_from_cgroup(text: &str) -> Option<String> {
    let mut found = None;
    for line in text.lines() {
        let path = line.splitn(3, ':').nth(2).unwrap_or(line);
        for token in path.split(['/', '-', '.', ':']) {
            if token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
                found = Some(token[..12].to_string());
            }
        }
    }
    found
}

/// Splits an argument area (`argv` joined by NULs) into arguments.
pub fn split_argv(area: &[u8]) -> Vec<String> {
    let area = area.strip_suffix(&[0]).unwrap_or(area);
    if area.is_empty() {
        return Vec::new();
    }
    area.split(|&b| b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect()
}

impl ProcTable {
    /// An empty table over `root` (normally `/proc`).
    pub fn new(root: impl Into<PathBuf>) -> ProcTable {
        ProcTable {
            root: root.into(),
            bundle_dirs: vec![
                PathBuf::from("/run/containerd/io.containerd.runtime.v2.task/k8s.io"),
                PathBuf::from("/run/containerd/io.containerd.runtime.v2.task/moby"),
            ],
            ..ProcTable::default()
        }
    }

    /// Sets where OCI bundles (`<dir>/<full id>/config.json`) are looked for.
    pub fn with_bundle_dirs(mut self, dirs: Vec<PathBuf>) -> ProcTable {
        self.bundle_dirs = dirs;
        self
    }

    /// Sets the source asked first for a container's pod, name and image (the CRI API).
    pub fn with_source(mut self, source: Box<dyn ContainerSource + Send>) -> ProcTable {
        self.source = Some(source);
        self
    }

    /// Loads user names from an `/etc/passwd`-format file.
    pub fn load_users(&mut self, passwd: &Path) {
        if let Ok(text) = std::fs::read_to_string(passwd) {
            for line in text.lines() {
                let mut parts = line.split(':');
                let (Some(name), _, Some(uid)) = (parts.next(), parts.next(), parts.next()) else {
                    continue;
                };
                if let Ok(uid) = uid.parse() {
                    self.users.entry(uid).or_insert_with(|| name.to_string());
                }
            }
        }
    }

    /// The user name of a uid.
    pub fn user_name(&self, uid: u64) -> Option<String> {
        self.users.get(&uid).cloned()
    }

    /// Number of processes known.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no process is known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry of a process.
    pub fn get(&self, pid: u64) -> Option<&Entry> {
        self.entries.get(&pid)
    }

    /// Reads every process of the root.
    pub fn seed(&mut self) {
        let Ok(dir) = std::fs::read_dir(&self.root) else { return };
        for item in dir.flatten() {
            if let Some(pid) = item.file_name().to_str().and_then(|n| n.parse::<u64>().ok()) {
                if let Some(entry) = self.read(pid) {
                    self.entries.insert(pid, entry);
                }
            }
        }
    }

    /// Reads one process from the root; `None` when it is gone.
    pub fn read(&mut self, pid: u64) -> Option<Entry> {
        let dir = self.root.join(pid.to_string());
        let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
        // pid (comm) state ppid pgrp session tty_nr ...: comm may hold spaces and parentheses.
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        let name = stat[open + 1..close].to_string();
        let rest: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let ppid = rest.get(1).and_then(|v| v.parse().ok()).unwrap_or(0);
        let tty = rest.get(4).and_then(|v| v.parse().ok()).unwrap_or(0);
        let argv = split_argv(&std::fs::read(dir.join("cmdline")).unwrap_or_default());
        let exepath =
            std::fs::read_link(dir.join("exe")).map(|p| p.display().to_string()).unwrap_or_default();
        let cwd = std::fs::read_link(dir.join("cwd")).map(|p| p.display().to_string()).unwrap_or_default();
        let mut uid = 0;
        let mut gid = 0;
        if let Ok(status) = std::fs::read_to_string(dir.join("status")) {
            for line in status.lines() {
                if let Some(v) = line.strip_prefix("Uid:") {
                    uid = v.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
                } else if let Some(v) = line.strip_prefix("Gid:") {
                    gid = v.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
                }
            }
        }
        let loginuid = std::fs::read_to_string(dir.join("loginuid"))
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&l| l != u64::from(u32::MAX));
        let container =
            std::fs::read_to_string(dir.join("cgroup")).ok().and_then(|t| container_id_from_cgroup(&t));
        let exe_from_memfd = Some(exepath.starts_with("/memfd:"));
        let mut argv = argv.into_iter();
        let exe = argv.next().unwrap_or_default();
        Some(Entry {
            proc: Process {
                pid,
                tid: pid,
                ppid,
                name,
                exe,
                exepath,
                args: argv.collect(),
                cwd,
                tty,
                uid,
                gid,
                user: self.user_name(uid),
                loginuid,
                loginname: loginuid.and_then(|l| self.user_name(l)),
                exe_from_memfd,
                ..Process::default()
            },
            container,
        })
    }

    /// A fork: the child starts as a copy of the parent.
    pub fn fork(&mut self, parent: u64, child: u64, time_ns: i64) {
        let mut entry = match self.entries.get(&parent) {
            Some(e) => e.clone(),
            None => self.read(child).unwrap_or_default(),
        };
        entry.proc.pid = child;
        entry.proc.tid = child;
        entry.proc.ppid = parent;
        entry.proc.start_ns = time_ns;
        self.insert(child, entry);
    }

    /// An exec: the process runs a new program. `container` is re-read from the cgroup file
    /// when the process is new to the table.
    #[allow(clippy::too_many_arguments)]
    pub fn exec(
        &mut self,
        pid: u64,
        ppid: u64,
        comm: &str,
        filename: &str,
        argv: Vec<String>,
        exe_name: &str,
        uid: u64,
        gid: u64,
        time_ns: i64,
    ) -> &Entry {
        let known = self.entries.get(&pid).cloned();
        let fresh = self.read(pid);
        let mut entry = known.or_else(|| fresh.clone()).unwrap_or_default();
        if let Some(fresh) = &fresh {
            entry.proc.tty = fresh.proc.tty;
            entry.proc.cwd = fresh.proc.cwd.clone();
            entry.proc.loginuid = fresh.proc.loginuid;
            entry.proc.loginname = fresh.proc.loginname.clone();
            entry.container = fresh.container.clone();
        }
        let mut argv = argv.into_iter();
        entry.proc.pid = pid;
        entry.proc.tid = pid;
        entry.proc.ppid = ppid;
        entry.proc.name = comm.to_string();
        entry.proc.exe = argv.next().unwrap_or_else(|| filename.to_string());
        entry.proc.args = argv.collect();
        entry.proc.exepath = if exe_name.starts_with("memfd:") {
            format!("/{exe_name}")
        } else if filename.starts_with('/') || entry.proc.cwd.is_empty() {
            filename.to_string()
        } else {
            format!("{}/{}", entry.proc.cwd.trim_end_matches('/'), filename.trim_start_matches("./"))
        };
        entry.proc.exe_from_memfd = Some(exe_name.starts_with("memfd:"));
        entry.proc.uid = uid;
        entry.proc.gid = gid;
        entry.proc.user = self.user_name(uid);
        if entry.proc.start_ns == 0 {
            entry.proc.start_ns = time_ns;
        }
        self.insert(pid, entry);
        &self.entries[&pid]
    }

    /// A change of working directory (`chdir`, `fchdir`) to `cwd`.
    pub fn chdir(&mut self, pid: u64, cwd: String) {
        if let Some(entry) = self.entries.get_mut(&pid) {
            entry.proc.cwd = cwd;
            // Children's events list this process's cwd among their ancestors.
            self.ancestry.clear();
        }
    }

    /// An exit: the process is forgotten.
    pub fn exit(&mut self, pid: u64) {
        self.entries.remove(&pid);
        self.ancestry.clear();
    }

    fn insert(&mut self, pid: u64, entry: Entry) {
        self.ancestry.clear();
        if self.entries.len() >= MAX_ENTRIES && !self.entries.contains_key(&pid) {
            let root = self.root.clone();
            self.entries.retain(|p, _| root.join(p.to_string()).exists());
            if self.entries.len() >= MAX_ENTRIES {
                // Still full: forget arbitrary entries rather than grow without bound.
                let drop: Vec<u64> = self.entries.keys().take(MAX_ENTRIES / 8).copied().collect();
                for p in drop {
                    self.entries.remove(&p);
                }
            }
        }
        self.entries.insert(pid, entry);
    }

    /// The entry of a process, read from the root when it is not known yet.
    pub fn lookup(&mut self, pid: u64) -> Option<&Entry> {
        if !self.entries.contains_key(&pid) {
            let entry = self.read(pid)?;
            self.insert(pid, entry);
        }
        self.entries.get(&pid)
    }

    /// The ancestors of a process, parent first, at most `limit`, shared between the events
    /// of the process until the table changes (an exec, fork, exit or a process read from
    /// the root): building the list clones every ancestor, which at hundreds of thousands of
    /// events per second was most of the sensor's user-space work.
    pub fn ancestors_shared(&mut self, pid: u64, limit: usize) -> Arc<Vec<Process>> {
        if let Some(found) = self.ancestry.get(&pid) {
            return found.clone();
        }
        let list = Arc::new(self.ancestors(pid, limit));
        // Looking the ancestors up may have read new entries and cleared the cache: fill it
        // after.
        if self.ancestry.len() >= MAX_ENTRIES {
            self.ancestry.clear();
        }
        self.ancestry.insert(pid, list.clone());
        list
    }

    /// The ancestors of a process, parent first, at most `limit`.
    pub fn ancestors(&mut self, pid: u64, limit: usize) -> Vec<Process> {
        let mut out = Vec::new();
        let mut current = self.lookup(pid).map(|e| e.proc.ppid);
        while let Some(ppid) = current {
            if ppid == 0 || out.len() >= limit {
                break;
            }
            let Some(parent) = self.lookup(ppid) else { break };
            let parent = parent.proc.clone();
            current = (parent.ppid != ppid).then_some(parent.ppid);
            out.push(parent);
        }
        out
    }

    /// Container and pod details of a container id: from the source (the CRI API) when it
    /// knows the container, over what the OCI bundle's annotations say (containerd and CRI-O
    /// record the pod there too; the bundle also tells whether the container is privileged).
    /// Cached; a container without a pod yet is asked about again, since the source may learn
    /// of it later (its own negative cache keeps that cheap).
    pub fn container(&mut self, id: &str) -> ContainerInfo {
        let cached = self.containers.get(id);
        if let Some(info) = cached {
            if info.k8s.is_some() || self.source.is_none() {
                return info.clone();
            }
        }
        let mut info = match cached {
            Some(info) => info.clone(),
            None => self.bundle_info(id),
        };
        if let Some(found) = self.source.as_mut().and_then(|s| s.lookup(id)) {
            merge(&mut info, found);
        }
        if self.containers.len() >= MAX_CONTAINERS && !self.containers.contains_key(id) {
            self.containers.clear();
        }
        self.containers.insert(id.to_string(), info.clone());
        info
    }

    fn bundle_info(&self, id: &str) -> ContainerInfo {
        let mut info =
            ContainerInfo { container: Container { id: id.to_string(), ..Container::default() }, k8s: None };
        for dir in &self.bundle_dirs {
            let Ok(items) = std::fs::read_dir(dir) else { continue };
            for item in items.flatten() {
                let name = item.file_name();
                let Some(full) = name.to_str() else { continue };
                if !full.starts_with(id) {
                    continue;
                }
                if let Ok(text) = std::fs::read_to_string(item.path().join("config.json")) {
                    apply_bundle(&mut info, &text);
                }
                return info;
            }
        }
        info
    }
}

/// Lays what a source found over the bundle's details: the source's pod and names win, the
/// bundle's image name (`repo:tag`) stays when the source has only an image id or a digest,
/// and `privileged` (which the CRI list does not carry) stays from the bundle.
fn merge(info: &mut ContainerInfo, found: ContainerInfo) {
    if found.k8s.is_some() {
        info.k8s = found.k8s;
    }
    if found.container.name.is_some() {
        info.container.name = found.container.name;
    }
    let weak =
        found.container.image.as_deref().is_some_and(|i| i.starts_with("sha256:") || i.contains("@sha256:"));
    if found.container.image.is_some() && !(weak && info.container.image.is_some()) {
        info.container.image = found.container.image;
    }
    info.container.start_ns = found.container.start_ns.or(info.container.start_ns);
}

/// Reads the Kubernetes annotations of an OCI `config.json` (containerd's and CRI-O's keys).
pub fn apply_bundle(info: &mut ContainerInfo, config_json: &str) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(config_json) else { return };
    let notes = &value["annotations"];
    let get = |keys: &[&str]| keys.iter().find_map(|k| notes[*k].as_str().map(str::to_string));
    info.container.image = get(&["io.kubernetes.cri.image-name", "io.kubernetes.cri-o.ImageName"]);
    info.container.name = get(&["io.kubernetes.cri.container-name", "io.kubernetes.container.name"]);
    let ns = get(&["io.kubernetes.cri.sandbox-namespace", "io.kubernetes.pod.namespace"]);
    let pod = get(&["io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name"]);
    if ns.is_some() || pod.is_some() {
        info.k8s = Some(K8s {
            ns,
            pod,
            pod_uid: get(&["io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.uid"]),
            container: info.container.name.clone(),
        });
    }
    let caps = value["process"]["capabilities"]["effective"].as_array().map(Vec::len).unwrap_or(0);
    info.container.privileged = Some(caps >= 38);
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn container_ids_from_cgroup_paths() {
        for text in [
            format!(
                "0::/kubepods.slice/kubepods-burstable.slice/kubepods-pod1.slice/cri-containerd-{ID}.scope"
            ),
            format!("0::/system.slice/crio-{ID}.scope"),
            format!("12:memory:/docker/{ID}"),
            format!("0::/kubepods/besteffort/pod1234/{ID}"),
        ] {
            assert_eq!(container_id_from_cgroup(&text).as_deref(), Some("0123456789ab"), "{text}");
        }
        assert_eq!(container_id_from_cgroup("0::/user.slice/user-1000.slice/session-2.scope"), None);
    }

    fn write_proc(root: &Path, pid: u64, ppid: u64, comm: &str, argv: &[&str], cgroup: &str) {
        let dir = root.join(pid.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("stat"), format!("{pid} ({comm}) S {ppid} 1 1 34816 -1 0")).unwrap();
        let mut cmdline = argv.join("\0");
        cmdline.push('\0');
        std::fs::write(dir.join("cmdline"), cmdline).unwrap();
        std::fs::write(dir.join("status"), "Name:\tx\nUid:\t0\t1000\t0\t0\nGid:\t0\t1000\t0\t0\n").unwrap();
        std::fs::write(dir.join("cgroup"), cgroup).unwrap();
        std::fs::write(dir.join("loginuid"), "4294967295").unwrap();
    }

    #[test]
    fn seeded_table_follows_exec_fork_and_exit() {
        let root = tempdir();
        write_proc(&root, 1, 0, "systemd", &["/sbin/init"], "0::/init.scope");
        write_proc(&root, 10, 1, "containerd-shim", &["containerd-shim"], "0::/system.slice");
        write_proc(&root, 20, 10, "bash", &["bash", "-l"], &format!("0::/kubepods/pod1/{ID}"));
        let bundles = root.join("bundles");
        std::fs::create_dir_all(bundles.join(ID)).unwrap();
        std::fs::write(
            bundles.join(ID).join("config.json"),
            r#"{"annotations":{"io.kubernetes.cri.sandbox-name":"web-1","io.kubernetes.cri.sandbox-namespace":"shop",
               "io.kubernetes.cri.image-name":"docker.io/library/nginx:1.27","io.kubernetes.cri.container-name":"web"}}"#,
        )
        .unwrap();
        let mut table = ProcTable::new(&root).with_bundle_dirs(vec![bundles]);
        table.seed();
        assert_eq!(table.len(), 3);
        let bash = table.get(20).unwrap();
        assert_eq!((bash.proc.name.as_str(), bash.proc.tty, bash.proc.uid), ("bash", 34816, 1000));
        assert_eq!(bash.proc.args, ["-l"]);
        assert_eq!(bash.container.as_deref(), Some("0123456789ab"));

        table.fork(20, 21, 5);
        let entry = table.exec(
            21,
            20,
            "cat",
            "/usr/bin/cat",
            vec!["cat".into(), "/etc/shadow".into()],
            "cat",
            0,
            0,
            6,
        );
        assert_eq!(entry.proc.cmdline(), "cat /etc/shadow");
        assert_eq!(entry.proc.exepath, "/usr/bin/cat");
        assert_eq!(entry.container.as_deref(), Some("0123456789ab"), "inherited from the parent");
        let names: Vec<String> = table.ancestors(21, 10).into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["bash", "containerd-shim", "systemd"]);
        let info = table.container("0123456789ab");
        assert_eq!(info.k8s.as_ref().and_then(|k| k.pod.as_deref()), Some("web-1"));
        assert_eq!(info.k8s.as_ref().and_then(|k| k.ns.as_deref()), Some("shop"));
        assert_eq!(info.container.image.as_deref(), Some("docker.io/library/nginx:1.27"));

        let memfd = table.exec(21, 20, "3", "/dev/fd/3", vec![], "memfd:payload", 0, 0, 7);
        assert_eq!(memfd.proc.exe_from_memfd, Some(true));
        assert_eq!(memfd.proc.exepath, "/memfd:payload");
        table.exit(21);
        assert!(table.get(21).is_none());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[derive(Debug)]
    struct Source(Vec<String>, std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl ContainerSource for Source {
        fn lookup(&mut self, id: &str) -> Option<ContainerInfo> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.0.iter().any(|known| known == id).then(|| ContainerInfo {
                container: Container {
                    id: id.into(),
                    name: Some("api".into()),
                    image: Some("registry.local/api@sha256:0123".into()),
                    ..Container::default()
                },
                k8s: Some(K8s { ns: Some("prod".into()), pod: Some("api-7".into()), ..K8s::default() }),
            })
        }
    }

    #[test]
    fn the_source_wins_over_the_bundle_and_is_asked_until_it_knows() {
        let root = tempdir();
        let bundles = root.join("bundles");
        std::fs::create_dir_all(bundles.join(ID)).unwrap();
        std::fs::write(
            bundles.join(ID).join("config.json"),
            r#"{"annotations":{"io.kubernetes.cri.sandbox-name":"old","io.kubernetes.cri.image-name":"registry.local/api:2"},
               "process":{"capabilities":{"effective":["CAP_CHOWN"]}}}"#,
        )
        .unwrap();
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut table = ProcTable::new(&root)
            .with_bundle_dirs(vec![bundles])
            .with_source(Box::new(Source(vec!["0123456789ab".into()], calls.clone())));
        let info = table.container("0123456789ab");
        let k8s = info.k8s.unwrap();
        assert_eq!((k8s.ns.as_deref(), k8s.pod.as_deref()), (Some("prod"), Some("api-7")));
        assert_eq!(info.container.name.as_deref(), Some("api"));
        assert_eq!(info.container.image.as_deref(), Some("registry.local/api:2"), "the tag over a digest");
        assert_eq!(info.container.privileged, Some(false), "from the bundle");
        table.container("0123456789ab");
        assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 1, "attributed: cached");

        let info = table.container("ffffffffffff");
        assert_eq!(info.k8s, None);
        table.container("ffffffffffff");
        assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 3, "no pod yet: asked again");
        std::fs::remove_dir_all(&root).unwrap();
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "kso-sensor-test-{}-{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
