//! Container and pod security-context rules (`KSO-C`).

use crate::rule::{Check, RuleDef};

pub mod apparmor_unconfined;
pub mod capabilities_added;
pub mod capabilities_not_dropped;
pub mod capability_sets;
pub mod container_security_context_missing;
pub mod dangerous_capabilities;
pub mod linux_hardening_missing;
pub mod low_group_id;
pub mod low_user_id;
pub mod net_raw_not_dropped;
pub mod non_baseline_capabilities;
pub mod pod_security_context_missing;
pub mod privilege_escalation;
pub mod privileged;
pub mod profile_settings;
pub mod restricted_volume_types;
pub mod root_supplemental_group;
pub mod run_as_non_root;
pub mod run_as_root_group;
pub mod run_as_root_user;
pub mod seccomp_not_set;
pub mod seccomp_unconfined;
pub mod selinux_custom_options;
pub mod service_account_token_automount;
pub mod shared_process_namespace;
pub mod sys_admin_capability;
pub mod unmasked_proc_mount;
pub mod unsafe_sysctls;
pub mod windows_container_administrator;
pub mod windows_host_process;
pub mod writable_root_filesystem;

macro_rules! rules {
    ($($module:ident),* $(,)?) => {
        &[$(RuleDef { meta: &$module::META, check: Check::Object($module::check) }),*]
    };
}

/// The rules of this family, in id order.
pub static RULES: &[RuleDef] = rules![
    privileged,                         // KSO-C001
    privilege_escalation,               // KSO-C002
    run_as_non_root,                    // KSO-C003
    run_as_root_user,                   // KSO-C004
    run_as_root_group,                  // KSO-C005
    root_supplemental_group,            // KSO-C006
    low_user_id,                        // KSO-C007
    low_group_id,                       // KSO-C008
    capabilities_added,                 // KSO-C009
    sys_admin_capability,               // KSO-C010
    dangerous_capabilities,             // KSO-C011
    non_baseline_capabilities,          // KSO-C012
    capabilities_not_dropped,           // KSO-C013
    net_raw_not_dropped,                // KSO-C014
    writable_root_filesystem,           // KSO-C015
    seccomp_not_set,                    // KSO-C016
    seccomp_unconfined,                 // KSO-C017
    apparmor_unconfined,                // KSO-C018
    selinux_custom_options,             // KSO-C019
    unsafe_sysctls,                     // KSO-C020
    unmasked_proc_mount,                // KSO-C021
    shared_process_namespace,           // KSO-C022
    service_account_token_automount,    // KSO-C023
    windows_host_process,               // KSO-C024
    windows_container_administrator,    // KSO-C025
    restricted_volume_types,            // KSO-C026
    pod_security_context_missing,       // KSO-C027
    container_security_context_missing, // KSO-C028
    linux_hardening_missing,            // KSO-C029
];

#[cfg(test)]
mod tests {
    #[test]
    fn rules_are_listed_in_id_order() {
        let ids: Vec<&str> = super::RULES.iter().map(|r| r.meta.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted);
        assert!(ids.iter().all(|id| id.starts_with("KSO-C")));
    }
}
