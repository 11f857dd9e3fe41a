//! Connecting like kubectl: kubeconfig (or the in-cluster service account), QPS limit, timeouts.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::ClusterError;

/// How to reach the cluster.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Kubeconfig file; `None`: `KUBECONFIG`, then `~/.kube/config`, then the in-cluster
    /// service account.
    pub kubeconfig: Option<PathBuf>,
    /// Context name; `None`: the kubeconfig's current context.
    pub context: Option<String>,
    /// Requests per second at most (client side, like client-go's QPS).
    pub qps: f64,
    /// Timeout of each request.
    pub timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions { kubeconfig: None, context: None, qps: 50.0, timeout: Duration::from_secs(30) }
    }
}

/// A connected cluster: the client, the context name reports show, and the limits.
pub struct Cluster {
    pub(crate) client: Client,
    pub(crate) runtime: tokio::runtime::Runtime,
    context: String,
    pub(crate) timeout: Duration,
    pub(crate) limiter: RateLimiter,
}

/// A client-side request rate limit: requests are spaced by `1/qps` seconds at least.
pub(crate) struct RateLimiter {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimiter {
    fn new(qps: f64) -> RateLimiter {
        let interval = if qps > 0.0 { Duration::from_secs_f64(1.0 / qps) } else { Duration::ZERO };
        RateLimiter { interval, next: Mutex::new(Instant::now()) }
    }

    /// Waits until the next request may go.
    pub(crate) async fn acquire(&self) {
        let wait = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + self.interval;
            at - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

fn refuse_basic_auth(kubeconfig: &Kubeconfig, context: Option<&str>) -> Result<(), ClusterError> {
    let context_name = context.map(str::to_string).or_else(|| kubeconfig.current_context.clone());
    let Some(context_name) = context_name else { return Ok(()) };
    let user = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.as_ref())
        .map(|c| c.user.clone().unwrap_or_default());
    let Some(user) = user else { return Ok(()) };
    let auth = kubeconfig.auth_infos.iter().find(|a| a.name == user).and_then(|a| a.auth_info.as_ref());
    let uses_basic = auth.is_some_and(|a| a.username.is_some() || a.password.is_some());
    let has_other = auth.is_some_and(|a| {
        a.token.is_some()
            || a.token_file.is_some()
            || a.client_certificate.is_some()
            || a.client_certificate_data.is_some()
            || a.exec.is_some()
            || a.auth_provider.is_some()
    });
    if uses_basic && !has_other {
        return Err(ClusterError::BasicAuth { user });
    }
    Ok(())
}

impl Cluster {
    /// Connects as kubectl would: `--kubeconfig`, else `KUBECONFIG`/`~/.kube/config`, else the
    /// in-cluster service account. Nothing is requested yet.
    pub fn connect(options: &ConnectOptions) -> Result<Cluster, ClusterError> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let kubeconfig = match &options.kubeconfig {
            Some(path) => Some(
                Kubeconfig::read_from(path)
                    .map_err(|e| ClusterError::Kubeconfig(format!("{}: {e}", path.display())))?,
            ),
            None => match Kubeconfig::read() {
                Ok(k) => Some(k),
                Err(_) if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => None,
                Err(e) => return Err(ClusterError::NoConfig(e.to_string())),
            },
        };
        let (mut config, context) = match kubeconfig {
            Some(kubeconfig) => {
                refuse_basic_auth(&kubeconfig, options.context.as_deref())?;
                let context =
                    options.context.clone().or_else(|| kubeconfig.current_context.clone()).ok_or_else(
                        || ClusterError::Kubeconfig("no current-context and no --context".into()),
                    )?;
                if !kubeconfig.contexts.iter().any(|c| c.name == context) {
                    return Err(ClusterError::Kubeconfig(format!("no context named {context:?}")));
                }
                let kube_options =
                    KubeConfigOptions { context: Some(context.clone()), cluster: None, user: None };
                let config = runtime
                    .block_on(Config::from_custom_kubeconfig(kubeconfig, &kube_options))
                    .map_err(|e| ClusterError::Kubeconfig(e.to_string()))?;
                (config, context)
            }
            None => {
                let config = Config::incluster().map_err(|e| ClusterError::NoConfig(e.to_string()))?;
                (config, "in-cluster".to_string())
            }
        };
        config.connect_timeout = Some(options.timeout);
        config.read_timeout = Some(options.timeout);
        config.write_timeout = Some(options.timeout);
        let client = {
            // The client spawns its connection tasks on the runtime it is built in.
            let _guard = runtime.enter();
            Client::try_from(config).map_err(|e| ClusterError::Client(e.to_string()))?
        };
        Ok(Cluster {
            client,
            runtime,
            context,
            timeout: options.timeout,
            limiter: RateLimiter::new(options.qps),
        })
    }

    /// The context name (`in-cluster` inside a pod).
    pub fn context(&self) -> &str {
        &self.context
    }

    /// The path findings on live objects carry: `cluster://CONTEXT`.
    pub fn location_path(&self) -> String {
        format!("cluster://{}", self.context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeconfig(user_block: &str) -> Kubeconfig {
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster: {{server: 'https://127.0.0.1:1'}}\n\
             contexts:\n- name: c\n  context: {{cluster: k, user: u}}\nusers:\n- name: u\n  user:\n{user_block}"
        );
        Kubeconfig::from_yaml(&text).unwrap()
    }

    #[test]
    fn basic_auth_is_refused_with_a_reason() {
        let err =
            refuse_basic_auth(&kubeconfig("    username: admin\n    password: secret\n"), None).unwrap_err();
        assert!(err.to_string().contains("basic authentication"), "{err}");
        assert!(refuse_basic_auth(&kubeconfig("    token: abc\n"), None).is_ok());
    }

    #[test]
    fn rate_limit_spaces_requests() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let limiter = RateLimiter::new(100.0);
        let start = Instant::now();
        runtime.block_on(async {
            for _ in 0..6 {
                limiter.acquire().await;
            }
        });
        assert!(start.elapsed() >= Duration::from_millis(45), "{:?}", start.elapsed());
    }

    #[test]
    fn missing_context_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster: {server: 'https://127.0.0.1:1'}\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\nusers:\n- name: u\n  user: {token: t}\n",
        )
        .unwrap();
        let options = ConnectOptions {
            kubeconfig: Some(path.clone()),
            context: Some("nope".into()),
            ..Default::default()
        };
        let Err(err) = Cluster::connect(&options) else { panic!("connected") };
        assert!(err.to_string().contains("nope"), "{err}");
        let ok = Cluster::connect(&ConnectOptions { kubeconfig: Some(path), ..Default::default() }).unwrap();
        assert_eq!(ok.location_path(), "cluster://c");
    }
}
