//! The report envelope as pretty JSON: the documented, versioned machine interface.

use std::io;

use kubesecops_core::Report;

/// Writes `report` as pretty JSON followed by a newline.
pub(crate) fn render(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}
