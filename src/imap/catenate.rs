//! CATENATE (RFC 4469): an APPEND whose message is made of TEXT parts and
//! URL parts naming (parts of) messages the user may read on this server
//! (RFC 5092 IMAP URLs, `imap://host/...` or server-relative `/...`).
//! The framing reads the parts as the messages of a MULTIAPPEND (see
//! `esearch`); here they are joined.

use super::Session;
use super::reply::{Code, Failure, Reply};
use crate::mime::SectionSpec;

/// What an IMAP URL names: a message by UID, perhaps a section of it and
/// a range of that.
#[derive(Debug, PartialEq, Eq)]
struct ImapUrl {
    /// The user an absolute URL names (`imap://user@host/...`, its
    /// `;AUTH=` left out), %-escapes undone.
    user: Option<String>,
    /// As sent: %-escapes undone, in the session's mailbox-name form.
    mailbox: String,
    uidvalidity: Option<u32>,
    uid: u32,
    section: Option<String>,
    /// PARTIAL=offset[.length].
    partial: Option<(usize, Option<usize>)>,
}

/// `%XX` escapes undone (RFC 3986).
fn unescaped(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl ImapUrl {
    fn parse(url: &str) -> Option<ImapUrl> {
        let (user, path) = match url.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("imap://") => {
                let rest = &url[7..];
                let (authority, path) = rest.split_at(rest.find('/')?);
                let user = match authority.rsplit_once('@') {
                    Some((user, _)) => Some(unescaped(user.split(';').next()?)?),
                    None => None,
                };
                (user, path)
            }
            _ => (None, url),
        };
        let mut segments = path.strip_prefix('/')?.split("/;");
        let first = segments.next()?;
        let (mailbox, uidvalidity) = match first.split_once(';') {
            Some((mailbox, param)) => {
                let (key, value) = param.split_once('=')?;
                if !key.eq_ignore_ascii_case("UIDVALIDITY") {
                    return None;
                }
                (mailbox, Some(value.parse().ok()?))
            }
            None => (first, None),
        };
        let mut parsed = ImapUrl {
            user,
            mailbox: unescaped(mailbox)?,
            uidvalidity,
            uid: 0,
            section: None,
            partial: None,
        };
        for segment in segments {
            let (key, value) = segment.split_once('=')?;
            match key.to_ascii_uppercase().as_str() {
                "UID" if parsed.uid == 0 => parsed.uid = value.parse().ok()?,
                "SECTION" if parsed.section.is_none() => parsed.section = Some(unescaped(value)?),
                "PARTIAL" if parsed.partial.is_none() => {
                    parsed.partial = Some(match value.split_once('.') {
                        Some((offset, length)) => {
                            (offset.parse().ok()?, Some(length.parse().ok()?))
                        }
                        None => (value.parse().ok()?, None),
                    })
                }
                _ => return None,
            }
        }
        (parsed.uid != 0).then_some(parsed)
    }
}

/// The bytes a URL part names, or the answer: `NO [BADURL url]` for a URL
/// that is malformed or names nothing the user may read here.
pub fn resolve(session: &Session, url: &[u8]) -> Result<Vec<u8>, Failure> {
    let text = String::from_utf8_lossy(url).into_owned();
    let bad = || -> Failure {
        Reply::no(
            Code::BadUrl(text.clone()),
            "The URL names no message you may read here",
        )
        .into()
    };
    let parsed = std::str::from_utf8(url)
        .ok()
        .and_then(ImapUrl::parse)
        .ok_or_else(bad)?;
    let user = session.user().expect("authenticated");
    // A URL made for another user names nothing here (RFC 5092 6.1).
    if parsed
        .user
        .as_ref()
        .is_some_and(|named| !named.eq_ignore_ascii_case(&user.name))
    {
        return Err(bad());
    }
    let view = session.view()?;
    let mailbox = session
        .names()
        .decode(&parsed.mailbox)
        .and_then(|name| view.resolve(&name))
        .filter(|m| m.selectable && m.rights.contains('r'))
        .ok_or_else(bad)?;
    let folder = mailbox.folder.as_ref().ok_or_else(bad)?;
    if parsed.uidvalidity.is_some_and(|v| v != folder.uidvalidity) {
        return Err(bad());
    }
    let bytes = session
        .shared
        .archives
        .read_for_catenate(session.caller(user), &mailbox.archive, folder, parsed.uid)?
        .ok_or_else(bad)?;
    let bytes = match &parsed.section {
        Some(section) => SectionSpec::parse(section)
            .and_then(|spec| crate::mime::section(&bytes, &spec))
            .ok_or_else(bad)?,
        None => bytes,
    };
    Ok(match parsed.partial {
        Some((offset, length)) => {
            let start = offset.min(bytes.len());
            let end = length.map_or(bytes.len(), |l| start.saturating_add(l).min(bytes.len()));
            bytes[start..end].to_vec()
        }
        None => bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_server_relative_and_absolute_urls() {
        assert_eq!(
            ImapUrl::parse("/INBOX;UIDVALIDITY=385759045/;UID=20/;SECTION=1.MIME/;PARTIAL=0.1024"),
            Some(ImapUrl {
                user: None,
                mailbox: "INBOX".into(),
                uidvalidity: Some(385759045),
                uid: 20,
                section: Some("1.MIME".into()),
                partial: Some((0, Some(1024))),
            })
        );
        let absolute =
            ImapUrl::parse("imap://bob@example.com/Drafts%20old;uidvalidity=7/;uid=3").unwrap();
        assert_eq!((absolute.mailbox.as_str(), absolute.uid), ("Drafts old", 3));
        assert_eq!(absolute.user.as_deref(), Some("bob"));
        let auth = ImapUrl::parse("imap://joe;AUTH=*@host:143/a/;UID=1").unwrap();
        assert_eq!(auth.user.as_deref(), Some("joe"));
        assert_eq!(ImapUrl::parse("/Sent/;UID=5").unwrap().mailbox, "Sent");
        for bad in [
            "INBOX/;UID=1",
            "/INBOX",
            "/INBOX/;UID=x",
            "/INBOX;FOO=1/;UID=2",
            "/INBOX/;UID=1/;UID=2",
            "/INBOX/;UID=0",
            "/a%zz/;UID=1",
        ] {
            assert_eq!(ImapUrl::parse(bad), None, "{bad}");
        }
    }
}
