//! Prometheus metrics in the text exposition format, written by hand (a few counters and one
//! histogram do not need a metrics library).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use kubesecops_core::exposition::escape_label;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// The webhook's metrics. Shared by every request; cheap to update.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Requests by outcome (`allowed`, `denied`, `warned`, `skipped`, `error`, `bad_request`).
    requests: Mutex<BTreeMap<&'static str, u64>>,
    /// Violations by (rule, mode).
    decisions: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// Latency histogram: counts per bucket (cumulative on output), then +Inf.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    latency_sum_micros: AtomicU64,
    latency_count: AtomicU64,
    /// Policy reloads by outcome.
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    /// 1 while the policies in use come from the last reload attempt, 0 after a failed one.
    last_reload_ok: AtomicU64,
    /// TLS certificate reloads.
    cert_reloads_ok: AtomicU64,
    cert_reloads_failed: AtomicU64,
}

impl Metrics {
    /// Fresh metrics (the initial load counts as a successful reload state).
    pub fn new() -> Metrics {
        let metrics = Metrics::default();
        metrics.last_reload_ok.store(1, Ordering::Relaxed);
        metrics
    }

    /// Counts one request with its outcome and latency.
    pub fn observe_request(&self, result: &'static str, latency: Duration) {
        *lock(&self.requests).entry(result).or_default() += 1;
        let seconds = latency.as_secs_f64();
        let index = BUCKETS.iter().position(|bound| seconds <= *bound).unwrap_or(BUCKETS.len());
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add(latency.as_micros() as u64, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one violation of `rule` in `mode`.
    pub fn observe_violation(&self, rule: &str, mode: &'static str) {
        let mut decisions = lock(&self.decisions);
        // Look up before allocating: the same rules fire again and again.
        if let Some(count) = decisions.get_mut(&(rule.to_string(), mode)) {
            *count += 1;
        } else {
            decisions.insert((rule.to_string(), mode), 1);
        }
    }

    /// Records a policy reload attempt.
    pub fn observe_reload(&self, ok: bool) {
        if ok {
            self.reloads_ok.fetch_add(1, Ordering::Relaxed);
        } else {
            self.reloads_failed.fetch_add(1, Ordering::Relaxed);
        }
        self.last_reload_ok.store(u64::from(ok), Ordering::Relaxed);
    }

    /// Records a TLS certificate reload attempt.
    pub fn observe_cert_reload(&self, ok: bool) {
        let counter = if ok { &self.cert_reloads_ok } else { &self.cert_reloads_failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The metrics in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP kubesecops_admission_requests_total Admission requests by result.\n");
        out.push_str("# TYPE kubesecops_admission_requests_total counter\n");
        for (result, count) in lock(&self.requests).iter() {
            let _ = writeln!(out, "kubesecops_admission_requests_total{{result=\"{result}\"}} {count}");
        }
        out.push_str(
            "# HELP kubesecops_admission_violations_total Rule violations found, by rule and mode.\n",
        );
        out.push_str("# TYPE kubesecops_admission_violations_total counter\n");
        for ((rule, mode), count) in lock(&self.decisions).iter() {
            let _ = writeln!(
                out,
                "kubesecops_admission_violations_total{{rule=\"{}\",mode=\"{mode}\"}} {count}",
                escape_label(rule)
            );
        }
        out.push_str(
            "# HELP kubesecops_admission_request_duration_seconds Time from request body to response.\n",
        );
        out.push_str("# TYPE kubesecops_admission_request_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "kubesecops_admission_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.buckets[BUCKETS.len()].load(Ordering::Relaxed);
        let _ =
            writeln!(out, "kubesecops_admission_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "kubesecops_admission_request_duration_seconds_sum {sum}");
        let _ = writeln!(
            out,
            "kubesecops_admission_request_duration_seconds_count {}",
            self.latency_count.load(Ordering::Relaxed)
        );
        let counter = |out: &mut String, name: &str, help: &str, pairs: &[(&str, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (result, value) in pairs {
                let _ = writeln!(out, "{name}{{result=\"{result}\"}} {value}");
            }
        };
        counter(
            &mut out,
            "kubesecops_admission_policy_reloads_total",
            "Policy reload attempts by result.",
            &[
                ("success", self.reloads_ok.load(Ordering::Relaxed)),
                ("failure", self.reloads_failed.load(Ordering::Relaxed)),
            ],
        );
        out.push_str(
            "# HELP kubesecops_admission_policy_reload_success 1 when the last policy reload succeeded.\n",
        );
        out.push_str("# TYPE kubesecops_admission_policy_reload_success gauge\n");
        let _ = writeln!(
            out,
            "kubesecops_admission_policy_reload_success {}",
            self.last_reload_ok.load(Ordering::Relaxed)
        );
        counter(
            &mut out,
            "kubesecops_admission_certificate_reloads_total",
            "TLS certificate reload attempts by result.",
            &[
                ("success", self.cert_reloads_ok.load(Ordering::Relaxed)),
                ("failure", self.cert_reloads_failed.load(Ordering::Relaxed)),
            ],
        );
        out
    }
}

/// A poisoned lock only means a panic elsewhere while counting; the counts are still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let metrics = Metrics::new();
        metrics.observe_request("allowed", Duration::from_micros(300));
        metrics.observe_request("denied", Duration::from_millis(3));
        metrics.observe_request("denied", Duration::from_secs(10));
        metrics.observe_violation("KSO-C001", "enforce");
        metrics.observe_violation("KSO-C001", "enforce");
        metrics.observe_violation("K8sRequired\"Labels/x", "warn");
        metrics.observe_reload(false);
        let text = metrics.render();
        for line in [
            "kubesecops_admission_requests_total{result=\"allowed\"} 1",
            "kubesecops_admission_requests_total{result=\"denied\"} 2",
            "kubesecops_admission_violations_total{rule=\"KSO-C001\",mode=\"enforce\"} 2",
            "kubesecops_admission_violations_total{rule=\"K8sRequired\\\"Labels/x\",mode=\"warn\"} 1",
            "kubesecops_admission_request_duration_seconds_bucket{le=\"0.0005\"} 1",
            "kubesecops_admission_request_duration_seconds_bucket{le=\"0.001\"} 1",
            "kubesecops_admission_request_duration_seconds_bucket{le=\"0.005\"} 2",
            "kubesecops_admission_request_duration_seconds_bucket{le=\"2.5\"} 2",
            "kubesecops_admission_request_duration_seconds_bucket{le=\"+Inf\"} 3",
            "kubesecops_admission_request_duration_seconds_count 3",
            "kubesecops_admission_policy_reloads_total{result=\"failure\"} 1",
            "kubesecops_admission_policy_reload_success 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
