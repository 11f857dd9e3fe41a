use kubesecops_k8s::Object;

use crate::rules::image::{canonical_registry, container_image};
use crate::rules::util::for_each_container;
use crate::{declare_rule, Config, Emitter};

declare_rule! {
    /// ## What it checks
    /// Containers whose image comes from a registry that is not in the configured allowlist
    /// (`--allowed-registry`, or `allowed-registries` in `kubesecops.toml`). Names are
    /// normalised first (`nginx` is `docker.io/library/nginx`; `index.docker.io` is
    /// `docker.io`), then an allowlist entry matches when it equals the image name or is a
    /// prefix of it ending at a `/`: `registry.example.com` allows
    /// `registry.example.com/team/app`, `docker.io/library` allows `nginx` but not
    /// `bitnami/redis`.
    ///
    /// With an empty allowlist the rule reports nothing: it cannot know which registries your
    /// organisation trusts; the list stays empty until you configure one.
    ///
    /// ## Why it matters
    /// Public registries accept images from anyone. Typo-squatted names, abandoned repositories
    /// taken over by someone else, and images nobody scanned all arrive through registries you
    /// do not control (MITRE ATT&CK T1195.002, supply chain compromise). Restricting sources
    /// to a registry you mirror, scan and sign images into closes that door.
    ///
    /// ## Example
    /// With `allowed-registries = ["registry.example.com"]`:
    /// ```yaml
    /// containers:
    /// - name: app
    ///   image: registry.example.com/team/app:1.2.0   # allowed
    /// - name: helper
    ///   image: ghcr.io/someone/helper:0.3            # reported
    /// ```
    ///
    /// ## Fix
    /// Mirror the image into an allowed registry and reference it there, or add the registry
    /// to the allowlist after reviewing who can publish to it. Enforce the same list at
    /// admission (Kyverno, Gatekeeper or ValidatingAdmissionPolicy) so clusters agree with CI.
    ///
    /// ## References
    /// - CIS Kubernetes Benchmark 5.5.1 (image provenance)
    /// - NSA-CISA Kubernetes Hardening Guidance, image security
    pub static META = {
        id: "KSO-I004",
        title: "Image from a registry outside the allowlist",
        severity: Medium,
        category: Images,
        aliases: ["KSV-0125", "C-0078"],
        frameworks: [Cis("5.5.1"), NsaCisa("image security"), MitreAttack("T1195.002")],
    };
}

/// An allowlist entry in the same normal form as image names: lower case, no scheme, no
/// trailing `/`, Docker Hub host aliases folded into `docker.io`.
fn normalise_entry(entry: &str) -> String {
    let entry = entry.trim();
    let entry = entry.strip_prefix("https://").or_else(|| entry.strip_prefix("http://")).unwrap_or(entry);
    let entry = entry.trim_matches('/').to_ascii_lowercase();
    match entry.split_once('/') {
        Some((host, rest)) => format!("{}/{rest}", canonical_registry(host)),
        None => canonical_registry(&entry),
    }
}

/// Whether `name` (`registry/repository`) is covered by one of `allowed`.
fn allowed(name: &str, allowed: &[String]) -> bool {
    let name = name.to_ascii_lowercase();
    allowed.iter().map(|e| normalise_entry(e)).filter(|e| !e.is_empty()).any(|entry| {
        name == entry || name.strip_prefix(entry.as_str()).is_some_and(|rest| rest.starts_with('/'))
    })
}

/// Reports each container whose image name matches no allowlist entry.
pub fn check(obj: &Object, config: &Config, out: &mut Emitter<'_>) {
    if config.allowed_registries.is_empty() {
        return;
    }
    for_each_container(obj, |_, container| {
        let Some((node, image)) = container_image(&container) else { return };
        let name = image.name();
        if !allowed(&name, &config.allowed_registries) {
            out.emit(
                node.pos,
                &container.key_with(".image"),
                format!("container {:?} pulls {name:?}, which no allowed registry covers", container.name()),
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::image::parse_image;

    fn list(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| e.to_string()).collect()
    }

    fn image_allowed(image: &str, entries: &[&str]) -> bool {
        allowed(&parse_image(image).unwrap().name(), &list(entries))
    }

    #[test]
    fn entries_match_at_path_boundaries() {
        let entries = ["registry.example.com", "docker.io/library", "quay.io/team/"];
        assert!(image_allowed("registry.example.com/team/app:1", &entries));
        assert!(!image_allowed("registry.example.com.evil.io/app:1", &entries));
        assert!(image_allowed("nginx:1.27", &entries));
        assert!(image_allowed("index.docker.io/library/redis", &entries));
        assert!(!image_allowed("bitnami/redis:7", &entries));
        assert!(image_allowed("quay.io/team/tool@sha256:abc", &entries));
        assert!(!image_allowed("quay.io/teams/tool", &entries));
        assert!(!image_allowed("ghcr.io/someone/helper:0.3", &entries));
    }

    #[test]
    fn entries_are_normalised() {
        assert_eq!(normalise_entry("https://Registry.Example.com/"), "registry.example.com");
        assert_eq!(normalise_entry("index.docker.io/library"), "docker.io/library");
        assert_eq!(normalise_entry("localhost:5000"), "localhost:5000");
        assert!(image_allowed("localhost:5000/app:1", &["localhost:5000"]));
        assert!(image_allowed("busybox", &["docker.io"]));
        assert!(!image_allowed("busybox", &[" "]));
    }
}
