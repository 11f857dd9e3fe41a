//! Resource and probe rules (`KSO-L`): requests, limits, liveness and readiness probes.

use kubesecops_k8s::{Container, ContainerKind, Node, Object, PodTemplate, Pos};

use crate::rule::{Check, RuleDef};
use crate::rules::util::for_each_container;
use crate::Emitter;

pub mod cpu_limit;
pub mod cpu_request;
pub mod ephemeral_storage_limit;
pub mod liveness_probe;
pub mod memory_limit;
pub mod memory_request;
pub mod readiness_probe;

/// The rules of this family, in id order.
pub static RULES: &[RuleDef] = &[
    RuleDef { meta: &cpu_request::META, check: Check::Object(cpu_request::check) },
    RuleDef { meta: &cpu_limit::META, check: Check::Object(cpu_limit::check) },
    RuleDef { meta: &memory_request::META, check: Check::Object(memory_request::check) },
    RuleDef { meta: &memory_limit::META, check: Check::Object(memory_limit::check) },
    RuleDef { meta: &ephemeral_storage_limit::META, check: Check::Object(ephemeral_storage_limit::check) },
    RuleDef { meta: &liveness_probe::META, check: Check::Object(liveness_probe::check) },
    RuleDef { meta: &readiness_probe::META, check: Check::Object(readiness_probe::check) },
];

/// `resources.<section>.<resource>` of a container, when set.
fn quantity<'a>(container: &Container<'a>, section: &str, resource: &str) -> Option<&'a Node> {
    container.node.path(&["resources", section, resource])
}

/// Where to point when `resources.<section>` lacks a value: the section's key, else the
/// `resources` key, else the container itself.
fn missing_pos(container: &Container<'_>, section: &str) -> Pos {
    match container.node.get("resources") {
        Some(resources) if resources.entry(section).is_some() => resources.key_pos(section),
        Some(_) => container.node.key_pos("resources"),
        None => container.node.pos,
    }
}

/// Containers that take resources: regular and init containers (ephemeral containers cannot
/// set any).
fn for_each_resourced_container<'a>(obj: &'a Object, mut f: impl FnMut(Container<'a>)) {
    for_each_container(obj, |_, container| {
        if container.kind != ContainerKind::Ephemeral {
            f(container);
        }
    });
}

/// Reports containers with no `limits.<resource>`.
fn report_missing_limit(obj: &Object, out: &mut Emitter<'_>, resource: &str, label: &str) {
    for_each_resourced_container(obj, |container| {
        if quantity(&container, "limits", resource).is_none() {
            out.emit(
                missing_pos(&container, "limits"),
                &format!("{}.resources.limits.{resource}", container.key()),
                format!("container {:?} has no {label} limit", container.name()),
            );
        }
    });
}

/// Reports containers with no `requests.<resource>`. A limit alone counts: Kubernetes copies
/// it into the request.
fn report_missing_request(obj: &Object, out: &mut Emitter<'_>, resource: &str, label: &str) {
    for_each_resourced_container(obj, |container| {
        if quantity(&container, "requests", resource).is_none()
            && quantity(&container, "limits", resource).is_none()
        {
            out.emit(
                missing_pos(&container, "requests"),
                &format!("{}.resources.requests.{resource}", container.key()),
                format!("container {:?} has no {label} request", container.name()),
            );
        }
    });
}

/// Whether pods of this object run to completion, where liveness and readiness probes have
/// nothing to guard: Jobs, CronJobs, and pods whose `restartPolicy` is `Never` or `OnFailure`.
fn runs_to_completion(obj: &Object, template: &PodTemplate<'_>) -> bool {
    (obj.group() == "batch" && matches!(obj.kind(), "Job" | "CronJob"))
        || matches!(template.get("restartPolicy").and_then(Node::as_str), Some("Never" | "OnFailure"))
}

/// Reports long-running regular containers without the probe `field`.
fn report_missing_probe(obj: &Object, out: &mut Emitter<'_>, field: &str, label: &str) {
    let Some(template) = obj.pod_template() else { return };
    if runs_to_completion(obj, &template) {
        return;
    }
    for container in template.containers().filter(|c| c.kind == ContainerKind::Regular) {
        if container.node.get(field).is_none() {
            out.emit(
                container.node.pos,
                &format!("{}.{field}", container.key()),
                format!("container {:?} has no {label} probe", container.name()),
            );
        }
    }
}
