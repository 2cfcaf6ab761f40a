//! Entry points for the `cargo fuzz` targets in `fuzz/` (feature
//! `fuzzing`): the parsers a client or a sender reaches that are not
//! public API. Each takes arbitrary bytes and must return; a panic, a hang
//! or unbounded memory is a finding.

use crate::imap::framing::{Frame, Limits, Literals, Reader};
use crate::import::mbox::{self, MboxFormat};

/// Reads commands off `data` as a session's reader does, with small
/// limits, until the input ends.
pub fn imap_frames(data: &[u8]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async {
        let mut stream = tokio::io::join(data, tokio::io::sink());
        let mut reader = Reader::default();
        let limits = Limits {
            max_line: 4096,
            literals: Literals::Any(64 * 1024),
        };
        while let Ok(frame) = reader.command(&mut stream, limits).await {
            if matches!(frame, Frame::Closed) {
                break;
            }
            reader.shrink();
        }
    });
}

/// Splits `data` as an mbox file and unquotes every message both ways.
pub fn mbox(data: &[u8]) {
    if let Ok(entries) = mbox::split(data) {
        for entry in entries {
            let message = &data[entry.range.clone()];
            let _ = mbox::unquote(message, MboxFormat::Mboxrd);
            let _ = mbox::unquote(message, MboxFormat::Mboxo);
        }
    }
}

/// Checks `data`, read as a form body, against every API function's
/// declared arguments.
pub fn api_arguments(data: &[u8]) {
    let fields: Vec<(String, String)> = form_urlencoded::parse(data)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for function in crate::api::functions::all() {
        let _ = crate::api::args::Args::check(function.name, function.args, fields.clone());
    }
}
