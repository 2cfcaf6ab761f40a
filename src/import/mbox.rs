//! mbox files: splitting at `From ` lines, undoing `>From ` quoting, and
//! the delivery date of the `From ` line.
//!
//! mboxrd quotes every `>*From ` line with one more `>`, so unquoting strips
//! one `>` from each. mboxo quotes only `From `, so only `>From ` loses its
//! `>`. Files do not say which they are; mboxrd is the default because
//! today's tools (mutt, Python, Dovecot exports) write it, and for a file
//! without `>>From ` lines the two are the same.

use std::borrow::Cow;
use std::ops::Range;

use chrono::NaiveDateTime;
use memchr::memmem;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MboxFormat {
    Mboxrd,
    Mboxo,
}

/// One message of an mbox file: the bytes after its `From ` line, up to the
/// separator line before the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxEntry {
    pub range: Range<usize>,
    /// Seconds since the epoch, from the `From ` line.
    pub delivered: Option<i64>,
}

/// Splits a whole mbox file. Refuses, with the reason, a file that does not
/// start with a `From ` line or does not end with a line break (the mark of
/// a file cut short).
pub fn split(data: &[u8]) -> Result<Vec<MboxEntry>> {
    if !data.starts_with(b"From ") {
        return Err(Error::Invalid(
            "not an mbox file: it does not start with a \"From \" line".into(),
        ));
    }
    if !data.ends_with(b"\n") {
        return Err(Error::Invalid(
            "truncated mbox: the last message does not end with a line break (was the file cut short?)".into(),
        ));
    }
    let mut starts = vec![0];
    starts.extend(memmem::find_iter(data, b"\nFrom ").map(|i| i + 1));
    let mut entries = Vec::with_capacity(starts.len());
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(data.len());
        let line_end = memchr::memchr(b'\n', &data[start..end]).map_or(end, |i| start + i + 1);
        let from_line = String::from_utf8_lossy(&data[start..line_end]);
        // The message ends before the blank separator line, whose line break
        // is the last byte before the next `From ` line (or the file's end).
        let mut body_end = end;
        if body_end > line_end && data[body_end - 1] == b'\n' {
            body_end -= 1;
            // A CRLF separator line after a message that ends in a line break.
            if body_end >= line_end + 2
                && data[body_end - 1] == b'\r'
                && data[body_end - 2] == b'\n'
            {
                body_end -= 1;
            }
        }
        entries.push(MboxEntry {
            range: line_end..body_end,
            delivered: from_line_date(&from_line),
        });
    }
    Ok(entries)
}

/// Undoes `>From ` quoting in a message's bytes (borrowed when nothing is quoted).
pub fn unquote(message: &[u8], format: MboxFormat) -> Cow<'_, [u8]> {
    let quoted_at = |line: &[u8]| -> bool {
        let gts = line.iter().take_while(|&&b| b == b'>').count();
        match format {
            MboxFormat::Mboxrd => gts >= 1 && line[gts..].starts_with(b"From "),
            MboxFormat::Mboxo => gts == 1 && line[1..].starts_with(b"From "),
        }
    };
    let has_quoting = quoted_at(message)
        || memmem::find_iter(message, b"\n>").any(|i| quoted_at(&message[i + 1..]));
    if !has_quoting {
        return Cow::Borrowed(message);
    }
    let mut out = Vec::with_capacity(message.len());
    for line in message.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(if quoted_at(line) { &line[1..] } else { line });
    }
    Cow::Owned(out)
}

/// `From sender Mon Jan  1 00:00:00 2024` (asctime, maybe with a zone after).
fn from_line_date(line: &str) -> Option<i64> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    // The date is five tokens somewhere after the sender.
    (2..tokens.len().saturating_sub(4)).find_map(|start| {
        let text = tokens[start..start + 5].join(" ");
        NaiveDateTime::parse_from_str(&text, "%a %b %d %H:%M:%S %Y")
            .ok()
            .map(|d| d.and_utc().timestamp())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_strips_the_separator() {
        let mbox = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody\n\nFrom c@d Tue Jan  2 10:00:00 2024\nSubject: two\n\n>From here\n\n";
        let entries = split(mbox).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(&mbox[entries[0].range.clone()], b"Subject: one\n\nbody\n");
        assert_eq!(
            &mbox[entries[1].range.clone()],
            b"Subject: two\n\n>From here\n"
        );
        assert_eq!(entries[0].delivered, Some(1704067200));
        assert_eq!(entries[1].delivered, Some(1704189600));
    }

    #[test]
    fn refuses_truncated_and_foreign_files() {
        assert!(split(b"From a Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody cut").is_err());
        assert!(split(b"Subject: not an mbox\n\n").is_err());
    }

    #[test]
    fn unquotes_by_format() {
        let body = b">From a\n>>From b\nFrom-not\n>Fromage\n";
        assert_eq!(
            &*unquote(body, MboxFormat::Mboxrd),
            b"From a\n>From b\nFrom-not\n>Fromage\n"
        );
        assert_eq!(
            &*unquote(body, MboxFormat::Mboxo),
            b"From a\n>>From b\nFrom-not\n>Fromage\n"
        );
        assert!(matches!(
            unquote(b"plain\n", MboxFormat::Mboxrd),
            Cow::Borrowed(_)
        ));
    }
}
