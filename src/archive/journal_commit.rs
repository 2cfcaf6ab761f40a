//! Journal deliveries of concurrent SMTP sessions committed together: the
//! first to find no commit under way files every delivery waiting at that
//! moment in one batch (one pack sync, one catalog transaction, the same
//! all-or-nothing rule), while the others wait for its outcome. With one
//! sync and one commit per message, four sessions spent their time
//! waiting for each other's syncs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Condvar, Mutex, PoisonError};

use serde_json::json;

use super::journal::Target;
use super::{Archives, FilingOutcome, PreparedMessage, SYSTEM, folder_target};
use crate::error::{Error, Result};
use crate::store::{AuditAction, AuditRecord};

/// One delivery: its message in each of its places, and what its audit
/// records say.
pub(super) struct Delivery {
    pub batch: Vec<PreparedMessage>,
    pub routed: Routed,
}

/// Where a delivery goes and how it came.
pub(super) struct Routed {
    pub targets: Vec<Target>,
    pub sha256: String,
    pub envelope_from: String,
    pub ip: Option<IpAddr>,
}

impl Routed {
    /// A record per place: where, the UID, and the address that routed it.
    fn records(&self, outcomes: &[FilingOutcome]) -> Vec<AuditRecord> {
        let sha256 = &self.sha256;
        outcomes
            .iter()
            .zip(&self.targets)
            .map(|(outcome, target)| {
                let uid = match outcome {
                    FilingOutcome::Added { uid } => Some(*uid),
                    _ => None,
                };
                AuditRecord {
                    ip: self.ip,
                    ..AuditRecord::now(
                        SYSTEM,
                        AuditAction::MessageArchived,
                        folder_target(&target.archive, target.folder),
                        json!({
                            "via": "smtp",
                            "uid": uid,
                            "sha256": sha256,
                            "routed_by": target.address,
                            "envelope_from": self.envelope_from,
                        }),
                    )
                }
            })
            .collect()
    }
}

#[derive(Default)]
pub(super) struct GroupCommit {
    state: Mutex<State>,
    done: Condvar,
}

#[derive(Default)]
struct State {
    next_ticket: u64,
    waiting: Vec<(u64, Delivery)>,
    writing: bool,
    /// Outcomes by ticket, for the sessions to take; an error as text (it
    /// is every delivery's of the batch).
    outcomes: HashMap<u64, std::result::Result<Vec<FilingOutcome>, String>>,
}

impl Archives {
    /// Files `delivery` durably, with whatever other deliveries are
    /// waiting; its outcomes, one per place.
    pub(super) fn commit_delivery(&self, delivery: Delivery) -> Result<Vec<FilingOutcome>> {
        let group = &self.journal_commits;
        let mut state = group.state.lock().unwrap_or_else(PoisonError::into_inner);
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push((ticket, delivery));
        loop {
            if let Some(outcome) = state.outcomes.remove(&ticket) {
                return outcome
                    .map_err(|e| Error::Unavailable(format!("filing a journaled message: {e}")));
            }
            if state.writing {
                state = group
                    .done
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.writing = true;
            let deliveries = std::mem::take(&mut state.waiting);
            drop(state);
            let tickets: Vec<u64> = deliveries.iter().map(|(t, _)| *t).collect();
            let outcomes = self.commit_together(deliveries);
            state = group.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.writing = false;
            match outcomes {
                Ok(outcomes) => state
                    .outcomes
                    .extend(tickets.into_iter().zip(outcomes.into_iter().map(Ok))),
                Err(e) => {
                    let e = e.to_string();
                    for ticket in tickets {
                        state.outcomes.insert(ticket, Err(e.clone()));
                    }
                }
            }
            group.done.notify_all();
        }
    }

    /// One batch for all of `deliveries`; each one's outcomes, in order.
    fn commit_together(&self, deliveries: Vec<(u64, Delivery)>) -> Result<Vec<Vec<FilingOutcome>>> {
        let mut batch = Vec::new();
        let mut routed = Vec::with_capacity(deliveries.len());
        for (_, delivery) in deliveries {
            routed.push((delivery.batch.len(), delivery.routed));
            batch.extend(delivery.batch);
        }
        // Each delivery's share of the outcomes, in order.
        let shares = |outcomes: &[FilingOutcome]| -> Vec<Vec<FilingOutcome>> {
            let mut rest = outcomes;
            routed
                .iter()
                .map(|(size, _)| {
                    let (own, after) = rest.split_at((*size).min(rest.len()));
                    rest = after;
                    own.to_vec()
                })
                .collect()
        };
        let records = |outcomes: &[FilingOutcome]| -> Vec<AuditRecord> {
            shares(outcomes)
                .iter()
                .zip(&routed)
                .flat_map(|(own, (_, routed))| routed.records(own))
                .collect()
        };
        let mut filer = self.journal_filer()?;
        let outcomes = filer.file(batch, &records)?;
        filer.finish()?;
        Ok(shares(&outcomes))
    }
}
