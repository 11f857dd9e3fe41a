//! Image rules (`KSO-I`): tags, digests, registries and pull policy.

use kubesecops_k8s::{Container, Node};

use crate::rule::{Check, RuleDef};

pub mod latest_tag;
pub mod no_digest;
pub mod no_tag;
pub mod pull_policy;
pub mod registry_allowlist;

/// The rules of this family, in id order.
pub static RULES: &[RuleDef] = &[
    RuleDef { meta: &latest_tag::META, check: Check::Object(latest_tag::check) },
    RuleDef { meta: &no_tag::META, check: Check::Object(no_tag::check) },
    RuleDef { meta: &no_digest::META, check: Check::Object(no_digest::check) },
    RuleDef { meta: &registry_allowlist::META, check: Check::Object(registry_allowlist::check) },
    RuleDef { meta: &pull_policy::META, check: Check::Object(pull_policy::check) },
];

/// An image reference split the way container runtimes read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// Registry host (with port), `docker.io` when the reference names none.
    pub registry: String,
    /// Repository path inside the registry (`library/nginx` for `nginx`).
    pub repository: String,
    /// Tag, when written.
    pub tag: Option<&'a str>,
    /// Digest (`sha256:...`), when written.
    pub digest: Option<&'a str>,
}

impl ImageRef<'_> {
    /// `registry/repository`, the name allowlists are matched against.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

/// A registry host in normal form: lower case, Docker Hub's other host names folded into `docker.io`.
pub fn canonical_registry(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => "docker.io".to_string(),
        _ => host,
    }
}

/// Parses an image reference. `None` for an empty reference or one still holding template
/// syntax (`{{ .Values.image }}`, `${IMAGE}`): those are not images yet, so image rules skip them.
pub fn parse_image(image: &str) -> Option<ImageRef<'_>> {
    let image = image.trim();
    if image.is_empty()
        || image.contains(char::is_whitespace)
        || ["{{", "${", "$("].iter().any(|t| image.contains(t))
    {
        return None;
    }
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    // A tag is a `:` after the last `/`; an earlier `:` is a registry port.
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    let (registry, repository) = match path.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (canonical_registry(first), rest.to_string())
        }
        Some(_) => ("docker.io".to_string(), path.to_string()),
        None => ("docker.io".to_string(), format!("library/{path}")),
    };
    Some(ImageRef { registry, repository, tag: tag.filter(|t| !t.is_empty()), digest })
}

/// A container's `image` node and its parsed reference, when it has a usable one.
pub fn container_image<'a>(container: &Container<'a>) -> Option<(&'a Node, ImageRef<'a>)> {
    let node = container.node.get("image")?;
    Some((node, parse_image(node.as_str()?)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_like_the_runtime_reads_them() {
        let r = parse_image("nginx").unwrap();
        assert_eq!((r.name().as_str(), r.tag, r.digest), ("docker.io/library/nginx", None, None));
        let r = parse_image("bitnami/redis:7.2").unwrap();
        assert_eq!((r.name().as_str(), r.tag), ("docker.io/bitnami/redis", Some("7.2")));
        let r = parse_image("localhost:5000/team/app:1.0@sha256:abc").unwrap();
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "team/app");
        assert_eq!((r.tag, r.digest), (Some("1.0"), Some("sha256:abc")));
        let r = parse_image("registry.example.com:443/app").unwrap();
        assert_eq!((r.registry.as_str(), r.tag), ("registry.example.com:443", None));
        let r = parse_image("Index.Docker.io/library/busybox:latest").unwrap();
        assert_eq!(r.name(), "docker.io/library/busybox");
        assert_eq!(parse_image("app:").unwrap().tag, None);
        assert!(parse_image("{{ .Values.image }}").is_none());
        assert!(parse_image("${IMAGE}").is_none());
        assert!(parse_image("  ").is_none());
    }
}
