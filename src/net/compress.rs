//! COMPRESS=DEFLATE (RFC 4978): a session's stream with raw deflate (no
//! zlib header) in both directions. Every response the session flushes
//! ends in a sync flush, so the client can decompress it whole at once.
//!
//! Level 2 (`bench/compress.sh`, generated mail with attachments): level 1
//! (zlib-rs's quick strategy) left 80 % of the bytes for 10 ms of CPU per
//! MB, level 2 61.5 % for 18 ms, levels 3 and 6 61 % for 20 to 22 ms.
//! Each connection holds one deflate and one inflate state besides the
//! read buffer, whatever it sends or fetches: 364 KiB more per connection
//! than without COMPRESS, measured (Dovecot's: 1,356 KiB; zlib's 32 KiB
//! window is what RFC 4978 lets a client use, so the inflater needs it).

use async_compression::Level;
use async_compression::tokio::bufread::DeflateDecoder;
use async_compression::tokio::write::DeflateEncoder;
use tokio::io::{AsyncRead, AsyncWrite, BufReader};

/// Input buffered between the socket and the inflater.
const READ_BUFFER: usize = 8 * 1024;

/// A stream whose reads are inflated and writes deflated.
pub type Deflated<S> = DeflateEncoder<DeflateDecoder<BufReader<S>>>;

/// `stream` with deflate in both directions from now on.
pub fn deflated<S: AsyncRead + AsyncWrite>(stream: S) -> Deflated<S> {
    let inflated = DeflateDecoder::new(BufReader::with_capacity(READ_BUFFER, stream));
    DeflateEncoder::with_quality(inflated, Level::Precise(2))
}
