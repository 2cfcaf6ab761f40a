//! COPY, MOVE (RFC 6851) and their UID forms, with UIDPLUS's COPYUID
//! (RFC 4315). Both stay inside one archive; the bytes are stored once
//! whatever the number of folders holding them.

use std::collections::HashSet;

use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::imap_types::sequence::SequenceSet;
use tokio::io::AsyncWrite;

use super::Session;
use super::mailboxes::mailbox_name;
use super::response::send;
use super::updates::Moment;

pub async fn copy<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
    set: &SequenceSet,
    mailbox: &Mailbox<'_>,
    uid: bool,
    remove_source: bool,
) -> std::io::Result<()> {
    let verb = match (uid, remove_source) {
        (false, false) => "COPY",
        (false, true) => "MOVE",
        (true, false) => "UID COPY",
        (true, true) => "UID MOVE",
    };
    let selected = if remove_source {
        // MOVE takes messages out of the selected mailbox: it must be open
        // read-write (not EXAMINEd), as for STORE and EXPUNGE.
        match session.writable(stream, tag).await? {
            Some(selected) => selected,
            None => return Ok(()),
        }
    } else {
        match session.selected() {
            Some(selected) => selected,
            None => return send(stream, &format!("{tag} BAD No mailbox selected\r\n")).await,
        }
    };
    let positions = match selected.positions(set, uid) {
        Ok(positions) => positions,
        Err(reason) => return send(stream, &format!("{tag} BAD {reason}\r\n")).await,
    };
    let Some(view) = session.answered_view(stream, tag).await? else {
        return Ok(());
    };
    // RFC 3501: a target that does not exist answers TRYCREATE; an
    // invisible archive's folder answers exactly the same.
    let Some(target) = mailbox_name(mailbox)
        .and_then(|name| view.resolve(&name))
        .filter(|m| m.selectable)
        .and_then(|m| m.folder.clone())
    else {
        return send(stream, &format!("{tag} NO [TRYCREATE] No such mailbox\r\n")).await;
    };
    let (Some(source), false) = (selected.folder.clone(), positions.is_empty()) else {
        return send(
            stream,
            &format!("{tag} OK {verb} completed (no messages)\r\n"),
        )
        .await;
    };
    let uids: Vec<u32> = positions
        .iter()
        .map(|&p| selected.messages[p].uid)
        .collect();
    let user = session.user().expect("authenticated").clone();
    let pairs = match session.shared.archives.copy_messages(
        session.caller(&user),
        &source,
        &uids,
        &target,
        remove_source,
    ) {
        Ok(pairs) => pairs,
        Err(e) => return session.refuse(stream, tag, e).await,
    };
    let copyuid = if pairs.is_empty() {
        String::new()
    } else {
        let (from, to): (Vec<u32>, Vec<u32>) = pairs.iter().copied().unzip();
        format!(
            "[COPYUID {} {} {}] ",
            target.uidvalidity,
            uid_list(&from),
            uid_list(&to)
        )
    };
    if !remove_source {
        let moment = if uid {
            Moment::Command
        } else {
            Moment::NumberedCommand
        };
        session.report_added(stream, target.id, moment).await?;
        return send(stream, &format!("{tag} OK {copyuid}{verb} completed\r\n")).await;
    }
    // The moved messages leave the selected mailbox: EXPUNGE for each,
    // from the highest number down; moved into itself, they come back
    // with new UIDs (EXISTS).
    let moved: HashSet<u32> = pairs.iter().map(|&(from, _)| from).collect();
    let mut out = format!("* OK {copyuid}Moved\r\n");
    out.push_str(&session.forget(&moved));
    send(stream, &out).await?;
    session
        .report_added(stream, target.id, Moment::Command)
        .await?;
    send(stream, &format!("{tag} OK {verb} completed\r\n")).await
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
