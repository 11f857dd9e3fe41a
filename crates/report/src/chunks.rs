//! Rendering the findings of a large report in chunks on the thread pool, written in order.

use std::io::{self, Write};

use kubesecops_core::Finding;
use rayon::prelude::*;

/// Below this many findings a report is written in one go.
pub(crate) const PARALLEL_FROM: usize = 8192;
/// Findings per parallel rendering task.
pub(crate) const CHUNK: usize = 256;
/// Chunks rendered at once per thread of the pool, which bounds the memory held.
pub(crate) const CHUNKS_PER_THREAD: usize = 2;

/// Renders `findings` `CHUNK` at a time with `render_chunk` (into an empty buffer with room
/// for `bytes_per_finding` per finding), a few chunks at once on the thread pool, and writes
/// each buffer, less its first `trim.0` and last `trim.1` bytes, in order, separated by `,\n`.
pub(crate) fn write_in_chunks<W, F>(
    findings: &[Finding],
    bytes_per_finding: usize,
    trim: (usize, usize),
    render_chunk: F,
    out: &mut W,
) -> io::Result<()>
where
    W: Write,
    F: Fn(&[Finding], &mut Vec<u8>) -> io::Result<()> + Sync,
{
    // A few buffers, reused from one group of chunks to the next, bound the memory held to a
    // few chunks' worth whatever the report's size.
    let in_flight = rayon::current_num_threads().max(1) * CHUNKS_PER_THREAD;
    // Sized for a chunk from the start: grown by doubling, each buffer would write (and so
    // fault in) about twice the memory it ends up holding. Capacity never written costs nothing.
    let mut buffers: Vec<Vec<u8>> =
        (0..in_flight).map(|_| Vec::with_capacity(CHUNK * bytes_per_finding)).collect();
    let mut first = true;
    for group in findings.chunks(CHUNK * in_flight) {
        let chunks: Vec<&[Finding]> = group.chunks(CHUNK).collect();
        let buffers = &mut buffers[..chunks.len()];
        buffers.par_iter_mut().zip(chunks.par_iter()).try_for_each(|(buffer, chunk)| {
            buffer.clear();
            render_chunk(chunk, buffer)
        })?;
        for buffer in buffers.iter() {
            if !first {
                out.write_all(b",\n")?;
            }
            first = false;
            let body = buffer
                .get(trim.0..buffer.len().saturating_sub(trim.1))
                .ok_or_else(|| io::Error::other("rendered chunk shorter than its framing"))?;
            out.write_all(body)?;
        }
    }
    Ok(())
}
