//! Lockfile, package database and Dockerfile parsers must never panic: the first byte picks
//! the format, the rest is the file; every input parses or is an error naming a line.
#![no_main]

use kubesecops_image::detect::{parse_file, FileKind};
use kubesecops_image::{dockerfile, OsRelease};
use libfuzzer_sys::fuzz_target;

const KINDS: [FileKind; 15] = [
    FileKind::DpkgStatus,
    FileKind::ApkInstalled,
    FileKind::CargoLock,
    FileKind::NpmLock,
    FileKind::YarnLock,
    FileKind::PnpmLock,
    FileKind::Requirements,
    FileKind::PythonMetadata,
    FileKind::PoetryLock,
    FileKind::PipfileLock,
    FileKind::GoMod,
    FileKind::GemfileLock,
    FileKind::ComposerLock,
    FileKind::PomProperties,
    FileKind::OsRelease,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    match KINDS.get(usize::from(selector) % (KINDS.len() + 1)) {
        Some(FileKind::OsRelease) => {
            let _ = OsRelease::parse(text).map(|os| os.osv_ecosystem());
        }
        Some(kind) => {
            if let Err(kubesecops_image::ImageError::Parse { line, .. }) =
                parse_file(*kind, text, "fuzz", Some("Debian:12"))
            {
                assert!(line <= text.lines().count() + 1, "error line {line} past the end");
            }
        }
        None => {
            if let Ok(parsed) = dockerfile::parse(text) {
                let settings = kubesecops_image::compliance::ComplianceConfig::default();
                let _ =
                    kubesecops_image::compliance::check_dockerfile(&parsed, "Dockerfile", &settings, &|_| {
                        None
                    });
            }
        }
    }
});
