//! Differential tests: the fast path for plain block YAML must build exactly the tree the full
//! parser builds (values, positions, errors), on generated documents in many styles and on
//! random mutations of them. `fuzz/fuzz_targets/fast_path.rs` does the same with fuzzed input.

use kubesecops_corpus::Rng;
use kubesecops_k8s::node::{fast_path_documents, parse_documents, parse_documents_full_parser};

fn assert_same(text: &str) {
    let fast = parse_documents(text);
    let full = parse_documents_full_parser(text);
    assert_eq!(fast, full, "fast path and full parser differ on:\n{text}\n---- {text:?}");
}

const KEYS: &[&str] = &[
    "name",
    "app.kubernetes.io/name",
    "a b",
    "\"quoted key\"",
    "'single'",
    "x-1",
    "-dash",
    "über",
    "k#h",
    "port",
];
const SCALARS: &[&str] = &[
    "plain",
    "two words",
    "\"double\"",
    "'single ''quoted'''",
    "\"esc \\\" \\\\ \\n \\t \\u00e9 \\x41 \\U0001F600\"",
    "\"\"",
    "''",
    "8080",
    "-1",
    "0755",
    "true",
    "yes",
    "~",
    "null",
    "1.5e3",
    "http://example.com/a?b=c",
    "*/15 * * * *",
    "value # comment",
    "a#b",
    "café",
    "[a, b, \"c\"]",
    "[]",
    "{}",
    "{a: 1, \"b\": [x, y], c: {d: e}}",
    "[169.254.169.254/32, -x]",
    "key: nested",
    "- item",
    "&anchor x",
    "!!str tagged",
    "\"unterminated",
    "[open",
    "a: b: c",
    ">\n  folded",
    "|\n  literal\n  lines\n\n  after blank",
    "|-\n  stripped",
    "|+\n  kept\n\n",
    "| # comment\n    more indented\n  less",
    "|\n\n  leading blank",
    "|2\n   indicator",
    "---",
    "...",
    "{a: 1, a: 2}",
    "[a, ]",
    "{a}",
    "\"json\":\"style\"",
];

/// A random block document in the styles manifests use, with a few oddities.
fn document(rng: &mut Rng, depth: usize, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    let entries = 1 + rng.below(4);
    for _ in 0..entries {
        let key = rng.pick(KEYS);
        match rng.below(if depth > 3 { 2 } else { 6 }) {
            0 | 1 => {
                let value = rng.pick(SCALARS).replace('\n', &format!("\n{pad}"));
                out.push_str(&format!("{pad}{key}: {value}\n"));
            }
            2 => {
                out.push_str(&format!("{pad}{key}:\n"));
                let step = 1 + rng.below(3) as usize;
                document(rng, depth + 1, indent + step, out);
            }
            3 => {
                // A sequence, indented or not, of scalars, compact mappings or nested sequences.
                out.push_str(&format!("{pad}{key}:{}\n", if rng.chance(10) { " # c" } else { "" }));
                let seq_indent = if rng.chance(50) { indent } else { indent + 2 };
                let seq_pad = " ".repeat(seq_indent);
                for _ in 0..1 + rng.below(3) {
                    match rng.below(5) {
                        0 => out
                            .push_str(&format!("{seq_pad}- {}\n", rng.pick(SCALARS).lines().next().unwrap())),
                        1 => {
                            out.push_str(&format!("{seq_pad}- "));
                            let mut inner = String::new();
                            document(rng, depth + 1, seq_indent + 2, &mut inner);
                            out.push_str(inner.trim_start_matches(' '));
                        }
                        2 => out.push_str(&format!(
                            "{seq_pad}-{}\n",
                            if rng.chance(30) { "  # empty" } else { "" }
                        )),
                        3 => out.push_str(&format!("{seq_pad}- - {}\n{seq_pad}  - b\n", rng.pick(KEYS))),
                        _ => {
                            out.push_str(&format!("{seq_pad}-\n"));
                            document(rng, depth + 1, seq_indent + 2, out);
                        }
                    }
                }
            }
            4 => out.push_str(&format!("{pad}# a comment\n\n")),
            _ => out.push_str(&format!("{pad}{key}:    \n")),
        }
    }
}

/// Small random edits: the fast path must either give the same result or step aside.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(3) {
        if chars.is_empty() {
            break;
        }
        let at = rng.below(chars.len() as u64) as usize;
        let inserted = *rng.pick(&[' ', '\n', '-', ':', '#', '\t', '"', '\'', '[', '{', '|', 'x', '\r', 'é']);
        match rng.below(3) {
            0 => {
                chars.remove(at);
            }
            1 => chars.insert(at, inserted),
            _ => chars[at] = inserted,
        }
    }
    chars.into_iter().collect()
}

#[test]
fn generated_documents_parse_identically() {
    let mut rng = Rng::new(7);
    let (mut fast, mut all) = (0, 0);
    for round in 0..4000 {
        let mut text = String::new();
        if rng.chance(20) {
            text.push_str("---\n");
        }
        let root_indent = if rng.chance(10) { 2 } else { 0 };
        document(&mut rng, 0, root_indent, &mut text);
        if rng.chance(20) {
            text.push_str("---\nsecond: doc\n...\n");
        }
        assert_same(&text);
        let (f, a) = fast_path_documents(&text);
        (fast, all) = (fast + f, all + a);
        if round % 2 == 0 {
            let mutated = mutate(&mut rng, &text);
            assert_same(&mutated);
            let (f, a) = fast_path_documents(&mutated);
            (fast, all) = (fast + f, all + a);
        }
    }
    // The comparison means something only when the fast path takes a good share of them.
    eprintln!("fast path took {fast} of {all} generated documents");
    assert!(fast * 4 > all, "fast path took only {fast} of {all} documents");
}

#[test]
fn hand_picked_edge_cases_parse_identically() {
    let cases = [
        "a:\nb: 1\nc:\n  d: x\ne:\n- f\n- g:\n  h: |\n    lit\n\n  i: \"q\"\nj: [k, {l: m}]\nn:\n# c\n",
        "a :\nb : 1\n\"c\":\nd:   # x\ne:\n  - x\n  -\n  - - y\n    - z\n",
        "e:\n-\n- f\n",
        "e:\n- # comment\n- f\n",
        "- a\n- b: 1\n  c:\n- |\n  t\n",
        "  indented: root\n  second: 2\n",
        "a: b\n  c\n",
        "a: b\n   # more indented comment\nc: d\n",
        "a: |\n    x\n  b: 1\n",
        "a: |+\n  x\n\n\nb: 1\n",
        "a: |-\n  x\n\n  y\n",
        "a: |\n  x\n   \n  y\n",
        "a: |\n  x\n      \n",
        "a: 1\na: 2\n",
        "a: [1, 2]\n- b\n",
        "a:\n  - b\n- c\n",
        "- a: 1\n b: 2\n",
        "{\"a\": \"b\"}\n",
        "a: \"x\"y\n",
        "a: 'it''s'\n",
        "a: \"\\q\"\n",
        "a: b # c: d\n",
        "key: value\n...\n",
        "---\nkey: value\n",
        "--- # c\nkey: value\n",
        "--- text\n",
        "a: -\n",
        "a: - b\n",
        "a:\n -\n  b\n",
        "-\n a: 1\n",
        "- [a]\n- {b: c}\n",
        "a: [b,c]\n",
        "a: [b , c ]\n",
        "a: {b: c,d: e}\n",
        "a: ü: b\n",
        "ü: é\n- x\n",
        "a:\n  é: |\n    ü\n",
    ];
    for case in cases {
        assert_same(case);
    }
}

#[test]
fn the_benchmark_corpus_takes_the_fast_path_and_parses_identically() {
    let mut fast_total = 0;
    let mut total = 0;
    for (_, text) in kubesecops_corpus::corpus(600, 100, 3) {
        assert_same(&text);
        let (fast, all) = fast_path_documents(&text);
        fast_total += fast;
        total += all;
    }
    assert_eq!(fast_total, total, "every generated manifest is in the fast subset");
}
