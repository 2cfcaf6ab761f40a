//! Writing responses.

use std::io;

use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Writes one or more complete response lines and flushes them.
pub async fn send<S: AsyncWrite + Unpin>(
    stream: &mut S,
    lines: impl AsRef<[u8]>,
) -> io::Result<()> {
    stream.write_all(lines.as_ref()).await?;
    stream.flush().await
}

/// A quoted string; callers pass text without CR, LF or NUL (mailbox
/// names, which the view guarantees).
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}
