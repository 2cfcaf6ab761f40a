//! Reading whole commands off the wire: lines and the literals inside
//! them, within limits. imap-codec parses; this layer decides when to read
//! more, when to invite a literal (`+`), and when to refuse one.

use imap_codec::CommandCodec;
use imap_codec::decode::{CommandDecodeError, Decoder};
use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::command::Command;
use imap_codec::imap_types::core::LiteralMode;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use std::io;

use super::esearch::{Rewriter, SearchExtension};
use super::extensions::{AclCommand, ListCommand, parse_acl, parse_list};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest command, not counting literal data.
    pub max_line: usize,
    pub literals: Literals,
}

/// Which literals are invited (`+`) or, sent with LITERAL+, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Literals {
    /// None: before TLS no command takes an argument.
    None,
    /// Before login: LOGIN's (name and password), each of at most this many
    /// bytes; nothing else needs one.
    LoginOnly(u64),
    /// Any, each of at most this many bytes.
    Any(u64),
}

impl Literals {
    /// Why a literal of `length` bytes in a command named `verb` is
    /// refused, if it is.
    fn refusal(self, verb: &[u8], length: u64) -> Option<&'static str> {
        match self {
            Literals::None => Some("No literal is accepted before TLS"),
            Literals::LoginOnly(max) if !verb.eq_ignore_ascii_case(b"LOGIN") || length > max => {
                Some("Before login only LOGIN takes literals, and short ones")
            }
            Literals::Any(max) if length > max => Some("The literal is too long"),
            _ => None,
        }
    }
}

pub enum Frame {
    /// A command, with the SEARCH extensions taken out of it for imap-codec
    /// (`esearch`; empty for other commands).
    Command(Command<'static>, SearchExtension),
    /// Commands of our own extension layer (imap-codec cannot parse them).
    List {
        tag: String,
        command: ListCommand,
        lsub: bool,
    },
    Acl {
        tag: String,
        command: AclCommand,
    },
    /// Unparseable input; the line was dropped.
    Bad {
        tag: Option<String>,
        reason: &'static str,
    },
    /// A line or literal over the limits; the command was dropped, and
    /// with `close` the connection must be closed (a literal that was sent
    /// uninvited, too big to be read).
    TooBig {
        tag: Option<String>,
        reason: &'static str,
        close: bool,
    },
    /// The client closed the connection.
    Closed,
}

#[derive(Default)]
pub struct Reader {
    buf: Vec<u8>,
    /// Rewrites the SEARCH extensions of the command being read.
    search: Rewriter,
}

const READ_CHUNK: usize = 16 * 1024;

/// A command of the extension layer: LIST-EXTENDED forms, or ACL.
fn extension(line: &[u8]) -> Option<Frame> {
    let line = std::str::from_utf8(line).ok()?;
    let (tag, rest) = line.split_once(' ')?;
    let (verb, args) = rest.split_once(' ')?;
    let tag = tag.to_string();
    if verb.eq_ignore_ascii_case("LIST") || verb.eq_ignore_ascii_case("LSUB") {
        let lsub = verb.eq_ignore_ascii_case("LSUB");
        return Some(Frame::List {
            tag,
            command: parse_list(args)?,
            lsub,
        });
    }
    Some(Frame::Acl {
        tag,
        command: parse_acl(verb, args)?,
    })
}

impl Reader {
    /// Bytes received but not yet consumed (STARTTLS must throw them away).
    /// Whether input beyond the command just read is waiting.
    pub fn has_buffered(&self) -> bool {
        !self.buf.is_empty()
    }

    pub fn discard_buffered(&mut self) -> usize {
        std::mem::take(&mut self.buf).len()
    }

    /// Reads one line (through CRLF) of at most `max` bytes, for
    /// AUTHENTICATE's continuation data; `None` at end of input.
    pub async fn line<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        max: usize,
    ) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(end) = memchr::memmem::find(&self.buf, b"\r\n") {
                let line = self.buf[..end].to_vec();
                self.buf.drain(..end + 2);
                return Ok(Some(line));
            }
            if self.buf.len() > max {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
            }
            if !self.fill(stream).await? {
                return Ok(None);
            }
        }
    }

    pub async fn command<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        limits: Limits,
    ) -> io::Result<Frame> {
        let frame = self.next_command(stream, limits).await;
        let extension = std::mem::take(&mut self.search).extension;
        Ok(match frame? {
            Frame::Command(command, _) => Frame::Command(command, extension),
            frame => frame,
        })
    }

    async fn next_command<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        limits: Limits,
    ) -> io::Result<Frame> {
        // Literal bytes accepted in this command: they do not count as line.
        let mut literal_bytes = 0usize;
        // Where the command's current line starts: after the data of the
        // last literal read. A command that turns out wrong is skipped from
        // there to the line's end, never by the first line end in the
        // buffer, which may lie inside a literal (message text must not
        // run as commands).
        let mut line_start = 0usize;
        // A literal not sent as literal8 held a NUL byte (RFC 3501 forbids
        // it; RFC 3516's `~{n}` allows it): said when the command fails.
        let mut nul_in_literal = false;
        loop {
            if let Err(reason) = self.search.rewrite(&mut self.buf) {
                let tag = self.tag();
                self.skip_line(stream).await?;
                return Ok(Frame::Bad { tag, reason });
            }
            if self.search.waiting(self.buf.len())
                && self.line_length(self.buf.len(), literal_bytes) <= limits.max_line
            {
                if !self.fill(stream).await? {
                    return Ok(Frame::Closed);
                }
                continue;
            }
            let outcome = CommandCodec::default().decode(&self.buf);
            match outcome {
                Ok((rest, command)) => {
                    let used = self.buf.len() - rest.len();
                    // A command read whole in one go was not measured on
                    // the way: measure it now.
                    if self.line_length(used, literal_bytes) > limits.max_line {
                        let tag = Some(command.tag.inner().to_string());
                        self.buf.drain(..used);
                        return Ok(Frame::TooBig {
                            tag,
                            reason: "The command line is too long",
                            close: false,
                        });
                    }
                    let command = command.into_static();
                    self.buf.drain(..used);
                    return Ok(Frame::Command(command, SearchExtension::default()));
                }
                Err(CommandDecodeError::Incomplete) => {
                    if self.line_length(self.buf.len(), literal_bytes) > limits.max_line {
                        let tag = self.tag();
                        self.skip_line(stream).await?;
                        return Ok(Frame::TooBig {
                            tag,
                            reason: "The command line is too long",
                            close: false,
                        });
                    }
                }
                Err(CommandDecodeError::LiteralFound { tag, length, mode }) => {
                    let length = length as usize;
                    // The literal limit holds for all literals of a command
                    // together, so that many of them cannot add up.
                    let refusal = limits
                        .literals
                        .refusal(self.verb(), (literal_bytes + length) as u64);
                    if let Some(reason) = refusal {
                        let tag = Some(tag.inner().to_string());
                        self.buf.clear();
                        // RFC 7888 4: a refused literal sent uninvited is on
                        // its way whatever the answer; it is not read (in any
                        // state: nobody has earned that bandwidth), the
                        // connection ends after the answer.
                        let close = mode == LiteralMode::NonSync;
                        return Ok(Frame::TooBig { tag, reason, close });
                    }
                    if mode == LiteralMode::Sync {
                        stream.write_all(b"+ Ready for literal data\r\n").await?;
                        stream.flush().await?;
                    }
                    // The literal's header ends its line (quoted strings
                    // hold no CRLF): its data starts after that line end.
                    let header_end = memchr::memmem::find(&self.buf[line_start..], b"\r\n")
                        .map_or(self.buf.len(), |at| line_start + at + 2);
                    let literal8 = self.buf[line_start..header_end]
                        .iter()
                        .rposition(|&b| b == b'{')
                        .is_some_and(|brace| brace > 0 && self.buf[line_start + brace - 1] == b'~');
                    line_start = header_end + length;
                    literal_bytes += length;
                    // The literal's bytes and at least one more: the command
                    // goes on after a literal (CRLF at least), and the codec
                    // finds an empty literal (`{0}`) again until something
                    // follows it.
                    let need = (self.buf.len() + length + 1).max(line_start + 1);
                    while self.buf.len() < need {
                        if !self.fill(stream).await? {
                            return Ok(Frame::Closed);
                        }
                    }
                    nul_in_literal |= !literal8 && self.buf[header_end..line_start].contains(&0);
                    continue;
                }
                Err(CommandDecodeError::Failed) => {
                    let tag = self.tag();
                    match memchr::memmem::find(&self.buf[line_start..], b"\r\n") {
                        Some(end) => {
                            let end = line_start + end;
                            let extension = (line_start == 0).then(|| extension(&self.buf[..end]));
                            self.buf.drain(..end + 2);
                            if let Some(frame) = extension.flatten() {
                                return Ok(frame);
                            }
                        }
                        None => {
                            self.buf.drain(..line_start);
                            self.skip_line(stream).await?;
                        }
                    }
                    let reason = match nul_in_literal {
                        true => {
                            "A literal holds a NUL byte: send such data as literal8 (~{n}, BINARY)"
                        }
                        false => "Command syntax error",
                    };
                    return Ok(Frame::Bad { tag, reason });
                }
            }
            if !self.fill(stream).await? {
                return Ok(Frame::Closed);
            }
        }
    }

    /// The length of the command in the first `end` buffered bytes as the
    /// client sent it: without its literal data, and before the SEARCH
    /// rewriting.
    fn line_length(&self, end: usize, literal_bytes: usize) -> usize {
        (end - literal_bytes).saturating_add_signed(-self.search.growth())
    }

    /// The first word of the pending input, if it is a plausible tag.
    fn tag(&self) -> Option<String> {
        let word = self
            .buf
            .split(|&b| b == b' ' || b == b'\r' || b == b'\n')
            .next()?;
        let ok = !word.is_empty()
            && word.len() <= 64
            && word
                .iter()
                .all(|&b| b.is_ascii_graphic() && !b"(){%*\"\\+".contains(&b));
        ok.then(|| String::from_utf8_lossy(word).into_owned())
    }

    /// The second word of the pending input: the command's name.
    fn verb(&self) -> &[u8] {
        self.buf
            .split(|&b| b == b' ' || b == b'\r' || b == b'\n')
            .nth(1)
            .unwrap_or_default()
    }

    /// Reads more input; false at end of input. Cancel-safe: `read_buf`
    /// only grows the buffer by what it read.
    async fn fill<S: AsyncRead + Unpin>(&mut self, stream: &mut S) -> io::Result<bool> {
        self.buf.reserve(READ_CHUNK);
        Ok(stream.read_buf(&mut self.buf).await? > 0)
    }

    /// Gives memory back between commands, so idle sessions stay small.
    pub fn shrink(&mut self) {
        if self.buf.is_empty() {
            self.buf = Vec::new();
        } else if self.buf.capacity() > 4 * READ_CHUNK {
            self.buf.shrink_to(READ_CHUNK);
        }
    }

    /// Drops input through the next CRLF, holding at most one chunk.
    async fn skip_line<S: AsyncRead + Unpin>(&mut self, stream: &mut S) -> io::Result<()> {
        loop {
            if let Some(end) = memchr::memmem::find(&self.buf, b"\r\n") {
                self.buf.drain(..end + 2);
                return Ok(());
            }
            // Keep a trailing CR: it may pair with the next chunk's LF.
            let keep = usize::from(self.buf.last() == Some(&b'\r'));
            self.buf.drain(..self.buf.len() - keep);
            if !self.fill(stream).await? {
                return Ok(());
            }
        }
    }
}
