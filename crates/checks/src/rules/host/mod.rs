//! Host access rules (`KSO-H`): host namespaces, host ports, `hostPath` volumes and
//! node-side requests.

use crate::rule::{Check, RuleDef};

pub mod bidirectional_mount_propagation;
pub mod host_device_mount;
pub mod host_ipc;
pub mod host_network;
pub mod host_path_volume;
pub mod host_paths;
pub mod host_pid;
pub mod host_port;
pub mod host_proc_mount;
pub mod host_root_filesystem;
pub mod probe_targets_other_host;
pub mod runtime_socket_mount;
pub mod sensitive_host_path;
pub mod writable_host_path;

macro_rules! rules {
    ($($module:ident),* $(,)?) => {
        &[$(RuleDef { meta: &$module::META, check: Check::Object($module::check) }),*]
    };
}

/// The rules of this family, in id order.
pub static RULES: &[RuleDef] = rules![
    host_network,                    // KSO-H001
    host_pid,                        // KSO-H002
    host_ipc,                        // KSO-H003
    host_port,                       // KSO-H004
    host_path_volume,                // KSO-H005
    runtime_socket_mount,            // KSO-H006
    sensitive_host_path,             // KSO-H007
    writable_host_path,              // KSO-H008
    host_proc_mount,                 // KSO-H009
    bidirectional_mount_propagation, // KSO-H010
    probe_targets_other_host,        // KSO-H011
    host_device_mount,               // KSO-H012
    host_root_filesystem,            // KSO-H013
];

#[cfg(test)]
mod tests {
    #[test]
    fn rules_are_listed_in_id_order() {
        let ids: Vec<&str> = super::RULES.iter().map(|r| r.meta.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted);
        assert!(ids.iter().all(|id| id.starts_with("KSO-H")));
    }
}
