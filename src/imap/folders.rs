//! CREATE, RENAME and DELETE of folders inside an archive. Names are
//! resolved against the user's view; the archive itself (its root) and
//! the namespace node are never created, renamed or deleted.

use imap_codec::imap_types::mailbox::Mailbox;
use tokio::io::AsyncWrite;

use super::Session;
use super::mailboxes::mailbox_name;
use super::response::send;

pub async fn create<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
    mailbox: &Mailbox<'_>,
) -> std::io::Result<()> {
    let Some(view) = session.answered_view(stream, tag).await? else {
        return Ok(());
    };
    let Some(name) = mailbox_name(mailbox) else {
        return send(stream, &format!("{tag} BAD Malformed mailbox name\r\n")).await;
    };
    let trimmed = name.strip_suffix('/').unwrap_or(&name);
    // A name kept (not selectable) by the deletion of its parent may be
    // created again.
    if view
        .resolve(trimmed)
        .is_some_and(|m| m.selectable || m.folder.is_none())
    {
        return send(
            stream,
            &format!("{tag} NO [ALREADYEXISTS] Mailbox exists already\r\n"),
        )
        .await;
    }
    let Some((archive, path)) = view.place(trimmed) else {
        return send(
            stream,
            &format!("{tag} NO [CANNOT] No folder can be created there\r\n"),
        )
        .await;
    };
    let user = session.user().expect("authenticated").clone();
    match session
        .shared
        .archives
        .create_folder(session.caller(&user), &archive, &path)
    {
        Ok(_) => send(stream, &format!("{tag} OK CREATE completed\r\n")).await,
        Err(e) => session.refuse(stream, tag, e).await,
    }
}

pub async fn rename<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
    from: &Mailbox<'_>,
    to: &Mailbox<'_>,
) -> std::io::Result<()> {
    let Some(view) = session.answered_view(stream, tag).await? else {
        return Ok(());
    };
    let Some((source, archive)) = mailbox_name(from)
        .and_then(|name| view.resolve(&name))
        .and_then(|m| Some((m.folder.clone()?, m.archive.clone())))
    else {
        return send(
            stream,
            &format!("{tag} NO [NONEXISTENT] No such mailbox\r\n"),
        )
        .await;
    };
    let Some(target) = mailbox_name(to) else {
        return send(stream, &format!("{tag} BAD Malformed mailbox name\r\n")).await;
    };
    if view.resolve(&target).is_some() {
        return send(
            stream,
            &format!("{tag} NO [ALREADYEXISTS] Mailbox exists already\r\n"),
        )
        .await;
    }
    let place = view.place(&target);
    let Some((_, path)) = place.filter(|(a, _)| *a == archive) else {
        return send(
            stream,
            &format!("{tag} NO [CANNOT] Folders can only be renamed within their archive\r\n"),
        )
        .await;
    };
    let user = session.user().expect("authenticated").clone();
    match session
        .shared
        .archives
        .rename_folder(session.caller(&user), &source, &path)
    {
        Ok(()) => send(stream, &format!("{tag} OK RENAME completed\r\n")).await,
        Err(e) => session.refuse(stream, tag, e).await,
    }
}

pub async fn delete<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
    mailbox: &Mailbox<'_>,
) -> std::io::Result<()> {
    let Some(view) = session.answered_view(stream, tag).await? else {
        return Ok(());
    };
    let Some(name) = mailbox_name(mailbox) else {
        return send(stream, &format!("{tag} BAD Malformed mailbox name\r\n")).await;
    };
    if name.eq_ignore_ascii_case("INBOX") {
        return send(
            stream,
            &format!("{tag} NO [CANNOT] INBOX cannot be deleted\r\n"),
        )
        .await;
    }
    let Some(folder) = view.resolve(&name).and_then(|m| m.folder.clone()) else {
        return send(
            stream,
            &format!("{tag} NO [NONEXISTENT] No such mailbox\r\n"),
        )
        .await;
    };
    let user = session.user().expect("authenticated").clone();
    match session
        .shared
        .archives
        .delete_folder(session.caller(&user), &folder)
    {
        Ok(_) => send(stream, &format!("{tag} OK DELETE completed\r\n")).await,
        Err(e) => session.refuse(stream, tag, e).await,
    }
}
