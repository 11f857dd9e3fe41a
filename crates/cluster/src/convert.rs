//! Live JSON objects to the manifest object model.

use std::sync::Arc;

use kubesecops_k8s::{Entry, Node, Object, Pos, Scalar, Value};
use serde_json::Value as Json;

/// Annotation where `kubectl apply` keeps the last applied object, Secret values included.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Removes what must not be kept or is of no use: every value of a Secret's `data` and
/// `stringData` (the keys stay, with empty values), a Secret's last-applied annotation (it
/// holds the values too) and `metadata.managedFields` of every object (large, no security
/// meaning).
pub fn redact(object: &mut Json) {
    let is_secret = object.get("kind").and_then(Json::as_str) == Some("Secret")
        && object.get("apiVersion").and_then(Json::as_str) == Some("v1");
    if let Some(meta) = object.get_mut("metadata").and_then(Json::as_object_mut) {
        meta.remove("managedFields");
        if is_secret {
            if let Some(annotations) = meta.get_mut("annotations").and_then(Json::as_object_mut) {
                annotations.remove(LAST_APPLIED);
            }
        }
    }
    if is_secret {
        for field in ["data", "stringData"] {
            if let Some(map) = object.get_mut(field).and_then(Json::as_object_mut) {
                for value in map.values_mut() {
                    *value = Json::String(String::new());
                }
            }
        }
    }
}

fn scalar(text: String, plain: bool) -> Value {
    Value::Scalar(Scalar { text, plain })
}

/// A JSON value as a position-less node tree (live objects have no lines). Strings are
/// quoted scalars, so that `"true"` stays a string exactly as the API server stored it.
pub fn to_node(value: &Json) -> Node {
    let value = match value {
        Json::Null => scalar(String::new(), true),
        Json::Bool(b) => scalar(b.to_string(), true),
        Json::Number(n) => scalar(n.to_string(), true),
        Json::String(s) => scalar(s.clone(), false),
        Json::Array(items) => Value::Seq(items.iter().map(to_node).collect()),
        Json::Object(map) => Value::Map(
            map.iter()
                .map(|(k, v)| Entry { key: k.clone(), key_pos: Pos::default(), value: to_node(v) })
                .collect(),
        ),
    };
    Node { pos: Pos::default(), value }
}

/// A live object (with `apiVersion` and `kind`) as an [`Object`] whose path is `path`
/// (`cluster://CONTEXT`); `None` for values that are not Kubernetes objects.
pub fn to_object(path: &Arc<str>, value: &Json) -> Option<Object> {
    Object::from_root(Arc::clone(path), to_node(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_lose_values_and_objects_lose_managed_fields() {
        let mut secret = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "managedFields": [{}], "annotations": {LAST_APPLIED: "{\"data\":{\"a\":\"c2VjcmV0\"}}", "keep": "x"}},
            "data": {"a": "c2VjcmV0"}, "stringData": {"b": "plain"}
        });
        redact(&mut secret);
        assert_eq!(secret["data"]["a"], "");
        assert_eq!(secret["stringData"]["b"], "");
        assert!(secret["metadata"].get("managedFields").is_none());
        assert!(secret["metadata"]["annotations"].get(LAST_APPLIED).is_none());
        assert_eq!(secret["metadata"]["annotations"]["keep"], "x");
        let mut cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}});
        redact(&mut cm);
        assert_eq!(cm["data"]["a"], "b", "only Secrets are emptied");
    }

    #[test]
    fn json_types_survive_as_yaml_typing() {
        let value = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"},
            "spec": {"hostNetwork": true, "priority": 5, "nodeName": "true", "x": null,
                     "containers": [{"name": "a", "securityContext": {"privileged": true}}]}
        });
        let obj = to_object(&Arc::from("cluster://k"), &value).unwrap();
        assert_eq!(obj.meta.namespace, "n");
        let spec = obj.root.get("spec").unwrap();
        assert_eq!(spec.get("hostNetwork").unwrap().as_bool(), Some(true));
        assert_eq!(spec.get("priority").unwrap().as_i64(), Some(5));
        assert_eq!(spec.get("nodeName").unwrap().as_bool(), None, "a string stays a string");
        assert!(spec.get("x").is_none());
        assert_eq!(obj.root.to_json(), value);
        assert_eq!(obj.pod_template().unwrap().containers().count(), 1);
    }
}
