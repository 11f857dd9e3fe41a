//! The report envelope as pretty JSON: the documented, versioned machine interface.

use std::io;

use kubesecops_core::Report;

/// Writes `report` as pretty JSON followed by a newline.
pub(crate) fn render(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    // serde_json writes many small pieces: a concrete buffer in front of the `dyn` writer
    // keeps them out of virtual calls (large reports are hundreds of megabytes).
    let mut buffered = io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut buffered, report)?;
    io::Write::write_all(&mut buffered, b"\n")?;
    io::Write::flush(&mut buffered)
}
