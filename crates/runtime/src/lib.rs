//! A Falco-compatible rule engine over Kubernetes audit events and syscall events.
//!
//! - [`loader`]: Falco rule files (`list`, `macro`, `rule`, `append`/`override`, versions),
//!   merged across files in load order.
//! - [`condition`]: the condition language's parser.
//! - [`fields`]: the `k8s_audit` fields (`ka.*`, `jevt.*`), as the k8saudit and json plugins
//!   define them.
//! - [`engine`]: the compiled [`Ruleset`] (`Send + Sync`) evaluating one [`AuditEvent`] at a
//!   time into [`Alert`]s.
//! - [`event`]: recognising audit events (`Event`, `EventList`) in JSON streams.
//! - [`syscall`] and [`sysfields`]: syscall events (the `syscall` source, the sensor's events
//!   and their capture format) and their Falco fields (`evt.*`, `proc.*`, `fd.*`, ...).
//! - [`hostnames`]: the host names rules compare addresses with (`fd.sip.name`), resolved
//!   and refreshed outside evaluation.
//!
//! ```
//! use kubesecops_runtime::{event, json, RuleLoader};
//!
//! let mut loader = RuleLoader::new();
//! loader.load_str("rules.yaml", r#"
//! - rule: Exec into pod
//!   desc: exec
//!   condition: ka.target.subresource in (exec, attach)
//!   output: "%ka.user.name ran %ka.uri.param[command] in %ka.target.name"
//!   priority: NOTICE
//!   source: k8s_audit
//! "#).unwrap();
//! let rules = loader.compile().unwrap();
//! let doc = json::parse(r#"{"kind":"Event","auditID":"1","stageTimestamp":"2024-01-01T00:00:00Z",
//!   "user":{"username":"eve"},"objectRef":{"resource":"pods","name":"db","subresource":"exec"},
//!   "requestURI":"/api/v1/namespaces/x/pods/db/exec?command=sh"}"#).unwrap();
//! let events = event::events_in(&doc);
//! let alerts = rules.evaluate(events[0].as_ref().unwrap());
//! assert_eq!(alerts[0].output, "eve ran sh in db");
//! ```

pub mod builtin;
mod compile;
pub mod condition;
pub mod engine;
pub mod event;
pub mod fields;
pub mod hostnames;
pub mod json;
pub mod loader;
pub mod matchers;
pub mod pathfilter;
pub mod syscall;
pub mod sysfields;
pub mod time;

pub use engine::{Alert, Matching, RuleMeta, Ruleset, RulesetStats};
pub use event::{AuditEvent, EventError};
pub use loader::{Location, Notice, Priority, RuleError, RuleLoader};
pub use syscall::SyscallEvent;
