//! RFC 4314 ACLs: MYRIGHTS, GETACL, LISTRIGHTS. Rights come from archive
//! privileges (see `archive::Rights`), which administrators grant, so
//! SETACL and DELETEACL are refused with `[NOPERM]`. GETACL shows only the
//! asking user's own entry: who else may read an archive is not for every
//! reader to know. The other users' namespace root has no ACL: it answers
//! as a name that does not exist, as Dovecot's does.

use super::Session;
use super::extensions::AclCommand;
use super::reply::{Handled, Reply};
use super::response::quoted;
use crate::error::Error;

pub fn acl(session: &mut Session, command: AclCommand) -> Handled {
    let (verb, name) = match &command {
        AclCommand::MyRights { mailbox } => ("MYRIGHTS", mailbox),
        AclCommand::GetAcl { mailbox } => ("GETACL", mailbox),
        AclCommand::ListRights { mailbox, .. } => ("LISTRIGHTS", mailbox),
        AclCommand::Change { verb, mailbox } => (*verb, mailbox),
    };
    let view = session.view()?;
    // The namespace root is a prefix, not a mailbox (as in Dovecot).
    let names = session.names();
    let Some(mailbox) = names
        .decode(name)
        .and_then(|n| view.resolve(&n))
        .filter(|m| !m.is_namespace_root())
    else {
        return Err(Error::NotFound(name.to_string()).into());
    };
    let user = session.user().expect("authenticated").name.clone();
    let name = names.wire(&mailbox.name);
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
            return Err(Error::NotPermitted(format!(
                "{verb}: rights are the archive's privileges, which an administrator grants"
            ))
            .into());
        }
    };
    Ok(Reply::completed(verb).after(line))
}
