//! Container attribution from the node runtime's CRI API: `RuntimeService/ListContainers` over
//! the runtime's Unix socket (gRPC), cached.
//!
//! The messages are hand-written prost structs carrying only the fields the sensor reads, with
//! the field numbers of the CRI `api.proto`; protobuf skips the others, so neither protoc nor
//! generated code is needed. `runtime.v1` is asked first and `runtime.v1alpha2` when the
//! runtime answers UNIMPLEMENTED (containerd before 1.5 serves only v1alpha2; 1.6 both).
//!
//! [`CriCache`] is what the process table asks: it answers from its cache, refreshes the whole
//! list in one call when an id is new, remembers ids the runtime does not know for a few
//! seconds, and stops asking for a while when the runtime does not answer in time, so the
//! event loop never waits longer than one deadline.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kubesecops_runtime::syscall::{Container, K8s};

use crate::metrics::CriStats;
use crate::procs::{ContainerInfo, ContainerSource};

/// Where runtimes put their CRI socket, in the order the sensor tries them.
pub const DEFAULT_SOCKETS: [&str; 3] =
    ["/run/containerd/containerd.sock", "/run/crio/crio.sock", "/var/run/cri-dockerd.sock"];

/// How long one lookup may hold the event loop (connecting and listing included).
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(400);

/// How long an id the runtime does not know is not asked about again.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(5);

/// How long the sensor stops asking after the runtime failed to answer.
pub const RETRY_AFTER: Duration = Duration::from_secs(10);

/// Containers (and unknown ids) remembered at most.
pub const MAX_CACHED: usize = 16_384;

/// Responses larger than this are refused (tonic's default of 4 MiB is short for a node with
/// thousands of containers with many labels).
const MAX_MESSAGE: usize = 64 << 20;

/// `ListContainersRequest` (CRI `api.proto`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListContainersRequest {
    /// Which containers to list; none lists all.
    #[prost(message, optional, tag = "1")]
    pub filter: Option<ContainerFilter>,
}

/// `ContainerFilter`: only the id (the runtimes match it as given; the sensor lists all).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContainerFilter {
    /// Full container id.
    #[prost(string, tag = "1")]
    pub id: String,
}

/// `ListContainersResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListContainersResponse {
    /// The containers.
    #[prost(message, repeated, tag = "1")]
    pub containers: Vec<CriContainer>,
}

/// `Container`: the fields the sensor reads.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CriContainer {
    /// Full container id (64 hex digits for containerd and CRI-O).
    #[prost(string, tag = "1")]
    pub id: String,
    /// Id of the pod sandbox.
    #[prost(string, tag = "2")]
    pub pod_sandbox_id: String,
    /// Name and attempt as the kubelet created it.
    #[prost(message, optional, tag = "3")]
    pub metadata: Option<ContainerMetadata>,
    /// The image the container was created from.
    #[prost(message, optional, tag = "4")]
    pub image: Option<ImageSpec>,
    /// The image's reference (a repo digest for containerd).
    #[prost(string, tag = "5")]
    pub image_ref: String,
    /// `ContainerState` (0 created, 1 running, 2 exited, 3 unknown).
    #[prost(int32, tag = "6")]
    pub state: i32,
    /// Creation time, nanoseconds since the Unix epoch.
    #[prost(int64, tag = "7")]
    pub created_at: i64,
    /// Labels (the kubelet's `io.kubernetes.*` keys name the pod).
    #[prost(map = "string, string", tag = "8")]
    pub labels: HashMap<String, String>,
    /// Annotations.
    #[prost(map = "string, string", tag = "9")]
    pub annotations: HashMap<String, String>,
}

/// `ContainerMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContainerMetadata {
    /// Container name in the pod.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Restart count.
    #[prost(uint32, tag = "2")]
    pub attempt: u32,
}

/// `ImageSpec`: the image as the kubelet asked for it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ImageSpec {
    /// Image name or id (kubelets pass the id, `sha256:...`, on containerd).
    #[prost(string, tag = "1")]
    pub image: String,
    /// The image as written in the pod spec (kubelet 1.29 and later).
    #[prost(string, tag = "18")]
    pub user_specified_image: String,
}

/// `ListImagesRequest`: no filter, every image.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListImagesRequest {}

/// `ListImagesResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListImagesResponse {
    /// The images.
    #[prost(message, repeated, tag = "1")]
    pub images: Vec<CriImage>,
}

/// `Image`: its id and names.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CriImage {
    /// Image id (`sha256:...`).
    #[prost(string, tag = "1")]
    pub id: String,
    /// `repo:tag` names.
    #[prost(string, repeated, tag = "2")]
    pub repo_tags: Vec<String>,
    /// `repo@digest` names.
    #[prost(string, repeated, tag = "3")]
    pub repo_digests: Vec<String>,
}

/// Which CRI API version answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `runtime.v1` (Kubernetes 1.23 and later).
    V1,
    /// `runtime.v1alpha2` (Kubernetes 1.20 to 1.25's kubelets, containerd up to 1.7).
    V1alpha2,
}

impl Api {
    /// The gRPC path of `ListContainers` in this version.
    pub fn list_containers_path(self) -> &'static str {
        match self {
            Api::V1 => "/runtime.v1.RuntimeService/ListContainers",
            Api::V1alpha2 => "/runtime.v1alpha2.RuntimeService/ListContainers",
        }
    }

    /// The gRPC path of `ImageService/ListImages` in this version.
    pub fn list_images_path(self) -> &'static str {
        match self {
            Api::V1 => "/runtime.v1.ImageService/ListImages",
            Api::V1alpha2 => "/runtime.v1alpha2.ImageService/ListImages",
        }
    }

    /// The package name, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::V1 => "runtime.v1",
            Api::V1alpha2 => "runtime.v1alpha2",
        }
    }
}

/// Why a CRI call failed.
#[derive(Debug, thiserror::Error)]
pub enum CriError {
    /// No answer within the deadline.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The runtime answered with an error status (or the connection failed); boxed, as a
    /// status is large and errors are rare.
    #[error("{:?}: {}", .0.code(), .0.message())]
    Status(Box<tonic::Status>),
    /// The socket path is not a valid endpoint, or the runtime could not be built.
    #[error("{0}")]
    Setup(String),
}

impl From<tonic::Status> for CriError {
    fn from(status: tonic::Status) -> CriError {
        CriError::Status(Box::new(status))
    }
}

/// The first socket of `candidates` that exists and is a socket.
pub fn find_socket<'a>(candidates: impl IntoIterator<Item = &'a str>) -> Option<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    candidates
        .into_iter()
        .map(PathBuf::from)
        .find(|p| std::fs::metadata(p).map(|m| m.file_type().is_socket()).unwrap_or(false))
}

/// A CRI client over a Unix socket: its own single-threaded tokio runtime, driven only while a
/// call is made, so the sensor's event loop stays plain synchronous code.
pub struct CriClient {
    rt: tokio::runtime::Runtime,
    channel: tonic::transport::Channel,
    api: Option<Api>,
    socket: PathBuf,
    /// Image id to its first `repo:tag` (or `repo@digest`), from the last image list.
    image_names: HashMap<String, String>,
}

impl std::fmt::Debug for CriClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CriClient").field("socket", &self.socket).field("api", &self.api).finish()
    }
}

impl CriClient {
    /// A client of the runtime at `socket`. Connects lazily (on the first call, and again after
    /// the runtime restarted), so this does not fail when the runtime is down.
    pub fn new(socket: &Path) -> Result<CriClient, CriError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| CriError::Setup(format!("tokio runtime: {e}")))?;
        let endpoint = tonic::transport::Endpoint::from_shared(format!("unix://{}", socket.display()))
            .map_err(|e| CriError::Setup(format!("{}: {e}", socket.display())))?;
        // The channel spawns its connection worker on the current runtime.
        let channel = {
            let _guard = rt.enter();
            endpoint.connect_lazy()
        };
        Ok(CriClient { rt, channel, api: None, socket: socket.to_path_buf(), image_names: HashMap::new() })
    }

    /// The socket this client talks to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The API version that answered last, `None` before the first answer.
    pub fn api(&self) -> Option<Api> {
        self.api
    }

    /// Every container the runtime knows, within `deadline` (version fallback included).
    ///
    /// Kubelets create containers from the image id, so containerd lists `sha256:...` as the
    /// image; such ids are replaced by the image's name from `ImageService/ListImages`, asked
    /// only when an id is new and only within what is left of the deadline (an id stays when
    /// that fails: the container is still attributed).
    pub fn list_containers(&mut self, deadline: Duration) -> Result<Vec<CriContainer>, CriError> {
        let start = Instant::now();
        let channel = self.channel.clone();
        let known = self.api;
        let result = self.rt.block_on(async move {
            tokio::time::timeout(deadline, list_with_fallback(channel, known)).await
        });
        let (api, mut containers) = match result {
            Err(_) => return Err(CriError::Timeout(deadline)),
            Ok(Err(status)) => return Err(status.into()),
            Ok(Ok(answer)) => answer,
        };
        self.api = Some(api);
        let bare =
            |c: &CriContainer| c.image.as_ref().map(|i| i.image.clone()).filter(|i| i.starts_with("sha256:"));
        if containers.iter().filter_map(bare).any(|id| !self.image_names.contains_key(&id)) {
            let left = deadline.saturating_sub(start.elapsed());
            let channel = self.channel.clone();
            let images =
                self.rt.block_on(async move { tokio::time::timeout(left, list_images(channel, api)).await });
            if let Ok(Ok(images)) = images {
                self.image_names = image_names(&images);
            }
        }
        for c in &mut containers {
            if let Some(spec) = c.image.as_mut() {
                if let Some(name) = self.image_names.get(&spec.image) {
                    spec.image = name.clone();
                }
            }
        }
        Ok(containers)
    }
}

/// Image id to a name: the first `repo:tag`, else the first `repo@digest` (bounded).
pub fn image_names(images: &[CriImage]) -> HashMap<String, String> {
    images
        .iter()
        .filter_map(|i| Some((i.id.clone(), i.repo_tags.first().or(i.repo_digests.first())?.clone())))
        .take(MAX_CACHED)
        .collect()
}

async fn list_images(channel: tonic::transport::Channel, api: Api) -> Result<Vec<CriImage>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(MAX_MESSAGE);
    grpc.ready().await.map_err(|e| tonic::Status::unavailable(format!("connect: {e}")))?;
    let path = http::uri::PathAndQuery::from_static(api.list_images_path());
    let response: tonic::Response<ListImagesResponse> = grpc
        .unary(tonic::Request::new(ListImagesRequest {}), path, tonic::codec::ProstCodec::default())
        .await?;
    Ok(response.into_inner().images)
}

/// `ListContainers` in the version that worked last, or v1 then v1alpha2.
async fn list_with_fallback(
    channel: tonic::transport::Channel,
    known: Option<Api>,
) -> Result<(Api, Vec<CriContainer>), tonic::Status> {
    let order: &[Api] = match known {
        Some(Api::V1alpha2) => &[Api::V1alpha2],
        _ => &[Api::V1, Api::V1alpha2],
    };
    let mut last = tonic::Status::unimplemented("no CRI version tried");
    for &api in order {
        match list(channel.clone(), api).await {
            Ok(containers) => return Ok((api, containers)),
            Err(status) if status.code() == tonic::Code::Unimplemented => last = status,
            Err(status) => return Err(status),
        }
    }
    Err(last)
}

async fn list(channel: tonic::transport::Channel, api: Api) -> Result<Vec<CriContainer>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(MAX_MESSAGE);
    grpc.ready().await.map_err(|e| tonic::Status::unavailable(format!("connect: {e}")))?;
    let path = http::uri::PathAndQuery::from_static(api.list_containers_path());
    let response: tonic::Response<ListContainersResponse> = grpc
        .unary(
            tonic::Request::new(ListContainersRequest { filter: None }),
            path,
            tonic::codec::ProstCodec::default(),
        )
        .await?;
    Ok(response.into_inner().containers)
}

/// Container and pod details of a CRI container: pod name, namespace and uid and the container
/// name from the kubelet's labels, the image as the pod spec names it when the runtime knows
/// it, else the image name, else the repo digest (a bare `sha256:` id says the least).
pub fn container_info(c: &CriContainer) -> ContainerInfo {
    let label = |key: &str| c.labels.get(key).filter(|v| !v.is_empty()).cloned();
    let name = label("io.kubernetes.container.name")
        .or_else(|| c.metadata.as_ref().map(|m| m.name.clone()).filter(|n| !n.is_empty()));
    let spec = c.image.as_ref();
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let image = spec
        .and_then(|s| nonempty(&s.user_specified_image))
        .or_else(|| spec.map(|s| s.image.as_str()).filter(|i| !i.starts_with("sha256:")).and_then(nonempty))
        .or_else(|| nonempty(&c.image_ref))
        .or_else(|| spec.and_then(|s| nonempty(&s.image)));
    let ns = label("io.kubernetes.pod.namespace");
    let pod = label("io.kubernetes.pod.name");
    let k8s = (ns.is_some() || pod.is_some()).then(|| K8s {
        ns,
        pod,
        pod_uid: label("io.kubernetes.pod.uid"),
        container: name.clone(),
    });
    let short = c.id.get(..12).unwrap_or(&c.id).to_string();
    ContainerInfo {
        container: Container {
            id: short,
            name,
            image,
            start_ns: (c.created_at > 0).then_some(c.created_at),
            ..Container::default()
        },
        k8s,
    }
}

/// How one lookup was answered (the `result` label of the lookup counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupResult {
    /// Found in the cache.
    Hit,
    /// Found after refreshing the list.
    Found,
    /// Not known to the runtime after a refresh (a container of another runtime or namespace).
    Miss,
    /// Not asked: the id was unknown to the runtime a few seconds ago.
    Negative,
    /// The runtime did not answer in time or failed.
    Error,
    /// Not asked: the runtime failed recently.
    Unavailable,
}

/// Lists the runtime's containers within a deadline; [`CriClient`] in the sensor, a closure in
/// tests.
pub trait Lister {
    /// Every container the runtime knows.
    fn list(&mut self, deadline: Duration) -> Result<Vec<CriContainer>, CriError>;
    /// Names the runtime endpoint in messages.
    fn describe(&self) -> String;
}

impl Lister for CriClient {
    fn list(&mut self, deadline: Duration) -> Result<Vec<CriContainer>, CriError> {
        self.list_containers(deadline)
    }

    fn describe(&self) -> String {
        match self.api {
            Some(api) => format!("{} ({})", self.socket.display(), api.as_str()),
            None => self.socket.display().to_string(),
        }
    }
}

impl<F: FnMut(Duration) -> Result<Vec<CriContainer>, CriError>> Lister for F {
    fn list(&mut self, deadline: Duration) -> Result<Vec<CriContainer>, CriError> {
        self(deadline)
    }

    fn describe(&self) -> String {
        "test lister".into()
    }
}

/// The cache in front of a [`Lister`], keyed by the 12-digit ids of the cgroup paths.
pub struct CriCache {
    lister: Box<dyn Lister + Send>,
    deadline: Duration,
    negative_ttl: Duration,
    retry_after: Duration,
    known: HashMap<String, ContainerInfo>,
    unknown: HashMap<String, Instant>,
    down_until: Option<Instant>,
    warned: bool,
    stats: Arc<CriStats>,
}

impl std::fmt::Debug for CriCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CriCache")
            .field("lister", &self.lister.describe())
            .field("known", &self.known.len())
            .field("unknown", &self.unknown.len())
            .finish()
    }
}

impl CriCache {
    /// A cache over `lister` with the default deadline, negative TTL and retry delay.
    pub fn new(lister: Box<dyn Lister + Send>, stats: Arc<CriStats>) -> CriCache {
        CriCache {
            lister,
            deadline: DEFAULT_DEADLINE,
            negative_ttl: NEGATIVE_TTL,
            retry_after: RETRY_AFTER,
            known: HashMap::new(),
            unknown: HashMap::new(),
            down_until: None,
            warned: false,
            stats,
        }
    }

    /// Sets the deadline of one call, the negative TTL and the retry delay.
    pub fn with_timing(
        mut self,
        deadline: Duration,
        negative_ttl: Duration,
        retry_after: Duration,
    ) -> CriCache {
        self.deadline = deadline;
        self.negative_ttl = negative_ttl;
        self.retry_after = retry_after;
        self
    }

    /// The lookup counters.
    pub fn stats(&self) -> &Arc<CriStats> {
        &self.stats
    }

    /// Containers cached now.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// True when no container is cached.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// Lists the runtime's containers once (at start, to say on stderr whether the runtime
    /// answers and to warm the cache): the number listed, or why not.
    pub fn prime(&mut self) -> Result<usize, CriError> {
        self.refresh(Instant::now())
    }

    /// Names the runtime endpoint (and the API version once one answered).
    pub fn describe(&self) -> String {
        self.lister.describe()
    }

    fn refresh(&mut self, now: Instant) -> Result<usize, CriError> {
        match self.lister.list(self.deadline) {
            Ok(containers) => {
                if self.down_until.take().is_some() {
                    eprintln!("kubesecops: CRI {} answers again", self.lister.describe());
                }
                self.known.clear();
                // Newest first, so the bound keeps the containers most likely to run now.
                let mut containers = containers;
                containers.sort_by_key(|c| std::cmp::Reverse(c.created_at));
                for c in containers.iter().take(MAX_CACHED) {
                    let info = container_info(c);
                    // The sandbox ("pause") container is not listed, but its id is each
                    // container's pod_sandbox_id: its processes belong to the same pod.
                    if let (Some(k8s), Some(sandbox)) = (&info.k8s, c.pod_sandbox_id.get(..12)) {
                        self.known.entry(sandbox.to_string()).or_insert_with(|| ContainerInfo {
                            container: Container { id: sandbox.to_string(), ..Container::default() },
                            k8s: Some(K8s { container: None, ..k8s.clone() }),
                        });
                    }
                    self.known.insert(info.container.id.clone(), info);
                }
                Ok(self.known.len())
            }
            Err(e) => {
                self.down_until = Some(now + self.retry_after);
                if !self.warned {
                    eprintln!(
                        "kubesecops: CRI {}: {e}; pod names from the runtime's bundle files only (asked again every {:?})",
                        self.lister.describe(),
                        self.retry_after
                    );
                    self.warned = true;
                }
                Err(e)
            }
        }
    }

    /// Details of a 12-digit container id (a longer id is matched by its first 12 digits).
    pub fn lookup_at(&mut self, id: &str, now: Instant) -> (Option<ContainerInfo>, LookupResult) {
        let short = id.get(..12).unwrap_or(id);
        let answer = self.answer(short, now);
        self.stats.count(answer.1);
        answer
    }

    fn answer(&mut self, short: &str, now: Instant) -> (Option<ContainerInfo>, LookupResult) {
        if let Some(info) = self.known.get(short) {
            return (Some(info.clone()), LookupResult::Hit);
        }
        if self.unknown.get(short).is_some_and(|&until| now < until) {
            return (None, LookupResult::Negative);
        }
        if self.down_until.is_some_and(|until| now < until) {
            return (None, LookupResult::Unavailable);
        }
        if self.refresh(now).is_err() {
            return (None, LookupResult::Error);
        }
        if let Some(info) = self.known.get(short) {
            self.unknown.remove(short);
            return (Some(info.clone()), LookupResult::Found);
        }
        if self.unknown.len() >= MAX_CACHED {
            self.unknown.retain(|_, until| now < *until);
            if self.unknown.len() >= MAX_CACHED {
                self.unknown.clear();
            }
        }
        self.unknown.insert(short.to_string(), now + self.negative_ttl);
        (None, LookupResult::Miss)
    }
}

impl ContainerSource for CriCache {
    fn lookup(&mut self, id: &str) -> Option<ContainerInfo> {
        self.lookup_at(id, Instant::now()).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const ID: &str = "4f2a9c81d0e3b7a65c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b";

    pub(crate) fn pod_container(id: &str, pod: &str, ns: &str, name: &str) -> CriContainer {
        CriContainer {
            id: id.into(),
            pod_sandbox_id: format!("5a{}", &id[2..]),
            metadata: Some(ContainerMetadata { name: name.into(), attempt: 0 }),
            image: Some(ImageSpec { image: "sha256:0123".into(), user_specified_image: String::new() }),
            image_ref: "docker.io/library/nginx@sha256:0123".into(),
            state: 1,
            created_at: 1_700_000_000_000_000_000,
            labels: [
                ("io.kubernetes.pod.name", pod),
                ("io.kubernetes.pod.namespace", ns),
                ("io.kubernetes.pod.uid", "uid-1"),
                ("io.kubernetes.container.name", name),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            annotations: HashMap::new(),
        }
    }

    /// The key byte of a field (tag and wire type) for fields below 16.
    fn key(field: u32, wire: u32) -> u8 {
        u8::try_from(field << 3 | wire).unwrap()
    }

    /// A length-delimited field: key, varint length, bytes.
    fn delimited(out: &mut Vec<u8>, field: u32, value: &[u8]) {
        out.push(key(field, 2));
        let mut len = value.len();
        while len >= 0x80 {
            out.push(u8::try_from(len & 0x7f).unwrap() | 0x80);
            len >>= 7;
        }
        out.push(u8::try_from(len).unwrap());
        out.extend_from_slice(value);
    }

    #[test]
    fn decodes_bytes_laid_out_as_the_cri_proto_says() {
        // A ListContainersResponse written field by field from api.proto's numbers, with a field
        // the structs do not carry (image_id = 10) that must be skipped.
        let mut container = Vec::new();
        let mut put = |field: u32, value: &[u8]| delimited(&mut container, field, value);
        put(1, ID.as_bytes());
        put(2, b"sb");
        put(3, &[key(1, 2), 3, b'w', b'e', b'b', key(2, 0), 2]);
        let mut spec = Vec::new();
        delimited(&mut spec, 1, b"nginx:1");
        put(4, &spec);
        put(5, b"ref");
        let entry = |k: &str, v: &str| {
            let mut e = Vec::new();
            delimited(&mut e, 1, k.as_bytes());
            delimited(&mut e, 2, v.as_bytes());
            e
        };
        put(8, &entry("io.kubernetes.pod.name", "web-1"));
        put(8, &entry("io.kubernetes.pod.namespace", "shop"));
        put(10, b"sha256:ffff");
        container.extend_from_slice(&[key(6, 0), 1]);
        assert!(container.len() > 127, "the length of the container takes two varint bytes");
        let mut response = Vec::new();
        delimited(&mut response, 1, &container);

        let decoded = ListContainersResponse::decode(response.as_slice()).unwrap();
        let c = &decoded.containers[0];
        assert_eq!(c.id, ID);
        assert_eq!(c.pod_sandbox_id, "sb");
        assert_eq!(c.metadata, Some(ContainerMetadata { name: "web".into(), attempt: 2 }));
        assert_eq!(c.image.as_ref().map(|i| i.image.as_str()), Some("nginx:1"));
        assert_eq!(c.image_ref, "ref");
        assert_eq!(c.state, 1);
        assert_eq!(c.labels["io.kubernetes.pod.namespace"], "shop");
    }

    #[test]
    fn round_trips_and_maps_labels() {
        let response = ListContainersResponse { containers: vec![pod_container(ID, "web-1", "shop", "web")] };
        let bytes = response.encode_to_vec();
        let back = ListContainersResponse::decode(bytes.as_slice()).unwrap();
        assert_eq!(back, response);
        let info = container_info(&back.containers[0]);
        assert_eq!(info.container.id, "4f2a9c81d0e3");
        assert_eq!(info.container.name.as_deref(), Some("web"));
        assert_eq!(
            info.container.image.as_deref(),
            Some("docker.io/library/nginx@sha256:0123"),
            "not sha256:"
        );
        let k8s = info.k8s.unwrap();
        assert_eq!(k8s.pod.as_deref(), Some("web-1"));
        assert_eq!(k8s.ns.as_deref(), Some("shop"));
        assert_eq!(k8s.pod_uid.as_deref(), Some("uid-1"));
        assert_eq!(k8s.container.as_deref(), Some("web"));

        let mut named = pod_container(ID, "p", "n", "c");
        named.image = Some(ImageSpec { image: "nginx:1.27".into(), user_specified_image: String::new() });
        assert_eq!(container_info(&named).container.image.as_deref(), Some("nginx:1.27"));
        named.image.as_mut().unwrap().user_specified_image = "nginx".into();
        assert_eq!(container_info(&named).container.image.as_deref(), Some("nginx"));

        let mut plain = pod_container(ID, "", "", "");
        plain.labels.clear();
        plain.metadata = None;
        let info = container_info(&plain);
        assert_eq!(info.k8s, None, "no kubelet labels, no pod");
        assert_eq!(info.container.name, None);
    }

    fn counting_lister(
        containers: Vec<CriContainer>,
        fail: bool,
    ) -> (Box<dyn Lister + Send>, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let lister = move |_: Duration| {
            seen.fetch_add(1, Ordering::Relaxed);
            if fail {
                Err(CriError::Timeout(Duration::from_millis(1)))
            } else {
                Ok(containers.clone())
            }
        };
        (Box::new(lister), calls)
    }

    #[test]
    fn prefix_match_hits_and_negative_cache() {
        let other = "9".repeat(64);
        let (lister, calls) = counting_lister(
            vec![pod_container(ID, "web-1", "shop", "web"), pod_container(&other, "db-0", "shop", "db")],
            false,
        );
        let stats = Arc::new(CriStats::default());
        let mut cache = CriCache::new(lister, stats.clone());
        let t0 = Instant::now();

        let (info, result) = cache.lookup_at("4f2a9c81d0e3", t0);
        assert_eq!((result, info.unwrap().k8s.unwrap().pod.as_deref()), (LookupResult::Found, Some("web-1")));
        let (info, result) = cache.lookup_at("999999999999", t0);
        assert_eq!((result, info.unwrap().container.name.as_deref()), (LookupResult::Hit, Some("db")));
        assert_eq!(calls.load(Ordering::Relaxed), 1, "one list answers both");
        let (info, result) = cache.lookup_at("5a2a9c81d0e3", t0);
        let info = info.unwrap();
        assert_eq!(result, LookupResult::Hit, "the pod's sandbox, from the containers' sandbox id");
        let k8s = info.k8s.unwrap();
        assert_eq!((k8s.pod.as_deref(), k8s.container), (Some("web-1"), None));
        assert_eq!((info.container.name, info.container.image), (None, None));

        // A container of no pod: one refresh, then no call until the negative entry expires.
        let stranger = "abcdefabcdef";
        assert_eq!(cache.lookup_at(stranger, t0).1, LookupResult::Miss);
        assert_eq!(calls.load(Ordering::Relaxed), 2);
        for _ in 0..100 {
            assert_eq!(cache.lookup_at(stranger, t0 + Duration::from_secs(1)).1, LookupResult::Negative);
        }
        assert_eq!(calls.load(Ordering::Relaxed), 2);
        assert_eq!(
            cache.lookup_at(stranger, t0 + NEGATIVE_TTL + Duration::from_millis(1)).1,
            LookupResult::Miss
        );
        assert_eq!(calls.load(Ordering::Relaxed), 3);

        let counts = stats.snapshot();
        assert_eq!(counts.iter().find(|(r, _)| *r == "negative").unwrap().1, 100);
        assert_eq!(counts.iter().find(|(r, _)| *r == "found").unwrap().1, 1);
        assert_eq!(counts.iter().find(|(r, _)| *r == "hit").unwrap().1, 2);
        assert_eq!(counts.iter().find(|(r, _)| *r == "miss").unwrap().1, 2);
    }

    #[test]
    fn a_failing_runtime_is_asked_again_only_after_the_retry_delay() {
        let (lister, calls) = counting_lister(Vec::new(), true);
        let mut cache = CriCache::new(lister, Arc::new(CriStats::default()));
        let t0 = Instant::now();
        assert_eq!(cache.lookup_at("4f2a9c81d0e3", t0).1, LookupResult::Error);
        assert_eq!(cache.lookup_at("aaaaaaaaaaaa", t0 + Duration::from_secs(1)).1, LookupResult::Unavailable);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        assert_eq!(cache.lookup_at("aaaaaaaaaaaa", t0 + RETRY_AFTER).1, LookupResult::Error);
        assert_eq!(calls.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn finds_the_first_existing_socket() {
        let dir = std::env::temp_dir().join(format!("kso-cri-find-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("b.sock");
        let _ = std::fs::remove_file(&sock);
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let plain = dir.join("a.sock");
        std::fs::write(&plain, "").unwrap();
        let missing = dir.join("none.sock");
        let names = [missing.to_str().unwrap(), plain.to_str().unwrap(), sock.to_str().unwrap()];
        assert_eq!(find_socket(names), Some(sock.clone()), "a regular file is not a socket");
        assert_eq!(find_socket([missing.to_str().unwrap()]), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
