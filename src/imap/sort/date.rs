//! A Date header's time as Dovecot's `message_date_parse` reads it for
//! SORT and THREAD: `[weekday,] day month year hh:mm[:ss] [zone]`,
//! comments and spaces around a time's colons left out, a two-digit year in the 1900s or 2000s, a missing
//! zone taken as +0000; anything else names no time.

use chrono::{NaiveDate, NaiveTime};

/// Seconds since the epoch (UTC), or `None`.
pub fn parse(value: &[u8]) -> Option<i64> {
    // Obsolete syntax lets spaces stand around a time's colons.
    let text = without_comments(&String::from_utf8_lossy(value));
    let text = text.split(':').map(str::trim).collect::<Vec<_>>().join(":");
    let mut words = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .peekable();
    if words.peek()?.chars().all(|c| c.is_ascii_alphabetic()) {
        words.next();
    }
    let day: u32 = number(words.next()?, 1, 2)?;
    let month = month(words.next()?)?;
    let year_word = words.next()?;
    let year: i32 = number(year_word, 2, 4)?;
    let year = match (year_word.len(), year) {
        (2, y) if y < 50 => 2000 + y,
        (2, y) => 1900 + y,
        (3, y) => 1900 + y,
        (_, y) => y,
    };
    let time = time(words.next()?)?;
    let offset = match words.next() {
        None => 0,
        Some(zone) => zone_seconds(zone)?,
    };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    Some(date.and_time(time).and_utc().timestamp() - offset)
}

fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    let mut escaped = false;
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if depth > 0 => escaped = true,
            '(' => depth += 1,
            ')' if depth > 0 => {
                depth -= 1;
                out.push(' ');
            }
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn number<T: std::str::FromStr>(word: &str, min: usize, max: usize) -> Option<T> {
    let ok = (min..=max).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| word.parse().ok()).flatten()
}

fn month(word: &str) -> Option<u32> {
    const NAMES: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let position = NAMES.iter().position(|m| word.eq_ignore_ascii_case(m))?;
    Some(position as u32 + 1)
}

fn time(word: &str) -> Option<NaiveTime> {
    let mut parts = word.split(':');
    let hour = number(parts.next()?, 1, 2)?;
    let minute = number(parts.next()?, 2, 2)?;
    let second = match parts.next() {
        Some(s) => number(s, 2, 2)?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    NaiveTime::from_hms_opt(hour, minute, second)
}

/// The zone's offset east of UTC, seconds: `+hhmm`, `-hhmm` or a name of
/// RFC 2822's obsolete zones (an unknown name counts as +0000).
fn zone_seconds(zone: &str) -> Option<i64> {
    if let Some(digits) = zone.strip_prefix(['+', '-']) {
        let value: i64 = number(digits, 4, 4)?;
        let seconds = (value / 100) * 3600 + (value % 100) * 60;
        return Some(if zone.starts_with('-') {
            -seconds
        } else {
            seconds
        });
    }
    let hours = match zone.to_ascii_uppercase().as_str() {
        "EDT" => -4,
        "EST" | "CDT" => -5,
        "CST" | "MDT" => -6,
        "MST" | "PDT" => -7,
        "PST" => -8,
        _ => 0,
    };
    Some(hours * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_dovecot_reads_them() {
        let at = |s: &str| parse(s.as_bytes());
        assert_eq!(at("Fri, 21 Nov 1997 09:55:06 -0600"), Some(880_127_706));
        // No zone: +0000. No weekday. Comments.
        assert_eq!(at("Wed, 15 Feb 1995 09:38:18"), Some(792_841_098));
        assert_eq!(
            at("15 Feb 1995 09:38:18 (a comment) +0000"),
            Some(792_841_098)
        );
        // Two-digit years; obsolete zone names.
        assert_eq!(at("Sun, 7 May 95 16:21:03 GMT"), Some(799_863_663));
        assert_eq!(
            at("Thu,\r\n 13\r\n Feb\r\n 1969\r\n 23:32 -0330"),
            Some(-27_723_480)
        );
        // RFC 822's obsolete syntax: spaces and comments in the time.
        assert_eq!(
            at("Fri, 21 Nov 1997 09(comment):   55  :  06 -0600"),
            Some(880_127_706)
        );
        // Not a time.
        assert_eq!(at("Tue, 7 Apr 2026 10:00:t <x@y>"), None);
        assert_eq!(at("Thu,"), None);
        assert_eq!(at("31 Feb 2020 10:00 +0000"), None);
    }
}
