//! IPv4 address sets, CIDR parsing and the disjoint blocks the analysis uses as peers.

use std::fmt;

/// A set of IPv4 addresses: sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpSet {
    ranges: Vec<(u32, u32)>,
}

/// Why a CIDR or address does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// Not `a.b.c.d/n`.
    #[error("invalid CIDR address: {0}")]
    Invalid(String),
    /// An IPv6 CIDR: the analysis covers IPv4 only.
    #[error("IPv6 address {0} is not supported (IPv4 only)")]
    Ipv6(String),
}

impl IpSet {
    /// No address.
    pub fn empty() -> IpSet {
        IpSet::default()
    }

    /// `0.0.0.0/0`.
    pub fn all() -> IpSet {
        IpSet { ranges: vec![(0, u32::MAX)] }
    }

    /// The addresses `start..=end`.
    pub fn range(start: u32, end: u32) -> IpSet {
        if start > end {
            return IpSet::empty();
        }
        IpSet { ranges: vec![(start, end)] }
    }

    /// Parses `a.b.c.d/n` the way Go's `net.ParseCIDR` does (host bits are masked off).
    pub fn from_cidr(text: &str) -> Result<IpSet, CidrError> {
        let (addr, bits) = text.split_once('/').ok_or_else(|| CidrError::Invalid(text.to_string()))?;
        if addr.contains(':') {
            return Err(CidrError::Ipv6(text.to_string()));
        }
        let ip = parse_ipv4(addr).ok_or_else(|| CidrError::Invalid(text.to_string()))?;
        let bits: u32 = if !bits.is_empty() && bits.len() <= 2 && bits.bytes().all(|b| b.is_ascii_digit()) {
            bits.parse().map_err(|_| CidrError::Invalid(text.to_string()))?
        } else {
            return Err(CidrError::Invalid(text.to_string()));
        };
        if bits > 32 {
            return Err(CidrError::Invalid(text.to_string()));
        }
        let mask: u32 = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
        Ok(IpSet::range(ip & mask, (ip & mask) | !mask))
    }

    /// One address `a.b.c.d`.
    pub fn from_address(text: &str) -> Result<IpSet, CidrError> {
        if text.contains(':') {
            return Err(CidrError::Ipv6(text.to_string()));
        }
        let ip = parse_ipv4(text).ok_or_else(|| CidrError::Invalid(text.to_string()))?;
        Ok(IpSet::range(ip, ip))
    }

    /// The ranges, in order.
    pub fn ranges(&self) -> &[(u32, u32)] {
        &self.ranges
    }

    /// True when no address is in the set.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// `self ∪ other`.
    pub fn union(&self, other: &IpSet) -> IpSet {
        let mut all: Vec<(u32, u32)> = self.ranges.iter().chain(other.ranges.iter()).copied().collect();
        all.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(all.len());
        for (a, b) in all {
            match out.last_mut() {
                Some(last) if u64::from(a) <= u64::from(last.1) + 1 => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        IpSet { ranges: out }
    }

    /// `self − other`.
    pub fn subtract(&self, other: &IpSet) -> IpSet {
        let mut out = Vec::new();
        for &(a, b) in &self.ranges {
            let mut start = u64::from(a);
            let end = u64::from(b);
            for &(c, d) in &other.ranges {
                let (c, d) = (u64::from(c), u64::from(d));
                if d < start || c > end {
                    continue;
                }
                if c > start {
                    out.push((start as u32, (c - 1) as u32));
                }
                start = d + 1;
                if start > end {
                    break;
                }
            }
            if start <= end {
                out.push((start as u32, end as u32));
            }
        }
        IpSet { ranges: out }
    }

    /// True when every address of `self` is in `other`.
    pub fn is_subset(&self, other: &IpSet) -> bool {
        self.ranges.iter().all(|&(a, b)| other.ranges.iter().any(|&(c, d)| c <= a && b <= d))
    }

    /// True when the sets share an address.
    pub fn overlaps(&self, other: &IpSet) -> bool {
        self.ranges.iter().any(|&(a, b)| other.ranges.iter().any(|&(c, d)| a <= d && c <= b))
    }

    /// The contiguous pieces of the set.
    pub fn split(&self) -> Vec<IpSet> {
        self.ranges.iter().map(|&(a, b)| IpSet::range(a, b)).collect()
    }
}

impl fmt::Display for IpSet {
    /// netpol-analyzer's spelling: `10.0.0.0-10.255.255.255`, ranges joined by commas.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(a, b)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}-{}", Ipv4(a), Ipv4(b))?;
        }
        Ok(())
    }
}

struct Ipv4(u32);

impl fmt::Display for Ipv4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0.to_be_bytes();
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

/// Dotted-quad IPv4 without leading zeros (Go rejects them since 1.17).
fn parse_ipv4(text: &str) -> Option<u32> {
    let mut value: u32 = 0;
    let mut parts = 0;
    for part in text.split('.') {
        parts += 1;
        if parts > 4 || part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if part.len() > 1 && part.starts_with('0') {
            return None;
        }
        let octet: u32 = part.parse().ok()?;
        if octet > 255 {
            return None;
        }
        value = (value << 8) | octet;
    }
    (parts == 4).then_some(value)
}

/// Partitions the address space by the boundaries of `blocks`: the maximal contiguous
/// ranges on which membership in every block is constant. Together with `0.0.0.0/0` this
/// is the set of external peers netpol-analyzer reports (each range its own peer).
pub fn disjoint_blocks(blocks: &[IpSet]) -> Vec<IpSet> {
    let mut cuts: Vec<u64> = vec![0, 1u64 << 32];
    for block in blocks {
        for &(a, b) in block.ranges() {
            cuts.push(u64::from(a));
            cuts.push(u64::from(b) + 1);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2).map(|w| IpSet::range(w[0] as u32, (w[1] - 1) as u32)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_and_mask_host_bits() {
        assert_eq!(IpSet::from_cidr("10.1.2.3/8").unwrap().to_string(), "10.0.0.0-10.255.255.255");
        assert_eq!(IpSet::from_cidr("0.0.0.0/0").unwrap(), IpSet::all());
        assert_eq!(IpSet::from_cidr("1.2.3.4/32").unwrap().to_string(), "1.2.3.4-1.2.3.4");
        assert!(matches!(IpSet::from_cidr("10.0.0.0/33"), Err(CidrError::Invalid(_))));
        assert!(matches!(IpSet::from_cidr("010.0.0.0/8"), Err(CidrError::Invalid(_))));
        assert!(matches!(IpSet::from_cidr("10.0.0.0"), Err(CidrError::Invalid(_))));
        assert!(matches!(IpSet::from_cidr("fd00::/8"), Err(CidrError::Ipv6(_))));
    }

    #[test]
    fn except_and_subset() {
        let block =
            IpSet::from_cidr("10.0.0.0/8").unwrap().subtract(&IpSet::from_cidr("10.1.0.0/16").unwrap());
        assert_eq!(block.to_string(), "10.0.0.0-10.0.255.255,10.2.0.0-10.255.255.255");
        assert!(IpSet::from_cidr("10.3.0.0/16").unwrap().is_subset(&block));
        assert!(!IpSet::from_cidr("10.1.0.0/24").unwrap().is_subset(&block));
        assert!(IpSet::from_cidr("10.1.0.0/24").unwrap().overlaps(&IpSet::from_cidr("10.0.0.0/8").unwrap()));
    }

    #[test]
    fn disjoint_blocks_cut_at_every_boundary() {
        let blocks = [IpSet::from_cidr("10.0.0.0/8").unwrap(), IpSet::from_cidr("10.11.0.0/16").unwrap()];
        let parts: Vec<String> = disjoint_blocks(&blocks).iter().map(ToString::to_string).collect();
        assert_eq!(
            parts,
            [
                "0.0.0.0-9.255.255.255",
                "10.0.0.0-10.10.255.255",
                "10.11.0.0-10.11.255.255",
                "10.12.0.0-10.255.255.255",
                "11.0.0.0-255.255.255.255"
            ]
        );
        assert_eq!(disjoint_blocks(&[]), vec![IpSet::all()]);
    }
}
