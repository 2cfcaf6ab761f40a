//! Compliance records: the audit log and the compliance settings. Plain
//! data like the other records; `archive` decides what gets recorded.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::error::Error;

/// What an audit record says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    Login,
    LoginFailed,
    MessageRetrieved,
    MessageMoved,
    MessageCopied,
    MessageAppended,
    /// Messages an import filed into one folder, counted (one record per
    /// folder per batch the import committed).
    MessagesImported,
    /// One message an import filed (only when the compliance settings ask
    /// for a record per message).
    MessageArchived,
    MessageDeleted,
    FolderCreated,
    FolderRenamed,
    FolderDeleted,
    UserCreated,
    UserChanged,
    UserDeleted,
    PrivilegesChanged,
    StoreChanged,
    ComplianceChanged,
    SettingsChanged,
}

impl AuditAction {
    pub const ALL: [AuditAction; 19] = [
        AuditAction::Login,
        AuditAction::LoginFailed,
        AuditAction::MessageRetrieved,
        AuditAction::MessageMoved,
        AuditAction::MessageCopied,
        AuditAction::MessageAppended,
        AuditAction::MessagesImported,
        AuditAction::MessageArchived,
        AuditAction::MessageDeleted,
        AuditAction::FolderCreated,
        AuditAction::FolderRenamed,
        AuditAction::FolderDeleted,
        AuditAction::UserCreated,
        AuditAction::UserChanged,
        AuditAction::UserDeleted,
        AuditAction::PrivilegesChanged,
        AuditAction::StoreChanged,
        AuditAction::ComplianceChanged,
        AuditAction::SettingsChanged,
    ];

    /// The stored and printed name (snake_case).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Login => "login",
            AuditAction::LoginFailed => "login_failed",
            AuditAction::MessageRetrieved => "message_retrieved",
            AuditAction::MessageMoved => "message_moved",
            AuditAction::MessageCopied => "message_copied",
            AuditAction::MessageAppended => "message_appended",
            AuditAction::MessagesImported => "messages_imported",
            AuditAction::MessageArchived => "message_archived",
            AuditAction::MessageDeleted => "message_deleted",
            AuditAction::FolderCreated => "folder_created",
            AuditAction::FolderRenamed => "folder_renamed",
            AuditAction::FolderDeleted => "folder_deleted",
            AuditAction::UserCreated => "user_created",
            AuditAction::UserChanged => "user_changed",
            AuditAction::UserDeleted => "user_deleted",
            AuditAction::PrivilegesChanged => "privileges_changed",
            AuditAction::StoreChanged => "store_changed",
            AuditAction::ComplianceChanged => "compliance_changed",
            AuditAction::SettingsChanged => "settings_changed",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditAction {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        AuditAction::ALL
            .into_iter()
            .find(|action| action.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
                Error::Invalid(format!(
                    "unknown audit action {s:?} (expected one of {})",
                    names.join(", ")
                ))
            })
    }
}

/// One event of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Kept to the millisecond.
    pub time: DateTime<Utc>,
    /// A user name, `admin` (the command line) or `system`; for a failed
    /// login, the user the login name belongs to, or the name as given.
    pub actor: String,
    /// The client's address, for what came over the network.
    pub ip: Option<IpAddr>,
    pub action: AuditAction,
    /// What was acted on: `user:<name>`, `store:<name>`,
    /// `folder:<archive>/<path>`, or `compliance`.
    pub target: String,
    /// Whatever else identifies the event (a JSON object): UID,
    /// Message-ID, SHA-256, old and new values, the reason of a refusal.
    pub details: serde_json::Value,
}

impl AuditRecord {
    /// A record made now, not tied to an address.
    pub fn now(
        actor: impl Into<String>,
        action: AuditAction,
        target: impl Into<String>,
        details: serde_json::Value,
    ) -> AuditRecord {
        AuditRecord {
            time: Utc::now(),
            actor: actor.into(),
            ip: None,
            action,
            target: target.into(),
            details,
        }
    }
}

/// Which audit records to read. Every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// From this time on (inclusive).
    pub since: Option<DateTime<Utc>>,
    /// Before this time (exclusive).
    pub until: Option<DateTime<Utc>>,
    /// This actor only (case-insensitive).
    pub actor: Option<String>,
    /// Any of these actions; empty: all.
    pub actions: Vec<AuditAction>,
    /// Only the latest `limit` records.
    pub limit: Option<usize>,
}

/// The compliance settings (MailStore's compliance configuration).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComplianceSettings {
    /// MailStore's `legalHoldEnabled`: nothing may be deleted by anyone.
    pub legal_hold_enabled: bool,
    /// Whether each message retrieval is audited (MailStore: the
    /// `MessageRetrieveContent` activity of `logSuccessfulUserActivities`).
    /// Every other event is always audited.
    pub audit_message_retrieval: bool,
    /// Whether an import records each message it files, besides its count
    /// per folder (archimap's `MessageArchive` activity; MailStore has
    /// none by that name).
    pub audit_message_archiving: bool,
}
