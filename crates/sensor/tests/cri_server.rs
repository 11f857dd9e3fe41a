//! The CRI client against a real gRPC server on a Unix socket: tonic's server codec over a
//! hyper HTTP/2 connection, answering `ListContainers` in `runtime.v1`, in `runtime.v1alpha2`
//! only (as containerd before 1.5 does), or never.
#![cfg(feature = "cri")]

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kubesecops_sensor::cri::{
    Api, ContainerMetadata, CriCache, CriClient, CriContainer, CriError, CriImage, ImageSpec,
    ListContainersRequest, ListContainersResponse, ListImagesRequest, ListImagesResponse, LookupResult,
};
use kubesecops_sensor::metrics::CriStats;

const ID: &str = "c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Serves both versions.
    Both,
    /// Answers UNIMPLEMENTED for `runtime.v1`.
    V1alpha2Only,
    /// Accepts the call and never answers.
    Hang,
}

/// The paths the server was asked for, in order.
type Seen = Arc<Mutex<Vec<String>>>;

#[derive(Clone)]
struct Containers(Vec<CriContainer>);

#[derive(Clone)]
struct Images;

impl tonic::server::UnaryService<ListImagesRequest> for Images {
    type Response = ListImagesResponse;
    type Future = std::future::Ready<Result<tonic::Response<ListImagesResponse>, tonic::Status>>;

    fn call(&mut self, _: tonic::Request<ListImagesRequest>) -> Self::Future {
        let image = CriImage {
            id: "sha256:b174".into(),
            repo_tags: vec!["docker.io/library/busybox:1.36".into()],
            repo_digests: vec!["docker.io/library/busybox@sha256:00".into()],
        };
        std::future::ready(Ok(tonic::Response::new(ListImagesResponse { images: vec![image] })))
    }
}

impl tonic::server::UnaryService<ListContainersRequest> for Containers {
    type Response = ListContainersResponse;
    type Future = std::future::Ready<Result<tonic::Response<ListContainersResponse>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<ListContainersRequest>) -> Self::Future {
        let wanted = request.into_inner().filter.map(|f| f.id).unwrap_or_default();
        let containers = self.0.iter().filter(|c| c.id.starts_with(&wanted)).cloned().collect();
        std::future::ready(Ok(tonic::Response::new(ListContainersResponse { containers })))
    }
}

async fn handle(
    request: http::Request<hyper::body::Incoming>,
    mode: Mode,
    seen: Seen,
    containers: Containers,
) -> Result<http::Response<tonic::body::Body>, Infallible> {
    let path = request.uri().path().to_string();
    seen.lock().unwrap().push(path.clone());
    let unimplemented = || Ok(tonic::Status::unimplemented(format!("unknown method {path}")).into_http());
    match (mode, path.as_str()) {
        (Mode::Hang, _) => std::future::pending().await,
        (Mode::V1alpha2Only, "/runtime.v1.RuntimeService/ListContainers") => unimplemented(),
        (
            _,
            "/runtime.v1.RuntimeService/ListContainers" | "/runtime.v1alpha2.RuntimeService/ListContainers",
        ) => {
            let codec = tonic::codec::ProstCodec::<ListContainersResponse, ListContainersRequest>::default();
            Ok(tonic::server::Grpc::new(codec).unary(containers, request).await)
        }
        (_, "/runtime.v1.ImageService/ListImages" | "/runtime.v1alpha2.ImageService/ListImages") => {
            let codec = tonic::codec::ProstCodec::<ListImagesResponse, ListImagesRequest>::default();
            Ok(tonic::server::Grpc::new(codec).unary(Images, request).await)
        }
        _ => unimplemented(),
    }
}

/// A CRI server on a socket in a fresh directory, on a thread of its own.
struct Server {
    dir: PathBuf,
    socket: PathBuf,
    seen: Seen,
}

impl Server {
    fn start(mode: Mode, containers: Vec<CriContainer>) -> Server {
        let dir = std::env::temp_dir().join(format!(
            "kso-cri-{}-{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("cri.sock");
        let seen = Seen::default();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (path, log) = (socket.clone(), seen.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::UnixListener::bind(&path).unwrap();
                ready_tx.send(()).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else { return };
                    let (log, containers) = (log.clone(), Containers(containers.clone()));
                    let service = hyper::service::service_fn(move |request| {
                        handle(request, mode, log.clone(), containers.clone())
                    });
                    tokio::spawn(async move {
                        let _ =
                            hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                                .await;
                    });
                }
            });
        });
        ready_rx.recv().unwrap();
        Server { dir, socket, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn container(id: &str, pod: &str, name: &str) -> CriContainer {
    let labels: HashMap<String, String> = [
        ("io.kubernetes.pod.name", pod),
        ("io.kubernetes.pod.namespace", "shop"),
        ("io.kubernetes.pod.uid", "8d2f"),
        ("io.kubernetes.container.name", name),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    CriContainer {
        id: id.into(),
        pod_sandbox_id: "sandbox".into(),
        metadata: Some(ContainerMetadata { name: name.into(), attempt: 1 }),
        image: Some(ImageSpec {
            image: "docker.io/library/nginx:1.27".into(),
            user_specified_image: String::new(),
        }),
        image_ref: "docker.io/library/nginx@sha256:00".into(),
        state: 1,
        created_at: 1,
        labels,
        annotations: HashMap::new(),
    }
}

const PATH_V1: &str = "/runtime.v1.RuntimeService/ListContainers";
const PATH_V1ALPHA2: &str = "/runtime.v1alpha2.RuntimeService/ListContainers";

#[test]
fn lists_over_v1_and_the_cache_matches_short_ids() {
    let server = Server::start(
        Mode::Both,
        vec![container(ID, "web-1", "web"), container(&"e".repeat(64), "db-0", "db")],
    );
    let mut client = CriClient::new(&server.socket).unwrap();
    let listed = client.list_containers(Duration::from_secs(5)).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(client.api(), Some(Api::V1));

    let stats = Arc::new(CriStats::default());
    let mut cache = CriCache::new(Box::new(client), stats.clone());
    let now = Instant::now();
    let (info, result) = cache.lookup_at("c0ffee012345", now);
    assert_eq!(result, LookupResult::Found);
    let info = info.unwrap();
    let k8s = info.k8s.unwrap();
    assert_eq!(
        (k8s.ns.as_deref(), k8s.pod.as_deref(), k8s.container.as_deref()),
        (Some("shop"), Some("web-1"), Some("web"))
    );
    assert_eq!(info.container.image.as_deref(), Some("docker.io/library/nginx:1.27"));
    assert_eq!(cache.lookup_at("eeeeeeeeeeee", now).1, LookupResult::Hit);
    assert_eq!(cache.lookup_at("000000000000", now).1, LookupResult::Miss);
    assert_eq!(cache.lookup_at("000000000000", now).1, LookupResult::Negative);
    assert_eq!(
        server.seen(),
        [PATH_V1, PATH_V1, PATH_V1],
        "one call per refresh, none for hits or known misses"
    );
}

#[test]
fn falls_back_to_v1alpha2_and_stays_there() {
    let server = Server::start(Mode::V1alpha2Only, vec![container(ID, "web-1", "web")]);
    let mut client = CriClient::new(&server.socket).unwrap();
    let listed = client.list_containers(Duration::from_secs(5)).unwrap();
    assert_eq!(listed[0].labels["io.kubernetes.pod.name"], "web-1");
    assert_eq!(client.api(), Some(Api::V1alpha2));
    client.list_containers(Duration::from_secs(5)).unwrap();
    assert_eq!(server.seen(), [PATH_V1, PATH_V1ALPHA2, PATH_V1ALPHA2]);
}

#[test]
fn image_ids_are_named_from_the_image_list() {
    let mut by_id = container(ID, "web-1", "web");
    by_id.image = Some(ImageSpec { image: "sha256:b174".into(), user_specified_image: String::new() });
    let mut unknown = container(&"d".repeat(64), "job-1", "job");
    unknown.image = Some(ImageSpec { image: "sha256:dead".into(), user_specified_image: String::new() });
    let server = Server::start(Mode::V1alpha2Only, vec![by_id, unknown]);
    let mut client = CriClient::new(&server.socket).unwrap();
    let listed = client.list_containers(Duration::from_secs(5)).unwrap();
    let image = |i: usize| listed[i].image.as_ref().unwrap().image.clone();
    assert_eq!(image(0), "docker.io/library/busybox:1.36");
    assert_eq!(image(1), "sha256:dead", "an image the runtime does not list keeps its id");
    client.list_containers(Duration::from_secs(5)).unwrap();
    let images = "/runtime.v1alpha2.ImageService/ListImages";
    assert_eq!(server.seen(), [PATH_V1, PATH_V1ALPHA2, images, PATH_V1ALPHA2, images]);
}

#[test]
fn a_server_that_never_answers_costs_one_deadline_then_nothing() {
    let server = Server::start(Mode::Hang, Vec::new());
    let mut client = CriClient::new(&server.socket).unwrap();
    let start = Instant::now();
    let err = client.list_containers(Duration::from_millis(300)).unwrap_err();
    let took = start.elapsed();
    assert!(matches!(err, CriError::Timeout(_)), "{err}");
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(2), "{took:?}");

    let mut cache = CriCache::new(Box::new(client), Arc::new(CriStats::default())).with_timing(
        Duration::from_millis(200),
        Duration::from_secs(5),
        Duration::from_secs(10),
    );
    let start = Instant::now();
    assert_eq!(cache.lookup_at("c0ffee012345", Instant::now()).1, LookupResult::Error);
    assert_eq!(cache.lookup_at("aaaaaaaaaaaa", Instant::now()).1, LookupResult::Unavailable);
    assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
}

#[test]
fn a_missing_socket_fails_fast() {
    let mut client = CriClient::new(Path::new("/nonexistent/kso/cri.sock")).unwrap();
    let start = Instant::now();
    let err = client.list_containers(Duration::from_secs(5)).unwrap_err();
    assert!(matches!(err, CriError::Status(_)), "{err}");
    assert_eq!(err.to_string(), "Unavailable: No such file or directory (os error 2)");
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
}

/// Lists the test cluster's containers when its containerd is up (read-only), then attributes
/// the processes of this host's `/proc` through the process table with the CRI cache as its
/// source, as the sensor does: `cargo test -p kubesecops-sensor --test cri_server --
/// --ignored --nocapture` (`KSO_CRI_SOCKET` to name another socket).
#[test]
#[ignore]
fn live_cluster_containerd() {
    let socket = std::env::var("KSO_CRI_SOCKET")
        .unwrap_or_else(|_| "/var/lib/kso-cluster/containerd/containerd.sock".to_string());
    let mut client = CriClient::new(Path::new(&socket)).unwrap();
    let listed = client.list_containers(Duration::from_secs(2)).unwrap();
    println!("{socket}: {:?}, {} container(s)", client.api(), listed.len());
    for c in &listed {
        let info = kubesecops_sensor::cri::container_info(c);
        let k8s = info.k8s.unwrap_or_default();
        println!(
            "  {} state={} ns={:?} pod={:?} container={:?} image={:?}",
            info.container.id, c.state, k8s.ns, k8s.pod, k8s.container, info.container.image
        );
    }

    let stats = Arc::new(CriStats::default());
    let cache = CriCache::new(Box::new(client), stats.clone());
    let mut table = kubesecops_sensor::procs::ProcTable::new("/proc").with_source(Box::new(cache));
    table.seed();
    let mut pids: Vec<u64> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|d| d.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&p| table.get(p).is_some_and(|e| e.container.is_some()))
        .collect();
    pids.sort_unstable();
    for pid in pids {
        let entry = table.get(pid).unwrap().clone();
        let id = entry.container.unwrap();
        let start = Instant::now();
        let info = table.container(&id);
        let k8s = info.k8s.unwrap_or_default();
        println!(
            "  pid {pid} {:?}: {id} ns={:?} pod={:?} image={:?} ({:?})",
            entry.proc.name,
            k8s.ns,
            k8s.pod,
            info.container.image,
            start.elapsed()
        );
    }
    println!("  lookups: {:?}", stats.snapshot());
}
