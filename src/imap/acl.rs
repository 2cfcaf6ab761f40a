//! RFC 4314 ACLs: MYRIGHTS, GETACL, LISTRIGHTS. Rights come from archive
//! privileges (see `archive::Rights`), which administrators grant, so
//! SETACL and DELETEACL are refused with `[NOPERM]`. GETACL shows only the
//! asking user's own entry: who else may read an archive is not for every
//! reader to know. The other users' namespace root has no ACL: it answers
//! as a name that does not exist, as Dovecot's does.

use tokio::io::AsyncWrite;

use super::Session;
use super::extensions::AclCommand;
use super::mailboxes::wire_name;
use super::mutf7;
use super::response::{quoted, send};
use crate::error::Error;

pub async fn acl<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
    command: AclCommand,
) -> std::io::Result<()> {
    let (verb, name) = match &command {
        AclCommand::MyRights { mailbox } => ("MYRIGHTS", mailbox),
        AclCommand::GetAcl { mailbox } => ("GETACL", mailbox),
        AclCommand::ListRights { mailbox, .. } => ("LISTRIGHTS", mailbox),
        AclCommand::Change { verb, mailbox } => (*verb, mailbox),
    };
    let Some(view) = session.answered_view(stream, tag).await? else {
        return Ok(());
    };
    // The namespace root is a prefix, not a mailbox (as in Dovecot).
    let Some(mailbox) = mutf7::decode(name)
        .and_then(|n| view.resolve(&n))
        .filter(|m| !m.is_namespace_root())
    else {
        return session
            .refuse(stream, tag, Error::NotFound(name.to_string()))
            .await;
    };
    let user = session.user().expect("authenticated").name.clone();
    let name = wire_name(&mailbox.name);
    let line = match command {
        AclCommand::MyRights { .. } => format!("* MYRIGHTS {name} {}\r\n", mailbox.rights),
        AclCommand::GetAcl { .. } => {
            format!("* ACL {name} {} {}\r\n", quoted(&user), mailbox.rights)
        }
        AclCommand::ListRights { identifier, .. } => {
            // What archive privileges can grant: read, write, delete.
            format!(
                "* LISTRIGHTS {name} {} \"\" lrsw ikx te\r\n",
                quoted(&identifier)
            )
        }
        AclCommand::Change { .. } => {
            let refusal = crate::error::Error::NotPermitted(format!(
                "{verb}: rights are the archive's privileges, which an administrator grants"
            ));
            return session.refuse(stream, tag, refusal).await;
        }
    };
    send(stream, &format!("{line}{tag} OK {verb} completed\r\n")).await
}
