//! SARIF 2.1.0: one run whose results GitHub code scanning (and other SARIF viewers) can
//! place at their file and line.
//!
//! - Every rule id used gets a `tool.driver.rules[]` entry (sorted by id); results point at
//!   it with `ruleIndex`. With a rule lookup the entry carries the rule's title, docs,
//!   default level, tags and the `security-severity` score GitHub ranks alerts by.
//! - File paths become relative URIs with forward slashes (`-` becomes `stdin`); live
//!   objects (`cluster://...`) get a logical location instead of a file.
//! - Report errors become `invocations[0].toolExecutionNotifications`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use kubesecops_core::{Finding, ObjectRef, Package, Report, ReportError, RuleMeta, RuleRef, Severity};
use serde::{Serialize, Serializer};

use crate::chunks::{write_in_chunks, PARALLEL_FROM};
use crate::json_text::{self, key, newline, number, string};
use crate::RenderConfig;

const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
const SARIF_VERSION: &str = "2.1.0";
const TOOL_NAME: &str = "kubesecops";
/// Key of the fingerprint in `partialFingerprints`; bump the version if the hash changes.
const FINGERPRINT_KEY: &str = "kubesecopsFingerprint/v1";
/// Prefix of live-object paths, which are not files.
const CLUSTER_SCHEME: &str = "cluster://";

/// Room for a rendered result in the chunk buffers: most take 1.5–2.5 KB.
const BYTES_PER_RESULT: usize = 3072;
/// What pretty JSON of `[[[[results]]]]` has before the first result and after the last:
/// the results then sit at the depth of `runs[0].results[]`.
const NESTING_HEAD: &[u8] = b"[\n  [\n    [\n      [\n";
const NESTING_TAIL: &[u8] = b"\n      ]\n    ]\n  ]\n]";
/// The depth of `runs[0].results[]` in the log: `{`, `runs`, its run, `results`.
const RESULT_DEPTH: usize = 4;
/// The `results` of the log rendered without results: the last key of the run.
const EMPTY_RESULTS: &str = "\n      \"results\": []";

/// Writes the SARIF log of `report` as pretty JSON followed by a newline.
///
/// Results are built one at a time as they are written ([`Results`]): holding them all as
/// SARIF objects first cost more memory than the findings themselves on large scans. Large
/// logs render their results in chunks on the thread pool, a few chunks at a time, written
/// in order: the bytes are those of the one-go rendering.
pub(crate) fn render(report: &Report, config: &RenderConfig<'_>, out: &mut dyn io::Write) -> io::Result<()> {
    // serde_json writes many small pieces: a concrete buffer in front of the `dyn` writer
    // keeps them out of virtual calls.
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    let findings = report.findings();
    let used = used_rules(findings);
    let rule_index: BTreeMap<&str, usize> = used.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    if findings.len() < PARALLEL_FROM {
        let log = build_log(report, config, &used, Results { findings, rule_index: &rule_index });
        serde_json::to_writer_pretty(&mut out, &log)?;
    } else {
        render_large(report, config, &used, &rule_index, &mut out)?;
    }
    out.write_all(b"\n")?;
    out.flush()
}

fn render_large(
    report: &Report,
    config: &RenderConfig<'_>,
    used: &BTreeMap<&str, UsedRule<'_>>,
    rule_index: &BTreeMap<&str, usize>,
    out: &mut impl Write,
) -> io::Result<()> {
    // The log without results, split around its empty `results` array.
    let shell = serde_json::to_string_pretty(&build_log(
        report,
        config,
        used,
        Results { findings: &[], rule_index },
    ))?;
    // Keys are the only unescaped quotes, and only the run's `results` is at this depth.
    let at =
        shell.find(EMPTY_RESULTS).ok_or_else(|| io::Error::other("SARIF log without its results key"))?;
    out.write_all(&shell.as_bytes()[..at])?;
    out.write_all(b"\n      \"results\": [\n")?;
    write_in_chunks(
        report.findings(),
        BYTES_PER_RESULT,
        (0, 0),
        |chunk, buffer| render_chunk(chunk, rule_index, buffer),
        out,
    )?;
    out.write_all(b"\n      ]")?;
    out.write_all(&shell.as_bytes()[at + EMPTY_RESULTS.len()..])
}

/// Writes the results of `findings` into `out` as they appear in the log's `results` array:
/// indented to its depth, separated by `,\n`.
///
/// The results are written here rather than by serde_json's derived serializer, whose
/// escaping of every string byte by byte was about a tenth of a large scan's SARIF output:
/// strings go through [`json_text::string`], as in the JSON renderer. Results with a package
/// (image scans) go through serde_json. The unit tests compare both with the one-go
/// rendering.
fn render_chunk(
    findings: &[Finding],
    rule_index: &BTreeMap<&str, usize>,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    let mut uris = LastUri::default();
    for (i, finding) in findings.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b",\n");
        }
        // Every rule id of the findings is in the index: `used_rules` collected them all.
        let result = result(finding, rule_index[finding.rule.id.as_str()], &mut uris);
        if result.properties.package.is_some() {
            let mut text = Vec::new();
            serde_json::to_writer_pretty(&mut text, &[[[[result]]]])?;
            let inner = text
                .strip_prefix(NESTING_HEAD)
                .and_then(|t| t.strip_suffix(NESTING_TAIL))
                .ok_or_else(|| io::Error::other("SARIF result without its enclosing arrays"))?;
            out.extend_from_slice(inner);
        } else {
            write_result(&result, out)?;
        }
    }
    Ok(())
}

/// Appends `result` (without a package) at [`RESULT_DEPTH`], as pretty JSON has it.
fn write_result(result: &SarifResult<'_>, out: &mut Vec<u8>) -> io::Result<()> {
    let depth = RESULT_DEPTH;
    out.resize(out.len() + 2 * depth, b' ');
    out.push(b'{');
    key(out, depth + 1, "ruleId");
    string(out, result.rule_id)?;
    out.push(b',');
    key(out, depth + 1, "ruleIndex");
    number(out, result.rule_index);
    out.push(b',');
    key(out, depth + 1, "level");
    string(out, result.level)?;
    out.push(b',');
    key(out, depth + 1, "message");
    out.push(b'{');
    key(out, depth + 2, "text");
    string(out, result.message.text)?;
    newline(out, depth + 1);
    out.extend_from_slice(b"},");
    key(out, depth + 1, "locations");
    json_text::array(out, depth + 1, &result.locations, |out, location| {
        write_location(location, depth + 2, out)
    })?;
    out.push(b',');
    key(out, depth + 1, "partialFingerprints");
    out.push(b'{');
    for (i, (name, fingerprint)) in result.partial_fingerprints.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        key(out, depth + 2, name);
        string(out, fingerprint)?;
    }
    if !result.partial_fingerprints.is_empty() {
        newline(out, depth + 1);
    }
    out.extend_from_slice(b"},");
    key(out, depth + 1, "properties");
    out.push(b'{');
    let properties = &result.properties;
    key(out, depth + 2, "severity");
    // Severity names are upper-case ASCII words: nothing to escape.
    out.push(b'"');
    out.extend_from_slice(properties.severity.as_str().as_bytes());
    out.push(b'"');
    if let Some(object) = properties.object {
        out.push(b',');
        key(out, depth + 2, "object");
        json_text::object(out, object, depth + 2)?;
    }
    if let Some(fixed_version) = properties.fixed_version {
        out.push(b',');
        key(out, depth + 2, "fixedVersion");
        string(out, fixed_version)?;
    }
    newline(out, depth + 1);
    out.push(b'}');
    newline(out, depth);
    out.push(b'}');
    Ok(())
}

/// Appends `location` as a pretty JSON object whose braces are at `depth`.
fn write_location(location: &Location, depth: usize, out: &mut Vec<u8>) -> io::Result<()> {
    out.push(b'{');
    let mut first = true;
    if let Some(physical) = &location.physical_location {
        first = false;
        key(out, depth + 1, "physicalLocation");
        out.push(b'{');
        key(out, depth + 2, "artifactLocation");
        out.push(b'{');
        key(out, depth + 3, "uri");
        string(out, &physical.artifact_location.uri)?;
        newline(out, depth + 2);
        out.push(b'}');
        if let Some(region) = &physical.region {
            out.push(b',');
            key(out, depth + 2, "region");
            out.push(b'{');
            key(out, depth + 3, "startLine");
            number(out, region.start_line);
            if let Some(column) = region.start_column {
                out.push(b',');
                key(out, depth + 3, "startColumn");
                number(out, column);
            }
            newline(out, depth + 2);
            out.push(b'}');
        }
        newline(out, depth + 1);
        out.push(b'}');
    }
    if !location.logical_locations.is_empty() {
        if !first {
            out.push(b',');
        }
        first = false;
        key(out, depth + 1, "logicalLocations");
        json_text::array(out, depth + 1, &location.logical_locations, |out, logical| {
            out.push(b'{');
            if let Some(name) = &logical.name {
                key(out, depth + 3, "name");
                string(out, name)?;
                out.push(b',');
            }
            key(out, depth + 3, "fullyQualifiedName");
            string(out, &logical.fully_qualified_name)?;
            out.push(b',');
            key(out, depth + 3, "kind");
            string(out, logical.kind)?;
            newline(out, depth + 2);
            out.push(b'}');
            Ok(())
        })?;
    }
    if !first {
        newline(out, depth);
    }
    out.push(b'}');
    Ok(())
}

fn build_log<'r>(
    report: &'r Report,
    config: &RenderConfig<'r>,
    used: &BTreeMap<&'r str, UsedRule<'r>>,
    results: Results<'r>,
) -> Log<'r> {
    let rules = used.values().map(|rule| describe_rule(rule, config.rule_meta(&rule.rule.id))).collect();
    Log {
        schema: SARIF_SCHEMA,
        version: SARIF_VERSION,
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: TOOL_NAME,
                    version: config.tool_version,
                    information_uri: config.information_uri,
                    rules,
                },
            },
            invocations: [Invocation {
                execution_successful: report.errors.is_empty(),
                tool_execution_notifications: report.errors.iter().map(notification).collect(),
            }],
            column_kind: "unicodeCodePoints",
            results,
        }],
    }
}

/// A rule as its findings show it, and the highest severity it was reported with.
struct UsedRule<'r> {
    rule: &'r RuleRef,
    max_severity: Severity,
}

/// The distinct rules of `findings`, by id.
fn used_rules(findings: &[Finding]) -> BTreeMap<&str, UsedRule<'_>> {
    let mut used: BTreeMap<&str, UsedRule<'_>> = BTreeMap::new();
    for finding in findings {
        used.entry(&finding.rule.id)
            .and_modify(|rule| rule.max_severity = rule.max_severity.max(finding.severity))
            .or_insert(UsedRule { rule: &finding.rule, max_severity: finding.severity });
    }
    used
}

fn describe_rule<'r>(used: &UsedRule<'r>, meta: Option<&'static RuleMeta>) -> ReportingDescriptor<'r> {
    let rule = used.rule;
    let Some(meta) = meta else {
        // A rule without static metadata (a Rego policy, or no lookup): say what the
        // findings say, and rank it by the worst finding.
        let title = (!rule.title.is_empty()).then_some(rule.title.as_str());
        return ReportingDescriptor {
            id: &rule.id,
            name: title.map(identifier_name),
            short_description: title.map(|title| MultiformatMessage::text(title.to_string())),
            full_description: None,
            help: None,
            default_configuration: Configuration { level: level(used.max_severity) },
            properties: RuleProperties {
                tags: vec!["security".to_string()],
                security_severity: security_severity(used.max_severity),
                aliases: rule.aliases.clone(),
            },
        };
    };

    let doc = doc_markdown(meta.doc);
    let summary = first_paragraph(&doc);
    let mut identifiers = Vec::new();
    if !meta.aliases.is_empty() {
        identifiers.push(format!("Aliases: {}.", meta.aliases.join(", ")));
    }
    if !meta.frameworks.is_empty() {
        let labels: Vec<String> = meta.frameworks.iter().map(|f| f.label()).collect();
        identifiers.push(format!("Frameworks: {}.", labels.join(", ")));
    }
    let help = if doc.is_empty() && identifiers.is_empty() {
        None
    } else {
        // Markdown needs two trailing spaces for a line break.
        let text = join_non_empty(&[&doc, &identifiers.join("\n")]);
        let markdown = join_non_empty(&[&doc, &identifiers.join("  \n")]);
        Some(MultiformatMessage { text, markdown: Some(markdown) })
    };

    let mut tags = vec!["security".to_string(), meta.category.as_str().to_string()];
    for framework in meta.frameworks {
        let label = framework.label();
        if !tags.contains(&label) {
            tags.push(label);
        }
    }

    ReportingDescriptor {
        id: &rule.id,
        name: Some(identifier_name(meta.title)),
        short_description: Some(MultiformatMessage::text(meta.title.to_string())),
        full_description: summary.map(MultiformatMessage::text),
        help,
        default_configuration: Configuration { level: level(meta.severity) },
        properties: RuleProperties {
            tags,
            security_severity: security_severity(meta.severity),
            aliases: meta.aliases.iter().map(|alias| alias.to_string()).collect(),
        },
    }
}

fn result<'r>(finding: &'r Finding, rule_index: usize, uris: &mut LastUri<'r>) -> SarifResult<'r> {
    let path = &finding.location.path;
    SarifResult {
        rule_id: &finding.rule.id,
        rule_index,
        level: level(finding.severity),
        message: Message { text: &finding.message },
        locations: vec![location(
            path,
            uris,
            finding.location.line,
            finding.location.column,
            finding.object.as_deref(),
        )],
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, finding.fingerprint.as_str())]),
        properties: ResultProperties {
            severity: finding.severity,
            object: finding.object.as_deref(),
            package: finding.package.as_deref(),
            fixed_version: finding.fixed_version.as_deref(),
        },
    }
}

fn notification(error: &ReportError) -> Notification<'_> {
    let locations = if error.path.is_empty() {
        Vec::new()
    } else {
        vec![location(&error.path, &mut LastUri::default(), error.line, None, None)]
    };
    Notification { level: "error", message: Message { text: &error.message }, locations }
}

/// A file position, or a logical location for live objects.
fn location<'r>(
    path: &'r str,
    uris: &mut LastUri<'r>,
    line: Option<u32>,
    column: Option<u32>,
    object: Option<&ObjectRef>,
) -> Location {
    if path.starts_with(CLUSTER_SCHEME) {
        let fully_qualified_name = match object {
            Some(object) => format!("{}/{}", path.trim_end_matches('/'), object.display()),
            None => path.to_string(),
        };
        return Location {
            physical_location: None,
            logical_locations: vec![LogicalLocation {
                name: object.map(|object| object.name.clone()),
                fully_qualified_name,
                kind: "resource",
            }],
        };
    }
    // SARIF lines and columns start at 1; a 0 would make the log invalid.
    let line = line.filter(|&line| line > 0);
    let region =
        line.map(|start_line| Region { start_line, start_column: column.filter(|&column| column > 0) });
    Location {
        physical_location: Some(PhysicalLocation {
            artifact_location: ArtifactLocation { uri: uris.of(path) },
            region,
        }),
        logical_locations: Vec::new(),
    }
}

/// The [`artifact_uri`] of the last path asked for, kept: findings come sorted by file, so
/// most ask for the same path as the one before.
#[derive(Default)]
struct LastUri<'r> {
    last: Option<(&'r str, String)>,
}

impl<'r> LastUri<'r> {
    fn of(&mut self, path: &'r str) -> String {
        match &self.last {
            Some((last, uri)) if *last == path => uri.clone(),
            _ => {
                let uri = artifact_uri(path);
                self.last = Some((path, uri.clone()));
                uri
            }
        }
    }
}

/// SARIF `level` of a severity.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// The score GitHub code scanning reads from `properties.security-severity`: it shows
/// over 9.0 as critical, 7.0 to 8.9 as high, 4.0 to 6.9 as medium and below as low.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
    }
}

/// The URI of a file path as given: relative paths stay relative (forward slashes, no
/// leading `./`), absolute paths become `file:` URIs, `-` (stdin) becomes `stdin`.
/// Characters a URI cannot hold are percent-encoded.
fn artifact_uri(path: &str) -> String {
    if path == "-" {
        return "stdin".to_string();
    }
    let path = path.replace('\\', "/");
    let mut relative = path.as_str();
    while let Some(rest) = relative.strip_prefix("./") {
        relative = rest.trim_start_matches('/');
    }
    let bytes = path.as_bytes();
    if path.starts_with('/') {
        format!("file://{}", percent_encode(&path, true))
    } else if bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && &bytes[1..3] == b":/" {
        // A Windows drive path (`C:\dir\file.yaml`).
        format!("file:///{}", percent_encode(&path, true))
    } else {
        // `:` is encoded in relative paths: in the first segment it would read as a scheme.
        percent_encode(relative, false)
    }
}

/// `text` with every byte outside the URI's unreserved set, `/`, `@` and the sub-delimiters
/// written as `%XX`; `:` is kept only when `keep_colon`.
fn percent_encode(text: &str, keep_colon: bool) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || b"-._~/@!$&'()*+,;=".contains(&byte)
            || (keep_colon && byte == b':');
        if keep {
            encoded.push(char::from(byte));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            encoded.push('%');
            encoded.push(char::from(HEX[usize::from(byte >> 4)]));
            encoded.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
    }
    encoded
}

/// A rule's doc comment as Markdown: the one space each `///` line keeps is removed.
fn doc_markdown(doc: &str) -> String {
    let lines: Vec<&str> = doc.lines().map(|line| line.strip_prefix(' ').unwrap_or(line)).collect();
    lines.join("\n").trim().to_string()
}

/// The first paragraph of Markdown that is not a heading, on one line.
fn first_paragraph(markdown: &str) -> Option<String> {
    markdown
        .split("\n\n")
        .map(|block| block.lines().filter(|line| !line.trim_start().starts_with('#')).collect::<Vec<_>>())
        .find(|lines| lines.iter().any(|line| !line.trim().is_empty()))
        .map(|lines| lines.iter().map(|line| line.trim()).collect::<Vec<_>>().join(" ").trim().to_string())
}

/// The parts that are not empty, as paragraphs.
fn join_non_empty(parts: &[&str]) -> String {
    parts.iter().filter(|part| !part.is_empty()).copied().collect::<Vec<_>>().join("\n\n")
}

/// `Privileged container` → `PrivilegedContainer`: SARIF's `name` is an identifier-like
/// form of the title.
fn identifier_name(title: &str) -> String {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
            first + chars.as_str()
        })
        .collect()
}

// The subset of the SARIF 2.1.0 object model this renderer writes.

#[derive(Serialize)]
struct Log<'r> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'r>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'r> {
    tool: Tool<'r>,
    invocations: [Invocation<'r>; 1],
    column_kind: &'static str,
    results: Results<'r>,
}

/// The `results` array, serialized straight from the findings: each SARIF result is built,
/// written and dropped in turn.
struct Results<'r> {
    findings: &'r [Finding],
    /// `ruleIndex` of each rule id, the position of its `tool.driver.rules[]` entry.
    rule_index: &'r BTreeMap<&'r str, usize>,
}

impl Serialize for Results<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut uris = LastUri::default();
        serializer.collect_seq(self.findings.iter().map(|finding| {
            // Every rule id of the findings is in the index: `used_rules` collected them all.
            result(finding, self.rule_index[finding.rule.id.as_str()], &mut uris)
        }))
    }
}

#[derive(Serialize)]
struct Tool<'r> {
    driver: Driver<'r>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'r> {
    name: &'static str,
    version: &'r str,
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<&'r str>,
    rules: Vec<ReportingDescriptor<'r>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor<'r> {
    id: &'r str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    short_description: Option<MultiformatMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_description: Option<MultiformatMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<MultiformatMessage>,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct MultiformatMessage {
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    markdown: Option<String>,
}

impl MultiformatMessage {
    fn text(text: String) -> Self {
        MultiformatMessage { text, markdown: None }
    }
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<String>,
    #[serde(rename = "security-severity")]
    security_severity: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation<'r> {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification<'r>>,
}

#[derive(Serialize)]
struct Notification<'r> {
    level: &'static str,
    message: Message<'r>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location>,
}

#[derive(Serialize)]
struct Message<'r> {
    text: &'r str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'r> {
    rule_id: &'r str,
    rule_index: usize,
    level: &'static str,
    message: Message<'r>,
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, &'r str>,
    properties: ResultProperties<'r>,
}

#[derive(Serialize)]
struct ResultProperties<'r> {
    severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<&'r ObjectRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    package: Option<&'r Package>,
    #[serde(rename = "fixedVersion", skip_serializing_if = "Option::is_none")]
    fixed_version: Option<&'r str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<PhysicalLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<LogicalLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    fully_qualified_name: String,
    kind: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunks::{CHUNK, CHUNKS_PER_THREAD};
    use crate::testdata::varied_findings;

    /// The log as one serde_json rendering of the whole log writes it.
    fn in_one_go(report: &Report, config: &RenderConfig<'_>) -> Vec<u8> {
        let findings = report.findings();
        let used = used_rules(findings);
        let rule_index: BTreeMap<&str, usize> = used.keys().enumerate().map(|(i, id)| (*id, i)).collect();
        let log = build_log(report, config, &used, Results { findings, rule_index: &rule_index });
        let mut out = serde_json::to_vec_pretty(&log).unwrap();
        out.push(b'\n');
        out
    }

    #[test]
    fn large_logs_render_exactly_as_in_one_go() {
        let in_flight = rayon::current_num_threads() * CHUNKS_PER_THREAD;
        let mut config = RenderConfig::new("1.2.3");
        config.information_uri = Some("https://example.invalid/kubesecops");
        for n in [PARALLEL_FROM, PARALLEL_FROM + CHUNK * in_flight + 7, PARALLEL_FROM + 3 * CHUNK + 5] {
            for errors in [Vec::new(), vec![ReportError::at("bad.yaml", Some(3), "x \"y\"")]] {
                let report = Report::with_findings(varied_findings(n), errors);
                let mut parallel = Vec::new();
                render(&report, &config, &mut parallel).unwrap();
                assert!(
                    parallel == in_one_go(&report, &config),
                    "{n} findings: the parallel rendering differs"
                );
            }
        }
    }

    #[test]
    fn results_written_by_hand_are_those_serde_json_writes() {
        // Escapes in every string, live objects, absolute URIs, lines and columns or not,
        // objects with and without a namespace, and results with a package (serde_json's).
        let findings = varied_findings(2 * 23 * 13);
        let used = used_rules(&findings);
        let rule_index: BTreeMap<&str, usize> = used.keys().enumerate().map(|(i, id)| (*id, i)).collect();
        let mut ours = Vec::new();
        render_chunk(&findings, &rule_index, &mut ours).unwrap();
        let nested =
            serde_json::to_vec_pretty(&[[[Results { findings: &findings, rule_index: &rule_index }]]]);
        let nested = nested.unwrap();
        let expected = nested.strip_prefix(NESTING_HEAD).and_then(|t| t.strip_suffix(NESTING_TAIL)).unwrap();
        if ours != expected {
            let at = ours.iter().zip(expected).position(|(a, b)| a != b).unwrap_or(0);
            let from = at.saturating_sub(300);
            let (ours, expected) =
                (String::from_utf8_lossy(&ours[from..]), String::from_utf8_lossy(&expected[from..]));
            panic!("differs at byte {at}:\n{ours}\n---\n{expected}");
        }
        let text = String::from_utf8(ours).unwrap();
        assert!(text.contains("\"logicalLocations\"") && text.contains("\"startColumn\": 7"));
        assert!(text.contains("\"package\"") && text.contains("\\r\\n"), "both paths and escapes were used");
    }

    #[test]
    fn uris_are_relative_slashed_and_encoded() {
        assert_eq!(artifact_uri("deploy/web.yaml"), "deploy/web.yaml");
        assert_eq!(artifact_uri("./deploy/web.yaml"), "deploy/web.yaml");
        assert_eq!(artifact_uri(".//./deploy/web.yaml"), "deploy/web.yaml");
        assert_eq!(artifact_uri("deploy\\web.yaml"), "deploy/web.yaml");
        assert_eq!(artifact_uri("-"), "stdin");
        assert_eq!(artifact_uri("my charts/a%b#c?.yaml"), "my%20charts/a%25b%23c%3F.yaml");
        assert_eq!(artifact_uri("c:web.yaml"), "c%3Aweb.yaml");
        assert_eq!(artifact_uri("dir/ünï.yaml"), "dir/%C3%BCn%C3%AF.yaml");
        assert_eq!(artifact_uri("/srv/k8s/web.yaml"), "file:///srv/k8s/web.yaml");
        assert_eq!(artifact_uri("C:\\k8s\\web.yaml"), "file:///C:/k8s/web.yaml");
        assert_eq!(artifact_uri("../base/web.yaml"), "../base/web.yaml");
    }

    #[test]
    fn levels_and_scores_follow_severity() {
        assert_eq!(Severity::ALL.map(level), ["note", "warning", "error", "error"]);
        let scores = Severity::ALL.map(|s| security_severity(s).parse::<f32>().unwrap());
        // GitHub's bands: low < 4.0 <= medium < 7.0 <= high < 9.0 < critical.
        assert!(scores[0] < 4.0 && (4.0..7.0).contains(&scores[1]));
        assert!((7.0..9.0).contains(&scores[2]) && scores[3] > 9.0);
    }

    #[test]
    fn identifier_names_and_paragraphs() {
        assert_eq!(identifier_name("Privileged container"), "PrivilegedContainer");
        assert_eq!(identifier_name("hostPath volume (read-write)"), "HostPathVolumeReadWrite");
        let doc = " ## What it checks\n Containers whose\n `privileged` is set.\n\n ## Why\n Because.\n";
        assert_eq!(
            first_paragraph(&doc_markdown(doc)).as_deref(),
            Some("Containers whose `privileged` is set.")
        );
        assert_eq!(first_paragraph("## Only a heading"), None);
    }
}
