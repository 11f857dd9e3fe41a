//! The `AdmissionReview` (`admission.k8s.io/v1`) request and response, as the API server
//! sends and expects them.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// The API version this webhook speaks (`v1beta1` requests have the same shape and are
/// answered in their own version).
pub const API_VERSION: &str = "admission.k8s.io/v1";

/// An `AdmissionReview` as received.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionReview {
    /// `admission.k8s.io/v1` (or `v1beta1`).
    pub api_version: String,
    /// `AdmissionReview`.
    pub kind: String,
    /// The request; required in what the API server sends.
    pub request: Option<AdmissionRequest>,
}

/// A group, version and kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct GroupVersionKind {
    /// API group (empty for the core group).
    #[serde(default)]
    pub group: String,
    /// API version within the group.
    #[serde(default)]
    pub version: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
}

/// A group, version and resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct GroupVersionResource {
    /// API group (empty for the core group).
    #[serde(default)]
    pub group: String,
    /// API version within the group.
    #[serde(default)]
    pub version: String,
    /// Resource (plural, lower case: `pods`).
    #[serde(default)]
    pub resource: String,
}

/// What the request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operation {
    /// A new object.
    Create,
    /// A changed object (`oldObject` holds the previous one).
    Update,
    /// A deletion (`oldObject` holds the object deleted).
    Delete,
    /// A connection (`pods/exec`, `pods/portforward`, ...).
    Connect,
}

impl Operation {
    /// The name as the API server writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }
}

/// Who sends the request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct UserInfo {
    /// User name.
    #[serde(default)]
    pub username: String,
    /// User uid.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Groups of the user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Extra attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Json>,
}

/// The `request` of an `AdmissionReview`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    /// Identifies this request; the response must carry it back.
    pub uid: String,
    /// Kind of the object.
    pub kind: GroupVersionKind,
    /// Resource being requested.
    #[serde(default)]
    pub resource: GroupVersionResource,
    /// Subresource (`status`, `ephemeralcontainers`, ...), empty for the main resource.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sub_resource: String,
    /// Name of the object (empty on CREATE with `generateName`).
    #[serde(default)]
    pub name: String,
    /// Namespace of the object (empty for cluster-scoped objects).
    #[serde(default)]
    pub namespace: String,
    /// The operation.
    pub operation: Operation,
    /// Who asks.
    #[serde(default)]
    pub user_info: UserInfo,
    /// The object as it would be stored (CREATE, UPDATE; CONNECT options).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<Json>,
    /// The existing object (UPDATE, DELETE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_object: Option<Json>,
    /// True when the request will not be persisted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Operation options (CreateOptions, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Json>,
}

/// Why a request body is not an acceptable `AdmissionReview` (answered with HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed AdmissionReview: {0}")]
pub struct MalformedReview(pub String);

impl AdmissionReview {
    /// Parses and checks a request body: JSON, kind `AdmissionReview`, an
    /// `admission.k8s.io` version, a request with a uid, and an object where the operation
    /// needs one.
    pub fn parse(body: &[u8]) -> Result<AdmissionReview, MalformedReview> {
        let review: AdmissionReview =
            serde_json::from_slice(body).map_err(|err| MalformedReview(err.to_string()))?;
        if review.kind != "AdmissionReview" {
            return Err(MalformedReview(format!("kind is {:?}, expected \"AdmissionReview\"", review.kind)));
        }
        if review.api_version != API_VERSION && review.api_version != "admission.k8s.io/v1beta1" {
            return Err(MalformedReview(format!(
                "apiVersion is {:?}, expected \"{API_VERSION}\"",
                review.api_version
            )));
        }
        let request = review.request.as_ref().ok_or_else(|| MalformedReview("no request".to_string()))?;
        if request.uid.is_empty() {
            return Err(MalformedReview("request.uid is empty".to_string()));
        }
        let is_object = |o: &Option<Json>| o.as_ref().is_some_and(Json::is_object);
        match request.operation {
            Operation::Create | Operation::Update if !is_object(&request.object) => {
                return Err(MalformedReview(format!(
                    "request.object must be an object for {}",
                    request.operation.as_str()
                )))
            }
            Operation::Delete if request.old_object.is_some() && !is_object(&request.old_object) => {
                return Err(MalformedReview("request.oldObject must be an object".to_string()))
            }
            _ => {}
        }
        Ok(review)
    }
}

/// `status` of a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// HTTP-like code: 403 for a denial.
    pub code: u16,
    /// `Forbidden`.
    pub reason: String,
    /// The violated rules, shown to the user by `kubectl`.
    pub message: String,
}

/// The `response` of an `AdmissionReview`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    /// The request's uid.
    pub uid: String,
    /// Whether the request is admitted.
    pub allowed: bool,
    /// Why it is denied (absent when allowed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Warnings the client shows (warn-mode violations).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The whole reply body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewReply<'a> {
    /// The request's API version.
    pub api_version: &'a str,
    /// `AdmissionReview`.
    pub kind: &'static str,
    /// The response.
    pub response: &'a AdmissionResponse,
}

#[cfg(test)]
mod tests {
    use super::*;

    const POD: &str = r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{
        "uid":"705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind":{"group":"","version":"v1","kind":"Pod"},
        "resource":{"group":"","version":"v1","resource":"pods"},
        "namespace":"team","operation":"CREATE",
        "userInfo":{"username":"alice","groups":["system:authenticated"]},
        "object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[]}},
        "dryRun":false}}"#;

    #[test]
    fn parses_a_pod_create() {
        let review = AdmissionReview::parse(POD.as_bytes()).unwrap();
        let request = review.request.unwrap();
        assert_eq!(request.operation, Operation::Create);
        assert_eq!(request.kind.kind, "Pod");
        assert_eq!(request.namespace, "team");
        assert_eq!(request.user_info.username, "alice");
        assert_eq!(request.object.unwrap()["metadata"]["name"], "p");
    }

    #[test]
    fn rejects_malformed_reviews_with_a_reason() {
        let cases = [
            ("not json", "expected ident"),
            (r#"{"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":null}"#, "kind is \"Pod\""),
            (r#"{"apiVersion":"v1","kind":"AdmissionReview"}"#, "apiVersion is \"v1\""),
            (r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#, "no request"),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"","kind":{},"operation":"CREATE","object":{}}}"#,
                "request.uid is empty",
            ),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{},"operation":"CREATE"}}"#,
                "request.object must be an object for CREATE",
            ),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{},"operation":"PATCH","object":{}}}"#,
                "unknown variant `PATCH`",
            ),
        ];
        for (body, expected) in cases {
            let err = AdmissionReview::parse(body.as_bytes()).unwrap_err().to_string();
            assert!(err.starts_with("malformed AdmissionReview: "), "{err}");
            assert!(err.contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn response_serialises_in_the_api_shape() {
        let response = AdmissionResponse {
            uid: "u".into(),
            allowed: false,
            status: Some(Status { code: 403, reason: "Forbidden".into(), message: "no".into() }),
            warnings: vec![],
        };
        let reply = ReviewReply { api_version: API_VERSION, kind: "AdmissionReview", response: &response };
        assert_eq!(
            serde_json::to_value(&reply).unwrap(),
            serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "response": {"uid": "u", "allowed": false,
                    "status": {"code": 403, "reason": "Forbidden", "message": "no"}}})
        );
    }
}
