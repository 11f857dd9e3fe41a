//! A small HTTP(S) client for probing: every request has a time limit, bodies are capped, and
//! certificate verification is OFF. That is deliberate: an attacker does not verify the
//! server's certificate either, and a probe must reach the service to say what it exposes.
//! Never reuse this client for anything that trusts what it reads.

use std::time::{Duration, Instant};

use ureq::tls::TlsConfig;

/// Largest body read from a response.
pub const MAX_BODY: u64 = 2 * 1024 * 1024;

/// A response: status and (capped) body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Body as text (lossy), at most [`MAX_BODY`] bytes.
    pub body: String,
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The time limit passed.
    #[error("timed out")]
    Timeout,
    /// Refused, unreachable, TLS failure, protocol error...
    #[error("{0}")]
    Failed(String),
}

/// Requests with a per-request timeout bounded by the run's deadline.
#[derive(Debug, Clone)]
pub struct Client {
    timeout: Duration,
    deadline: Instant,
}

impl Client {
    /// A client whose requests take at most `timeout`, and never run past `deadline`.
    pub fn new(timeout: Duration, deadline: Instant) -> Client {
        Client { timeout, deadline }
    }

    /// Time left for one request (zero once the deadline passed).
    pub fn budget(&self) -> Duration {
        self.timeout.min(self.deadline.saturating_duration_since(Instant::now()))
    }

    fn agent(&self, budget: Duration) -> ureq::Agent {
        let tls = TlsConfig::builder().disable_verification(true).build();
        ureq::Agent::config_builder()
            .timeout_global(Some(budget))
            .timeout_connect(Some(budget))
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .tls_config(tls)
            .build()
            .new_agent()
    }

    /// `GET url` with optional extra headers.
    pub fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<Reply, HttpError> {
        self.send("GET", url, headers, None)
    }

    /// `POST url` with a body.
    pub fn post(&self, url: &str, headers: &[(&str, &str)], body: &str) -> Result<Reply, HttpError> {
        self.send("POST", url, headers, Some(body))
    }

    fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<Reply, HttpError> {
        let budget = self.budget();
        if budget.is_zero() {
            return Err(HttpError::Timeout);
        }
        let agent = self.agent(budget);
        let result = match body {
            None => {
                let mut req = agent.get(url);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.call()
            }
            Some(b) => {
                let mut req = if method == "POST" { agent.post(url) } else { agent.put(url) };
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.send(b)
            }
        };
        match result {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(MAX_BODY)
                    .read_to_vec()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                Ok(Reply { status, body })
            }
            Err(ureq::Error::Timeout(_)) => Err(HttpError::Timeout),
            Err(e) => Err(HttpError::Failed(e.to_string())),
        }
    }
}
