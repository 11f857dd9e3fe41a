//! Compiling collected rules into an evaluator: list substitution, exceptions, macro
//! resolution (with Falco's visibility order), field resolution and output templates.
//!
//! Lists are substituted into condition text before parsing, as Falco's rule compiler does
//! (a list name delimited by blanks, `(`, `)`, `,` or `=` is replaced by its items); exceptions
//! are likewise appended as condition text. Everything after parsing works on trees.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::condition::{self, Expr, FieldExpr, FieldRef, Modifier, Op, Rhs, TransformArg};
use crate::fields::{self, Field, FieldType};
use crate::loader::{ExEntry, ExceptionInfo, Location, Notice, RuleError, RuleLoader};
use crate::matchers::{contains_ignore_ascii_case, glob_match, unhex, PathPrefixes, ValueSet};
use crate::sysfields::{self, SysField};

/// A transformation applied to extracted values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Transform {
    ToLower,
    ToUpper,
    B64,
    Basename,
    Len,
}

/// The event source a rule is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Src {
    /// `k8s_audit`.
    Audit,
    /// `syscall`.
    Syscall,
}

impl Src {
    pub(crate) fn of(source: &str) -> Option<Src> {
        match source {
            fields::SOURCE => Some(Src::Audit),
            sysfields::SOURCE => Some(Src::Syscall),
            _ => None,
        }
    }
}

/// A resolved field of either source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum SlotField {
    Audit(Field),
    Syscall(SysField),
}

/// A field plus transformers: one column of the per-event value cache.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SlotSpec {
    pub field: SlotField,
    pub transforms: Vec<Transform>,
    pub list: bool,
    pub ty: FieldType,
}

/// The evaluator: a tree over field slots.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Check(Box<Check>),
}

#[derive(Debug, Clone)]
pub(crate) struct Check {
    pub slot: usize,
    pub list: bool,
    pub test: Test,
}

/// A test on the values of a slot.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    Exists,
    /// A test of each single value (any value of a list field must pass).
    Scalar(Scalar),
    /// `in` / `intersects`: for list fields, `in` wants every value in the set.
    Set {
        op: Op,
        set: ValueSet,
    },
    /// `anyof` / `allof` / `oneof` over several scalar tests.
    Modified {
        modifier: Modifier,
        tests: Vec<Scalar>,
    },
    /// Comparison with the values of another field.
    Field {
        op: Op,
        rhs: usize,
    },
}

/// A test of one value.
#[derive(Debug, Clone)]
pub(crate) enum Scalar {
    Str {
        op: Op,
        operand: String,
    },
    Num {
        op: Op,
        operand: u64,
    },
    Int {
        op: Op,
        operand: i64,
    },
    /// Membership of an address in networks (`negate` for `!=`).
    Net {
        negate: bool,
        nets: Vec<Cidr>,
    },
    Bytes {
        op: Op,
        operand: Vec<u8>,
    },
    Glob {
        pattern: String,
        case_insensitive: bool,
    },
    Regex(regex::Regex),
    PMatch(PathPrefixes),
    Set(ValueSet),
}

impl Scalar {
    fn test(&self, value: &str) -> bool {
        match self {
            Scalar::Str { op, operand } => compare_str(*op, value, operand),
            Scalar::Num { op, operand } => value.parse::<u64>().is_ok_and(|v| compare_num(*op, v, *operand)),
            Scalar::Int { op, operand } => value.parse::<i64>().is_ok_and(|v| compare_num(*op, v, *operand)),
            Scalar::Net { negate, nets } => match value.parse::<std::net::IpAddr>() {
                Ok(ip) => nets.iter().any(|n| n.contains(ip)) != *negate,
                Err(_) => false,
            },
            Scalar::Bytes { op: Op::BStartsWith, operand } => value.as_bytes().starts_with(operand),
            Scalar::Bytes { operand, .. } => {
                operand.is_empty() || value.as_bytes().windows(operand.len()).any(|w| w == operand.as_slice())
            }
            Scalar::Glob { pattern, case_insensitive } => glob_match(pattern, value, *case_insensitive),
            Scalar::Regex(re) => re.is_match(value),
            Scalar::PMatch(prefixes) => prefixes.matches(value),
            Scalar::Set(set) => set.contains(value),
        }
    }
}

fn compare_str(op: Op, value: &str, operand: &str) -> bool {
    match op {
        Op::Eq | Op::In | Op::Intersects => value == operand,
        Op::Ne => value != operand,
        Op::Lt => value < operand,
        Op::Le => value <= operand,
        Op::Gt => value > operand,
        Op::Ge => value >= operand,
        Op::Contains => value.contains(operand),
        Op::IContains => contains_ignore_ascii_case(value, operand),
        Op::StartsWith => value.starts_with(operand),
        Op::EndsWith => value.ends_with(operand),
        Op::Glob => glob_match(operand, value, false),
        Op::IGlob => glob_match(operand, value, true),
        _ => false,
    }
}

/// An IP network (`10.0.0.0/8`); a plain address is a network of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl Cidr {
    pub(crate) fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<std::net::IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse::<std::net::IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr::{V4, V6};
        match (self.addr, ip) {
            (V4(net), V4(ip)) => {
                let mask = if self.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix)) };
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (V6(net), V6(ip)) => {
                let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

fn compare_num<T: PartialOrd>(op: Op, value: T, operand: T) -> bool {
    match op {
        Op::Eq | Op::In | Op::Intersects => value == operand,
        Op::Ne => value != operand,
        Op::Lt => value < operand,
        Op::Le => value <= operand,
        Op::Gt => value > operand,
        Op::Ge => value >= operand,
        _ => false,
    }
}

/// Access to the (lazily extracted) values of slots for one event.
pub(crate) trait SlotValues<'e> {
    /// Makes sure `slot` is extracted.
    fn load(&mut self, slot: usize);
    /// The values of a loaded slot; `None` when the field is absent.
    fn get(&self, slot: usize) -> Option<&[Cow<'e, str>]>;
}

impl Node {
    pub(crate) fn eval<'e, S: SlotValues<'e>>(&self, slots: &mut S) -> bool {
        match self {
            Node::And(children) => children.iter().all(|c| c.eval(slots)),
            Node::Or(children) => children.iter().any(|c| c.eval(slots)),
            Node::Not(child) => !child.eval(slots),
            Node::Check(check) => check.eval(slots),
        }
    }
}

impl Check {
    fn eval<'e, S: SlotValues<'e>>(&self, slots: &mut S) -> bool {
        slots.load(self.slot);
        if let Test::Field { rhs, .. } = &self.test {
            slots.load(*rhs);
        }
        let Some(values) = slots.get(self.slot) else {
            return false;
        };
        match &self.test {
            Test::Exists => true,
            Test::Scalar(scalar) => values.iter().any(|v| scalar.test(v)),
            Test::Set { op: Op::In, set } if self.list => values.iter().all(|v| set.contains(v)),
            Test::Set { set, .. } => values.iter().any(|v| set.contains(v)),
            Test::Modified { modifier, tests } => {
                let value = &values[0];
                match modifier {
                    Modifier::AnyOf => tests.iter().any(|t| t.test(value)),
                    Modifier::AllOf => tests.iter().all(|t| t.test(value)),
                    Modifier::OneOf => tests.iter().filter(|t| t.test(value)).count() == 1,
                }
            }
            Test::Field { op, rhs } => {
                let Some(rhs_values) = slots.get(*rhs) else {
                    return false;
                };
                match op {
                    Op::In if self.list => values.iter().all(|v| rhs_values.contains(v)),
                    Op::In | Op::Intersects => values.iter().any(|v| rhs_values.contains(v)),
                    op => values.iter().any(|v| compare_str(*op, v, &rhs_values[0])),
                }
            }
        }
    }
}

/// Applies transformers to extracted values; `None` when a transformation fails.
pub(crate) fn apply_transforms<'e>(
    values: Vec<Cow<'e, str>>,
    transforms: &[Transform],
) -> Option<Vec<Cow<'e, str>>> {
    let mut values = values;
    for t in transforms {
        values = match t {
            Transform::ToLower => values.into_iter().map(|v| Cow::Owned(v.to_lowercase())).collect(),
            Transform::ToUpper => values.into_iter().map(|v| Cow::Owned(v.to_uppercase())).collect(),
            Transform::Basename => values
                .into_iter()
                .map(|v| match v {
                    Cow::Borrowed(s) => Cow::Borrowed(s.rsplit('/').next().unwrap_or(s)),
                    Cow::Owned(s) => Cow::Owned(s.rsplit('/').next().unwrap_or(&s).to_string()),
                })
                .collect(),
            Transform::B64 => values
                .into_iter()
                .map(|v| base64_decode(&v).map(|b| Cow::Owned(String::from_utf8_lossy(&b).into_owned())))
                .collect::<Option<Vec<_>>>()?,
            Transform::Len => {
                // On a list the length is the number of elements; on a string its byte length.
                if values.len() == 1 {
                    vec![Cow::Owned(values[0].len().to_string())]
                } else {
                    vec![Cow::Owned(values.len().to_string())]
                }
            }
        };
    }
    Some(values)
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let trimmed = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in trimmed.as_bytes() {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Replaces every delimited occurrence of a list name in condition text by the list's items,
/// as Falco's rule compiler does. Returns whether the list was used, or `None` (and leaves
/// `cond` as it was) when the text would grow past `limit` bytes.
///
/// The text is rewritten in one pass; the result is the one of replacing occurrences one at a
/// time and searching on after each replacement (the test module keeps that form as an
/// oracle).
pub(crate) fn substitute_list(cond: &mut String, name: &str, items: &[String], limit: usize) -> Option<bool> {
    const BLANKS: &[u8] = b" \t\n\r";
    const DELIMS: &[u8] = b" \t\n\r(),=";
    if name.is_empty() {
        return Some(false);
    }
    let text = cond.as_bytes();
    let needle = name.as_bytes();
    let find = |from: usize| -> Option<usize> {
        let rest = text.get(from..)?;
        memchr::memmem::find(rest, needle).map(|p| p + from)
    };
    let mut sub: Option<String> = None;
    // `out` is the text rewritten so far; `text[copied..]` follows it.
    let mut out: Vec<u8> = Vec::new();
    let mut copied = 0;
    let mut found = find(0);
    while let Some(at) = found {
        let mut end = at + needle.len();
        let before = if at > copied { Some(text[at - 1]) } else { out.last().copied() };
        if !(before.is_none_or(|b| DELIMS.contains(&b)) && (end >= text.len() || DELIMS.contains(&text[end])))
        {
            found = find(at + 1);
            continue;
        }
        let sub =
            sub.get_or_insert_with(|| items.iter().map(|i| quote_item(i)).collect::<Vec<_>>().join(", "));
        out.extend_from_slice(&text[copied..at]);
        while out.last().is_some_and(|b| BLANKS.contains(b)) {
            out.pop();
        }
        while end < text.len() && BLANKS.contains(&text[end]) {
            end += 1;
        }
        if sub.is_empty() {
            if out.last() == Some(&b',') {
                out.pop();
            } else if text.get(end) == Some(&b',') {
                end += 1;
            }
        }
        let at_start = out.is_empty();
        if !at_start {
            out.push(b' ');
        }
        out.extend_from_slice(sub.as_bytes());
        out.push(b' ');
        if out.len().saturating_add(text.len() - end.min(text.len())) > limit {
            return None;
        }
        copied = end.min(text.len());
        // Searching goes on right after the replacement, one byte further at the start.
        found = find(if at_start { end + 1 } else { end });
    }
    if sub.is_none() {
        return Some(false);
    }
    out.extend_from_slice(&text[copied..]);
    *cond = String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Some(true)
}

/// Quotes an item containing a space (unless it is already quoted).
fn quote_item(item: &str) -> Cow<'_, str> {
    if item.contains(' ') && !item.starts_with(['"', '\'']) {
        Cow::Owned(format!("\"{item}\""))
    } else {
        Cow::Borrowed(item)
    }
}

fn paren_item(item: &str) -> Cow<'_, str> {
    if item.starts_with('(') {
        Cow::Borrowed(item)
    } else {
        Cow::Owned(format!("({item})"))
    }
}

/// True for comparison operators (as written in exception `comps`) whose operand is a list.
fn is_list_operator(comp: &str) -> bool {
    matches!(comp, "in" | "intersects" | "pmatch") || str_op_with_modifier(comp)
}

fn str_op_with_modifier(comp: &str) -> bool {
    let mut parts = comp.split_whitespace();
    let (Some(op), Some(m), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    Op::from_name(op).is_some_and(|o| !o.takes_list() && o != Op::Exists)
        && matches!(m, "oneof" | "anyof" | "allof")
}

fn is_supported_comp(comp: &str) -> bool {
    Op::from_name(comp).is_some() || str_op_with_modifier(comp)
}

/// Builds the condition text of a rule with its exceptions, as Falco does.
fn with_exceptions(
    condition: &str,
    exceptions: &[ExceptionInfo],
    source_known: Option<Src>,
) -> Result<String, RuleError> {
    let mut out = format!("({condition})");
    for ex in exceptions {
        let Some(fields) = &ex.fields else {
            return Err(RuleError::at(
                &ex.location,
                "Rule exception item must have fields property with a list of fields",
            ));
        };
        let icond = match fields {
            ExEntry::Item(field) => {
                let comp = match &ex.comps {
                    None => "in".to_string(),
                    Some(ExEntry::Item(c)) => c.trim().to_string(),
                    Some(ExEntry::List(_)) => {
                        return Err(RuleError::at(&ex.location, "Fields and comps must both be strings"))
                    }
                };
                if !matches!(comp.as_str(), "in" | "pmatch" | "intersects") && !str_op_with_modifier(&comp) {
                    return Err(RuleError::at(
                        &ex.location,
                        "When fields is a single value, comps must be one of (in, pmatch, intersects) or a modifier operator (e.g. startswith oneof)",
                    ));
                }
                if let Some(src) = source_known {
                    check_exception_field(src, field, &ex.location)?;
                }
                let mut icond = String::new();
                for value in &ex.values {
                    let ExEntry::Item(item) = value else {
                        return Err(RuleError::at(
                            &ex.location,
                            "Expected values array to contain a list of strings",
                        ));
                    };
                    if icond.is_empty() {
                        icond = format!("({field} {comp} (");
                    } else {
                        icond.push_str(", ");
                    }
                    icond.push_str(&quote_item(item));
                }
                if !icond.is_empty() {
                    icond.push_str("))");
                }
                icond
            }
            ExEntry::List(field_entries) => {
                let fields: Vec<&str> = field_entries
                    .iter()
                    .map(|f| match f {
                        ExEntry::Item(s) => Ok(s.as_str()),
                        ExEntry::List(_) => {
                            Err(RuleError::at(&ex.location, "Expected a list of field names"))
                        }
                    })
                    .collect::<Result<_, _>>()?;
                let comps: Vec<String> = match &ex.comps {
                    None => vec!["=".to_string(); fields.len()],
                    Some(ExEntry::List(items)) => items
                        .iter()
                        .map(|c| match c {
                            ExEntry::Item(s) => Ok(s.trim().to_string()),
                            ExEntry::List(_) => {
                                Err(RuleError::at(&ex.location, "Expected a list of comparison operators"))
                            }
                        })
                        .collect::<Result<_, _>>()?,
                    Some(ExEntry::Item(_)) => {
                        return Err(RuleError::at(
                            &ex.location,
                            "Fields and comps lists must have equal length",
                        ))
                    }
                };
                if comps.len() != fields.len() {
                    return Err(RuleError::at(&ex.location, "Fields and comps lists must have equal length"));
                }
                if let Some(bad) = comps.iter().find(|c| !is_supported_comp(c)) {
                    return Err(RuleError::at(
                        &ex.location,
                        format!("'{bad}' is not a supported comparison operator"),
                    ));
                }
                if let Some(src) = source_known {
                    for field in &fields {
                        check_exception_field(src, field, &ex.location)?;
                    }
                }
                let mut icond = String::from("(");
                for values in &ex.values {
                    let items: &[ExEntry] = match values {
                        ExEntry::List(items) => items,
                        ExEntry::Item(_) => &[],
                    };
                    if items.len() != fields.len() {
                        return Err(RuleError::at(
                            &ex.location,
                            "Fields and values lists must have equal length",
                        ));
                    }
                    icond.push_str(if icond == "(" { "(" } else { " or (" });
                    for (k, field) in fields.iter().enumerate() {
                        if k > 0 {
                            icond.push_str(" and ");
                        }
                        let operand = match &items[k] {
                            ExEntry::List(vals) => {
                                let parts: Vec<Cow<'_, str>> = vals
                                    .iter()
                                    .map(|v| match v {
                                        ExEntry::Item(s) => quote_item(s),
                                        ExEntry::List(_) => Cow::Borrowed(""),
                                    })
                                    .collect();
                                format!("({})", parts.join(", "))
                            }
                            ExEntry::Item(v) if is_list_operator(&comps[k]) => paren_item(v).into_owned(),
                            ExEntry::Item(v) => quote_item(v).into_owned(),
                        };
                        icond.push_str(&format!(" {field} {} {operand}", comps[k]));
                    }
                    icond.push(')');
                }
                icond.push(')');
                if icond == "()" {
                    String::new()
                } else {
                    icond
                }
            }
        };
        if !icond.is_empty() {
            out.push_str(" and not ");
            out.push_str(&icond);
        }
    }
    Ok(out)
}

fn check_exception_field(src: Src, field: &str, location: &Location) -> Result<(), RuleError> {
    let bad = || RuleError::at(location, format!("'{field}' is not a supported filter field"));
    match condition::parse(&format!("{field} exists")) {
        Ok(Expr::Check { field: FieldExpr::Field(f), .. }) => match src {
            Src::Audit => fields::resolve(&f.name, f.arg.as_deref()).map(|_| ()).map_err(|_| bad()),
            Src::Syscall => sysfields::resolve(&f.name, f.arg.as_deref()).map(|_| ()).map_err(|_| bad()),
        },
        _ => Err(bad()),
    }
}

/// Lists with one level of references to earlier lists expanded, in definition order.
fn compile_lists(loader: &RuleLoader) -> Vec<(String, Vec<String>)> {
    loader
        .lists
        .items
        .iter()
        .map(|list| {
            let mut items = Vec::new();
            for item in &list.items {
                match loader.lists.get(item) {
                    Some(referenced) if referenced.index < list.visibility => {
                        items.extend(referenced.items.iter().cloned())
                    }
                    _ => items.push(item.clone()),
                }
            }
            (list.name.clone(), items)
        })
        .collect()
}

/// The condition with every list's items in place of its name; `None` when that text is
/// longer than [`MAX_CONDITION_BYTES`].
fn substitute_all(condition: &str, lists: &[(String, Vec<String>)]) -> Option<String> {
    let mut text = condition.to_string();
    for (name, items) in lists {
        substitute_list(&mut text, name, items, MAX_CONDITION_BYTES)?;
    }
    Some(text)
}

/// Longest condition text once list names are replaced by their items (lists of lists and
/// repeated references multiply). The longest in Falco's own rule files is about 6 KB.
const MAX_CONDITION_BYTES: usize = 1 << 20;

/// Most nodes the conditions of all macros and rules of a rule set may take together once
/// macros are inlined (a check counts once, plus once per value of its list; and/or/not
/// nodes count where a macro's tree is inlined). Macros that use a macro twice can double
/// the tree at every level. Falco's syscall rule files (stable, incubating and sandbox
/// together) take about 8,000.
const MAX_EXPANDED_NODES: usize = 2_000_000;

fn too_large() -> String {
    format!("conditions expand to more than {MAX_EXPANDED_NODES} nodes once macros are inlined")
}

fn too_long() -> String {
    format!("condition longer than {} MiB once lists are substituted", MAX_CONDITION_BYTES >> 20)
}

/// Nodes of a tree as [`MAX_EXPANDED_NODES`] counts them.
fn size(expr: &Expr) -> usize {
    match expr {
        Expr::And(children) | Expr::Or(children) => children.iter().map(size).fold(1, usize::saturating_add),
        Expr::Not(child) => size(child).saturating_add(1),
        Expr::Macro { .. } => 1,
        Expr::Check { rhs, .. } => match rhs {
            Some(Rhs::List(items)) => items.len().saturating_add(1),
            _ => 1,
        },
    }
}

/// Deepest chain of macros referencing macros.
const MAX_MACRO_NESTING: usize = 200;

/// Deepest evaluator tree (after macros are inlined); evaluation recurses once per level.
const MAX_TREE_DEPTH: usize = 1_000;

fn depth(expr: &Expr) -> usize {
    match expr {
        Expr::And(children) | Expr::Or(children) => 1 + children.iter().map(depth).max().unwrap_or(0),
        Expr::Not(child) => 1 + depth(child),
        Expr::Macro { .. } | Expr::Check { .. } => 1,
    }
}

/// Resolves macro references in `expr`; `lookup` finds a macro's (current) tree by name.
/// The lookup also tells whether a tree is already resolved (then it is inlined as is).
/// Checks and inlined trees are taken from `budget` (see [`MAX_EXPANDED_NODES`]).
fn resolve_macros<'m>(
    expr: &Expr,
    lookup: &dyn Fn(&str) -> Option<(&'m Expr, bool)>,
    path: &mut Vec<String>,
    budget: &mut usize,
) -> Result<Expr, (String, usize)> {
    let mut resolve_all = |children: &[Expr], budget: &mut usize| {
        children.iter().map(|c| resolve_macros(c, lookup, path, budget)).collect::<Result<_, _>>()
    };
    Ok(match expr {
        Expr::And(children) => Expr::And(resolve_all(children, budget)?),
        Expr::Or(children) => Expr::Or(resolve_all(children, budget)?),
        Expr::Not(child) => Expr::Not(Box::new(resolve_macros(child, lookup, path, budget)?)),
        Expr::Macro { name, pos } => {
            let Some((body, resolved)) = lookup(name) else {
                return Err((format!("Undefined macro '{name}' used in filter."), *pos));
            };
            if resolved {
                *budget = budget.checked_sub(size(body)).ok_or_else(|| (too_large(), *pos))?;
                return Ok(body.clone());
            }
            if path.iter().any(|p| p == name) {
                return Err((format!("reference loop in macro '{name}'"), *pos));
            }
            if path.len() >= MAX_MACRO_NESTING {
                return Err((format!("macros nested more than {MAX_MACRO_NESTING} deep at '{name}'"), *pos));
            }
            path.push(name.clone());
            let resolved = resolve_macros(body, lookup, path, budget)?;
            path.pop();
            resolved
        }
        check @ Expr::Check { pos, .. } => {
            *budget = budget.checked_sub(size(check)).ok_or_else(|| (too_large(), *pos))?;
            check.clone()
        }
    })
}

/// Macros parsed (after list substitution) and resolved in definition order, each seeing only
/// the macros defined before its last definition or append.
fn compile_macros(
    loader: &RuleLoader,
    lists: &[(String, Vec<String>)],
    budget: &mut usize,
) -> Result<HashMap<String, Expr>, RuleError> {
    let infos = &loader.macros.items;
    let mut trees = Vec::with_capacity(infos.len());
    for info in infos {
        let text = substitute_all(&info.condition, lists)
            .ok_or_else(|| RuleError::at(&info.location, format!("macro '{}': {}", info.name, too_long())))?;
        let tree = condition::parse(&text).map_err(|e| {
            RuleError::at(
                &info.location,
                format!("macro '{}': {} in condition: {}", info.name, e, text.trim()),
            )
        })?;
        trees.push(tree);
    }
    let by_name: HashMap<&str, usize> = infos.iter().enumerate().map(|(i, m)| (m.name.as_str(), i)).collect();
    let mut done = vec![false; infos.len()];
    for i in 0..infos.len() {
        let visibility = infos[i].visibility;
        let resolved = {
            let (current, done) = (&trees, &done);
            let lookup = |name: &str| {
                by_name.get(name).filter(|&&j| infos[j].index < visibility).map(|&j| (&current[j], done[j]))
            };
            resolve_macros(&trees[i], &lookup, &mut vec![infos[i].name.clone()], budget)
        };
        trees[i] = resolved.map_err(|(message, offset)| {
            RuleError::at(
                &infos[i].location,
                format!("macro '{}': {message} (at offset {offset})", infos[i].name),
            )
        })?;
        if depth(&trees[i]) > MAX_TREE_DEPTH {
            return Err(RuleError::at(
                &infos[i].location,
                format!("macro '{}': condition nested more than {MAX_TREE_DEPTH} levels deep", infos[i].name),
            ));
        }
        done[i] = true;
    }
    Ok(infos.iter().map(|m| m.name.clone()).zip(trees).collect())
}

/// Turns trees into evaluator nodes, assigning slots to fields.
pub(crate) struct NodeCompiler<'s> {
    pub src: Src,
    pub slots: &'s mut Vec<SlotSpec>,
    pub notices: Vec<String>,
}

impl NodeCompiler<'_> {
    /// The slot of a field expression (shared between checks and outputs).
    pub(crate) fn slot(&mut self, expr: &FieldExpr) -> Result<usize, String> {
        let spec = field_spec(self.src, expr)?;
        Ok(match self.slots.iter().position(|s| *s == spec) {
            Some(i) => i,
            None => {
                self.slots.push(spec);
                self.slots.len() - 1
            }
        })
    }

    pub(crate) fn compile(&mut self, expr: &Expr) -> Result<Node, String> {
        Ok(match expr {
            Expr::And(children) => {
                Node::And(children.iter().map(|c| self.compile(c)).collect::<Result<_, _>>()?)
            }
            Expr::Or(children) => {
                Node::Or(children.iter().map(|c| self.compile(c)).collect::<Result<_, _>>()?)
            }
            Expr::Not(child) => Node::Not(Box::new(self.compile(child)?)),
            Expr::Macro { name, .. } => return Err(format!("Undefined macro '{name}' used in filter.")),
            Expr::Check { field, op, modifier, rhs, .. } => {
                let slot = self.slot(field)?;
                let (list, ty) = (self.slots[slot].list, self.slots[slot].ty);
                let test = self.test(field, *op, *modifier, rhs.as_ref(), list, ty)?;
                Node::Check(Box::new(Check { slot, list, test }))
            }
        })
    }

    fn test(
        &mut self,
        field: &FieldExpr,
        op: Op,
        modifier: Option<Modifier>,
        rhs: Option<&Rhs>,
        list: bool,
        ty: FieldType,
    ) -> Result<Test, String> {
        if op == Op::Exists {
            return Ok(Test::Exists);
        }
        let shown = show_field(field);
        if list && !matches!(op, Op::In | Op::Intersects) {
            if modifier.is_some() {
                return Err(format!(
                    "'{}' with a modifier is not supported on list field {shown}",
                    op.as_str()
                ));
            }
            self.notices.push(format!(
                "list field {shown} used with '{}': Falco accepts only 'in', 'intersects' and 'exists' on list fields; \
                 evaluated here as true when any element matches",
                op.as_str()
            ));
        }
        let rhs = rhs.ok_or_else(|| format!("operator '{}' needs a value", op.as_str()))?;
        if let Rhs::Field(other) = rhs {
            if modifier.is_some() {
                return Err("a modifier cannot compare with another field".into());
            }
            if !matches!(
                op,
                Op::Eq
                    | Op::Ne
                    | Op::Lt
                    | Op::Le
                    | Op::Gt
                    | Op::Ge
                    | Op::In
                    | Op::Intersects
                    | Op::Contains
                    | Op::IContains
                    | Op::StartsWith
                    | Op::EndsWith
                    | Op::Glob
                    | Op::IGlob
            ) {
                return Err(format!("operator '{}' cannot compare with another field", op.as_str()));
            }
            let rhs = self.slot(other)?;
            return Ok(Test::Field { op, rhs });
        }
        let mut values: Vec<String> = match rhs {
            Rhs::Value(v) => vec![v.clone()],
            Rhs::List(items) => items.clone(),
            Rhs::Field(_) => unreachable!("handled above"),
        };
        if ty == FieldType::HostName {
            // The names are what the sensor resolves; the field yields them in this form.
            for value in &mut values {
                *value = crate::hostnames::canonical(value);
                if matches!(op, Op::Eq | Op::Ne | Op::In | Op::Intersects) {
                    crate::hostnames::table().register(value);
                }
            }
        }
        if let Some(modifier) = modifier {
            let tests =
                values.iter().map(|v| scalar_test(op, v, ty, &shown)).collect::<Result<Vec<_>, _>>()?;
            return Ok(Test::Modified { modifier, tests });
        }
        let networks =
            ty == FieldType::IpNet || (ty == FieldType::IpAddr && values.iter().any(|v| v.contains('/')));
        if networks && matches!(op, Op::In | Op::Intersects | Op::Eq | Op::Ne) {
            let nets = values
                .iter()
                .map(|v| Cidr::parse(v).ok_or_else(|| format!("'{v}' is not an IP network (field {shown})")))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Test::Scalar(Scalar::Net { negate: op == Op::Ne, nets }));
        }
        match op {
            Op::In | Op::Intersects => {
                let values = match ty {
                    FieldType::U64 => values
                        .iter()
                        .map(|v| parse_u64(v).map(|n| n.to_string()).ok_or_else(|| not_a_number(v, &shown)))
                        .collect::<Result<_, _>>()?,
                    FieldType::I64 => values
                        .iter()
                        .map(|v| parse_i64(v).map(|n| n.to_string()).ok_or_else(|| not_a_number(v, &shown)))
                        .collect::<Result<_, _>>()?,
                    FieldType::IpAddr => values.iter().map(|v| normalize_ip(v)).collect(),
                    FieldType::Str | FieldType::IpNet | FieldType::HostName => values,
                };
                Ok(Test::Set { op, set: ValueSet::new(values) })
            }
            Op::PMatch => {
                if ty != FieldType::Str {
                    return Err(format!("'pmatch' is not supported on non-string field {shown}"));
                }
                Ok(Test::Scalar(Scalar::PMatch(PathPrefixes::new(&values))))
            }
            _ => {
                let [value] = values.as_slice() else {
                    return Err(format!("operator '{}' takes a single value", op.as_str()));
                };
                Ok(Test::Scalar(scalar_test(op, value, ty, &shown)?))
            }
        }
    }
}

fn not_a_number(value: &str, field: &str) -> String {
    format!("'{value}' is not a number (field {field} is numeric)")
}

fn parse_i64(text: &str) -> Option<i64> {
    match text.strip_prefix('-') {
        Some(rest) => parse_u64(rest).and_then(|n| i64::try_from(n).ok()).map(|n| -n),
        None => parse_u64(text).and_then(|n| i64::try_from(n).ok()),
    }
}

/// An address in its canonical text form (operands of address fields), else the text as is.
fn normalize_ip(text: &str) -> String {
    text.parse::<std::net::IpAddr>().map_or_else(|_| text.to_string(), |ip| ip.to_string())
}

fn parse_u64(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.strip_prefix('+').unwrap_or(text).parse().ok(),
    }
}

fn scalar_test(op: Op, value: &str, ty: FieldType, field: &str) -> Result<Scalar, String> {
    if matches!(ty, FieldType::U64 | FieldType::I64) {
        if !matches!(op, Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::In | Op::Intersects) {
            return Err(format!("'{}' operator not supported for numeric field {field}", op.as_str()));
        }
        if ty == FieldType::I64 {
            let operand = parse_i64(value).ok_or_else(|| not_a_number(value, field))?;
            return Ok(Scalar::Int { op, operand });
        }
        let operand = parse_u64(value).ok_or_else(|| not_a_number(value, field))?;
        return Ok(Scalar::Num { op, operand });
    }
    if matches!(ty, FieldType::IpAddr | FieldType::IpNet) && matches!(op, Op::Eq | Op::Ne) {
        return Ok(Scalar::Str { op, operand: normalize_ip(value) });
    }
    Ok(match op {
        Op::BContains | Op::BStartsWith => Scalar::Bytes {
            op,
            operand: unhex(value).ok_or("bcontains and bstartswith operator support hex strings only")?,
        },
        Op::Glob | Op::IGlob => {
            Scalar::Glob { pattern: value.to_string(), case_insensitive: op == Op::IGlob }
        }
        Op::Regex => Scalar::Regex(
            regex::Regex::new(&format!("^(?:{value})$"))
                .map_err(|e| format!("invalid regular expression: {e}"))?,
        ),
        Op::PMatch => Scalar::PMatch(PathPrefixes::new(&[value.to_string()])),
        Op::In | Op::Intersects => Scalar::Set(ValueSet::new(vec![value.to_string()])),
        op => Scalar::Str { op, operand: value.to_string() },
    })
}

fn show_field(expr: &FieldExpr) -> String {
    match expr {
        FieldExpr::Field(f) => f.to_string(),
        FieldExpr::Transform { name, args, .. } => {
            let inner: Vec<String> = args
                .iter()
                .map(|a| match a {
                    TransformArg::Field(f) => show_field(f),
                    TransformArg::Value(v) => v.clone(),
                    TransformArg::List(_) => "(...)".into(),
                })
                .collect();
            format!("{name}({})", inner.join(", "))
        }
    }
}

/// Resolves a field expression (with transformers) to a slot specification.
fn field_spec(src: Src, expr: &FieldExpr) -> Result<SlotSpec, String> {
    match expr {
        FieldExpr::Field(FieldRef { name, arg }) => {
            let (field, info) = match src {
                Src::Audit => fields::resolve(name, arg.as_deref()).map(|(f, i)| (SlotField::Audit(f), i)),
                Src::Syscall => {
                    sysfields::resolve(name, arg.as_deref()).map(|(f, i)| (SlotField::Syscall(f), i))
                }
            }
            .map_err(|e| e.to_string())?;
            Ok(SlotSpec { field, transforms: Vec::new(), list: info.list, ty: info.ty })
        }
        FieldExpr::Transform { name, args, arg } => {
            if arg.is_some() {
                return Err(format!("transformer '{name}' does not take an argument"));
            }
            let [TransformArg::Field(inner)] = args.as_slice() else {
                return Err(format!("transformer '{name}' takes exactly one field"));
            };
            let mut spec = field_spec(src, inner)?;
            let transform = match name.as_str() {
                "val" => return Ok(spec),
                "tolower" => Transform::ToLower,
                "toupper" => Transform::ToUpper,
                "b64" => Transform::B64,
                "basename" => Transform::Basename,
                "len" => Transform::Len,
                other => return Err(format!("transformer '{other}' is not supported")),
            };
            if spec.ty != FieldType::Str {
                return Err(format!("transformer '{name}' needs a string field"));
            }
            if transform == Transform::Len {
                spec.list = false;
                spec.ty = FieldType::U64;
            }
            spec.transforms.push(transform);
            Ok(spec)
        }
    }
}

/// An output template: literal text and field slots.
#[derive(Debug, Clone)]
pub(crate) enum Segment {
    Text(String),
    Field { slot: usize, width: usize },
}

/// Compiles an output template (`%field`, `%field[arg]`, `%20field` width, transformers).
/// A `%` token takes the longest prefix that is a known field, as Falco's formatter does.
pub(crate) fn compile_output(text: &str, compiler: &mut NodeCompiler<'_>) -> Result<Vec<Segment>, String> {
    let text = text.strip_prefix('*').unwrap_or(text);
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('%') {
        literal.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if rest.is_empty() {
            return Err("invalid formatting syntax: formatting cannot end with a %".into());
        }
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let width = if digits > 0 { rest[..digits].parse().unwrap_or(0) } else { 0 };
        rest = &rest[digits..];
        if rest.is_empty() {
            return Err("invalid formatting syntax: formatting cannot end with a number".into());
        }
        let mut len = rest.len();
        let (slot, consumed) = loop {
            if len == 0 {
                let token: String = rest.chars().take(20).collect();
                return Err(format!("invalid formatting token %{token}: unknown field"));
            }
            match condition::parse_field_prefix(&rest[..floor_char_boundary(rest, len)]) {
                Some((expr, consumed)) => match compiler.slot(&expr) {
                    Ok(slot) => break (slot, consumed),
                    Err(_) => len = consumed.saturating_sub(1),
                },
                None => len -= 1,
            }
        };
        if !literal.is_empty() {
            segments.push(Segment::Text(std::mem::take(&mut literal)));
        }
        segments.push(Segment::Field { slot, width });
        rest = &rest[consumed..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        segments.push(Segment::Text(literal));
    }
    Ok(segments)
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// A rule compiled for evaluation.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub meta: std::sync::Arc<crate::engine::RuleMeta>,
    pub condition: Node,
    pub output: Vec<Segment>,
}

/// Result of compiling a loader's rules.
pub(crate) struct Compiled {
    pub rules: Vec<CompiledRule>,
    /// Slots of `k8s_audit` rules.
    pub slots: Vec<SlotSpec>,
    /// Slots of `syscall` rules.
    pub sys_slots: Vec<SlotSpec>,
    pub notices: Vec<Notice>,
    pub skipped_by_source: std::collections::BTreeMap<String, usize>,
    pub disabled: usize,
    /// `syscall` rules not evaluated, with the reason (an unsupported field or operator).
    pub unsupported: Vec<(String, String)>,
}

/// Compiles every rule of a known source; rules of other sources are counted and skipped.
/// A `syscall` rule that uses a field or operator this engine does not support is listed in
/// `unsupported` (and in a notice), not an error: Falco's syscall rule files load unchanged.
pub(crate) fn compile(loader: &RuleLoader) -> Result<Compiled, RuleError> {
    let lists = compile_lists(loader);
    let mut budget = MAX_EXPANDED_NODES;
    let macros = compile_macros(loader, &lists, &mut budget)?;
    let mut slots = Vec::new();
    let mut sys_slots = Vec::new();
    let mut notices = loader.notices.clone();
    let mut rules = Vec::new();
    let mut skipped_by_source = std::collections::BTreeMap::new();
    let mut unsupported = Vec::new();
    let mut disabled = 0;
    for info in &loader.rules.items {
        let Some(src) = Src::of(&info.source) else {
            *skipped_by_source.entry(info.source.clone()).or_insert(0) += 1;
            continue;
        };
        let lenient = src == Src::Syscall;
        let not_supported = |notices: &mut Vec<Notice>,
                             unsupported: &mut Vec<(String, String)>,
                             message: String,
                             location: &Location| {
            notices.push(Notice {
                location: location.clone(),
                message: format!("syscall rule '{}' not evaluated: {message}", info.name),
            });
            unsupported.push((info.name.clone(), message));
        };
        let text = match with_exceptions(&info.condition, &info.exceptions, Some(src)) {
            Ok(text) => text,
            Err(RuleError::Invalid { message, .. })
                if lenient && message.contains("not a supported filter field") =>
            {
                not_supported(
                    &mut notices,
                    &mut unsupported,
                    format!("exception: {message}"),
                    &info.location,
                );
                continue;
            }
            Err(err) => return Err(err),
        };
        let cond_err = |message: String| {
            RuleError::at(&info.condition_location, format!("rule '{}': {message}", info.name))
        };
        let text = substitute_all(&text, &lists).ok_or_else(|| cond_err(too_long()))?;
        let tree =
            condition::parse(&text).map_err(|e| cond_err(format!("{e} in condition: {}", text.trim())))?;
        let lookup = |name: &str| macros.get(name).map(|tree| (tree, true));
        let tree =
            resolve_macros(&tree, &lookup, &mut Vec::new(), &mut budget).map_err(|(message, offset)| {
                cond_err(format!("{message} (at offset {offset} of the condition)"))
            })?;
        if depth(&tree) > MAX_TREE_DEPTH {
            return Err(cond_err(format!("condition nested more than {MAX_TREE_DEPTH} levels deep")));
        }
        let table = match src {
            Src::Audit => &mut slots,
            Src::Syscall => &mut sys_slots,
        };
        let mut compiler = NodeCompiler { src, slots: table, notices: Vec::new() };
        let condition = match compiler.compile(&tree) {
            Ok(node) => node,
            Err(message) if info.skip_if_unknown_filter && message.starts_with("nonexistent field") => {
                notices.push(Notice {
                    location: info.condition_location.clone(),
                    message: format!("rule '{}' skipped (skip-if-unknown-filter): {message}", info.name),
                });
                continue;
            }
            Err(message) if lenient => {
                let message = format!("condition: {message}");
                not_supported(&mut notices, &mut unsupported, message, &info.condition_location);
                continue;
            }
            Err(message) => return Err(cond_err(message)),
        };
        let output = match compile_output(&info.output, &mut compiler) {
            Ok(output) => output,
            Err(message) if info.skip_if_unknown_filter => {
                notices.push(Notice {
                    location: info.output_location.clone(),
                    message: format!("rule '{}' skipped (skip-if-unknown-filter): {message}", info.name),
                });
                continue;
            }
            Err(message) if lenient => {
                let message = format!("output: {message}");
                not_supported(&mut notices, &mut unsupported, message, &info.output_location);
                continue;
            }
            Err(message) => {
                return Err(RuleError::at(
                    &info.output_location,
                    format!("rule '{}': output: {message}", info.name),
                ))
            }
        };
        for message in compiler.notices {
            notices.push(Notice {
                location: info.condition_location.clone(),
                message: format!("rule '{}': {message}", info.name),
            });
        }
        if !info.enabled {
            disabled += 1;
        }
        let meta = crate::engine::RuleMeta {
            name: info.name.clone(),
            desc: info.desc.clone(),
            priority: info.priority,
            source: info.source.clone(),
            tags: info.tags.iter().cloned().collect(),
            enabled: info.enabled,
            location: info.location.clone(),
        };
        rules.push(CompiledRule { meta: std::sync::Arc::new(meta), condition, output });
    }
    for (source, count) in &skipped_by_source {
        let location = loader
            .rules
            .items
            .iter()
            .find(|r| &r.source == source)
            .map(|r| r.location.clone())
            .expect("counted from these rules");
        notices.push(Notice {
            location,
            message: format!(
                "{count} rule(s) of source '{source}' loaded and skipped: only k8s_audit and syscall events are evaluated"
            ),
        });
    }
    Ok(Compiled { rules, slots, sys_slots, notices, skipped_by_source, disabled, unsupported })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(cond: &str, name: &str, items: &[&str]) -> String {
        let mut text = cond.to_string();
        let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        substitute_list(&mut text, name, &items, usize::MAX).expect("no limit");
        text
    }

    /// `substitute_list` as it was first written, one copy of the text per replacement: the
    /// oracle of the one-pass form.
    fn substitute_list_by_copies(cond: &mut String, name: &str, items: &[String]) -> bool {
        const BLANKS: &[u8] = b" \t\n\r";
        const DELIMS: &[u8] = b" \t\n\r(),=";
        if name.is_empty() {
            return false;
        }
        let mut used = false;
        let mut text = std::mem::take(cond).into_bytes();
        let needle = name.as_bytes();
        let find = |text: &[u8], from: usize| -> Option<usize> {
            if from > text.len() {
                return None;
            }
            text[from..].windows(needle.len()).position(|w| w == needle).map(|p| p + from)
        };
        let mut found = find(&text, 0);
        while let Some(mut start) = found {
            let mut end = start + needle.len();
            if (start == 0 || DELIMS.contains(&text[start - 1]))
                && (end >= text.len() || DELIMS.contains(&text[end]))
            {
                while start > 0 && BLANKS.contains(&text[start - 1]) {
                    start -= 1;
                }
                while end < text.len() && BLANKS.contains(&text[end]) {
                    end += 1;
                }
                let sub = items.iter().map(|i| quote_item(i)).collect::<Vec<_>>().join(", ");
                if sub.is_empty() {
                    if start > 0 && text[start - 1] == b',' {
                        start -= 1;
                    } else if end < text.len() && text[end] == b',' {
                        end += 1;
                    }
                }
                let mut replaced = Vec::with_capacity(text.len() + sub.len());
                if start > 0 {
                    replaced.extend_from_slice(&text[..start]);
                    replaced.push(b' ');
                }
                replaced.extend_from_slice(sub.as_bytes());
                replaced.push(b' ');
                replaced.extend_from_slice(&text[end.min(text.len())..]);
                text = replaced;
                start += sub.len() + 1;
                used = true;
            }
            found = find(&text, start + 1);
        }
        *cond =
            String::from_utf8(text).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        used
    }

    #[test]
    fn one_pass_list_substitution_matches_replacing_one_at_a_time() {
        // Every condition of up to four tokens over a small alphabet of list names,
        // delimiters and blanks, with lists of zero, one and two items.
        let tokens = ["v", "vv", "x", " ", "  ", "\t", "(", ")", ",", "=", "in", "v,"];
        let lists: [&[&str]; 4] = [&[], &["a"], &["a b", "c"], &["v"]];
        let mut conditions = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for c in &conditions {
                for t in tokens {
                    next.push(format!("{c}{t}"));
                }
            }
            conditions.extend(next);
            conditions.sort();
            conditions.dedup();
        }
        for cond in &conditions {
            for items in lists {
                let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
                let (mut one_pass, mut by_copies) = (cond.clone(), cond.clone());
                let used = substitute_list(&mut one_pass, "v", &items, usize::MAX);
                let used_by_copies = substitute_list_by_copies(&mut by_copies, "v", &items);
                assert_eq!((one_pass, used), (by_copies, Some(used_by_copies)), "{cond:?} {items:?}");
            }
        }
    }

    #[test]
    fn list_substitution_matches_falco_text_rules() {
        assert_eq!(sub("ka.verb in (verbs)", "verbs", &["get", "list"]), "ka.verb in ( get, list )");
        assert_eq!(sub("x in (a, verbs, b)", "verbs", &[]), "x in (a  , b)");
        assert_eq!(sub("x in (verbs, b)", "verbs", &[]), "x in (   b)");
        assert_eq!(sub("x in (myverbs)", "verbs", &["get"]), "x in (myverbs)");
        assert_eq!(sub("x in (v)", "v", &["a b"]), "x in ( \"a b\" )");
        assert_eq!(sub("v=v", "v", &["q"]), "q = q ");
    }

    #[test]
    fn exceptions_become_condition_text() {
        let loc = Location { file: "f".into(), line: 1, column: 1 };
        let item = |s: &str| ExEntry::Item(s.into());
        let ex = ExceptionInfo {
            name: "e".into(),
            fields: Some(ExEntry::List(vec![item("ka.user.name"), item("ka.verb")])),
            comps: Some(ExEntry::List(vec![item("="), item("in")])),
            values: vec![ExEntry::List(vec![item("bob smith"), item("get")])],
            location: loc.clone(),
        };
        assert_eq!(
            with_exceptions("c", &[ex], Some(Src::Audit)).unwrap(),
            "(c) and not (( ka.user.name = \"bob smith\" and  ka.verb in (get)))"
        );
        let single = ExceptionInfo {
            name: "s".into(),
            fields: Some(item("ka.user.name")),
            comps: None,
            values: vec![item("a"), item("b")],
            location: loc.clone(),
        };
        assert_eq!(
            with_exceptions("c", &[single], Some(Src::Audit)).unwrap(),
            "(c) and not (ka.user.name in (a, b))"
        );
        let bad = ExceptionInfo {
            name: "b".into(),
            fields: Some(item("ka.nope")),
            comps: None,
            values: vec![item("a")],
            location: loc,
        };
        assert!(with_exceptions("c", &[bad], Some(Src::Audit))
            .unwrap_err()
            .to_string()
            .contains("not a supported filter field"));
    }

    #[test]
    fn base64_and_transforms() {
        assert_eq!(base64_decode("aGVsbG8="), Some(b"hello".to_vec()));
        assert_eq!(base64_decode("a$"), None);
        let out =
            apply_transforms(vec![Cow::Borrowed("/usr/bin/Sh")], &[Transform::Basename, Transform::ToLower]);
        assert_eq!(out.unwrap(), vec![Cow::<str>::Owned("sh".into())]);
        let len = apply_transforms(vec![Cow::Borrowed("a"), Cow::Borrowed("b")], &[Transform::Len]);
        assert_eq!(len.unwrap(), vec![Cow::<str>::Owned("2".into())]);
    }
}
