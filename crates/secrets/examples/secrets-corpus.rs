//! Writes the secret-scanning benchmark corpus to disk (the generator of the criterion bench):
//! `cargo run --release -p kubesecops-secrets --example secrets-corpus -- FILES DIR [SEED]`.
//! About 17 KB per file; one file in twenty holds a built-in rule's fake example credential.

use std::path::PathBuf;
use std::process::ExitCode;

use kubesecops_secrets::builtin;

#[path = "../benches/support/corpus.rs"]
#[allow(dead_code)]
mod corpus;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(files), Some(dir)) = (args.first().and_then(|n| n.parse::<usize>().ok()), args.get(1)) else {
        eprintln!("usage: secrets-corpus FILES DIR [SEED]");
        return ExitCode::from(2);
    };
    let seed = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0x5ec7e7);
    let examples: Vec<&str> = builtin::rules().map(|r| r.example).collect();
    let root = PathBuf::from(dir);
    let mut bytes = 0;
    for (path, text) in corpus::generate(files, seed, &examples) {
        let path = root.join(path);
        let written =
            path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, &text));
        if let Err(err) = written {
            eprintln!("{}: {err}", path.display());
            return ExitCode::from(2);
        }
        bytes += text.len();
    }
    eprintln!("{files} files, {:.1} MB in {}", bytes as f64 / 1e6, root.display());
    ExitCode::SUCCESS
}
