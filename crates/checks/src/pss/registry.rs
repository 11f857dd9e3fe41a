//! Which checks apply at a level and version.
//!
//! Like the admission controller: a check runs from the first version of its first
//! variant; at a given version the newest variant not newer than it runs; the restricted
//! level runs every baseline check except those an active restricted variant replaces.
//! Baseline checks come first, then restricted ones, each group ordered by id.

use std::sync::LazyLock;

use kubesecops_core::RuleMeta;

use super::checks::*;
use super::pod::{Pod, Sink};
use super::{Level, Version};

/// A check function: inspects a pod and reports its violations.
pub(crate) type CheckFn = fn(&Pod<'_>, &mut Sink<'_>);

/// One behaviour of a check, in force from policy version `v1.minor` until the next one.
pub(crate) struct Since {
    /// First minor version of this behaviour.
    pub minor: u32,
    /// The behaviour.
    pub run: CheckFn,
    /// Baseline check ids this (restricted) behaviour replaces at the restricted level.
    pub overrides: &'static [&'static str],
}

/// An admission check.
pub(crate) struct CheckDef {
    /// The admission's check id (`hostNamespaces`).
    pub id: &'static str,
    /// Baseline or restricted.
    pub level: Level,
    /// Title, severity and documentation for findings.
    pub meta: &'static RuleMeta,
    /// Behaviours, oldest first.
    pub versions: &'static [Since],
}

impl CheckDef {
    /// The behaviour in force at `v1.minor`, if the check exists then.
    pub fn at(&self, minor: u32) -> Option<&'static Since> {
        self.versions.iter().rev().find(|since| since.minor <= minor)
    }
}

/// Every check: baseline ones, then restricted ones, each group sorted by id byte-wise.
pub(crate) static CHECKS: [&CheckDef; 19] = [
    &app_armor_profile::CHECK,
    &capabilities_baseline::CHECK,
    &host_namespaces::CHECK,
    &host_path_volumes::CHECK,
    &host_ports::CHECK,
    &host_probes_and_host_lifecycle::CHECK,
    &privileged::CHECK,
    &proc_mount::CHECK,
    &se_linux_options::CHECK,
    &seccomp_profile_baseline::CHECK,
    &sysctls::CHECK,
    &windows_host_process::CHECK,
    &allow_privilege_escalation::CHECK,
    &capabilities_restricted::CHECK,
    &proc_mount_restricted::CHECK,
    &restricted_volumes::CHECK,
    &run_as_non_root::CHECK,
    &run_as_user::CHECK,
    &seccomp_profile_restricted::CHECK,
];

/// The metadata of every check, in [`CHECKS`] order.
pub(crate) static METAS: LazyLock<Vec<&'static RuleMeta>> =
    LazyLock::new(|| CHECKS.iter().map(|c| c.meta).collect());

/// The checks (and their behaviour) that run at `level` and `version`, in report order.
pub(crate) fn active(level: Level, version: Version) -> Vec<(&'static CheckDef, &'static Since)> {
    if level == Level::Privileged {
        return Vec::new();
    }
    let minor = version.effective_minor();
    let in_force = |wanted: Level| {
        CHECKS.iter().filter(move |c| c.level == wanted).filter_map(move |c| Some((*c, c.at(minor)?)))
    };
    if level == Level::Baseline {
        return in_force(Level::Baseline).collect();
    }
    let restricted: Vec<_> = in_force(Level::Restricted).collect();
    let replaced = |id: &str| restricted.iter().any(|(_, since)| since.overrides.contains(&id));
    let mut checks: Vec<_> = in_force(Level::Baseline).filter(|(c, _)| !replaced(c.id)).collect();
    checks.extend(restricted.iter().copied());
    checks
}
