//! STORE and UID STORE: a user's own flags. Flags are private to each
//! user, so they never change the archive; the rights still decide which
//! flags a user may change (RFC 4314: `s` for \Seen, `t` for \Deleted, `w`
//! for the others), and changes without the right are ignored.

use imap_codec::imap_types::flag::{Flag, StoreResponse, StoreType};
use imap_codec::imap_types::sequence::SequenceSet;
use tokio::io::AsyncWrite;

use super::Session;
use super::fetch::flag_list;
use super::response::send;
use super::select::{add_new_keywords, flags_announcement};
use super::updates::completed;
use crate::archive::flags;
use crate::error::Error;

pub struct StoreRequest<'a> {
    pub set: &'a SequenceSet,
    pub kind: StoreType,
    pub silent: bool,
    pub flags: &'a [Flag<'a>],
    pub uid: bool,
}

impl<'a> StoreRequest<'a> {
    pub fn new(
        set: &'a SequenceSet,
        kind: StoreType,
        response: StoreResponse,
        flags: &'a [Flag<'a>],
        uid: bool,
    ) -> Self {
        StoreRequest {
            set,
            kind,
            silent: response == StoreResponse::Silent,
            flags,
            uid,
        }
    }
}

pub async fn store<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
    request: StoreRequest<'_>,
) -> std::io::Result<()> {
    let verb = if request.uid { "UID STORE" } else { "STORE" };
    let Some((bits, keywords)) = flag_bits(request.flags) else {
        return send(
            stream,
            &format!("{tag} BAD This system flag cannot be stored\r\n"),
        )
        .await;
    };
    let Some(selected) = session.writable(stream, tag).await? else {
        return Ok(());
    };
    // The flags this user may change here.
    let rights = selected.rights;
    let mut allowed = 0;
    for (right, mask) in [
        ('s', flags::SEEN),
        ('t', flags::DELETED),
        ('w', flags::ANSWERED | flags::FLAGGED | flags::DRAFT),
    ] {
        if rights.contains(right) {
            allowed |= mask;
        }
    }
    let keywords_allowed = rights.contains('w');
    // RFC 4314: a STORE fails only when none of its flags may change.
    let names_flags = bits != 0 || !keywords.is_empty();
    let keywords_change = keywords_allowed && !keywords.is_empty();
    if names_flags && bits & allowed == 0 && !keywords_change {
        return send(
            stream,
            &format!("{tag} NO [NOPERM] You may not change these flags here\r\n"),
        )
        .await;
    }
    let mut positions = match selected.positions(request.set, request.uid) {
        Ok(positions) => positions,
        Err(reason) => return send(stream, &format!("{tag} BAD {reason}\r\n")).await,
    };
    let mut passed_over = selected.pass_over_expunged(&mut positions);
    let archives = session.shared.archives.clone();
    let user = session.user().expect("authenticated").clone();
    let mut out = String::new();
    let selected = session.selected_mut().expect("checked above");
    let mut changed = 0;
    for position in positions {
        let message = &mut selected.messages[position];
        let wanted = match request.kind {
            StoreType::Add => message.flags | bits,
            StoreType::Remove => message.flags & !bits,
            StoreType::Replace => bits,
        };
        let new = (message.flags & !allowed) | (wanted & allowed);
        let new_keywords = if keywords_allowed {
            changed_keywords(&message.keywords, &keywords, request.kind)
        } else {
            message.keywords.clone()
        };
        if new_keywords.len() > MAX_KEYWORDS {
            return send(
                stream,
                &format!("{tag} NO [LIMIT] At most {MAX_KEYWORDS} keywords per message\r\n"),
            )
            .await;
        }
        if new != message.flags || new_keywords != message.keywords {
            message.flags = new;
            message.keywords = new_keywords;
            if let Some(folder) = &selected.folder {
                match archives.set_flags(&user, folder, message) {
                    Ok(()) => changed += 1,
                    // Expunged by another session since this one looked.
                    Err(Error::Expunged(_)) => {
                        passed_over = true;
                        continue;
                    }
                    Err(e) => {
                        selected.own_changes += changed;
                        return session.storage_error(stream, tag, e).await;
                    }
                }
            }
        }
        if !request.silent {
            let uid = if request.uid {
                format!("UID {} ", message.uid)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "* {} FETCH ({uid}FLAGS {})\r\n",
                position + 1,
                flag_list(message)
            ));
        }
    }
    selected.own_changes += changed;
    // A keyword that comes into use is announced before the flags that
    // carry it (RFC 3501 7.2.6); other sessions hear of it in `updates`.
    let in_use = if changed > 0 && keywords_allowed && request.kind != StoreType::Remove {
        keywords.iter()
    } else {
        [].iter()
    };
    if add_new_keywords(&mut selected.keywords, in_use) {
        out.insert_str(
            0,
            &flags_announcement(&selected.keywords, selected.rights, selected.read_only),
        );
    }
    out.push_str(&completed(tag, verb, passed_over));
    send(stream, &out).await
}

/// System flags as bits, and keywords; `None` for \Recent or an unknown
/// system flag, which cannot be stored.
pub fn flag_bits(list: &[Flag]) -> Option<(u32, Vec<String>)> {
    let mut bits = 0;
    let mut keywords = Vec::new();
    for flag in list {
        bits |= match flag {
            Flag::Seen => flags::SEEN,
            Flag::Answered => flags::ANSWERED,
            Flag::Flagged => flags::FLAGGED,
            Flag::Deleted => flags::DELETED,
            Flag::Draft => flags::DRAFT,
            Flag::Keyword(atom) => {
                keywords.push(atom.inner().to_string());
                0
            }
            Flag::Extension(_) => return None,
        };
    }
    Some((bits, keywords))
}

/// Keywords per message; more is abuse, not mail handling.
const MAX_KEYWORDS: usize = 64;

/// The keywords after a STORE: keywords compare case-insensitively and
/// keep the spelling they were first set with.
fn changed_keywords(current: &[String], given: &[String], kind: StoreType) -> Vec<String> {
    let has = |list: &[String], k: &str| list.iter().any(|x| x.eq_ignore_ascii_case(k));
    let mut result: Vec<String> = match kind {
        StoreType::Replace => Vec::new(),
        StoreType::Add => current.to_vec(),
        StoreType::Remove => current.iter().filter(|k| !has(given, k)).cloned().collect(),
    };
    if kind != StoreType::Remove {
        for keyword in given {
            if !has(&result, keyword) {
                result.push(keyword.clone());
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_add_remove_replace() {
        let current = vec!["$Forwarded".to_string(), "Junk".to_string()];
        let given = vec!["junk".to_string(), "$label1".to_string()];
        assert_eq!(
            changed_keywords(&current, &given, StoreType::Add),
            ["$Forwarded", "Junk", "$label1"]
        );
        assert_eq!(
            changed_keywords(&current, &given, StoreType::Remove),
            ["$Forwarded"]
        );
        assert_eq!(
            changed_keywords(&current, &given, StoreType::Replace),
            ["junk", "$label1"]
        );
    }
}
