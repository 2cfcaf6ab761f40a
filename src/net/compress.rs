//! COMPRESS=DEFLATE (RFC 4978): a session's stream with raw deflate (no
//! zlib header) in both directions. Every response the session flushes
//! ends in a sync flush, so the client can decompress it whole at once.
//!
//! Level 1: mail is mostly text already packed tight by base64 and HTML,
//! where higher levels gain a few percent for several times the CPU of
//! every download. Each connection holds one deflate and one inflate
//! state (about 300 KiB with zlib's 32 KiB window, which RFC 4978 lets a
//! client use) besides the read buffer, whatever it sends or fetches.

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
    DeflateEncoder::with_quality(inflated, Level::Precise(1))
}
