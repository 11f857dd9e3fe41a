//! Snapshots: what a listing read, as one `v1 List` JSON file with an object per line.
//!
//! `kubesecops scan FILE` and the RBAC commands read it like any manifest. The context,
//! the time it was taken and the gaps are in `metadata.annotations` (written after the items,
//! once they are known). Secret values are removed before anything is written.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::list::ListSummary;
use crate::{redact, ClusterError};

/// Annotation holding the context a snapshot was taken from.
pub const CONTEXT_ANNOTATION: &str = "kubesecops.io/snapshot-context";
/// Annotation holding the gaps of the listing (JSON).
pub const GAPS_ANNOTATION: &str = "kubesecops.io/snapshot-gaps";

/// Writes a snapshot object by object.
pub struct SnapshotWriter {
    path: PathBuf,
    out: BufWriter<File>,
    count: usize,
}

impl SnapshotWriter {
    /// Creates (truncates) the file and writes the list's head.
    pub fn create(path: &Path) -> Result<SnapshotWriter, ClusterError> {
        let err = |e: std::io::Error| ClusterError::Snapshot {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let file = File::create(path).map_err(err)?;
        let mut out = BufWriter::new(file);
        out.write_all(b"{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [").map_err(err)?;
        Ok(SnapshotWriter { path: path.to_path_buf(), out, count: 0 })
    }

    fn error(&self, e: impl std::fmt::Display) -> ClusterError {
        ClusterError::Snapshot { path: self.path.display().to_string(), message: e.to_string() }
    }

    /// Appends one object (redacted first).
    pub fn write(&mut self, mut object: Json) -> Result<(), ClusterError> {
        redact(&mut object);
        let sep: &[u8] = if self.count == 0 { b"\n" } else { b",\n" };
        self.out.write_all(sep).map_err(|e| self.error(e))?;
        serde_json::to_writer(&mut self.out, &object).map_err(|e| self.error(e))?;
        self.count += 1;
        Ok(())
    }

    /// Writes the metadata (context, gaps) and closes the list. Returns the object count.
    pub fn finish(mut self, summary: &ListSummary) -> Result<usize, ClusterError> {
        let gaps = serde_json::to_string(&summary.gaps).map_err(|e| self.error(e))?;
        let meta =
            serde_json::json!({"annotations": {CONTEXT_ANNOTATION: summary.context, GAPS_ANNOTATION: gaps}});
        write!(self.out, "\n], \"metadata\": {meta}}}\n").map_err(|e| self.error(e))?;
        self.out.flush().map_err(|e| self.error(e))?;
        Ok(self.count)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kubesecops_k8s::loader::load_text;

    use super::*;
    use crate::list::Gap;

    #[test]
    fn snapshots_load_as_manifests_without_secret_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap.json");
        let mut w = SnapshotWriter::create(&path).unwrap();
        w.write(serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "a"}, "data": {"k": "c2VjcmV0"}})).unwrap();
        w.write(serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "a"}})).unwrap();
        let summary = ListSummary {
            context: "ctx".into(),
            resources: 2,
            objects: 2,
            gaps: vec![Gap {
                resource: "secrets".into(),
                namespace: "b".into(),
                code: Some(403),
                reason: "forbidden".into(),
            }],
        };
        assert_eq!(w.finish(&summary).unwrap(), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("c2VjcmV0"));
        let loaded = load_text(Arc::from("snap.json"), &text);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let kinds: Vec<&str> = loaded.objects.iter().map(|o| o.kind()).collect();
        assert_eq!(kinds, ["Secret", "Deployment"]);
        assert_eq!(
            loaded.objects[1].location(loaded.objects[1].root.pos).line,
            Some(3),
            "one object per line"
        );
        let parsed: Json = serde_json::from_str(&text).unwrap();
        let gaps: Vec<Gap> =
            serde_json::from_str(parsed["metadata"]["annotations"][GAPS_ANNOTATION].as_str().unwrap())
                .unwrap();
        assert_eq!(gaps, summary.gaps);
    }
}
