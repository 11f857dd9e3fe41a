//! `procMount_restricted`: the default /proc masking, user namespace or not.

use crate::declare_rule;
use crate::pss::checks::proc_mount;
use crate::pss::registry::{CheckDef, Since};
use crate::pss::Level;

declare_rule! {
    /// ## What it checks
    /// The Pod Security Standards check `procMount_restricted` (restricted level, from
    /// v1.35, in place of `procMount`): `securityContext.procMount` of every container must
    /// be unset or `Default`, also for pods with `hostUsers: false`, which the baseline
    /// `procMount` check lets through from v1.35.
    ///
    /// ## Why it matters
    /// An unmasked `/proc` exposes kernel interfaces that the runtime hides from
    /// containers. A user namespace reduces what they can be used for; the restricted level
    /// still does not accept the wider exposure.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hostUsers: false
    ///   containers:
    ///   - name: builder
    ///     securityContext:
    ///       procMount: Unmasked   # reported at the restricted level
    /// ```
    ///
    /// ## Fix
    /// Remove `procMount`; keep nested-container builders in a namespace enforcing baseline.
    ///
    /// ## References
    /// - Kubernetes documentation, Pod Security Standards, restricted
    /// - kubernetes/pod-security-admission, check `procMount_restricted`
    pub static META = {
        id: "KSO-PSS-procMount_restricted",
        title: "Pod Security Standards: unmasked /proc (restricted)",
        severity: Medium,
        category: PodSecurity,
        aliases: [],
        frameworks: [Pss("restricted:procMount_restricted")],
    };
}

/// The check's id in the admission controller.
pub const ID: &str = "procMount_restricted";

pub(crate) static CHECK: CheckDef = CheckDef {
    id: ID,
    level: Level::Restricted,
    meta: &META,
    versions: &[Since { minor: 35, run: proc_mount::default_only, overrides: &[proc_mount::ID] }],
};
