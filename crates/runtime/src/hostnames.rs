//! Host names that rules compare addresses with (`fd.sip.name = "api.example.com"`), resolved
//! to addresses and refreshed, as Falco's DNS manager does: an address matches a name when
//! the name's last resolution included it.
//!
//! Compiling a rule registers the names its `fd.*ip.name` checks use in the process-wide
//! [`table`]; nothing is resolved until the caller asks ([`HostNames::refresh`]), so loading
//! rules never touches the network. `kubesecops runtime sensor` resolves them at start and
//! then periodically in a thread of its own; evaluation only reads the last results and never
//! waits on a lookup.

use std::collections::BTreeMap;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::{OnceLock, RwLock};

/// Resolves a host name to its addresses.
pub trait Resolve {
    /// The addresses of `name`; an error text when it cannot be resolved.
    fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, String>;
}

/// The system's resolver (`getaddrinfo`: `/etc/hosts`, then DNS as `nsswitch.conf` says).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, String> {
        let addrs = (name, 0u16).to_socket_addrs().map_err(|e| e.to_string())?;
        let mut ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
        ips.sort();
        ips.dedup();
        Ok(ips)
    }
}

/// A fixed table of names (tests, or names given on the command line).
#[derive(Debug, Clone, Default)]
pub struct StaticResolver(pub BTreeMap<String, Vec<IpAddr>>);

impl Resolve for StaticResolver {
    fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, String> {
        self.0.get(name).cloned().ok_or_else(|| "not in the table".to_string())
    }
}

/// The outcome of resolving one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The name.
    pub name: String,
    /// Its addresses now (kept from the previous resolution when this one failed).
    pub addrs: Vec<IpAddr>,
    /// Why this resolution failed, if it did.
    pub error: Option<String>,
}

/// The registered names and their last resolved addresses.
#[derive(Debug, Default)]
pub struct HostNames {
    names: RwLock<BTreeMap<String, Vec<IpAddr>>>,
}

/// The process-wide table the compiler registers names in.
pub fn table() -> &'static HostNames {
    static TABLE: OnceLock<HostNames> = OnceLock::new();
    TABLE.get_or_init(HostNames::default)
}

impl HostNames {
    /// Adds a name (no lookup yet); registering it again changes nothing.
    pub fn register(&self, name: &str) {
        let name = canonical(name);
        if name.is_empty() || name.parse::<IpAddr>().is_ok() {
            return;
        }
        let mut names = self.names.write().unwrap_or_else(|e| e.into_inner());
        names.entry(name).or_default();
    }

    /// The registered names.
    pub fn names(&self) -> Vec<String> {
        self.names.read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect()
    }

    /// Resolves every registered name again. A name that fails keeps its previous addresses
    /// (a DNS hiccup must not turn a rule off); the lookups run without holding the table,
    /// so evaluation goes on meanwhile.
    pub fn refresh(&self, resolver: &dyn Resolve) -> Vec<Resolution> {
        let mut out = Vec::new();
        for name in self.names() {
            let result = resolver.resolve(&name);
            let mut names = self.names.write().unwrap_or_else(|e| e.into_inner());
            let Some(addrs) = names.get_mut(&name) else { continue };
            let error = match result {
                Ok(found) => {
                    *addrs = found;
                    None
                }
                Err(e) => Some(e),
            };
            out.push(Resolution { name, addrs: addrs.clone(), error });
        }
        out
    }

    /// The registered names whose last resolution includes `ip` (text form), in name order.
    pub fn names_of(&self, ip: &str) -> Vec<String> {
        let Ok(ip) = ip.parse::<IpAddr>() else { return Vec::new() };
        let names = self.names.read().unwrap_or_else(|e| e.into_inner());
        names.iter().filter(|(_, addrs)| addrs.contains(&ip)).map(|(name, _)| name.clone()).collect()
    }
}

/// A name as the table keeps it: fields yield, and operands are compared in, this form
/// (without case and without a trailing dot, as DNS compares names).
pub fn canonical(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_refresh_and_keep_addresses_on_failure() {
        let names = HostNames::default();
        names.register("API.Example.test.");
        names.register("10.0.0.1");
        names.register("db.example.test");
        assert_eq!(names.names(), ["api.example.test", "db.example.test"]);
        assert!(names.names_of("10.0.0.7").is_empty(), "nothing matches before a resolution");

        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut table = BTreeMap::new();
        table.insert("api.example.test".to_string(), vec![ip("10.0.0.7"), ip("fd00::7")]);
        let results = names.refresh(&StaticResolver(table.clone()));
        assert_eq!(results.len(), 2);
        assert!(results[1].error.is_some(), "db.example.test is not in the table");
        assert_eq!(names.names_of("10.0.0.7"), ["api.example.test"]);
        assert_eq!(names.names_of("fd00:0::7"), ["api.example.test"]);

        // The name moves: the next refresh follows it.
        table.insert("api.example.test".to_string(), vec![ip("10.0.0.8")]);
        names.refresh(&StaticResolver(table));
        assert!(names.names_of("10.0.0.7").is_empty());
        assert_eq!(names.names_of("10.0.0.8"), ["api.example.test"]);

        // A failed lookup keeps the last addresses.
        names.refresh(&StaticResolver::default());
        assert_eq!(names.names_of("10.0.0.8"), ["api.example.test"]);
    }

    #[test]
    fn the_system_resolver_reads_etc_hosts() {
        // `localhost` is in /etc/hosts on every machine this runs on: no DNS query is sent.
        let addrs = SystemResolver.resolve("localhost").unwrap();
        assert!(addrs.iter().any(|a| a.is_loopback()), "{addrs:?}");
    }
}
