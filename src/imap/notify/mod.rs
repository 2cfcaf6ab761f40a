//! NOTIFY (RFC 5465): a session says which mailboxes it wants to hear of
//! and what (new and expunged messages, flag changes, mailboxes made,
//! renamed and deleted), and is told as it happens: at every command, in
//! IDLE, and between commands (no IDLE needed).
//!
//! The selected mailbox is told as without NOTIFY (EXISTS, EXPUNGE, FETCH
//! FLAGS, as RFC 3501 numbering needs), with two differences a SELECTED
//! group makes: a new message also comes with the attributes MessageNew
//! names, and expunges are told within FETCH, STORE and SEARCH too (the
//! client promised to use UIDs). Other mailboxes are compared, at each
//! look, with what the client was last told: a new or expunged message
//! is a STATUS (MESSAGES UIDNEXT UNSEEN), a flag change a STATUS (UNSEEN),
//! a mailbox made, renamed or deleted a LIST (with OLDNAME, or
//! \NonExistent). A look reads each watched folder's snapshot (shared and
//! cached: no catalog read when nothing changed) and happens when this
//! process changed something, or at NOOP, IDLE's polls and every 30 s
//! between commands (imports run in other processes). A session's own changes are told to it as well (RFC
//! 5465 5 says SHOULD NOT; its changes to the selected mailbox are not).

mod parse;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::io::AsyncWrite;
use tokio::sync::watch;

use super::Session;
use super::condstore::Modseqs;
use super::mailboxes::{list_line, status_line, subscribed_names};
use super::reply::{Code, Handled, Reply};
use super::response::send;
use super::updates::{Moment, changed};
use crate::archive::{INBOX, UserFlags, View, ViewMailbox};
use crate::error::Result;
use parse::{Events, Filter, Group, SUPPORTED};
pub use parse::{NotifyCommand, parse};

/// How often a session waiting for its next command asks the catalog
/// for other processes' changes (imports); longer than IDLE's poll: every
/// watched folder is looked at.
const POLL_BETWEEN_COMMANDS: std::time::Duration = std::time::Duration::from_secs(30);

/// A session's NOTIFY SET.
pub struct Notify {
    /// What the SELECTED or SELECTED-DELAYED group asked for.
    selected: Option<(bool, Events)>,
    /// The groups of other mailboxes, in the order given: a mailbox is in
    /// the first that matches.
    groups: Vec<Group>,
    /// The watched mailboxes as the client was last told of them, by
    /// folder id.
    known: HashMap<i64, Known>,
    /// This process's changes, as of the last look.
    changes: watch::Receiver<u64>,
}

/// A watched mailbox as last told.
struct Known {
    name: String,
    group: usize,
    messages: usize,
    uidnext: u32,
    uidvalidity: u32,
    /// With FlagChange: the user's flags there (kept, so that a look reads
    /// no flags), and the number of their last change.
    flags: Option<(Arc<UserFlags>, u64)>,
}

impl Notify {
    /// SELECTED rather than SELECTED-DELAYED: expunges may be told within
    /// commands that use sequence numbers.
    pub fn expunges_at_once(&self) -> bool {
        matches!(self.selected, Some((false, _)))
    }

    /// MessageNew's attributes for the selected mailbox (may be none).
    pub fn new_message_attributes(&self) -> &[String] {
        self.selected.as_ref().map_or(&[], |(_, e)| &e.fetch[..])
    }

    /// Wakes when this process changes any folder (when other mailboxes
    /// than the selected one are watched). A clone: waiting on it does
    /// not mark the change seen.
    pub fn changes(&self) -> Option<watch::Receiver<u64>> {
        (!self.groups.is_empty()).then(|| self.changes.clone())
    }
}

impl Filter {
    /// Whether mailbox `name` is one of the filter's (names as the view
    /// writes them; `personal`: not another user's).
    fn matches(&self, name: &str, personal: bool, subscribed: &HashSet<String>) -> bool {
        match self {
            Filter::Selected { .. } => false,
            Filter::Inboxes => name == INBOX,
            Filter::Personal => personal,
            Filter::Subscribed => subscribed.contains(name),
            Filter::Subtree(roots) => roots.iter().any(|root| {
                name == root
                    || name
                        .strip_prefix(root.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            }),
            Filter::Mailboxes(names) => names.iter().any(|n| n == name),
        }
    }

    /// The names as the view writes them (decoded from the wire, INBOX
    /// in any case as INBOX); a name that does not exist is kept as sent.
    fn resolved(self, view: &View, names: super::mailboxes::Names) -> Filter {
        let resolve = |list: Vec<String>| -> Vec<String> {
            list.into_iter()
                .map(|sent| {
                    let name = names.decode(&sent).unwrap_or(sent);
                    view.resolve(&name).map_or(name, |m| m.name.clone())
                })
                .collect()
        };
        match self {
            Filter::Subtree(roots) => Filter::Subtree(resolve(roots)),
            Filter::Mailboxes(list) => Filter::Mailboxes(resolve(list)),
            other => other,
        }
    }
}

impl Session {
    /// For a session waiting for its next command: what wakes it to be
    /// told of changes (true: time to ask the catalog, for other
    /// processes' changes); `None` without NOTIFY.
    pub(super) fn notify_wake(&self) -> Option<impl Future<Output = bool> + use<>> {
        let notify = self.notifying()?;
        let selected = match notify.selected {
            Some(_) => self.selected().and_then(|s| s.watch.clone()),
            None => None,
        };
        let others = notify.changes();
        Some(async move {
            tokio::select! {
                () = changed(selected) => false,
                () = changed(others) => false,
                () = tokio::time::sleep(POLL_BETWEEN_COMMANDS) => true,
            }
        })
    }

    /// Tells a session between commands what changed: its selected
    /// mailbox when a SELECTED group asks (expunges only with SELECTED:
    /// RFC 3501 7.4.1 allows none while no command runs), and the other
    /// mailboxes it watches.
    pub(super) async fn push_notifications<S: AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        poll: bool,
    ) -> std::io::Result<()> {
        let selected = self.notifying().is_some_and(|n| n.selected.is_some());
        if selected && self.selected().is_some() {
            self.report_changes(stream, Moment::NumberedCommand).await?;
        }
        self.report_notifications(stream, poll).await
    }

    /// NOTIFY SET, NOTIFY NONE.
    pub(super) fn notify(&mut self, command: NotifyCommand) -> Handled {
        let (status, groups) = match command {
            NotifyCommand::None => {
                self.set_notify(None);
                return Ok(Reply::completed("NOTIFY"));
            }
            NotifyCommand::Unsupported => {
                return Ok(Reply::no(
                    Code::BadEvent(SUPPORTED),
                    "archimap tells only of these events",
                ));
            }
            NotifyCommand::Set { status, groups } => (status, groups),
        };
        let view = self.view()?;
        let names = self.names();
        let mut selected = None;
        let mut others = Vec::new();
        for group in groups {
            match group.filter {
                Filter::Selected { delayed } => selected = Some((delayed, group.events)),
                filter => others.push(Group {
                    filter: filter.resolved(&view, names),
                    events: group.events,
                }),
            }
        }
        let mut notify = Notify {
            selected,
            groups: others,
            known: HashMap::new(),
            changes: self.shared.archives.watch_changes(),
        };
        // What the client is told of from now on is what changes after
        // this.
        notify.changes.borrow_and_update();
        let mut out = String::new();
        let watched = self.watched(&notify, &view)?;
        for (mailbox, group) in watched {
            let Some(known) = self.known(&notify, mailbox, group)? else {
                continue;
            };
            if status && !self.is_selected(mailbox) {
                let mut items = vec!["MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN"];
                items.extend(self.highest_modseq_item());
                out += &status_line(self, mailbox, &items)?;
            }
            notify.known.insert(folder_id(mailbox), known);
        }
        self.set_notify(Some(Box::new(notify)));
        Ok(Reply::completed("NOTIFY").after(out))
    }

    /// Tells the client what changed in the mailboxes it watches (not the
    /// selected one): at once with `poll` (NOOP, IDLE's polls), else only
    /// when this process changed something since the last look.
    pub(super) async fn report_notifications<S: AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        poll: bool,
    ) -> std::io::Result<()> {
        let Some(mut notify) = self.take_notify() else {
            return Ok(());
        };
        let changed = notify.changes.has_changed().unwrap_or(false);
        let out = match (poll || changed) && !notify.groups.is_empty() {
            true => {
                notify.changes.borrow_and_update();
                // A look reads the catalog for every watched mailbox, and
                // every NOTIFY session looks at every change: not on the
                // threads that serve the other sessions meanwhile.
                tokio::task::block_in_place(|| self.look(&mut notify))
            }
            false => Ok(String::new()),
        };
        self.set_notify(Some(notify));
        match out {
            Ok(out) if out.is_empty() => Ok(()),
            Ok(out) => send(stream, &out).await,
            Err(e) => {
                tracing::error!(peer = %self.peer, error = %e, "looking for NOTIFY events failed");
                Ok(())
            }
        }
    }

    /// The untagged answers for what changed since the last look.
    fn look(&self, notify: &mut Notify) -> Result<String> {
        let view = self.view()?;
        let mut out = String::new();
        let mut now = HashMap::new();
        for (mailbox, group) in self.watched(notify, &view)? {
            let id = folder_id(mailbox);
            let Some(current) = self.known(notify, mailbox, group)? else {
                continue;
            };
            let events = &notify.groups[group].events;
            let told = notify.known.remove(&id);
            let here = self.is_selected(mailbox);
            match told {
                // New (made, renamed from outside the watched ones, or
                // newly visible).
                None => {
                    if events.names {
                        out += &list_line(self, mailbox, None);
                    }
                    if events.messages && current.uidnext > 1 && !here {
                        out += &status_line(self, mailbox, &self.message_items(false))?;
                    }
                }
                Some(told) => {
                    if events.names && told.name != current.name {
                        out += &list_line(self, mailbox, Some(&told.name));
                    }
                    let messages = (told.messages, told.uidnext, told.uidvalidity)
                        != (current.messages, current.uidnext, current.uidvalidity);
                    let flags =
                        told.flags.as_ref().map(|f| f.1) != current.flags.as_ref().map(|f| f.1);
                    // The selected mailbox is told as without NOTIFY.
                    if !here && events.messages && messages {
                        let renewed = told.uidvalidity != current.uidvalidity;
                        out += &status_line(self, mailbox, &self.message_items(renewed))?;
                    } else if !here && events.flags && flags {
                        let mut items = vec!["UNSEEN"];
                        items.extend(self.highest_modseq_item());
                        out += &status_line(self, mailbox, &items)?;
                    }
                }
            }
            now.insert(id, current);
        }
        // Gone: deleted, renamed out of the watched ones, or no longer
        // visible.
        let mut gone: Vec<Known> = notify.known.drain().map(|(_, k)| k).collect();
        gone.sort_by(|a, b| a.name.cmp(&b.name));
        for known in gone {
            if notify.groups[known.group].events.names {
                out += &format!(
                    "* LIST (\\NonExistent) \"/\" {}\r\n",
                    self.names().wire(&known.name)
                );
            }
        }
        notify.known = now;
        Ok(out)
    }

    /// The view's mailboxes some group watches (with events), with the
    /// first such group.
    fn watched<'v>(
        &self,
        notify: &Notify,
        view: &'v View,
    ) -> Result<Vec<(&'v ViewMailbox, usize)>> {
        let subscribed = match notify.groups.iter().any(|g| g.filter == Filter::Subscribed) {
            true => subscribed_names(self, view)?,
            false => HashSet::new(),
        };
        let other_users = &self.shared.other_users;
        Ok(view
            .mailboxes()
            .iter()
            .filter(|m| m.selectable && m.folder.is_some())
            .filter_map(|m| {
                let personal = m.name != *other_users
                    && !m
                        .name
                        .strip_prefix(other_users.as_str())
                        .is_some_and(|rest| rest.starts_with('/'));
                let group = notify
                    .groups
                    .iter()
                    .position(|g| g.filter.matches(&m.name, personal, &subscribed))?;
                notify.groups[group].events.any().then_some((m, group))
            })
            .collect())
    }

    /// A watched mailbox as it is now; `None` if its folder went meanwhile.
    fn known(&self, notify: &Notify, mailbox: &ViewMailbox, group: usize) -> Result<Option<Known>> {
        let archives = &self.shared.archives;
        let Some(snapshot) = archives.folder_snapshot(folder_id(mailbox))? else {
            return Ok(None);
        };
        let Some(folder) = snapshot.folder() else {
            return Ok(None);
        };
        let flags = match notify.groups[group].events.flags {
            true => {
                let user = self.user().expect("authenticated");
                let flags = archives.user_flags(user, &snapshot)?;
                let last = flags.changes();
                Some((flags, last))
            }
            false => None,
        };
        Ok(Some(Known {
            name: mailbox.name.clone(),
            group,
            messages: snapshot.len(),
            uidnext: folder.uidnext,
            uidvalidity: folder.uidvalidity,
            flags,
        }))
    }

    /// STATUS items for a mailbox whose messages changed.
    fn message_items(&self, renewed: bool) -> Vec<&'static str> {
        let mut items = vec!["MESSAGES", "UIDNEXT", "UNSEEN"];
        if renewed {
            items.push("UIDVALIDITY");
        }
        items.extend(self.highest_modseq_item());
        items
    }

    /// HIGHESTMODSEQ once CONDSTORE is on.
    fn highest_modseq_item(&self) -> Option<&'static str> {
        (self.modseqs() >= Modseqs::CondStore).then_some("HIGHESTMODSEQ")
    }

    fn is_selected(&self, mailbox: &ViewMailbox) -> bool {
        let selected = self
            .selected()
            .and_then(|s| s.folder.as_ref())
            .map(|f| f.id);
        selected.is_some() && selected == mailbox.folder.as_ref().map(|f| f.id)
    }

    pub(super) fn notifying(&self) -> Option<&Notify> {
        match &self.state {
            super::State::Authenticated(auth) => auth.notify.as_deref(),
            _ => None,
        }
    }

    fn take_notify(&mut self) -> Option<Box<Notify>> {
        match &mut self.state {
            super::State::Authenticated(auth) => auth.notify.take(),
            _ => None,
        }
    }

    fn set_notify(&mut self, notify: Option<Box<Notify>>) {
        if let super::State::Authenticated(auth) = &mut self.state {
            auth.notify = notify;
        }
    }
}

fn folder_id(mailbox: &ViewMailbox) -> i64 {
    mailbox.folder.as_ref().map_or(0, |f| f.id)
}
