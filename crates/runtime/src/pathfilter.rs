//! Which opened paths the `syscall` rules can care about, so a sensor can drop the other
//! opens before they leave the kernel.
//!
//! The analysis runs over the compiled conditions of the enabled rules. For an open event
//! (`open`, `openat`, `openat2`) each condition is abstracted to the set of path *shapes* it
//! can be true for: a path prefix, a path suffix, or "unusual" (see [`is_unusual_path`]).
//! Checks on `fd.name`, `fd.nameraw`, `fd.directory` and `fd.filename` give shapes; checks on
//! `evt.type` decide whether the rule sees opens at all; every other check can be anything.
//! `and` intersects, `or` unites, and `not` swaps what a check can be true and false for. The
//! result over-approximates: an open the rules could match is never outside it, so dropping
//! what is outside it never loses an alert.
//!
//! [`OpenInterest::passes`] is the test the kernel side applies to the raw path, written in
//! Rust for [`check_opens`] and the analysis' tests; the sensor's end-to-end tests check the
//! kernel side on real opens.

use crate::compile::{Check, Node, Scalar, SlotField, SlotSpec, Test};
use crate::condition::{Modifier, Op};
use crate::engine::Ruleset;
use crate::syscall::{resolve_path, Container, Direction, Fd, FdKind, Process, SyscallEvent};
use crate::sysfields::SysField;

/// The event types of opens, as the sensor names them.
pub const OPEN_EVENT_TYPES: [&str; 3] = ["open", "openat", "openat2"];

/// Longest path prefix worth keeping: the sensor copies at most 255 bytes of a path, so a
/// longer prefix can never match what the rules see.
pub const MAX_PREFIX_LEN: usize = 255;

/// Longest suffix kept as is; a longer one is shortened to its last bytes, which every path
/// ending with the whole suffix also ends with.
pub const MAX_SUFFIX_LEN: usize = 31;

/// What the enabled `syscall` rules can want of open events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenInterest {
    /// Some rule can match an open of any path: every open must reach user space.
    All {
        /// The first such rule, to say why.
        rule: String,
    },
    /// Only opens of paths of these shapes (and unusual paths) can match some rule.
    Paths(PathShapes),
}

/// The path shapes that can matter: a path matters when it is unusual, starts with one of
/// `prefixes` or ends with one of `suffixes`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathShapes {
    /// Byte prefixes (`/etc/shadow`, `/var/log/`), none a prefix of another.
    pub prefixes: Vec<String>,
    /// Byte suffixes (`release_agent`), at most [`MAX_SUFFIX_LEN`] bytes each.
    pub suffixes: Vec<String>,
}

/// True for a path whose normalised form can differ from its text, which a filter on the
/// raw text cannot judge: a relative path, a trailing `/`, an empty component (`//`), a `.`
/// component (`/./`, or `/.` at the end), and `..` anywhere (every `..` component, and the
/// needles of traversal checks such as `contains "../"`). The kernel side always passes these.
pub fn is_unusual_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.first() != Some(&b'/')
        || bytes.last() == Some(&b'/')
        || bytes.ends_with(b"/.")
        || bytes.windows(2).any(|w| matches!(w, [b'/', b'/'] | [b'.', b'.']))
        || bytes.windows(3).any(|w| w == b"/./")
}

impl PathShapes {
    /// The same shapes in at most `max_prefixes` prefixes and `max_suffixes` suffixes: while
    /// there are more, the two with the longest common prefix (suffix) are replaced by it,
    /// which every path either matched still matches. An empty common part matches every
    /// path.
    pub fn fitted(&self, max_prefixes: usize, max_suffixes: usize) -> PathShapes {
        fn merge(mut items: Vec<String>, max: usize, common: fn(&str, &str) -> String) -> Vec<String> {
            while items.len() > max.max(1) {
                let mut best = (0, 1, String::new());
                for i in 0..items.len() {
                    for j in i + 1..items.len() {
                        let c = common(&items[i], &items[j]);
                        if c.len() > best.2.len() || (i, j) == (0, 1) {
                            best = (i, j, c);
                        }
                    }
                }
                let (i, j, c) = best;
                items.remove(j);
                items[i] = c;
                // The merged entry can equal another one: keep the first. (Entries it covers
                // go in the final `simplify`.)
                let mut kept: Vec<String> = Vec::with_capacity(items.len());
                for item in items {
                    if !kept.contains(&item) {
                        kept.push(item);
                    }
                }
                items = kept;
            }
            items
        }
        fn common_prefix(a: &str, b: &str) -> String {
            let mut n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
            while !a.is_char_boundary(n) {
                n -= 1;
            }
            a[..n].to_string()
        }
        fn common_suffix(a: &str, b: &str) -> String {
            let n = a.bytes().rev().zip(b.bytes().rev()).take_while(|(x, y)| x == y).count();
            let mut start = a.len() - n;
            while !a.is_char_boundary(start) {
                start += 1;
            }
            a[start..].to_string()
        }
        let prefixes = merge(self.prefixes.clone(), max_prefixes, common_prefix);
        let suffixes = merge(self.suffixes.clone(), max_suffixes, common_suffix);
        PathShapes::from_shapes(simplify(
            prefixes.into_iter().map(Shape::Prefix).chain(suffixes.into_iter().map(Shape::Suffix)).collect(),
        ))
    }

    /// The prefixes and suffixes among `shapes` (unusual paths always pass: no entry).
    fn from_shapes(shapes: Vec<Shape>) -> PathShapes {
        let mut out = PathShapes::default();
        for shape in shapes {
            match shape {
                Shape::Prefix(p) => out.prefixes.push(p),
                Shape::Suffix(s) => out.suffixes.push(s),
                Shape::Unusual => {}
            }
        }
        out
    }
}

impl OpenInterest {
    /// True when an open of `raw_path` (as the process passed it) must reach the rules.
    pub fn passes(&self, raw_path: &str) -> bool {
        match self {
            OpenInterest::All { .. } => true,
            OpenInterest::Paths(shapes) => {
                is_unusual_path(raw_path)
                    || shapes.prefixes.iter().any(|p| raw_path.starts_with(p.as_str()))
                    || shapes.suffixes.iter().any(|s| raw_path.ends_with(s.as_str()))
            }
        }
    }
}

/// One shape of paths a condition can be true for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Shape {
    Prefix(String),
    Suffix(String),
    Unusual,
}

impl Shape {
    /// True when every path of `other` is also of `self`.
    fn contains(&self, other: &Shape) -> bool {
        match (self, other) {
            (Shape::Prefix(p), Shape::Prefix(q)) => q.starts_with(p.as_str()),
            (Shape::Suffix(s), Shape::Suffix(t)) => t.ends_with(s.as_str()),
            (a, b) => a == b,
        }
    }
}

/// The paths a condition can be true (or false) for: anything, or the union of some shapes
/// (none: never).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Paths {
    Any,
    Shapes(Vec<Shape>),
}

impl Paths {
    fn none() -> Paths {
        Paths::Shapes(Vec::new())
    }

    fn of(shapes: impl IntoIterator<Item = Shape>) -> Paths {
        Paths::Shapes(simplify(shapes.into_iter().collect()))
    }

    fn union(self, other: Paths) -> Paths {
        match (self, other) {
            (Paths::Any, _) | (_, Paths::Any) => Paths::Any,
            (Paths::Shapes(mut a), Paths::Shapes(b)) => {
                a.extend(b);
                Paths::Shapes(simplify(a))
            }
        }
    }

    fn intersect(self, other: Paths) -> Paths {
        match (self, other) {
            (Paths::Any, x) | (x, Paths::Any) => x,
            (Paths::Shapes(a), Paths::Shapes(b)) => {
                let met = a.iter().flat_map(|x| b.iter().filter_map(move |y| meet(x, y)));
                Paths::Shapes(simplify(met.collect()))
            }
        }
    }
}

/// A shape containing every path of both `a` and `b` (not necessarily the smallest), or
/// `None` when no path is of both.
fn meet(a: &Shape, b: &Shape) -> Option<Shape> {
    use Shape::*;
    match (a, b) {
        // Two prefixes (or two suffixes) share paths only when one contains the other.
        (Prefix(_), Prefix(_)) | (Suffix(_), Suffix(_)) => {
            if b.contains(a) {
                Some(a.clone())
            } else if a.contains(b) {
                Some(b.clone())
            } else {
                None
            }
        }
        // Unusual paths are rare: the narrower side.
        (Unusual, _) | (_, Unusual) => Some(Unusual),
        (Prefix(_), Suffix(_)) => Some(a.clone()),
        (Suffix(_), Prefix(_)) => Some(b.clone()),
    }
}

/// Sorted, without duplicates and without shapes another one covers.
fn simplify(mut shapes: Vec<Shape>) -> Vec<Shape> {
    shapes.sort();
    shapes.dedup();
    let keep: Vec<bool> = shapes.iter().map(|s| !shapes.iter().any(|by| by != s && by.contains(s))).collect();
    shapes.into_iter().zip(keep).filter_map(|(s, k)| k.then_some(s)).collect()
}

/// What a condition can be true for, and what it can be false for.
struct Abstract {
    when_true: Paths,
    when_false: Paths,
}

impl Abstract {
    fn unknown() -> Abstract {
        Abstract { when_true: Paths::Any, when_false: Paths::Any }
    }

    fn decided(value: bool) -> Abstract {
        let (yes, no) = if value { (Paths::Any, Paths::none()) } else { (Paths::none(), Paths::Any) };
        Abstract { when_true: yes, when_false: no }
    }
}

/// Abstracts `node` for open events of type `event_type`.
fn analyse(node: &Node, slots: &[SlotSpec], event_type: &str) -> Abstract {
    match node {
        Node::And(children) => {
            let mut out = Abstract { when_true: Paths::Any, when_false: Paths::none() };
            for child in children {
                let a = analyse(child, slots, event_type);
                out.when_true = out.when_true.intersect(a.when_true);
                out.when_false = out.when_false.union(a.when_false);
            }
            out
        }
        Node::Or(children) => {
            let mut out = Abstract { when_true: Paths::none(), when_false: Paths::Any };
            for child in children {
                let a = analyse(child, slots, event_type);
                out.when_true = out.when_true.union(a.when_true);
                out.when_false = out.when_false.intersect(a.when_false);
            }
            out
        }
        Node::Not(child) => {
            let a = analyse(child, slots, event_type);
            Abstract { when_true: a.when_false, when_false: a.when_true }
        }
        Node::Check(check) => analyse_check(check, slots, event_type),
    }
}

/// The path field a slot reads, when it is a plain one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PathField {
    Name,
    Directory,
    Filename,
}

fn analyse_check(check: &Check, slots: &[SlotSpec], event_type: &str) -> Abstract {
    let spec = &slots[check.slot];
    if !spec.transforms.is_empty() || spec.list {
        return Abstract::unknown();
    }
    let SlotField::Syscall(field) = &spec.field else {
        return Abstract::unknown();
    };
    let path_field = match field {
        SysField::EvtType => return event_type_check(&check.test, event_type),
        // For opens the two differ only for unusual paths, which always pass.
        SysField::FdName | SysField::FdNameRaw => PathField::Name,
        SysField::FdDirectory => PathField::Directory,
        SysField::FdFilename => PathField::Filename,
        _ => return Abstract::unknown(),
    };
    let when_true = match &check.test {
        Test::Scalar(scalar) => scalar_paths(scalar, path_field),
        Test::Set { op: Op::In | Op::Intersects, set } => {
            Paths::of(set.values().map(|v| equal_shape(v, path_field)))
        }
        Test::Modified { modifier, tests } => {
            let each = tests.iter().map(|t| scalar_paths(t, path_field));
            match modifier {
                Modifier::AllOf => each.fold(Paths::Any, Paths::intersect),
                Modifier::AnyOf | Modifier::OneOf => each.fold(Paths::none(), Paths::union),
            }
        }
        _ => Paths::Any,
    };
    Abstract { when_true, when_false: Paths::Any }
}

/// `evt.type` checks are decided for a known event type.
fn event_type_check(test: &Test, event_type: &str) -> Abstract {
    match test {
        Test::Scalar(Scalar::Str { op: Op::Eq, operand }) => Abstract::decided(operand == event_type),
        Test::Scalar(Scalar::Str { op: Op::Ne, operand }) => Abstract::decided(operand != event_type),
        Test::Set { op: Op::In | Op::Intersects, set } | Test::Scalar(Scalar::Set(set)) => {
            Abstract::decided(set.contains(event_type))
        }
        Test::Exists => Abstract::decided(true),
        _ => Abstract::unknown(),
    }
}

/// The shape of paths whose `field` equals `value`.
fn equal_shape(value: &str, field: PathField) -> Shape {
    match field {
        // For a directory: the directory of a file, or, opened as a directory, the path itself.
        PathField::Name | PathField::Directory => prefix(value),
        PathField::Filename => suffix(&format!("/{value}")),
    }
}

fn prefix(value: &str) -> Shape {
    if !value.starts_with('/') {
        // A relative name is only ever an unusual path.
        return Shape::Unusual;
    }
    let mut end = value.len().min(MAX_PREFIX_LEN + 1);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    Shape::Prefix(value[..end].to_string())
}

fn suffix(value: &str) -> Shape {
    let mut start = value.len().saturating_sub(MAX_SUFFIX_LEN);
    while !value.is_char_boundary(start) {
        start += 1;
    }
    Shape::Suffix(value[start..].to_string())
}

/// A substring test: only a needle that makes the path unusual narrows anything down.
fn contains_paths(needle: &str) -> Paths {
    if needle.contains("..") || needle.contains("/./") || needle.contains("//") {
        Paths::of([Shape::Unusual])
    } else {
        Paths::Any
    }
}

fn scalar_paths(scalar: &Scalar, field: PathField) -> Paths {
    match (scalar, field) {
        (Scalar::Str { op: Op::Eq, operand }, _) => Paths::of([equal_shape(operand, field)]),
        (Scalar::Set(set), _) => Paths::of(set.values().map(|v| equal_shape(v, field))),
        (Scalar::Str { op: Op::StartsWith, operand }, PathField::Name | PathField::Directory) => {
            Paths::of([prefix(operand)])
        }
        (Scalar::Str { op: Op::EndsWith, operand }, PathField::Name | PathField::Filename) => {
            Paths::of([suffix(operand)])
        }
        (Scalar::Str { op: Op::Contains, operand }, _) => contains_paths(operand),
        (Scalar::Glob { pattern, case_insensitive: false }, _) => glob_paths(pattern, field),
        (Scalar::PMatch(prefixes), PathField::Name | PathField::Directory) => {
            Paths::of(prefixes.literal_prefixes().map(|p| prefix(&p)))
        }
        _ => Paths::Any,
    }
}

/// A glob narrows by its literal start (for names and directories) or by a literal run that
/// makes the path unusual.
fn glob_paths(pattern: &str, field: PathField) -> Paths {
    let wild = |c: char| matches!(c, '*' | '?' | '[' | '\\');
    let literal_start = &pattern[..pattern.find(wild).unwrap_or(pattern.len())];
    if field != PathField::Filename && literal_start.starts_with('/') {
        return Paths::of([prefix(literal_start)]);
    }
    if pattern.split(wild).any(|run| contains_paths(run) != Paths::Any) {
        return Paths::of([Shape::Unusual]);
    }
    Paths::Any
}

impl Ruleset {
    /// What the enabled `syscall` rules can want of open events: which raw paths must reach
    /// them. See the [module documentation](crate::pathfilter).
    pub fn open_interest(&self) -> OpenInterest {
        let (rules, slots) = self.syscall_conditions();
        let mut all = Paths::none();
        for (name, condition) in rules {
            for event_type in OPEN_EVENT_TYPES {
                let paths = analyse(condition, slots, event_type).when_true;
                if paths == Paths::Any {
                    return OpenInterest::All { rule: name.to_string() };
                }
                all = all.union(paths);
            }
        }
        let Paths::Shapes(shapes) = all else { unreachable!("Any returned above") };
        OpenInterest::Paths(PathShapes::from_shapes(shapes))
    }
}

/// How a filter fared against a rule set on sample opens (see [`check_opens`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenCheck {
    /// Sample open events evaluated.
    pub opens: usize,
    /// Those some rule matched.
    pub matched: usize,
    /// Those the filter would keep in the kernel.
    pub filtered: usize,
    /// Matched opens the filter would keep in the kernel (rule, raw path): alerts it would lose.
    pub missed: Vec<(String, String)>,
}

/// Paths worth opening to test a filter: the literals the enabled `syscall` rules compare
/// path fields and arguments with, as they are and extended (`L`, `L/x`, `Lx`, a file named
/// `L`, `L` reached through `..`, `L` relative), plus common paths.
pub fn sample_paths(rules: &Ruleset) -> Vec<String> {
    let (conditions, slots) = rules.syscall_conditions();
    let mut literals = std::collections::BTreeSet::new();
    for (_, node) in conditions {
        collect_literals(node, slots, &mut literals);
    }
    let mut paths: std::collections::BTreeSet<String> = [
        "/etc/hostname",
        "/etc/passwd",
        "/tmp/x",
        "/proc/self/status",
        "/root/.ssh/id_rsa",
        "/home/u/.ssh/id_rsa",
        "/home/u/.aws/credentials",
        "/var/log/syslog",
        "/usr/bin/ls",
        "shadow",
        "/etc/../etc/shadow",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    for literal in literals {
        let literal = literal.replace(['*', '?'], "x");
        if literal.is_empty() || literal.len() > MAX_PREFIX_LEN {
            continue;
        }
        if literal.starts_with('/') {
            paths.insert(format!("{literal}/x"));
            paths.insert(format!("{literal}x"));
            paths.insert(format!("/tmp/..{literal}"));
            paths.insert(literal.trim_start_matches('/').to_string());
        } else {
            paths.insert(format!("/x/{literal}"));
            paths.insert(format!("/x/y{literal}"));
        }
        paths.insert(literal);
    }
    paths.into_iter().collect()
}

fn collect_literals(node: &Node, slots: &[SlotSpec], out: &mut std::collections::BTreeSet<String>) {
    match node {
        Node::And(children) | Node::Or(children) => {
            children.iter().for_each(|c| collect_literals(c, slots, out));
        }
        Node::Not(child) => collect_literals(child, slots, out),
        Node::Check(check) => {
            let pathish = matches!(
                &slots[check.slot].field,
                SlotField::Syscall(
                    SysField::FdName
                        | SysField::FdNameRaw
                        | SysField::FdDirectory
                        | SysField::FdFilename
                        | SysField::Arg(_)
                        | SysField::EvtArgs
                )
            );
            if !pathish {
                return;
            }
            let mut scalar = |s: &Scalar| match s {
                Scalar::Str { operand, .. } => {
                    out.insert(operand.clone());
                }
                Scalar::Glob { pattern, .. } => {
                    out.insert(pattern.clone());
                }
                Scalar::Set(set) => out.extend(set.values().map(String::from)),
                Scalar::PMatch(prefixes) => out.extend(prefixes.literal_prefixes()),
                _ => {}
            };
            match &check.test {
                Test::Scalar(s) => scalar(s),
                Test::Modified { tests, .. } => tests.iter().for_each(&mut scalar),
                Test::Set { set, .. } => out.extend(set.values().map(String::from)),
                _ => {}
            }
        }
    }
}

/// Open events of `raw_path` in the ways processes open files: each open type, read, write
/// with truncation and read-write, succeeding and failing, by an ordinary tool, a server and a
/// shell, on the host and in a container, by root with every capability.
pub fn sample_opens(raw_path: &str) -> Vec<SyscallEvent> {
    let mut events = Vec::new();
    let now = 1_800_000_000_000_000_000i64;
    for ty in OPEN_EVENT_TYPES {
        for flags in ["O_RDONLY", "O_WRONLY|O_CREAT|O_TRUNC", "O_RDWR"] {
            for res in [3i64, -2] {
                for name in ["cat", "nginx", "bash"] {
                    for in_container in [false, true] {
                        let proc = Process {
                            pid: 4242,
                            tid: 4242,
                            ppid: 1,
                            name: name.into(),
                            exe: format!("/usr/bin/{name}"),
                            exepath: format!("/usr/bin/{name}"),
                            cwd: "/root".into(),
                            user: Some("root".into()),
                            start_ns: now - 3_600_000_000_000,
                            cap_effective: Some("CAP_SYS_ADMIN CAP_DAC_OVERRIDE CAP_SYS_MODULE".into()),
                            ..Process::default()
                        };
                        events.push(SyscallEvent {
                            time_ns: now,
                            ty: ty.into(),
                            dir: Direction::Exit,
                            res: Some(res),
                            args: vec![("name".into(), raw_path.into()), ("flags".into(), flags.into())],
                            fd: Some(Fd {
                                num: res.max(-1),
                                kind: FdKind::File,
                                name: resolve_path(raw_path, &proc.cwd),
                                nameraw: Some(raw_path.into()),
                                ..Fd::default()
                            }),
                            container: in_container.then(|| Container {
                                id: "0123456789ab".into(),
                                image: Some("docker.io/library/app:1".into()),
                                privileged: Some(true),
                                ..Container::default()
                            }),
                            proc,
                            ..SyscallEvent::default()
                        });
                    }
                }
            }
        }
    }
    events
}

/// Evaluates every enabled `syscall` rule of `rules` (all of them, whatever the set's
/// matching) on [`sample_opens`] of each path, and counts which opens `interest` would keep
/// in the kernel although a rule matched them: none, if the analysis is sound.
pub fn check_opens(rules: &Ruleset, interest: &OpenInterest, paths: &[String]) -> OpenCheck {
    let rules = rules.clone().with_matching(crate::Matching::All);
    let mut check = OpenCheck::default();
    let mut alerts = Vec::new();
    for path in paths {
        let passes = interest.passes(path);
        for event in sample_opens(path) {
            check.opens += 1;
            if !passes {
                check.filtered += 1;
            }
            alerts.clear();
            if rules.evaluate_syscall_into(&event, &mut alerts) > 0 {
                check.matched += 1;
                if !passes {
                    check.missed.extend(alerts.iter().map(|a| (a.rule.name.clone(), path.clone())));
                }
            }
        }
    }
    check.missed.sort();
    check.missed.dedup();
    check
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RuleLoader;

    fn interest(rules: &str) -> OpenInterest {
        let mut loader = RuleLoader::new();
        loader.load_str("rules.yaml", rules).unwrap();
        loader.compile().unwrap().open_interest()
    }

    fn rule(name: &str, condition: &str) -> String {
        format!(
            "- rule: {name}\n  desc: d\n  condition: {condition}\n  output: o\n  priority: WARNING\n  source: syscall\n"
        )
    }

    fn shapes(prefixes: &[&str], suffixes: &[&str]) -> OpenInterest {
        OpenInterest::Paths(PathShapes {
            prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
            suffixes: suffixes.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn rules_without_opens_want_none() {
        let got = interest(&rule("exec", "evt.type = execve and proc.name = nc"));
        assert_eq!(got, shapes(&[], &[]));
        assert!(!got.passes("/etc/hostname"));
        assert!(got.passes("relative/path"), "unusual paths always pass");
    }

    #[test]
    fn path_checks_narrow_opens() {
        let rules = [
            rule("a", "evt.type in (open, openat) and fd.name startswith /etc and fd.name in (/etc/shadow, /etc/sudoers)"),
            rule("b", "evt.type = openat and (fd.directory in (/var/log) or fd.name pmatch (/var/lib/*/x))"),
            rule("c", "evt.type = openat2 and fd.name endswith release_agent"),
            rule("d", "evt.type = openat and fd.filename = id_rsa"),
        ]
        .concat();
        let got = interest(&rules);
        assert_eq!(
            got,
            shapes(&["/etc/shadow", "/etc/sudoers", "/var/lib/", "/var/log"], &["/id_rsa", "release_agent"])
        );
        assert!(got.passes("/etc/shadow"));
        assert!(got.passes("/sys/fs/cgroup/x/release_agent"));
        assert!(got.passes("/home/u/.ssh/id_rsa"));
        assert!(!got.passes("/etc/hostname"));
        assert!(!got.passes("/home/u/.ssh/id_rsa.pub"));
        assert!(got.passes("/tmp/../etc/hostname"), "normalised elsewhere: passes");
    }

    #[test]
    fn a_rule_on_any_open_wants_all() {
        let got = interest(
            &[
                rule("narrow", "evt.type = openat and fd.name = /x"),
                rule("wide", "evt.type = openat and proc.name = cat"),
            ]
            .concat(),
        );
        assert_eq!(got, OpenInterest::All { rule: "wide".into() });
        // Negated path checks narrow nothing.
        let got = interest(&rule("neg", "evt.type = openat and not fd.name startswith /etc"));
        assert_eq!(got, OpenInterest::All { rule: "neg".into() });
        // A rule that does not constrain the event type sees opens too.
        let got = interest(&rule("untyped", "proc.name = cat"));
        assert_eq!(got, OpenInterest::All { rule: "untyped".into() });
    }

    #[test]
    fn negated_event_types_are_decided() {
        let got = interest(&rule("r", "not evt.type in (open, openat, openat2) and proc.name = cat"));
        assert_eq!(got, shapes(&[], &[]));
        let got = interest(&rule("r", "not (evt.type != openat) and fd.name = /etc/shadow"));
        assert_eq!(got, shapes(&["/etc/shadow"], &[]));
    }

    #[test]
    fn traversal_checks_are_unusual_paths() {
        let got = interest(&rule(
            "r",
            "evt.type = openat and (fd.name contains id_rsa or fd.name startswith /etc/) and fd.nameraw contains '../' and fd.nameraw glob '*../*../*'",
        ));
        assert_eq!(got, shapes(&[], &[]), "only unusual paths, which always pass");
    }

    #[test]
    fn disabled_rules_want_nothing() {
        let text = format!("{}  enabled: false\n", rule("off", "evt.type = openat"));
        assert_eq!(interest(&text), shapes(&[], &[]));
    }

    #[test]
    fn fitting_merges_by_common_parts() {
        let shapes = PathShapes {
            prefixes: vec!["/etc/shadow".into(), "/etc/sudoers".into(), "/var/log".into()],
            suffixes: vec!["/auth.log".into(), "/kern.log".into(), "release_agent".into()],
        };
        let fitted = shapes.fitted(2, 2);
        assert_eq!(fitted.prefixes, ["/etc/s", "/var/log"]);
        assert_eq!(fitted.suffixes, [".log", "release_agent"]);
        let all = OpenInterest::Paths(shapes.clone());
        let narrow = OpenInterest::Paths(fitted);
        for path in
            ["/etc/shadow", "/etc/sudoers", "/var/log/x", "/a/auth.log", "/b/kern.log", "/c/release_agent"]
        {
            assert!(all.passes(path) && narrow.passes(path), "{path}");
        }
        assert_eq!(shapes.fitted(8, 8), shapes, "nothing to merge");
    }

    /// The analysis is sound on the built-in rules and on a set that exercises every kind of
    /// path check: no sample open a rule matches is outside the interest, and the interest
    /// still keeps opens of other paths in the kernel.
    #[test]
    fn no_matching_open_is_filtered() {
        let builtin = crate::builtin::syscall_loader().compile().unwrap();
        let wide = [
            rule("a", "evt.type in (open, openat) and evt.is_open_read = true and fd.name startswith /etc and fd.name in (/etc/shadow, /etc/sudoers) and proc.name = cat"),
            rule("b", "evt.type = openat and evt.is_open_write = true and (fd.directory in (/var/log) or fd.name pmatch (/var/lib/*/x))"),
            rule("c", "evt.type = openat2 and fd.name endswith release_agent and container.id != host"),
            rule("d", "evt.type = openat and fd.filename in (id_rsa, credentials) and fd.num >= 0"),
            rule("e", "evt.type = openat and fd.nameraw contains '../' and fd.name glob '/etc/*'"),
            rule("f", "evt.type = open and fd.name startswith anyof (/proc/1/, /sys/kernel/) and not proc.name = bash"),
        ]
        .concat();
        let mut loader = RuleLoader::new();
        loader.load_str("wide.yaml", &wide).unwrap();
        let wide = loader.compile().unwrap();
        for rules in [builtin, wide] {
            let interest = rules.open_interest();
            assert!(matches!(interest, OpenInterest::Paths(_)), "{interest:?}");
            let check = check_opens(&rules, &interest, &sample_paths(&rules));
            assert!(check.missed.is_empty(), "{:?}", check.missed);
            assert!(check.matched > 0 && check.filtered > 0, "{check:?}");
            assert!(!interest.passes("/etc/hostname") && !interest.passes("/tmp/x"));
            // The check finds what a wrong interest would lose.
            let nothing = OpenInterest::Paths(PathShapes::default());
            assert!(!check_opens(&rules, &nothing, &sample_paths(&rules)).missed.is_empty());
        }
    }

    #[test]
    fn unusual_paths() {
        for p in [
            "etc/shadow",
            "",
            "./x",
            "/tmp/../etc",
            "//etc/shadow",
            "/etc/./shadow",
            "/etc/",
            "/etc/.",
            "/a..b",
            "/",
        ] {
            assert!(is_unusual_path(p), "{p}");
        }
        for p in ["/etc/shadow", "/a.b/c.d", "/root/.ssh/id_rsa", "/x/.y", "/x/y."] {
            assert!(!is_unusual_path(p), "{p}");
        }
    }
}
