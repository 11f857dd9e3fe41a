use kubesecops_k8s::Object;

use crate::rules::image::{container_image, ImageRef};
use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers whose image uses a mutable tag while the effective `imagePullPolicy` is not
    /// `Always`. A tag counts as mutable when the image has no digest and the tag is missing,
    /// `latest`, or contains no digit at all (channel names such as `stable`, `main`, `edge`,
    /// `nightly`). Version tags such as `1.27.3` are left alone, and so is any image pinned by
    /// digest, where the pull policy makes no difference.
    ///
    /// The effective policy is the written one or, when none is written, the Kubernetes
    /// default: `Always` for a missing or `latest` tag, `IfNotPresent` otherwise. So a missing
    /// or `latest` tag is only reported with an explicit `IfNotPresent` or `Never`, while a
    /// channel tag is reported unless the policy says `Always`.
    ///
    /// ## Why it matters
    /// With `IfNotPresent` a node keeps running whatever version of a moving tag it pulled
    /// first. Nodes drift apart, a security fix pushed under the same tag never arrives, and a
    /// pod can also start from an image another tenant pulled onto the node with credentials
    /// this pod does not have (`Always` makes the kubelet check pull access every time).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: worker
    ///   image: registry.example.com/worker:stable
    ///   imagePullPolicy: IfNotPresent   # reported
    /// ```
    ///
    /// ## Fix
    /// Pin a version tag or a digest. If the tag must move, set `imagePullPolicy: Always`.
    ///
    /// ## References
    /// - Kubernetes documentation, "Images": image pull policy and its defaults
    /// - CIS Kubernetes Benchmark 1.2.11 (AlwaysPullImages admission plugin)
    pub static META = {
        id: "KSO-I005",
        title: "Mutable image tag without imagePullPolicy Always",
        severity: Low,
        category: Images,
        aliases: ["CKV_K8S_15", "C-0075", "pullPolicyNotAlways"],
        frameworks: [NsaCisa("image security"), MitreAttack("T1525")],
    };
}

/// Whether the image's tag can move under the same name.
fn mutable_tag(image: &ImageRef<'_>) -> bool {
    image.digest.is_none()
        && match image.tag {
            None | Some("latest") => true,
            Some(tag) => !tag.bytes().any(|b| b.is_ascii_digit()),
        }
}

/// Reports each container with a mutable tag whose effective pull policy is not `Always`.
pub fn check(obj: &Object, _config: &Config, out: &mut Emitter<'_>) {
    for_each_container(obj, |_, container| {
        let Some((image_node, image)) = container_image(&container) else { return };
        if !mutable_tag(&image) {
            return;
        }
        let tag = match image.tag {
            Some(tag) => format!("the mutable tag {tag:?}"),
            None => "no tag (so `latest`)".to_string(),
        };
        let key = container.key_with(".imagePullPolicy");
        match container.node.get("imagePullPolicy").and_then(|n| Some((n, n.as_str()?))) {
            Some((_, "Always")) => {}
            Some((node, policy)) => out.emit(
                node.pos,
                &key,
                format!("container {:?} uses {tag} with imagePullPolicy {policy}", container.name()),
            ),
            None if image.tag.is_some_and(|t| t != "latest") => out.emit(
                image_node.pos,
                &key,
                format!(
                    "container {:?} uses {tag} and no imagePullPolicy, which defaults to IfNotPresent",
                    container.name()
                ),
            ),
            None => {}
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::image::parse_image;

    #[test]
    fn channel_tags_are_mutable_versions_are_not() {
        let mutable = |s: &str| mutable_tag(&parse_image(s).unwrap());
        assert!(mutable("app"));
        assert!(mutable("app:latest"));
        assert!(mutable("app:stable"));
        assert!(!mutable("app:1.27.3"));
        assert!(!mutable("app:v2"));
        assert!(!mutable("app:stable@sha256:abc"));
    }
}
