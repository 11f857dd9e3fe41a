//! `kubesecops-corpus OBJECTS DIR [--per-file N] [--seed S]`: writes a benchmark corpus.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let (mut per_file, mut seed) = (100usize, 1u64);
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--per-file" | "--seed" if i + 1 < args.len() => {
                let Ok(value) = args[i + 1].parse::<u64>() else {
                    eprintln!("{}: expected a number, got {:?}", args[i], args[i + 1]);
                    return ExitCode::from(2);
                };
                if args[i] == "--seed" {
                    seed = value;
                } else {
                    per_file = value as usize;
                }
                i += 2;
            }
            other => {
                positional.push(other.to_string());
                i += 1;
            }
        }
    }
    let [objects, dir] = positional.as_slice() else {
        eprintln!("usage: kubesecops-corpus OBJECTS DIR [--per-file N] [--seed S]");
        return ExitCode::from(2);
    };
    let Ok(objects) = objects.parse::<usize>() else {
        eprintln!("OBJECTS must be a number, got {objects:?}");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("{}: {e}", dir.display());
        return ExitCode::from(2);
    }
    let mut bytes = 0;
    for (name, text) in kubesecops_corpus::corpus(objects, per_file, seed) {
        bytes += text.len();
        if let Err(e) = std::fs::write(dir.join(&name), text) {
            eprintln!("{}: {e}", dir.join(name).display());
            return ExitCode::from(2);
        }
    }
    eprintln!("wrote {objects} objects, {bytes} bytes into {}", dir.display());
    ExitCode::SUCCESS
}
