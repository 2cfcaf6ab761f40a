//! Journal archiving (the domain side of the SMTP receiver): which archives
//! and folders a journaled message belongs in, and filing it there, in
//! every one or in none.
//!
//! Routing, by what the message carries:
//! * an Exchange or Microsoft 365 envelope journal report
//!   ([`exchange_report`]): the original it carries is archived, routed by
//!   the sender and recipients the report lists (Bcc and expanded groups
//!   included);
//! * per-user addresses: every envelope recipient is `<user>@<archive
//!   domain>` or `<anything>+<user>@<archive domain>` (Postfix
//!   `recipient_bcc_maps`/`sender_bcc_maps`): that user's archive;
//! * otherwise BCC journaling (Postfix `always_bcc`, other MTAs): the
//!   addresses of From, To, Cc, Delivered-To and X-Original-To, each
//!   matched case-insensitively against users' names and addresses.
//!
//! In a user's archive, a message the user sent goes to `Sent Items`,
//! one the user received to `Inbox` (internal mail to both users, a note to
//! oneself to both folders). A message with no known address goes to the
//! catch-all archive's `catchall` folder (MailStore's "messages with unknown
//! e-mail addresses"), or is refused when there is none.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::PoisonError;

use mail_parser::{HeaderValue, MessageParser};

use super::exchange_report::{self, Report};
use super::flags::FlagState;
use super::journal_commit::{Delivery, Routed};
use super::{Archives, FilingOutcome, FolderPath, PreparedMessage};
use crate::error::Result;
use crate::store::{JournalCounts, UserRecord};

/// Where a user's received mail goes.
pub const RECEIVED: &str = "Inbox";
/// Where a user's sent mail goes.
pub const SENT: &str = "Sent Items";
/// The catch-all archive's folder.
pub const CATCH_ALL: &str = "catchall";

/// How journaled mail is routed (the `[smtp]` settings).
#[derive(Debug, Clone, Default)]
pub struct Routing {
    /// Per-user journal addresses live in this domain (lower-case).
    pub archive_domain: Option<String>,
    /// The archive of messages with no known address.
    pub catch_all: Option<String>,
}

/// How a message came: the SMTP envelope.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    pub from: String,
    pub recipients: Vec<String>,
}

/// One place a message is filed in, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// The archive (named after its owner).
    pub archive: String,
    pub folder: &'static str,
    /// The address that routed it there.
    pub address: String,
}

/// What journaling a message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Journaled {
    /// Filed in these places; `again` of them held it already (a retry).
    Filed { targets: Vec<Target>, again: usize },
    /// No address is known and there is no catch-all archive.
    NoArchive,
}

impl Archives {
    /// Files a journaled message in every place `routing` gives it, all
    /// or none, durably before it returns; places that hold these bytes
    /// already (an MTA retrying after a lost answer) are left as they are.
    pub fn journal(
        &self,
        bytes: &[u8],
        envelope: &Envelope,
        routing: &Routing,
        ip: Option<IpAddr>,
    ) -> Result<Journaled> {
        let journaled = self.file_journaled(bytes, envelope, routing, ip);
        let mut counts = self.pending_counts();
        match &journaled {
            Ok(Journaled::Filed { targets, again }) => {
                counts.filed += 1;
                counts.places += targets.len() as u64;
                counts.again += *again as u64;
                if targets.iter().any(|t| t.folder == CATCH_ALL) {
                    counts.catch_all += 1;
                }
                counts.last_filed = Some(chrono::Utc::now().timestamp());
            }
            Ok(Journaled::NoArchive) => counts.refused += 1,
            Err(_) => counts.failed += 1,
        }
        journaled
    }

    /// The addresses of a journaled message that would route it, were
    /// they a user's, and are nobody's (a directory sync may make them
    /// someone's).
    pub fn unknown_addresses(
        &self,
        bytes: &[u8],
        envelope: &Envelope,
        routing: &Routing,
    ) -> Result<Vec<String>> {
        let addresses = match exchange_report::parse(bytes) {
            Some(report) => [report.senders, report.recipients].concat(),
            None if self.journal_users(envelope, routing)?.is_some() => Vec::new(),
            None => {
                let addresses = Addresses::of(bytes);
                [addresses.from, addresses.to].concat()
            }
        };
        let mut unknown = Vec::new();
        for address in addresses {
            if self.user_by_login(&address)?.is_none() {
                unknown.push(address);
            }
        }
        Ok(unknown)
    }

    /// The journal receiver's counts: those stored and those since.
    pub fn journal_status(&self) -> Result<JournalCounts> {
        let mut counts = self.catalog().journal_counts()?;
        add(&mut counts, &self.pending_counts());
        Ok(counts)
    }

    /// The counts not stored yet.
    fn pending_counts(&self) -> std::sync::MutexGuard<'_, JournalCounts> {
        // Counters stay valid whatever a panic interrupted.
        self.journal_counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores the counts gathered since the last time (a server does it
    /// every few seconds and when it stops: a crash loses at most those).
    pub fn store_journal_counts(&self) -> Result<()> {
        let pending = std::mem::take(&mut *self.pending_counts());
        if pending == JournalCounts::default() {
            return Ok(());
        }
        let stored = self.catalog().add_journal_counts(&pending);
        if stored.is_err() {
            // Kept for the next time.
            add(&mut self.pending_counts(), &pending);
        }
        stored
    }

    fn file_journaled(
        &self,
        bytes: &[u8],
        envelope: &Envelope,
        routing: &Routing,
        ip: Option<IpAddr>,
    ) -> Result<Journaled> {
        let report = exchange_report::parse(bytes);
        let targets = match &report {
            Some(report) => self.route_report(report, routing)?,
            None => self.route(bytes, envelope, routing)?,
        };
        if targets.is_empty() {
            return Ok(Journaled::NoArchive);
        }
        // A report without an original is archived itself.
        let bytes = report
            .as_ref()
            .and_then(|r| r.original.as_deref())
            .unwrap_or(bytes);
        let now = chrono::Utc::now().timestamp();
        let mut folders = Vec::with_capacity(targets.len());
        for target in &targets {
            let path = FolderPath::new(target.folder)?;
            folders.push(self.ensure_folder(&target.archive, &path)?);
        }
        let mut batch: Vec<PreparedMessage> = Vec::with_capacity(targets.len());
        for folder in &folders {
            let message = match batch.first() {
                // The bytes are prepared once; the other places refer to them.
                Some(first) => PreparedMessage {
                    folder_id: folder.id,
                    sha256: first.sha256,
                    size: first.size,
                    crlf_size: first.crlf_size,
                    internal_date: now,
                    flags: FlagState::default(),
                    content: None,
                },
                None => {
                    self.prepare_message(
                        bytes,
                        folder.id,
                        now,
                        FlagState::default(),
                        self.compression_level,
                    )?
                    .0
                }
            };
            batch.push(message);
        }
        let sha256 = hex::encode(batch[0].sha256);
        let outcomes = self.commit_delivery(Delivery {
            batch,
            routed: Routed {
                targets: targets.clone(),
                sha256,
                envelope_from: envelope.from.clone(),
                ip,
            },
        })?;
        let again = outcomes
            .iter()
            .filter(|o| !matches!(o, FilingOutcome::Added { .. }))
            .count();
        for folder in &folders {
            self.changes.changed(folder.id);
        }
        Ok(Journaled::Filed { targets, again })
    }

    /// The places a journal report's original belongs in.
    fn route_report(&self, report: &Report, routing: &Routing) -> Result<Vec<Target>> {
        let mut targets = BTreeSet::new();
        self.by_address(&mut targets, &report.senders, SENT)?;
        self.by_address(&mut targets, &report.recipients, RECEIVED)?;
        self.or_catch_all(targets, routing)
    }

    /// Adds `folder` of the archive of each user who has one of
    /// `addresses`.
    fn by_address(
        &self,
        targets: &mut BTreeSet<Target>,
        addresses: &[String],
        folder: &'static str,
    ) -> Result<()> {
        for address in addresses {
            if let Some(user) = self.user_by_login(address)? {
                targets.insert(Target {
                    archive: user.name,
                    folder,
                    address: address.clone(),
                });
            }
        }
        Ok(())
    }

    /// `targets`, or the catch-all archive when there are none.
    fn or_catch_all(
        &self,
        mut targets: BTreeSet<Target>,
        routing: &Routing,
    ) -> Result<Vec<Target>> {
        if targets.is_empty()
            && let Some(archive) = &routing.catch_all
        {
            self.archive(archive)?;
            targets.insert(Target {
                archive: archive.clone(),
                folder: CATCH_ALL,
                address: String::new(),
            });
        }
        Ok(targets.into_iter().collect())
    }

    /// The places `bytes` belongs in, in a stable order, without repeats.
    fn route(&self, bytes: &[u8], envelope: &Envelope, routing: &Routing) -> Result<Vec<Target>> {
        let mut targets = BTreeSet::new();
        let addresses = Addresses::of(bytes);
        match self.journal_users(envelope, routing)? {
            Some(users) => {
                for (user, address) in users {
                    let sent = addresses.from.iter().any(|a| user.emails.contains(a));
                    let received = addresses.to.iter().any(|a| user.emails.contains(a));
                    // Neither (a Bcc, a list): the envelope says it is theirs.
                    for (yes, folder) in [(sent, SENT), (received || !sent, RECEIVED)] {
                        if yes {
                            targets.insert(Target {
                                archive: user.name.clone(),
                                folder,
                                address: address.clone(),
                            });
                        }
                    }
                }
            }
            None => {
                self.by_address(&mut targets, &addresses.from, SENT)?;
                self.by_address(&mut targets, &addresses.to, RECEIVED)?;
            }
        }
        self.or_catch_all(targets, routing)
    }
}

impl Archives {
    /// With per-user journal addresses: the users every envelope recipient
    /// names, with the address; `None` when one names nobody (the message
    /// is then routed by its header, as BCC journaling is).
    fn journal_users(
        &self,
        envelope: &Envelope,
        routing: &Routing,
    ) -> Result<Option<Vec<(UserRecord, String)>>> {
        let Some(domain) = &routing.archive_domain else {
            return Ok(None);
        };
        let mut users = Vec::new();
        for recipient in &envelope.recipients {
            let Some(name) = journal_user(recipient, domain) else {
                return Ok(None);
            };
            let Some(user) = self.user_by_login(&name)? else {
                return Ok(None);
            };
            users.push((user, recipient.clone()));
        }
        Ok((!users.is_empty()).then_some(users))
    }
}

/// `delta` added to `counts` (the later `last_filed` kept).
fn add(counts: &mut JournalCounts, delta: &JournalCounts) {
    counts.filed += delta.filed;
    counts.places += delta.places;
    counts.again += delta.again;
    counts.catch_all += delta.catch_all;
    counts.refused += delta.refused;
    counts.failed += delta.failed;
    counts.last_filed = counts.last_filed.max(delta.last_filed);
}

/// The user a per-user journal address names: `alice@archive.example` or
/// `journal+alice@archive.example` in `domain`.
fn journal_user(address: &str, domain: &str) -> Option<String> {
    let (local, at) = address.rsplit_once('@')?;
    if !at.eq_ignore_ascii_case(domain) {
        return None;
    }
    let user = local.rsplit_once('+').map_or(local, |(_, user)| user);
    (!user.is_empty()).then(|| user.to_lowercase())
}

/// The addresses a message's header names, lower-case: its sender(s),
/// and its recipients as the header and the delivering MTA tell them.
#[derive(Debug, Default)]
struct Addresses {
    from: Vec<String>,
    to: Vec<String>,
}

impl Addresses {
    fn of(bytes: &[u8]) -> Addresses {
        let Some(message) = MessageParser::default().parse_headers(bytes) else {
            return Addresses::default();
        };
        let mut found = Addresses::default();
        for header in message.headers() {
            let into = match header.name.as_str().to_ascii_lowercase().as_str() {
                "from" | "sender" => &mut found.from,
                "to" | "cc" | "delivered-to" | "x-original-to" => &mut found.to,
                _ => continue,
            };
            match &header.value {
                HeaderValue::Address(address) => into.extend(
                    address
                        .iter()
                        .filter_map(|a| a.address.as_deref())
                        .map(str::to_lowercase),
                ),
                HeaderValue::Text(text) => into.push(
                    text.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_lowercase(),
                ),
                _ => {}
            }
        }
        found.from.dedup();
        found.to.dedup();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_user_addresses() {
        assert_eq!(
            journal_user("Alice@Archive.Example", "archive.example").as_deref(),
            Some("alice")
        );
        assert_eq!(
            journal_user("journal+bob@archive.example", "archive.example").as_deref(),
            Some("bob")
        );
        assert_eq!(journal_user("bob@example.com", "archive.example"), None);
        assert_eq!(journal_user("+@archive.example", "archive.example"), None);
    }

    #[test]
    fn addresses_of_a_header() {
        let found = Addresses::of(
            b"From: Alice <Alice@Example.com>\r\nTo: bob@example.com, \"C\" <c@example.org>\r\n\
              Delivered-To: <d@example.com>\r\nSubject: x\r\n\r\nbody\r\n",
        );
        assert_eq!(found.from, vec!["alice@example.com"]);
        assert_eq!(
            found.to,
            vec!["bob@example.com", "c@example.org", "d@example.com"]
        );
    }
}
