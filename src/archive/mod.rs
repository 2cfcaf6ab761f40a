//! The domain: users, privileges, archive stores, archives and their folders.
//! [`Archives`] is the one entry point; the CLI, the admin API and the IMAP
//! server all call it, and it reaches storage only through `store`'s traits.

mod access;
mod admin_folders;
mod audit;
mod changes;
mod compliance;
mod content;
mod exchange_report;
mod filing;
/// Flags a user has set on a message, and changes to them.
pub mod flags;
mod folders;
mod index_queue;
mod indexing;
pub mod journal;
mod journal_commit;
mod mailbox;
pub mod names;
mod passwords;
mod privileges;
mod reading;
mod retrieval;
mod settings;
mod snapshot;
mod stores;
mod summary;
mod user_flags;
mod users;
mod verify;
mod view;

use std::sync::Arc;

pub use admin_folders::{FolderEntry, FolderName, ListedMessage, MessageId};
pub use audit::{ADMIN, SYSTEM, folder_target, store_target, user_target};
pub use changes::{Caller, NewMessage};
pub use content::{Content, FolderMessage};
pub use filing::{Filer, FilingOutcome, PreparedContent, PreparedMessage};
pub use folders::{Folder, FolderNode, FolderPath};
pub use indexing::{IndexInfo, IndexProgress, IndexRebuild, IndexReport, TextAnswer, TextSearch};
pub use mailbox::{MailboxCounts, MailboxMessage, MailboxView};
pub use passwords::{hash_password, unmatchable_hash, verify_password};
pub use privileges::{FolderPrivileges, GlobalPrivileges};
pub use snapshot::{Details, FolderSnapshot, MessageDetail};
pub use stores::can_import_into;
pub use summary::{Mailbox, Summary, arrival_date, header_block};
pub use user_flags::{FlagUpdate, UserFlags};
pub use users::{NewUserRequest, UserDetails};
pub use verify::VerifyReport;
pub use view::{ArchiveAccess, INBOX, Rights, SpecialUse, View, ViewMailbox};

use crate::config::Config;
use crate::error::Result;
pub use crate::index::{IndexDoc, TextKey, TextQuery};
use crate::store::Backend;
use crate::store::embedded::Embedded;
pub use crate::store::{
    ArchiveStatistics, AuditAction, AuditFilter, AuditRecord, Authentication, ComplianceSettings,
    StoreRecord, StoreState, UserRecord,
};

/// All archives of one archimap installation, as seen by one actor: the
/// changes made through it are recorded in the audit log as theirs. Copies
/// for other actors ([`Archives::acting_as`]) share everything else.
#[derive(Clone)]
pub struct Archives {
    shared: Arc<Shared>,
    actor: Actor,
}

/// Who changes are recorded as, and from where.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub ip: Option<std::net::IpAddr>,
}

/// What every copy of an [`Archives`] shares.
pub struct Shared {
    backend: Arc<dyn Backend>,
    indexes: indexing::Indexes,
    compliance: compliance::Cached,
    changes: changes::Changes,
    /// Folders' messages, shared by the sessions that have them open.
    snapshots: snapshot::Snapshots,
    /// Users' flags on folders, shared by each user's sessions.
    flag_tables: user_flags::UserFlagTables,
    /// zstd level for messages archived one by one (IMAP APPEND).
    compression_level: i32,
    /// What the journal receiver did since the counts were last stored.
    journal_counts: std::sync::Mutex<crate::store::JournalCounts>,
    /// Journal deliveries waiting to be filed together.
    journal_commits: journal_commit::GroupCommit,
}

impl std::ops::Deref for Archives {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.shared
    }
}

impl Archives {
    /// Opens the configured storage (the embedded backend under `data_dir`).
    /// Changes are recorded as [`SYSTEM`]'s until [`Archives::acting_as`].
    pub fn open(config: &Config) -> Result<Archives> {
        Ok(Archives {
            shared: Arc::new(Shared {
                backend: Arc::new(Embedded::open(&config.data_dir)?),
                indexes: indexing::Indexes::new(config.data_dir.clone(), config.index.clone()),
                compliance: compliance::Cached::default(),
                changes: changes::Changes::default(),
                snapshots: Default::default(),
                flag_tables: Default::default(),
                compression_level: config.import.compression_level,
                journal_counts: Default::default(),
                journal_commits: Default::default(),
            }),
            actor: Actor {
                name: SYSTEM.to_string(),
                ip: None,
            },
        })
    }

    /// Whether the configured storage holds an archive already (`open`
    /// would otherwise create a new one).
    pub fn exists(config: &Config) -> Result<bool> {
        Embedded::exists(&config.data_dir)
    }

    /// The same archives, with changes recorded as `actor`'s.
    pub fn acting_as(&self, actor: Actor) -> Archives {
        Archives {
            shared: self.shared.clone(),
            actor,
        }
    }

    fn catalog(&self) -> &dyn crate::store::Catalog {
        self.backend.catalog()
    }
}
