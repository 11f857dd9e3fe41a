//! The object of an admission request as a [`kubesecops_k8s::Object`], so that the same rules
//! that scan files judge it.

use std::sync::Arc;

use kubesecops_k8s::{Entry, Node, Object, Pos, Scalar, Value};
use serde_json::Value as Json;

use crate::review::GroupVersionKind;

/// The label findings carry as their "file".
const SOURCE: &str = "admission";

/// Converts JSON to a tree. Strings become quoted scalars (so `"true"` stays a string), other
/// scalars plain ones typed as YAML types them; there are no positions in a request.
pub fn json_to_node(value: &Json) -> Node {
    let pos = Pos::default();
    let scalar = |text: String, plain: bool| Node { pos, value: Value::Scalar(Scalar { text, plain }) };
    match value {
        Json::Null => Node::null(pos),
        Json::Bool(b) => scalar(b.to_string(), true),
        Json::Number(n) => scalar(n.to_string(), true),
        Json::String(s) => scalar(s.clone(), false),
        Json::Array(items) => Node { pos, value: Value::Seq(items.iter().map(json_to_node).collect()) },
        Json::Object(map) => Node {
            pos,
            value: Value::Map(
                map.iter()
                    .map(|(key, value)| Entry { key: key.clone(), key_pos: pos, value: json_to_node(value) })
                    .collect(),
            ),
        },
    }
}

/// The object of a request as rules see it. The API server leaves `metadata.namespace` out
/// of objects created in a namespace and may leave `apiVersion`/`kind` out of some; they are
/// filled in from the request so that rules see what is stored. `None` when `object` is not
/// a JSON object.
pub fn admission_object(object: &Json, kind: &GroupVersionKind, namespace: &str) -> Option<Object> {
    if !object.is_object() {
        return None;
    }
    let mut root = json_to_node(object);
    let Value::Map(entries) = &mut root.value else { return None };
    let string = |text: &str| Node {
        pos: Pos::default(),
        value: Value::Scalar(Scalar { text: text.to_string(), plain: false }),
    };
    let set_missing = |entries: &mut Vec<Entry>, key: &str, value: &str| {
        if !value.is_empty() && entries.iter().all(|e| e.key != key || e.value.is_null()) {
            entries.retain(|e| e.key != key);
            entries.push(Entry { key: key.to_string(), key_pos: Pos::default(), value: string(value) });
        }
    };
    let api_version =
        if kind.group.is_empty() { kind.version.clone() } else { format!("{}/{}", kind.group, kind.version) };
    if !kind.version.is_empty() {
        set_missing(entries, "apiVersion", &api_version);
    }
    set_missing(entries, "kind", &kind.kind);
    if !namespace.is_empty() {
        if !entries.iter().any(|e| e.key == "metadata" && e.value.is_map()) {
            entries.retain(|e| e.key != "metadata");
            entries.push(Entry {
                key: "metadata".to_string(),
                key_pos: Pos::default(),
                value: Node { pos: Pos::default(), value: Value::Map(Vec::new()) },
            });
        }
        if let Some(Value::Map(metadata)) =
            entries.iter_mut().find(|e| e.key == "metadata").map(|e| &mut e.value.value)
        {
            set_missing(metadata, "namespace", namespace);
        }
    }
    Object::from_root(Arc::from(SOURCE), root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_keep_their_json_types() {
        let node = json_to_node(&json!({"a": "true", "b": true, "c": 1000, "d": null, "e": [1.5]}));
        assert_eq!(node.get("a").unwrap().as_string(), Some("true"));
        assert_eq!(node.get("a").unwrap().as_bool(), None);
        assert_eq!(node.get("b").unwrap().as_bool(), Some(true));
        assert_eq!(node.get("c").unwrap().as_i64(), Some(1000));
        assert!(node.get("d").is_none());
        assert_eq!(node.to_json(), json!({"a": "true", "b": true, "c": 1000, "d": null, "e": [1.5]}));
    }

    #[test]
    fn request_fills_namespace_and_type() {
        let kind = GroupVersionKind { group: "apps".into(), version: "v1".into(), kind: "Deployment".into() };
        let obj = admission_object(&json!({"metadata": {"name": "web"}}), &kind, "team").unwrap();
        assert_eq!(obj.meta.api_version, "apps/v1");
        assert_eq!(obj.meta.kind, "Deployment");
        assert_eq!(obj.meta.namespace, "team");
        assert_eq!(obj.meta.name, "web");

        // What the object says wins.
        let obj = admission_object(
            &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"}}),
            &kind,
            "team",
        )
        .unwrap();
        assert_eq!((obj.meta.kind.as_str(), obj.meta.namespace.as_str()), ("Pod", "a"));
        assert!(admission_object(&json!([1]), &kind, "team").is_none());
    }
}
