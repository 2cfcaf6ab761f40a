//! Results kept up to date (RETURN (UPDATE), RFC 5267 4.3): CONTEXT=SEARCH
//! and CONTEXT=SORT. A live result is searched (and sorted) again whenever
//! the mailbox changes, and the client is told the differences as
//! REMOVEFROM and ADDTO. A search result is a set, told at position 0; a
//! sorted result is a list, told by position so that the client's copy
//! stays in the order asked for.

use std::collections::HashSet;

use imap_codec::imap_types::extensions::sort::SortCriterion;
use imap_codec::imap_types::search::SearchKey;

use super::esearch::Rewritten;
use super::reply::Reply;
use super::search::{self, Decode, Searched};
use super::{Selected, Shared, sort};
use crate::archive::MailboxView;

/// Results a session keeps up to date at once: each is searched again at
/// every change of the mailbox.
const MAX_LIVE: usize = 5;

/// A SEARCH or SORT whose result the client keeps up to date.
pub(super) struct Live {
    pub tag: String,
    pub uid: bool,
    pub keys: Vec<SearchKey<'static>>,
    pub decode: Decode,
    pub extension: Rewritten,
    /// SORT's criteria; none for a SEARCH.
    pub order: Option<Vec<SortCriterion>>,
    /// What it finds now, as UIDs: ascending for a search, in the order
    /// asked for a sort.
    pub matched: Vec<u32>,
}

/// Messages that join or leave a result together: `uids` (in the
/// result's order) go in at, or come out from, `position` (from 1; 0 for
/// a search's unordered result).
#[derive(Debug, PartialEq)]
struct Run {
    position: u32,
    uids: Vec<u32>,
}

impl Live {
    pub(super) fn tag(&self) -> &str {
        &self.tag
    }

    /// The messages of the result that `gone` (UIDs about to be
    /// expunged, still numbered in `view`) takes out: REMOVEFROM, told
    /// before their EXPUNGE (RFC 5267 4.3.4).
    pub(super) fn removing(&mut self, gone: &HashSet<u32>, view: &MailboxView) -> String {
        let kept: Vec<u32> = self
            .matched
            .iter()
            .copied()
            .filter(|uid| !gone.contains(uid))
            .collect();
        let (removed, _) = self.changes(&kept);
        self.matched = kept;
        self.told("REMOVEFROM", &removed, view)
    }

    /// Searches (and sorts) again on `view`, the mailbox as the client now
    /// numbers it: REMOVEFROM for what left the result, ADDTO for what
    /// joined it.
    pub(super) fn refreshed(
        &mut self,
        shared: &Shared,
        view: &MailboxView,
        saved: &[u32],
    ) -> String {
        let searched = Searched { view, saved };
        let found = match &self.order {
            None => search::uids(
                &shared.archives,
                &searched,
                &self.keys,
                self.decode,
                &self.extension,
                &shared.limits,
            ),
            Some(criteria) => {
                sort::sorted(shared, &searched, criteria, &self.keys, self.decode, true)
                    .map(|(uids, _)| uids)
            }
        };
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(tag = %self.tag, error = %e, "searching again for an updated result failed");
                return String::new();
            }
        };
        let (removed, added) = self.changes(&found);
        self.matched = found;
        self.told("REMOVEFROM", &removed, view) + &self.told("ADDTO", &added, view)
    }

    /// What turns the result into `now`: the runs to remove, then the
    /// runs to add.
    fn changes(&self, now: &[u32]) -> (Vec<Run>, Vec<Run>) {
        match self.order {
            None => unordered_changes(&self.matched, now),
            Some(_) => ordered_changes(&self.matched, now),
        }
    }

    /// `* ESEARCH (TAG ...) [UID] ADDTO|REMOVEFROM (position set ...)` for
    /// `runs`, numbered in `view`; empty for none.
    fn told(&self, what: &str, runs: &[Run], view: &MailboxView) -> String {
        let mut pairs = Vec::new();
        for run in runs {
            let numbers: Vec<u32> = match self.uid {
                true => run.uids.clone(),
                false => run
                    .uids
                    .iter()
                    .filter_map(|&u| view.position(u).map(|p| p as u32 + 1))
                    .collect(),
            };
            if !numbers.is_empty() {
                pairs.push(format!(
                    "{} {}",
                    run.position,
                    search::sequence_set(&numbers)
                ));
            }
        }
        if pairs.is_empty() {
            return String::new();
        }
        let uid = if self.uid { " UID" } else { "" };
        format!(
            "* ESEARCH (TAG \"{}\"){uid} {what} ({})\r\n",
            self.tag,
            pairs.join(" ")
        )
    }
}

/// A search's result is a set: what left it and what joined it, each at
/// position 0, ascending (RFC 5267 4.3.3 recommends mailbox order).
fn unordered_changes(before: &[u32], now: &[u32]) -> (Vec<Run>, Vec<Run>) {
    let was: HashSet<u32> = before.iter().copied().collect();
    let is: HashSet<u32> = now.iter().copied().collect();
    let run = |uids: Vec<u32>| match uids.is_empty() {
        true => Vec::new(),
        false => vec![Run { position: 0, uids }],
    };
    (
        run(before.iter().copied().filter(|u| !is.contains(u)).collect()),
        run(now.iter().copied().filter(|u| !was.contains(u)).collect()),
    )
}

/// A sorted result is a list: the runs of consecutive messages that leave
/// it, each at its position once the runs before it are out, then the runs
/// that join it, each at its position once the runs before it are in
/// (RFC 5267 4.3.2: applied in order). Sort keys never change (they are
/// the message's own), so the messages in both keep their order; were it
/// otherwise, the whole list would be replaced.
fn ordered_changes(before: &[u32], now: &[u32]) -> (Vec<Run>, Vec<Run>) {
    let was: HashSet<u32> = before.iter().copied().collect();
    let is: HashSet<u32> = now.iter().copied().collect();
    let stays = |list: &[u32], other: &HashSet<u32>| -> Vec<u32> {
        list.iter().copied().filter(|u| other.contains(u)).collect()
    };
    if stays(before, &is) != stays(now, &was) {
        let all = |list: &[u32]| match list.is_empty() {
            true => Vec::new(),
            false => vec![Run {
                position: 1,
                uids: list.to_vec(),
            }],
        };
        return (all(before), all(now));
    }
    // Removing: a run's position counts the messages still before it.
    let mut removed = Vec::new();
    let mut taken = 0;
    for (start, run) in runs(before, |u| !is.contains(&u)) {
        removed.push(Run {
            position: (start - taken) as u32 + 1,
            uids: run.to_vec(),
        });
        taken += run.len();
    }
    // Adding: once the runs before it are in, the list up to a run is as
    // it is now, so its position is where it is now.
    let added = runs(now, |u| !was.contains(&u))
        .map(|(start, run)| Run {
            position: start as u32 + 1,
            uids: run.to_vec(),
        })
        .collect();
    (removed, added)
}

/// The maximal runs of consecutive elements of `list` that `pick` picks,
/// with where each starts.
fn runs(list: &[u32], pick: impl Fn(u32) -> bool) -> impl Iterator<Item = (usize, &[u32])> {
    let mut start = 0;
    std::iter::from_fn(move || {
        while start < list.len() && !pick(list[start]) {
            start += 1;
        }
        if start >= list.len() {
            return None;
        }
        let end = (start..list.len())
            .find(|&i| !pick(list[i]))
            .unwrap_or(list.len());
        let run = (start, &list[start..end]);
        start = end;
        Some(run)
    })
}

/// A searching command asking for UPDATE with the tag of a result kept up
/// to date is refused (RFC 5267 4.3).
pub(super) fn tag_in_use(selected: &Selected, tag: &str) -> Option<Reply> {
    selected
        .live
        .iter()
        .any(|l| l.tag == tag)
        .then(|| Reply::bad("That tag names a result kept up to date; use another"))
}

/// Keeps `live` up to date, or says why not: `* NO [NOUPDATE ...]` (RFC
/// 5267 4.3.1: the command is answered all the same).
pub(super) fn keep(selected: &mut Selected, live: Live) -> String {
    if selected.live.len() >= MAX_LIVE {
        return format!(
            "* NO [NOUPDATE \"{}\"] At most {MAX_LIVE} results are kept up to date\r\n",
            live.tag
        );
    }
    selected.live.push(live);
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies `removed` then `added` to `list` as a client does.
    fn apply(list: &[u32], removed: &[Run], added: &[Run]) -> Vec<u32> {
        let mut list = list.to_vec();
        for run in removed {
            let at = run.position as usize - 1;
            assert_eq!(&list[at..at + run.uids.len()], &run.uids[..]);
            list.drain(at..at + run.uids.len());
        }
        for run in added {
            let at = run.position as usize - 1;
            list.splice(at..at, run.uids.iter().copied());
        }
        list
    }

    #[test]
    fn sorted_changes_keep_the_order() {
        let before = [9, 3, 7, 1, 5, 8];
        let now = [4, 9, 7, 6, 2, 5];
        let (removed, added) = ordered_changes(&before, &now);
        assert_eq!(
            removed,
            vec![
                Run {
                    position: 2,
                    uids: vec![3]
                },
                Run {
                    position: 3,
                    uids: vec![1]
                },
                Run {
                    position: 4,
                    uids: vec![8]
                },
            ]
        );
        assert_eq!(
            added,
            vec![
                Run {
                    position: 1,
                    uids: vec![4]
                },
                Run {
                    position: 4,
                    uids: vec![6, 2]
                },
            ]
        );
        assert_eq!(apply(&before, &removed, &added), now);
        // The RFC 5267 4.3.3 example: 2731:2732 join before 2734:2735.
        let (removed, added) = ordered_changes(&[2734, 2735], &[2731, 2732, 2733, 2734, 2735]);
        assert!(removed.is_empty());
        assert_eq!(
            added,
            vec![Run {
                position: 1,
                uids: vec![2731, 2732, 2733]
            }]
        );
        // Messages in both in another order (not made by our sort keys):
        // the whole list is replaced.
        let (removed, added) = ordered_changes(&[1, 2, 3], &[3, 2, 1]);
        assert_eq!(apply(&[1, 2, 3], &removed, &added), vec![3, 2, 1]);
        assert_eq!(ordered_changes(&[], &[]), (vec![], vec![]));
    }

    #[test]
    fn search_changes_are_sets() {
        let (removed, added) = unordered_changes(&[1, 2, 5], &[2, 3, 5, 9]);
        assert_eq!(
            removed,
            vec![Run {
                position: 0,
                uids: vec![1]
            }]
        );
        assert_eq!(
            added,
            vec![Run {
                position: 0,
                uids: vec![3, 9]
            }]
        );
    }
}
