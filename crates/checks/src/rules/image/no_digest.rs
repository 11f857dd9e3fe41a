use kubesecops_k8s::Object;

use crate::rules::image::container_image;
use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers whose image is not pinned by a digest (`@sha256:...`), whatever its tag.
    ///
    /// ## Why it matters
    /// Tags are labels a registry lets anyone with push access move. A compromised CI job or
    /// registry account can replace `app:2.4.1` with a backdoored image and every node pulling
    /// afterwards runs it, with no change to the manifest (MITRE ATT&CK T1195.002, supply chain
    /// compromise). A digest names the exact content; the runtime refuses anything else.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: api
    ///   image: registry.example.com/api:2.4.1   # reported: tag only
    /// ```
    ///
    /// ## Fix
    /// Append the digest of the image you tested:
    /// `registry.example.com/api:2.4.1@sha256:<digest>`. Tools such as Renovate or a CI step
    /// resolving tags to digests keep pins current.
    ///
    /// ## References
    /// - Kubernetes documentation, "Images": image pull by digest
    /// - NSA-CISA Kubernetes Hardening Guidance, image security
    pub static META = {
        id: "KSO-I003",
        title: "Image not pinned by digest",
        severity: Low,
        category: Images,
        aliases: ["CKV_K8S_43", "C-0306"],
        frameworks: [NsaCisa("image security"), MitreAttack("T1195.002")],
    };
}

/// Reports each container whose image has no digest.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        let Some((node, image)) = container_image(&container) else { return };
        if image.digest.is_none() {
            out.emit(
                node.pos,
                &container.key_with(".image"),
                format!("container {:?} uses an image not pinned by digest", container.name()),
            );
        }
    });
}
