//! The ring-buffer record of `src/bpf/sensor.bpf.c` (`struct event`), decoded.

/// Maximum string length of `s0`/`s1`.
pub const STR_MAX: usize = 256;
/// Maximum bytes of the argument area.
pub const ARGV_MAX: usize = 512;
/// Size of one record.
pub const RECORD_SIZE: usize = 4 * 6 + 8 * 3 + 8 * 6 + 16 + 8 + 4 * 4 + STR_MAX * 2 + ARGV_MAX;

/// What a record reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A syscall returned.
    Syscall,
    /// A program was started (`id` 59, `s0` the file name, `s1` the executable's name).
    Exec,
    /// A process forked (`ppid` the parent, `id` the child).
    Fork,
    /// A process ended.
    Exit,
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// What it reports.
    pub kind: Kind,
    /// Process id (thread group).
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Syscall number (x86_64), or the child pid of a fork.
    pub id: i64,
    /// Return value.
    pub ret: i64,
    /// Monotonic time, nanoseconds.
    pub ts: u64,
    /// Raw syscall arguments.
    pub args: [u64; 6],
    /// `comm`.
    pub comm: String,
    /// The id of the process's cgroup v2 (the inode of its directory); `0` or the root's on
    /// hosts without a cgroup v2 hierarchy.
    pub cgroup: u64,
    /// First string (path, name) or raw bytes (a sockaddr).
    pub s0: Vec<u8>,
    /// Second string.
    pub s1: Vec<u8>,
    /// The argument area of an exec (`argv` joined by NULs).
    pub argv: Vec<u8>,
}

/// Why a record cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Shorter than a record.
    #[error("record of {0} bytes, expected {RECORD_SIZE}")]
    Short(usize),
    /// Unknown kind.
    #[error("unknown record kind {0}")]
    Kind(u32),
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Bytes up to the first NUL, at most `len` of them (`len` counts the NUL of kernel strings).
fn c_bytes(b: &[u8], len: usize) -> Vec<u8> {
    let b = &b[..len.min(b.len())];
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    b[..end].to_vec()
}

impl Record {
    /// Decodes a ring-buffer record.
    pub fn decode(b: &[u8]) -> Result<Record, RecordError> {
        if b.len() < RECORD_SIZE {
            return Err(RecordError::Short(b.len()));
        }
        let kind = match u32_at(b, 0) {
            1 => Kind::Syscall,
            2 => Kind::Exec,
            3 => Kind::Fork,
            4 => Kind::Exit,
            other => return Err(RecordError::Kind(other)),
        };
        let mut args = [0u64; 6];
        for (i, arg) in args.iter_mut().enumerate() {
            *arg = u64_at(b, 48 + 8 * i);
        }
        let comm = String::from_utf8_lossy(&c_bytes(&b[96..112], 16)).into_owned();
        let cgroup = u64_at(b, 112);
        let len0 = u32_at(b, 120) as usize;
        let len1 = u32_at(b, 124) as usize;
        let argv_len = (u32_at(b, 128) as usize).min(ARGV_MAX);
        let s0_at = 136;
        let s1_at = s0_at + STR_MAX;
        let argv_at = s1_at + STR_MAX;
        let s0 = if kind == Kind::Syscall && len0 == 28 && !b[s0_at..s0_at + 2].iter().all(|&c| c == 0) {
            // A sockaddr is binary: keep all of it.
            b[s0_at..s0_at + 28].to_vec()
        } else {
            c_bytes(&b[s0_at..s1_at], len0)
        };
        Ok(Record {
            kind,
            pid: u32_at(b, 4),
            tid: u32_at(b, 8),
            ppid: u32_at(b, 12),
            uid: u32_at(b, 16),
            gid: u32_at(b, 20),
            id: u64_at(b, 24) as i64,
            ret: u64_at(b, 32) as i64,
            ts: u64_at(b, 40),
            args,
            comm,
            cgroup,
            s0,
            s1: c_bytes(&b[s1_at..argv_at], len1),
            argv: b[argv_at..argv_at + argv_len].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_record_laid_out_as_the_c_struct() {
        let mut b = vec![0u8; RECORD_SIZE];
        b[0..4].copy_from_slice(&1u32.to_ne_bytes());
        b[4..8].copy_from_slice(&42u32.to_ne_bytes());
        b[24..32].copy_from_slice(&257i64.to_ne_bytes());
        b[32..40].copy_from_slice(&(-2i64).to_ne_bytes());
        b[56..64].copy_from_slice(&0x1234u64.to_ne_bytes());
        b[96..99].copy_from_slice(b"cat");
        b[112..120].copy_from_slice(&7777u64.to_ne_bytes());
        b[120..124].copy_from_slice(&12u32.to_ne_bytes());
        b[136..147].copy_from_slice(b"/etc/shadow");
        let r = Record::decode(&b).unwrap();
        assert_eq!((r.kind, r.pid, r.id, r.ret), (Kind::Syscall, 42, 257, -2));
        assert_eq!(r.args[1], 0x1234);
        assert_eq!((r.comm.as_str(), r.cgroup), ("cat", 7777));
        assert_eq!(r.s0, b"/etc/shadow");
        assert!(r.s1.is_empty() && r.argv.is_empty());
        assert_eq!(Record::decode(&b[..10]), Err(RecordError::Short(10)));
        b[0] = 9;
        assert_eq!(Record::decode(&b), Err(RecordError::Kind(9)));
    }
}
