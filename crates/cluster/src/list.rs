//! Discovery and paginated listing of every served resource.

use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;

use kube::api::ListParams;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::connect::Cluster;
use crate::ClusterError;

/// One listable resource at its preferred version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// API group (empty for core).
    pub group: String,
    /// Version (`v1`, `v1beta1`).
    pub version: String,
    /// Plural resource name.
    pub resource: String,
    /// Kind of its objects.
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
}

impl Resource {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `resource.group` as kubectl writes it (`deployments.apps`, `pods`).
    pub fn display(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    fn url(&self, namespace: Option<&str>) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}", self.api_version())
        };
        match namespace {
            Some(ns) => format!("{base}/namespaces/{ns}/{}", self.resource),
            None => format!("{base}/{}", self.resource),
        }
    }
}

/// Which resources to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every served, listable resource (see [`Cluster::discover`] for the few left out).
    All,
    /// Only these `resource.group` names (`roles.rbac.authorization.k8s.io`, `pods`).
    Only(Vec<String>),
}

/// Something the scan did not see, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// `resource.group`, or `group G` when a whole API group could not be discovered.
    pub resource: String,
    /// The namespace that was listed, when one was.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// HTTP status, when the API server answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// Why: the API server's message or the client error.
    pub reason: String,
}

/// What a listing covered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSummary {
    /// The kubeconfig context.
    pub context: String,
    /// Resources listed completely.
    pub resources: usize,
    /// Objects read.
    pub objects: usize,
    /// What could not be read.
    pub gaps: Vec<Gap>,
}

impl ListSummary {
    /// True when something could not be read: results cover only part of the cluster.
    pub fn partial(&self) -> bool {
        !self.gaps.is_empty()
    }
}

/// Resources not listed: duplicate views of the same objects and transient data with no
/// security meaning. Events are served by two groups and are numerous; metrics are computed.
fn skipped(group: &str, resource: &str) -> bool {
    matches!((group, resource), ("", "events") | ("events.k8s.io", "events"))
        || group == "metrics.k8s.io"
        || (group == "extensions" && resource == "ingresses")
}

#[derive(Deserialize)]
struct RawList {
    #[serde(default)]
    metadata: RawListMeta,
    #[serde(default)]
    items: Vec<Json>,
}

#[derive(Deserialize, Default)]
struct RawListMeta {
    #[serde(default, rename = "continue")]
    continue_token: Option<String>,
}

enum Message {
    Page(Arc<Resource>, Vec<Json>),
}

fn gap_of(resource: String, namespace: Option<&str>, error: &kube::Error) -> Gap {
    let (code, reason) = match error {
        kube::Error::Api(status) => (Some(status.code), status.message.clone()),
        other => (None, other.to_string()),
    };
    Gap { resource, namespace: namespace.unwrap_or("").to_string(), code, reason }
}

impl Cluster {
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<T, kube::Error> {
        self.limiter.acquire().await;
        match tokio::time::timeout(self.timeout, self.client.request::<T>(request)).await {
            Ok(result) => result,
            Err(_) => Err(kube::Error::Service(format!("no answer within {:?}", self.timeout).into())),
        }
    }

    async fn discover_async(&self, gaps: &mut Vec<Gap>) -> Result<Vec<Resource>, ClusterError> {
        let get = |uri: String| http::Request::get(uri).body(Vec::new()).expect("static request");
        let mut out = Vec::new();
        let core: k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList =
            self.call(get("/api/v1".to_string())).await.map_err(|e| ClusterError::Request {
                what: "discovery of /api/v1".into(),
                message: e.to_string(),
            })?;
        let mut lists = vec![(String::new(), "v1".to_string(), core)];
        let groups: k8s_openapi::apimachinery::pkg::apis::meta::v1::APIGroupList =
            self.call(get("/apis".to_string())).await.map_err(|e| ClusterError::Request {
                what: "discovery of /apis".into(),
                message: e.to_string(),
            })?;
        for group in groups.groups {
            let Some(preferred) = group.preferred_version.or_else(|| group.versions.first().cloned()) else {
                continue;
            };
            if group.name == "metrics.k8s.io" {
                continue;
            }
            match self.call(get(format!("/apis/{}", preferred.group_version))).await {
                Ok(list) => lists.push((group.name.clone(), preferred.version.clone(), list)),
                Err(e) => gaps.push(gap_of(format!("group {}", group.name), None, &e)),
            }
        }
        for (group, version, list) in lists {
            for r in list.resources {
                let listable = r.verbs.iter().any(|v| v == "list");
                if r.name.contains('/') || !listable || skipped(&group, &r.name) {
                    continue;
                }
                out.push(Resource {
                    group: group.clone(),
                    version: version.clone(),
                    resource: r.name,
                    kind: r.kind,
                    namespaced: r.namespaced,
                });
            }
        }
        Ok(out)
    }

    /// Every served, listable resource at its group's preferred version, CRDs included.
    /// Left out: subresources, events (two groups serve the same objects; they carry no
    /// configuration), `metrics.k8s.io` and `extensions` ingresses (served again by
    /// `networking.k8s.io`). API groups that cannot be discovered (an aggregated API that
    /// is down) are gaps.
    pub fn discover(&self) -> Result<(Vec<Resource>, Vec<Gap>), ClusterError> {
        let mut gaps = Vec::new();
        let resources = self.runtime.block_on(self.discover_async(&mut gaps))?;
        Ok((resources, gaps))
    }

    async fn list_all(
        &self,
        resource: Arc<Resource>,
        namespace: Option<&str>,
        page_size: u32,
        sink: &SyncSender<Message>,
    ) -> Result<usize, Gap> {
        let mut token: Option<String> = None;
        let mut count = 0;
        loop {
            let mut params = ListParams::default().limit(page_size);
            if let Some(t) = &token {
                params = params.continue_token(t);
            }
            let request =
                kube::core::Request::new(resource.url(namespace)).list(&params).map_err(|e| Gap {
                    resource: resource.display(),
                    namespace: String::new(),
                    code: None,
                    reason: e.to_string(),
                })?;
            let page: RawList =
                self.call(request).await.map_err(|e| gap_of(resource.display(), namespace, &e))?;
            count += page.items.len();
            if !page.items.is_empty() && sink.send(Message::Page(Arc::clone(&resource), page.items)).is_err()
            {
                return Ok(count);
            }
            match page.metadata.continue_token.filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next),
                None => return Ok(count),
            }
        }
    }

    /// Lists the selected resources page by page (`limit`/`continue`, `page_size` objects a
    /// page) and calls `on_object` with every object (its `apiVersion` and `kind` set) while
    /// the next pages are fetched. With `namespaces`, namespaced resources are listed in
    /// those namespaces only and `Namespace` objects are limited to them; cluster-scoped
    /// resources are listed whole. At most two pages wait in memory.
    pub fn stream(
        &self,
        selection: &Selection,
        namespaces: &[String],
        page_size: u32,
        mut on_object: impl FnMut(&Resource, Json),
    ) -> Result<ListSummary, ClusterError> {
        let (mut resources, mut gaps) = self.discover()?;
        if let Selection::Only(names) = selection {
            resources.retain(|r| names.iter().any(|n| *n == r.display()));
        }
        let (sender, receiver) = sync_channel::<Message>(2);
        let mut objects = 0;
        let listed = std::thread::scope(|scope| {
            let producer = scope.spawn(move || {
                self.runtime.block_on(async {
                    let mut listed = 0;
                    let mut gaps = Vec::new();
                    for resource in resources {
                        let resource = Arc::new(resource);
                        let scopes: Vec<Option<&str>> = if resource.namespaced && !namespaces.is_empty() {
                            namespaces.iter().map(|n| Some(n.as_str())).collect()
                        } else {
                            vec![None]
                        };
                        let mut complete = true;
                        for ns in scopes {
                            if let Err(gap) =
                                self.list_all(Arc::clone(&resource), ns, page_size, &sender).await
                            {
                                gaps.push(gap);
                                complete = false;
                            }
                        }
                        listed += usize::from(complete);
                    }
                    (listed, gaps)
                })
            });
            for Message::Page(resource, items) in receiver {
                for mut item in items {
                    if let Some(map) = item.as_object_mut() {
                        map.insert("apiVersion".into(), Json::String(resource.api_version()));
                        map.insert("kind".into(), Json::String(resource.kind.clone()));
                    }
                    let is_namespace = resource.group.is_empty() && resource.resource == "namespaces";
                    if is_namespace && !namespaces.is_empty() {
                        let name = item.pointer("/metadata/name").and_then(Json::as_str).unwrap_or("");
                        if !namespaces.iter().any(|n| n == name) {
                            continue;
                        }
                    }
                    objects += 1;
                    on_object(&resource, item);
                }
            }
            producer.join().unwrap_or_else(|_| {
                (
                    0,
                    vec![Gap {
                        resource: "*".into(),
                        namespace: String::new(),
                        code: None,
                        reason: "the listing thread failed".into(),
                    }],
                )
            })
        });
        let (resources, list_gaps) = listed;
        gaps.extend(list_gaps);
        Ok(ListSummary { context: self.context().to_string(), resources, objects, gaps })
    }

    /// Fetches every object of the named resources (`resource.group` names, e.g.
    /// `clusterroles.rbac.authorization.k8s.io`): the simple entry point for RBAC analysis.
    pub fn fetch(
        &self,
        resources: &[&str],
        namespaces: &[String],
    ) -> Result<(Vec<Json>, ListSummary), ClusterError> {
        let selection = Selection::Only(resources.iter().map(|s| s.to_string()).collect());
        let mut out = Vec::new();
        let summary = self.stream(&selection, namespaces, 500, |_, mut obj| {
            crate::redact(&mut obj);
            out.push(obj);
        })?;
        Ok((out, summary))
    }
}

/// The resources RBAC analysis reads (`who-can`, `paths`).
pub const RBAC_RESOURCES: &[&str] = &[
    "roles.rbac.authorization.k8s.io",
    "clusterroles.rbac.authorization.k8s.io",
    "rolebindings.rbac.authorization.k8s.io",
    "clusterrolebindings.rbac.authorization.k8s.io",
    "serviceaccounts",
    "namespaces",
    "secrets",
    "pods",
];
