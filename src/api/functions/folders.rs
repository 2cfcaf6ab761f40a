//! Folders and messages: GetChildFolders, GetFolderStatistics, GetMessages,
//! DeleteMessage, MoveFolder and DeleteEmptyFolders. Folders are named as
//! MailStore names them, `archive/path` (`alice/Inbox/2019`); messages by
//! the ids GetMessages gives (`<UIDVALIDITY>:<UID>`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Call, Function, Outcome, done};
use crate::api::args::{Kind, optional, required};
use crate::archive::{FolderName, ListedMessage};
use crate::error::{Error, Result};

pub(super) const FUNCTIONS: &[Function] = &[
    Function {
        name: "GetChildFolders",
        args: &[
            optional("folder", Kind::String),
            optional("maxLevels", Kind::Number),
        ],
        run: get_child_folders,
    },
    Function {
        name: "GetFolderStatistics",
        args: &[],
        run: get_folder_statistics,
    },
    Function {
        name: "GetMessages",
        // Optional in MailStore's reference; archimap lists one folder at
        // a time, and says so when none is given.
        args: &[optional("folder", Kind::String)],
        run: get_messages,
    },
    Function {
        name: "DeleteMessage",
        args: &[
            required("id", Kind::String),
            required("reason", Kind::String),
        ],
        run: delete_message,
    },
    Function {
        name: "MoveFolder",
        args: &[
            required("fromFolder", Kind::String),
            required("toFolder", Kind::String),
        ],
        run: move_folder,
    },
    Function {
        name: "DeleteEmptyFolders",
        args: &[optional("folder", Kind::String)],
        run: delete_empty_folders,
    },
];

fn folder_arg(call: &Call) -> Result<Option<FolderName>> {
    call.args
        .optional_string("folder")
        .map(str::parse)
        .transpose()
}

fn get_child_folders(call: &Call) -> Result<Outcome> {
    // A negative depth is as wrong as 0, which the library refuses.
    let max_levels = call
        .args
        .optional_number("maxLevels")?
        .map(|n| u32::try_from(n.max(0)).unwrap_or(u32::MAX));
    let folders = call
        .archives
        .child_folders(folder_arg(call)?.as_ref(), max_levels)?;
    done(
        folders
            .iter()
            .map(|f| json!({ "folder": f.name, "messages": f.messages }))
            .collect::<Vec<_>>(),
    )
}

fn get_folder_statistics(call: &Call) -> Result<Outcome> {
    done(
        call.archives
            .archive_statistics()?
            .iter()
            .map(|s| json!({ "folder": s.archive.name, "count": s.messages, "size": s.bytes }))
            .collect::<Vec<_>>(),
    )
}

fn get_messages(call: &Call) -> Result<Outcome> {
    let folder = folder_arg(call)?.ok_or_else(|| {
        Error::Invalid("GetMessages lists one folder: give it as folder (e.g. alice/Inbox)".into())
    })?;
    done(
        call.archives
            .list_messages(&folder)?
            .iter()
            .map(message)
            .collect::<Vec<_>>(),
    )
}

/// A message as GetMessages lists it; header fields are null when the
/// message could not be parsed or lacks them.
fn message(m: &ListedMessage) -> Value {
    let summary = m.summary.as_ref();
    json!({
        "id": m.id.to_string(),
        "uid": m.uid,
        "date": summary.and_then(|s| s.date).and_then(rfc3339),
        "internalDate": rfc3339(m.internal_date),
        "from": m.from_text(),
        "to": m.to_text(),
        "subject": summary.and_then(|s| s.subject.as_deref()),
        "size": m.size,
        "messageId": summary.and_then(|s| s.message_id.as_deref()),
    })
}

fn rfc3339(seconds: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp(seconds, 0).map(|t| t.to_rfc3339())
}

fn delete_message(call: &Call) -> Result<Outcome> {
    let id = call.args.string("id")?.parse()?;
    call.archives
        .delete_message(id, call.args.string("reason")?)?;
    done(Value::Null)
}

fn move_folder(call: &Call) -> Result<Outcome> {
    let from: FolderName = call.args.string("fromFolder")?.parse()?;
    let to: FolderName = call.args.string("toFolder")?.parse()?;
    call.archives.move_folder(&from, &to)?;
    done(Value::Null)
}

fn delete_empty_folders(call: &Call) -> Result<Outcome> {
    done(
        call.archives
            .delete_empty_folders(folder_arg(call)?.as_ref())?,
    )
}
