//! The sensor's counters in the Prometheus text format, and a small HTTP server for them
//! (`GET /metrics`, `GET /healthz`).
//!
//! The event loop is single-threaded and synchronous; it publishes its counters here at each
//! tick (about once a second) and each alert as it is written, and the server thread only
//! reads. A plain `std::net` server is enough for one scrape every few seconds and keeps the
//! sensor free of an HTTP stack of its own.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kubesecops_core::exposition::escape_label;

/// Lookups of the CRI cache by how they were answered.
#[derive(Debug, Default)]
pub struct CriStats {
    hit: AtomicU64,
    found: AtomicU64,
    miss: AtomicU64,
    negative: AtomicU64,
    error: AtomicU64,
    unavailable: AtomicU64,
}

impl CriStats {
    /// Counts one lookup.
    #[cfg(feature = "cri")]
    pub fn count(&self, result: crate::cri::LookupResult) {
        use crate::cri::LookupResult as R;
        let counter = match result {
            R::Hit => &self.hit,
            R::Found => &self.found,
            R::Miss => &self.miss,
            R::Negative => &self.negative,
            R::Error => &self.error,
            R::Unavailable => &self.unavailable,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Every result label with its count, in a fixed order.
    pub fn snapshot(&self) -> [(&'static str, u64); 6] {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        [
            ("hit", get(&self.hit)),
            ("found", get(&self.found)),
            ("miss", get(&self.miss)),
            ("negative", get(&self.negative)),
            ("error", get(&self.error)),
            ("unavailable", get(&self.unavailable)),
        ]
    }
}

/// What `/metrics` shows: the event loop's counters, alerts by rule and priority, and the CRI
/// lookups.
#[derive(Debug, Default)]
pub struct Metrics {
    records: AtomicU64,
    events: AtomicU64,
    user_drops: AtomicU64,
    kernel_drops: Mutex<Vec<u64>>,
    kernel_filtered: Mutex<Vec<u64>>,
    alerts: Mutex<BTreeMap<(String, String), u64>>,
    /// CRI lookups (shared with the CRI cache, which counts them as they happen).
    pub cri: Arc<CriStats>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves plain counters behind; keep serving them.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Metrics {
    /// Publishes the event loop's counters (totals since start).
    pub fn set_counters(&self, records: u64, events: u64, kernel_drops: &[u64], user_drops: u64) {
        self.records.store(records, Ordering::Relaxed);
        self.events.store(events, Ordering::Relaxed);
        self.user_drops.store(user_drops, Ordering::Relaxed);
        let mut drops = lock(&self.kernel_drops);
        drops.clear();
        drops.extend_from_slice(kernel_drops);
    }

    /// Publishes the opens the kernel kept because no rule can match their path, per CPU.
    pub fn set_kernel_filtered(&self, per_cpu: &[u64]) {
        let mut filtered = lock(&self.kernel_filtered);
        filtered.clear();
        filtered.extend_from_slice(per_cpu);
    }

    /// Counts one alert written.
    pub fn alert(&self, rule: &str, priority: &str) {
        *lock(&self.alerts).entry((rule.to_string(), priority.to_string())).or_default() += 1;
    }

    /// The exposition text (Prometheus text format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut family = |name: &str, help: &str, samples: &[(String, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let plain = |v: &AtomicU64| vec![(String::new(), v.load(Ordering::Relaxed))];
        family(
            "kubesecops_sensor_records_total",
            "Records read from the ring buffer.",
            &plain(&self.records),
        );
        family("kubesecops_sensor_events_total", "Events handed to the rules.", &plain(&self.events));
        let alerts = lock(&self.alerts);
        let by_rule: Vec<(String, u64)> = alerts
            .iter()
            .map(|((rule, priority), n)| {
                (format!("{{rule=\"{}\",priority=\"{}\"}}", escape_label(rule), escape_label(priority)), *n)
            })
            .collect();
        drop(alerts);
        // No sample before the first alert; sum() over the family gives the total.
        family("kubesecops_sensor_alerts_total", "Alerts written, by rule and priority.", &by_rule);
        let per_cpu = |counts: &Mutex<Vec<u64>>| -> Vec<(String, u64)> {
            lock(counts).iter().enumerate().map(|(cpu, n)| (format!("{{cpu=\"{cpu}\"}}"), *n)).collect()
        };
        family(
            "kubesecops_sensor_kernel_drops_total",
            "Records the kernel could not queue (ring buffer full), per CPU.",
            &per_cpu(&self.kernel_drops),
        );
        family(
            "kubesecops_sensor_kernel_filtered_total",
            "Opens kept in the kernel because no loaded rule can match their path, per CPU.",
            &per_cpu(&self.kernel_filtered),
        );
        family(
            "kubesecops_sensor_user_drops_total",
            "Records dropped in user space (too many between two polls) or undecodable.",
            &plain(&self.user_drops),
        );
        let cri: Vec<(String, u64)> =
            self.cri.snapshot().iter().map(|(result, n)| (format!("{{result=\"{result}\"}}"), *n)).collect();
        family(
            "kubesecops_sensor_cri_lookups_total",
            "Container lookups of the CRI cache, by how they were answered.",
            &cri,
        );
        out
    }
}

/// Serves `/metrics` and `/healthz` on `addr` from a thread of its own; returns the bound
/// address (port 0 picks one).
pub fn serve(addr: impl ToSocketAddrs, metrics: Arc<Metrics>) -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    std::thread::Builder::new().name("sensor-metrics".into()).spawn(move || {
        // One scrape at a time: a slow or silent client is cut off by the timeouts in respond.
        for stream in listener.incoming().flatten() {
            let _ = respond(stream, &metrics);
        }
    })?;
    Ok(local)
}

fn respond(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    // Read the request head only; the endpoints take no body.
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut parts = head.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let path = target.split('?').next().unwrap_or_default();
    let (status, content_type, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            ("200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics.render())
        }
        ("GET" | "HEAD", "/healthz") => ("200 OK", "text/plain; charset=utf-8", "ok\n".to_string()),
        ("GET" | "HEAD", _) => ("404 Not Found", "text/plain; charset=utf-8", "not found\n".to_string()),
        _ => ("405 Method Not Allowed", "text/plain; charset=utf-8", "method not allowed\n".to_string()),
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        response.push_str(&body);
    }
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A strict reading of the text format: every sample's family has HELP and TYPE lines
    /// before it, names and label names are valid, label values are quoted, values are numbers.
    fn parse(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
        let mut typed = std::collections::HashSet::new();
        let mut helped = std::collections::HashSet::new();
        let valid_name = |n: &str| {
            !n.is_empty()
                && n.chars().enumerate().all(|(i, c)| {
                    c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
                })
        };
        let mut samples = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap();
                assert!(valid_name(name), "{line}");
                assert!(helped.insert(name.to_string()), "HELP twice: {line}");
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split(' ');
                let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
                assert!(["counter", "gauge", "untyped", "histogram", "summary"].contains(&kind), "{line}");
                assert!(typed.insert(name.to_string()), "TYPE twice: {line}");
                continue;
            }
            assert!(!line.starts_with('#') && !line.is_empty(), "{line}");
            let (series, value) = line.rsplit_once(' ').unwrap();
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("value: {line}"));
            let (name, labels) = match series.split_once('{') {
                None => (series, BTreeMap::new()),
                Some((name, rest)) => {
                    let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("labels: {line}"));
                    let mut labels = BTreeMap::new();
                    let mut rest = body;
                    while !rest.is_empty() {
                        let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("label: {line}"));
                        assert!(valid_name(key) && !key.contains(':'), "label name: {line}");
                        let mut value = String::new();
                        let mut chars = after.char_indices();
                        let end = loop {
                            match chars.next() {
                                Some((_, '\\')) => value.push(chars.next().unwrap().1),
                                Some((i, '"')) => break i,
                                Some((_, c)) => value.push(c),
                                None => panic!("unterminated: {line}"),
                            }
                        };
                        labels.insert(key.to_string(), value);
                        rest = after[end + 1..].strip_prefix(',').unwrap_or(&after[end + 1..]);
                    }
                    (name, labels)
                }
            };
            assert!(valid_name(name), "{line}");
            assert!(typed.contains(name) && helped.contains(name), "no HELP/TYPE before {line}");
            samples.push((name.to_string(), labels, value));
        }
        samples
    }

    fn value(
        samples: &[(String, BTreeMap<String, String>, f64)],
        name: &str,
        labels: &[(&str, &str)],
    ) -> f64 {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .unwrap_or_else(|| panic!("{name} {labels:?}"))
            .2
    }

    #[test]
    fn exposition_parses_and_carries_every_counter() {
        let metrics = Metrics::default();
        metrics.set_counters(120, 80, &[0, 3, 0, 7], 2);
        metrics.set_kernel_filtered(&[40, 2]);
        metrics.alert("Terminal shell in container", "Notice");
        metrics.alert("Terminal shell in container", "Notice");
        metrics.alert("Read \"sensitive\" file\\", "Warning");
        let text = metrics.render();
        let samples = parse(&text);
        assert_eq!(value(&samples, "kubesecops_sensor_records_total", &[]), 120.0);
        assert_eq!(value(&samples, "kubesecops_sensor_events_total", &[]), 80.0);
        assert_eq!(value(&samples, "kubesecops_sensor_kernel_drops_total", &[("cpu", "3")]), 7.0);
        assert_eq!(value(&samples, "kubesecops_sensor_kernel_drops_total", &[("cpu", "0")]), 0.0);
        assert_eq!(value(&samples, "kubesecops_sensor_user_drops_total", &[]), 2.0);
        assert_eq!(value(&samples, "kubesecops_sensor_kernel_filtered_total", &[("cpu", "0")]), 40.0);
        assert_eq!(value(&samples, "kubesecops_sensor_kernel_filtered_total", &[("cpu", "1")]), 2.0);
        assert_eq!(
            value(
                &samples,
                "kubesecops_sensor_alerts_total",
                &[("rule", "Terminal shell in container"), ("priority", "Notice")]
            ),
            2.0
        );
        assert_eq!(
            value(&samples, "kubesecops_sensor_alerts_total", &[("rule", "Read \"sensitive\" file\\")]),
            1.0,
            "escaped label values read back"
        );
        assert_eq!(value(&samples, "kubesecops_sensor_cri_lookups_total", &[("result", "hit")]), 0.0);
        assert!(text.ends_with('\n'));
    }

    fn get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_metrics_and_health() {
        let metrics = Arc::new(Metrics::default());
        metrics.set_counters(5, 4, &[1], 0);
        let addr = serve("127.0.0.1:0", metrics.clone()).unwrap();
        let response = get(addr, "/metrics");
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.contains("Content-Type: text/plain; version=0.0.4"), "{response}");
        let body = response.split_once("\r\n\r\n").unwrap().1;
        assert_eq!(value(&parse(body), "kubesecops_sensor_kernel_drops_total", &[("cpu", "0")]), 1.0);
        metrics.set_counters(9, 4, &[1, 2], 0);
        let body = get(addr, "/metrics");
        assert!(body.contains("kubesecops_sensor_records_total 9\n"), "counters are read at each scrape");
        assert!(get(addr, "/healthz").ends_with("\r\n\r\nok\n"));
        assert!(get(addr, "/nope").starts_with("HTTP/1.1 404"));
    }
}
