//! The fields of the `k8s_audit` source: `ka.*` (the k8saudit plugin), `jevt.*`/`json.*`
//! (the json plugin) and a few generic `evt.*` fields.
//!
//! Semantics follow the plugins' extraction code: every value is a string; non-string JSON
//! values are rendered as compact JSON; a field that cannot be extracted is absent (checks on
//! it are false, `exists` included); list fields with no element are absent too. Where the
//! plugin's code contradicts its own field description (see `docs/conformance.md`), the
//! description wins.

use std::borrow::Cow;

use crate::event::AuditEvent;
use crate::json::Json;
use crate::time::{format_rfc3339_nanos, format_time_of_day};

/// The name of the event source these fields belong to.
pub const SOURCE: &str = "k8s_audit";

/// How a field takes an argument in brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// No argument.
    None,
    /// A key, required (`ka.uri.param[command]`, `jevt.value[/stage]`).
    Key,
    /// An optional numeric index selecting one element (`ka.req.pod.containers.image[0]`).
    Index,
}

/// The type of a field's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Text (every plugin field).
    Str,
    /// An unsigned number (`evt.rawtime`), compared numerically.
    U64,
    /// A signed number (`fd.num`, `evt.rawres`), compared numerically.
    I64,
    /// An IP address (`fd.sip`): operands are normalised addresses, or networks (`a.b.c.d/n`).
    IpAddr,
    /// An address compared with networks (`fd.net`, `fd.snet`): `=` and `in` test membership.
    IpNet,
    /// The registered host names an address resolves from (`fd.sip.name`): operands are
    /// names, registered for resolution when the rule compiles (see [`crate::hostnames`]).
    HostName,
}

/// Description of one field of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct FieldInfo {
    /// Full name.
    pub name: &'static str,
    /// Whether the field yields a list of values.
    pub list: bool,
    /// The argument it takes.
    pub arg: ArgKind,
    /// Value type.
    pub ty: FieldType,
    /// One-line description.
    pub desc: &'static str,
}

const fn f(name: &'static str, list: bool, arg: ArgKind, desc: &'static str) -> FieldInfo {
    FieldInfo { name, list, arg, ty: FieldType::Str, desc }
}

use ArgKind::{Index as I, Key as K, None as N};

/// Per-container fields, available for `containers`, `initContainers` and
/// `ephemeralContainers`.
const CONTAINER_SUBFIELDS: [&str; 15] = [
    "name",
    "image",
    "image.repository",
    "command",
    "args",
    "privileged",
    "allow_privilege_escalation",
    "read_only_fs",
    "run_as_user",
    "eff_run_as_user",
    "run_as_group",
    "eff_run_as_group",
    "proc_mount",
    "add_capabilities",
    "host_port",
];

/// Every field of the source except the per-container ones (see [`all_fields`]).
pub const FIELDS: &[FieldInfo] = &[
    f("ka.auditid", false, N, "The unique id of the audit event"),
    f("ka.stage", false, N, "Stage of the request (e.g. RequestReceived, ResponseComplete, etc.)"),
    f("ka.auth.decision", false, N, "The authorization decision"),
    f("ka.auth.reason", false, N, "The authorization reason"),
    f(
        "ka.auth.openshift.decision",
        false,
        N,
        "The authentication decision of the OpenShift API server extension",
    ),
    f("ka.auth.openshift.username", false, N, "The user name of the OpenShift authentication"),
    f(
        "ka.validations.admission.policy.failure",
        false,
        N,
        "The failure reason of a validating admission policy",
    ),
    f("ka.security.pod.violations", false, N, "The Pod Security admission violations"),
    f("ka.user.name", false, N, "The user name performing the request"),
    f("ka.user.groups", true, N, "The groups to which the user belongs"),
    f("ka.impuser.name", false, N, "The impersonated user name"),
    f("ka.verb", false, N, "The action being performed"),
    f("ka.uri", false, N, "The request URI as sent from client to server"),
    f("ka.uri.param", false, K, "The value of a query parameter of the URI (ka.uri.param[key])"),
    f("ka.target.name", false, N, "The target object name"),
    f("ka.target.namespace", false, N, "The target object namespace"),
    f("ka.target.resource", false, N, "The target object resource"),
    f("ka.target.subresource", false, N, "The target object subresource"),
    f("ka.target.pod.name", false, N, "The target pod name"),
    f("ka.req.binding.subjects", true, N, "The subjects of a role binding request"),
    f("ka.req.binding.subjects.user_names", true, N, "The user names among the subjects of a binding"),
    f(
        "ka.req.binding.subjects.serviceaccount_names",
        true,
        N,
        "The service account names among the subjects of a binding",
    ),
    f(
        "ka.req.binding.subjects.serviceaccount_ns_names",
        true,
        N,
        "The namespace:name of the service accounts among the subjects of a binding",
    ),
    f("ka.req.binding.subjects.group_names", true, N, "The group names among the subjects of a binding"),
    f("ka.req.binding.role", false, N, "The role a binding refers to"),
    f("ka.req.binding.subject.has_name", false, K, "Deprecated, always true"),
    f("ka.req.configmap.name", false, N, "The name of the configmap of the request"),
    f("ka.req.configmap.obj", false, N, "The data of the configmap of the request"),
    f("ka.req.container.image", false, N, "Deprecated: the image of the first container"),
    f(
        "ka.req.container.image.repository",
        false,
        N,
        "Deprecated: the repository of the first container's image",
    ),
    f("ka.req.pod.host_ipc", false, N, "The hostIPC flag of the pod of the request"),
    f("ka.req.pod.host_network", false, N, "The hostNetwork flag of the pod of the request"),
    f("ka.req.container.host_network", false, N, "Deprecated alias of ka.req.pod.host_network"),
    f("ka.req.pod.host_pid", false, N, "The hostPID flag of the pod of the request"),
    f("ka.req.container.privileged", false, N, "Deprecated: true if any container is privileged"),
    f("ka.req.pod.run_as_user", false, N, "The runAsUser of the pod security context"),
    f("ka.req.pod.run_as_group", false, N, "The runAsGroup of the pod security context"),
    f("ka.req.role.rules", true, N, "The rules of a role of the request"),
    f("ka.req.role.rules.apiGroups", true, I, "The API groups of the rules of a role"),
    f("ka.req.role.rules.nonResourceURLs", true, I, "The non-resource URLs of the rules of a role"),
    f("ka.req.role.rules.verbs", true, I, "The verbs of the rules of a role"),
    f("ka.req.role.rules.resources", true, I, "The resources of the rules of a role"),
    f("ka.req.pod.fs_group", false, N, "The fsGroup of the pod security context"),
    f("ka.req.pod.supplemental_groups", true, N, "The supplementalGroups of the pod security context"),
    f("ka.req.service.type", false, N, "The type of the service of the request"),
    f("ka.req.service.ports", true, I, "The ports of the service of the request"),
    f("ka.req.pod.volumes.hostpath", true, I, "The hostPath paths of the volumes of the pod"),
    f(
        "ka.req.volume.hostpath",
        false,
        K,
        "Deprecated: true if a volume uses the host path (prefix with a trailing *)",
    ),
    f("ka.req.pod.volumes.flexvolume_driver", true, I, "The flexVolume drivers of the volumes of the pod"),
    f("ka.req.pod.volumes.volume_type", true, I, "The types of the volumes of the pod"),
    f("ka.resp.name", false, N, "The response object name"),
    f("ka.response.code", false, N, "The response code"),
    f("ka.response.reason", false, N, "The response reason"),
    f("ka.useragent", false, N, "The user agent of the client"),
    f("ka.sourceips", true, I, "The IP addresses of the client"),
    f("ka.cluster.name", false, N, "The name of the cluster"),
    f("jevt.value", false, K, "A value of the event by JSON pointer (jevt.value[/a/b])"),
    f("jevt.obj", false, N, "The whole event as indented JSON"),
    f("jevt.rawtime", false, N, "The event time in nanoseconds since the epoch"),
    f("json.value", false, K, "A value of the event by JSON pointer (json.value[/a/b])"),
    f("json.obj", false, N, "The whole event as indented JSON"),
    f("json.rawtime", false, N, "The event time in nanoseconds since the epoch"),
    f("evt.time", false, N, "The event time of day (UTC, nanoseconds)"),
    f("evt.time.iso8601", false, N, "The event time, RFC 3339 with nanoseconds"),
    f("evt.datetime", false, N, "The event date and time (UTC)"),
    FieldInfo {
        name: "evt.rawtime",
        list: false,
        arg: N,
        ty: FieldType::U64,
        desc: "The event time in nanoseconds since the epoch",
    },
    f("evt.source", false, N, "The event source (k8s_audit)"),
    f("evt.pluginname", false, N, "The plugin that produced the event (k8saudit)"),
];

/// Every field name of the source, per-container fields included, with its description.
pub fn all_fields() -> Vec<FieldInfo> {
    let mut out = FIELDS.to_vec();
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        for sub in CONTAINER_SUBFIELDS {
            if sub == "host_port" && list == "ephemeralContainers" {
                continue;
            }
            let name: &'static str = Box::leak(format!("ka.req.pod.{list}.{sub}").into_boxed_str());
            out.push(f(name, true, I, "A per-container value of the pod of the request"));
        }
    }
    out
}

/// Which container list a per-container field reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerList {
    /// `spec.containers`.
    Containers,
    /// `spec.initContainers`.
    Init,
    /// `spec.ephemeralContainers`.
    Ephemeral,
}

impl ContainerList {
    fn key(self) -> &'static str {
        match self {
            ContainerList::Containers => "containers",
            ContainerList::Init => "initContainers",
            ContainerList::Ephemeral => "ephemeralContainers",
        }
    }
}

/// A resolved field, ready to extract from events.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    /// A value at a fixed path; `list` fields must find an array there.
    Keys { path: &'static [&'static str], list: bool },
    /// `ka.uri.param[key]`.
    UriParam(String),
    /// `ka.target.pod.name`.
    TargetPodName,
    /// `ka.req.binding.subjects.*_names`.
    SubjectNames(SubjectKind),
    /// `ka.req.binding.subject.has_name[...]`: always "true".
    HasName,
    /// `ka.req.container.image` / `.repository` (first container).
    FirstImage { repository: bool },
    /// `ka.req.container.privileged`.
    AnyPrivileged,
    /// `ka.req.volume.hostpath[path]`, `path*` for a prefix.
    VolumeHostpath(String),
    /// A value under each element of the arrays along `path`, nulls skipped.
    Recursive { path: &'static [&'static str], index: Option<usize> },
    /// `ka.req.role.rules.*` and `ka.sourceips`: the elements of arrays found along `path`.
    Flatten { path: &'static [&'static str], index: Option<usize> },
    /// `ka.req.pod.volumes.volume_type`.
    VolumeTypes { index: Option<usize> },
    /// A per-container field.
    Container { list: ContainerList, sub: ContainerSub, index: Option<usize> },
    /// `jevt.value[pointer]` / `json.value[pointer]`.
    Pointer(String),
    /// `jevt.obj` / `json.obj`.
    Obj,
    /// `jevt.rawtime` / `json.rawtime` / `evt.rawtime`.
    RawTime,
    /// `evt.time`.
    TimeOfDay,
    /// `evt.time.iso8601`.
    TimeIso,
    /// `evt.datetime`.
    DateTime,
    /// A constant (`evt.source`, `evt.pluginname`).
    Const(&'static str),
}

/// Kinds of binding subjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    /// `User`.
    User,
    /// `ServiceAccount` names.
    ServiceAccount,
    /// `ServiceAccount` as `namespace:name`.
    NamespacedServiceAccount,
    /// `Group`.
    Group,
}

/// The per-container values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerSub {
    /// `name`.
    Name,
    /// `image`.
    Image,
    /// `image.repository`.
    Repository,
    /// `command`, joined with spaces.
    Command,
    /// `args`, joined with spaces.
    Args,
    /// A value of the security context.
    SecurityContext(&'static [&'static str]),
    /// `eff_run_as_user` / `eff_run_as_group`: the container's value, else the pod's, else 0.
    Effective(&'static str),
    /// `host_port`.
    HostPort,
}

/// Why a field reference cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// No such field in the source.
    #[error("nonexistent field {0}")]
    Unknown(String),
    /// The field requires an argument.
    #[error("field {0} requires an argument")]
    MissingArg(String),
    /// The field takes no argument.
    #[error("field {0} does not take an argument")]
    UnexpectedArg(String),
    /// An index argument is not a number.
    #[error("field {0}: the argument must be a numeric index, not {1:?}")]
    BadIndex(String, String),
}

/// Looks up the catalog entry of a field name.
pub fn field_info(name: &str) -> Option<FieldInfo> {
    if let Some(info) = FIELDS.iter().find(|info| info.name == name) {
        return Some(*info);
    }
    container_field(name).map(|_| f("ka.req.pod.containers.*", true, I, "A per-container value"))
}

fn container_field(name: &str) -> Option<(ContainerList, ContainerSub)> {
    let rest = name.strip_prefix("ka.req.pod.")?;
    let (list, sub) = rest.split_once('.')?;
    let list = match list {
        "containers" => ContainerList::Containers,
        "initContainers" => ContainerList::Init,
        "ephemeralContainers" => ContainerList::Ephemeral,
        _ => return None,
    };
    let sub = match sub {
        "name" => ContainerSub::Name,
        "image" => ContainerSub::Image,
        "image.repository" => ContainerSub::Repository,
        "command" => ContainerSub::Command,
        "args" => ContainerSub::Args,
        "privileged" => ContainerSub::SecurityContext(&["securityContext", "privileged"]),
        "allow_privilege_escalation" => {
            ContainerSub::SecurityContext(&["securityContext", "allowPrivilegeEscalation"])
        }
        "read_only_fs" => ContainerSub::SecurityContext(&["securityContext", "readOnlyRootFilesystem"]),
        "run_as_user" => ContainerSub::SecurityContext(&["securityContext", "runAsUser"]),
        "run_as_group" => ContainerSub::SecurityContext(&["securityContext", "runAsGroup"]),
        "proc_mount" => ContainerSub::SecurityContext(&["securityContext", "procMount"]),
        "add_capabilities" => ContainerSub::SecurityContext(&["securityContext", "capabilities", "add"]),
        "eff_run_as_user" => ContainerSub::Effective("runAsUser"),
        "eff_run_as_group" => ContainerSub::Effective("runAsGroup"),
        "host_port" if list != ContainerList::Ephemeral => ContainerSub::HostPort,
        _ => return None,
    };
    Some((list, sub))
}

/// Resolves `name[arg]` to an extractor, checking the argument.
pub fn resolve(name: &str, arg: Option<&str>) -> Result<(Field, FieldInfo), FieldError> {
    let info = field_info(name).ok_or_else(|| FieldError::Unknown(name.to_string()))?;
    let key = match (info.arg, arg) {
        (ArgKind::Key, None) => return Err(FieldError::MissingArg(name.to_string())),
        (ArgKind::None, Some(_)) => return Err(FieldError::UnexpectedArg(name.to_string())),
        (_, arg) => arg,
    };
    let index = match (info.arg, arg) {
        (ArgKind::Index, Some(text)) => Some(
            text.parse::<usize>().map_err(|_| FieldError::BadIndex(name.to_string(), text.to_string()))?,
        ),
        _ => None,
    };
    if let Some((list, sub)) = container_field(name) {
        return Ok((Field::Container { list, sub, index }, info));
    }
    let key_owned = || key.unwrap_or_default().to_string();
    let keys = |path: &'static [&'static str]| Field::Keys { path, list: info.list };
    let field = match name {
        "ka.auditid" => keys(&["auditID"]),
        "ka.stage" => keys(&["stage"]),
        "ka.auth.decision" => keys(&["annotations", "authorization.k8s.io/decision"]),
        "ka.auth.reason" => keys(&["annotations", "authorization.k8s.io/reason"]),
        "ka.auth.openshift.decision" => keys(&["annotations", "authentication.openshift.io/decision"]),
        "ka.auth.openshift.username" => keys(&["annotations", "authentication.openshift.io/username"]),
        "ka.validations.admission.policy.failure" => {
            keys(&["annotations", "validation.policy.admission.k8s.io/validation_failure"])
        }
        "ka.security.pod.violations" => keys(&["annotations", "pod-security.kubernetes.io/audit-violations"]),
        "ka.user.name" => keys(&["user", "username"]),
        "ka.user.groups" => keys(&["user", "groups"]),
        "ka.impuser.name" => keys(&["impersonatedUser", "username"]),
        "ka.verb" => keys(&["verb"]),
        "ka.uri" => keys(&["requestURI"]),
        "ka.uri.param" => Field::UriParam(key_owned()),
        "ka.target.name" | "ka.req.configmap.name" => keys(&["objectRef", "name"]),
        "ka.target.namespace" => keys(&["objectRef", "namespace"]),
        "ka.target.resource" => keys(&["objectRef", "resource"]),
        "ka.target.subresource" => keys(&["objectRef", "subresource"]),
        "ka.target.pod.name" => Field::TargetPodName,
        "ka.req.binding.subjects" => keys(&["requestObject", "subjects"]),
        "ka.req.binding.subjects.user_names" => Field::SubjectNames(SubjectKind::User),
        "ka.req.binding.subjects.serviceaccount_names" => Field::SubjectNames(SubjectKind::ServiceAccount),
        "ka.req.binding.subjects.serviceaccount_ns_names" => {
            Field::SubjectNames(SubjectKind::NamespacedServiceAccount)
        }
        "ka.req.binding.subjects.group_names" => Field::SubjectNames(SubjectKind::Group),
        "ka.req.binding.role" => keys(&["requestObject", "roleRef", "name"]),
        "ka.req.binding.subject.has_name" => Field::HasName,
        "ka.req.configmap.obj" => keys(&["requestObject", "data"]),
        "ka.req.container.image" => Field::FirstImage { repository: false },
        "ka.req.container.image.repository" => Field::FirstImage { repository: true },
        "ka.req.pod.host_ipc" => keys(&["requestObject", "spec", "hostIPC"]),
        "ka.req.pod.host_network" | "ka.req.container.host_network" => {
            keys(&["requestObject", "spec", "hostNetwork"])
        }
        "ka.req.pod.host_pid" => keys(&["requestObject", "spec", "hostPID"]),
        "ka.req.container.privileged" => Field::AnyPrivileged,
        "ka.req.pod.run_as_user" => keys(&["requestObject", "spec", "securityContext", "runAsUser"]),
        "ka.req.pod.run_as_group" => keys(&["requestObject", "spec", "securityContext", "runAsGroup"]),
        "ka.req.role.rules" => keys(&["requestObject", "rules"]),
        "ka.req.role.rules.apiGroups" => {
            Field::Flatten { path: &["requestObject", "rules", "apiGroups"], index }
        }
        "ka.req.role.rules.nonResourceURLs" => {
            Field::Flatten { path: &["requestObject", "rules", "nonResourceURLs"], index }
        }
        "ka.req.role.rules.verbs" => Field::Flatten { path: &["requestObject", "rules", "verbs"], index },
        "ka.req.role.rules.resources" => {
            Field::Flatten { path: &["requestObject", "rules", "resources"], index }
        }
        "ka.req.pod.fs_group" => keys(&["requestObject", "spec", "securityContext", "fsGroup"]),
        "ka.req.pod.supplemental_groups" => {
            keys(&["requestObject", "spec", "securityContext", "supplementalGroups"])
        }
        "ka.req.service.type" => keys(&["requestObject", "spec", "type"]),
        "ka.req.service.ports" => Field::Recursive { path: &["requestObject", "spec", "ports"], index },
        "ka.req.pod.volumes.hostpath" => {
            Field::Recursive { path: &["requestObject", "spec", "volumes", "hostPath", "path"], index }
        }
        "ka.req.volume.hostpath" => Field::VolumeHostpath(key_owned()),
        "ka.req.pod.volumes.flexvolume_driver" => {
            Field::Recursive { path: &["requestObject", "spec", "volumes", "flexVolume", "driver"], index }
        }
        "ka.req.pod.volumes.volume_type" => Field::VolumeTypes { index },
        "ka.resp.name" => keys(&["responseObject", "metadata", "name"]),
        "ka.response.code" => keys(&["responseStatus", "code"]),
        "ka.response.reason" => keys(&["responseStatus", "reason"]),
        "ka.useragent" => keys(&["userAgent"]),
        "ka.sourceips" => Field::Flatten { path: &["sourceIPs"], index },
        "ka.cluster.name" => keys(&["annotations", "cluster_name"]),
        "jevt.value" | "json.value" => Field::Pointer(key_owned()),
        "jevt.obj" | "json.obj" => Field::Obj,
        "jevt.rawtime" | "json.rawtime" | "evt.rawtime" => Field::RawTime,
        "evt.time" => Field::TimeOfDay,
        "evt.time.iso8601" => Field::TimeIso,
        "evt.datetime" => Field::DateTime,
        "evt.source" => Field::Const(SOURCE),
        "evt.pluginname" => Field::Const("k8saudit"),
        _ => return Err(FieldError::Unknown(name.to_string())),
    };
    Ok((field, info))
}

/// The values of a field on one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Values<'e> {
    /// One value (scalar fields, or a list with one element).
    One(Cow<'e, str>),
    /// Several values (list fields).
    Many(Vec<Cow<'e, str>>),
}

impl<'e> Values<'e> {
    /// The values as a slice.
    pub fn as_slice(&self) -> &[Cow<'e, str>] {
        match self {
            Values::One(value) => std::slice::from_ref(value),
            Values::Many(values) => values,
        }
    }

    fn from_vec(mut values: Vec<Cow<'e, str>>) -> Option<Values<'e>> {
        match values.len() {
            0 => None,
            1 => values.pop().map(Values::One),
            _ => Some(Values::Many(values)),
        }
    }
}

type Nodes<'j, 'e> = Vec<Option<&'j Json<'e>>>;

/// Walks `path`; an array met before the path ends fans out over its elements (recording a
/// `None` for an element where the rest of the path is missing), or is indexed by `index`.
fn recursive<'j, 'e>(mut value: &'j Json<'e>, index: Option<usize>, path: &[&str]) -> Option<Nodes<'j, 'e>> {
    for (i, key) in path.iter().enumerate() {
        if let Json::Array(items) = value {
            match index {
                None => {
                    let mut out = Vec::new();
                    for item in items {
                        match recursive(item, None, &path[i..]) {
                            Some(found) => out.extend(found),
                            None => out.push(None),
                        }
                    }
                    return Some(out);
                }
                Some(n) => value = items.get(n)?,
            }
        }
        if !key.is_empty() {
            value = value.child(key)?;
        }
    }
    Some(vec![Some(value)])
}

fn strings_skip_null<'e>(nodes: Nodes<'_, 'e>) -> Vec<Cow<'e, str>> {
    nodes.into_iter().flatten().map(Json::to_field_string).collect()
}

/// Every node must be present (the plugin fails the extraction otherwise).
fn strings_all<'e>(nodes: Nodes<'_, 'e>) -> Option<Vec<Cow<'e, str>>> {
    nodes.into_iter().map(|n| n.map(Json::to_field_string)).collect()
}

fn container_nodes<'j, 'e>(
    event: &'j Json<'e>,
    list: ContainerList,
    index: Option<usize>,
    sub: &[&str],
) -> Option<Nodes<'j, 'e>> {
    let spec = event.get_path(&["requestObject", "spec"])?;
    let mut path = vec![list.key()];
    path.extend_from_slice(sub);
    recursive(spec, index, &path)
}

fn images<'e>(event: &Json<'e>, list: ContainerList, index: Option<usize>) -> Option<Vec<Cow<'e, str>>> {
    strings_all(container_nodes(event, list, index, &["image"])?)
}

/// The repository of an image reference, cut at the first `:` and then at the first `@`, as
/// the plugin does.
fn repository(image: Cow<'_, str>) -> Cow<'_, str> {
    let cut = |s: &str| {
        let s = s.split(':').next().unwrap_or_default();
        s.split('@').next().unwrap_or_default().len()
    };
    match image {
        Cow::Borrowed(s) => Cow::Borrowed(&s[..cut(s)]),
        Cow::Owned(s) => Cow::Owned(s[..cut(&s)].to_string()),
    }
}

fn joined_arrays<'e>(nodes: Nodes<'_, 'e>) -> Option<Vec<Cow<'e, str>>> {
    let mut out = Vec::new();
    for node in nodes.into_iter().flatten() {
        let items = node.as_array()?;
        let parts: Option<Vec<Cow<'e, str>>> = items.iter().map(Json::as_str).collect();
        out.push(Cow::Owned(parts?.join(" ")));
    }
    (!out.is_empty()).then_some(out)
}

impl Field {
    /// Extracts the field from an event; `None` when it is absent.
    pub fn extract<'e>(&self, event: &AuditEvent<'e>) -> Option<Values<'e>> {
        let json = event.json();
        let needs_audit_id = !matches!(
            self,
            Field::Pointer(_)
                | Field::Obj
                | Field::RawTime
                | Field::TimeOfDay
                | Field::TimeIso
                | Field::DateTime
                | Field::Const(_)
        );
        // The plugin ignores JSON that is not an audit event.
        if needs_audit_id && !event.has_audit_id() {
            return None;
        }
        match self {
            Field::Keys { path, list } => {
                let value = json.get_path(path)?;
                if *list {
                    Values::from_vec(value.as_array()?.iter().map(Json::to_field_string).collect())
                } else {
                    Some(Values::One(value.to_field_string()))
                }
            }
            Field::UriParam(key) => {
                let uri = json.get("requestURI")?.to_field_string();
                query_param(&uri, key).map(|v| Values::One(Cow::Owned(v)))
            }
            Field::TargetPodName => {
                let object_ref = json.get("objectRef");
                let text = |key: &str| object_ref.and_then(|o| o.get(key)).and_then(Json::as_str);
                let subresource = text("subresource").unwrap_or_default();
                if text("resource").as_deref() == Some("pods") && subresource.is_empty() {
                    let name = json.get_path(&["responseObject", "metadata", "name"])?;
                    Some(Values::One(name.to_field_string()))
                } else {
                    None
                }
            }
            Field::SubjectNames(kind) => subject_names(json, *kind).and_then(Values::from_vec),
            Field::HasName => Some(Values::One(Cow::Borrowed("true"))),
            Field::FirstImage { repository: repo } => {
                let first = images(json, ContainerList::Containers, Some(0))?.into_iter().next()?;
                Some(Values::One(if *repo { repository(first) } else { first }))
            }
            Field::AnyPrivileged => {
                let nodes = container_nodes(
                    json,
                    ContainerList::Containers,
                    None,
                    &["securityContext", "privileged"],
                )?;
                let any = nodes.into_iter().flatten().any(|n| matches!(n, Json::Bool(true)));
                Some(Values::One(Cow::Borrowed(if any { "true" } else { "false" })))
            }
            Field::VolumeHostpath(arg) => {
                let nodes = recursive(json, None, &["requestObject", "spec", "volumes", "hostPath", "path"])?;
                let prefix = arg.strip_suffix('*');
                let hit = strings_skip_null(nodes)
                    .iter()
                    .any(|path| prefix.is_some_and(|p| path.starts_with(p)) || path == arg);
                Some(Values::One(Cow::Borrowed(if hit { "true" } else { "false" })))
            }
            Field::Recursive { path, index } => {
                Values::from_vec(strings_skip_null(recursive(json, *index, path)?))
            }
            Field::Flatten { path, index } => {
                let nodes = if path[0] == "requestObject" {
                    recursive(json, *index, path)?
                } else {
                    // ka.sourceips: the top-level array, optionally one element of it.
                    let items = json.get_path(path)?.as_array()?;
                    let selected: Vec<_> = match index {
                        Some(n) => items.get(*n).into_iter().map(Some).collect(),
                        None => items.iter().map(Some).collect(),
                    };
                    return Values::from_vec(strings_skip_null(selected));
                };
                let mut out = Vec::new();
                for node in nodes.into_iter().flatten() {
                    if let Json::Array(items) = node {
                        out.extend(items.iter().map(Json::to_field_string));
                    }
                }
                Values::from_vec(out)
            }
            Field::VolumeTypes { index } => {
                let nodes = recursive(json, *index, &["requestObject", "spec", "volumes", ""])?;
                let mut out = Vec::new();
                for node in nodes.into_iter().flatten() {
                    if let Json::Object(members) = node {
                        out.extend(members.iter().map(|(k, _)| k.decoded()).filter(|k| k != "name"));
                    }
                }
                Values::from_vec(out)
            }
            Field::Container { list, sub, index } => container_values(json, *list, *sub, *index),
            Field::Pointer(pointer) => json.pointer(pointer).map(|v| Values::One(v.to_field_string())),
            Field::Obj => Some(Values::One(Cow::Owned(json.to_indented()))),
            Field::RawTime => Some(Values::One(Cow::Owned(event.time_ns().to_string()))),
            Field::TimeOfDay => Some(Values::One(Cow::Owned(format_time_of_day(event.time_ns())))),
            Field::TimeIso => Some(Values::One(Cow::Owned(format_rfc3339_nanos(event.time_ns())))),
            Field::DateTime => {
                let iso = format_rfc3339_nanos(event.time_ns());
                Some(Values::One(Cow::Owned(format!("{} {}", &iso[..10], &iso[11..19]))))
            }
            Field::Const(value) => Some(Values::One(Cow::Borrowed(value))),
        }
    }
}

fn container_values<'e>(
    json: &Json<'e>,
    list: ContainerList,
    sub: ContainerSub,
    index: Option<usize>,
) -> Option<Values<'e>> {
    let values = match sub {
        ContainerSub::Name => strings_all(container_nodes(json, list, index, &["name"])?)?,
        ContainerSub::Image => images(json, list, index)?,
        ContainerSub::Repository => images(json, list, index)?.into_iter().map(repository).collect(),
        ContainerSub::Command => joined_arrays(container_nodes(json, list, index, &["command"])?)?,
        ContainerSub::Args => joined_arrays(container_nodes(json, list, index, &["args"])?)?,
        ContainerSub::SecurityContext(path) => strings_skip_null(container_nodes(json, list, index, path)?),
        ContainerSub::Effective(key) => {
            let pod = json
                .get_path(&["requestObject", "spec", "securityContext", key])
                .map_or(Cow::Borrowed("0"), Json::to_field_string);
            let nodes = container_nodes(json, list, index, &["securityContext", key])?;
            nodes.into_iter().map(|n| n.map_or_else(|| pod.clone(), Json::to_field_string)).collect()
        }
        ContainerSub::HostPort => {
            let mut out = Vec::new();
            for ports in container_nodes(json, list, index, &["ports"])?.into_iter().flatten() {
                for port in ports.as_array()? {
                    if let Some(p) = port.get("hostPort").or_else(|| port.get("containerPort")) {
                        out.push(p.to_field_string());
                    }
                }
            }
            out
        }
    };
    Values::from_vec(values)
}

fn subject_names<'e>(json: &Json<'e>, kind: SubjectKind) -> Option<Vec<Cow<'e, str>>> {
    let Some(subjects) = json.get_path(&["requestObject", "subjects"]) else {
        return Some(Vec::new());
    };
    let wanted = match kind {
        SubjectKind::User => "User",
        SubjectKind::ServiceAccount | SubjectKind::NamespacedServiceAccount => "ServiceAccount",
        SubjectKind::Group => "Group",
    };
    let mut out = Vec::new();
    for subject in subjects.as_array()? {
        let (Some(k), Some(name)) = (subject.get("kind"), subject.get("name")) else {
            continue;
        };
        if k.to_field_string() != wanted {
            continue;
        }
        let name = name.to_field_string();
        if kind == SubjectKind::NamespacedServiceAccount {
            let Some(ns) = subject.get("namespace") else {
                continue;
            };
            out.push(Cow::Owned(format!("{}:{}", ns.to_field_string(), name)));
        } else {
            out.push(name);
        }
    }
    Some(out)
}

/// The first value of query parameter `key` in a request URI, percent-decoded (`+` is a space),
/// as Go's `url.ParseQuery` gives it. A malformed query yields nothing.
pub fn query_param(uri: &str, key: &str) -> Option<String> {
    let without_fragment = uri.split('#').next().unwrap_or_default();
    let query = without_fragment.split_once('?')?.1;
    let mut found = None;
    for pair in query.split('&') {
        if pair.is_empty() {
            continue;
        }
        if pair.contains(';') {
            return None;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(k)?;
        let v = percent_decode(v)?;
        if found.is_none() && k == key {
            found = Some(v);
        }
    }
    found
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    const POD: &str = r#"{"kind":"Event","auditID":"x","stageTimestamp":"2020-01-01T00:00:00Z",
        "requestURI":"/api/v1/namespaces/default/pods/p/exec?command=sh&command=-c&container=a%20b",
        "user":{"username":"alice","groups":["system:masters","system:authenticated"]},
        "objectRef":{"resource":"pods","namespace":"default","name":"p"},
        "responseStatus":{"code":201},
        "requestObject":{"spec":{
            "hostNetwork":true,
            "securityContext":{"runAsUser":1000},
            "containers":[
                {"name":"a","image":"nginx:1.25","securityContext":{"privileged":true},"command":["sh","-c"],"ports":[{"containerPort":80}]},
                {"name":"b","image":"reg.io/app@sha256:abc","securityContext":{"runAsUser":5}}
            ],
            "volumes":[{"name":"v1","hostPath":{"path":"/proc"}},{"name":"v2","emptyDir":{}}]}},
        "responseObject":{"metadata":{"name":"p"}}}"#;

    fn values(text: &str, name: &str, arg: Option<&str>) -> Option<Vec<String>> {
        let doc = json::parse(text).unwrap();
        let event = AuditEvent::from_json(&doc).unwrap();
        let (field, _) = resolve(name, arg).unwrap();
        field.extract(&event).map(|v| v.as_slice().iter().map(|s| s.to_string()).collect())
    }

    fn one(name: &str, arg: Option<&str>) -> Option<Vec<String>> {
        values(POD, name, arg)
    }

    fn v(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn scalar_fields() {
        assert_eq!(one("ka.user.name", None), v(&["alice"]));
        assert_eq!(one("ka.response.code", None), v(&["201"]));
        assert_eq!(one("ka.req.pod.host_network", None), v(&["true"]));
        assert_eq!(one("ka.target.subresource", None), None);
        assert_eq!(one("ka.target.pod.name", None), v(&["p"]));
        assert_eq!(one("ka.uri.param", Some("command")), v(&["sh"]));
        assert_eq!(one("ka.uri.param", Some("container")), v(&["a b"]));
        assert_eq!(one("ka.uri.param", Some("missing")), None);
        assert_eq!(one("ka.req.container.image.repository", None), v(&["nginx"]));
        assert_eq!(one("ka.req.container.privileged", None), v(&["true"]));
        assert_eq!(one("ka.req.volume.hostpath", Some("/pr*")), v(&["true"]));
        assert_eq!(one("ka.req.volume.hostpath", Some("/pr")), v(&["false"]));
        assert_eq!(one("jevt.value", Some("/objectRef/resource")), v(&["pods"]));
        assert_eq!(one("jevt.value", Some("/responseStatus")), v(&[r#"{"code":201}"#]));
        assert_eq!(one("jevt.rawtime", None), v(&["1577836800000000000"]));
        assert_eq!(one("evt.time.iso8601", None), v(&["2020-01-01T00:00:00.000000000Z"]));
    }

    #[test]
    fn list_fields() {
        assert_eq!(one("ka.user.groups", None), v(&["system:masters", "system:authenticated"]));
        assert_eq!(one("ka.req.pod.containers.image", None), v(&["nginx:1.25", "reg.io/app@sha256:abc"]));
        assert_eq!(one("ka.req.pod.containers.image.repository", None), v(&["nginx", "reg.io/app"]));
        assert_eq!(one("ka.req.pod.containers.image", Some("1")), v(&["reg.io/app@sha256:abc"]));
        assert_eq!(one("ka.req.pod.containers.image", Some("2")), None);
        assert_eq!(one("ka.req.pod.containers.privileged", None), v(&["true"]));
        assert_eq!(one("ka.req.pod.containers.command", None), v(&["sh -c"]));
        assert_eq!(one("ka.req.pod.containers.host_port", None), v(&["80"]));
        assert_eq!(one("ka.req.pod.containers.eff_run_as_user", None), v(&["1000", "5"]));
        assert_eq!(one("ka.req.pod.volumes.hostpath", None), v(&["/proc"]));
        assert_eq!(one("ka.req.pod.volumes.volume_type", None), v(&["hostPath", "emptyDir"]));
        assert_eq!(one("ka.req.pod.initContainers.image", None), None);
        assert_eq!(one("ka.req.pod.containers.allow_privilege_escalation", None), None);
    }

    #[test]
    fn bindings_and_roles() {
        let binding = r#"{"auditID":"x","stageTimestamp":"2020-01-01T00:00:00Z","requestObject":{
            "roleRef":{"name":"cluster-admin"},
            "subjects":[{"kind":"User","name":"bob"},{"kind":"ServiceAccount","name":"sa","namespace":"ns"},{"kind":"Group","name":"g"}],
            "rules":[{"verbs":["get","list"],"resources":["pods"]},{"verbs":["*"]}]}}"#;
        assert_eq!(values(binding, "ka.req.binding.role", None), v(&["cluster-admin"]));
        assert_eq!(values(binding, "ka.req.binding.subjects.user_names", None), v(&["bob"]));
        assert_eq!(values(binding, "ka.req.binding.subjects.serviceaccount_ns_names", None), v(&["ns:sa"]));
        assert_eq!(
            values(binding, "ka.req.binding.subjects", None).unwrap()[0],
            r#"{"kind":"User","name":"bob"}"#
        );
        assert_eq!(values(binding, "ka.req.role.rules.verbs", None), v(&["get", "list", "*"]));
        assert_eq!(values(binding, "ka.req.role.rules.verbs", Some("1")), v(&["*"]));
        assert_eq!(values(binding, "ka.req.role.rules.resources", None), v(&["pods"]));
    }

    #[test]
    fn non_audit_json_has_no_ka_fields() {
        let text = r#"{"stageTimestamp":"2020-01-01T00:00:00Z","verb":"get"}"#;
        assert_eq!(values(text, "ka.verb", None), None);
        assert_eq!(values(text, "jevt.value", Some("/verb")), v(&["get"]));
    }

    #[test]
    fn resolution_checks_arguments() {
        assert!(matches!(resolve("ka.nope", None), Err(FieldError::Unknown(_))));
        assert!(matches!(resolve("ka.uri.param", None), Err(FieldError::MissingArg(_))));
        assert!(matches!(resolve("ka.verb", Some("x")), Err(FieldError::UnexpectedArg(_))));
        assert!(matches!(resolve("ka.req.pod.containers.image", Some("x")), Err(FieldError::BadIndex(..))));
        assert!(resolve("ka.req.pod.ephemeralContainers.host_port", None).is_err());
        assert!(all_fields().iter().all(|info| resolve(
            info.name,
            match info.arg {
                ArgKind::Key => Some("k"),
                _ => None,
            }
        )
        .is_ok()));
    }

    #[test]
    fn query_parsing() {
        assert_eq!(query_param("/x?a=1&a=2", "a").as_deref(), Some("1"));
        assert_eq!(query_param("/x?a=%zz", "a"), None);
        assert_eq!(query_param("/x", "a"), None);
        assert_eq!(query_param("/x?b&a=", "a").as_deref(), Some(""));
    }
}
