//! Container attribution by cgroup id: every record carries the id of its process's cgroup
//! v2 (`bpf_get_current_cgroup_id`, the inode number of the cgroup's directory), which names
//! the container even when the process has already exited by the time user space reads the
//! record (a `kubectl exec` of a short command is gone within a millisecond; its
//! `/proc/PID/cgroup` with it).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::procs::container_id_from_cgroup;

/// Directories walked at most per scan (a bound on the work a scan may do).
const MAX_DIRS: usize = 200_000;
/// Scans at most this often: an id no scan knows is looked up again only after it.
const MIN_RESCAN: Duration = Duration::from_millis(200);

/// Cgroup ids and the container each one belongs to, from the cgroup v2 hierarchy.
#[derive(Debug, Default)]
pub struct CgroupMap {
    root: Option<PathBuf>,
    searched_root: bool,
    ids: HashMap<u64, Option<String>>,
    last_scan: Option<Instant>,
}

impl CgroupMap {
    /// A map over the cgroup v2 hierarchy mounted at `root` (tests use a directory of their
    /// own); without it, the mount is found in `/proc/self/mountinfo` on first use.
    pub fn at(root: impl Into<PathBuf>) -> CgroupMap {
        CgroupMap { root: Some(root.into()), searched_root: true, ..CgroupMap::default() }
    }

    /// The container of a cgroup id: `Some(Some(id))` in a container, `Some(None)` on the
    /// host, `None` when the id is unknown (no cgroup v2, or a cgroup already removed).
    pub fn lookup(&mut self, cgroup: u64) -> Option<Option<String>> {
        if cgroup == 0 {
            return None;
        }
        if let Some(found) = self.ids.get(&cgroup) {
            return Some(found.clone());
        }
        if self.last_scan.is_some_and(|t| t.elapsed() < MIN_RESCAN) {
            return None;
        }
        self.scan();
        self.ids.get(&cgroup).cloned()
    }

    /// Walks the hierarchy again, recording every directory's id and container.
    fn scan(&mut self) {
        self.last_scan = Some(Instant::now());
        if !self.searched_root {
            self.searched_root = true;
            self.root = std::fs::read_to_string("/proc/self/mountinfo").ok().and_then(|t| cgroup2_mount(&t));
        }
        let Some(root) = self.root.clone() else { return };
        // Ids of removed cgroups are not kept: the map stays as large as the hierarchy.
        self.ids.clear();
        let mut stack = vec![root.clone()];
        let mut seen = 0;
        while let Some(dir) = stack.pop() {
            seen += 1;
            if seen > MAX_DIRS {
                break;
            }
            let Ok(meta) = std::fs::metadata(&dir) else { continue };
            let relative = dir.strip_prefix(&root).unwrap_or(Path::new(""));
            let container = container_id_from_cgroup(&format!("0::/{}", relative.display()));
            self.ids.insert(meta.ino(), container);
            let Ok(items) = std::fs::read_dir(&dir) else { continue };
            for item in items.flatten() {
                if item.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(item.path());
                }
            }
        }
    }
}

/// The mount point of the cgroup v2 hierarchy in a `mountinfo` text.
pub fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (mount, fs) = line.split_once(" - ")?;
        if fs.split_whitespace().next() != Some("cgroup2") {
            return None;
        }
        mount.split_whitespace().nth(4).map(PathBuf::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4a8ff641d6080dd39193b4a8237c68a38b60cc82d33fac45030116f4e65b1048";

    #[test]
    fn ids_map_to_containers_after_a_scan() {
        let root = tempfile::tempdir().unwrap();
        let pod = root.path().join("kubepods/besteffort/pod1234");
        std::fs::create_dir_all(pod.join(ID)).unwrap();
        std::fs::create_dir_all(root.path().join("system.slice/ssh.service")).unwrap();
        let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
        let mut map = CgroupMap::at(root.path());
        assert_eq!(map.lookup(ino(&pod.join(ID))), Some(Some("4a8ff641d608".to_string())));
        assert_eq!(map.lookup(ino(&root.path().join("system.slice/ssh.service"))), Some(None));
        assert_eq!(map.lookup(0), None);
        // A container created after the scan is found by the next one (after MIN_RESCAN).
        let later = pod.join(ID.replace('4', "5"));
        std::fs::create_dir_all(&later).unwrap();
        std::thread::sleep(MIN_RESCAN);
        assert_eq!(map.lookup(ino(&later)), Some(Some("5a8ff651d608".to_string())));
    }

    #[test]
    fn the_cgroup2_mount_is_read_from_mountinfo() {
        let text = "24 30 0:22 / /sys rw - sysfs sysfs rw\n\
                    35 25 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(cgroup2_mount(text), Some(PathBuf::from("/sys/fs/cgroup/unified")));
        assert_eq!(cgroup2_mount("24 30 0:22 / /sys rw - sysfs sysfs rw\n"), None);
    }
}
