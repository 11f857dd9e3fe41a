//! Rendering connections: netpol-analyzer's text lines, JSON, CSV, Markdown and DOT.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::engine::{Endpoint, Network, Reachability};

/// Output formats of `netpol connlist`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// netpol-analyzer's `src => dst : conns` lines.
    Txt,
    /// The kubesecops JSON envelope.
    Json,
    /// `src,dst,conn` with a header.
    Csv,
    /// A Markdown table.
    Md,
    /// A Graphviz digraph, workloads grouped by namespace.
    Dot,
}

/// One allowed connection as text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Line {
    /// Source (`ns/name[Kind]`, an address range with `[External]`, `{ingress-controller}`);
    /// workloads on a primary UDN are written `ns[udn]/name[Kind]`.
    pub src: String,
    /// Destination, written like the source.
    pub dst: String,
    /// Allowed protocols and ports (`All Connections`, `TCP 80,UDP 53`).
    pub conns: String,
    /// The network the connection is in.
    #[serde(skip)]
    pub network: Network,
}

/// Which connections to keep (netpol-analyzer's `--focus-workload` family).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Keep connections with at least one end among these workloads (`name` or `ns/name`;
    /// `ingress-controller` names the ingress controller).
    pub focus_workloads: Vec<String>,
    /// With focus workloads: the other end must be one of these.
    pub focus_workload_peers: Vec<String>,
    /// With focus workloads: only connections into them (`Ingress`) or out of them (`Egress`).
    pub focus_direction: Option<Direction>,
}

/// A direction of traffic relative to a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Into the workload.
    Ingress,
    /// Out of the workload.
    Egress,
}

impl Filter {
    fn matches(list: &[String], reach: &Reachability, end: Endpoint) -> bool {
        match end {
            Endpoint::Workload(w) => {
                let w = &reach.workloads()[w];
                list.iter().any(|f| *f == w.name || *f == w.qualified_name())
            }
            Endpoint::IngressController => list.iter().any(|f| f == crate::engine::INGRESS_CONTROLLER),
            Endpoint::IpBlock(_) => false,
        }
    }

    /// Whether the connection `src => dst` is kept.
    pub fn keeps(&self, reach: &Reachability, src: Endpoint, dst: Endpoint) -> bool {
        if self.focus_workloads.is_empty() {
            return true;
        }
        let focus = |end| Self::matches(&self.focus_workloads, reach, end);
        let peer = |end| {
            self.focus_workload_peers.is_empty() || Self::matches(&self.focus_workload_peers, reach, end)
        };
        match self.focus_direction {
            Some(Direction::Ingress) if !focus(dst) => return false,
            Some(Direction::Egress) if !focus(src) => return false,
            _ => {}
        }
        (focus(src) && peer(dst)) || (focus(dst) && peer(src))
    }

    /// Focus workloads that name no workload (to warn about).
    pub fn unknown_workloads(&self, reach: &Reachability) -> Vec<String> {
        self.focus_workloads
            .iter()
            .chain(self.focus_workload_peers.iter())
            .filter(|f| {
                *f != crate::engine::INGRESS_CONTROLLER
                    && !reach.workloads().iter().any(|w| w.name == **f || w.qualified_name() == **f)
            })
            .cloned()
            .collect()
    }
}

/// The connections as sorted text lines (by network, source, destination).
pub fn lines(reach: &Reachability, filter: &Filter) -> Vec<Line> {
    let mut out: Vec<Line> = reach
        .connections()
        .filter(|c| filter.keeps(reach, c.src, c.dst))
        .map(|c| {
            let name = |end: Endpoint| {
                let text = reach.endpoint_name(end);
                match (&c.network, end) {
                    (Network::Udn(ns), Endpoint::Workload(w)) if reach.workloads()[w].namespace == *ns => {
                        text.replacen('/', "[udn]/", 1)
                    }
                    _ => text,
                }
            };
            Line {
                src: name(c.src),
                dst: name(c.dst),
                conns: c.conns.to_string(),
                network: c.network.clone(),
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.network, &a.src, &a.dst).cmp(&(&b.network, &b.src, &b.dst)));
    out
}

/// netpol-analyzer's text output. With multi-network resources, connections are grouped by
/// network and a workload-to-networks section follows.
pub fn txt(reach: &Reachability, lines: &[Line]) -> String {
    let mut out = String::new();
    let multi = reach.resources.multi_network;
    let pod: Vec<&Line> = lines.iter().filter(|l| l.network == Network::PodNetwork).collect();
    let others = lines.len() > pod.len();
    if others {
        out.push_str("Permitted connectivity analyzed in Pod network:\n");
        if pod.is_empty() && multi {
            let in_pod_network = (0..reach.workloads().len())
                .filter(|&w| reach.primary_network(w) == Network::PodNetwork)
                .count();
            out.push_str(if in_pod_network == 0 {
                "all input workloads are configured with (C)UDN as their primary network interface\n"
            } else {
                "All connections are not allowed for the workloads in the pod-network\n"
            });
        }
    }
    for l in &pod {
        let _ = writeln!(out, "{} => {} : {}", l.src, l.dst, l.conns);
    }
    let mut current: Option<&Network> = None;
    for l in lines.iter().filter(|l| l.network != Network::PodNetwork) {
        if current != Some(&l.network) {
            current = Some(&l.network);
            let header = match &l.network {
                Network::Udn(n) => format!("primary UDN {n}"),
                Network::Cudn(n) => format!("primary CUDN {n}"),
                Network::Nad(n) => format!("secondary NAD {n}"),
                Network::PodNetwork => "Pod network".to_string(),
            };
            let _ = write!(out, "\nPermitted connectivity analyzed in {header}:\n");
        }
        let _ = writeln!(out, "{} => {} : {}", l.src, l.dst, l.conns);
    }
    if multi && !reach.workloads().is_empty() {
        out.push_str("\nWorkload-to-Networks Mapping:\n");
        let mut rows: Vec<(String, usize)> =
            reach.workloads().iter().enumerate().map(|(i, w)| (w.display(), i)).collect();
        rows.sort();
        for (name, w) in rows {
            let _ = write!(out, "{name}: \n\tPrimary Network: {}\n", reach.primary_network(w));
            let secondary: Vec<String> =
                reach.workloads()[w].secondary.keys().map(|k| format!("{k}[NAD]")).collect();
            if !secondary.is_empty() {
                let _ = writeln!(out, "\tSecondary Networks: {}", secondary.join(","));
            }
        }
    }
    out
}

#[derive(Serialize)]
struct JsonConnection<'a> {
    src: &'a str,
    dst: &'a str,
    conns: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<String>,
}

/// The `connections` section of the JSON envelope. The `network` key appears only when
/// multi-network resources make it meaningful.
pub fn json_connections(reach: &Reachability, lines: &[Line]) -> serde_json::Value {
    let multi = reach.resources.multi_network;
    let items: Vec<JsonConnection<'_>> = lines
        .iter()
        .map(|l| JsonConnection {
            src: &l.src,
            dst: &l.dst,
            conns: &l.conns,
            network: multi.then(|| l.network.to_string()),
        })
        .collect();
    serde_json::to_value(items).unwrap_or_default()
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// `src,dst,conn` rows (a `network` column is added with multi-network resources).
pub fn csv(reach: &Reachability, lines: &[Line]) -> String {
    let multi = reach.resources.multi_network;
    let mut out = String::from(if multi { "src,dst,conn,network\n" } else { "src,dst,conn\n" });
    for l in lines {
        let _ = write!(out, "{},{},{}", csv_field(&l.src), csv_field(&l.dst), csv_field(&l.conns));
        if multi {
            let _ = write!(out, ",{}", csv_field(&l.network.to_string()));
        }
        out.push('\n');
    }
    out
}

/// A Markdown table.
pub fn md(reach: &Reachability, lines: &[Line]) -> String {
    let multi = reach.resources.multi_network;
    let mut out = String::from(if multi {
        "| src | dst | conn | network |\n|-----|-----|------|---------|\n"
    } else {
        "| src | dst | conn |\n|-----|-----|------|\n"
    });
    for l in lines {
        let _ = write!(out, "| {} | {} | {} |", l.src, l.dst, l.conns);
        if multi {
            let _ = write!(out, " {} |", l.network);
        }
        out.push('\n');
    }
    out
}

fn dot_id(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A Graphviz digraph: workloads in one subgraph per namespace, external endpoints outside.
pub fn dot(reach: &Reachability, lines: &[Line]) -> String {
    let mut namespaces: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut external: Vec<String> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut node = |name: &str| {
        if !seen.insert(name.to_string()) {
            return;
        }
        match name.split_once('/') {
            Some((ns, rest)) if !name.ends_with("[External]") => {
                namespaces.entry(ns.to_string()).or_default().push(format!(
                    "\t\t{} [label={} color=\"blue\" fontcolor=\"blue\"]",
                    dot_id(name),
                    dot_id(rest)
                ));
            }
            _ => external.push(format!(
                "\t{} [label={} color=\"red2\" fontcolor=\"red2\"]",
                dot_id(name),
                dot_id(name)
            )),
        }
    };
    for w in reach.workloads() {
        node(&w.display());
    }
    for l in lines {
        node(&l.src);
        node(&l.dst);
    }
    let mut out = String::from("digraph {\n");
    for (ns, nodes) in &namespaces {
        let _ = writeln!(out, "\tsubgraph {} {{", dot_id(&format!("cluster_{ns}")));
        for n in nodes {
            out.push_str(n);
            out.push('\n');
        }
        let _ = writeln!(out, "\t\tlabel={}\n\t}}", dot_id(ns));
    }
    for n in &external {
        out.push_str(n);
        out.push('\n');
    }
    for l in lines {
        let label = match &l.network {
            Network::PodNetwork => l.conns.clone(),
            other => format!("{} ({other})", l.conns),
        };
        let _ = writeln!(
            out,
            "\t{} -> {} [label={} color=\"gold2\" fontcolor=\"darkgreen\"]",
            dot_id(&l.src),
            dot_id(&l.dst),
            dot_id(&label)
        );
    }
    out.push_str("}\n");
    out
}

/// The pairs `--explain` covers: every ordered pair of distinct workloads kept by the
/// filter (allowed or not), and every allowed connection with an external range or the
/// ingress controller.
pub fn explain_pairs(reach: &Reachability, filter: &Filter) -> Vec<(Endpoint, Endpoint)> {
    let mut pairs = Vec::new();
    let n = reach.workloads().len();
    for s in 0..n {
        for d in 0..n {
            let (s, d) = (Endpoint::Workload(s), Endpoint::Workload(d));
            if s != d && filter.keeps(reach, s, d) {
                pairs.push((s, d));
            }
        }
    }
    let mut others: Vec<(Endpoint, Endpoint)> = reach
        .connections()
        .filter(|c| !matches!((c.src, c.dst), (Endpoint::Workload(_), Endpoint::Workload(_))))
        .filter(|c| filter.keeps(reach, c.src, c.dst))
        .map(|c| (c.src, c.dst))
        .collect();
    others.sort();
    others.dedup();
    pairs.extend(others);
    let mut named: Vec<(String, String, (Endpoint, Endpoint))> =
        pairs.into_iter().map(|(s, d)| (reach.endpoint_name(s), reach.endpoint_name(d), (s, d))).collect();
    named.sort();
    named.into_iter().map(|(_, _, p)| p).collect()
}

/// Explanations as text: the connection, then per direction what it allows and why.
pub fn explain_txt(explanations: &[crate::engine::Explanation]) -> String {
    let mut out = String::new();
    for (i, e) in explanations.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "{} => {} : {}", e.src, e.dst, e.conns);
        for (dir, reasons) in [("egress", &e.egress), ("ingress", &e.ingress)] {
            let _ = writeln!(out, "  {dir}: {}", reasons.allowed);
            for r in &reasons.reasons {
                let _ = writeln!(out, "    - {r}");
            }
        }
    }
    out
}

/// Exposure as text, in netpol-analyzer's layout (`entire-cluster` is any pod of the
/// cluster, whatever its namespace and labels). Names are padded to the longest workload
/// of the list; egress lines are sorted by workload then peer, ingress lines likewise.
pub fn exposure_txt(exposure: &[crate::engine::Exposure]) -> String {
    let width = exposure.iter().map(|e| e.workload.len()).max().unwrap_or(0);
    let mut egress: Vec<(&str, String, String)> = Vec::new();
    let mut ingress: Vec<(&str, String, String)> = Vec::new();
    let mut unprotected = Vec::new();
    for e in exposure {
        let w = e.workload.as_str();
        for (dst, conns) in e.egress_to_external.iter().chain(&e.egress_to_representatives) {
            egress.push((w, dst.clone(), conns.clone()));
        }
        if let Some(conns) = &e.egress_to_cluster {
            egress.push((w, "entire-cluster".to_string(), conns.clone()));
        }
        for (src, conns) in e.ingress_from_external.iter().chain(&e.ingress_from_representatives) {
            ingress.push((w, src.clone(), conns.clone()));
        }
        if let Some(conns) = &e.ingress_from_cluster {
            ingress.push((w, "entire-cluster".to_string(), conns.clone()));
        }
        if e.ingress_unprotected {
            unprotected.push(format!("{} is not protected on Ingress", e.workload));
        }
        if e.egress_unprotected {
            unprotected.push(format!("{} is not protected on Egress", e.workload));
        }
    }
    egress.sort();
    ingress.sort();
    let mut out = String::from("Exposure Analysis Result:\n");
    if !egress.is_empty() {
        out.push_str("Egress Exposure:\n");
        for (w, dst, conns) in &egress {
            let _ = writeln!(out, "{w:<width$} \t=> \t{dst} : {conns}");
        }
    }
    if !ingress.is_empty() {
        out.push_str(if egress.is_empty() { "Ingress Exposure:\n" } else { "\nIngress Exposure:\n" });
        for (w, src, conns) in &ingress {
            let _ = writeln!(out, "{w:<width$} \t<= \t{src} : {conns}");
        }
    }
    if !unprotected.is_empty() {
        unprotected.sort();
        out.push_str("\nWorkloads not protected by network policies:\n");
        for l in &unprotected {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}
