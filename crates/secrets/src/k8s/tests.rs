use std::sync::Arc;

use kubesecops_k8s::loader::load_text;

use super::*;
use crate::builtin;

/// A fake GitHub token: the built-in rule reports it by its shape.
const TOKEN: &str = "ghp_FAKE0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p";

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn scan(text: &str) -> Vec<Finding> {
    let scanner = Scanner::new(builtin::ruleset());
    let loaded = load_text(Arc::from("deploy.yaml"), text);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    loaded.objects.iter().flat_map(|obj| scan_object(&scanner, obj)).collect()
}

/// (line, rule id, message) of each finding; no message may hold the token.
fn summary(findings: &[Finding]) -> Vec<(u32, String, String)> {
    for f in findings {
        assert!(!f.message.contains(TOKEN), "{}", f.message);
    }
    findings.iter().map(|f| (f.location.line.unwrap_or(0), f.rule.id.clone(), f.message.clone())).collect()
}

#[test]
fn base64_round_trips_and_rejects_non_base64() {
    for text in ["", "a", "ab", "abc", "abcd", TOKEN] {
        assert_eq!(decode_base64(&base64(text.as_bytes())).as_deref(), Some(text.as_bytes()));
    }
    assert_eq!(decode_base64("aGVs\nbG8=").as_deref(), Some(&b"hello"[..]));
    assert_eq!(decode_base64("not base64!"), None);
    assert_eq!(decode_base64("ab=c"), None);
}

#[test]
fn secret_data_is_decoded_and_string_data_read() {
    let text = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ci\n  namespace: build\ndata:\n  other: {}\n  token: {}\nstringData:\n  second: \"{TOKEN}\"\n",
        base64(b"plain"),
        base64(TOKEN.as_bytes())
    );
    let found = summary(&scan(&text));
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, 8);
    assert_eq!(found[0].1, "KSO-SEC-github-pat");
    assert!(found[0].2.contains("data.token") && found[0].2.contains("ghp_****"), "{}", found[0].2);
    assert_eq!(found[1].0, 10);
    assert!(found[1].2.contains("stringData.second"));
    let findings = scan(&text);
    let object = findings[0].object.as_deref().unwrap();
    assert_eq!(
        (object.kind.as_str(), object.namespace.as_str(), object.name.as_str()),
        ("Secret", "build", "ci")
    );
    assert_eq!(findings[1].location.column, Some(12), "the column of the token inside the quotes");
}

#[test]
fn env_values_configmaps_and_block_scalars_point_at_their_line() {
    let text = format!(
        "apiVersion: batch/v1
kind: CronJob
metadata:
  name: sync
spec:
  schedule: '@daily'
  jobTemplate:
    spec:
      template:
        metadata:
          annotations:
            note: \"token {TOKEN}\"
        spec:
          containers:
          - name: sync
            image: sync:1
            env:
            - name: LOG_LEVEL
              value: info
            - name: GH
              value: {TOKEN}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  app.ini: |
    [server]
    port = 80
    token = {TOKEN}
"
    );
    let found = summary(&scan(&text));
    let lines: Vec<u32> = found.iter().map(|f| f.0).collect();
    assert_eq!(lines, [12, 21, 31], "{found:?}");
    assert!(found[0].2.contains("template.metadata.annotations[note]"));
    assert!(found[1].2.contains("containers[sync].env[GH]"));
    assert!(found[2].2.contains("data.app.ini"));
}

#[test]
fn last_applied_configuration_is_parsed_and_reported_at_the_annotation() {
    let embedded = format!(
        r#"{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"ci"}},"data":{{"token":"{}"}}}}"#,
        base64(TOKEN.as_bytes())
    );
    let text = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ci\n  annotations:\n    {LAST_APPLIED}: '{embedded}'\ntype: Opaque\n"
    );
    let found = summary(&scan(&text));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, 6);
    assert!(found[0].2.contains("data.token") && found[0].2.contains(LAST_APPLIED), "{}", found[0].2);
}

#[test]
fn clean_objects_give_nothing() {
    let text = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\ndata:\n  ca.crt: {}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: web:1\n        env:\n        - name: TOKEN_FILE\n          value: /run/secrets/token\n",
        base64(b"not a key")
    );
    assert!(scan(&text).is_empty());
}
