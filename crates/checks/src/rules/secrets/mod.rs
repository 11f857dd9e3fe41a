//! Rules about secrets in configuration (`KSO-S`): credentials written into env vars and
//! ConfigMaps, Secrets handed to processes as environment variables, Secret values in
//! manifests, how Secrets reach pods (file modes, secret managers, long-lived tokens) and
//! how the control plane protects them (encryption at rest, etcd client authentication).
//!
//! The detection here is deliberately heuristic and conservative: a name must look like a
//! credential *and* its value must look like a literal, or the value must match one of a few
//! unmistakable shapes (a PEM private key, a URL with an embedded password, an AWS access key
//! id). Messages name keys, never values.

use kubesecops_k8s::Node;

use crate::rule::{Check, RuleDef};

pub mod apiserver_encryption;
pub mod configmap_credentials;
pub mod control_plane;
pub mod encryption_identity;
pub mod env_from_configmap;
pub mod env_literal;
pub mod etcd_client_auth;
pub mod secret_env;
pub mod secret_manager;
pub mod secret_string_data;
pub mod secret_volume_mode;
pub mod service_account_token_secret;

/// The rules of this family, in id order.
pub static RULES: &[RuleDef] = &[
    RuleDef { meta: &env_literal::META, check: Check::Object(env_literal::check) },
    RuleDef { meta: &configmap_credentials::META, check: Check::Object(configmap_credentials::check) },
    RuleDef { meta: &secret_env::META, check: Check::Object(secret_env::check) },
    RuleDef { meta: &secret_string_data::META, check: Check::Object(secret_string_data::check) },
    RuleDef { meta: &env_from_configmap::META, check: Check::Object(env_from_configmap::check) },
    RuleDef { meta: &secret_volume_mode::META, check: Check::Object(secret_volume_mode::check) },
    RuleDef { meta: &secret_manager::META, check: Check::Object(secret_manager::check) },
    RuleDef {
        meta: &service_account_token_secret::META,
        check: Check::Object(service_account_token_secret::check),
    },
    RuleDef { meta: &apiserver_encryption::META, check: Check::Object(apiserver_encryption::check) },
    RuleDef { meta: &encryption_identity::META, check: Check::Object(encryption_identity::check) },
    RuleDef { meta: &etcd_client_auth::META, check: Check::Object(etcd_client_auth::check) },
];

/// Words naming a credential when a name part equals them or ends with them (`DBPASSWORD`).
const CREDENTIAL_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWORDS",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "TOKENS",
    "APIKEY",
    "PRIVATEKEY",
    "ACCESSKEY",
    "SECRETKEY",
    "AUTHKEY",
    "CREDENTIAL",
    "CREDENTIALS",
];

/// Abbreviations naming a credential only as a whole part (they occur inside ordinary words).
const CREDENTIAL_ABBREVIATIONS: &[&str] = &["PASS", "PWD", "PSK"];

/// Parts that make a following `KEY` a credential: `API_KEY`, `PRIVATE_KEY`, `SIGNING_KEY`.
const KEY_QUALIFIERS: &[&str] = &[
    "API",
    "ACCESS",
    "PRIVATE",
    "SECRET",
    "SIGNING",
    "ENCRYPTION",
    "MASTER",
    "AUTH",
    "CLIENT",
    "JWT",
    "SESSION",
    "LICENSE",
    "HMAC",
    "SSH",
    "CRYPT",
];

/// Last parts that turn a name into metadata *about* a credential (where it is, what it is
/// called, how long it lives, whether it is on) rather than the credential itself.
const METADATA_SUFFIXES: &[&str] = &[
    "FILE",
    "PATH",
    "DIR",
    "NAME",
    "URL",
    "URI",
    "ENDPOINT",
    "HOST",
    "PORT",
    "ID",
    "LENGTH",
    "LEN",
    "SIZE",
    "MIN",
    "MAX",
    "TTL",
    "EXPIRY",
    "EXPIRATION",
    "EXPIRES",
    "LIFETIME",
    "TIMEOUT",
    "DURATION",
    "SECONDS",
    "HEADER",
    "TYPE",
    "KIND",
    "MODE",
    "ENABLED",
    "ENABLE",
    "DISABLED",
    "REQUIRED",
    "REF",
    "REGION",
    "VERSION",
    "ALGORITHM",
    "ALG",
    "FORMAT",
    "POLICY",
    "ISSUER",
    "AUDIENCE",
    "SCOPE",
    "SCOPES",
    "PREFIX",
    "FIELD",
    "PARAM",
    "PROVIDER",
    "STORE",
    "MANAGER",
    "ROTATION",
    "HASH",
    "COUNT",
    "RETRIES",
];

/// Splits a name into upper-cased parts at non-alphanumeric characters and camelCase humps:
/// `db.adminPassword` gives `DB`, `ADMIN`, `PASSWORD`; `APIKey` gives `API`, `KEY`.
fn name_parts(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    for word in name.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        let chars: Vec<char> = word.chars().collect();
        let mut start = 0;
        for i in 1..chars.len() {
            let hump = chars[i].is_ascii_uppercase()
                && (chars[i - 1].is_ascii_lowercase()
                    || chars[i - 1].is_ascii_digit()
                    || (chars[i - 1].is_ascii_uppercase()
                        && chars.get(i + 1).is_some_and(|c| c.is_ascii_lowercase())));
            if hump {
                parts.push(chars[start..i].iter().collect::<String>().to_ascii_uppercase());
                start = i;
            }
        }
        parts.push(chars[start..].iter().collect::<String>().to_ascii_uppercase());
    }
    parts
}

/// Whether a variable or key name says it holds a credential: a part is (or ends with) a
/// credential word, is a credential abbreviation in a longer name, or is `KEY` after a
/// qualifier such as `API`, while the last part is not a metadata word (`_FILE`, `_PATH`,
/// `_NAME`, `_ID`, `_TTL`, ...).
pub fn credential_name(name: &str) -> bool {
    let parts = name_parts(name);
    let Some(last) = parts.last() else { return false };
    if METADATA_SUFFIXES.contains(&last.as_str()) {
        return false;
    }
    parts.iter().enumerate().any(|(i, part)| {
        CREDENTIAL_WORDS.iter().any(|w| part.ends_with(w))
            || (parts.len() > 1 && CREDENTIAL_ABBREVIATIONS.contains(&part.as_str()))
            || (part == "KEY" && i > 0 && KEY_QUALIFIERS.contains(&parts[i - 1].as_str()))
    })
}

/// Whether a value looks like a literal credential rather than a reference or a setting:
/// non-empty, not a substitution (`$(VAR)`, `${VAR}`, `{{ template }}`), not a placeholder
/// (`<your-key>`), not a path, a boolean word or a plain number.
pub fn literal_value(value: &str) -> bool {
    let value = value.trim();
    let reference = ["$(", "${", "{{"].iter().any(|p| value.contains(p));
    let placeholder = value.starts_with('<') && value.ends_with('>');
    let setting = value.starts_with('/')
        || value.bytes().all(|b| b.is_ascii_digit())
        || ["true", "false", "yes", "no", "on", "off", "none", "null", "enabled", "disabled"]
            .iter()
            .any(|w| value.eq_ignore_ascii_case(w));
    !(value.is_empty() || reference || placeholder || setting)
}

/// A value shape that is a credential whatever its name, with a description for messages.
pub fn credential_shape(value: &str) -> Option<&'static str> {
    if value.contains("-----BEGIN") && value.contains("PRIVATE KEY-----") {
        return Some("a private key");
    }
    if value.lines().any(url_with_password) {
        return Some("a URL with an embedded password");
    }
    let aws_key = value.split(|c: char| !c.is_ascii_alphanumeric()).any(|word| {
        word.len() == 20
            && (word.starts_with("AKIA") || word.starts_with("ASIA"))
            && word.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    });
    aws_key.then_some("an AWS access key id")
}

/// `scheme://user:password@host...` with a real (non-placeholder) password.
fn url_with_password(line: &str) -> bool {
    line.match_indices("://").any(|(at, _)| {
        let rest = &line[at + 3..];
        let authority = rest.split(['/', '?', '#', ' ', '"', '\'']).next().unwrap_or("");
        let Some((userinfo, _host)) = authority.rsplit_once('@') else { return false };
        userinfo.split_once(':').is_some_and(|(_, password)| literal_value(password))
    })
}

/// The string items of a container's `env` list as (entry, name) pairs.
fn env_entries(container: &Node) -> impl Iterator<Item = (&Node, &str)> {
    container
        .get("env")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| Some((entry, entry.get("name")?.as_str()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_hold_credentials() {
        for name in [
            "DB_PASSWORD",
            "MYSQL_ROOT_PASSWORD",
            "dbPassword",
            "api-key",
            "APIKey",
            "STRIPE_SECRET_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "GITHUB_TOKEN",
            "client_secret",
            "DB_PASS",
            "REDIS_PWD",
            "SIGNING_KEY",
            "spring.datasource.password",
        ] {
            assert!(credential_name(name), "{name}");
        }
        for name in [
            "PWD",
            "PASSWORD_FILE",
            "TOKEN_URL",
            "SECRET_NAME",
            "AWS_ACCESS_KEY_ID",
            "TOKENIZER_MODEL",
            "PASSWORD_MIN_LENGTH",
            "KEY",
            "CACHE_KEY",
            "BYPASS_CACHE",
            "COMPASS_HOST",
            "LOG_LEVEL",
            "",
        ] {
            assert!(!credential_name(name), "{name}");
        }
    }

    #[test]
    fn literal_values_and_shapes() {
        assert!(literal_value("hunter2"));
        for v in [
            "",
            "  ",
            "$(OTHER)",
            "${DB_PASS}",
            "{{ .Values.pw }}",
            "<your-key>",
            "/run/secrets/pw",
            "true",
            "8",
        ] {
            assert!(!literal_value(v), "{v:?}");
        }
        assert_eq!(
            credential_shape("postgres://app:s3cret@db:5432/app"),
            Some("a URL with an embedded password")
        );
        assert_eq!(credential_shape("postgres://app:${PW}@db/app"), None);
        assert_eq!(credential_shape("https://example.com/a:b@c"), None);
        assert_eq!(credential_shape("id=AKIAABCDEFGHIJKLMNOP"), Some("an AWS access key id"));
        assert_eq!(credential_shape("-----BEGIN RSA PRIVATE KEY-----\nabc\n"), Some("a private key"));
        assert_eq!(credential_shape("-----BEGIN CERTIFICATE-----\nabc\n"), None);
    }
}
