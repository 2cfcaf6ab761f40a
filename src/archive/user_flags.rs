//! One user's flags on the messages of one folder, read from the catalog
//! once and shared by all of that user's sessions with the folder open:
//! a session reads flags from here instead of keeping a copy, and learns
//! what changed since it last looked from the change numbers, without a
//! catalog read. Every change goes through [`Archives::change_flags`],
//! which writes the catalog and this table under the table's lock, so
//! the two never differ for the messages the table covers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use super::flags::{ChangedFlags, FlagChange, FlagState};
use super::snapshot::FolderSnapshot;
use super::{Archives, Folder, UserRecord};
use crate::error::Result;

/// A user's flags on a folder's messages (see the module).
#[derive(Default)]
pub struct UserFlags {
    table: RwLock<FlagTable>,
}

#[derive(Default)]
struct FlagTable {
    /// Messages with a flag or keyword set, or that had one.
    entries: HashMap<u32, Flagged>,
    /// Changes so far; each entry carries the number of its last one.
    changes: u64,
    /// Flags of the UIDs below are read from the catalog.
    covered: u32,
    /// The folder's `contents_modseq` when entries of expunged messages
    /// were last moved to `gone`.
    pruned_at: u64,
    /// Flags of messages expunged: another session may still number them
    /// until it may tell its client (RFC 3501 7.4.1), and it shows them
    /// with the flags the client knew, not none.
    gone: Graveyard,
}

/// The flags of the most recently expunged messages: at least the last
/// [`GONE_KEPT`], at most twice as many.
#[derive(Default)]
struct Graveyard {
    recent: HashMap<u32, FlagState>,
    older: HashMap<u32, FlagState>,
}

/// Expunged messages whose flags are kept (see [`Graveyard`]).
const GONE_KEPT: usize = 4096;

impl Graveyard {
    fn keep(&mut self, uid: u32, state: FlagState) {
        if self.recent.len() >= GONE_KEPT {
            self.older = std::mem::take(&mut self.recent);
        }
        self.recent.insert(uid, state);
    }

    fn get(&self, uid: u32) -> Option<&FlagState> {
        self.recent.get(&uid).or_else(|| self.older.get(&uid))
    }
}

impl FlagTable {
    /// The flags on the message with `uid`, expunged or not.
    fn state(&self, uid: u32) -> Option<&FlagState> {
        self.entries
            .get(&uid)
            .map(|f| &f.state)
            .or_else(|| self.gone.get(uid))
    }

    fn bits(&self, uid: u32) -> u32 {
        self.state(uid).map_or(0, |s| s.bits)
    }
}

struct Flagged {
    state: FlagState,
    change: u64,
    /// The folder's mod-sequence of the user's last change (0: none since
    /// the message came).
    modseq: u64,
}

impl UserFlags {
    fn read(&self) -> RwLockReadGuard<'_, FlagTable> {
        // Every write leaves the table whole before anything can fail.
        self.table.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, FlagTable> {
        self.table.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The flags on the message with `uid` (none set: the default).
    pub fn of(&self, uid: u32) -> FlagState {
        self.read().state(uid).cloned().unwrap_or_default()
    }

    /// The mod-sequence of the user's last change to the flags on the
    /// message with `uid`; 0 when none since it came.
    pub fn modseq(&self, uid: u32) -> u64 {
        self.read().entries.get(&uid).map_or(0, |f| f.modseq)
    }

    /// Those of `uids` whose flags the user changed at a mod-sequence
    /// above `after`.
    pub fn changed_after(&self, after: u64, uids: impl Iterator<Item = u32>) -> Vec<u32> {
        let table = self.read();
        uids.filter(|uid| table.entries.get(uid).is_some_and(|f| f.modseq > after))
            .collect()
    }

    /// Where the first of `uids` without flag `bit` is, if any (one look
    /// at the table for all of them).
    pub fn first_without(&self, bit: u32, mut uids: impl Iterator<Item = u32>) -> Option<usize> {
        let table = self.read();
        uids.position(|uid| table.bits(uid) & bit == 0)
    }

    /// Those of `uids` with flag `bit`.
    pub fn having(&self, bit: u32, uids: impl Iterator<Item = u32>) -> Vec<u32> {
        let table = self.read();
        uids.filter(|uid| {
            table
                .entries
                .get(uid)
                .is_some_and(|f| f.state.bits & bit != 0)
        })
        .collect()
    }

    /// How many of `uids` lack flag `bit`.
    pub fn count_without(&self, bit: u32, uids: impl Iterator<Item = u32>) -> usize {
        let table = self.read();
        uids.filter(|&uid| table.bits(uid) & bit == 0).count()
    }

    /// The keywords set on any message, each once (compared
    /// case-insensitively), in no particular order.
    pub fn keywords_in_use(&self) -> Vec<String> {
        let table = self.read();
        let mut keywords: Vec<String> = Vec::new();
        for keyword in table.entries.values().flat_map(|f| &f.state.keywords) {
            if !keywords.iter().any(|k| k.eq_ignore_ascii_case(keyword)) {
                keywords.push(keyword.clone());
            }
        }
        keywords
    }

    /// The number of the last change; it only grows.
    pub fn changes(&self) -> u64 {
        self.read().changes
    }

    /// The number of the last change to the flags on the message with
    /// `uid` (0: none since the table was read).
    pub fn last_change(&self, uid: u32) -> u64 {
        self.read().entries.get(&uid).map_or(0, |f| f.change)
    }

    /// The messages whose flags changed after change number `after`, in
    /// UID order; and the number of the last change.
    pub fn changed_since(&self, after: u64) -> (Vec<FlagUpdate>, u64) {
        let table = self.read();
        let mut changed: Vec<FlagUpdate> = table
            .entries
            .iter()
            .filter(|(_, f)| f.change > after)
            .map(|(&uid, f)| FlagUpdate {
                uid,
                state: f.state.clone(),
                change: f.change,
                modseq: f.modseq,
            })
            .collect();
        changed.sort_unstable_by_key(|u| u.uid);
        (changed, table.changes)
    }
}

/// A message's flags as a change left them ([`UserFlags::changed_since`]).
pub struct FlagUpdate {
    pub uid: u32,
    pub state: FlagState,
    /// The change's number in the table.
    pub change: u64,
    /// The folder's mod-sequence it took.
    pub modseq: u64,
}

/// The tables in use, by (user id, folder id); a table lives while a
/// session holds it.
#[derive(Default)]
pub struct UserFlagTables {
    tables: Mutex<HashMap<(i64, i64), Weak<UserFlags>>>,
}

impl UserFlagTables {
    fn live(&self, user_id: i64, folder_id: i64) -> Option<Arc<UserFlags>> {
        let tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        tables.get(&(user_id, folder_id)).and_then(Weak::upgrade)
    }

    fn get_or_add(&self, user_id: i64, folder_id: i64) -> Arc<UserFlags> {
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(table) = tables.get(&(user_id, folder_id)).and_then(Weak::upgrade) {
            return table;
        }
        tables.retain(|_, t| t.strong_count() > 0);
        let table = Arc::new(UserFlags::default());
        tables.insert((user_id, folder_id), Arc::downgrade(&table));
        table
    }
}

impl Archives {
    /// `user`'s flags on the messages of `snapshot`, shared with their
    /// other sessions on the folder.
    pub fn user_flags(
        &self,
        user: &UserRecord,
        snapshot: &FolderSnapshot,
    ) -> Result<Arc<UserFlags>> {
        let Some(folder) = snapshot.folder() else {
            return Ok(Arc::new(UserFlags::default()));
        };
        let flags = self.flag_tables.get_or_add(user.id, folder.id);
        {
            let mut table = flags.write();
            if table.covered < folder.uidnext {
                // Flags of messages new to the table: set when they were
                // filed, never changed since (no session knew them).
                let from = table.covered.max(1);
                for (uid, state, modseq) in self.catalog().flags(user.id, folder.id, from)? {
                    if uid < folder.uidnext {
                        let flagged = Flagged {
                            state,
                            change: 0,
                            modseq,
                        };
                        table.entries.insert(uid, flagged);
                    }
                }
                table.covered = folder.uidnext;
            }
            if table.pruned_at < folder.contents_modseq {
                let FlagTable { entries, gone, .. } = &mut *table;
                entries.retain(|&uid, flagged| {
                    let kept = snapshot.position(uid).is_ok();
                    if !kept {
                        gone.keep(uid, std::mem::take(&mut flagged.state));
                    }
                    kept
                });
                table.pruned_at = folder.contents_modseq;
            }
        }
        Ok(flags)
    }

    /// Changes `user`'s flags and keywords on one message as they are
    /// stored now (another session's change since this one read them is
    /// kept). Flags are private to each user: they never change the
    /// archive itself. Also returns the change's number in the user's
    /// table of the folder (0 if it altered nothing).
    pub fn change_flags(
        &self,
        user: &UserRecord,
        folder: &Folder,
        uid: u32,
        change: &FlagChange,
    ) -> Result<(ChangedFlags, u64)> {
        let live = self.flag_tables.live(user.id, folder.id);
        let mut table = live.as_ref().map(|t| t.write());
        let changed = self
            .catalog()
            .change_flags(user.id, folder.id, uid, change)?;
        let mut number = 0;
        if changed.altered {
            if let Some(table) = table.as_mut()
                && uid < table.covered
            {
                table.changes += 1;
                number = table.changes;
                table.entries.insert(
                    uid,
                    Flagged {
                        state: changed.flags.clone(),
                        change: number,
                        modseq: changed.modseq,
                    },
                );
            }
            drop(table);
            self.changes.changed(folder.id);
        }
        Ok((changed, number))
    }
}
