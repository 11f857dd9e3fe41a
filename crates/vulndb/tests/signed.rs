//! Signed imports: every file verified against trusted minisign keys, rollbacks refused, the
//! store kept signed-only, and old signed data reported stale.

use std::fs;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use kubesecops_trust::testing::TestKey;
use kubesecops_trust::{signature_path, TrustError, TrustedKeys};
use kubesecops_vulndb::{import, import_with, DbStatus, ImportOptions, Store, StoreError};

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn record(id: &str) -> String {
    format!(
        r#"{{"id": "{id}", "modified": "2024-01-01T00:00:00Z",
            "affected": [{{"package": {{"ecosystem": "npm", "name": "{id}-pkg"}}, "versions": ["1.0.0"]}}]}}"#
    )
}

struct Fixture {
    dir: tempfile::TempDir,
    key: TestKey,
    keys: TrustedKeys,
    db: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let key = TestKey::new(3, *b"kso-test");
    let public = dir.path().join("trusted.pub");
    fs::write(&public, key.public_file()).unwrap();
    let keys = TrustedKeys::load(&[public]).unwrap();
    let db = dir.path().join("db");
    Fixture { dir, key, keys, db }
}

impl Fixture {
    /// Writes `rel` with one record and a signature made `signed_at`, under the name `rel`'s
    /// file name, as minisign's default trusted comment says.
    fn signed(&self, rel: &str, id: &str, signed_at: u64) -> PathBuf {
        let path = self.dir.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let data = record(id);
        fs::write(&path, &data).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let comment = format!("timestamp:{signed_at}\tfile:{name}\thashed");
        fs::write(signature_path(&path), self.key.sign(data.as_bytes(), &comment, true)).unwrap();
        path
    }

    fn trusted(&self) -> ImportOptions<'_> {
        ImportOptions { trusted: Some(&self.keys), allow_rollback: false }
    }

    fn ids(&self) -> Vec<String> {
        Store::open(&self.db).unwrap().all_records().unwrap().into_iter().map(|r| r.id).collect()
    }
}

#[test]
fn signed_files_are_imported_and_remembered_by_signed_name() {
    let f = fixture();
    let t = now() - 60;
    let inputs = f.dir.path().join("feed");
    f.signed("feed/a.json", "GHSA-a", t);
    f.signed("feed/nested/b.json", "GHSA-b", t);
    let summary = import_with(&f.db, &[inputs], f.trusted()).unwrap();
    assert_eq!(summary.total, 2);
    let store = Store::open(&f.db).unwrap();
    let meta = store.meta();
    assert_eq!(meta.trusted_keys, [f.keys.ids().next().unwrap().to_string()]);
    assert_eq!(meta.signed.keys().collect::<Vec<_>>(), ["a.json", "b.json"]);
    assert_eq!(meta.signed["a.json"].signed_at, Some(t));
    let status = DbStatus::of(&store);
    assert!(!status.stale);
    assert_eq!(status.oldest_signature.unwrap().name, "a.json");
}

#[test]
fn a_changed_or_unsigned_file_refuses_the_whole_import_and_names_every_file() {
    let f = fixture();
    let t = now();
    let kept = f.signed("first.json", "GHSA-kept", t);
    import_with(&f.db, &[kept], f.trusted()).unwrap();

    let changed = f.signed("in/changed.json", "GHSA-changed", t);
    fs::write(&changed, record("GHSA-evil")).unwrap();
    let unsigned = f.dir.path().join("in/unsigned.json");
    fs::write(&unsigned, record("GHSA-unsigned")).unwrap();
    f.signed("in/good.json", "GHSA-good", t);
    let err = import_with(&f.db, &[f.dir.path().join("in")], f.trusted()).unwrap_err();
    let StoreError::Refused(errors) = &err else { panic!("{err}") };
    assert!(matches!(errors[0], StoreError::Trust(TrustError::Mismatch { .. })), "{err}");
    assert!(matches!(errors[1], StoreError::Trust(TrustError::Unsigned { .. })), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("changed.json: the signature") && text.contains("unsigned.json: not signed"),
        "{text}"
    );
    // Nothing of the refused import was written; the store is as before.
    assert_eq!(f.ids(), ["GHSA-kept"]);
}

#[test]
fn an_older_signature_under_the_same_name_is_a_rollback() {
    let f = fixture();
    let newer = f.signed("today/npm.json", "GHSA-new", now() - 60);
    import_with(&f.db, &[newer], f.trusted()).unwrap();
    let older = f.signed("last-week/npm.json", "GHSA-old", now() - 7200);
    let err = import_with(&f.db, std::slice::from_ref(&older), f.trusted()).unwrap_err();
    assert!(matches!(err, StoreError::Rollback { .. }), "{err}");
    assert!(err.to_string().contains("before the npm.json already imported"), "{err}");
    assert_eq!(f.ids(), ["GHSA-new"]);
    // Another name is not a rollback; an explicit allowance accepts the older one.
    let other = f.signed("last-week/pypi.json", "GHSA-pypi", now() - 7200);
    import_with(&f.db, &[other], f.trusted()).unwrap();
    import_with(&f.db, &[older], ImportOptions { allow_rollback: true, ..f.trusted() }).unwrap();
    assert_eq!(f.ids(), ["GHSA-new", "GHSA-old", "GHSA-pypi"]);
}

#[test]
fn a_signed_store_refuses_unsigned_imports() {
    let f = fixture();
    import_with(&f.db, &[f.signed("a.json", "GHSA-a", now())], f.trusted()).unwrap();
    let plain = f.dir.path().join("plain.json");
    fs::write(&plain, record("GHSA-plain")).unwrap();
    let err = import(&f.db, &[plain]).unwrap_err();
    assert!(matches!(err, StoreError::SignatureRequired { .. }), "{err}");
    assert!(err.to_string().contains("takes only signed inputs"), "{err}");
    assert_eq!(f.ids(), ["GHSA-a"]);
}

#[test]
fn data_signed_long_ago_is_stale_however_recently_imported() {
    let f = fixture();
    let month_ago = now() - 30 * 86_400;
    import_with(&f.db, &[f.signed("debian.json", "DSA-1", month_ago)], f.trusted()).unwrap();
    let status = DbStatus::of(&Store::open(&f.db).unwrap());
    assert!(status.age_seconds < 600);
    assert!(status.stale);
    let warning = status.warning().unwrap();
    assert!(warning.contains("holds debian.json, signed"), "{warning}");
}

#[test]
fn unsigned_stores_stay_as_they_were() {
    let f = fixture();
    let plain = f.dir.path().join("plain.json");
    fs::write(&plain, record("GHSA-plain")).unwrap();
    import(&f.db, &[plain]).unwrap();
    let text = fs::read_to_string(f.db.join("meta.json")).unwrap();
    assert!(!text.contains("trustedKeys") && !text.contains("\"signed\""), "{text}");
}
