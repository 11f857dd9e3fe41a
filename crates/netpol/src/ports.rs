//! Sets of ports and of (protocol, port) connections.
//!
//! A [`PortSet`] is a canonical list of disjoint, non-adjacent inclusive ranges inside
//! `1..=65535`; a [`ConnSet`] holds one such set per protocol (TCP, UDP, SCTP). Canonical
//! forms make equality structural, which the equivalence-class grouping relies on.

use std::fmt;

/// Lowest valid port number.
pub const MIN_PORT: u32 = 1;
/// Highest valid port number.
pub const MAX_PORT: u32 = 65535;

/// A transport protocol a NetworkPolicy can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// `TCP` (the default everywhere).
    Tcp,
    /// `UDP`.
    Udp,
    /// `SCTP`.
    Sctp,
}

impl Protocol {
    /// Every protocol, in the order of their names (the order the text output uses).
    pub const ALL: [Protocol; 3] = [Protocol::Sctp, Protocol::Tcp, Protocol::Udp];

    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    /// Parses the Kubernetes spelling (case-sensitive, as the API server is).
    pub fn parse(text: &str) -> Option<Protocol> {
        match text {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    fn index(self) -> usize {
        match self {
            Protocol::Tcp => 0,
            Protocol::Udp => 1,
            Protocol::Sctp => 2,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of ports: sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortSet {
    ranges: Vec<(u16, u16)>,
}

impl PortSet {
    /// No port.
    pub fn empty() -> PortSet {
        PortSet { ranges: Vec::new() }
    }

    /// Every port `1..=65535`.
    pub fn all() -> PortSet {
        PortSet { ranges: vec![(MIN_PORT as u16, MAX_PORT as u16)] }
    }

    /// The ports `start..=end`; empty when the range is empty or outside `1..=65535`.
    pub fn range(start: u32, end: u32) -> PortSet {
        let start = start.max(MIN_PORT);
        let end = end.min(MAX_PORT);
        if start > end {
            return PortSet::empty();
        }
        PortSet { ranges: vec![(start as u16, end as u16)] }
    }

    /// One port.
    pub fn single(port: u16) -> PortSet {
        PortSet::range(u32::from(port), u32::from(port))
    }

    /// True when no port is in the set.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// True when every port is in the set.
    pub fn is_all(&self) -> bool {
        self.ranges.len() == 1 && self.ranges[0] == (MIN_PORT as u16, MAX_PORT as u16)
    }

    /// Whether `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        self.ranges.iter().any(|&(a, b)| a <= port && port <= b)
    }

    /// The ranges, in order.
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }

    /// `self ∪ other`.
    pub fn union(&self, other: &PortSet) -> PortSet {
        if other.ranges.is_empty() {
            return self.clone();
        }
        if self.ranges.is_empty() {
            return other.clone();
        }
        let mut all: Vec<(u16, u16)> = self.ranges.iter().chain(other.ranges.iter()).copied().collect();
        all.sort_unstable();
        let mut out: Vec<(u16, u16)> = Vec::with_capacity(all.len());
        for (a, b) in all {
            match out.last_mut() {
                Some(last) if u32::from(a) <= u32::from(last.1) + 1 => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        PortSet { ranges: out }
    }

    /// `self ∩ other`.
    pub fn intersect(&self, other: &PortSet) -> PortSet {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a1, b1) = self.ranges[i];
            let (a2, b2) = other.ranges[j];
            let lo = a1.max(a2);
            let hi = b1.min(b2);
            if lo <= hi {
                out.push((lo, hi));
            }
            if b1 < b2 {
                i += 1;
            } else {
                j += 1;
            }
        }
        PortSet { ranges: out }
    }

    /// `self − other`.
    pub fn subtract(&self, other: &PortSet) -> PortSet {
        if other.ranges.is_empty() || self.ranges.is_empty() {
            return self.clone();
        }
        let mut out = Vec::new();
        for &(a, b) in &self.ranges {
            let mut start = u32::from(a);
            let end = u32::from(b);
            for &(c, d) in &other.ranges {
                let (c, d) = (u32::from(c), u32::from(d));
                if d < start || c > end {
                    continue;
                }
                if c > start {
                    out.push((start as u16, (c - 1) as u16));
                }
                start = d + 1;
                if start > end {
                    break;
                }
            }
            if start <= end {
                out.push((start as u16, end as u16));
            }
        }
        PortSet { ranges: out }
    }
}

impl fmt::Display for PortSet {
    /// `80,443,8000-8090`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(a, b)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}-{b}")?;
            }
        }
        Ok(())
    }
}

/// Allowed connections: a port set per protocol, and named ports that could not be
/// resolved (only for representative destinations of `--exposure`, whose container ports
/// are unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnSet {
    ports: [PortSet; 3],
    /// Unresolved named ports, sorted; never for a protocol whose ports are all allowed.
    named: Vec<(Protocol, String)>,
}

impl ConnSet {
    /// No connection.
    pub fn empty() -> ConnSet {
        ConnSet::default()
    }

    /// Every protocol and port.
    pub fn all() -> ConnSet {
        ConnSet { ports: [PortSet::all(), PortSet::all(), PortSet::all()], named: Vec::new() }
    }

    /// Ports of one protocol.
    pub fn of(protocol: Protocol, ports: PortSet) -> ConnSet {
        let mut set = ConnSet::empty();
        set.ports[protocol.index()] = ports;
        set
    }

    /// The ports allowed for `protocol`.
    pub fn ports(&self, protocol: Protocol) -> &PortSet {
        &self.ports[protocol.index()]
    }

    /// True when nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.ports.iter().all(PortSet::is_empty) && self.named.is_empty()
    }

    /// True when everything is allowed.
    pub fn is_all(&self) -> bool {
        self.ports.iter().all(PortSet::is_all)
    }

    /// Whether `protocol`/`port` is allowed.
    pub fn contains(&self, protocol: Protocol, port: u16) -> bool {
        self.ports[protocol.index()].contains(port)
    }

    /// Adds ports of one protocol.
    pub fn add(&mut self, protocol: Protocol, ports: &PortSet) {
        let i = protocol.index();
        self.ports[i] = self.ports[i].union(ports);
        self.normalize();
    }

    /// Adds a named port that stays unresolved (its destination's ports are unknown).
    pub fn add_named(&mut self, protocol: Protocol, name: &str) {
        self.named.push((protocol, name.to_string()));
        self.normalize();
    }

    /// Unresolved named ports, sorted.
    pub fn named(&self) -> &[(Protocol, String)] {
        &self.named
    }

    fn normalize(&mut self) {
        if self.named.is_empty() {
            return;
        }
        self.named.sort();
        self.named.dedup();
        let ports = &self.ports;
        self.named.retain(|(p, _)| !ports[p.index()].is_all());
    }

    /// Whether a named port is within this set: named here, or its protocol fully allowed.
    fn covers_named(&self, (protocol, name): &(Protocol, String)) -> bool {
        self.ports[protocol.index()].is_all() || self.named.iter().any(|(p, n)| p == protocol && n == name)
    }

    /// `self ∪ other`.
    pub fn union(&self, other: &ConnSet) -> ConnSet {
        let mut out = ConnSet {
            ports: std::array::from_fn(|i| self.ports[i].union(&other.ports[i])),
            named: self.named.iter().chain(&other.named).cloned().collect(),
        };
        out.normalize();
        out
    }

    /// `self ∩ other`.
    pub fn intersect(&self, other: &ConnSet) -> ConnSet {
        let mut named: Vec<(Protocol, String)> =
            self.named.iter().filter(|n| other.covers_named(n)).cloned().collect();
        named.extend(other.named.iter().filter(|n| self.covers_named(n)).cloned());
        let mut out =
            ConnSet { ports: std::array::from_fn(|i| self.ports[i].intersect(&other.ports[i])), named };
        out.normalize();
        out
    }

    /// `self − other`.
    pub fn subtract(&self, other: &ConnSet) -> ConnSet {
        let named = self.named.iter().filter(|n| !other.covers_named(n)).cloned().collect();
        ConnSet { ports: std::array::from_fn(|i| self.ports[i].subtract(&other.ports[i])), named }
    }

    /// The protocols with at least one port, in name order, with their ports.
    pub fn by_protocol(&self) -> impl Iterator<Item = (Protocol, &PortSet)> {
        Protocol::ALL.into_iter().map(|p| (p, self.ports(p))).filter(|(_, ports)| !ports.is_empty())
    }
}

impl fmt::Display for ConnSet {
    /// netpol-analyzer's spelling: `All Connections`, `No Connections`, or
    /// `SCTP 1-65535,TCP 80,UDP 53` (protocols in name order; unresolved named ports after
    /// the numbers of their protocol: `TCP 80,http`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("All Connections");
        }
        if self.is_empty() {
            return f.write_str("No Connections");
        }
        let mut first = true;
        for protocol in Protocol::ALL {
            let mut items: Vec<String> = Vec::new();
            let ports = self.ports(protocol);
            if !ports.is_empty() {
                items.push(ports.to_string());
            }
            items.extend(self.named.iter().filter(|(p, _)| *p == protocol).map(|(_, n)| n.clone()));
            if items.is_empty() {
                continue;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{protocol} {}", items.join(","))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ranges: &[(u16, u16)]) -> PortSet {
        ranges.iter().fold(PortSet::empty(), |acc, &(a, b)| acc.union(&PortSet::range(a.into(), b.into())))
    }

    #[test]
    fn union_merges_adjacent_and_overlapping_ranges() {
        assert_eq!(set(&[(1, 5), (6, 9), (20, 30), (25, 40)]).ranges(), &[(1, 9), (20, 40)]);
    }

    #[test]
    fn subtract_and_intersect() {
        let all = PortSet::all();
        let hole = set(&[(80, 80), (443, 445)]);
        let rest = all.subtract(&hole);
        assert_eq!(rest.to_string(), "1-79,81-442,446-65535");
        assert_eq!(rest.intersect(&set(&[(70, 90)])).to_string(), "70-79,81-90");
        assert!(rest.union(&hole).is_all());
        assert!(hole.subtract(&all).is_empty());
    }

    #[test]
    fn ranges_outside_the_port_space_are_clipped() {
        assert!(PortSet::range(10, 1).is_empty());
        assert_eq!(PortSet::range(0, 3).to_string(), "1-3");
    }

    #[test]
    fn connset_display_orders_protocols_by_name() {
        let mut c = ConnSet::of(Protocol::Udp, PortSet::single(53));
        c.add(Protocol::Tcp, &PortSet::range(8080, 8081));
        c.add(Protocol::Sctp, &PortSet::all());
        assert_eq!(c.to_string(), "SCTP 1-65535,TCP 8080-8081,UDP 53");
        assert_eq!(ConnSet::all().to_string(), "All Connections");
        assert_eq!(ConnSet::empty().to_string(), "No Connections");
        assert!(ConnSet::all().subtract(&c).union(&c).is_all());
    }

    #[test]
    fn unresolved_named_ports_are_written_after_the_numbers_of_their_protocol() {
        let mut c = ConnSet::of(Protocol::Tcp, PortSet::single(80));
        c.add_named(Protocol::Tcp, "metrics");
        c.add_named(Protocol::Tcp, "http");
        c.add_named(Protocol::Udp, "dns");
        assert_eq!(c.to_string(), "TCP 80,http,metrics,UDP dns");
        // Kept by an intersection with a set that allows the whole protocol, or the name.
        assert_eq!(c.intersect(&ConnSet::all()), c);
        let only_http = {
            let mut s = ConnSet::empty();
            s.add_named(Protocol::Tcp, "http");
            s
        };
        assert_eq!(c.intersect(&only_http).to_string(), "TCP http");
        assert_eq!(c.subtract(&only_http).to_string(), "TCP 80,metrics,UDP dns");
        assert!(!only_http.is_empty());
        // Redundant under a protocol that is fully allowed.
        assert!(only_http.union(&ConnSet::all()).is_all());
        assert!(only_http.union(&ConnSet::all()).named().is_empty());
    }
}
