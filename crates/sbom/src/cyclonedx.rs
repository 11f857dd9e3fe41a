//! CycloneDX 1.6 JSON: writer and reader.

use serde_json::{json, Map, Value};

use crate::purl::{package_of, OsHint, Purl};
use crate::{content_uuid, OsInfo, Sbom, SbomError, SbomPackage, WriteOptions};

/// Property names kubesecops writes on components (and reads back).
const ECOSYSTEM: &str = "kubesecops:package:ecosystem";
const PATH: &str = "kubesecops:package:path";
const LAYER: &str = "kubesecops:package:layer";
const SOURCE_NAME: &str = "kubesecops:package:source-name";
const SOURCE_VERSION: &str = "kubesecops:package:source-version";

fn bom_ref(index: usize) -> String {
    format!("pkg-{index}")
}

/// CycloneDX's rating method of a CVSS vector.
fn rating_method(vector: &str) -> &'static str {
    if vector.starts_with("CVSS:4.") {
        "CVSSv4"
    } else if vector.starts_with("CVSS:3.1") {
        "CVSSv31"
    } else if vector.starts_with("CVSS:3.") {
        "CVSSv3"
    } else if vector.starts_with("AV:") {
        "CVSSv2"
    } else {
        "other"
    }
}

fn osv_source() -> Value {
    json!({"name": "OSV", "url": "https://osv.dev"})
}

/// The document for `sbom`, as a JSON value.
pub fn write(sbom: &Sbom, options: &WriteOptions) -> Value {
    let mut components = Vec::new();
    if let Some(os) = &sbom.os {
        components.push(json!({
            "bom-ref": "os",
            "type": "operating-system",
            "name": os.id,
            "version": os.version,
        }));
    }
    for (index, package) in sbom.packages.iter().enumerate() {
        let mut component = Map::new();
        component.insert("bom-ref".into(), bom_ref(index).into());
        component.insert("type".into(), "library".into());
        component.insert("name".into(), package.name.clone().into());
        if !package.version.is_empty() {
            component.insert("version".into(), package.version.clone().into());
        }
        if let Some(purl) = package.purl() {
            component.insert("purl".into(), purl.into());
        }
        let mut properties = Vec::new();
        let mut property = |name: &str, value: &str| {
            if !value.is_empty() {
                properties.push(json!({"name": name, "value": value}));
            }
        };
        property(ECOSYSTEM, &package.ecosystem);
        property(PATH, &package.path);
        property(LAYER, package.layer.as_deref().unwrap_or(""));
        property(SOURCE_NAME, package.source_name.as_deref().unwrap_or(""));
        property(SOURCE_VERSION, package.source_version.as_deref().unwrap_or(""));
        if !properties.is_empty() {
            component.insert("properties".into(), properties.into());
        }
        components.push(Value::Object(component));
    }
    let mut document = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", content_uuid(sbom, options)),
        "version": 1,
        "metadata": {
            "timestamp": kubesecops_vulndb::rfc3339(options.created),
            "tools": {"components": [{
                "type": "application",
                "name": "kubesecops",
                "version": options.tool_version,
            }]},
            "component": {"bom-ref": "target", "type": "container", "name": sbom.target},
        },
        "components": components,
    });
    if !sbom.vulnerabilities.is_empty() {
        let vulnerabilities: Vec<Value> = sbom
            .vulnerabilities
            .iter()
            .map(|vuln| {
                let mut entry = Map::new();
                entry.insert("id".into(), vuln.id.clone().into());
                entry.insert("source".into(), osv_source());
                if !vuln.aliases.is_empty() {
                    let references: Vec<Value> = vuln
                        .aliases
                        .iter()
                        .map(|alias| json!({"id": alias, "source": osv_source()}))
                        .collect();
                    entry.insert("references".into(), references.into());
                }
                if let Some(rating) = &vuln.rating {
                    let mut value = Map::new();
                    value.insert("source".into(), osv_source());
                    if let Some(score) = rating.score {
                        value.insert("score".into(), score.into());
                    }
                    value.insert("severity".into(), rating.severity.clone().into());
                    match rating.vector.as_deref() {
                        Some(vector) if rating_method(vector) != "other" => {
                            value.insert("method".into(), rating_method(vector).into());
                            value.insert("vector".into(), vector.into());
                        }
                        _ => {
                            value.insert("method".into(), "other".into());
                        }
                    }
                    entry.insert("ratings".into(), vec![Value::Object(value)].into());
                }
                if let Some(summary) = &vuln.summary {
                    entry.insert("description".into(), summary.clone().into());
                }
                let fixes: Vec<String> = vuln
                    .affects
                    .iter()
                    .filter_map(|(index, fixed)| {
                        let package = sbom.packages.get(*index)?;
                        Some(format!("upgrade {} to {}", package.name, fixed.as_deref()?))
                    })
                    .collect();
                if !fixes.is_empty() {
                    entry.insert("recommendation".into(), fixes.join("; ").into());
                }
                let affects: Vec<Value> = vuln
                    .affects
                    .iter()
                    .filter_map(|(index, fixed)| {
                        let package = sbom.packages.get(*index)?;
                        let mut versions = vec![json!({"version": package.version, "status": "affected"})];
                        if let Some(fixed) = fixed {
                            versions.push(json!({"version": fixed, "status": "unaffected"}));
                        }
                        Some(json!({"ref": bom_ref(*index), "versions": versions}))
                    })
                    .collect();
                entry.insert("affects".into(), affects.into());
                Value::Object(entry)
            })
            .collect();
        document["vulnerabilities"] = vulnerabilities.into();
    }
    document
}

fn field_error(path: &str, pointer: &str, message: &str) -> SbomError {
    SbomError::Field { path: path.to_string(), pointer: pointer.to_string(), message: message.to_string() }
}

fn string_at<'v>(
    value: &'v Value,
    key: &str,
    path: &str,
    pointer: &str,
) -> Result<Option<&'v str>, SbomError> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(field_error(path, &format!("{pointer}/{key}"), "expected a string")),
    }
}

/// Every component, nested ones included, with its JSON pointer.
fn collect_components<'v>(
    list: &'v Value,
    pointer: &str,
    path: &str,
    out: &mut Vec<(String, &'v Value)>,
    depth: usize,
) -> Result<(), SbomError> {
    // Nesting deeper than this is no real inventory; it guards the stack.
    if depth > 64 {
        return Err(field_error(path, pointer, "components nested more than 64 deep"));
    }
    let Some(items) = list.as_array() else {
        return Err(field_error(path, pointer, "expected an array"));
    };
    for (i, component) in items.iter().enumerate() {
        let here = format!("{pointer}/{i}");
        if !component.is_object() {
            return Err(field_error(path, &here, "expected an object"));
        }
        out.push((here.clone(), component));
        if let Some(children) = component.get("components") {
            collect_components(children, &format!("{here}/components"), path, out, depth + 1)?;
        }
    }
    Ok(())
}

/// Reads a CycloneDX JSON document (any 1.x version) into an inventory. Components with a
/// package URL of a known ecosystem (or kubesecops' ecosystem property) become packages; an
/// `operating-system` component gives the distribution.
pub fn read(document: &Value, path: &str) -> Result<Sbom, SbomError> {
    if document.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return Err(field_error(path, "/bomFormat", "expected \"CycloneDX\""));
    }
    let mut sbom = Sbom::default();
    let metadata_component = document.get("metadata").and_then(|m| m.get("component"));
    if let Some(target) = metadata_component.and_then(|c| c.get("name")).and_then(Value::as_str) {
        sbom.target = target.to_string();
    }
    let mut components = Vec::new();
    if let Some(list) = document.get("components") {
        collect_components(list, "/components", path, &mut components, 0)?;
    }
    for (pointer, component) in &components {
        if string_at(component, "type", path, pointer)? == Some("operating-system") {
            sbom.os = Some(OsInfo {
                id: string_at(component, "name", path, pointer)?.unwrap_or("").to_ascii_lowercase(),
                version: string_at(component, "version", path, pointer)?.unwrap_or("").to_string(),
            });
        }
    }
    let hint = sbom.os.as_ref().map(|os| OsHint { id: os.id.clone(), version: os.version.clone() });
    for (pointer, component) in &components {
        if let Some(package) = read_component(component, pointer, path, hint.as_ref())? {
            sbom.packages.push(package);
        }
    }
    Ok(sbom)
}

fn read_component(
    component: &Value,
    pointer: &str,
    path: &str,
    os: Option<&OsHint>,
) -> Result<Option<SbomPackage>, SbomError> {
    let mut properties: Vec<(&str, &str)> = Vec::new();
    if let Some(list) = component.get("properties") {
        let items = list
            .as_array()
            .ok_or_else(|| field_error(path, &format!("{pointer}/properties"), "expected an array"))?;
        for item in items {
            if let (Some(name), Some(value)) =
                (item.get("name").and_then(Value::as_str), item.get("value").and_then(Value::as_str))
            {
                properties.push((name, value));
            }
        }
    }
    let property = |names: &[&str]| {
        properties
            .iter()
            .find(|(n, _)| names.contains(n))
            .map(|(_, v)| v.to_string())
            .filter(|v| !v.is_empty())
    };
    let name = string_at(component, "name", path, pointer)?.unwrap_or("");
    let version = string_at(component, "version", path, pointer)?.unwrap_or("");
    let purl_text = string_at(component, "purl", path, pointer)?;
    let from_purl = match purl_text {
        Some(text) => {
            let purl = Purl::parse(text)
                .map_err(|e| field_error(path, &format!("{pointer}/purl"), &e.to_string()))?;
            package_of(&purl, os)
        }
        None => None,
    };
    let ecosystem = property(&[ECOSYSTEM]).or_else(|| from_purl.as_ref().map(|p| p.ecosystem.clone()));
    let Some(ecosystem) = ecosystem else { return Ok(None) };
    // Trivy writes the source package's version, release and epoch apart.
    let trivy_source_version = property(&["aquasecurity:trivy:SrcVersion"]).map(|v| {
        let with_release = match property(&["aquasecurity:trivy:SrcRelease"]) {
            Some(release) => format!("{v}-{release}"),
            None => v,
        };
        match property(&["aquasecurity:trivy:SrcEpoch"]).filter(|e| e != "0") {
            Some(epoch) => format!("{epoch}:{with_release}"),
            None => with_release,
        }
    });
    let purl_name = from_purl.as_ref().map(|p| p.name.clone());
    let purl_version = from_purl.as_ref().map(|p| p.version.clone()).filter(|v| !v.is_empty());
    Ok(Some(SbomPackage {
        // The purl's name is the ecosystem's full name (`@scope/name`, `group:artifact`).
        name: purl_name.unwrap_or_else(|| name.to_string()),
        version: purl_version.unwrap_or_else(|| version.to_string()),
        ecosystem,
        path: property(&[PATH, "aquasecurity:trivy:FilePath"]).unwrap_or_default(),
        layer: property(&[LAYER, "aquasecurity:trivy:LayerDigest"]),
        source_name: property(&[SOURCE_NAME, "aquasecurity:trivy:SrcName"])
            .or_else(|| from_purl.as_ref().and_then(|p| p.source_name.clone())),
        source_version: property(&[SOURCE_VERSION])
            .or(trivy_source_version)
            .or_else(|| from_purl.as_ref().and_then(|p| p.source_version.clone())),
        purl: purl_text.map(str::to_string),
    }))
}
