//! Header blocks as Dovecot's `message-header-parser.c` splits them.

use std::ops::Range;

/// One header field: `name` trimmed of trailing whitespace, `value` the raw
/// value after the colon and its leading blanks up to the last line's
/// line end (folding CRLFs included), `lines` every line of the field
/// with its line end.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: Range<usize>,
    pub value: Range<usize>,
    pub lines: Range<usize>,
}

impl Field {
    pub fn name<'a>(&self, s: &'a [u8]) -> &'a [u8] {
        &s[self.name.clone()]
    }
    pub fn value<'a>(&self, s: &'a [u8]) -> &'a [u8] {
        &s[self.value.clone()]
    }
    pub fn is(&self, s: &[u8], name: &str) -> bool {
        self.name(s).eq_ignore_ascii_case(name.as_bytes())
    }
}

pub struct Header {
    pub fields: Vec<Field>,
    /// End of the header block (after the empty line, if any).
    pub end: usize,
    /// Where parsing continues: `end`, or the start of the boundary line
    /// that ended the header.
    pub next: usize,
    /// The header was ended by a MIME boundary line.
    pub by_boundary: bool,
    /// The header ended with an empty line.
    pub eoh: bool,
}

/// End of the line starting at `pos` (after its LF, or `end`).
pub fn line_end(s: &[u8], pos: usize, end: usize) -> usize {
    match memchr::memchr(b'\n', &s[pos..end]) {
        Some(i) => pos + i + 1,
        None => end,
    }
}

/// Length of the line end just before `pos` that lies at or after `min`.
pub fn newline_before(s: &[u8], pos: usize, min: usize) -> usize {
    if pos > min && s[pos - 1] == b'\n' {
        if pos - 1 > min && s[pos - 2] == b'\r' {
            2
        } else {
            1
        }
    } else {
        0
    }
}

/// Parses the header starting at `start`. `is_boundary` says whether a line
/// (from its start) is a MIME boundary of an enclosing multipart.
pub fn parse(
    s: &[u8],
    start: usize,
    end: usize,
    is_boundary: &mut dyn FnMut(usize) -> bool,
) -> Header {
    let mut fields: Vec<Field> = Vec::new();
    let mut pos = start;
    while pos < end {
        if is_boundary(pos) {
            let nl = newline_before(s, pos, start);
            return Header {
                fields,
                end: pos - nl,
                next: pos,
                by_boundary: true,
                eoh: false,
            };
        }
        let le = line_end(s, pos, end);
        let mut content_end = le;
        if content_end > pos && s[content_end - 1] == b'\n' {
            content_end -= 1;
            if content_end > pos && s[content_end - 1] == b'\r' {
                content_end -= 1;
            }
        }
        if content_end == pos && le > pos {
            // the empty line ending the header
            return Header {
                fields,
                end: le,
                next: le,
                by_boundary: false,
                eoh: true,
            };
        }
        if matches!(s[pos], b' ' | b'\t') && !fields.is_empty() {
            let f = fields.last_mut().unwrap();
            f.value.end = content_end;
            f.lines.end = le;
        } else {
            let line = &s[pos..content_end];
            match memchr::memchr(b':', line) {
                Some(colon) => {
                    let mut ne = pos + colon;
                    while ne > pos && matches!(s[ne - 1], b' ' | b'\t') {
                        ne -= 1;
                    }
                    let mut vs = pos + colon + 1;
                    while vs < content_end && matches!(s[vs], b' ' | b'\t') {
                        vs += 1;
                    }
                    fields.push(Field {
                        name: pos..ne,
                        value: vs..content_end,
                        lines: pos..le,
                    });
                }
                None => fields.push(Field {
                    name: pos..content_end,
                    value: content_end..content_end,
                    lines: pos..le,
                }),
            }
        }
        pos = le;
    }
    Header {
        fields,
        end,
        next: end,
        by_boundary: false,
        eoh: false,
    }
}
