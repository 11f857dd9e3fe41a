//! The node being benchmarked: its running processes and its files, either the live node
//! (`/proc/*/cmdline`, `/`) or an offline copy (`--root DIR` plus a `ps` listing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::controls::read;
use crate::BenchError;

/// A running process: its pid (unknown in an offline listing) and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// Process id, when read from `/proc`.
    pub pid: Option<u32>,
    /// `argv`, the program first.
    pub args: Vec<String>,
}

impl Process {
    /// The arguments joined with spaces (what `ps -o cmd` shows).
    pub fn command_line(&self) -> String {
        self.args.join(" ")
    }

    /// True when the program (`argv[0]`, any directory) is `bin`; a multi-word `bin` such
    /// as `hyperkube kubelet` must match the first words.
    pub fn runs(&self, bin: &str) -> bool {
        let words: Vec<&str> = bin.trim_matches(['\'', '"']).split_whitespace().collect();
        let Some((first, more)) = words.split_first() else { return false };
        let Some(program) = self.args.first() else { return false };
        let base = program.rsplit('/').next().unwrap_or(program);
        base == *first && more.iter().enumerate().all(|(i, w)| self.args.get(i + 1).is_some_and(|a| a == w))
    }
}

/// What the benchmark looks at.
#[derive(Debug, Clone)]
pub struct NodeView {
    /// Root of the node's filesystem (`/` on the live node).
    pub root: PathBuf,
    /// Running processes.
    pub processes: Vec<Process>,
    /// The `ps` listing of an offline copy, for audit commands that run `ps`.
    pub ps_file: Option<PathBuf>,
}

impl NodeView {
    /// The live node: processes from `/proc/*/cmdline` (kernel threads, with an empty
    /// command line, are left out).
    pub fn live() -> NodeView {
        let mut processes = Vec::new();
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                    continue;
                };
                // Processes may exit while we read; that is not an error.
                let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else { continue };
                let args: Vec<String> = raw
                    .split(|&b| b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                if !args.is_empty() {
                    processes.push(Process { pid: Some(pid), args });
                }
            }
        }
        processes.sort_by_key(|p| p.pid);
        NodeView { root: PathBuf::from("/"), processes, ps_file: None }
    }

    /// An offline copy: files under `root`, processes from `ps_file` (`ps -ef` output with
    /// its header, `ps -eo args` output, or one command line per line).
    pub fn offline(root: &Path, ps_file: &Path) -> Result<NodeView, BenchError> {
        let text = read(ps_file)?;
        Ok(NodeView {
            root: root.to_path_buf(),
            processes: parse_ps(&text),
            ps_file: Some(ps_file.to_path_buf()),
        })
    }

    /// A path of the node as seen from here (under `--root` for an offline copy).
    pub fn host_path(&self, path: &str) -> PathBuf {
        if self.root == Path::new("/") {
            return PathBuf::from(path);
        }
        self.root.join(path.trim_start_matches('/'))
    }

    /// The first process running one of `bins` (candidates in order of preference).
    pub fn find<'b>(&self, bins: &[&'b str]) -> Option<(&'b str, &Process)> {
        bins.iter().find_map(|bin| self.processes.iter().find(|p| p.runs(bin)).map(|p| (*bin, p)))
    }

    /// Reads a node file as text.
    pub fn read(&self, path: &str) -> Result<String, BenchError> {
        read(&self.host_path(path))
    }
}

/// Parses a `ps` listing. With a `UID PID ...` header (`ps -ef`), the command starts at the
/// 8th column; otherwise every line is a command line.
pub fn parse_ps(text: &str) -> Vec<Process> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty()).peekable();
    let header = lines.peek().map(|l| l.split_whitespace().collect::<Vec<_>>());
    let skip = match header.as_deref() {
        Some(["UID", "PID", "PPID", ..]) => {
            lines.next();
            7
        }
        Some([first, ..]) if ["CMD", "COMMAND", "ARGS"].contains(first) => {
            lines.next();
            0
        }
        _ => 0,
    };
    lines
        .map(|l| Process { pid: None, args: l.split_whitespace().skip(skip).map(str::to_string).collect() })
        .filter(|p| !p.args.is_empty())
        .collect()
}

/// Go `pflag` boolean flags that matter here: a bare `--flag` means `true`, and the next
/// word is never their value.
const BOOL_FLAGS: &[&str] = &[
    "anonymous-auth",
    "profiling",
    "client-cert-auth",
    "peer-client-cert-auth",
    "auto-tls",
    "peer-auto-tls",
    "rotate-certificates",
    "protect-kernel-defaults",
    "allow-privileged",
    "leader-elect",
    "use-service-account-credentials",
    "enable-debugging-handlers",
    "fail-swap-on",
];

/// A process's flags, `--name=value` and `--name value`; a later flag overrides an earlier
/// one, as Go's flag parsing does.
pub fn parse_flags(args: &[String]) -> BTreeMap<String, String> {
    let mut flags = BTreeMap::new();
    let mut i = 1;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let Some(body) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else { continue };
        if let Some((name, value)) = body.split_once('=') {
            flags.insert(name.to_string(), value.to_string());
        } else if BOOL_FLAGS.contains(&body) {
            flags.insert(body.to_string(), "true".to_string());
        } else if let Some(next) = args.get(i).filter(|n| !n.starts_with('-')) {
            flags.insert(body.to_string(), next.clone());
            i += 1;
        } else {
            flags.insert(body.to_string(), "true".to_string());
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn ps_listing_formats() {
        let ef = "UID PID PPID C STIME TTY TIME CMD\nroot 10 1 0 10:00 ? 00:00:01 /usr/bin/kubelet --config=/c.yaml\n";
        let p = parse_ps(ef);
        assert_eq!(p[0].args, args("/usr/bin/kubelet --config=/c.yaml"));
        assert_eq!(parse_ps("kube-apiserver --a=1\n\netcd\n").len(), 2);
    }

    #[test]
    fn programs_match_by_name_not_substring() {
        let p = Process { pid: None, args: args("/opt/bin/kube-apiserver --x") };
        assert!(p.runs("kube-apiserver"));
        assert!(!p.runs("apiserver"));
        let h = Process { pid: None, args: args("hyperkube kubelet --y") };
        assert!(h.runs("hyperkube kubelet") && !h.runs("hyperkube apiserver"));
    }

    #[test]
    fn flags_with_both_spellings() {
        let f = parse_flags(&args("etcd --cert-file /a.crt --client-cert-auth --name=x --profiling=false"));
        assert_eq!(f["cert-file"], "/a.crt");
        assert_eq!(f["client-cert-auth"], "true");
        assert_eq!(f["profiling"], "false");
    }
}
