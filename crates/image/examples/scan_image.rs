//! The image pipeline of `kubesecops image` without the CLI around it: open, read every
//! layer once (digests verified), detect packages. Used by `benches/image_scan.sh` to time
//! the library on its own: `cargo run --release -p kubesecops-image --example scan_image -- IMAGE`.

use kubesecops_image::detect::detect_packages_with;
use kubesecops_image::{open_image, scan_image, Limits, OpenOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let input = std::env::args().nth(1).ok_or("usage: scan_image IMAGE")?;
    let mut image = open_image(&input, &OpenOptions::default())?;
    let mut scan = scan_image(&mut image, None)?;
    let inventory = detect_packages_with(&mut scan.fs, &Limits::default())?;
    let bytes: u64 = scan.layers.iter().map(|l| l.size).sum();
    println!(
        "{input}: {} layers, {bytes} bytes read, {} packages",
        scan.layers.len(),
        inventory.packages.len()
    );
    Ok(())
}
