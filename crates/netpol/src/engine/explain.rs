//! Why a connection is allowed or denied (`--explain`), and what each workload is exposed
//! to (`--exposure`).

use serde::Serialize;

use super::*;

/// The reasons for one direction of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectionReasons {
    /// What this direction allows.
    pub allowed: String,
    /// One sentence per policy consulted, in evaluation order.
    pub reasons: Vec<String>,
}

/// Why `src => dst` is allowed (or not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// Source.
    pub src: String,
    /// Destination.
    pub dst: String,
    /// What is allowed end to end (`No Connections` when nothing is).
    pub conns: String,
    /// Egress at the source.
    pub egress: DirectionReasons,
    /// Ingress at the destination.
    pub ingress: DirectionReasons,
}

/// What one workload is exposed to, beyond the other workloads of the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exposure {
    /// The workload.
    pub workload: String,
    /// No policy selects it for ingress.
    #[serde(rename = "ingressUnprotected")]
    pub ingress_unprotected: bool,
    /// No policy selects it for egress.
    #[serde(rename = "egressUnprotected")]
    pub egress_unprotected: bool,
    /// What any pod of the cluster may open to it, whatever its namespace and labels
    /// (`None`: nothing).
    #[serde(rename = "ingressFromEntireCluster", skip_serializing_if = "Option::is_none")]
    pub ingress_from_cluster: Option<String>,
    /// What it may open to any pod of the cluster.
    #[serde(rename = "egressToEntireCluster", skip_serializing_if = "Option::is_none")]
    pub egress_to_cluster: Option<String>,
    /// External address ranges that may reach it, with what.
    #[serde(rename = "ingressFromExternal")]
    pub ingress_from_external: Vec<(String, String)>,
    /// External address ranges it may reach, with what.
    #[serde(rename = "egressToExternal")]
    pub egress_to_external: Vec<(String, String)>,
    /// Pods that rules admit by selector without a workload of the input matching them
    /// (representative peers such as `[all namespaces]/[pod with {app=x}]`) that may open
    /// connections to it, with what (`No Connections` marks an exception to an
    /// entire-cluster exposure).
    #[serde(rename = "ingressFromRepresentatives")]
    pub ingress_from_representatives: Vec<(String, String)>,
    /// Representative peers it may open connections to, with what.
    #[serde(rename = "egressToRepresentatives")]
    pub egress_to_representatives: Vec<(String, String)>,
}

/// The exposure of one equivalence class of workloads.
#[derive(Clone)]
struct ClassExposure {
    ingress_unprotected: bool,
    egress_unprotected: bool,
    from: ConnSet,
    to: ConnSet,
    rep_in: Vec<(String, String)>,
    rep_out: Vec<(String, String)>,
}

/// Compiled policies over a set of resources, for explanations and exposure.
pub(super) struct Session<'a> {
    pub(super) compiled: Compiled<'a>,
    pub(super) res: &'a Resources,
}

impl<'a> Session<'a> {
    pub(super) fn new(res: &'a Resources) -> Session<'a> {
        Session { compiled: compile(res), res }
    }
}

fn direction_name(ingress: bool) -> &'static str {
    if ingress {
        "ingress"
    } else {
        "egress"
    }
}

impl Ctx<'_> {
    fn peer_name(&self, peer: PeerRef<'_>) -> String {
        match peer {
            PeerRef::Ip(ip) => format!("{ip}[External]"),
            PeerRef::Pod(p) => match p.workload {
                Some(w) => w.display(),
                None => "any pod of the cluster".to_string(),
            },
        }
    }

    /// The allowed connections of one direction and the reasons, policy by policy.
    fn explain_direction(
        &self,
        cap: &Capture,
        ingress: bool,
        src: PeerRef<'_>,
        dst: PeerRef<'_>,
        warnings: &Warnings,
    ) -> Result<DirectionReasons, InputError> {
        let dir = direction_name(ingress);
        let (subject, peer) = if ingress { (dst, src) } else { (src, dst) };
        let subject_name = self.peer_name(subject);
        let peer_name = self.peer_name(peer);
        let (anps, nps, banp) = if ingress {
            (&cap.anp_ingress, &cap.np_ingress, cap.banp_ingress)
        } else {
            (&cap.anp_egress, &cap.np_egress, cap.banp_egress)
        };
        let mut reasons = Vec::new();
        if anps.is_empty() && nps.is_empty() && !banp {
            let what = if matches!(subject, PeerRef::Ip(_)) {
                "external endpoints are not subject to policies"
            } else {
                "no policy selects it"
            };
            reasons.push(format!("{dir} of {subject_name}: {what}, so everything is allowed"));
            return Ok(DirectionReasons { allowed: ConnSet::all().to_string(), reasons });
        }
        let matched = self.matched(cap, ingress, peer);
        let hit = |k: usize| matched.bits.get(k / 64).is_some_and(|w| w >> (k % 64) & 1 == 1);
        let mut k = 0;
        let action = |a: Action| match a {
            Action::Allow => "allows",
            Action::Deny => "denies",
            Action::Pass => "passes to NetworkPolicies",
        };
        let admin_reasons =
            |label: String, rules: &[CAdminRule<'_>], k: &mut usize, out: &mut Vec<String>| {
                let mut any = false;
                for r in rules {
                    if hit(*k) {
                        any = true;
                        let conns = self.admin_rule_conns(r.rule, dst, warnings);
                        out.push(format!(
                            "{label} {dir} rule {:?} ({}) {} {conns} with {peer_name}",
                            r.rule.name,
                            r.rule.origin,
                            action(r.rule.action)
                        ));
                    }
                    *k += 1;
                }
                if !any {
                    out.push(format!(
                        "{label} selects {subject_name}; none of its {dir} rules matches {peer_name}"
                    ));
                }
            };
        for &i in anps {
            let p = &self.res.admin_policies[i];
            let rules = if ingress { &self.c.admins[i].ingress } else { &self.c.admins[i].egress };
            admin_reasons(
                format!("AdminNetworkPolicy {:?} (priority {}, {})", p.name, p.priority, p.origin),
                rules,
                &mut k,
                &mut reasons,
            );
        }
        for &i in nps {
            let p = &self.c.policies[i];
            let np = p.policy;
            let rules = if ingress { &p.ingress } else { &p.egress };
            let mut any = false;
            for (n, r) in rules.iter().enumerate() {
                if hit(k) {
                    any = true;
                    let conns = self.np_rule_conns(r.rule, dst, warnings)?;
                    reasons.push(format!(
                        "NetworkPolicy {} {dir} rule #{} ({}) allows {conns} with {peer_name}",
                        np.qualified_name(),
                        n + 1,
                        r.rule.origin
                    ));
                }
                k += 1;
            }
            if !any {
                let why = if rules.is_empty() {
                    format!("has no {dir} rule")
                } else {
                    format!("none of its {dir} rules matches {peer_name}")
                };
                reasons.push(format!(
                    "NetworkPolicy {} ({}) selects {subject_name} and {why}",
                    np.qualified_name(),
                    np.origin
                ));
            }
        }
        if let (Some(b), true) = (&self.c.baseline, banp) {
            let origin = self.res.baseline.as_ref().map(|p| p.origin.to_string()).unwrap_or_default();
            if nps.is_empty() {
                let rules = if ingress { &b.ingress } else { &b.egress };
                admin_reasons(format!("BaselineAdminNetworkPolicy ({origin})"), rules, &mut k, &mut reasons);
            } else {
                reasons.push(format!(
                    "BaselineAdminNetworkPolicy ({origin}) is not consulted: NetworkPolicies select {subject_name}"
                ));
            }
        }
        let allowed = self.eval(cap, ingress, &matched.bits, dst, warnings)?;
        if nps.is_empty() {
            let denying = if banp { "the admin policies and the baseline" } else { "the admin policies" };
            reasons.push(format!(
                "no NetworkPolicy selects {subject_name} for {dir}: what {denying} do not deny is allowed"
            ));
        }
        Ok(DirectionReasons { allowed: allowed.to_string(), reasons })
    }
}

impl Ctx<'_> {
    /// Exposure of a workload: unprotected directions, what any pod of the cluster may do
    /// (`any`), and the representative peers whose connections differ from that: more (a
    /// rule of their own), or less (an admin policy excepts them from a cluster-wide rule;
    /// then even `No Connections` is reported).
    fn class_exposure(
        &self,
        pod: PodRef<'_>,
        any: PeerRef<'_>,
        reps: &[(String, PeerRef<'_>, Capture)],
        warnings: &Warnings,
    ) -> Result<ClassExposure, InputError> {
        let cap = self.capture(pod);
        let pod = PeerRef::Pod(pod);
        let ingress_unprotected =
            cap.np_ingress.is_empty() && cap.anp_ingress.is_empty() && !cap.banp_ingress;
        let egress_unprotected = cap.np_egress.is_empty() && cap.anp_egress.is_empty() && !cap.banp_egress;
        let from = self.xgress(&cap, true, any, pod, warnings)?;
        let to = self.xgress(&cap, false, pod, any, warnings)?;
        let mut rep_in = Vec::new();
        let mut rep_out = Vec::new();
        for (name, rep, rep_cap) in reps {
            if !egress_unprotected {
                let conns = self.pod_network_conns(pod, Some(&cap), *rep, Some(rep_cap), warnings)?;
                if conns != to && !(to.is_empty() && conns.is_empty()) {
                    rep_out.push((name.clone(), conns.to_string()));
                }
            }
            if !ingress_unprotected {
                let conns = self.pod_network_conns(*rep, Some(rep_cap), pod, Some(&cap), warnings)?;
                if conns != from && !(from.is_empty() && conns.is_empty()) {
                    rep_in.push((name.clone(), conns.to_string()));
                }
            }
        }
        rep_in.sort();
        rep_out.sort();
        Ok(ClassExposure { ingress_unprotected, egress_unprotected, from, to, rep_in, rep_out })
    }
}

impl Reachability {
    /// Explains the pod-network connectivity of the given pairs (allowed or not).
    pub fn explain(&self, pairs: &[(Endpoint, Endpoint)]) -> Result<Vec<Explanation>, InputError> {
        let session = Session::new(&self.resources);
        let universe = Universe::build(session.res, &session.compiled.atoms);
        let ctx = Ctx { res: session.res, c: &session.compiled, u: &universe };
        let warnings = Warnings::default();
        let ingress_index = self.resources.workloads.len();
        let peer = |end: Endpoint| match end {
            Endpoint::Workload(w) => PeerRef::Pod(ctx.pod(w)),
            Endpoint::IngressController => PeerRef::Pod(ctx.pod(ingress_index)),
            Endpoint::IpBlock(i) => PeerRef::Ip(&self.ip_blocks[i]),
        };
        let mut out = Vec::new();
        for &(s, d) in pairs {
            let (src, dst) = (peer(s), peer(d));
            let src_cap = src.pod().map(|p| ctx.capture(p));
            let dst_cap = dst.pod().map(|p| ctx.capture(p));
            let open = |ingress: bool| {
                let name = ctx.peer_name(if ingress { dst } else { src });
                DirectionReasons {
                    allowed: ConnSet::all().to_string(),
                    reasons: vec![format!(
                        "{} of {name}: external endpoints are not subject to policies, so everything is allowed",
                        direction_name(ingress)
                    )],
                }
            };
            let egress = match &src_cap {
                Some(cap) => ctx.explain_direction(cap, false, src, dst, &warnings)?,
                None => open(false),
            };
            let ingress = match &dst_cap {
                Some(cap) => ctx.explain_direction(cap, true, src, dst, &warnings)?,
                None => open(true),
            };
            let mut conns = ctx.pod_network_conns(src, src_cap.as_ref(), dst, dst_cap.as_ref(), &warnings)?;
            if let (Some(a), Some(b)) = (src.pod(), dst.pod()) {
                if ctx.primary(a) != ctx.primary(b) {
                    conns = ConnSet::empty();
                }
            }
            out.push(Explanation {
                src: self.endpoint_name(s),
                dst: self.endpoint_name(d),
                conns: conns.to_string(),
                egress,
                ingress,
            });
        }
        Ok(out)
    }

    /// What every workload is exposed to: external ranges, any pod of the cluster, and
    /// the directions no policy protects.
    pub fn exposure(&self) -> Result<Vec<Exposure>, InputError> {
        let session = Session::new(&self.resources);
        let universe = Universe::build(session.res, &session.compiled.atoms);
        let ctx = Ctx { res: session.res, c: &session.compiled, u: &universe };
        let warnings = Warnings::default();
        // "Any pod of the cluster": a pod only the selectors that match every pod in every
        // namespace are sure to select.
        let mut any_pod = vec![0u64; universe.words];
        for (i, p) in session.compiled.atoms.list.iter().enumerate() {
            let every_ns = matches!(&p.namespaces, NsCondition::Selector(s) if s.is_empty());
            let every_pod = p.pods.as_ref().is_none_or(Selector::is_empty);
            if every_ns && every_pod && !p.exclude_vms {
                any_pod[i / 64] |= 1 << (i % 64);
            }
        }
        let any = PeerRef::Pod(PodRef { bits: &any_pod, workload: None, representative: true });
        let mut external_in: BTreeMap<usize, Vec<(String, String)>> = BTreeMap::new();
        let mut external_out: BTreeMap<usize, Vec<(String, String)>> = BTreeMap::new();
        for c in self.connections() {
            match (c.src, c.dst) {
                (Endpoint::IpBlock(_), Endpoint::Workload(w)) => {
                    external_in.entry(w).or_default().push((self.endpoint_name(c.src), c.conns.to_string()))
                }
                (Endpoint::Workload(w), Endpoint::IpBlock(_)) => {
                    external_out.entry(w).or_default().push((self.endpoint_name(c.dst), c.conns.to_string()))
                }
                _ => {}
            }
        }
        // Representative peers: never selected by NetworkPolicies, but admin policies may
        // select them.
        let reps = representative::representatives(session.res);
        let rep_bits: Vec<Vec<u64>> =
            reps.iter().map(|r| r.bits(&session.compiled.atoms, universe.words)).collect();
        let rep_peers: Vec<(String, PeerRef<'_>, Capture)> = reps
            .iter()
            .zip(&rep_bits)
            .map(|(r, bits)| {
                let pod = PodRef { bits, workload: None, representative: true };
                let mut cap = ctx.capture(pod);
                cap.np_ingress.clear();
                cap.np_egress.clear();
                (r.display(), PeerRef::Pod(pod), cap)
            })
            .collect();
        // Members of one equivalence class are exposed alike: computed once per class.
        let mut class_of = vec![0usize; self.resources.workloads.len()];
        for (c, members) in self.classes.iter().enumerate() {
            for &w in members {
                class_of[w] = c;
            }
        }
        let mut per_class: HashMap<usize, ClassExposure> = HashMap::new();
        let mut out = Vec::new();
        for (i, w) in self.resources.workloads.iter().enumerate() {
            let e = match per_class.entry(class_of[i]) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(ctx.class_exposure(ctx.pod(i), any, &rep_peers, &warnings)?)
                }
            };
            let ClassExposure { ingress_unprotected, egress_unprotected, from, to, rep_in, rep_out } =
                e.clone();
            let mut ins = external_in.remove(&i).unwrap_or_default();
            let mut outs = external_out.remove(&i).unwrap_or_default();
            // Only workloads with an exposure are listed (with their external ranges).
            let exposed = ingress_unprotected
                || egress_unprotected
                || !from.is_empty()
                || !to.is_empty()
                || !rep_in.is_empty()
                || !rep_out.is_empty();
            if !exposed {
                continue;
            }
            ins.sort();
            outs.sort();
            out.push(Exposure {
                workload: w.display(),
                ingress_unprotected,
                egress_unprotected,
                ingress_from_cluster: (!from.is_empty()).then(|| from.to_string()),
                egress_to_cluster: (!to.is_empty()).then(|| to.to_string()),
                ingress_from_external: ins,
                egress_to_external: outs,
                ingress_from_representatives: rep_in,
                egress_to_representatives: rep_out,
            });
        }
        out.sort_by(|a, b| a.workload.cmp(&b.workload));
        Ok(out)
    }
}
