//! minisign public keys and detached signatures, as `db import --trusted-key`, `--policy-key`,
//! `policy_keys` and `--rules-key` read them: any key text is a key or an error naming its
//! line, and any signature text (checked against a fixed file with a fixed trusted key) is
//! refused with an error or verifies, never panics.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use kubesecops_trust::testing::TestKey;
use kubesecops_trust::{signature_path, TrustedKeys};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    dir: tempfile::TempDir,
    keys: TrustedKeys,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(dir.path().join("signed.txt"), b"payload\n").expect("write");
        let key = TestKey::new(1, [1, 2, 3, 4, 5, 6, 7, 8]);
        let mut keys = TrustedKeys::default();
        keys.add(Path::new("fixture.pub"), &key.public_file()).expect("the fixture key loads");
        Fixture { dir, keys }
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first half as a public key file, the whole as a signature file.
    let split = text.char_indices().nth(text.chars().count() / 2).map_or(text.len(), |(i, _)| i);
    let mut keys = TrustedKeys::default();
    if let Err(err) = keys.add(Path::new("fuzz.pub"), &text[..split]) {
        assert!(err.to_string().starts_with("fuzz.pub"), "{err}");
    }
    let fixture = fixture();
    let file = fixture.dir.path().join("signed.txt");
    std::fs::write(signature_path(&file), data).expect("write the signature");
    let _ = fixture.keys.verify(&file);
    let _ = fixture.keys.read_verified_text(&file);
});
