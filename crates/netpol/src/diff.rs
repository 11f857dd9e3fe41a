//! Connections added, removed and changed between two versions of the manifests, in
//! netpol-analyzer's `diff` terms.
//!
//! External address blocks are cut differently in each version (by the ipBlocks each one's
//! policies mention), so both sides are first refined to common blocks, compared, and the
//! blocks that then tell the same story are merged back into maximal ranges.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::engine::{Endpoint, Reachability, INGRESS_CONTROLLER};
use crate::ipv4::{disjoint_blocks, IpSet};
use crate::ports::ConnSet;

/// What happened to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiffKind {
    /// Allowed in both, with different protocols or ports.
    Changed,
    /// Allowed only in the second version.
    Added,
    /// Allowed only in the first version.
    Removed,
}

impl DiffKind {
    /// `changed`, `added`, `removed`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiffKind::Changed => "changed",
            DiffKind::Added => "added",
            DiffKind::Removed => "removed",
        }
    }
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// Changed, added or removed.
    #[serde(rename = "diffType")]
    pub kind: DiffKind,
    /// Source endpoint.
    pub src: String,
    /// Destination endpoint.
    pub dst: String,
    /// Connections in the first version (`No Connections` when absent).
    pub ref1: String,
    /// Connections in the second version.
    pub ref2: String,
    /// `workload ns/name[Kind] added` when an end exists in only one version.
    #[serde(rename = "workloadsDiffInfo", skip_serializing_if = "Option::is_none")]
    pub workloads_info: Option<String>,
    /// The source is the ingress controller (these lines come last).
    #[serde(skip)]
    pub from_ingress_controller: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum End {
    Named(String),
    Ip(IpSet),
}

impl End {
    fn text(&self) -> String {
        match self {
            End::Named(n) => n.clone(),
            End::Ip(ip) => format!("{ip}[External]"),
        }
    }
}

/// Connections of one version keyed by (source, destination), networks merged.
fn connection_map(reach: &Reachability) -> BTreeMap<(End, End), ConnSet> {
    let end = |e: Endpoint| match e {
        Endpoint::IpBlock(i) => End::Ip(reach.ip_blocks[i].clone()),
        other => End::Named(reach.endpoint_name(other)),
    };
    let mut map: BTreeMap<(End, End), ConnSet> = BTreeMap::new();
    for c in reach.connections() {
        let entry = map.entry((end(c.src), end(c.dst))).or_default();
        *entry = entry.union(&c.conns);
    }
    map
}

/// Splits address-block ends into the common blocks of both versions.
fn refine(
    map: BTreeMap<(End, End), ConnSet>,
    src_cuts: &[IpSet],
    dst_cuts: &[IpSet],
) -> BTreeMap<(End, End), ConnSet> {
    let pieces = |ip: &IpSet, cuts: &[IpSet]| -> Vec<IpSet> {
        cuts.iter().filter(|c| c.is_subset(ip)).cloned().collect()
    };
    let mut out = BTreeMap::new();
    for ((s, d), conns) in map {
        match (&s, &d) {
            (End::Ip(ip), _) => {
                for p in pieces(ip, src_cuts) {
                    out.insert((End::Ip(p), d.clone()), conns.clone());
                }
            }
            (_, End::Ip(ip)) => {
                for p in pieces(ip, dst_cuts) {
                    out.insert((s.clone(), End::Ip(p)), conns.clone());
                }
            }
            _ => {
                out.insert((s, d), conns);
            }
        }
    }
    out
}

fn blocks_of(maps: [&BTreeMap<(End, End), ConnSet>; 2], src: bool) -> Vec<IpSet> {
    let mut blocks = BTreeSet::new();
    for map in maps {
        for (s, d) in map.keys() {
            if let End::Ip(ip) = if src { s } else { d } {
                blocks.insert(ip.clone());
            }
        }
    }
    let blocks: Vec<IpSet> = blocks.into_iter().collect();
    disjoint_blocks(&blocks).into_iter().filter(|seg| blocks.iter().any(|b| seg.is_subset(b))).collect()
}

/// The differences from `ref1` to `ref2`, in netpol-analyzer's order: changed, added,
/// removed (each sorted), policy connections before ingress-controller ones.
pub fn diff(ref1: &Reachability, ref2: &Reachability) -> Vec<DiffLine> {
    let (m1, m2) = (connection_map(ref1), connection_map(ref2));
    let src_cuts = blocks_of([&m1, &m2], true);
    let dst_cuts = blocks_of([&m1, &m2], false);
    let (m1, m2) = (refine(m1, &src_cuts, &dst_cuts), refine(m2, &src_cuts, &dst_cuts));

    // Pair up, then merge address blocks that have the same other end and the same story.
    let keys: BTreeSet<&(End, End)> = m1.keys().chain(m2.keys()).collect();
    let mut pairs: BTreeMap<(End, End), (Option<ConnSet>, Option<ConnSet>)> = BTreeMap::new();
    let mut ip_groups: BTreeMap<(bool, End, Option<ConnSet>, Option<ConnSet>), IpSet> = BTreeMap::new();
    for key in keys {
        let (a, b) = (m1.get(key).cloned(), m2.get(key).cloned());
        match key {
            (End::Ip(ip), other) => {
                let e = ip_groups.entry((true, other.clone(), a, b)).or_default();
                *e = e.union(ip);
            }
            (other, End::Ip(ip)) => {
                let e = ip_groups.entry((false, other.clone(), a, b)).or_default();
                *e = e.union(ip);
            }
            _ => {
                pairs.insert(key.clone(), (a, b));
            }
        }
    }
    for ((ip_is_src, other, a, b), ips) in ip_groups {
        for block in ips.split() {
            let key =
                if ip_is_src { (End::Ip(block), other.clone()) } else { (other.clone(), End::Ip(block)) };
            pairs.insert(key, (a.clone(), b.clone()));
        }
    }

    let workloads1: BTreeSet<String> = ref1.workloads().iter().map(|w| w.display()).collect();
    let workloads2: BTreeSet<String> = ref2.workloads().iter().map(|w| w.display()).collect();
    let ingress = format!("{{{INGRESS_CONTROLLER}}}");
    let mut lines = Vec::new();
    for ((s, d), (a, b)) in pairs {
        let kind = match (&a, &b) {
            (Some(x), Some(y)) if x == y => continue,
            (Some(_), Some(_)) => DiffKind::Changed,
            (None, Some(_)) => DiffKind::Added,
            (Some(_), None) => DiffKind::Removed,
            (None, None) => continue,
        };
        let (src, dst) = (s.text(), d.text());
        let other_side = if kind == DiffKind::Added { &workloads1 } else { &workloads2 };
        let is_new_or_lost = |end: &End, text: &str| {
            matches!(end, End::Named(_)) && text != ingress && !other_side.contains(text)
        };
        let mut changed_ends = Vec::new();
        if kind != DiffKind::Changed {
            if is_new_or_lost(&s, &src) {
                changed_ends.push(src.clone());
            }
            if is_new_or_lost(&d, &dst) {
                changed_ends.push(dst.clone());
            }
        }
        let workloads_info = (!changed_ends.is_empty())
            .then(|| format!("workload {} {}", changed_ends.join(" and "), kind.as_str()));
        let text = |c: &Option<ConnSet>| {
            c.as_ref().map_or_else(|| "No Connections".to_string(), ToString::to_string)
        };
        lines.push(DiffLine {
            kind,
            from_ingress_controller: src == ingress,
            src,
            dst,
            ref1: text(&a),
            ref2: text(&b),
            workloads_info,
        });
    }
    lines.sort_by(|x, y| {
        (x.from_ingress_controller, x.kind, txt_line(x)).cmp(&(
            y.from_ingress_controller,
            y.kind,
            txt_line(y),
        ))
    });
    lines
}

fn txt_line(d: &DiffLine) -> String {
    let mut line = format!(
        "diff-type: {}, source: {}, destination: {}, ref1: {}, ref2: {}",
        d.kind.as_str(),
        d.src,
        d.dst,
        d.ref1,
        d.ref2
    );
    if let Some(info) = &d.workloads_info {
        let _ = write!(line, ", workloads-diff-info: {info}");
    }
    line
}

/// netpol-analyzer's text: `Connectivity diff:` and one line per difference (nothing when
/// the versions allow the same connections).
pub fn txt(lines: &[DiffLine]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from("Connectivity diff:\n");
    for l in lines {
        out.push_str(&txt_line(l));
        out.push('\n');
    }
    out
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// `diff-type,source,destination,ref1,ref2,workloads-diff-info` rows.
pub fn csv(lines: &[DiffLine]) -> String {
    let mut out = String::from("diff-type,source,destination,ref1,ref2,workloads-diff-info\n");
    for l in lines {
        let fields =
            [l.kind.as_str(), &l.src, &l.dst, &l.ref1, &l.ref2, l.workloads_info.as_deref().unwrap_or("")];
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// A Markdown table.
pub fn md(lines: &[DiffLine]) -> String {
    let mut out = String::from(
        "| diff-type | source | destination | ref1 | ref2 | workloads-diff-info |\n|-----------|--------|-------------|------|------|---------------------|\n",
    );
    for l in lines {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            l.kind.as_str(),
            l.src,
            l.dst,
            l.ref1,
            l.ref2,
            l.workloads_info.as_deref().unwrap_or("")
        );
    }
    out
}
