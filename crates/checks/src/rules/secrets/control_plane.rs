//! Reading the command lines of control-plane static pods (`kube-apiserver`, `etcd`).

use kubesecops_k8s::{Container, Node, Object, Pos};

/// A container running `program`, with its flags.
pub struct ProgramRun<'a> {
    /// The container.
    pub container: Container<'a>,
    /// Where the command line starts (`command`, else `args`, else the container).
    pub pos: Pos,
    /// `--name[=value]` flags as (name, value, where); a flag without a value has `None`.
    pub flags: Vec<(String, Option<String>, Pos)>,
}

impl ProgramRun<'_> {
    /// The last value of `--name` (later flags win, as in the Go flag package); `Some("")` when
    /// the flag is given without a value.
    pub fn flag(&self, name: &str) -> Option<(&str, Pos)> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, pos)| (v.as_deref().unwrap_or(""), *pos))
    }

    /// True when boolean `--name` is on (`--name`, `--name=true`).
    pub fn flag_on(&self, name: &str) -> bool {
        self.flag(name).is_some_and(|(v, _)| v.is_empty() || v.eq_ignore_ascii_case("true"))
    }
}

/// Containers of a Pod that run `program` (by the file name of a command-line word, so
/// `/usr/local/bin/kube-apiserver` and `sh -c "exec etcd ..."` both count). Only Pods: static
/// pod manifests are Pods.
pub fn runs<'a>(obj: &'a Object, program: &str) -> Vec<ProgramRun<'a>> {
    if obj.kind() != "Pod" || !obj.group().is_empty() {
        return Vec::new();
    }
    let Some(template) = obj.pod_template() else { return Vec::new() };
    let mut found = Vec::new();
    for container in template.containers() {
        let mut words: Vec<(String, Pos)> = Vec::new();
        for field in ["command", "args"] {
            for item in container.node.get(field).map(Node::items).unwrap_or_default() {
                if let Some(text) = item.as_str() {
                    words.extend(
                        text.split_whitespace().map(|w| (w.trim_matches(['"', '\'']).to_string(), item.pos)),
                    );
                }
            }
        }
        let is_program = |w: &str| w.rsplit('/').next() == Some(program);
        if !words.iter().any(|(w, _)| is_program(w)) {
            continue;
        }
        let pos = ["command", "args"]
            .iter()
            .find(|f| container.node.get(f).is_some())
            .map_or(container.node.pos, |f| container.node.key_pos(f));
        let mut flags = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let (word, at) = &words[i];
            i += 1;
            let Some(flag) =
                word.strip_prefix("--").or_else(|| word.strip_prefix('-').filter(|f| f.len() > 1))
            else {
                continue;
            };
            match flag.split_once('=') {
                Some((name, value)) => flags.push((name.to_string(), Some(value.to_string()), *at)),
                None => {
                    // `--flag value`: the next word, unless it is a flag itself.
                    let value = words.get(i).filter(|(w, _)| !w.starts_with('-')).map(|(w, _)| w.clone());
                    if value.is_some() {
                        i += 1;
                    }
                    flags.push((flag.to_string(), value, *at));
                }
            }
        }
        found.push(ProgramRun { container, pos, flags });
    }
    found
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kubesecops_k8s::loader::load_text;

    use super::*;

    #[test]
    fn flags_in_every_spelling() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: etcd}\nspec:\n  containers:\n  - name: etcd\n    image: etcd\n    command: [/usr/local/bin/etcd]\n    args: [--name, one, --client-cert-auth, --auto-tls=false, \"--data-dir /var/lib/etcd\", --debug]\n";
        let loaded = load_text(Arc::from("etcd.yaml"), text);
        let found = runs(&loaded.objects[0], "etcd");
        assert_eq!(found.len(), 1);
        let run = &found[0];
        assert_eq!(run.flag("name").map(|f| f.0), Some("one"));
        assert!(run.flag_on("client-cert-auth"));
        assert!(!run.flag_on("auto-tls"));
        assert_eq!(run.flag("data-dir").map(|f| f.0), Some("/var/lib/etcd"));
        assert!(run.flag_on("debug"));
        assert!(run.flag("missing").is_none());
        assert_eq!(run.pos.line, 8, "the command line starts at `command`");
        assert!(runs(&loaded.objects[0], "kube-apiserver").is_empty());
    }
}
