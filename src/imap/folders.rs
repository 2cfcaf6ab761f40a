//! CREATE, RENAME and DELETE of folders inside an archive. Names are
//! resolved against the user's view; the archive itself (its root) and
//! the namespace node are never created, renamed or deleted.

use imap_codec::imap_types::mailbox::Mailbox;

use super::Session;
use super::reply::{Code, Handled, Reply};

fn already_exists() -> Reply {
    Reply::no(Code::AlreadyExists, "Mailbox exists already")
}

pub fn create(session: &mut Session, mailbox: &Mailbox<'_>) -> Handled {
    let view = session.view()?;
    let name = session.names().new_name(mailbox)?;
    let trimmed = name.strip_suffix('/').unwrap_or(&name);
    // A name kept (not selectable) by the deletion of its parent may be
    // created again.
    if view
        .resolve(trimmed)
        .is_some_and(|m| m.selectable || m.folder.is_none())
    {
        return Ok(already_exists());
    }
    let Some((archive, path)) = view.place(trimmed) else {
        return Ok(Reply::no(Code::Cannot, "No folder can be created there"));
    };
    let user = session.user().expect("authenticated").clone();
    session
        .shared
        .archives
        .create_folder(session.caller(&user), &archive, &path)?;
    Ok(Reply::completed("CREATE"))
}

pub fn rename(session: &mut Session, from: &Mailbox<'_>, to: &Mailbox<'_>) -> Handled {
    let view = session.view()?;
    let (source, archive) = session
        .names()
        .mailbox(from)
        .and_then(|name| view.resolve(&name))
        .and_then(|m| Some((m.folder.clone()?, m.archive.clone())))
        .ok_or_else(Reply::no_mailbox)?;
    let target = session.names().new_name(to)?;
    if view.resolve(&target).is_some() {
        return Ok(already_exists());
    }
    let place = view.place(&target);
    let Some((_, path)) = place.filter(|(a, _)| *a == archive) else {
        return Ok(Reply::no(
            Code::Cannot,
            "Folders can only be renamed within their archive",
        ));
    };
    let user = session.user().expect("authenticated").clone();
    session
        .shared
        .archives
        .rename_folder(session.caller(&user), &source, &path)?;
    Ok(Reply::completed("RENAME"))
}

pub fn delete(session: &mut Session, mailbox: &Mailbox<'_>) -> Handled {
    let view = session.view()?;
    let name = session.names().new_name(mailbox)?;
    if name.eq_ignore_ascii_case("INBOX") {
        return Ok(Reply::no(Code::Cannot, "INBOX cannot be deleted"));
    }
    let folder = view
        .resolve(&name)
        .and_then(|m| m.folder.clone())
        .ok_or_else(Reply::no_mailbox)?;
    let user = session.user().expect("authenticated").clone();
    session
        .shared
        .archives
        .delete_folder(session.caller(&user), &folder)?;
    Ok(Reply::completed("DELETE"))
}
