use kubesecops_k8s::Object;

use crate::rules::image::container_image;
use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers whose image has neither a tag nor a digest (`image: nginx`).
    ///
    /// ## Why it matters
    /// An image without a tag is pulled as `latest`: the version that runs is whatever the
    /// repository holds when a node pulls it, which differs between nodes and over time and
    /// changes as soon as someone pushes (MITRE ATT&CK T1525, implant internal image). It also
    /// hides from reviewers which version a manifest deploys.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: proxy
    ///   image: nginx   # reported: means nginx:latest
    /// ```
    ///
    /// ## Fix
    /// Name the version explicitly, ideally with its digest:
    /// `nginx:1.27.3@sha256:<digest>`.
    ///
    /// ## References
    /// - Kubernetes documentation, "Images": "if you don't specify a tag, Kubernetes assumes latest"
    /// - NSA-CISA Kubernetes Hardening Guidance, image security
    pub static META = {
        id: "KSO-I002",
        title: "Image has no tag",
        severity: Medium,
        category: Images,
        aliases: ["tagNotSpecified"],
        frameworks: [NsaCisa("image security"), MitreAttack("T1525")],
    };
}

/// Reports each container whose image has no tag and no digest.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        let Some((node, image)) = container_image(&container) else { return };
        if image.tag.is_none() && image.digest.is_none() {
            out.emit(
                node.pos,
                &container.key_with(".image"),
                format!("container {:?} uses an image without a tag (pulled as `latest`)", container.name()),
            );
        }
    });
}
