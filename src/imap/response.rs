//! Writing responses.

use std::io;

use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Writes one or more complete response lines and flushes them.
pub async fn send<S: AsyncWrite + Unpin>(stream: &mut S, lines: &str) -> io::Result<()> {
    stream.write_all(lines.as_bytes()).await?;
    stream.flush().await
}
