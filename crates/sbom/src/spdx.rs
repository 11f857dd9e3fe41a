//! SPDX 2.3 JSON: writer and reader.

use serde_json::{json, Map, Value};

use crate::purl::{package_of, OsHint, Purl};
use crate::{content_uuid, OsInfo, Sbom, SbomError, SbomPackage, WriteOptions};

const TARGET_ID: &str = "SPDXRef-Target";
const OS_ID: &str = "SPDXRef-OperatingSystem";

fn package_id(index: usize) -> String {
    format!("SPDXRef-Package-{index}")
}

/// A document name from the target: SPDX namespaces are URIs, so only safe characters.
fn uri_safe(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || "-._".contains(c) { c } else { '-' }).collect()
}

/// Where a package came from, as `sourceInfo` text (read back by [`read`]).
fn source_info(package: &SbomPackage) -> Option<String> {
    if package.path.is_empty() {
        return None;
    }
    Some(match &package.layer {
        Some(layer) => format!("path: {}; layer: {layer}", package.path),
        None => format!("path: {}", package.path),
    })
}

/// The document for `sbom`, as a JSON value. Vulnerabilities are not part of SPDX 2.3.
pub fn write(sbom: &Sbom, options: &WriteOptions) -> Value {
    let uuid = content_uuid(sbom, options);
    let mut packages = vec![json!({
        "SPDXID": TARGET_ID,
        "name": sbom.target,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "CONTAINER",
    })];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": TARGET_ID,
    })];
    if let Some(os) = &sbom.os {
        packages.push(json!({
            "SPDXID": OS_ID,
            "name": os.id,
            "versionInfo": os.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "primaryPackagePurpose": "OPERATING_SYSTEM",
        }));
        relationships.push(json!({
            "spdxElementId": TARGET_ID, "relationshipType": "CONTAINS", "relatedSpdxElement": OS_ID,
        }));
    }
    for (index, package) in sbom.packages.iter().enumerate() {
        let mut entry = Map::new();
        entry.insert("SPDXID".into(), package_id(index).into());
        entry.insert("name".into(), package.name.clone().into());
        if !package.version.is_empty() {
            entry.insert("versionInfo".into(), package.version.clone().into());
        }
        entry.insert("downloadLocation".into(), "NOASSERTION".into());
        entry.insert("filesAnalyzed".into(), false.into());
        entry.insert("primaryPackagePurpose".into(), "LIBRARY".into());
        if let Some(info) = source_info(package) {
            entry.insert("sourceInfo".into(), info.into());
        }
        if let Some(purl) = package.purl() {
            entry.insert(
                "externalRefs".into(),
                json!([{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}]),
            );
        }
        packages.push(Value::Object(entry));
        relationships.push(json!({
            "spdxElementId": TARGET_ID, "relationshipType": "CONTAINS", "relatedSpdxElement": package_id(index),
        }));
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": sbom.target,
        "documentNamespace": format!("https://kubesecops.invalid/spdx/{}-{uuid}", uri_safe(&sbom.target)),
        "creationInfo": {
            "created": kubesecops_vulndb::rfc3339(options.created),
            "creators": [format!("Tool: kubesecops-{}", options.tool_version)],
        },
        "packages": packages,
        "relationships": relationships,
    })
}

fn field_error(path: &str, pointer: String, message: &str) -> SbomError {
    SbomError::Field { path: path.to_string(), pointer, message: message.to_string() }
}

/// Reads an SPDX 2.x JSON document into an inventory: packages with a `purl` external
/// reference of a known ecosystem; the `OPERATING_SYSTEM` package gives the distribution.
pub fn read(document: &Value, path: &str) -> Result<Sbom, SbomError> {
    let mut sbom = Sbom {
        target: document.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
        ..Sbom::default()
    };
    let packages = match document.get("packages") {
        None | Some(Value::Null) => return Ok(sbom),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(field_error(path, "/packages".into(), "expected an array")),
    };
    for (i, package) in packages.iter().enumerate() {
        if !package.is_object() {
            return Err(field_error(path, format!("/packages/{i}"), "expected an object"));
        }
        if package.get("primaryPackagePurpose").and_then(Value::as_str) == Some("OPERATING_SYSTEM") {
            sbom.os = Some(OsInfo {
                id: package.get("name").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase(),
                version: package.get("versionInfo").and_then(Value::as_str).unwrap_or("").to_string(),
            });
        }
    }
    let hint = sbom.os.as_ref().map(|os| OsHint { id: os.id.clone(), version: os.version.clone() });
    for (i, package) in packages.iter().enumerate() {
        let refs = match package.get("externalRefs") {
            None | Some(Value::Null) => continue,
            Some(Value::Array(refs)) => refs,
            Some(_) => {
                return Err(field_error(path, format!("/packages/{i}/externalRefs"), "expected an array"))
            }
        };
        let purl_ref = refs.iter().enumerate().find(|(_, r)| {
            r.get("referenceType").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("purl"))
        });
        let Some((j, purl_ref)) = purl_ref else { continue };
        let pointer = format!("/packages/{i}/externalRefs/{j}/referenceLocator");
        let text = purl_ref
            .get("referenceLocator")
            .and_then(Value::as_str)
            .ok_or_else(|| field_error(path, pointer.clone(), "expected a string"))?;
        let purl = Purl::parse(text).map_err(|e| field_error(path, pointer, &e.to_string()))?;
        let Some(found) = package_of(&purl, hint.as_ref()) else { continue };
        let info = package.get("sourceInfo").and_then(Value::as_str).unwrap_or("");
        let field = |key: &str| {
            info.split(';').find_map(|part| part.trim().strip_prefix(key)).map(|v| v.trim().to_string())
        };
        let version = if found.version.is_empty() {
            package.get("versionInfo").and_then(Value::as_str).unwrap_or("").to_string()
        } else {
            found.version
        };
        sbom.packages.push(SbomPackage {
            name: found.name,
            version,
            ecosystem: found.ecosystem,
            path: field("path:").unwrap_or_default(),
            layer: field("layer:"),
            source_name: found.source_name,
            source_version: found.source_version,
            purl: Some(text.to_string()),
        });
    }
    Ok(sbom)
}
