//! Targets as the user gives them: `host`, `host:port`, `[v6]:port`, or an IPv4 CIDR
//! (explicit only, and capped: no sweep of a large network by accident).

use std::net::Ipv4Addr;

/// Most hosts one run may probe (a /24).
pub const MAX_HOSTS: usize = 256;

/// One host with the ports to probe (`None`: the default list or `--ports`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host as used in URLs (IPv6 in brackets).
    pub host: String,
    /// A port given with the host.
    pub port: Option<u16>,
}

/// A target that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("target {target:?}: {reason}")]
pub struct TargetError {
    /// As given.
    pub target: String,
    /// Why not.
    pub reason: String,
}

/// Expands the targets; the total number of hosts is capped at [`MAX_HOSTS`].
pub fn parse_targets(given: &[String]) -> Result<Vec<Target>, TargetError> {
    let mut out = Vec::new();
    for t in given {
        let err = |reason: String| TargetError { target: t.clone(), reason };
        let t = t.trim();
        if t.is_empty() {
            return Err(err("empty target".into()));
        }
        if let Some((net, bits)) = t.split_once('/') {
            let ip: Ipv4Addr =
                net.parse().map_err(|_| err("CIDR must be an IPv4 network such as 10.0.0.0/28".into()))?;
            let bits: u32 =
                bits.parse().ok().filter(|b| *b <= 32).ok_or_else(|| err("bad prefix length".into()))?;
            let count = 1u64 << (32 - bits);
            if count as usize > MAX_HOSTS || out.len() + count as usize > MAX_HOSTS {
                return Err(err(format!(
                    "{count} addresses: more than the cap of {MAX_HOSTS} hosts per run"
                )));
            }
            let base = u32::from(ip) & (u32::MAX.checked_shl(32 - bits).unwrap_or(0));
            for i in 0..count as u32 {
                out.push(Target { host: Ipv4Addr::from(base + i).to_string(), port: None });
            }
            continue;
        }
        let (host, port) = split_host_port(t).map_err(err)?;
        if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
            return Err(err("not a host name or address".into()));
        }
        out.push(Target { host, port });
        if out.len() > MAX_HOSTS {
            return Err(err(format!("more than the cap of {MAX_HOSTS} hosts per run")));
        }
    }
    Ok(out)
}

fn split_host_port(t: &str) -> Result<(String, Option<u16>), String> {
    let parse_port = |p: &str| p.parse::<u16>().map_err(|_| format!("bad port {p:?}"));
    if let Some(rest) = t.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or("unclosed '['")?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(parse_port(p)?),
            None if after.is_empty() => None,
            None => return Err("junk after ']'".into()),
        };
        return Ok((format!("[{h}]"), port));
    }
    match t.matches(':').count() {
        0 => Ok((t.to_string(), None)),
        1 => {
            let (h, p) = t.split_once(':').expect("one colon");
            Ok((h.to_string(), Some(parse_port(p)?)))
        }
        // A bare IPv6 address.
        _ => Ok((format!("[{t}]"), None)),
    }
}

/// Parses `--ports 6443,10250` (also ranges `10249-10259`, capped at 1024 ports).
pub fn parse_ports(text: &str) -> Result<Vec<u16>, String> {
    let mut ports = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let a: u16 = a.trim().parse().map_err(|_| format!("bad port {part:?}"))?;
        let b: u16 = b.trim().parse().map_err(|_| format!("bad port {part:?}"))?;
        if a == 0 || b < a {
            return Err(format!("bad port range {part:?}"));
        }
        ports.extend(a..=b);
        if ports.len() > 1024 {
            return Err("more than 1024 ports".into());
        }
    }
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_forms() {
        let t =
            parse_targets(&["10.0.0.1".into(), "h:2379".into(), "[::1]:10250".into(), "::1".into()]).unwrap();
        assert_eq!(t[1], Target { host: "h".into(), port: Some(2379) });
        assert_eq!(t[2], Target { host: "[::1]".into(), port: Some(10250) });
        assert_eq!(t[3].host, "[::1]");
        assert!(parse_targets(&["h:99999".into()]).is_err());
    }

    #[test]
    fn cidr_is_expanded_and_capped() {
        let t = parse_targets(&["10.0.0.5/30".into()]).unwrap();
        assert_eq!(
            t.iter().map(|t| t.host.as_str()).collect::<Vec<_>>(),
            ["10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7"]
        );
        assert!(parse_targets(&["10.0.0.0/16".into()]).unwrap_err().reason.contains("cap"));
    }

    #[test]
    fn port_lists() {
        assert_eq!(parse_ports("10250, 6443,10249-10250").unwrap(), [6443, 10249, 10250]);
        assert!(parse_ports("0").is_err());
        assert!(parse_ports("1-5000").is_err());
    }
}
