//! A Dockerfile parser: parser directives (`# escape=`), comments, line continuations,
//! heredocs (`RUN <<EOF`), JSON (exec) and shell forms, instruction flags (`--from=`), and
//! `ARG`/`ENV` substitution (`$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}`) in the
//! instructions Docker expands.

use std::collections::BTreeMap;

/// A parse error with the 1-based line it is on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DockerfileError {
    /// Line of the problem.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Arguments as written: the JSON exec form or the shell form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arguments {
    /// `["executable", "arg"]`.
    Exec(Vec<String>),
    /// Everything after the keyword and flags, continuations joined.
    Shell(String),
}

impl Arguments {
    /// The arguments as one string (exec form joined with spaces).
    pub fn text(&self) -> String {
        match self {
            Arguments::Exec(words) => words.join(" "),
            Arguments::Shell(text) => text.clone(),
        }
    }
}

/// A heredoc body attached to an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter word (`EOF`).
    pub delimiter: String,
    /// The body, lines joined with `\n`.
    pub body: String,
}

/// One instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Line the instruction starts on (1-based).
    pub line: usize,
    /// Upper-case keyword (`FROM`, `RUN`, ...).
    pub keyword: String,
    /// `--name=value` flags before the arguments (`--from=build`, `--chown=1000`).
    pub flags: Vec<(String, String)>,
    /// Arguments, with `ARG`/`ENV` values substituted for the instructions Docker expands.
    pub arguments: Arguments,
    /// Heredoc bodies, in order.
    pub heredocs: Vec<Heredoc>,
    /// Index of the build stage it belongs to (`None` for `ARG`s before the first `FROM`).
    pub stage: Option<usize>,
}

impl Instruction {
    /// The value of flag `name` (without `--`).
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A build stage: its `FROM` and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The base image as written after substitution (`debian:12`, `scratch`, another stage).
    pub image: String,
    /// `AS name`.
    pub alias: Option<String>,
    /// `--platform`.
    pub platform: Option<String>,
    /// Line of the `FROM`.
    pub line: usize,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dockerfile {
    /// Every instruction, in order.
    pub instructions: Vec<Instruction>,
    /// Build stages, in order.
    pub stages: Vec<Stage>,
}

impl Dockerfile {
    /// Instructions of stage `index`.
    pub fn stage_instructions(&self, index: usize) -> impl Iterator<Item = &Instruction> {
        self.instructions.iter().filter(move |i| i.stage == Some(index))
    }

    /// True when `image` names an earlier stage (by alias or index).
    pub fn is_stage_name(&self, image: &str, before: usize) -> bool {
        self.stages[..before.min(self.stages.len())].iter().enumerate().any(|(i, s)| {
            s.alias.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(image)) || image == i.to_string()
        })
    }
}

/// How much text substitution may produce beyond the size of the Dockerfile itself: the
/// arguments of all expanded instructions together.
const MAX_EXPANSION: usize = 16 << 20;

/// Instructions whose arguments Docker expands with `ARG`/`ENV` values.
const EXPANDED: &[&str] =
    &["ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR", "ARG"];

/// Every instruction keyword.
const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Substitutes `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME:+word}` from `vars`; unknown
/// names become empty, as Docker does. The escape character keeps a `$` literal.
pub fn substitute(text: &str, vars: &BTreeMap<String, String>, escape: char) -> String {
    expand(text, vars, escape, usize::MAX).unwrap_or_default()
}

/// Like [`substitute`], but gives up (`None`) as soon as the result is longer than `limit`
/// bytes.
fn expand(text: &str, vars: &BTreeMap<String, String>, escape: char, limit: usize) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    while i < chars.len() {
        if out.len() > limit {
            return None;
        }
        let c = chars[i];
        if c == escape && chars.get(i + 1) == Some(&'$') {
            out.push('$');
            i += 2;
            continue;
        }
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        if chars.get(i + 1) == Some(&'{') {
            let Some(close) = chars[i + 2..].iter().position(|&c| c == '}') else {
                out.extend(&chars[i..]);
                break;
            };
            let inner: String = chars[i + 2..i + 2 + close].iter().collect();
            i += close + 3;
            let (name, modifier) = match inner.find(':') {
                Some(p) => (&inner[..p], Some(&inner[p + 1..])),
                None => (inner.as_str(), None),
            };
            let value = vars.get(name).filter(|v| !v.is_empty());
            match modifier {
                Some(m) if m.starts_with('-') => match value {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&expand(&m[1..], vars, escape, limit - out.len())?),
                },
                Some(m) if m.starts_with('+') => {
                    if value.is_some() {
                        out.push_str(&expand(&m[1..], vars, escape, limit - out.len())?);
                    }
                }
                _ => out.push_str(value.map_or("", String::as_str)),
            }
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < chars.len() && is_name(chars[end]) {
            end += 1;
        }
        if end == start {
            out.push('$');
            i += 1;
            continue;
        }
        let name: String = chars[start..end].iter().collect();
        out.push_str(vars.get(&name).map_or("", String::as_str));
        i = end;
    }
    (out.len() <= limit).then_some(out)
}

/// Splits `text` into words, honouring double and single quotes and backslash escapes.
pub fn split_words(text: &str) -> Vec<String> {
    words_with_ends(text).into_iter().map(|(word, _)| word).collect()
}

/// The words of `text` (as [`split_words`] splits them), each with the byte offset in `text`
/// just after it as written (quotes and escapes included).
fn words_with_ends(text: &str) -> Vec<(String, usize)> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut end = 0;
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices();
    let after = |(i, c): (usize, char)| i + c.len_utf8();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                if let Some(next) = chars.next() {
                    current.push(next.1);
                    end = after(next);
                    continue;
                }
            }
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                in_word = true;
                if let Some(next) = chars.next() {
                    current.push(next.1);
                    end = after(next);
                    continue;
                }
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push((std::mem::take(&mut current), end));
                    in_word = false;
                }
                continue;
            }
            (None, c) => {
                current.push(c);
                in_word = true;
            }
        }
        end = after((i, c));
    }
    if in_word {
        words.push((current, end));
    }
    words
}

/// `KEY=value` pairs of an `ENV`, `ARG` or `LABEL` (also the legacy `ENV KEY value`).
pub fn key_values(keyword: &str, text: &str) -> Vec<(String, Option<String>)> {
    let words = words_with_ends(text);
    let first_has_eq = words.first().is_some_and(|(w, _)| w.contains('='));
    if keyword == "ENV" && !first_has_eq && words.len() >= 2 {
        // The value is everything after the key as written.
        let (key, end) = &words[0];
        let value = text[*end..].trim();
        return vec![(key.clone(), Some(split_words(value).join(" ")))];
    }
    words
        .into_iter()
        .map(|(w, _)| match w.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (w, None),
        })
        .collect()
}

/// Heredoc delimiters opened on an instruction line: `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`.
fn heredoc_markers(line: &str) -> Vec<(String, bool)> {
    let mut markers = Vec::new();
    let mut rest = line;
    while let Some(pos) = rest.find("<<") {
        let mut after = &rest[pos + 2..];
        let strip_tabs = after.starts_with('-');
        if strip_tabs {
            after = &after[1..];
        }
        let quoted = after.starts_with(['"', '\'']);
        let body = after.trim_start_matches(['"', '\'']);
        let word: String = body.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !word.is_empty() && (quoted || after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')) {
            markers.push((word.clone(), strip_tabs));
        }
        rest = &rest[pos + 2..];
    }
    markers
}

/// Parses a Dockerfile.
pub fn parse(text: &str) -> Result<Dockerfile, DockerfileError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut escape = '\\';
    // Parser directives: leading `# key=value` comments.
    for line in &lines {
        let Some(directive) = line.trim().strip_prefix('#') else { break };
        let Some((key, value)) = directive.split_once('=') else { break };
        if key.trim().eq_ignore_ascii_case("escape") {
            escape = match value.trim() {
                "`" => '`',
                "\\" => '\\',
                other => {
                    return Err(DockerfileError {
                        line: 1,
                        message: format!("invalid escape character {other:?}"),
                    })
                }
            };
        }
    }
    let mut dockerfile = Dockerfile::default();
    // Bytes that substitution may still produce, all instructions together, so that values
    // built from values (`ENV A=$A$A` again and again) cannot grow without bound.
    let mut budget = text.len().saturating_add(MAX_EXPANSION);
    let mut global_args: BTreeMap<String, String> = BTreeMap::new();
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        let first = lines[i].trim();
        i += 1;
        if first.is_empty() || first.starts_with('#') {
            continue;
        }
        // Join continuation lines; comment lines inside a continuation are dropped.
        let mut logical = String::new();
        let mut line = first.to_string();
        loop {
            let trimmed = line.trim_end();
            match trimmed.strip_suffix(escape) {
                Some(head) => {
                    logical.push_str(head);
                    logical.push(' ');
                    let mut next = None;
                    while i < lines.len() {
                        let candidate = lines[i].trim();
                        i += 1;
                        if candidate.starts_with('#') {
                            continue;
                        }
                        next = Some(candidate.to_string());
                        break;
                    }
                    match next {
                        Some(n) if !n.is_empty() => line = n,
                        _ => break,
                    }
                }
                None => {
                    logical.push_str(trimmed);
                    break;
                }
            }
        }
        let (keyword, rest) = logical.split_once(char::is_whitespace).unwrap_or((&logical, ""));
        let keyword = keyword.to_ascii_uppercase();
        if !KEYWORDS.contains(&keyword.as_str()) {
            return Err(DockerfileError {
                line: start + 1,
                message: format!("unknown instruction {keyword:?}"),
            });
        }
        let mut rest = rest.trim().to_string();
        let mut heredocs = Vec::new();
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for (delimiter, strip_tabs) in heredoc_markers(&rest) {
                let mut body = Vec::new();
                loop {
                    let Some(raw) = lines.get(i) else {
                        return Err(DockerfileError {
                            line: start + 1,
                            message: format!("heredoc <<{delimiter} is never closed"),
                        });
                    };
                    i += 1;
                    let candidate = if strip_tabs { raw.trim_start_matches('\t') } else { raw };
                    if candidate == delimiter {
                        break;
                    }
                    body.push(candidate.to_string());
                }
                heredocs.push(Heredoc { delimiter, body: body.join("\n") });
            }
        }
        let mut flags = Vec::new();
        while let Some(flag) = rest.strip_prefix("--") {
            let end = flag.find(char::is_whitespace).unwrap_or(flag.len());
            let (name, value) = flag[..end].split_once('=').unwrap_or((&flag[..end], ""));
            flags.push((name.to_string(), value.to_string()));
            rest = flag[end..].trim_start().to_string();
        }
        if keyword == "FROM" {
            // Global ARGs are not visible in a stage until it declares them again.
            vars = BTreeMap::new();
        }
        if EXPANDED.contains(&keyword.as_str()) {
            let scope = if dockerfile.stages.is_empty() || keyword == "FROM" { &global_args } else { &vars };
            let too_long = || DockerfileError {
                line: start + 1,
                message: format!(
                    "ARG/ENV substitution expands the Dockerfile by more than {} MiB",
                    MAX_EXPANSION >> 20
                ),
            };
            for text in std::iter::once(&mut rest).chain(flags.iter_mut().map(|(_, value)| value)) {
                *text = expand(text, scope, escape, budget).ok_or_else(too_long)?;
                budget -= text.len();
            }
        }
        let arguments = match rest.starts_with('[') {
            true => match serde_json::from_str::<Vec<String>>(&rest) {
                Ok(words) => Arguments::Exec(words),
                Err(_) => Arguments::Shell(rest.clone()),
            },
            false => Arguments::Shell(rest.clone()),
        };
        let stage = match keyword.as_str() {
            "FROM" => {
                let words = split_words(&rest);
                let Some(image) = words.first() else {
                    return Err(DockerfileError { line: start + 1, message: "FROM needs an image".into() });
                };
                let alias = match words.get(1) {
                    Some(w) if w.eq_ignore_ascii_case("as") => words.get(2).cloned(),
                    _ => None,
                };
                dockerfile.stages.push(Stage {
                    image: image.clone(),
                    alias,
                    platform: flags.iter().find(|(k, _)| k == "platform").map(|(_, v)| v.clone()),
                    line: start + 1,
                });
                Some(dockerfile.stages.len() - 1)
            }
            "ARG" => {
                for (key, value) in key_values("ARG", &rest) {
                    if dockerfile.stages.is_empty() {
                        global_args.insert(key, value.unwrap_or_default());
                    } else {
                        // A bare `ARG NAME` in a stage takes the global default.
                        let value = value.or_else(|| global_args.get(&key).cloned());
                        vars.insert(key, value.unwrap_or_default());
                    }
                }
                dockerfile.stages.len().checked_sub(1)
            }
            _ if dockerfile.stages.is_empty() => {
                return Err(DockerfileError {
                    line: start + 1,
                    message: format!("{keyword} before the first FROM (only ARG may come first)"),
                });
            }
            "ENV" => {
                for (key, value) in key_values("ENV", &rest) {
                    vars.insert(key, value.unwrap_or_default());
                }
                Some(dockerfile.stages.len() - 1)
            }
            _ => Some(dockerfile.stages.len() - 1),
        };
        dockerfile.instructions.push(Instruction {
            line: start + 1,
            keyword,
            flags,
            arguments,
            heredocs,
            stage,
        });
    }
    if dockerfile.stages.is_empty() {
        return Err(DockerfileError { line: lines.len().max(1), message: "no FROM instruction".into() });
    }
    Ok(dockerfile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuations_comments_heredocs_and_forms() {
        let text = "# syntax=docker/dockerfile:1\nARG BASE=debian\nARG TAG=12\nFROM ${BASE}:${TAG} AS build\nRUN apt-get update && \\\n# a comment inside\n    apt-get install -y curl\nRUN <<EOF\nset -e\necho hi\nEOF\nCOPY --from=build --chown=1000:1000 /a /b\nFROM scratch\nENV PORT=8080 NAME=\"my app\"\nEXPOSE $PORT\nCMD [\"/app\", \"--port\", \"8080\"]\n";
        let df = parse(text).unwrap();
        assert_eq!(df.stages.len(), 2);
        assert_eq!(df.stages[0].image, "debian:12");
        assert_eq!(df.stages[0].alias.as_deref(), Some("build"));
        let run = &df.instructions[3];
        assert_eq!(run.keyword, "RUN");
        assert_eq!(run.line, 5);
        assert_eq!(run.arguments, Arguments::Shell("apt-get update &&  apt-get install -y curl".into()));
        let heredoc = &df.instructions[4];
        assert_eq!(heredoc.heredocs[0].body, "set -e\necho hi");
        let copy = &df.instructions[5];
        assert_eq!(
            (copy.flag("from"), copy.flag("chown"), copy.line),
            (Some("build"), Some("1000:1000"), 12)
        );
        let expose = df.instructions.iter().find(|i| i.keyword == "EXPOSE").unwrap();
        assert_eq!(expose.arguments.text(), "8080");
        let cmd = df.instructions.last().unwrap();
        assert_eq!(cmd.arguments, Arguments::Exec(vec!["/app".into(), "--port".into(), "8080".into()]));
        assert!(df.is_stage_name("build", 1));
    }

    #[test]
    fn errors_name_lines() {
        assert_eq!(parse("FROM a\nFOO bar\n").unwrap_err().line, 2);
        assert_eq!(
            parse("RUN x\n").unwrap_err().to_string(),
            "line 1: RUN before the first FROM (only ARG may come first)"
        );
        assert!(parse("FROM a\nRUN <<EOF\nx\n").unwrap_err().message.contains("never closed"));
        assert!(parse("# only a comment\n").is_err());
    }

    #[test]
    fn escape_directive_and_substitution_forms() {
        let df = parse("# escape=`\nFROM windows `\n  AS w\n").unwrap();
        assert_eq!(df.stages[0].alias.as_deref(), Some("w"));
        let vars: BTreeMap<String, String> = [("A".to_string(), "1".to_string())].into();
        assert_eq!(substitute("${A:-x} ${B:-y} ${A:+z} ${B:+w} $A \\$A", &vars, '\\'), "1 y z  1 $A");
        assert_eq!(
            key_values("ENV", "KEY some value"),
            vec![("KEY".to_string(), Some("some value".to_string()))]
        );
    }

    #[test]
    fn legacy_env_value_starts_after_the_raw_first_word() {
        // The first word's text is shorter than what it is written with (quotes, escapes);
        // the value starts after the word as written, not at its decoded length (which once
        // sliced inside `é` and panicked).
        assert_eq!(key_values("ENV", "\"é\" x y"), vec![("é".to_string(), Some("x y".to_string()))]);
        assert_eq!(key_values("ENV", "  \"a b\" c  d"), vec![("a b".to_string(), Some("c d".to_string()))]);
        assert_eq!(key_values("ENV", "K\\é v"), vec![("Ké".to_string(), Some("v".to_string()))]);
        let df = parse("FROM a\nENV \"é\" x\n").unwrap();
        assert_eq!(df.instructions[1].arguments.text(), "\"é\" x");
    }

    #[test]
    fn substitution_that_keeps_doubling_a_value_is_an_error() {
        // Each line doubles A: 22 lines make it 32 MiB, 40 lines (460 bytes of Dockerfile)
        // would make it 8 TiB. Expansion stops at the budget with an error on that line.
        let text = format!("FROM a\nENV A=xxxxxxxx\n{}", "ENV A=$A$A\n".repeat(22));
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("expand"), "{err}");
        assert!((3..=24).contains(&err.line), "{err}");
        // One instruction repeating a large value is caught too, before it is built.
        let text =
            format!("FROM a\nENV A=xxxxxxxx\n{}ENV B={}\n", "ENV A=$A$A\n".repeat(16), "$A".repeat(64));
        assert_eq!(parse(&text).unwrap_err().line, 19);
    }
}
