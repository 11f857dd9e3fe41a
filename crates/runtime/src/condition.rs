//! The Falco condition language: syntax tree and parser.
//!
//! The grammar is the one of libsinsp's filter parser: `and`/`or`/`not` with parentheses,
//! field checks (`field[arg] op value`), macro references (bare identifiers), value lists,
//! string-operator modifiers (`startswith anyof (...)`) and field transformers (`tolower(...)`,
//! `val(...)`). Parsing is purely syntactic; fields and macros are resolved when a rule set is
//! compiled (see the `compile` module).

use std::fmt;

/// Deepest nesting of the recursive-descent parser.
pub const MAX_DEPTH: usize = 500;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=` or `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `contains`.
    Contains,
    /// `icontains` (ASCII case-insensitive).
    IContains,
    /// `bcontains` (hex bytes).
    BContains,
    /// `startswith`.
    StartsWith,
    /// `bstartswith` (hex bytes).
    BStartsWith,
    /// `endswith`.
    EndsWith,
    /// `glob` (fnmatch).
    Glob,
    /// `iglob` (case-insensitive fnmatch).
    IGlob,
    /// `regex` (whole-value match).
    Regex,
    /// `in`.
    In,
    /// `intersects`.
    Intersects,
    /// `pmatch` (path-prefix match).
    PMatch,
    /// `exists`.
    Exists,
}

impl Op {
    /// The operator as written in conditions.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::IContains => "icontains",
            Op::BContains => "bcontains",
            Op::StartsWith => "startswith",
            Op::BStartsWith => "bstartswith",
            Op::EndsWith => "endswith",
            Op::Glob => "glob",
            Op::IGlob => "iglob",
            Op::Regex => "regex",
            Op::In => "in",
            Op::Intersects => "intersects",
            Op::PMatch => "pmatch",
            Op::Exists => "exists",
        }
    }

    /// Parses an operator name (as used in rule exceptions' `comps`).
    pub fn from_name(name: &str) -> Option<Op> {
        Some(match name {
            "=" | "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "contains" => Op::Contains,
            "icontains" => Op::IContains,
            "bcontains" => Op::BContains,
            "startswith" => Op::StartsWith,
            "bstartswith" => Op::BStartsWith,
            "endswith" => Op::EndsWith,
            "glob" => Op::Glob,
            "iglob" => Op::IGlob,
            "regex" => Op::Regex,
            "in" => Op::In,
            "intersects" => Op::Intersects,
            "pmatch" => Op::PMatch,
            "exists" => Op::Exists,
            _ => return None,
        })
    }

    /// True for the operators whose right-hand side is a list.
    pub fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::Intersects | Op::PMatch)
    }
}

/// A modifier turning a string operator into a test against a list (`startswith anyof (...)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Modifier {
    /// Exactly one element matches.
    OneOf,
    /// At least one element matches.
    AnyOf,
    /// Every element matches.
    AllOf,
}

impl Modifier {
    /// The modifier as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Modifier::OneOf => "oneof",
            Modifier::AnyOf => "anyof",
            Modifier::AllOf => "allof",
        }
    }
}

/// A field reference: `name` or `name[arg]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRef {
    /// Dotted field name, e.g. `ka.uri.param`.
    pub name: String,
    /// The bracketed argument, if any.
    pub arg: Option<String>,
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.arg {
            Some(arg) => write!(f, "{}[{}]", self.name, arg),
            None => f.write_str(&self.name),
        }
    }
}

/// The left-hand side of a check (or a `val()` right-hand side): a field, possibly wrapped in
/// transformers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldExpr {
    /// A plain field.
    Field(FieldRef),
    /// `name(args...)[arg]`; `val(field)` is a transformer named `val`.
    Transform {
        /// Transformer name (`tolower`, `toupper`, `b64`, `basename`, `len`, `join`,
        /// `concat`, `getopt`, `val`).
        name: String,
        /// Arguments.
        args: Vec<TransformArg>,
        /// Optional trailing argument in brackets.
        arg: Option<String>,
    },
}

/// An argument of a transformer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TransformArg {
    /// A field or nested transformer.
    Field(FieldExpr),
    /// A quoted string or number.
    Value(String),
    /// A parenthesised list.
    List(Vec<TransformArg>),
}

/// The right-hand side of a binary check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rhs {
    /// A single value (quoted, bare, or a number).
    Value(String),
    /// A parenthesised list of values.
    List(Vec<String>),
    /// Another field (`val(...)` or a transformer).
    Field(FieldExpr),
}

/// A condition syntax tree. `pos` is a byte offset in the condition text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    /// All children hold.
    And(Vec<Expr>),
    /// Any child holds.
    Or(Vec<Expr>),
    /// The child does not hold.
    Not(Box<Expr>),
    /// A macro reference.
    Macro {
        /// Macro name.
        name: String,
        /// Where it is written.
        pos: usize,
    },
    /// A field check.
    Check {
        /// The field (possibly transformed).
        field: FieldExpr,
        /// The operator.
        op: Op,
        /// `anyof`/`allof`/`oneof`, if any.
        modifier: Option<Modifier>,
        /// The right-hand side; `None` for `exists`.
        rhs: Option<Rhs>,
        /// Where the check starts.
        pos: usize,
    },
}

/// A syntax error in a condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at offset {offset} of the condition)")]
pub struct SyntaxError {
    /// Byte offset where parsing stopped.
    pub offset: usize,
    /// What was expected.
    pub message: String,
}

/// Parses a condition. The whole text must be consumed.
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    if text.is_empty() {
        return Err(SyntaxError { offset: 0, message: "condition is empty".into() });
    }
    let mut parser = Parser { text, pos: 0, depth: 0, last: String::new() };
    let expr = parser.or()?;
    if parser.pos != text.len() {
        let message = format!("unexpected token after '{}', expecting 'or', 'and'", parser.last);
        return Err(parser.error(message));
    }
    Ok(expr)
}

/// Parses a field or transformer at the start of `text` (for output templates); returns it
/// and the number of bytes it takes, or `None` when `text` does not start with one.
pub fn parse_field_prefix(text: &str) -> Option<(FieldExpr, usize)> {
    let mut parser = Parser { text, pos: 0, depth: 0, last: String::new() };
    if let Some(name) = parser.field_name() {
        let arg = parser.field_arg().ok()?;
        return Some((FieldExpr::Field(FieldRef { name: name.to_string(), arg }), parser.pos));
    }
    let name = parser.transformer_open()?;
    parser.blank();
    let expr = parser.transformer_rest(name).ok()?;
    Some((expr, parser.pos))
}

const STR_OPS: [(&str, Op, bool); 12] = [
    // (text, operator, needs a following blank)
    ("==", Op::Eq, false),
    ("=", Op::Eq, false),
    ("!=", Op::Ne, false),
    ("glob", Op::Glob, true),
    ("iglob", Op::IGlob, true),
    ("contains", Op::Contains, true),
    ("icontains", Op::IContains, true),
    ("bcontains", Op::BContains, true),
    ("startswith", Op::StartsWith, true),
    ("bstartswith", Op::BStartsWith, true),
    ("endswith", Op::EndsWith, true),
    ("regex", Op::Regex, true),
];

const NUM_OPS: [(&str, Op); 4] = [("<=", Op::Le), ("<", Op::Lt), (">=", Op::Ge), (">", Op::Gt)];
const LIST_OPS: [(&str, Op); 3] = [("intersects", Op::Intersects), ("in", Op::In), ("pmatch", Op::PMatch)];
const MODIFIERS: [(&str, Modifier); 3] =
    [("oneof", Modifier::OneOf), ("anyof", Modifier::AnyOf), ("allof", Modifier::AllOf)];
const TRANSFORMERS: [&str; 8] = ["tolower", "toupper", "b64", "basename", "len", "join", "concat", "getopt"];

struct Parser<'t> {
    text: &'t str,
    pos: usize,
    depth: usize,
    last: String,
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\x08' | b'\r' | b'\n')
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

impl<'t> Parser<'t> {
    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError { offset: self.pos, message: message.into() }
    }

    fn rest(&self) -> &'t str {
        &self.text[self.pos..]
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return Err(self.error(format!("exceeded max depth limit of {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn blank(&mut self) -> bool {
        let start = self.pos;
        while self.text.as_bytes().get(self.pos).is_some_and(|&b| is_blank(b)) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn take(&mut self, len: usize) -> &'t str {
        let token = &self.text[self.pos..self.pos + len];
        self.pos += len;
        self.last = token.to_string();
        token
    }

    fn lit(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.take(s.len());
            true
        } else {
            false
        }
    }

    /// A keyword that must be followed by at least one blank (consumed too).
    fn word_op(&mut self, s: &str) -> bool {
        let save = self.pos;
        if self.lit(s) && self.blank() {
            return true;
        }
        self.pos = save;
        false
    }

    /// Length of `[a-zA-Z]+[a-zA-Z0-9_]*` at the cursor.
    fn ident_len(&self, from: usize) -> usize {
        let bytes = &self.text.as_bytes()[from..];
        if !bytes.first().is_some_and(u8::is_ascii_alphabetic) {
            return 0;
        }
        1 + bytes[1..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count()
    }

    fn identifier(&mut self) -> Option<&'t str> {
        let len = self.ident_len(self.pos);
        (len > 0).then(|| self.take(len))
    }

    /// `ident(.ident)+`.
    fn field_name(&mut self) -> Option<&'t str> {
        let mut len = self.ident_len(self.pos);
        if len == 0 {
            return None;
        }
        let mut parts = 1;
        while self.text.as_bytes().get(self.pos + len) == Some(&b'.') {
            let next = self.ident_len(self.pos + len + 1);
            if next == 0 {
                break;
            }
            len += 1 + next;
            parts += 1;
        }
        (parts > 1).then(|| self.take(len))
    }

    fn span_while(&self, keep: impl Fn(u8) -> bool) -> usize {
        self.rest().bytes().take_while(|&b| keep(b)).count()
    }

    fn bare_str(&mut self) -> Option<String> {
        let len = self.span_while(|b| !matches!(b, b'(' | b')' | b'"' | b'\'' | b'=' | b',') && !is_space(b));
        (len > 0).then(|| self.take(len).to_string())
    }

    fn field_arg_bare(&mut self) -> Option<String> {
        let len = self.span_while(|b| !matches!(b, b'[' | b']' | b'"' | b'\'') && !is_space(b));
        (len > 0).then(|| self.take(len).to_string())
    }

    fn number(&mut self) -> Option<String> {
        let bytes = self.rest().as_bytes();
        if bytes.len() > 2 && bytes[0] == b'0' && matches!(bytes[1], b'x' | b'X') {
            let hex = bytes[2..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
            if hex > 0 {
                return Some(self.take(2 + hex).to_string());
            }
        }
        let mut i = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
        let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        i += digits;
        if bytes.get(i) == Some(&b'.') {
            i += 1;
        }
        i += bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if matches!(bytes.get(i), Some(b'e' | b'E'))
            && matches!(bytes.get(i + 1), Some(b'+' | b'-'))
            && bytes.get(i + 2).is_some_and(u8::is_ascii_digit)
        {
            i += 2;
            i += bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        }
        Some(self.take(i).to_string())
    }

    /// A quoted string: ends at the first matching quote not preceded by a backslash.
    fn quoted(&mut self) -> Result<Option<String>, SyntaxError> {
        let bytes = self.rest().as_bytes();
        let Some(&delim @ (b'"' | b'\'')) = bytes.first() else {
            return Ok(None);
        };
        let mut prev = b'\\';
        for (i, &b) in bytes.iter().enumerate() {
            if i > 0 && b == delim && prev != b'\\' {
                let start = self.pos;
                let token = self.take(i + 1);
                return unescape_quoted(token)
                    .map(Some)
                    .map_err(|message| SyntaxError { offset: start, message });
            }
            prev = b;
        }
        Ok(None)
    }

    fn or(&mut self) -> Result<Expr, SyntaxError> {
        self.enter()?;
        self.blank();
        let mut children = vec![self.and()?];
        self.blank();
        while self.lit("or") {
            let child = if self.blank() {
                self.and()?
            } else if self.lit("(") {
                self.embedded()?
            } else {
                return Err(self.error("expected blank or '(' after 'or'"));
            };
            children.push(child);
            self.blank();
        }
        self.leave();
        Ok(if children.len() == 1 { children.pop().expect("one child") } else { Expr::Or(children) })
    }

    fn and(&mut self) -> Result<Expr, SyntaxError> {
        self.enter()?;
        self.blank();
        let mut children = vec![self.not()?];
        self.blank();
        while self.lit("and") {
            let child = if self.blank() {
                self.not()?
            } else if self.lit("(") {
                self.embedded()?
            } else {
                return Err(self.error("expected blank or '(' after 'and'"));
            };
            children.push(child);
            self.blank();
        }
        self.leave();
        Ok(if children.len() == 1 { children.pop().expect("one child") } else { Expr::And(children) })
    }

    fn not(&mut self) -> Result<Expr, SyntaxError> {
        self.enter()?;
        self.blank();
        let mut negate = false;
        loop {
            let spaces =
                self.rest().strip_prefix("not").map(|r| r.bytes().take_while(|&b| is_space(b)).count());
            match spaces {
                Some(n) if n > 0 => {
                    self.take(3 + n);
                    negate = !negate;
                }
                _ => break,
            }
        }
        let child = if self.lit("not(") {
            negate = !negate;
            self.embedded()?
        } else {
            self.check()?
        };
        self.leave();
        Ok(if negate { Expr::Not(Box::new(child)) } else { child })
    }

    /// The rest of a parenthesised expression, after its `(`.
    fn embedded(&mut self) -> Result<Expr, SyntaxError> {
        self.enter()?;
        self.blank();
        let child = self.or()?;
        self.blank();
        if !self.lit(")") {
            return Err(self.error("expected a ')' token"));
        }
        self.leave();
        Ok(child)
    }

    fn check(&mut self) -> Result<Expr, SyntaxError> {
        self.enter()?;
        self.blank();
        let pos = self.pos;
        let expr = if self.lit("(") {
            self.embedded()?
        } else if let Some(name) = self.field_name() {
            let field = FieldExpr::Field(FieldRef { name: name.to_string(), arg: self.field_arg()? });
            self.condition(field, pos)?
        } else if let Some(name) = self.transformer_open() {
            self.blank();
            let field = self.transformer_rest(name)?;
            self.condition(field, pos)?
        } else if let Some(name) = self.identifier() {
            Expr::Macro { name: name.to_string(), pos }
        } else {
            return Err(self.error("expected a '(' token, a field check, or an identifier"));
        };
        self.leave();
        Ok(expr)
    }

    fn field_arg(&mut self) -> Result<Option<String>, SyntaxError> {
        if !self.lit("[") {
            return Ok(None);
        }
        let arg = match self.quoted()? {
            Some(arg) => arg,
            None => self.field_arg_bare().ok_or_else(|| {
                self.error("expected a valid field argument: a quoted string or a bare string")
            })?,
        };
        if !self.lit("]") {
            return Err(self.error("expected a ']' token"));
        }
        Ok(Some(arg))
    }

    /// Consumes `name(` for a known transformer and returns the name.
    fn transformer_open(&mut self) -> Option<&'static str> {
        let found = TRANSFORMERS
            .iter()
            .find(|t| self.rest().strip_prefix(**t).is_some_and(|r| r.starts_with('(')))?;
        self.take(found.len() + 1);
        Some(found)
    }

    fn transformer_rest(&mut self, name: &str) -> Result<FieldExpr, SyntaxError> {
        self.enter()?;
        self.blank();
        let mut args = Vec::new();
        loop {
            args.push(self.transformer_arg()?);
            self.blank();
            if !self.lit(",") {
                break;
            }
        }
        self.blank();
        if !self.lit(")") {
            return Err(self.error("expected a ')' token closing the transformer"));
        }
        let arg = self.field_arg()?;
        self.leave();
        Ok(FieldExpr::Transform { name: name.to_string(), args, arg })
    }

    fn transformer_arg(&mut self) -> Result<TransformArg, SyntaxError> {
        self.blank();
        if let Some(n) = self.number() {
            return Ok(TransformArg::Value(n));
        }
        if let Some(s) = self.quoted()? {
            return Ok(TransformArg::Value(s));
        }
        if self.lit("(") {
            let mut items = Vec::new();
            self.blank();
            if self.lit(")") {
                return Ok(TransformArg::List(items));
            }
            loop {
                self.blank();
                items.push(self.transformer_list_item()?);
                self.blank();
                if !self.lit(",") {
                    break;
                }
            }
            if !self.lit(")") {
                return Err(self.error("expected ')'"));
            }
            return Ok(TransformArg::List(items));
        }
        if let Some(name) = self.transformer_open() {
            return Ok(TransformArg::Field(self.transformer_rest(name)?));
        }
        if let Some(name) = self.field_name() {
            return Ok(TransformArg::Field(FieldExpr::Field(FieldRef {
                name: name.to_string(),
                arg: self.field_arg()?,
            })));
        }
        Err(self.error("expected field transformer argument: field, transformer, quoted string, number, or transformer list"))
    }

    fn transformer_list_item(&mut self) -> Result<TransformArg, SyntaxError> {
        if let Some(name) = self.field_name() {
            return Ok(TransformArg::Field(FieldExpr::Field(FieldRef {
                name: name.to_string(),
                arg: self.field_arg()?,
            })));
        }
        if let Some(name) = self.transformer_open() {
            self.blank();
            return Ok(TransformArg::Field(self.transformer_rest(name)?));
        }
        if let Some(s) = self.quoted()? {
            return Ok(TransformArg::Value(s));
        }
        if let Some(n) = self.number() {
            return Ok(TransformArg::Value(n));
        }
        Err(self.error("expected transformer list argument: field, transformer, quoted string, or number"))
    }

    fn condition(&mut self, field: FieldExpr, pos: usize) -> Result<Expr, SyntaxError> {
        self.enter()?;
        self.blank();
        if self.lit("exists") {
            self.leave();
            return Ok(Expr::Check { field, op: Op::Exists, modifier: None, rhs: None, pos });
        }
        self.blank();
        let expr = if let Some(op) = self.num_op() {
            let rhs = self.num_value_or_transformer()?;
            Expr::Check { field, op, modifier: None, rhs: Some(rhs), pos }
        } else if let Some((op, is_word)) = self.str_op() {
            let had_blank = is_word || self.blank();
            let save = (self.pos, self.last.clone());
            let mut result = None;
            if had_blank {
                if let Some(modifier) = self.modifier() {
                    if self.list_value_follows() && !self.bool_keyword_follows() {
                        let rhs = self.list_value()?;
                        result = Some(Expr::Check {
                            field: field.clone(),
                            op,
                            modifier: Some(modifier),
                            rhs: Some(rhs),
                            pos,
                        });
                    }
                }
            }
            match result {
                Some(expr) => expr,
                None => {
                    (self.pos, self.last) = save;
                    let rhs = self.str_value_or_transformer(false)?;
                    Expr::Check { field, op, modifier: None, rhs: Some(rhs), pos }
                }
            }
        } else if let Some(op) = self.list_op() {
            let rhs = self.list_value_or_transformer()?;
            Expr::Check { field, op, modifier: None, rhs: Some(rhs), pos }
        } else {
            return Err(self.error(
                "expected a valid check operator: one of 'exists', '<=', '<', '>=', '>', '==', '=', '!=', \
                 'glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', \
                 'endswith', 'regex', 'intersects', 'in', 'pmatch'",
            ));
        };
        self.leave();
        Ok(expr)
    }

    fn num_op(&mut self) -> Option<Op> {
        let (text, op) = NUM_OPS.iter().find(|(t, _)| self.rest().starts_with(t))?;
        self.take(text.len());
        Some(*op)
    }

    fn str_op(&mut self) -> Option<(Op, bool)> {
        for (text, op, word) in STR_OPS {
            if if word { self.word_op(text) } else { self.lit(text) } {
                return Some((op, word));
            }
        }
        None
    }

    fn list_op(&mut self) -> Option<Op> {
        let (text, op) = LIST_OPS.iter().find(|(t, _)| self.rest().starts_with(t))?;
        self.take(text.len());
        Some(*op)
    }

    fn modifier(&mut self) -> Option<Modifier> {
        MODIFIERS.iter().find_map(|(text, m)| self.word_op(text).then_some(*m))
    }

    fn list_value_follows(&self) -> bool {
        self.rest().starts_with('(') || self.ident_len(self.pos) > 0
    }

    fn bool_keyword_follows(&self) -> bool {
        ["and", "or", "not"].iter().any(|kw| {
            self.rest()
                .strip_prefix(kw)
                .is_some_and(|r| r.as_bytes().first().is_none_or(|b| !b.is_ascii_alphanumeric()))
        })
    }

    fn num_value_or_transformer(&mut self) -> Result<Rhs, SyntaxError> {
        self.blank();
        if let Some(field) = self.transformer_or_val()? {
            return Ok(Rhs::Field(field));
        }
        self.number()
            .map(Rhs::Value)
            .ok_or_else(|| self.error("expected a number value or a field with a valid transformer"))
    }

    fn str_value(&mut self) -> Result<Option<String>, SyntaxError> {
        if let Some(s) = self.quoted()? {
            return Ok(Some(s));
        }
        Ok(self.bare_str())
    }

    fn str_value_or_transformer(&mut self, no_transformer: bool) -> Result<Rhs, SyntaxError> {
        self.blank();
        if !no_transformer {
            if let Some(field) = self.transformer_or_val()? {
                return Ok(Rhs::Field(field));
            }
        }
        match self.str_value()? {
            Some(value) => Ok(Rhs::Value(value)),
            None if no_transformer => Err(self.error("expected a string value")),
            None => Err(self.error("expected a string value or a field with a valid transformer")),
        }
    }

    fn list_expr(&mut self) -> Result<Option<Vec<String>>, SyntaxError> {
        if !self.lit("(") {
            return Ok(None);
        }
        let mut values = Vec::new();
        self.blank();
        let save = (self.pos, self.last.clone());
        match self.str_value_or_transformer(true) {
            Ok(Rhs::Value(first)) => {
                values.push(first);
                self.blank();
                while self.lit(",") {
                    match self.str_value_or_transformer(true)? {
                        Rhs::Value(v) => values.push(v),
                        _ => unreachable!("transformers are disabled here"),
                    }
                    self.blank();
                }
            }
            Ok(_) => unreachable!("transformers are disabled here"),
            Err(_) => (self.pos, self.last) = save,
        }
        if !self.lit(")") {
            return Err(self.error("expected a ')' token"));
        }
        Ok(Some(values))
    }

    fn list_value(&mut self) -> Result<Rhs, SyntaxError> {
        self.blank();
        if let Some(values) = self.list_expr()? {
            return Ok(Rhs::List(values));
        }
        match self.identifier() {
            Some(name) => Ok(Rhs::Value(name.to_string())),
            None => Err(self.error("expected a list or an identifier")),
        }
    }

    fn list_value_or_transformer(&mut self) -> Result<Rhs, SyntaxError> {
        self.blank();
        if let Some(values) = self.list_expr()? {
            return Ok(Rhs::List(values));
        }
        if let Some(field) = self.transformer_or_val()? {
            return Ok(Rhs::Field(field));
        }
        match self.identifier() {
            Some(name) => Ok(Rhs::Value(name.to_string())),
            None => Err(self.error("expected a list, an identifier, or a field with a valid transformer")),
        }
    }

    fn transformer_or_val(&mut self) -> Result<Option<FieldExpr>, SyntaxError> {
        self.blank();
        if self.lit("val(") {
            self.blank();
            let Some(name) = self.field_name() else {
                return Err(self.error("expected a field within 'val' transformer"));
            };
            let field = FieldExpr::Field(FieldRef { name: name.to_string(), arg: self.field_arg()? });
            self.blank();
            if !self.lit(")") {
                return Err(self.error("expected a ')' token closing the transformer"));
            }
            let arg = self.field_arg()?;
            return Ok(Some(FieldExpr::Transform {
                name: "val".into(),
                args: vec![TransformArg::Field(field)],
                arg,
            }));
        }
        if let Some(name) = self.transformer_open() {
            self.blank();
            return self.transformer_rest(name).map(Some);
        }
        Ok(None)
    }
}

/// Decodes a quoted token (quotes included) with libsinsp's escapes: `\b \f \n \r \t \\ \/`,
/// the token's own quote, `\x` plus two hex digits, and `\ ` (kept for old rules) as `\`.
fn unescape_quoted(token: &str) -> Result<String, String> {
    let bytes = token.as_bytes();
    let quote = bytes[0];
    let inner = &bytes[1..bytes.len() - 1];
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let b = inner[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let Some(&next) = inner.get(i + 1) else {
            // A trailing backslash cannot occur: it would have escaped the closing quote.
            out.push(b'\\');
            break;
        };
        match next {
            b'b' => out.push(b'\x08'),
            b'f' => out.push(b'\x0c'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b' ' | b'\\' => out.push(b'\\'),
            b'/' => out.push(b'/'),
            b'"' | b'\'' if next == quote => out.push(next),
            b'"' => return Err("invalid \\\" escape in '-quoted string".into()),
            b'\'' => return Err("invalid \\' escape in \"-quoted string".into()),
            b'x' => {
                let hex = inner.get(i + 2..i + 4).ok_or("truncated hex char escape sequence")?;
                let hex = std::str::from_utf8(hex).map_err(|_| "invalid hex char escape sequence")?;
                let value = u8::from_str_radix(hex, 16)
                    .map_err(|_| format!("invalid hex char escape sequence: {hex}"))?;
                out.push(value);
                i += 2;
            }
            other => return Err(format!("unsupported string escape sequence: \\{}", other as char)),
        }
        i += 2;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str) -> FieldExpr {
        FieldExpr::Field(FieldRef { name: name.into(), arg: None })
    }

    fn check(name: &str, op: Op, rhs: Option<Rhs>, pos: usize) -> Expr {
        Expr::Check { field: field(name), op, modifier: None, rhs, pos }
    }

    #[test]
    fn precedence_and_grouping() {
        let expr = parse("a and not b or (c and d)").unwrap();
        let mac = |n: &str, pos| Expr::Macro { name: n.into(), pos };
        assert_eq!(
            expr,
            Expr::Or(vec![
                Expr::And(vec![mac("a", 0), Expr::Not(Box::new(mac("b", 10)))]),
                Expr::And(vec![mac("c", 16), mac("d", 22)]),
            ])
        );
    }

    #[test]
    fn checks_with_values_lists_and_args() {
        assert_eq!(
            parse("ka.verb=create").unwrap(),
            check("ka.verb", Op::Eq, Some(Rhs::Value("create".into())), 0)
        );
        assert_eq!(
            parse("ka.verb in (create, 'up date',\"x\")").unwrap(),
            check("ka.verb", Op::In, Some(Rhs::List(vec!["create".into(), "up date".into(), "x".into()])), 0)
        );
        assert_eq!(parse("ka.verb in ()").unwrap(), check("ka.verb", Op::In, Some(Rhs::List(vec![])), 0));
        let expr = parse("jevt.value[/annotations/authorization.k8s.io~1decision] exists").unwrap();
        assert_eq!(
            expr,
            Expr::Check {
                field: FieldExpr::Field(FieldRef {
                    name: "jevt.value".into(),
                    arg: Some("/annotations/authorization.k8s.io~1decision".into())
                }),
                op: Op::Exists,
                modifier: None,
                rhs: None,
                pos: 0
            }
        );
        assert_eq!(
            parse("ka.response.code >= 400").unwrap(),
            check("ka.response.code", Op::Ge, Some(Rhs::Value("400".into())), 0)
        );
        assert_eq!(
            parse("ka.uri startswith /healthz?").unwrap(),
            check("ka.uri", Op::StartsWith, Some(Rhs::Value("/healthz?".into())), 0)
        );
    }

    #[test]
    fn not_needs_a_blank_or_parenthesis() {
        assert_eq!(parse("not(a)").unwrap(), Expr::Not(Box::new(Expr::Macro { name: "a".into(), pos: 4 })));
        assert_eq!(parse("not not a").unwrap(), Expr::Macro { name: "a".into(), pos: 8 });
        assert_eq!(parse("nota").unwrap(), Expr::Macro { name: "nota".into(), pos: 0 });
    }

    #[test]
    fn modifiers_and_transformers() {
        let expr = parse("ka.uri startswith anyof (/a, /b)").unwrap();
        assert_eq!(
            expr,
            Expr::Check {
                field: field("ka.uri"),
                op: Op::StartsWith,
                modifier: Some(Modifier::AnyOf),
                rhs: Some(Rhs::List(vec!["/a".into(), "/b".into()])),
                pos: 0
            }
        );
        // `anyof` followed by a boolean keyword is a plain value.
        assert_eq!(
            parse("ka.uri contains anyof and a").unwrap(),
            Expr::And(vec![
                check("ka.uri", Op::Contains, Some(Rhs::Value("anyof".into())), 0),
                Expr::Macro { name: "a".into(), pos: 26 }
            ])
        );
        let expr = parse("tolower(ka.user.name) = val(ka.target.name)").unwrap();
        let Expr::Check {
            field: FieldExpr::Transform { name, .. },
            rhs: Some(Rhs::Field(FieldExpr::Transform { name: val, .. })),
            ..
        } = expr
        else {
            panic!("unexpected {expr:?}");
        };
        assert_eq!((name.as_str(), val.as_str()), ("tolower", "val"));
    }

    #[test]
    fn quoted_string_escapes() {
        assert_eq!(parse(r#"a.b = "x\"y\x41\\""#).unwrap_err().offset, 6);
        assert_eq!(
            parse(r#"a.b = "x\"y\x41""#).unwrap(),
            check("a.b", Op::Eq, Some(Rhs::Value("x\"yA".into())), 0)
        );
        assert_eq!(
            parse(r"a.b = 'it\'s'").unwrap(),
            check("a.b", Op::Eq, Some(Rhs::Value("it's".into())), 0)
        );
        assert!(parse(r#"a.b = 'x\"'"#).is_err());
        assert!(parse(r#"a.b = "\q""#).is_err());
    }

    #[test]
    fn syntax_errors_have_offsets() {
        let err = parse("ka.verb = create and").unwrap_err();
        assert_eq!(err.offset, 20);
        let err = parse("ka.verb create").unwrap_err();
        assert_eq!(err.offset, 8);
        assert!(parse("(a").is_err());
        assert!(parse("a b").unwrap_err().message.contains("unexpected token"));
        assert!(parse("").is_err());
        assert!(parse("a orb").is_err());
        assert!(parse("x.y > abc").is_err());
    }

    #[test]
    fn depth_is_limited() {
        let text = format!("{}a{}", "(".repeat(MAX_DEPTH * 2), ")".repeat(MAX_DEPTH * 2));
        assert!(parse(&text).unwrap_err().message.contains("max depth"));
    }
}
