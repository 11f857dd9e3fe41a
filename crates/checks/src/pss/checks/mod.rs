//! One module per admission check: its documentation ([`kubesecops_core::RuleMeta`]), the
//! versions at which its behaviour changed, and the checks it replaces.

pub(crate) mod allow_privilege_escalation;
pub(crate) mod app_armor_profile;
pub(crate) mod capabilities_baseline;
pub(crate) mod capabilities_restricted;
pub(crate) mod host_namespaces;
pub(crate) mod host_path_volumes;
pub(crate) mod host_ports;
pub(crate) mod host_probes_and_host_lifecycle;
pub(crate) mod privileged;
pub(crate) mod proc_mount;
pub(crate) mod proc_mount_restricted;
pub(crate) mod restricted_volumes;
pub(crate) mod run_as_non_root;
pub(crate) mod run_as_user;
pub(crate) mod se_linux_options;
pub(crate) mod seccomp_profile_baseline;
pub(crate) mod seccomp_profile_restricted;
pub(crate) mod sysctls;
pub(crate) mod windows_host_process;
