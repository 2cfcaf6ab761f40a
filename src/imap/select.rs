//! Opening and closing a mailbox: SELECT, EXAMINE, CLOSE, UNSELECT, CHECK.

use super::condstore::{self, Resync};
use super::fetch::write_flag_list;
use super::mailboxes::list_line;
use super::numbers::NumberSet;
use super::reply::{Code, Handled, Reply};
use super::{Selected, Session};
use crate::archive::{Archives, Folder, MailboxView, Rights, flags};
use imap_codec::imap_types::command::SelectParameter;
use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::imap_types::sequence::SequenceSet;

pub fn select(
    session: &mut Session,
    mailbox: &Mailbox<'_>,
    parameters: &[SelectParameter],
    examine: bool,
) -> Handled {
    // A failed SELECT leaves no mailbox selected (RFC 3501 6.3.1). The
    // mailbox left is dropped only at the end: a SELECT of the same folder
    // again (clients do it often) then finds the user's flag table of it
    // in memory instead of reading it again.
    let left = session.take_selected();
    let verb = if examine { "EXAMINE" } else { "SELECT" };
    let resync = condstore::select_parameters(session, parameters)?;
    let view = session.view()?;
    // Invisible archives answer exactly like names that do not exist.
    let target = session
        .names()
        .mailbox(mailbox)
        .and_then(|n| view.resolve(&n))
        .filter(|m| m.selectable && m.rights.may_read())
        .ok_or_else(Reply::no_mailbox)?;
    let read_only = examine || target.rights.read_only();
    let archives = session.shared.archives.clone();
    // Read before the mailbox: every change up to it is in what the
    // session then sees (RFC 7162 3.1.2.1).
    let highest = match &target.folder {
        Some(folder) => archives.highest_modseq(folder)?,
        None => 1,
    };
    let view = match &target.folder {
        Some(folder) => {
            let user = session.user().expect("authenticated").clone();
            archives
                .open_mailbox(&user, folder, read_only)?
                .ok_or_else(Reply::no_mailbox)?
        }
        None => MailboxView::empty(),
    };
    let rev2 = session.rev2();
    let view = match rev2 {
        true => view.without_recent(),
        false => view,
    };
    let folder = view.snapshot().folder().cloned();
    let (uidvalidity, uidnext) = folder
        .as_ref()
        .map_or((1, 1), |f| (f.uidvalidity, f.uidnext));
    // The flags in use: the system flags and this user's keywords here.
    let mut keywords: Vec<String> = Vec::new();
    add_new_keywords(&mut keywords, &view.flags().keywords_in_use());
    let mut out = String::new();
    if left.is_some() {
        out.push_str(
            &Reply::ok("Previous mailbox closed")
                .with_code(Code::Closed)
                .line("*"),
        );
    }
    out.push_str(&flags_announcement(&keywords, target.rights, read_only));
    out.push_str(&format!("* {} EXISTS\r\n", view.len()));
    if rev2 {
        // RFC 9051 6.3.2: the mailbox's LIST, no RECENT, no UNSEEN.
        out.push_str(&list_line(session, target, None));
    } else {
        out.push_str(&format!("* {} RECENT\r\n", view.recent_count()));
    }
    if !rev2 && let Some(first) = view.first_without(flags::SEEN) {
        out.push_str(
            &Reply::ok("First unseen")
                .with_code(Code::Unseen(first + 1))
                .line("*"),
        );
    }
    out.push_str(
        &Reply::ok("UIDs valid")
            .with_code(Code::UidValidity(uidvalidity))
            .line("*"),
    );
    out.push_str(
        &Reply::ok("Predicted next UID")
            .with_code(Code::UidNext(uidnext))
            .line("*"),
    );
    out.push_str(
        &Reply::ok("Highest")
            .with_code(Code::HighestModSeq(highest))
            .line("*"),
    );
    if let (Some(resync), Some(folder)) = (resync, &folder)
        && resync.uidvalidity == folder.uidvalidity
    {
        out.push_str(&resynchronise(&archives, folder, &view, &resync)?);
    }
    let mode = if read_only {
        Code::ReadOnly
    } else {
        Code::ReadWrite
    };
    let mut watch = folder
        .as_ref()
        .map(|f| session.shared.archives.watch_folder(f.id));
    let seen = watch.as_mut().map_or(0, |w| *w.borrow_and_update());
    let flags_seen = view.flags().changes();
    session.set_selected(Some(Selected {
        watch,
        folder,
        archive: target.archive.clone(),
        examined: examine,
        read_only,
        rights: target.rights,
        view,
        flags_seen,
        own_flag_changes: Vec::new(),
        keywords,
        seen,
        own_changes: 0,
        expunged: Default::default(),
        saved: Vec::new(),
        live: Vec::new(),
        polled: std::time::Instant::now(),
        rev2,
    }));
    Ok(Reply::completed(verb).with_code(mode).after(out))
}

/// What QRESYNC tells a client that knew the mailbox up to
/// `resync.modseq` (RFC 7162 3.2.5): the UIDs it knew that are gone
/// (VANISHED (EARLIER)), then the flags of the messages that changed.
fn resynchronise(
    archives: &Archives,
    folder: &Folder,
    view: &MailboxView,
    resync: &Resync,
) -> crate::error::Result<String> {
    let known = resync
        .known
        .as_ref()
        .map(|set| NumberSet::new(set, folder.uidnext.saturating_sub(1)));
    let gone = archives.vanished_since(folder, resync.modseq)?;
    let mut out = condstore::vanished_earlier(&gone, known.as_ref()).into_bytes();
    let details = archives.snapshot_details(view.snapshot())?;
    for position in 0..view.len() {
        let message = view.message(position, Some(&details));
        if message.modseq <= resync.modseq {
            continue;
        }
        out.extend_from_slice(
            format!("* {} FETCH (UID {} FLAGS ", position + 1, message.uid).as_bytes(),
        );
        write_flag_list(&mut out, &message);
        out.extend_from_slice(format!(" MODSEQ ({}))\r\n", message.modseq).as_bytes());
    }
    Ok(String::from_utf8(out).expect("flags and keywords are ASCII atoms"))
}

/// Adds to `known` the `keywords` it lacks (keywords compare
/// case-insensitively); true if it added any.
pub fn add_new_keywords<'a>(
    known: &mut Vec<String>,
    keywords: impl IntoIterator<Item = &'a String>,
) -> bool {
    let before = known.len();
    for keyword in keywords {
        if !known.iter().any(|k| k.eq_ignore_ascii_case(keyword)) {
            known.push(keyword.clone());
        }
    }
    known.len() > before
}

/// `FLAGS` (the system flags and `keywords`) and `PERMANENTFLAGS` (what
/// the rights let this user store: RFC 4314 `s`, `w`, `t`), as SELECT sends
/// them and again whenever a new keyword comes into use (RFC 3501 7.2.6).
pub fn flags_announcement(keywords: &[String], rights: Rights, read_only: bool) -> String {
    let mut out = format!(
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft{}{})\r\n",
        if keywords.is_empty() { "" } else { " " },
        keywords.join(" ")
    );
    let permanent: Vec<&str> = [
        ('w', "\\Answered"),
        ('w', "\\Flagged"),
        ('t', "\\Deleted"),
        ('s', "\\Seen"),
        ('w', "\\Draft"),
        ('w', "\\*"),
    ]
    .into_iter()
    .filter(|(right, _)| !read_only && rights.contains(*right))
    .map(|(_, flag)| flag)
    .collect();
    let permanent = Code::PermanentFlags(permanent.join(" "));
    out.push_str(
        &Reply::ok("Flags are kept per user")
            .with_code(permanent)
            .line("*"),
    );
    out
}

/// UNSELECT (CLOSE, which also expunges, is in `expunge`).
pub fn unselect(session: &mut Session) -> Handled {
    session.selected_or_bad()?;
    session.set_selected(None);
    Ok(Reply::completed("UNSELECT"))
}

impl Selected {
    /// The positions (sequence number - 1) a sequence set or UID set names,
    /// ascending, each once; an error text for a sequence number out of
    /// range. Works on ranges, so `1:4294967295` costs no more than `1:*`.
    pub fn positions(&self, set: &SequenceSet, uid: bool) -> Result<Vec<usize>, &'static str> {
        let mut positions = Vec::new();
        // `$` (RFC 5182): the saved UIDs still here, by number or UID alike.
        if super::esearch::is_saved(set) {
            let mut found: Vec<usize> = self
                .saved
                .iter()
                .filter_map(|&u| self.view.position(u))
                .collect();
            found.sort_unstable();
            return Ok(found);
        }
        if uid {
            let uids = self.view.snapshot().uids();
            let Some(&last) = uids.last() else {
                return Ok(positions);
            };
            for &(low, high) in NumberSet::new(set, last).ranges() {
                let from = uids.partition_point(|&u| u < low);
                let to = uids.partition_point(|&u| u <= high);
                positions.extend(from..to);
            }
        } else {
            let count = self.view.len() as u32;
            if count == 0 {
                return Err("No messages in this mailbox");
            }
            let numbers = NumberSet::new(set, count);
            if numbers.highest() > Some(count) {
                return Err("Message sequence number out of range");
            }
            for &(low, high) in numbers.ranges() {
                positions.extend(low as usize - 1..high as usize);
            }
        }
        Ok(positions)
    }
}
