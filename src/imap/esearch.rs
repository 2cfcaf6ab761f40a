//! SEARCH's extensions that imap-codec does not parse: `RETURN (...)`
//! (ESEARCH, RFC 4731; and of SORT, ESORT, RFC 5267), the FUZZY key
//! (SEARCH=FUZZY, RFC 6203) and `$`, the saved search result (SEARCHRES,
//! RFC 5182), written as [`SAVED`], a set that names no message otherwise.
//!
//! Before imap-codec reads a command, [`Rewriter`] takes `RETURN (...)` out
//! of a SEARCH and writes each FUZZY key as `NOT NOT`, which leaves the
//! command's structure as it was, remembering which NOT keys it wrote (by
//! their order among all NOT keys). The search reads those double
//! negations as FUZZY. The rewriter works on the buffered input as it
//! arrives, literal by literal, so it knows key arguments, quoted strings
//! and literals from keys.

/// A SEARCH return option (RFC 4731, RFC 6203, RFC 5182).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnOption {
    Min,
    Max,
    Count,
    All,
    Relevancy,
    Save,
    /// Keep the result up to date (CONTEXT=SEARCH, RFC 5267 4.3).
    Update,
    /// A hint that the result will be used again (RFC 5267 4.2): noted,
    /// nothing more.
    Context,
    /// The found messages at these positions (1-based, inclusive) of the
    /// result (RFC 5267 4.4).
    Partial(u32, u32),
}

/// What `$` is written as for imap-codec: the two highest UIDs, which no
/// folder reaches (UIDNEXT would have to pass 2^32 - 2).
pub const SAVED: &[u8] = b"4294967294:4294967295";

/// Whether `set` is `$` (see [`SAVED`]).
pub fn is_saved(set: &imap_codec::imap_types::sequence::SequenceSet) -> bool {
    let saved = std::str::from_utf8(SAVED).expect("ASCII");
    imap_codec::imap_types::sequence::SequenceSet::try_from(saved).is_ok_and(|s| &s == set)
}

impl ReturnOption {
    fn parse(word: &[u8]) -> Option<ReturnOption> {
        let word = std::str::from_utf8(word).ok()?.to_ascii_uppercase();
        Some(match word.as_str() {
            "MIN" => ReturnOption::Min,
            "MAX" => ReturnOption::Max,
            "COUNT" => ReturnOption::Count,
            "ALL" => ReturnOption::All,
            "RELEVANCY" => ReturnOption::Relevancy,
            "SAVE" => ReturnOption::Save,
            "UPDATE" => ReturnOption::Update,
            "CONTEXT" => ReturnOption::Context,
            _ => return None,
        })
    }
}

/// What the rewriter took out of a command (SEARCH, SORT, FETCH).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewritten {
    /// `RETURN (...)`: answer with ESEARCH (an empty list means ALL).
    pub returns: Option<Vec<ReturnOption>>,
    /// The order numbers (among all NOT keys, from 0) of the outer NOT of
    /// each `NOT NOT` that stands for FUZZY.
    pub fuzzy: Vec<usize>,
    /// FETCH's PREVIEW items (RFC 8970), each written as UID: their places
    /// among the items, from 0.
    pub previews: Vec<usize>,
    /// An APPEND's CATENATE parts (RFC 4469), in order: each written as a
    /// message of a MULTIAPPEND, a URL part as a literal holding the URL
    /// (true), a TEXT part as its literal (false).
    pub catenate: Option<Vec<bool>>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The command's name is not known yet.
    #[default]
    Start,
    /// Not a SEARCH: nothing to do.
    Other,
    /// In the search keys.
    Keys,
    /// An APPEND's `UTF8 (~{n}` was written as `~{n}` (RFC 9755 4): its
    /// `)` after the literal's data, at this place, is to be taken out.
    Utf8Close(usize),
    /// In an APPEND's CATENATE list.
    Catenate,
    /// Past the end of the command line.
    Done,
}

/// Arguments taken by a search key (besides keys, for NOT and OR).
fn arguments(key: &[u8]) -> usize {
    const ONE: [&str; 18] = [
        "BCC",
        "BEFORE",
        "BODY",
        "CC",
        "FROM",
        "KEYWORD",
        "LARGER",
        "ON",
        "SENTBEFORE",
        "SENTON",
        "SENTSINCE",
        "SINCE",
        "SMALLER",
        "SUBJECT",
        "TEXT",
        "TO",
        "UID",
        "UNKEYWORD",
    ];
    if key.eq_ignore_ascii_case(b"HEADER") {
        2
    } else if ONE.iter().any(|k| key.eq_ignore_ascii_case(k.as_bytes())) {
        1
    } else {
        0
    }
}

fn delimiter(b: u8) -> bool {
    matches!(b, b' ' | b'(' | b')' | b'\r' | b'\n' | b'"' | b'{')
}

/// Writes each PREVIEW item (RFC 8970) of the FETCH items starting at
/// `items` in `buf`'s first line (ending at `line_end`) as UID, with its
/// LAZY modifier (the server always has a preview); returns their places
/// among the items and the bytes the rewriting added.
fn take_previews(buf: &mut Vec<u8>, items: usize, mut line_end: usize) -> (Vec<usize>, isize) {
    let mut found = Vec::new();
    let mut growth = 0isize;
    let listed = buf.get(items) == Some(&b'(');
    let mut i = items + usize::from(listed);
    for index in 0.. {
        let start = i;
        // An item: a name, with a section and a partial range.
        let mut brackets = 0usize;
        while i < line_end {
            match buf[i] {
                b'[' => brackets += 1,
                b']' => brackets = brackets.saturating_sub(1),
                b' ' | b'(' | b')' if brackets == 0 => break,
                _ => {}
            }
            i += 1;
        }
        if buf[start..i].eq_ignore_ascii_case(b"PREVIEW") {
            let mut end = i;
            let modifiers = buf[end..line_end].starts_with(b" (");
            if let Some(close) = buf[end..line_end].iter().position(|&b| b == b')')
                && modifiers
                && buf[end + 2..end + close]
                    .split(|&b| b == b' ')
                    .all(|m| m.eq_ignore_ascii_case(b"LAZY"))
            {
                end += close + 1;
            }
            buf.splice(start..end, b"UID".iter().copied());
            let taken = (end - start) as isize - 3;
            growth -= taken;
            line_end = (line_end as isize - taken) as usize;
            i = start + 3;
            found.push(index);
        }
        if !listed || i >= line_end || buf[i] != b' ' {
            break;
        }
        i += 1;
    }
    (found, growth)
}

/// The options of a RETURN list: words, and PARTIAL with its range of
/// positions (`m:n`, both from 1; Dovecot 2.3 refuses the negative ranges
/// of later drafts, and so does this).
fn return_options(list: &[u8]) -> Result<Vec<ReturnOption>, &'static str> {
    let mut words = list.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let mut options = Vec::new();
    while let Some(word) = words.next() {
        if word.eq_ignore_ascii_case(b"PARTIAL") {
            let range = words
                .next()
                .and_then(|r| std::str::from_utf8(r).ok())
                .and_then(|r| r.split_once(':'))
                .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
                .filter(|&(a, b)| a > 0 && b > 0)
                .ok_or("PARTIAL takes a range of positions from 1")?;
            options.push(ReturnOption::Partial(
                range.0.min(range.1),
                range.0.max(range.1),
            ));
            continue;
        }
        options.push(ReturnOption::parse(word).ok_or("Unknown SEARCH RETURN option")?);
    }
    Ok(options)
}

/// Where ` UTF8 (` starts in the first line of an APPEND that ends with
/// APPEND's UTF8 data item (`UTF8 (~{n}` or `UTF8 (~{n+}`, RFC 9755 4).
fn utf8_literal(line: &[u8]) -> Option<usize> {
    let open = line.iter().rposition(|&b| b == b'~')?;
    let start = open.checked_sub(7)?;
    let item = &line[start..open];
    (item.eq_ignore_ascii_case(b" UTF8 (") && literal_length(line).is_some()).then_some(start)
}

/// A CATENATE URL's argument at the start of `input` (a quoted string or
/// an atom): the URL, and the bytes it took; `None` until it is whole.
fn url_argument(input: &[u8]) -> Result<Option<(Vec<u8>, usize)>, &'static str> {
    if input.first() == Some(&b'"') {
        let mut url = Vec::new();
        let mut i = 1;
        while i < input.len() {
            match input[i] {
                b'"' => return Ok(Some((url, i + 1))),
                b'\\' if i + 1 < input.len() => {
                    url.push(input[i + 1]);
                    i += 2;
                }
                b'\\' => return Ok(None),
                b'\r' | b'\n' => return Err("CATENATE's URL is not a string"),
                b => {
                    url.push(b);
                    i += 1;
                }
            }
        }
        return Ok(None);
    }
    let Some(end) = input.iter().position(|&b| matches!(b, b' ' | b')' | b'\r')) else {
        return Ok(None);
    };
    if end == 0 || input[..end].contains(&b'{') {
        return Err("CATENATE's URL is a quoted string or an atom");
    }
    Ok(Some((input[..end].to_vec(), end)))
}

/// The length of the literal whose header (`{n}`, `{n+}`) ends `line`.
fn literal_length(line: &[u8]) -> Option<usize> {
    let header = line.strip_suffix(b"}")?;
    let open = header.iter().rposition(|&b| b == b'{')?;
    let digits = &header[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Rewrites one command; a fresh one for each command.
#[derive(Debug, Default)]
pub struct Rewriter {
    stage: Stage,
    /// Input bytes looked at so far.
    pos: usize,
    /// Literal data still to pass over.
    literal: usize,
    /// Arguments still to pass over.
    arguments: usize,
    /// Keys seen (the first may be CHARSET).
    keys: usize,
    /// NOT keys seen (the client's and ours).
    nots: usize,
    /// Bytes the rewriting added to the command (less those it took out).
    growth: isize,
    pub extension: Rewritten,
}

impl Rewriter {
    /// Rewrites what `buf` holds of the command so far; `Err` for a
    /// malformed RETURN.
    pub fn rewrite(&mut self, buf: &mut Vec<u8>) -> Result<(), &'static str> {
        if self.stage == Stage::Start {
            self.start(buf)?;
        }
        while self.stage == Stage::Keys && self.pos < buf.len() {
            if !self.step(buf) {
                break;
            }
        }
        while self.stage == Stage::Catenate && self.pos < buf.len() {
            if !self.catenate_part(buf)? {
                break;
            }
        }
        if let Stage::Utf8Close(at) = self.stage
            && at < buf.len()
        {
            if buf[at] != b')' {
                return Err("APPEND's UTF8 ( is not closed after its literal");
            }
            buf.remove(at);
            self.growth -= 1;
            self.stage = Stage::Done;
        }
        Ok(())
    }

    /// Bytes the rewriting added to the command; negative when it took
    /// more out (a RETURN list) than it added (a FUZZY becomes `NOT NOT`).
    pub fn growth(&self) -> isize {
        self.growth
    }

    /// Whether more input is needed before the command can be read: its
    /// first line, or the rest of a token.
    pub fn waiting(&self, buffered: usize) -> bool {
        match self.stage {
            Stage::Start => true,
            Stage::Keys | Stage::Catenate => self.pos < buffered,
            Stage::Other | Stage::Done | Stage::Utf8Close(_) => false,
        }
    }

    /// Recognises `tag [UID] SEARCH [RETURN (...)]` and `tag [UID] SORT
    /// [RETURN (...)]` once the first line is in.
    fn start(&mut self, buf: &mut Vec<u8>) -> Result<(), &'static str> {
        let Some(line_end) = memchr::memmem::find(buf, b"\r\n") else {
            return Ok(());
        };
        let line = &buf[..line_end];
        let mut words = line.splitn(4, |&b| b == b' ');
        let tag = words.next().unwrap_or_default();
        let mut name = words.next().unwrap_or_default();
        let mut at = line.len().min(tag.len() + 1 + name.len());
        if name.eq_ignore_ascii_case(b"UID") {
            name = words.next().unwrap_or_default();
            at = (at + 1 + name.len()).min(line.len());
        }
        if name.eq_ignore_ascii_case(b"APPEND") {
            self.stage = Stage::Other;
            const CATENATE: &[u8] = b" CATENATE (";
            let catenate = line
                .windows(CATENATE.len())
                .position(|w| w.eq_ignore_ascii_case(CATENATE));
            if let Some(at) = catenate {
                // Its parts become the messages of a MULTIAPPEND.
                buf.drain(at + 1..at + CATENATE.len());
                self.growth -= CATENATE.len() as isize - 1;
                self.pos = at + 1;
                self.extension.catenate = Some(Vec::new());
                self.stage = Stage::Catenate;
                return Ok(());
            }
            if let Some(utf8) = utf8_literal(line) {
                // `UTF8 (` out; the `)` after the data goes later.
                buf.drain(utf8 + 1..utf8 + 7);
                self.growth -= 6;
                let header_end = line_end - 6 + 2;
                let length = literal_length(&buf[..line_end - 6]).unwrap_or(0);
                self.stage = Stage::Utf8Close(header_end + length);
            }
            return Ok(());
        }
        let sort = name.eq_ignore_ascii_case(b"SORT");
        if !name.eq_ignore_ascii_case(b"SEARCH") && !sort {
            // FETCH $, STORE $, COPY $, MOVE $, UID EXPUNGE $.
            let takes_set = [&b"FETCH"[..], b"STORE", b"COPY", b"MOVE", b"EXPUNGE"]
                .iter()
                .any(|verb| name.eq_ignore_ascii_case(verb));
            let fetch = name.eq_ignore_ascii_case(b"FETCH");
            let mut line_end = line_end;
            if takes_set && line[at..].starts_with(b" $") {
                let after = line.get(at + 2).copied();
                if matches!(after, None | Some(b' ')) {
                    buf.splice(at + 1..at + 2, SAVED.iter().copied());
                    self.growth += SAVED.len() as isize - 1;
                    line_end += SAVED.len() - 1;
                }
            }
            if fetch {
                // The items come after the set.
                let items = buf[at + 1..line_end]
                    .iter()
                    .position(|&b| b == b' ')
                    .map(|i| at + 1 + i + 1);
                if let Some(items) = items {
                    let (previews, growth) = take_previews(buf, items, line_end);
                    self.extension.previews = previews;
                    self.growth += growth;
                }
            }
            self.stage = Stage::Other;
            return Ok(());
        }
        let rest = &line[at..];
        if rest.len() >= 8 && rest[..8].eq_ignore_ascii_case(b" RETURN ") {
            let open = at + 8;
            if buf.get(open) != Some(&b'(') {
                return Err("SEARCH RETURN needs a parenthesised list");
            }
            let close = buf[open..line_end]
                .iter()
                .position(|&b| b == b')')
                .map(|i| open + i)
                .ok_or("SEARCH RETURN's list is not closed")?;
            let options = return_options(&buf[open + 1..close])?;
            self.extension.returns = Some(options);
            buf.drain(at..close + 1);
            self.growth -= (close + 1 - at) as isize;
        }
        // SORT's keys come after its criteria and charset; FUZZY is not
        // taken there.
        self.pos = at;
        self.stage = if sort { Stage::Other } else { Stage::Keys };
        Ok(())
    }

    /// Rewrites one part of a CATENATE list (or passes over its TEXT
    /// literal's data, or takes its closing `)` out); false when the buffer
    /// ends inside it.
    fn catenate_part(&mut self, buf: &mut Vec<u8>) -> Result<bool, &'static str> {
        if self.literal > 0 {
            let here = self.literal.min(buf.len() - self.pos);
            self.pos += here;
            self.literal -= here;
            return Ok(true);
        }
        let parts = self.extension.catenate.get_or_insert_default();
        match buf[self.pos] {
            b' ' => self.pos += 1,
            b')' => {
                buf.remove(self.pos);
                self.growth -= 1;
                self.stage = Stage::Done;
            }
            _ => {
                let rest = &buf[self.pos..];
                let Some(space) = rest.iter().position(|&b| b == b' ') else {
                    return Ok(false);
                };
                let word = &rest[..space];
                if word.eq_ignore_ascii_case(b"TEXT") {
                    // Its literal, whole header and all, stays.
                    let Some(end) = memchr::memmem::find(&rest[space..], b"}\r\n") else {
                        return Ok(false);
                    };
                    let header = &rest[space + 1..space + end + 1];
                    self.literal =
                        literal_length(header).ok_or("CATENATE's TEXT takes a literal")?;
                    buf.drain(self.pos..self.pos + space + 1);
                    self.growth -= space as isize + 1;
                    self.pos += end + 2;
                    parts.push(false);
                } else if word.eq_ignore_ascii_case(b"URL") {
                    let Some((url, length)) = url_argument(&rest[space + 1..])? else {
                        return Ok(false);
                    };
                    let literal = [format!("{{{}+}}\r\n", url.len()).into_bytes(), url].concat();
                    let taken = space + 1 + length;
                    self.pos += literal.len();
                    let at = self.pos - literal.len();
                    self.growth += literal.len() as isize - taken as isize;
                    buf.splice(at..at + taken, literal);
                    parts.push(true);
                } else {
                    return Err("CATENATE takes TEXT and URL parts");
                }
            }
        }
        Ok(true)
    }

    /// The buffer's first `end` bytes were replaced by `written` others
    /// (the framing starts a MULTIAPPEND's next message): places move.
    pub fn replaced(&mut self, end: usize, written: usize) {
        if self.pos >= end {
            self.pos = self.pos - end + written;
        }
    }

    /// Passes over one token; false when the buffer ends inside it.
    fn step(&mut self, buf: &mut Vec<u8>) -> bool {
        if self.literal > 0 {
            let here = self.literal.min(buf.len() - self.pos);
            self.pos += here;
            self.literal -= here;
            return true;
        }
        match buf[self.pos] {
            b'\r' | b'\n' => {
                self.stage = Stage::Done;
                true
            }
            b' ' | b'(' | b')' => {
                self.pos += 1;
                true
            }
            b'"' => {
                let mut i = self.pos + 1;
                while i < buf.len() && buf[i] != b'"' {
                    i += if buf[i] == b'\\' { 2 } else { 1 };
                }
                if i >= buf.len() {
                    return false;
                }
                self.pos = i + 1;
                self.argument_or_key(None);
                true
            }
            b'{' => {
                let Some(end) = memchr::memmem::find(&buf[self.pos..], b"}\r\n") else {
                    return false;
                };
                let spec = &buf[self.pos + 1..self.pos + end];
                let digits = spec.strip_suffix(b"+").unwrap_or(spec);
                self.literal = std::str::from_utf8(digits)
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(0);
                self.pos += end + 3;
                self.argument_or_key(None);
                true
            }
            _ => {
                let end = buf[self.pos..]
                    .iter()
                    .position(|&b| delimiter(b))
                    .map(|i| self.pos + i);
                let Some(end) = end else {
                    return false;
                };
                let start = self.pos;
                self.pos = end;
                let key = self.arguments == 0;
                if self.argument_or_key(Some(&buf[start..end])) {
                    buf.splice(start..end, b"NOT NOT".iter().copied());
                    self.pos = start + 7;
                    self.growth += 7 - (end - start) as isize;
                } else if key && &buf[start..end] == b"$" {
                    buf.splice(start..end, SAVED.iter().copied());
                    self.pos = start + SAVED.len();
                    self.growth += SAVED.len() as isize - 1;
                }
                true
            }
        }
    }

    /// Accounts for a token (an atom's text, or `None` for a string);
    /// true when it is a FUZZY key to rewrite.
    fn argument_or_key(&mut self, atom: Option<&[u8]>) -> bool {
        if self.arguments > 0 {
            self.arguments -= 1;
            return false;
        }
        self.keys += 1;
        let Some(atom) = atom else {
            return false;
        };
        if self.keys == 1 && atom.eq_ignore_ascii_case(b"CHARSET") {
            self.arguments = 1;
        } else if atom.eq_ignore_ascii_case(b"FUZZY") {
            self.extension.fuzzy.push(self.nots);
            self.nots += 2;
            return true;
        } else if atom.eq_ignore_ascii_case(b"NOT") {
            self.nots += 1;
        } else {
            self.arguments = arguments(atom);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(input: &str) -> (String, Rewritten) {
        let mut buf = input.as_bytes().to_vec();
        let mut r = Rewriter::default();
        r.rewrite(&mut buf).unwrap();
        (String::from_utf8(buf).unwrap(), r.extension)
    }

    #[test]
    fn writes_the_saved_result_where_a_set_goes() {
        let saved = std::str::from_utf8(SAVED).unwrap();
        assert_eq!(
            rewrite("a FETCH $ FLAGS\r\n").0,
            format!("a FETCH {saved} FLAGS\r\n")
        );
        assert_eq!(
            rewrite("a UID EXPUNGE $\r\n").0,
            format!("a UID EXPUNGE {saved}\r\n")
        );
        // A SEARCH key, not a SUBJECT's argument; keywords keep their `$`.
        assert_eq!(
            rewrite("a SEARCH SUBJECT $ OR $ KEYWORD $Junk\r\n").0,
            format!("a SEARCH SUBJECT $ OR {saved} KEYWORD $Junk\r\n")
        );
        assert_eq!(
            rewrite("a STORE 1 +FLAGS ($Label1)\r\n").0,
            "a STORE 1 +FLAGS ($Label1)\r\n"
        );
        let set = imap_codec::imap_types::sequence::SequenceSet::try_from(saved).unwrap();
        assert!(is_saved(&set));
    }

    #[test]
    fn takes_out_return_and_marks_fuzzy() {
        let (line, ext) =
            rewrite("a1 UID SEARCH RETURN (MIN count) NOT FUZZY BODY fuzzy SUBJECT not\r\n");
        assert_eq!(line, "a1 UID SEARCH NOT NOT NOT BODY fuzzy SUBJECT not\r\n");
        assert_eq!(
            ext,
            Rewritten {
                returns: Some(vec![ReturnOption::Min, ReturnOption::Count]),
                fuzzy: vec![1],
                previews: vec![],
                catenate: None,
            }
        );
        let (line, ext) =
            rewrite("t SEARCH RETURN () CHARSET fuzzy OR (HEADER not fuzzy) FUZZY TEXT \"x\"\r\n");
        assert_eq!(
            line,
            "t SEARCH CHARSET fuzzy OR (HEADER not fuzzy) NOT NOT TEXT \"x\"\r\n"
        );
        assert_eq!(ext.returns, Some(vec![]));
        assert_eq!(ext.fuzzy, vec![0]);
        assert_eq!(rewrite("t FETCH 1 FUZZY\r\n").0, "t FETCH 1 FUZZY\r\n");
        assert_eq!(rewrite("t SEARCH ALL\r\n").1, Rewritten::default());
    }

    #[test]
    fn counts_what_the_rewriting_changed() {
        let input = b"t SEARCH RETURN (MIN) FUZZY TEXT x NOT FUZZY BODY y\r\n";
        let mut buf = input.to_vec();
        let mut r = Rewriter::default();
        r.rewrite(&mut buf).unwrap();
        assert_eq!(r.growth(), buf.len() as isize - input.len() as isize);
        assert_eq!(r.growth(), 2 + 2 - " RETURN (MIN)".len() as isize);
    }

    #[test]
    fn follows_literals_as_they_arrive() {
        let mut r = Rewriter::default();
        let mut buf = b"t SEARCH CHARSET UTF-8 TEXT {5}\r\n".to_vec();
        r.rewrite(&mut buf).unwrap();
        buf.extend_from_slice(b"FUZZY FUZZY TEXT {3+}\r\nNOT");
        r.rewrite(&mut buf).unwrap();
        buf.extend_from_slice(b" FUZZ");
        r.rewrite(&mut buf).unwrap();
        buf.extend_from_slice(b"Y ALL\r\n");
        r.rewrite(&mut buf).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "t SEARCH CHARSET UTF-8 TEXT {5}\r\nFUZZY NOT NOT TEXT {3+}\r\nNOT NOT NOT ALL\r\n"
        );
        assert_eq!(r.extension.fuzzy, vec![0, 2]);
    }

    #[test]
    fn writes_previews_as_uid() {
        let (line, ext) = rewrite(
            "a UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (DATE FROM)] PREVIEW (LAZY) preview)\r\n",
        );
        assert_eq!(
            line,
            "a UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (DATE FROM)] UID UID)\r\n"
        );
        assert_eq!(ext.previews, vec![2, 3]);
        let (line, ext) = rewrite("a FETCH $ PREVIEW\r\n");
        assert_eq!(
            line,
            format!("a FETCH {} UID\r\n", std::str::from_utf8(SAVED).unwrap())
        );
        assert_eq!(ext.previews, vec![0]);
        // Only as an item: not in a section, not an unknown modifier.
        let (line, ext) = rewrite("a FETCH 1 (BODY[HEADER.FIELDS (PREVIEW)] PREVIEW (FAST))\r\n");
        assert_eq!(
            line,
            "a FETCH 1 (BODY[HEADER.FIELDS (PREVIEW)] UID (FAST))\r\n"
        );
        assert_eq!(ext.previews, vec![1]);
        let input = "t FETCH 2 (PREVIEW (LAZY))\r\n";
        let mut buf = input.as_bytes().to_vec();
        let mut r = Rewriter::default();
        r.rewrite(&mut buf).unwrap();
        assert_eq!(r.growth(), buf.len() as isize - input.len() as isize);
    }

    #[test]
    fn takes_out_appends_utf8_item() {
        let mut r = Rewriter::default();
        let mut buf = b"a APPEND INBOX (\\Seen) UTF8 (~{4}\r\n".to_vec();
        r.rewrite(&mut buf).unwrap();
        assert_eq!(buf, b"a APPEND INBOX (\\Seen) ~{4}\r\n");
        buf.extend_from_slice(b"h\xc3\xa9!");
        r.rewrite(&mut buf).unwrap();
        buf.extend_from_slice(b")\r\n");
        r.rewrite(&mut buf).unwrap();
        assert_eq!(buf, b"a APPEND INBOX (\\Seen) ~{4}\r\nh\xc3\xa9!\r\n");
        assert_eq!(r.growth(), -7);
        // Not closed: refused.
        let mut r = Rewriter::default();
        let mut buf = b"a APPEND INBOX utf8 (~{1+}\r\nxx".to_vec();
        assert!(r.rewrite(&mut buf).is_err());
        // Without the item, as it came.
        let mut buf = b"a APPEND INBOX ~{1}\r\n".to_vec();
        Rewriter::default().rewrite(&mut buf).unwrap();
        assert_eq!(buf, b"a APPEND INBOX ~{1}\r\n");
    }

    #[test]
    fn writes_catenate_parts_as_messages() {
        let mut r = Rewriter::default();
        let mut buf =
            b"a APPEND Box (\\Seen) CATENATE (URL \"/INBOX;UIDVALIDITY=9/;UID=2\" TEXT {3}\r\n"
                .to_vec();
        r.rewrite(&mut buf).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&buf),
            "a APPEND Box (\\Seen) {27+}\r\n/INBOX;UIDVALIDITY=9/;UID=2 {3}\r\n"
        );
        buf.extend_from_slice(b"a)b URL /x;UID=1)\r\n");
        r.rewrite(&mut buf).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&buf),
            "a APPEND Box (\\Seen) {27+}\r\n/INBOX;UIDVALIDITY=9/;UID=2 {3}\r\na)b {8+}\r\n/x;UID=1\r\n"
        );
        assert_eq!(r.extension.catenate, Some(vec![true, false, true]));
        let client = "a APPEND Box (\\Seen) CATENATE (URL \"/INBOX;UIDVALIDITY=9/;UID=2\" TEXT {3}\r\na)b URL /x;UID=1)\r\n";
        assert_eq!(r.growth(), buf.len() as isize - client.len() as isize);
        let mut buf = b"a APPEND Box CATENATE (FILE x)\r\n".to_vec();
        assert!(Rewriter::default().rewrite(&mut buf).is_err());
    }

    #[test]
    fn reads_context_options() {
        let (line, ext) = rewrite("t UID SEARCH RETURN (UPDATE partial 5:2 CONTEXT COUNT) ALL\r\n");
        assert_eq!(line, "t UID SEARCH ALL\r\n");
        assert_eq!(
            ext.returns,
            Some(vec![
                ReturnOption::Update,
                ReturnOption::Partial(2, 5),
                ReturnOption::Context,
                ReturnOption::Count
            ])
        );
        for bad in ["PARTIAL -1:-5", "PARTIAL 0:3", "PARTIAL", "PARTIAL 1"] {
            let mut buf = format!("t SEARCH RETURN ({bad}) ALL\r\n").into_bytes();
            assert!(Rewriter::default().rewrite(&mut buf).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_unknown_return_options() {
        let mut r = Rewriter::default();
        let mut buf = b"t SEARCH RETURN (PARTIAL 1:5 FEW) ALL\r\n".to_vec();
        assert!(r.rewrite(&mut buf).is_err());
        let mut buf = b"t SEARCH RETURN (MIN ALL\r\n".to_vec();
        assert!(Rewriter::default().rewrite(&mut buf).is_err());
    }
}
