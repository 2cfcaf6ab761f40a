//! CONDSTORE and QRESYNC (RFC 7162): what a session turned on, and the
//! answers they add: HIGHESTMODSEQ, MODSEQ in FETCH answers, VANISHED.
//!
//! Mod-sequences are a folder's, shared by its users: every message that
//! comes or goes and every user's flag change takes the next one. A
//! message's mod-sequence for a user is the higher of the one it came with
//! and that of the user's last change to its flags, so a user sees their
//! own changes only; HIGHESTMODSEQ may move for another user's change, and
//! a client asking what changed since then hears of nothing (RFC 7162
//! lets HIGHESTMODSEQ be above every message's). The folder's record of
//! the UIDs it no longer holds is kept for as long as the folder (ranges
//! merged, at most one more than it has messages), so VANISHED (EARLIER)
//! answers any mod-sequence; a merged range carries the newest of its
//! expunges, so a UID may be reported again as vanished later than it
//! went, which a client takes as a no-op.

use imap_codec::imap_types::command::SelectParameter;
use imap_codec::imap_types::extensions::enable::CapabilityEnable;
use imap_codec::imap_types::extensions::utf8::Utf8Kind;
use imap_codec::imap_types::sequence::SequenceSet;

use super::Session;
use super::copy::uid_list;
use super::mailboxes::Names;
use super::numbers::NumberSet;
use super::reply::{Code, Failure, Handled, Reply};

/// What a session turned on of RFC 7162; each includes the ones before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Modseqs {
    #[default]
    Off,
    /// MODSEQ in every FETCH answer that tells of changed flags.
    CondStore,
    /// Expunges told as VANISHED, with UID in every unsolicited FETCH.
    QResync,
}

/// A QRESYNC parameter of SELECT or EXAMINE: what the client knew.
pub struct Resync {
    pub uidvalidity: u32,
    pub modseq: u64,
    /// The UIDs it knows; `None`: all up to UIDNEXT.
    pub known: Option<SequenceSet>,
}

impl Session {
    pub(super) fn modseqs(&self) -> Modseqs {
        match &self.state {
            super::State::Authenticated(auth) => auth.modseqs,
            _ => Modseqs::Off,
        }
    }

    /// Turns on at least `wanted`; true if it was not on.
    fn turn_on(&mut self, wanted: Modseqs) -> bool {
        match &mut self.state {
            super::State::Authenticated(auth) if auth.modseqs < wanted => {
                auth.modseqs = wanted;
                true
            }
            _ => false,
        }
    }

    /// A CONDSTORE enabling command (RFC 7162 3.1): turns CONDSTORE on;
    /// when that happens with a mailbox open, the client is told its
    /// HIGHESTMODSEQ, which it did not hear at SELECT.
    pub(super) fn condstore_enabling(&mut self) -> String {
        if !self.turn_on(Modseqs::CondStore) {
            return String::new();
        }
        self.highest_modseq_line()
    }

    /// `* OK [HIGHESTMODSEQ n]` of the selected mailbox (none without one).
    fn highest_modseq_line(&self) -> String {
        let Some(folder) = self.selected().and_then(|s| s.folder.as_ref()) else {
            return String::new();
        };
        match self.shared.archives.highest_modseq(folder) {
            Ok(modseq) => Reply::ok("Highest")
                .with_code(Code::HighestModSeq(modseq))
                .line("*"),
            Err(e) => {
                tracing::error!(peer = %self.peer, error = %e, "reading HIGHESTMODSEQ failed");
                String::new()
            }
        }
    }
}

/// ENABLE (RFC 5161): CONDSTORE, and QRESYNC which includes it,
/// UTF8=ACCEPT and IMAP4rev2; the answer lists those that were not on
/// yet.
pub fn enable(session: &mut Session, capabilities: &[CapabilityEnable<'_>]) -> Handled {
    let mut enabled: Vec<&str> = Vec::new();
    let mut data = String::new();
    for capability in capabilities {
        // RFC 9755 3: mailbox names in UTF-8 from now on.
        if let CapabilityEnable::Utf8(Utf8Kind::Accept) = capability {
            if let super::State::Authenticated(auth) = &mut session.state
                && auth.names != Names::Utf8
            {
                auth.names = Names::Utf8;
                enabled.push("UTF8=ACCEPT");
            }
            continue;
        }
        // RFC 9051: its answers from now on (and names in UTF-8).
        if capability.to_string().eq_ignore_ascii_case("IMAP4rev2") {
            if let super::State::Authenticated(auth) = &mut session.state
                && !auth.rev2
            {
                auth.rev2 = true;
                auth.names = Names::Utf8;
                if let Some(selected) = &mut auth.selected {
                    selected.rev2 = true;
                    selected.view = selected.view.clone().without_recent();
                }
                enabled.push("IMAP4rev2");
            }
            continue;
        }
        let (wanted, name) = match capability {
            CapabilityEnable::CondStore => (Modseqs::CondStore, "CONDSTORE"),
            other if other.to_string().eq_ignore_ascii_case("QRESYNC") => {
                (Modseqs::QResync, "QRESYNC")
            }
            _ => continue,
        };
        let was = session.modseqs();
        if session.turn_on(wanted) {
            enabled.push(name);
            if was == Modseqs::Off {
                data.push_str(&session.highest_modseq_line());
            }
        }
    }
    let mut answer = String::from("* ENABLED");
    for name in enabled {
        answer.push(' ');
        answer.push_str(name);
    }
    answer.push_str("\r\n");
    Ok(Reply::completed("ENABLE").after(answer + &data))
}

/// The QRESYNC parameter of a SELECT or EXAMINE, turning CONDSTORE on for
/// its CONDSTORE parameter; `Err` when QRESYNC was not enabled first
/// (RFC 7162 3.2.5: BAD).
pub fn select_parameters(
    session: &mut Session,
    parameters: &[SelectParameter],
) -> Result<Option<Resync>, Failure> {
    let mut resync = None;
    for parameter in parameters {
        match parameter {
            SelectParameter::CondStore => {
                session.turn_on(Modseqs::CondStore);
            }
            SelectParameter::QResync {
                uid_validity,
                mod_sequence_value,
                known_uids,
                ..
            } => {
                if session.modseqs() < Modseqs::QResync {
                    let refused = Reply::bad("QRESYNC is not enabled (ENABLE QRESYNC first)");
                    return Err(refused.with_code(Code::ClientBug).into());
                }
                resync = Some(Resync {
                    uidvalidity: uid_validity.get(),
                    modseq: mod_sequence_value.get(),
                    known: known_uids.clone(),
                });
            }
        }
    }
    Ok(resync)
}

/// `* VANISHED (EARLIER) uids`: those of `ranges` (the UIDs gone since a
/// mod-sequence) within `known`, if any.
pub fn vanished_earlier(ranges: &[(u32, u32)], known: Option<&NumberSet>) -> String {
    let mut uids: Vec<(u32, u32)> = Vec::new();
    for &(first, last) in ranges {
        match known {
            None => uids.push((first, last)),
            Some(known) => {
                for &(low, high) in known.ranges() {
                    let (from, to) = (first.max(low), last.min(high));
                    if from <= to {
                        uids.push((from, to));
                    }
                }
            }
        }
    }
    if uids.is_empty() {
        return String::new();
    }
    uids.sort_unstable();
    format!("* VANISHED (EARLIER) {}\r\n", range_list(&uids))
}

/// `* VANISHED uids` for expunges told to a QRESYNC client.
pub fn vanished(mut uids: Vec<u32>) -> String {
    if uids.is_empty() {
        return String::new();
    }
    uids.sort_unstable();
    format!("* VANISHED {}\r\n", uid_list(&uids))
}

/// Inclusive ranges, ascending, as a sequence set.
fn range_list(ranges: &[(u32, u32)]) -> String {
    let mut out = String::new();
    for &(first, last) in ranges {
        if !out.is_empty() {
            out.push(',');
        }
        if first == last {
            out.push_str(&first.to_string());
        } else {
            out.push_str(&format!("{first}:{last}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vanished_earlier_keeps_to_the_known_uids() {
        let known = NumberSet::new(&SequenceSet::try_from("1:5,9").unwrap(), 9);
        assert_eq!(
            vanished_earlier(&[(2, 3), (5, 9), (20, 30)], Some(&known)),
            "* VANISHED (EARLIER) 2:3,5,9\r\n"
        );
        assert_eq!(
            vanished_earlier(&[(4, 4), (7, 8)], None),
            "* VANISHED (EARLIER) 4,7:8\r\n"
        );
        assert_eq!(vanished_earlier(&[(20, 30)], Some(&known)), "");
        assert_eq!(vanished(vec![7, 3, 4]), "* VANISHED 3:4,7\r\n");
    }
}
