//! The admission webhook with a real API server: `kubesecops serve` runs inside the kso-node
//! network namespace on 127.0.0.1 with a certificate of a test CA, is registered with a
//! ValidatingWebhookConfiguration scoped to one labelled namespace, and pods are created
//! through the API server with the kube client.

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::Client;
use kubesecops_e2e::{free_port, kubesecops, ChildGuard, Cluster};
use serde_json::json;

const NAMESPACE: &str = "e2e-admission";
const WEBHOOK: &str = "kubesecops-e2e-admission";
const SELECTOR_LABEL: &str = "kubesecops.io/e2e-admission";

/// A test CA and a server certificate for 127.0.0.1 signed by it, written to `dir`; returns
/// the CA certificate (PEM) for the caBundle.
fn write_certificates(dir: &Path) -> String {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.distinguished_name.push(DnType::CommonName, "kubesecops e2e test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let mut server_params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    server_params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    let server_key = KeyPair::generate().unwrap();
    let server_cert = server_params.signed_by(&server_key, &ca).unwrap();
    std::fs::write(dir.join("tls.crt"), server_cert.pem()).unwrap();
    std::fs::write(dir.join("tls.key"), server_key.serialize_pem()).unwrap();
    ca.pem()
}

/// Deletes the webhook registration and the namespace, whatever happened in the test.
struct Cleanup {
    cluster: Cluster,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let webhook = self.cluster.kubectl(&[
            "delete",
            "validatingwebhookconfiguration",
            WEBHOOK,
            "--ignore-not-found",
        ]);
        if !webhook.status.success() {
            eprintln!("cleanup: {}", String::from_utf8_lossy(&webhook.stderr));
        }
        let namespace =
            self.cluster.kubectl(&["delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false"]);
        if !namespace.status.success() {
            eprintln!("cleanup: {}", String::from_utf8_lossy(&namespace.stderr));
        }
    }
}

fn privileged_pod() -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "privileged", "namespace": NAMESPACE},
        "spec": {"containers": [{"name": "shell", "image": "localhost/busybox:1.35",
            "imagePullPolicy": "Never", "command": ["sleep", "3600"],
            "securityContext": {"privileged": true}}]}}))
    .unwrap()
}

fn hardened_pod() -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "hardened", "namespace": NAMESPACE},
        "spec": {
            "automountServiceAccountToken": false,
            "securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "runAsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "image": "localhost/busybox:1.35",
                "imagePullPolicy": "Never", "command": ["sleep", "3600"],
                "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                    "capabilities": {"drop": ["ALL"]}},
                "resources": {"limits": {"cpu": "100m", "memory": "32Mi"},
                    "requests": {"cpu": "10m", "memory": "16Mi"}}}]}}))
    .unwrap()
}

#[test]
#[ignore = "end-to-end: .ci/e2e"]
fn cluster_admission_denies_privileged_and_admits_hardened_pods() {
    let Some(cluster) = Cluster::require() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = write_certificates(dir.path());
    let port = free_port();
    let _server = ChildGuard(
        kubesecops()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--tls-cert")
            .arg(dir.path().join("tls.crt"))
            .arg("--tls-key")
            .arg(dir.path().join("tls.key"))
            .spawn()
            .expect("kubesecops serve starts"),
    );
    wait_for_port(port);
    let _cleanup = Cleanup { cluster: cluster.clone() };

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let kubeconfig = Kubeconfig::read_from(&cluster.kubeconfig).expect("kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .expect("client config");
        let client = Client::try_from(config).expect("kube client");

        let namespaces: Api<Namespace> = Api::all(client.clone());
        let namespace: Namespace = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": {SELECTOR_LABEL: "on"}}}))
        .unwrap();
        namespaces.create(&PostParams::default(), &namespace).await.expect("namespace created");

        let webhooks: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
        let ca_bundle = k8s_openapi::ByteString(ca_pem.into_bytes());
        let registration: ValidatingWebhookConfiguration = serde_json::from_value(json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": WEBHOOK},
            "webhooks": [{
                "name": "validate.e2e.kubesecops.io",
                "clientConfig": {"url": format!("https://127.0.0.1:{port}/validate"),
                    "caBundle": serde_json::to_value(&ca_bundle).unwrap()},
                "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                    "resources": ["pods"], "scope": "Namespaced"}],
                "namespaceSelector": {"matchLabels": {SELECTOR_LABEL: "on"}},
                "failurePolicy": "Fail", "sideEffects": "None",
                "admissionReviewVersions": ["v1"], "timeoutSeconds": 10}]}))
        .unwrap();
        webhooks.create(&PostParams::default(), &registration).await.expect("webhook registered");

        let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
        // The API server picks up new webhook configurations within a second or so: retry the
        // privileged pod until it is denied by the webhook (never admitted in between).
        let start = Instant::now();
        let denial = loop {
            match pods.create(&PostParams::default(), &privileged_pod()).await {
                Err(err) if err.to_string().contains("kubesecops denied") => break err.to_string(),
                Err(err) if start.elapsed() < Duration::from_secs(30) => {
                    eprintln!("waiting for the webhook: {err}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(err) => panic!("the privileged pod was refused, but not by the webhook: {err}"),
                Ok(_) => {
                    // Created before the registration was active: remove it and try again.
                    let _ = pods.delete("privileged", &DeleteParams::default().grace_period(0)).await;
                    assert!(
                        start.elapsed() < Duration::from_secs(30),
                        "the privileged pod keeps being admitted"
                    );
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        };
        assert!(
            denial.contains("admission webhook \"validate.e2e.kubesecops.io\" denied the request"),
            "{denial}"
        );
        assert!(denial.contains("[KSO-C001]"), "{denial}");
        assert!(denial.contains("[KSO-PSS-privileged]"), "{denial}");

        let created =
            pods.create(&PostParams::default(), &hardened_pod()).await.expect("hardened pod admitted");
        assert_eq!(created.metadata.name.as_deref(), Some("hardened"));
    });
}

fn wait_for_port(port: u16) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "kubesecops serve did not listen on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
