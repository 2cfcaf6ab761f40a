//! The RFC 822 tokenizer of Dovecot's `rfc822-parser.c` (comments, quoted
//! strings, atoms, MIME tokens, parameters) and its RFC 2231 parameter merge.

/// `atext` of RFC 5322; Dovecot also counts 8-bit bytes as atext.
pub fn is_atext(c: u8) -> bool {
    c >= 0x80 || c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c)
}

/// atext that is not a MIME tspecial.
pub fn is_token_char(c: u8) -> bool {
    is_atext(c) && !matches!(c, b'/' | b'=' | b'?')
}

pub struct Parser<'a> {
    pub data: &'a [u8],
    pub pos: usize,
    /// When `Some`, the text of the last comment skipped.
    pub last_comment: Option<Vec<u8>>,
}

impl<'a> Parser<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Parser {
            data,
            pos: 0,
            last_comment: None,
        }
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The current byte (0 at the end, which matches nothing useful).
    pub fn cur(&self) -> u8 {
        self.data.get(self.pos).copied().unwrap_or(0)
    }

    /// `rfc822_skip_lwsp()`: 1 when data remains, 0 at the end, -1 on an
    /// unterminated comment.
    pub fn skip_lwsp(&mut self) -> i32 {
        while self.pos < self.data.len() {
            match self.data[self.pos] {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'(' => {
                    if self.skip_comment_inner() < 0 {
                        return -1;
                    }
                }
                _ => break,
            }
        }
        if self.at_end() { 0 } else { 1 }
    }

    fn skip_comment_inner(&mut self) -> i32 {
        if let Some(c) = self.last_comment.as_mut() {
            c.clear();
        }
        self.pos += 1;
        let mut start = self.pos;
        let mut level = 1;
        while self.pos < self.data.len() {
            match self.data[self.pos] {
                b'(' => level += 1,
                b')' => {
                    level -= 1;
                    if level == 0 {
                        if let Some(c) = self.last_comment.as_mut() {
                            c.extend_from_slice(&self.data[start..self.pos]);
                        }
                        self.pos += 1;
                        return 1;
                    }
                }
                b'\n' => {
                    if let Some(c) = self.last_comment.as_mut() {
                        let mut end = self.pos;
                        if end > start && self.data[end - 1] == b'\r' {
                            end -= 1;
                        }
                        c.extend_from_slice(&self.data[start..end]);
                        start = self.pos + 1;
                    }
                }
                b'\\' => {
                    self.pos += 1;
                    if self.pos >= self.data.len() {
                        return -1;
                    }
                    if matches!(self.data[self.pos], b'\r' | b'\n' | 0) {
                        self.pos -= 1;
                    } else if let Some(c) = self.last_comment.as_mut() {
                        c.extend_from_slice(&self.data[start..self.pos - 1]);
                        start = self.pos;
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        -1
    }

    /// `rfc822_parse_quoted_string()`; the current byte must be `"`.
    pub fn parse_quoted_string(&mut self, out: &mut Vec<u8>) -> i32 {
        self.pos += 1;
        let mut start = self.pos;
        while self.pos < self.data.len() {
            match self.data[self.pos] {
                b'"' => {
                    out.extend_from_slice(&self.data[start..self.pos]);
                    self.pos += 1;
                    return self.skip_lwsp();
                }
                b'\n' => {
                    let mut end = self.pos;
                    if end > start && self.data[end - 1] == b'\r' {
                        end -= 1;
                    }
                    out.extend_from_slice(&self.data[start..end]);
                    start = self.pos + 1;
                }
                b'\\' => {
                    self.pos += 1;
                    if self.pos >= self.data.len() {
                        return -1;
                    }
                    if matches!(self.data[self.pos], b'\r' | b'\n' | 0) {
                        self.pos -= 1;
                    } else {
                        out.extend_from_slice(&self.data[start..self.pos - 1]);
                        start = self.pos;
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        -1
    }

    /// `rfc822_parse_atom_or_dot()` (phrase words).
    pub fn parse_atom_or_dot(&mut self, out: &mut Vec<u8>) -> i32 {
        if self.at_end() || !is_atext(self.cur()) {
            return -1;
        }
        let start = self.pos;
        self.pos += 1;
        while self.pos < self.data.len() {
            let c = self.data[self.pos];
            if is_atext(c) || c == b'.' {
                self.pos += 1;
                continue;
            }
            out.extend_from_slice(&self.data[start..self.pos]);
            return self.skip_lwsp();
        }
        out.extend_from_slice(&self.data[start..]);
        0
    }

    /// `rfc822_parse_atom()`.
    pub fn parse_atom(&mut self, out: &mut Vec<u8>) -> i32 {
        if self.at_end() || !is_atext(self.cur()) {
            return -1;
        }
        let start = self.pos;
        self.pos += 1;
        while self.pos < self.data.len() {
            if is_atext(self.data[self.pos]) {
                self.pos += 1;
                continue;
            }
            out.extend_from_slice(&self.data[start..self.pos]);
            return self.skip_lwsp();
        }
        out.extend_from_slice(&self.data[start..]);
        0
    }

    /// `rfc822_parse_dot_atom()`, lenient about whitespace around dots.
    pub fn parse_dot_atom(&mut self, out: &mut Vec<u8>) -> i32 {
        if self.at_end() || !is_atext(self.cur()) {
            return -1;
        }
        let mut start = self.pos;
        self.pos += 1;
        while self.pos < self.data.len() {
            if is_atext(self.data[self.pos]) {
                self.pos += 1;
                continue;
            }
            if start != self.pos {
                out.extend_from_slice(&self.data[start..self.pos]);
            }
            let ret = self.skip_lwsp();
            if ret <= 0 {
                return ret;
            }
            if self.cur() != b'.' {
                return 1;
            }
            self.pos += 1;
            out.push(b'.');
            let ret = self.skip_lwsp();
            if ret <= 0 {
                return ret;
            }
            start = self.pos;
        }
        out.extend_from_slice(&self.data[start..]);
        0
    }

    /// `rfc822_parse_domain()`; the current byte must be `@`.
    pub fn parse_domain(&mut self, out: &mut Vec<u8>) -> i32 {
        self.pos += 1;
        if self.skip_lwsp() <= 0 {
            return -1;
        }
        if self.cur() == b'[' {
            let start = self.pos;
            self.pos += 1;
            while self.pos < self.data.len() {
                match self.data[self.pos] {
                    b'\\' => {
                        self.pos += 1;
                        if self.pos >= self.data.len() {
                            break;
                        }
                    }
                    b']' => {
                        self.pos += 1;
                        out.extend_from_slice(&self.data[start..self.pos]);
                        return self.skip_lwsp();
                    }
                    _ => {}
                }
                self.pos += 1;
            }
            -1
        } else {
            self.parse_dot_atom(out)
        }
    }

    /// `rfc822_parse_phrase()`: words joined by single spaces.
    pub fn parse_phrase(&mut self, out: &mut Vec<u8>) -> i32 {
        if self.at_end() {
            return 0;
        }
        if self.cur() == b'.' {
            return -1;
        }
        loop {
            let ret = if self.cur() == b'"' {
                self.parse_quoted_string(out)
            } else {
                self.parse_atom_or_dot(out)
            };
            if ret <= 0 {
                return ret;
            }
            let c = self.cur();
            if !is_atext(c) && c != b'"' && c != b'.' {
                break;
            }
            out.push(b' ');
        }
        self.skip_lwsp()
    }

    /// `rfc822_parse_mime_token()`.
    pub fn parse_mime_token(&mut self, out: &mut Vec<u8>) -> i32 {
        let start = self.pos;
        while self.pos < self.data.len() {
            let c = self.data[self.pos];
            if is_token_char(c) || c == b'.' {
                self.pos += 1;
                continue;
            }
            out.extend_from_slice(&self.data[start..self.pos]);
            return self.skip_lwsp();
        }
        out.extend_from_slice(&self.data[start..]);
        0
    }

    /// `rfc822_parse_content_type()`: "type/subtype" into `out`. A lone
    /// type at the end of the value is kept (with -1); any other failure,
    /// including trailing garbage not starting with `;`, empties `out`.
    pub fn parse_content_type(&mut self, out: &mut Vec<u8>) -> i32 {
        if self.skip_lwsp() <= 0 {
            return -1;
        }
        let len = out.len();
        if self.parse_mime_token(out) <= 0 || out.len() == len {
            return -1;
        }
        let fail = |out: &mut Vec<u8>| {
            out.truncate(len);
            -1
        };
        if self.cur() != b'/' {
            return fail(out);
        }
        self.pos += 1;
        out.push(b'/');
        if self.skip_lwsp() <= 0 {
            return fail(out);
        }
        let sub = out.len();
        let ret = self.parse_mime_token(out);
        if ret < 0 || out.len() == sub || (!self.at_end() && self.cur() != b';') {
            return fail(out);
        }
        ret
    }

    /// `rfc822_parse_content_param()`: 0 at the end, -1 broken, 1 with a pair.
    pub fn parse_content_param(&mut self) -> (i32, Vec<u8>, Vec<u8>) {
        if self.at_end() {
            return (0, Vec::new(), Vec::new());
        }
        if self.cur() != b';' {
            return (-1, Vec::new(), Vec::new());
        }
        self.pos += 1;
        if self.skip_lwsp() <= 0 {
            return (-1, Vec::new(), Vec::new());
        }
        let mut key = Vec::new();
        if self.parse_mime_token(&mut key) <= 0 {
            return (-1, key, Vec::new());
        }
        if self.cur() != b'=' {
            return (-1, key, Vec::new());
        }
        self.pos += 1;
        let mut value = Vec::new();
        let mut ret = self.skip_lwsp();
        if ret <= 0 {
            // broken / no value
        } else if self.cur() == b'"' {
            ret = self.parse_quoted_string(&mut value);
        } else if self.cur() == b'=' {
            // name==?utf-8?b?...?=
            while self.pos < self.data.len()
                && !matches!(self.data[self.pos], b';' | b' ' | b'\t' | b'\r' | b'\n')
            {
                value.push(self.data[self.pos]);
                self.pos += 1;
            }
        } else {
            ret = self.parse_mime_token(&mut value);
        }
        (if ret < 0 { -1 } else { 1 }, key, value)
    }
}

struct Rfc2231Param {
    key: Vec<u8>,
    idx: u32,
    extended: bool,
    value: Vec<u8>,
}

fn lower(v: &[u8]) -> Vec<u8> {
    v.to_ascii_lowercase()
}

fn rfc2231_escape(out: &mut Vec<u8>, v: &[u8]) {
    for &c in v {
        if c == b'%' {
            out.extend_from_slice(b"%25");
        } else {
            out.push(c);
        }
    }
}

/// Parameters as (name, value) pairs, in order.
pub type Params = Vec<(Vec<u8>, Vec<u8>)>;

/// `rfc2231_parse()`: the `; key=value` parameters with RFC 2231
/// continuations merged; returns (pairs, broken).
pub fn rfc2231_parse(p: &mut Parser) -> (Params, bool) {
    let mut result = Vec::new();
    let mut ext: Vec<Rfc2231Param> = Vec::new();
    let mut broken = false;
    let mut idx = 0u32;
    loop {
        let (ret, key, value) = p.parse_content_param();
        if ret == 0 {
            break;
        }
        if ret < 0 {
            broken = true;
            if p.at_end() {
                break;
            }
            p.pos += 1;
            continue;
        }
        if let Some(star) = key.iter().position(|&c| c == b'*') {
            let mut i = star;
            if i + 1 < key.len() {
                i += 1;
                idx = 0;
                while i < key.len() && key[i].is_ascii_digit() {
                    idx = idx.wrapping_mul(10).wrapping_add((key[i] - b'0') as u32);
                    i += 1;
                }
            }
            let extended = i < key.len() && key[i] == b'*';
            if extended {
                i += 1;
            }
            if i >= key.len() {
                ext.push(Rfc2231Param {
                    key: key[..star].to_vec(),
                    idx,
                    extended,
                    value,
                });
                continue;
            }
        }
        result.push((key, value));
    }
    if ext.is_empty() {
        return (result, broken);
    }
    ext.sort_by(|a, b| lower(&a.key).cmp(&lower(&b.key)).then(a.idx.cmp(&b.idx)));
    let mut i = 0;
    while i < ext.len() {
        let mut ok = true;
        let mut have_extended = false;
        let mut next_idx = 0;
        let mut j = i;
        while j < ext.len() && lower(&ext[i].key) == lower(&ext[j].key) {
            if ext[j].idx != next_idx {
                ok = false;
            }
            if ext[j].extended {
                have_extended = true;
            }
            next_idx += 1;
            j += 1;
        }
        if !ok {
            for e in &ext[i..j] {
                let k = if e.extended {
                    format!("{}*{}*", String::from_utf8_lossy(&e.key), e.idx)
                } else {
                    format!("{}*{}", String::from_utf8_lossy(&e.key), e.idx)
                };
                result.push((k.into_bytes(), e.value.clone()));
            }
        } else {
            let mut v = Vec::new();
            if !ext[i].extended && have_extended {
                v.extend_from_slice(b"''");
            }
            for e in &ext[i..j] {
                if !e.extended && have_extended {
                    rfc2231_escape(&mut v, &e.value);
                } else {
                    v.extend_from_slice(&e.value);
                }
            }
            let mut k = ext[i].key.clone();
            if have_extended {
                k.push(b'*');
            }
            result.push((k, v));
        }
        i = j;
    }
    (result, broken)
}
