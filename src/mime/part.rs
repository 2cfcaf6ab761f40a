//! The MIME part tree, built the way Dovecot's `message-parser.c` builds it,
//! over the CRLF (served) form of the message.

use super::header::{self, Field, newline_before};
use super::rfc822::{Parser, rfc2231_parse};

/// Boundaries longer than this are truncated (Dovecot's
/// `BOUNDARY_STRING_MAX_LEN`).
const BOUNDARY_MAX: usize = 70;

/// Dovecot's `MESSAGE_PARSER_DEFAULT_MAX_NESTED_MIME_PARTS`: a multipart or
/// message/rfc822 this deep is not parsed (this also bounds the recursion).
const MAX_NESTED: usize = 100;
/// Dovecot's `MESSAGE_PARSER_DEFAULT_MAX_TOTAL_MIME_PARTS`.
const MAX_PARTS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Leaf,
    Multipart,
    Message,
}

#[derive(Debug)]
pub struct Part {
    pub hdr_start: usize,
    pub hdr_end: usize,
    pub body_end: usize,
    pub fields: Vec<Field>,
    /// The header ended with an empty line.
    pub eoh: bool,
    /// The header was ended by a boundary line of an enclosing multipart.
    pub cut: bool,
    /// Nested too deeply, or too many parts: a multipart or message/rfc822
    /// that Dovecot leaves unparsed and describes as application/octet-stream.
    pub overflow: bool,
    pub kind: Kind,
    /// Multipart: its parts; message/rfc822: the one encapsulated message.
    pub children: Vec<Part>,
}

impl Part {
    pub fn body(&self) -> std::ops::Range<usize> {
        self.hdr_end..self.body_end
    }
}

struct Bound {
    text: Vec<u8>,
    owner: usize, // nesting depth of the multipart that owns it
}

enum Stop {
    Eof,
    /// A boundary line of `bounds[idx]` starts at `at`; `end` says `--B--`.
    Boundary {
        idx: usize,
        at: usize,
        end: bool,
    },
}

struct Ctx<'a> {
    s: &'a [u8],
    bounds: Vec<Bound>,
    /// Parts seen so far.
    parts: usize,
    /// message/global encapsulates a message too (IMAP4rev2).
    global: bool,
}

/// What the first Content-Type says, as the message parser sees it.
struct CtInfo {
    kind: Kind,
    digest: bool,
    boundary: Option<Vec<u8>>,
    seen: bool,
}

fn content_type_info(s: &[u8], fields: &[Field], global: bool) -> CtInfo {
    let mut info = CtInfo {
        kind: Kind::Leaf,
        digest: false,
        boundary: None,
        seen: false,
    };
    let Some(f) = fields.iter().find(|f| f.is(s, "Content-Type")) else {
        return info;
    };
    info.seen = true;
    let mut p = Parser::new(f.value(s));
    p.skip_lwsp();
    let mut ct = Vec::new();
    let ret = p.parse_content_type(&mut ct);
    if ct.eq_ignore_ascii_case(b"message/rfc822")
        || (global && ct.eq_ignore_ascii_case(b"message/global"))
    {
        info.kind = Kind::Message;
    } else if ct.len() >= 10 && ct[..10].eq_ignore_ascii_case(b"multipart/") {
        info.kind = Kind::Multipart;
        info.digest = ct[10..].eq_ignore_ascii_case(b"digest");
    }
    if ret < 0 || info.kind != Kind::Multipart {
        return info;
    }
    let (params, _) = rfc2231_parse(&mut p);
    if let Some((_, v)) = params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(b"boundary"))
    {
        let mut b = v.clone();
        b.truncate(BOUNDARY_MAX);
        info.boundary = Some(b);
    }
    info
}

impl Ctx<'_> {
    /// The boundary (index into `bounds`) the line at `pos` starts, if any:
    /// the longest matching prefix, the innermost on a tie.
    fn boundary_at(&self, pos: usize, end: usize) -> Option<(usize, bool)> {
        if self.bounds.is_empty() {
            return None;
        }
        let s = self.s;
        if end - pos < 2 || s[pos] != b'-' || s[pos + 1] != b'-' {
            return None;
        }
        let le = header::line_end(s, pos, end);
        let mut line = &s[pos + 2..le];
        if line.last() == Some(&b'\n') {
            line = &line[..line.len() - 1];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
        }
        let mut best: Option<usize> = None;
        for (i, b) in self.bounds.iter().enumerate().rev() {
            if b.text.len() <= line.len()
                && line[..b.text.len()] == b.text[..]
                && best.is_none_or(|x| self.bounds[x].text.len() < b.text.len())
            {
                best = Some(i);
            }
        }
        best.map(|i| {
            let n = self.bounds[i].text.len();
            (i, line.len() >= n + 2 && &line[n..n + 2] == b"--")
        })
    }

    /// Scans lines from `pos` for the next boundary line.
    fn find_boundary(&self, mut pos: usize, end: usize) -> Stop {
        if self.bounds.is_empty() {
            return Stop::Eof;
        }
        while pos < end {
            if let Some((idx, is_end)) = self.boundary_at(pos, end) {
                return Stop::Boundary {
                    idx,
                    at: pos,
                    end: is_end,
                };
            }
            pos = header::line_end(self.s, pos, end);
        }
        Stop::Eof
    }

    /// Parses one part starting at `start`. The returned flag says that the
    /// line end before the boundary line in `Stop` belongs to the parent's
    /// body (it was taken from this part's header).
    fn parse_part(
        &mut self,
        start: usize,
        end: usize,
        depth: usize,
        in_digest: bool,
    ) -> (Part, Stop, bool) {
        let s = self.s;
        let hdr = {
            let this = &*self;
            header::parse(s, start, end, &mut |pos| {
                this.boundary_at(pos, end).is_some()
            })
        };
        let info = content_type_info(s, &hdr.fields, self.global);
        let mut kind = info.kind;
        if !info.seen && in_digest {
            kind = Kind::Message;
        }
        self.parts += 1;
        let overflow = kind != Kind::Leaf && (depth + 1 >= MAX_NESTED || self.parts >= MAX_PARTS);
        if overflow {
            kind = Kind::Leaf;
        }
        let mut part = Part {
            hdr_start: start,
            hdr_end: hdr.end,
            body_end: hdr.end,
            fields: hdr.fields,
            eoh: hdr.eoh,
            cut: hdr.by_boundary,
            overflow,
            kind,
            children: Vec::new(),
        };
        if hdr.by_boundary {
            let stop = self.find_boundary(hdr.next, end);
            if kind == Kind::Message {
                part.children.push(empty_part(hdr.end));
            }
            return (part, stop, hdr.end < hdr.next);
        }
        let body_start = hdr.end;
        match kind {
            Kind::Multipart => {
                let Some(boundary) = info.boundary else {
                    let stop = self.find_boundary(body_start, end);
                    let moved = self.finish(&mut part, &stop, end);
                    return (part, stop, moved);
                };
                let mine = self.bounds.len();
                self.bounds.push(Bound {
                    text: boundary,
                    owner: depth,
                });
                let mut stop = self.find_boundary(body_start, end);
                let mut moved = false;
                loop {
                    match stop {
                        Stop::Eof => {
                            self.bounds.truncate(mine);
                            part.body_end = end;
                            return (part, Stop::Eof, false);
                        }
                        Stop::Boundary {
                            idx,
                            at,
                            end: is_end,
                        } if idx == mine => {
                            let after = header::line_end(s, at, end);
                            if is_end {
                                self.bounds.truncate(mine);
                                let next = self.find_boundary(after, end);
                                part.body_end = self.end_before(&next, after, end);
                                return (part, next, false);
                            }
                            let (child, cstop, cmoved) =
                                self.parse_part(after, end, depth + 1, info.digest);
                            part.children.push(child);
                            stop = cstop;
                            moved = cmoved;
                        }
                        Stop::Boundary { idx, at, .. } => {
                            debug_assert!(idx < mine && self.bounds[idx].owner < depth);
                            self.bounds.truncate(mine);
                            if moved {
                                part.body_end = at;
                                return (part, stop, true);
                            }
                            if let Some(last) = part.children.last() {
                                // only a line end inside the last part goes to
                                // the boundary (not the one ending our own
                                // boundary line)
                                part.body_end = at - newline_before(s, at, last.hdr_start);
                                return (part, stop, false);
                            }
                            let moved = self.finish(&mut part, &stop, end);
                            return (part, stop, moved);
                        }
                    }
                }
            }
            Kind::Message => {
                let (mut child, stop, cmoved) = self.parse_part(body_start, end, depth + 1, false);
                part.body_end = child.body_end.max(body_start);
                let mut moved = false;
                if cmoved {
                    if let Stop::Boundary { at, .. } = stop {
                        part.body_end = at;
                    }
                    moved = true;
                } else if child.body_end == body_start {
                    moved = self.finish(&mut part, &stop, end);
                    child = empty_part(part.hdr_end);
                }
                part.children.push(child);
                (part, stop, moved)
            }
            Kind::Leaf => {
                let stop = self.find_boundary(body_start, end);
                let moved = self.finish(&mut part, &stop, end);
                (part, stop, moved)
            }
        }
    }

    /// Ends the body of `part` (scanned from its start) at `stop`. When an
    /// enclosing boundary line follows the header's empty line directly,
    /// that line end belongs to the boundary and leaves the header.
    fn finish(&self, part: &mut Part, stop: &Stop, end: usize) -> bool {
        if let Stop::Boundary { at, .. } = *stop
            && at == part.hdr_end
            && part.eoh
        {
            let nl = newline_before(self.s, at, part.hdr_start);
            part.hdr_end -= nl;
            part.body_end = part.hdr_end;
            return nl > 0;
        }
        part.body_end = self.end_before(stop, part.hdr_end, end);
        false
    }

    /// The end of a body that stops at `stop` (the line end before a
    /// boundary line belongs to the boundary).
    fn end_before(&self, stop: &Stop, body_start: usize, end: usize) -> usize {
        match *stop {
            Stop::Eof => end,
            Stop::Boundary { at, .. } => at - newline_before(self.s, at, body_start),
        }
    }
}

fn empty_part(at: usize) -> Part {
    Part {
        hdr_start: at,
        hdr_end: at,
        body_end: at,
        fields: Vec::new(),
        eoh: false,
        cut: false,
        overflow: false,
        kind: Kind::Leaf,
        children: Vec::new(),
    }
}

/// Parses the whole message (`s` is the CRLF form); with `global`,
/// message/global parts are messages as message/rfc822 ones are (RFC 9051
/// 7.5.2), else leaves (IMAP4rev1, as Dovecot 2.3 has them).
pub fn parse(s: &[u8], global: bool) -> Part {
    let mut ctx = Ctx {
        s,
        bounds: Vec::new(),
        parts: 0,
        global,
    };
    ctx.parse_part(0, s.len(), 0, false).0
}
