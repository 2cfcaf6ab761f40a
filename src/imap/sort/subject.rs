//! The base subject of RFC 5256 2.1, by Dovecot's `imap-base-subject.c`
//! steps: SORT SUBJECT and THREAD compare it, so it must be Dovecot's to
//! sort as Dovecot does.

/// The base subject of a Subject value already decoded (RFC 2047 words)
/// and upper-cased (the i;unicode-casemap form), and whether it was a
/// reply or forward (a `Re:`/`Fwd:` leader or `(fwd)` trailer was taken
/// off: THREAD=ORDEREDSUBJECT needs it).
pub fn base_subject(decoded: &str) -> (String, bool) {
    // (1) Tabs and line breaks become spaces, runs of spaces one space.
    let mut s = String::with_capacity(decoded.len());
    let mut last_space = false;
    for c in decoded.chars() {
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            if !last_space {
                s.push(' ');
            }
            last_space = true;
        } else {
            s.push(c);
            last_space = false;
        }
    }
    let mut reply = false;
    let mut start = 0;
    // (2) Trailers: "(fwd)" and spaces at the end.
    remove_trailers(&mut s, start, &mut reply);
    while start < s.len() {
        // (3) Leaders (blobs before "Re:"/"Fw:"/"Fwd:", or a space), (4) a
        // blob before a non-empty rest, (5) again while one goes.
        let mut found = remove_leader(&s, &mut start, &mut reply);
        found |= remove_blob_before_rest(&s, &mut start);
        if !found {
            // (6) "[fwd: ...]" around the rest: off, then from (2) again.
            if !remove_fwd_wrapper(&mut s, &mut start, &mut reply) {
                break;
            }
            remove_trailers(&mut s, start, &mut reply);
        }
    }
    (s[start..].to_string(), reply)
}

fn remove_trailers(s: &mut String, start: usize, reply: &mut bool) {
    loop {
        if s.len() > start && s.ends_with(' ') {
            s.pop();
        } else if s.len() >= start + 5 && s.ends_with("(FWD)") {
            *reply = true;
            s.truncate(s.len() - 5);
        } else {
            return;
        }
    }
}

/// The length of a blob (`[...]` then spaces) at the start of `s`.
fn blob(s: &str) -> Option<usize> {
    let rest = s.strip_prefix('[')?;
    let end = rest.find(['[', ']'])?;
    if !rest[end..].starts_with(']') {
        return None;
    }
    let after = &rest[end + 1..];
    Some(1 + end + 1 + (after.len() - after.trim_start_matches(' ').len()))
}

/// subj-leader = (*subj-blob subj-refwd) / WSP.
fn remove_leader(s: &str, start: &mut usize, reply: &mut bool) -> bool {
    let mut removed = false;
    if s[*start..].starts_with(' ') {
        *start += 1;
        removed = true;
    }
    let mut at = *start;
    while s[at..].starts_with('[') {
        match blob(&s[at..]) {
            Some(n) => at += n,
            None => return removed,
        }
    }
    let rest = &s[at..];
    at += if rest.starts_with("RE") {
        2
    } else if rest.starts_with("FWD") {
        3
    } else if rest.starts_with("FW") {
        2
    } else {
        return removed;
    };
    at += s[at..].len() - s[at..].trim_start_matches(' ').len();
    if s[at..].starts_with('[') {
        match blob(&s[at..]) {
            Some(n) => at += n,
            None => return removed,
        }
    }
    if !s[at..].starts_with(':') {
        return removed;
    }
    *start = at + 1;
    *reply = true;
    true
}

fn remove_blob_before_rest(s: &str, start: &mut usize) -> bool {
    match blob(&s[*start..]) {
        Some(n) if *start + n < s.len() => {
            *start += n;
            true
        }
        _ => false,
    }
}

fn remove_fwd_wrapper(s: &mut String, start: &mut usize, reply: &mut bool) -> bool {
    if !s[*start..].starts_with("[FWD:") || !s.ends_with(']') {
        return false;
    }
    *reply = true;
    s.pop();
    *start += 5;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> (String, bool) {
        base_subject(&s.to_uppercase())
    }

    #[test]
    fn leaders_trailers_and_blobs_go() {
        assert_eq!(base("Hello world"), ("HELLO WORLD".into(), false));
        assert_eq!(base("Re: Hello"), ("HELLO".into(), true));
        assert_eq!(base("RE: re:  Fwd: Hello (fwd)"), ("HELLO".into(), true));
        assert_eq!(base("[list] Re: [list] Hello"), ("HELLO".into(), true));
        assert_eq!(
            base("Re [2]: Hello\t\tthere  "),
            ("HELLO THERE".into(), true)
        );
        assert_eq!(base("[Fwd: Re: Hello]"), ("HELLO".into(), true));
        // A blob that is all there is stays.
        assert_eq!(base("[only a blob]"), ("[ONLY A BLOB]".into(), false));
        assert_eq!(base("Fwd:"), ("".into(), true));
        assert_eq!(base("Reply: x"), ("REPLY: X".into(), false));
        assert_eq!(base(""), ("".into(), false));
    }
}
