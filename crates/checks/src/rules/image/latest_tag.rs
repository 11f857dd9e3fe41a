use kubesecops_k8s::Object;

use crate::rules::image::container_image;
use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers whose image uses the `latest` tag and is not pinned by a digest
    /// (`image: app:latest`). An image pinned by digest (`app:latest@sha256:...`) is not
    /// reported: the runtime pulls the digest and ignores the tag.
    ///
    /// ## Why it matters
    /// `latest` names whatever was pushed last. Two nodes can run different code under the
    /// same manifest, a rollback cannot return to the previous version, and anyone able to
    /// push to the repository changes what runs in the cluster at the next pod restart
    /// (MITRE ATT&CK T1525, implant internal image).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: web
    ///   image: registry.example.com/web:latest   # reported
    /// ```
    ///
    /// ## Fix
    /// Use a version tag that your release process never overwrites, and better a digest:
    /// `registry.example.com/web:2.4.1@sha256:<digest>`.
    ///
    /// ## References
    /// - Kubernetes documentation, "Images": image names, tags and digests
    /// - NSA-CISA Kubernetes Hardening Guidance, image security
    pub static META = {
        id: "KSO-I001",
        title: "Image uses the latest tag",
        severity: Medium,
        category: Images,
        aliases: ["KSV-0013", "CKV_K8S_14", "latest-tag"],
        frameworks: [NsaCisa("image security"), MitreAttack("T1525")],
    };
}

/// Reports each container whose image is tagged `latest` without a digest.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        let Some((node, image)) = container_image(&container) else { return };
        if image.tag == Some("latest") && image.digest.is_none() {
            out.emit(
                node.pos,
                &container.key_with(".image"),
                format!("container {:?} uses the mutable `latest` tag", container.name()),
            );
        }
    });
}
