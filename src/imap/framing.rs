//! Reading whole commands off the wire: lines and the literals inside
//! them, within limits. imap-codec parses; this layer decides when to read
//! more, when to invite a literal (`+`), and when to refuse one.

use imap_codec::CommandCodec;
use imap_codec::decode::{CommandDecodeError, Decoder};
use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::imap_types::core::LiteralMode;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use std::io;

use super::esearch::{Rewriter, Rewritten};
use super::extensions::{AclCommand, ListCommand, parse_acl, parse_cancel_update, parse_list};
use super::notify::{self, NotifyCommand};

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
    Command(Command<'static>, Rewritten),
    /// An APPEND of several messages (MULTIAPPEND, RFC 3502), one command
    /// per message in order, all with the first one's tag; the first names
    /// the mailbox. imap-codec reads one message per APPEND, so the framing
    /// reads each further message as an APPEND of its own.
    MultiAppend(Vec<Command<'static>>, Rewritten),
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
    /// CANCELUPDATE (RFC 5267 4.3.5): the tags of the searches to stop
    /// keeping up to date.
    CancelUpdate {
        tag: String,
        tags: Vec<String>,
    },
    /// NOTIFY (RFC 5465).
    Notify {
        tag: String,
        command: NotifyCommand,
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
    if verb.eq_ignore_ascii_case("NOTIFY") {
        return Some(match notify::parse(args) {
            Ok(command) => Frame::Notify { tag, command },
            Err(reason) => Frame::Bad {
                tag: Some(tag),
                reason,
            },
        });
    }
    if verb.eq_ignore_ascii_case("CANCELUPDATE") {
        return Some(Frame::CancelUpdate {
            tag,
            tags: parse_cancel_update(args)?,
        });
    }
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

    /// Waits for input and reads what came; false at end of input. It
    /// may be cancelled: a read either happened or not (a session told of
    /// changes between commands waits here, not in `command`).
    pub async fn wait_input<S: AsyncRead + Unpin>(&mut self, stream: &mut S) -> io::Result<bool> {
        if !self.buf.is_empty() {
            return Ok(true);
        }
        self.fill(stream).await
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
            Frame::MultiAppend(commands, _) => Frame::MultiAppend(commands, extension),
            frame => frame,
        })
    }

    async fn next_command<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        limits: Limits,
    ) -> io::Result<Frame> {
        // The messages of a MULTIAPPEND read so far (each as an APPEND of
        // its own), the literal bytes they held, and how much longer the
        // command's line was than what the buffer holds of it: the line of
        // the messages read, less the start of an APPEND written in front
        // of each further message.
        let mut appends: Vec<Command<'static>> = Vec::new();
        let mut literals_before = 0usize;
        let mut line_offset = 0isize;
        loop {
            if let Err(reason) = self.search.rewrite(&mut self.buf) {
                let tag = self.tag();
                self.skip_line(stream).await?;
                return Ok(Frame::Bad { tag, reason });
            }
            // The literals announced so far, whether imap-codec has met
            // them yet or not (it does not stop at one whose data came
            // with it): the limits hold for them all.
            let literals = literals(&self.buf);
            let announced: usize = literals.iter().map(|l| l.length).sum();
            let refusal = match literals.last() {
                Some(_) => limits
                    .literals
                    .refusal(self.verb(), (literals_before + announced) as u64),
                None => None,
            };
            if let (Some(reason), Some(last)) = (refusal, literals.last()) {
                // RFC 7888 4: a refused literal sent uninvited is on its
                // way whatever the answer; it is not read (in any state:
                // nobody has earned that bandwidth), the connection ends
                // after the answer. One not invited yet is not sent.
                let close = !last.synchronizing || last.data < self.buf.len();
                let tag = self.tag();
                self.buf.clear();
                return Ok(Frame::TooBig { tag, reason, close });
            }
            let line_length =
                |reader: &Self, end: usize| reader.line_length(end, &literals, line_offset);
            if self.search.waiting(self.buf.len())
                && line_length(self, self.buf.len()) <= limits.max_line
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
                    if line_length(self, used) > limits.max_line {
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
                    if !appends.is_empty() {
                        appends.push(command);
                        return Ok(Frame::MultiAppend(appends, Rewritten::default()));
                    }
                    return Ok(Frame::Command(command, Rewritten::default()));
                }
                Err(CommandDecodeError::Incomplete) => {
                    if line_length(self, self.buf.len()) > limits.max_line {
                        let tag = self.tag();
                        self.skip_line(stream).await?;
                        return Ok(Frame::TooBig {
                            tag,
                            reason: "The command line is too long",
                            close: false,
                        });
                    }
                }
                Err(CommandDecodeError::LiteralFound { mode, .. }) => {
                    let Some(literal) = literals.last() else {
                        // imap-codec and `literals` disagree on the input.
                        let tag = self.tag();
                        self.skip_line(stream).await?;
                        return Ok(Frame::Bad {
                            tag,
                            reason: "Command syntax error",
                        });
                    };
                    if mode == LiteralMode::Sync {
                        stream.write_all(b"+ Ready for literal data\r\n").await?;
                        stream.flush().await?;
                    }
                    // The literal's bytes and at least one more: the command
                    // goes on after a literal (CRLF at least), and the codec
                    // finds an empty literal (`{0}`) again until something
                    // follows it.
                    let need = literal.data + literal.length + 1;
                    while self.buf.len() < need {
                        if !self.fill(stream).await? {
                            return Ok(Frame::Closed);
                        }
                    }
                    continue;
                }
                Err(CommandDecodeError::Failed) => {
                    if let Some((message, end, written)) = self.further_message(&literals) {
                        self.search.replaced(end, written);
                        // The buffer now starts an APPEND of the next message.
                        let held: usize = literals
                            .iter()
                            .filter(|l| l.data < end)
                            .map(|l| l.length)
                            .sum();
                        line_offset += (end - held) as isize - written as isize;
                        literals_before += held;
                        appends.push(message);
                        continue;
                    }
                    // The command is skipped from the end of its last
                    // literal to the line's end, never by the first line
                    // end in the buffer, which may lie inside a literal
                    // (message text must not run as commands).
                    let line_start = literals
                        .iter()
                        .map(|l| l.data + l.length)
                        .rfind(|&end| end <= self.buf.len())
                        .unwrap_or(0);
                    // A literal not sent as literal8 held a NUL byte (RFC
                    // 3501 forbids it; RFC 3516's `~{n}` allows it).
                    let nul_in_literal = literals.iter().any(|l| {
                        !l.literal8
                            && self
                                .buf
                                .get(l.data..(l.data + l.length).min(self.buf.len()))
                                .is_some_and(|data| data.contains(&0))
                    });
                    let tag = self.tag();
                    match memchr::memmem::find(&self.buf[line_start..], b"\r\n") {
                        Some(end) => {
                            let end = line_start + end;
                            let extension = (line_start == 0 && appends.is_empty())
                                .then(|| extension(&self.buf[..end]));
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
    /// client sent it: without the data of its `literals`, before the SEARCH
    /// rewriting, and `offset` more for what is no longer buffered.
    fn line_length(&self, end: usize, literals: &[LiteralAt], offset: isize) -> usize {
        let data: usize = literals
            .iter()
            .map(|l| (l.data + l.length).min(end).saturating_sub(l.data))
            .sum();
        (end - data).saturating_add_signed(offset - self.search.growth())
    }

    /// Another message after the one an APPEND just read (MULTIAPPEND,
    /// RFC 3502): the APPEND up to the end of the literal after which a
    /// space follows (and imap-codec reads an APPEND), and the buffer
    /// rewritten to start an APPEND of the next message (same tag, a
    /// placeholder mailbox) with what the client sent after that, so that
    /// imap-codec reads it as it read the first. Also returns where the
    /// first ended and how many bytes were written in front. `None` if the
    /// input is not that.
    fn further_message(
        &mut self,
        literals: &[LiteralAt],
    ) -> Option<(Command<'static>, usize, usize)> {
        if !self.verb().eq_ignore_ascii_case(b"APPEND") {
            return None;
        }
        let (end, command) = literals.iter().find_map(|literal| {
            let end = literal.data + literal.length;
            if self.buf.get(end) != Some(&b' ') {
                return None;
            }
            let mut read = self.buf[..end].to_vec();
            read.extend_from_slice(b"\r\n");
            let (rest, command) = CommandCodec::default().decode(&read).ok()?;
            let append = rest.is_empty() && matches!(command.body, CommandBody::Append { .. });
            append.then(|| (end, command.into_static()))
        })?;
        let start = format!("{} APPEND INBOX", command.tag.inner());
        self.buf.splice(..end, start.bytes());
        Some((command, end, start.len()))
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

/// A literal of the command being read: where its data starts in the
/// buffer, and its announced length.
#[derive(Debug, PartialEq, Eq)]
struct LiteralAt {
    data: usize,
    length: usize,
    /// Sent as `{n}`, waiting for the server's `+` (not LITERAL+'s `{n+}`).
    synchronizing: bool,
    /// Sent as `~{n}` (RFC 3516), which may hold NUL bytes.
    literal8: bool,
}

/// The literals of the command at the start of `input`, in order: a line
/// that ends in a literal's header (`{n}`, `{n+}`, `~{n}`) goes on after
/// its data, which may hold anything; the first line that does not ends
/// the command.
fn literals(input: &[u8]) -> Vec<LiteralAt> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(end) = input
        .get(at..)
        .and_then(|rest| memchr::memmem::find(rest, b"\r\n"))
    {
        let line = &input[at..at + end];
        let Some(header) = line.strip_suffix(b"}") else {
            break;
        };
        let Some(open) = header.iter().rposition(|&b| b == b'{') else {
            break;
        };
        let (digits, synchronizing) = match header[open + 1..].strip_suffix(b"+") {
            Some(digits) => (digits, false),
            None => (&header[open + 1..], true),
        };
        let length = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse::<usize>().ok());
        let Some(length) = length.filter(|_| !digits.is_empty()) else {
            break;
        };
        let data = at + end + 2;
        found.push(LiteralAt {
            data,
            length,
            synchronizing,
            literal8: open > 0 && header[open - 1] == b'~',
        });
        at = data.saturating_add(length);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_found_through_their_data() {
        let input =
            b"a APPEND {3}\r\nbox (\\Seen) ~{5+}\r\nx}\r\n{ {9}\r\nSubject:b\r\nb NOOP {1}\r\n";
        let found = literals(input);
        assert_eq!(
            found,
            vec![
                LiteralAt {
                    data: 14,
                    length: 3,
                    synchronizing: true,
                    literal8: false
                },
                LiteralAt {
                    data: 33,
                    length: 5,
                    synchronizing: false,
                    literal8: true
                },
                LiteralAt {
                    data: 44,
                    length: 9,
                    synchronizing: true,
                    literal8: false
                },
            ]
        );
        // Not a literal: the command ends there.
        assert!(literals(b"a LOGIN {x}\r\n").is_empty());
        assert!(literals(b"a LOGIN {}\r\n").is_empty());
        // A header whose data has not come yet is found all the same.
        assert_eq!(literals(b"a APPEND box {99999}\r\n").len(), 1);
    }
}
