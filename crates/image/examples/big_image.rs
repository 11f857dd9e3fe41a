//! Writes a large docker-archive tarball for the speed and memory benchmark
//! (`benches/image_scan.sh`): `cargo run --release -p kubesecops-image --example big_image --
//! OUT.tar [MEGABYTES]` (default 1024). Layers hold a Debian package database, lockfiles,
//! whiteouts, executables and many files of pseudo-random (incompressible) bytes, like the
//! application layers of real images. Layers are built one at a time, so the generator
//! needs about one layer of memory.

use std::fs::File;
use std::io::{BufWriter, Write};

use kubesecops_image::digest::sha256_digest;
use kubesecops_image::testimage::{self, layer, Entry};
use serde_json::json;

/// A small xorshift generator: the same image for the same size, no dependency.
struct Noise(u64);

impl Noise {
    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            chunk.copy_from_slice(&self.0.to_le_bytes()[..chunk.len()]);
        }
    }
}

fn dpkg_status(packages: usize) -> String {
    (0..packages)
        .map(|i| {
            format!(
                "Package: pkg{i}\nStatus: install ok installed\nSource: src{}\nVersion: 1.{i}-1\n\n",
                i / 3
            )
        })
        .collect()
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args.next().unwrap_or_else(|| "big-image.tar".into());
    let megabytes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let layers = 8;
    let per_layer = megabytes * 1024 * 1024 / layers;
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let file = BufWriter::with_capacity(1 << 20, File::create(&out)?);
    let mut archive = tar::Builder::new(file);
    let mut diff_ids = Vec::new();
    let mut names = Vec::new();
    for index in 0..layers {
        let mut entries = vec![
            Entry::file(
                &format!("srv/app{index}/package-lock.json"),
                format!(
                    r#"{{"lockfileVersion": 3, "packages": {{"node_modules/lodash": {{"version": "4.17.{index}"}}}}}}"#
                ),
            ),
            Entry::file(&format!("srv/app{index}/requirements.txt"), "django==4.2.1\nrequests==2.31.0\n"),
            Entry::exe(&format!("usr/local/bin/tool{index}.sh"), "#!/bin/sh\nexec true\n"),
        ];
        if index == 0 {
            entries.push(Entry::file("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"));
            entries.push(Entry::file("var/lib/dpkg/status", dpkg_status(400)));
        } else {
            entries.push(Entry::Whiteout(format!("srv/app{}/requirements.txt", index - 1)));
        }
        let mut size = 0;
        let mut n = 0;
        while size < per_layer {
            // Files from 4 KiB to 1 MiB.
            let len = 4096 << (n % 9);
            let mut data = vec![0u8; len];
            noise.fill(&mut data);
            entries.push(Entry::file(&format!("usr/share/data{index}/{n:06}.bin"), data));
            size += len + 512;
            n += 1;
        }
        let bytes = layer(&entries);
        drop(entries);
        let diff_id = sha256_digest(&bytes);
        let name = format!("{}/layer.tar", &diff_id[7..]);
        testimage::append(&mut archive, &name, &bytes);
        diff_ids.push(diff_id);
        names.push(name);
    }
    let config = testimage::config(&diff_ids, json!({"User": "10001"}));
    let config_name = format!("{}.json", &sha256_digest(&config)[7..]);
    testimage::append(&mut archive, &config_name, &config);
    let manifest = json!([{"Config": config_name, "RepoTags": ["bench/big:1.0"], "Layers": names}]);
    testimage::append(&mut archive, "manifest.json", manifest.to_string().as_bytes());
    archive.into_inner()?.flush()?;
    eprintln!("wrote {out}: {layers} layers, about {megabytes} MB");
    Ok(())
}
