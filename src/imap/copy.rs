//! COPY, MOVE (RFC 6851) and their UID forms, with UIDPLUS's COPYUID
//! (RFC 4315). Both stay inside one archive; the bytes are stored once
//! whatever the number of folders holding them.

use std::collections::HashSet;

use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::imap_types::sequence::SequenceSet;
use tokio::io::AsyncWrite;

use super::Session;
use super::reply::{Code, Handled, Reply};
use super::response::send;
use super::updates::Moment;

pub async fn copy<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    set: &SequenceSet,
    mailbox: &Mailbox<'_>,
    uid: bool,
    remove_source: bool,
) -> Handled {
    let verb = match (uid, remove_source) {
        (false, false) => "COPY",
        (false, true) => "MOVE",
        (true, false) => "UID COPY",
        (true, true) => "UID MOVE",
    };
    let selected = if remove_source {
        // MOVE takes messages out of the selected mailbox: it must be open
        // read-write (not EXAMINEd), as for STORE and EXPUNGE.
        session.writable()?
    } else {
        session.selected_or_bad()?
    };
    let positions = selected.positions(set, uid).map_err(Reply::bad)?;
    let view = session.view()?;
    // RFC 3501: a target that does not exist answers TRYCREATE; an
    // invisible archive's folder answers exactly the same.
    let target = session
        .names()
        .mailbox(mailbox)
        .and_then(|name| view.resolve(&name))
        .filter(|m| m.selectable)
        .and_then(|m| m.folder.clone())
        .ok_or_else(Reply::try_create)?;
    let (Some(source), false) = (selected.folder.clone(), positions.is_empty()) else {
        return Ok(Reply::ok(format!("{verb} completed (no messages)")));
    };
    let uids: Vec<u32> = positions.iter().map(|&p| selected.view.uid(p)).collect();
    let user = session.user().expect("authenticated").clone();
    let pairs = session.shared.archives.copy_messages(
        session.caller(&user),
        &source,
        &uids,
        &target,
        remove_source,
    )?;
    let copyuid = (!pairs.is_empty()).then(|| {
        let (from, to): (Vec<u32>, Vec<u32>) = pairs.iter().copied().unzip();
        Code::CopyUid {
            uidvalidity: target.uidvalidity,
            from: uid_list(&from),
            to: uid_list(&to),
        }
    });
    if !remove_source {
        let moment = if uid {
            Moment::Command
        } else {
            Moment::NumberedCommand
        };
        session.report_added(stream, target.id, moment).await?;
        let reply = Reply::completed(verb);
        return Ok(match copyuid {
            Some(code) => reply.with_code(code),
            None => reply,
        });
    }
    // The moved messages leave the selected mailbox: EXPUNGE for each,
    // from the highest number down; moved into itself, they come back
    // with new UIDs (EXISTS). COPYUID comes first, untagged (RFC 6851).
    let moved: HashSet<u32> = pairs.iter().map(|&(from, _)| from).collect();
    let mut out = match copyuid {
        Some(code) => Reply::ok("Moved").with_code(code).line("*"),
        None => Reply::ok("Moved").line("*"),
    };
    out.push_str(&session.forget(&moved));
    send(stream, &out).await?;
    session
        .report_added(stream, target.id, Moment::Command)
        .await?;
    Ok(Reply::completed(verb))
}

/// UIDs in the given order, consecutive runs written `a:b`.
pub fn uid_list(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let mut j = i;
        while j + 1 < uids.len() && uids[j + 1] == uids[j] + 1 {
            j += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if j > i {
            out.push_str(&format!("{}:{}", uids[i], uids[j]));
        } else {
            out.push_str(&uids[i].to_string());
        }
        i = j + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn uid_lists_keep_order_and_join_runs() {
        assert_eq!(super::uid_list(&[1, 2, 3, 5, 9, 8, 10]), "1:3,5,9,8,10");
        assert_eq!(super::uid_list(&[7]), "7");
        assert_eq!(super::uid_list(&[]), "");
    }
}
