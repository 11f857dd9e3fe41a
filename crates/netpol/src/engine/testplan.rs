//! Test plans: probe cases (source, destination, protocol, port, expected verdict) that
//! exercise every policy rule and every default-deny policy, chosen from the computed
//! reachability so that running them in a cluster proves it.

use std::fmt::Write as _;

use serde::Serialize;

use super::explain::Session;
use super::*;

/// The verdict a probe expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Expected {
    /// The connection must succeed.
    Allowed,
    /// The connection must fail.
    Denied,
}

/// One probe case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// Source endpoint (`ns/name[Kind]` or an external range).
    pub src: String,
    /// Destination endpoint.
    pub dst: String,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// Destination port.
    pub port: u16,
    /// What must happen.
    pub expected: Expected,
    /// The rules and default denies this probe exercises.
    pub covers: Vec<String>,
}

/// A test plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TestPlan {
    /// The probes, sorted by source, destination, protocol, port.
    pub probes: Vec<Probe>,
    /// Rules no probe can exercise, and why (selecting no endpoint, blocked at the other
    /// end or by a higher layer, or a named port no destination defines).
    pub uncovered: Vec<String>,
}

/// A peer of the plan: a class of workloads (by its first member) or an address block.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PlanEnd {
    Workload(usize),
    Ip(usize),
}

/// What a rule does to the connections it matches.
enum Effect {
    Allow,
    Deny,
    /// Admin `Pass`: the verdict is whatever the lower layers give.
    Delegate,
}

/// A rule's connections towards a destination.
type RuleConns<'r> = Box<dyn Fn(PeerRef<'_>) -> Result<ConnSet, InputError> + 'r>;

/// Ports tried for denied probes, in order, before any other port.
const COMMON_PORTS: [u16; 6] = [80, 443, 8080, 22, 53, 5432];

/// A port of `set` to probe: TCP first (a common port when the set has one), then the
/// lowest port.
fn pick(set: &ConnSet) -> Option<(Protocol, u16)> {
    let tcp = set.ports(Protocol::Tcp);
    if let Some(&p) = COMMON_PORTS.iter().find(|&&p| tcp.contains(p)) {
        return Some((Protocol::Tcp, p));
    }
    [Protocol::Tcp, Protocol::Udp, Protocol::Sctp]
        .into_iter()
        .find_map(|p| set.ports(p).ranges().first().map(|&(a, _)| (p, a)))
}

/// A TCP port (a common one when possible) that `allowed` does not allow.
fn pick_denied(allowed: &ConnSet) -> Option<(Protocol, u16)> {
    let tcp = allowed.ports(Protocol::Tcp);
    if let Some(&p) = COMMON_PORTS.iter().find(|&&p| !tcp.contains(p)) {
        return Some((Protocol::Tcp, p));
    }
    pick(&ConnSet::all().subtract(allowed))
}

impl Reachability {
    /// Chooses probes covering every NetworkPolicy and admin-policy rule and every
    /// default-deny NetworkPolicy (one that isolates pods in a direction without rules).
    pub fn test_plan(&self) -> Result<TestPlan, InputError> {
        let session = Session::new(&self.resources);
        let universe = Universe::build(session.res, &session.compiled.atoms);
        let ctx = Ctx { res: session.res, c: &session.compiled, u: &universe };
        let warnings = Warnings::default();
        let reps: Vec<usize> = self.classes.iter().map(|m| m[0]).collect();
        let caps: Vec<Capture> = reps.iter().map(|&w| ctx.capture(ctx.pod(w))).collect();
        let mut ends: Vec<(PlanEnd, Option<usize>)> =
            reps.iter().enumerate().map(|(c, &w)| (PlanEnd::Workload(w), Some(c))).collect();
        ends.extend((0..self.ip_blocks.len()).map(|i| (PlanEnd::Ip(i), None)));
        let peer = |end: PlanEnd| match end {
            PlanEnd::Workload(w) => PeerRef::Pod(ctx.pod(w)),
            PlanEnd::Ip(i) => PeerRef::Ip(&self.ip_blocks[i]),
        };
        let name = |end: PlanEnd| match end {
            PlanEnd::Workload(w) => self.endpoint_name(Endpoint::Workload(w)),
            PlanEnd::Ip(i) => self.endpoint_name(Endpoint::IpBlock(i)),
        };
        let cap_of =
            |end: PlanEnd| ends.iter().find(|(e, _)| *e == end).and_then(|(_, c)| c.map(|c| &caps[c]));
        // What the whole stack allows from `s` to `d` (pod network / primary network).
        let allowed = |s: PlanEnd, d: PlanEnd| -> Result<ConnSet, InputError> {
            let (sp, dp) = (peer(s), peer(d));
            if let (Some(a), Some(b)) = (sp.pod(), dp.pod()) {
                if ctx.primary(a) != ctx.primary(b) {
                    return Ok(ConnSet::empty());
                }
            }
            ctx.pod_network_conns(sp, cap_of(s), dp, cap_of(d), &warnings)
        };

        let mut plan = TestPlan::default();
        let add = |plan: &mut TestPlan,
                   s: PlanEnd,
                   d: PlanEnd,
                   (proto, port): (Protocol, u16),
                   expected,
                   cover: String| {
            let (src, dst) = (name(s), name(d));
            let protocol = proto.to_string();
            if let Some(p) = plan.probes.iter_mut().find(|p| {
                p.src == src
                    && p.dst == dst
                    && p.protocol == protocol
                    && p.port == port
                    && p.expected == expected
            }) {
                p.covers.push(cover);
            } else {
                plan.probes.push(Probe { src, dst, protocol, port, expected, covers: vec![cover] });
            }
        };

        // Every rule: a (subject, peer) pair it matches and a port of the rule whose final
        // verdict agrees with the rule.
        struct RuleCase<'r> {
            label: String,
            ingress: bool,
            selects: Box<dyn Fn(&Capture) -> bool + 'r>,
            matches: Box<dyn Fn(PeerRef<'_>) -> bool + 'r>,
            conns: RuleConns<'r>,
            effect: Effect,
        }
        let mut cases: Vec<RuleCase<'_>> = Vec::new();
        for (i, p) in ctx.c.policies.iter().enumerate() {
            let np = p.policy;
            for ingress in [true, false] {
                let rules = if ingress { &p.ingress } else { &p.egress };
                let dir = if ingress { "ingress" } else { "egress" };
                for (n, r) in rules.iter().enumerate() {
                    cases.push(RuleCase {
                        label: format!(
                            "NetworkPolicy {} {dir} rule #{} ({})",
                            np.qualified_name(),
                            n + 1,
                            r.rule.origin
                        ),
                        ingress,
                        selects: Box::new(move |cap: &Capture| {
                            if ingress {
                                cap.np_ingress.contains(&i)
                            } else {
                                cap.np_egress.contains(&i)
                            }
                        }),
                        matches: Box::new(move |pr| np_peers_select(r.peers.as_deref(), pr)),
                        conns: Box::new(|dst| ctx.np_rule_conns(r.rule, dst, &warnings)),
                        effect: Effect::Allow,
                    });
                }
            }
        }
        let admins =
            ctx.c.admins.iter().enumerate().map(|(i, a)| (Some(i), a, &self.resources.admin_policies[i]));
        let baseline = ctx.c.baseline.iter().zip(self.resources.baseline.iter()).map(|(a, p)| (None, a, p));
        for (index, a, policy) in admins.chain(baseline) {
            let kind = if index.is_some() { "AdminNetworkPolicy" } else { "BaselineAdminNetworkPolicy" };
            for ingress in [true, false] {
                let rules = if ingress { &a.ingress } else { &a.egress };
                let dir = if ingress { "ingress" } else { "egress" };
                for r in rules {
                    cases.push(RuleCase {
                        label: format!(
                            "{kind} {:?} {dir} rule {:?} ({})",
                            policy.name, r.rule.name, r.rule.origin
                        ),
                        ingress,
                        selects: Box::new(move |cap: &Capture| match (index, ingress) {
                            (Some(i), true) => cap.anp_ingress.contains(&i),
                            (Some(i), false) => cap.anp_egress.contains(&i),
                            // The baseline is only in effect where no NetworkPolicy selects the pod.
                            (None, true) => cap.banp_ingress && cap.np_ingress.is_empty(),
                            (None, false) => cap.banp_egress && cap.np_egress.is_empty(),
                        }),
                        matches: Box::new(move |pr| admin_peers_select(&r.peers, pr)),
                        conns: Box::new(|dst| Ok(ctx.admin_rule_conns(r.rule, dst, &warnings))),
                        effect: match r.rule.action {
                            Action::Allow => Effect::Allow,
                            Action::Deny => Effect::Deny,
                            Action::Pass => Effect::Delegate,
                        },
                    });
                }
            }
        }
        'case: for case in &cases {
            let mut selected_any = false;
            let mut matched_any = false;
            for &(subject, class) in &ends {
                let Some(cap) = class.map(|c| &caps[c]) else { continue };
                if !(case.selects)(cap) {
                    continue;
                }
                selected_any = true;
                for &(other, _) in &ends {
                    if other == subject || !(case.matches)(peer(other)) {
                        continue;
                    }
                    matched_any = true;
                    let (s, d) = if case.ingress { (other, subject) } else { (subject, other) };
                    let rule_conns = (case.conns)(peer(d))?;
                    let final_conns = allowed(s, d)?;
                    let choice = match case.effect {
                        Effect::Allow => {
                            pick(&rule_conns.intersect(&final_conns)).map(|p| (p, Expected::Allowed))
                        }
                        Effect::Deny => {
                            pick(&rule_conns.subtract(&final_conns)).map(|p| (p, Expected::Denied))
                        }
                        Effect::Delegate => pick(&rule_conns).map(|(proto, port)| {
                            let verdict = if final_conns.contains(proto, port) {
                                Expected::Allowed
                            } else {
                                Expected::Denied
                            };
                            ((proto, port), verdict)
                        }),
                    };
                    if let Some((port, expected)) = choice {
                        add(&mut plan, s, d, port, expected, case.label.clone());
                        continue 'case;
                    }
                }
            }
            let why = if !selected_any {
                "its policy selects no workload of the input"
            } else if !matched_any {
                "no endpoint of the input matches its peers"
            } else {
                "nothing it matches is allowed end to end (blocked at the other end, decided by a higher-priority \
                 layer, or a named port no container defines)"
            };
            plan.uncovered.push(format!("{}: {why}", case.label));
        }

        // Every default-deny NetworkPolicy: a port it denies to one of its pods.
        'policy: for (i, p) in ctx.c.policies.iter().enumerate() {
            let np = p.policy;
            for ingress in [true, false] {
                let isolates = if ingress { np.affects_ingress } else { np.affects_egress };
                let rules = if ingress { &p.ingress } else { &p.egress };
                if !isolates || !rules.is_empty() {
                    continue;
                }
                let dir = if ingress { "ingress" } else { "egress" };
                let label = format!(
                    "default deny: NetworkPolicy {} isolates {dir} ({})",
                    np.qualified_name(),
                    np.origin
                );
                for &(subject, class) in &ends {
                    let Some(cap) = class.map(|c| &caps[c]) else { continue };
                    let selected =
                        if ingress { cap.np_ingress.contains(&i) } else { cap.np_egress.contains(&i) };
                    if !selected {
                        continue;
                    }
                    for &(other, _) in &ends {
                        if other == subject {
                            continue;
                        }
                        let (s, d) = if ingress { (other, subject) } else { (subject, other) };
                        if let Some(port) = pick_denied(&allowed(s, d)?) {
                            add(&mut plan, s, d, port, Expected::Denied, label);
                            continue 'policy;
                        }
                    }
                }
                plan.uncovered
                    .push(format!("{label}: no denied connection to probe (other rules allow everything)"));
            }
        }
        plan.probes.sort_by(|a, b| {
            (&a.src, &a.dst, &a.protocol, a.port).cmp(&(&b.src, &b.dst, &b.protocol, b.port))
        });
        Ok(plan)
    }
}

/// The plan as YAML: a `probes` list and an `uncovered` list.
pub fn test_plan_yaml(plan: &TestPlan) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut out = String::from("probes:\n");
    if plan.probes.is_empty() {
        out = String::from("probes: []\n");
    }
    for p in &plan.probes {
        let _ = writeln!(out, "- src: {}", quote(&p.src));
        let _ = writeln!(out, "  dst: {}", quote(&p.dst));
        let _ = writeln!(out, "  protocol: {}", p.protocol);
        let _ = writeln!(out, "  port: {}", p.port);
        let _ = writeln!(
            out,
            "  expected: {}",
            if p.expected == Expected::Allowed { "allowed" } else { "denied" }
        );
        out.push_str("  covers:\n");
        for c in &p.covers {
            let _ = writeln!(out, "  - {}", quote(c));
        }
    }
    if plan.uncovered.is_empty() {
        out.push_str("uncovered: []\n");
    } else {
        out.push_str("uncovered:\n");
        for u in &plan.uncovered {
            let _ = writeln!(out, "- {}", quote(u));
        }
    }
    out
}
