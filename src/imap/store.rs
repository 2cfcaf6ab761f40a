//! STORE and UID STORE: a user's own flags. Flags are private to each
//! user, so they never change the archive; the rights still decide which
//! flags a user may change (RFC 4314: `s` for \Seen, `t` for \Deleted, `w`
//! for the others), and changes without the right are ignored.

use super::Session;
use super::condstore::Modseqs;
use super::copy::uid_list;
use super::fetch::flag_list;
use super::reply::{Code, Handled, Reply};
use super::select::{add_new_keywords, flags_announcement};
use crate::archive::flags;
use crate::archive::flags::{FlagChange, FlagState, KeywordChange};
use crate::error::Error;

use imap_codec::imap_types::command::StoreModifier;
use imap_codec::imap_types::flag::{Flag, StoreResponse, StoreType};
use imap_codec::imap_types::sequence::SequenceSet;

pub struct StoreRequest<'a> {
    pub set: &'a SequenceSet,
    pub kind: StoreType,
    pub silent: bool,
    pub flags: &'a [Flag<'a>],
    pub uid: bool,
    /// UNCHANGEDSINCE (RFC 7162 3.1.3).
    pub unchanged_since: Option<u64>,
}

impl<'a> StoreRequest<'a> {
    pub fn new(
        set: &'a SequenceSet,
        kind: StoreType,
        response: StoreResponse,
        flags: &'a [Flag<'a>],
        uid: bool,
        modifiers: &[StoreModifier],
    ) -> Self {
        let unchanged_since = modifiers
            .iter()
            .map(|m| match m {
                StoreModifier::UnchangedSince(modseq) => *modseq,
            })
            .next();
        StoreRequest {
            set,
            kind,
            silent: response == StoreResponse::Silent,
            flags,
            uid,
            unchanged_since,
        }
    }
}

pub fn store(session: &mut Session, request: StoreRequest<'_>) -> Handled {
    let verb = if request.uid { "UID STORE" } else { "STORE" };
    let Some((bits, keywords)) = flag_bits(request.flags) else {
        return Ok(Reply::bad("This system flag cannot be stored"));
    };
    let selected = session.writable()?;
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
        return Ok(Reply::no(
            Code::NoPerm,
            "You may not change these flags here",
        ));
    }
    let mut positions = selected
        .positions(request.set, request.uid)
        .map_err(Reply::bad)?;
    let mut passed_over = selected.pass_over_expunged(&mut positions);
    let mut change = flag_change(
        request.kind,
        bits & allowed,
        allowed,
        keywords_allowed,
        keywords,
    );
    change.unchanged_since = request.unchanged_since;
    let mut out = String::new();
    if request.unchanged_since.is_some() {
        out = session.condstore_enabling();
    }
    let condstore = session.modseqs() >= Modseqs::CondStore;
    let shared = session.shared.clone();
    let archives = &shared.archives;
    let user = session.user().expect("authenticated").clone();
    let selected = session.selected_mut().expect("checked above");
    // The mod-sequences of messages left as they were are those they came
    // with, which only the snapshot's details hold.
    let details = match condstore {
        true => Some(archives.snapshot_details(selected.view.snapshot())?),
        false => None,
    };
    let mut made = Vec::new();
    let mut modified = Vec::new();
    let mut new_keywords = false;
    let mut failure = None;
    for position in positions {
        // Only the empty INBOX of a user without one has no folder.
        let Some(folder) = &selected.folder else {
            break;
        };
        let mut message = selected.view.message(position, details.as_ref());
        let known = FlagState {
            bits: message.flags,
            keywords: std::mem::take(&mut message.keywords),
        };
        let told = selected.knows_flag_change(selected.view.flags().last_change(message.uid));
        // Applied to the flags as stored, which another session may have
        // changed since this one last read them.
        let changed = match archives.change_flags(&user, folder, message.uid, &change) {
            Ok((changed, number)) => {
                made.push(number);
                changed
            }
            // Expunged by another session since this one looked.
            Err(Error::Expunged(_)) => {
                passed_over = true;
                continue;
            }
            // What was changed so far is still told, then the failure.
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        if changed.refused {
            modified.push(if request.uid {
                message.uid
            } else {
                position as u32 + 1
            });
            continue;
        }
        // Even .SILENT tells of flags the client could not foresee.
        let foreseen = told && change.apply(&known).is_ok_and(|f| f == changed.flags);
        message.flags = changed.flags.bits;
        message.keywords = changed.flags.keywords;
        message.modseq = message.modseq.max(changed.modseq);
        new_keywords |= add_new_keywords(&mut selected.keywords, &message.keywords);
        let uid = if request.uid {
            format!("UID {} ", message.uid)
        } else {
            String::new()
        };
        let modseq = match condstore {
            true => format!(" MODSEQ ({})", message.modseq),
            false => String::new(),
        };
        if !request.silent || !foreseen {
            let flags = flag_list(&message);
            out.push_str(&format!(
                "* {} FETCH ({uid}FLAGS {flags}{modseq})\r\n",
                position + 1
            ));
        } else if condstore && changed.altered {
            // RFC 7162 3.1.3: the new mod-sequence even with .SILENT.
            out.push_str(&format!(
                "* {} FETCH ({uid}{})\r\n",
                position + 1,
                modseq.trim_start()
            ));
        }
    }
    for number in made {
        selected.made_flag_change(number);
    }
    // Results kept up to date that the new flags change (CONTEXT=SEARCH).
    out.push_str(&selected.refresh_live(&shared));
    // A keyword that comes into use is announced before the flags that
    // carry it (RFC 3501 7.2.6); other sessions hear of it in `updates`.
    if new_keywords {
        out.insert_str(
            0,
            &flags_announcement(&selected.keywords, selected.rights, selected.read_only),
        );
    }
    let reply = match failure {
        Some(error) => Reply::from(error),
        None if !modified.is_empty() => {
            modified.sort_unstable();
            Reply::ok("Conditional STORE failed").with_code(Code::Modified(uid_list(&modified)))
        }
        None => Reply::completed_passing_over(verb, passed_over),
    };
    Ok(reply.after(out))
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

/// What a STORE does to each message's flags: `allowed` are the system
/// flags this user may change here, `bits` those named (and allowed); the
/// keywords change only with the `w` right.
fn flag_change(
    kind: StoreType,
    bits: u32,
    allowed: u32,
    keywords_allowed: bool,
    keywords: Vec<String>,
) -> FlagChange {
    let (set, clear) = match kind {
        StoreType::Add => (bits, 0),
        StoreType::Remove => (0, bits),
        StoreType::Replace => (bits, allowed & !bits),
    };
    let keywords = match kind {
        _ if !keywords_allowed => KeywordChange::Keep,
        StoreType::Add => KeywordChange::Add(keywords),
        StoreType::Remove => KeywordChange::Remove(keywords),
        StoreType::Replace => KeywordChange::Replace(keywords),
    };
    FlagChange {
        set,
        clear,
        keywords,
        unchanged_since: None,
    }
}
