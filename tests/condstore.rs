//! CONDSTORE and QRESYNC (RFC 7162) where archimap differs from a
//! one-user mail server: flags are each user's own, so their
//! mod-sequences are too; mod-sequences and the record of expunged UIDs
//! outlive the server; merged ranges of expunged UIDs. The plain-RFC
//! behaviour is in `conformance/scripts/condstore.imap` and `qresync.imap`,
//! which Dovecot passes too.

mod common;

use common::Archimap;
use common::imap::{Client, Server};

fn login(server: &Server, user: &str) -> Client {
    let mut c = server.connect_tls();
    c.line();
    let ok = c.answer("l", &format!("LOGIN {user} pw-{user}"));
    assert!(ok.starts_with("l OK"), "{ok}");
    c
}

/// alice with `count` messages in her inbox; bob may read and flag them.
fn archive(count: usize) -> Archimap {
    let am = Archimap::new();
    for user in ["alice", "bob"] {
        am.ok(&["user", "add", user, "--password", &format!("pw-{user}")]);
    }
    let dir = am.dir.path().join("mail");
    std::fs::create_dir_all(&dir).unwrap();
    for n in 1..=count {
        std::fs::write(
            dir.join(format!("{n:03}.eml")),
            format!("From: x@example.com\r\nSubject: m{n}\r\n\r\nbody {n}\r\n"),
        )
        .unwrap();
    }
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Inbox",
        dir.to_str().unwrap(),
    ]);
    am.ok(&["grant", "alice", "alice", "read,write,delete"]);
    am.ok(&["grant", "bob", "alice", "read,write"]);
    am
}

/// The number in `* OK [HIGHESTMODSEQ n]` among `lines`.
fn highest(lines: &[String]) -> u64 {
    lines
        .iter()
        .find_map(|l| l.strip_prefix("* OK [HIGHESTMODSEQ "))
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_else(|| panic!("no HIGHESTMODSEQ in {lines:?}"))
        .parse()
        .unwrap()
}

/// The inbox's HIGHESTMODSEQ as STATUS tells it.
fn status_modseq(c: &mut Client) -> u64 {
    let status = c.command("st", "STATUS INBOX (HIGHESTMODSEQ)");
    status[0]
        .trim_end()
        .strip_prefix("* STATUS \"INBOX\" (HIGHESTMODSEQ ")
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{status:?}"))
        .parse()
        .unwrap()
}

/// The untagged FETCH lines among `lines`.
fn fetches(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .filter(|l| l.contains(" FETCH ("))
        .map(|l| l.trim_end())
        .collect()
}

#[test]
fn another_users_flag_change_is_not_a_change_for_this_one() {
    let am = archive(3);
    let server = Server::start(&am);
    let mut alice = login(&server, "alice");
    let before = highest(&alice.command("s", "SELECT INBOX (CONDSTORE)"));
    let mut bob = login(&server, "bob");
    bob.command("s", "SELECT \"Other Users/alice/Inbox\" (CONDSTORE)");
    let stored = bob.command("f", "STORE 2 +FLAGS (\\Flagged)");
    assert!(
        fetches(&stored)[0].starts_with("* 2 FETCH (FLAGS (\\Flagged"),
        "{stored:?}"
    );
    // bob sees his change; alice neither at her next command nor when
    // asking what changed.
    let changed = bob.command("c", &format!("FETCH 1:* (FLAGS) (CHANGEDSINCE {before})"));
    assert_eq!(fetches(&changed).len(), 1, "{changed:?}");
    let noop = alice.command("n", "NOOP");
    assert!(fetches(&noop).is_empty(), "{noop:?}");
    let changed = alice.command("c", &format!("FETCH 1:* (FLAGS) (CHANGEDSINCE {before})"));
    assert!(fetches(&changed).is_empty(), "{changed:?}");
    let found = alice.command("m", &format!("SEARCH MODSEQ {}", before + 1));
    assert_eq!(found[0], "* SEARCH\r\n");
    // HIGHESTMODSEQ may move for it (RFC 7162 lets it be above every
    // message's), never back.
    let now = status_modseq(&mut alice);
    assert!(now > before, "{now} after {before}");
    // Her own change comes with a mod-sequence above it.
    let own = alice.command("f", "STORE 1 +FLAGS (\\Seen)");
    assert_eq!(
        fetches(&own),
        [format!(
            "* 1 FETCH (FLAGS (\\Seen \\Recent) MODSEQ ({}))",
            now + 1
        )]
    );
}

#[test]
fn mod_sequences_and_what_went_outlive_the_server() {
    let am = archive(4);
    let (modseq, highest_before) = {
        let server = Server::start(&am);
        let mut alice = login(&server, "alice");
        alice.command("e", "ENABLE QRESYNC");
        alice.command("s", "SELECT INBOX");
        alice.command("d", "STORE 2 +FLAGS.SILENT (\\Deleted)");
        assert_eq!(alice.command("x", "EXPUNGE")[0], "* VANISHED 2\r\n");
        let stored = alice.command("f", "UID STORE 3 +FLAGS (\\Flagged)");
        let line = fetches(&stored)[0].to_string();
        let modseq: u64 = line
            .rsplit("MODSEQ (")
            .next()
            .and_then(|r| r.split(')').next())
            .unwrap()
            .parse()
            .unwrap();
        let status = alice.command("u", "UNSELECT");
        assert!(status.last().unwrap().starts_with("u OK"));
        let highest_before = highest(&alice.command("s", "EXAMINE INBOX (CONDSTORE)"));
        (modseq, highest_before)
    };
    let server = Server::start(&am);
    let mut alice = login(&server, "alice");
    alice.command("e", "ENABLE QRESYNC");
    let selected = alice.command("s", "SELECT INBOX (QRESYNC (1 1))");
    // Its UIDVALIDITY differs from 1: a plain SELECT.
    assert!(fetches(&selected).is_empty(), "{selected:?}");
    let validity: u32 = selected
        .iter()
        .find_map(|l| l.strip_prefix("* OK [UIDVALIDITY "))
        .and_then(|r| r.split(']').next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(highest(&selected), highest_before);
    let resync = alice.command(
        "q",
        &format!("SELECT INBOX (QRESYNC ({validity} {}))", modseq - 1),
    );
    assert!(
        resync.contains(&"* OK [CLOSED] Previous mailbox closed\r\n".to_string()),
        "{resync:?}"
    );
    assert_eq!(
        fetches(&resync),
        [format!(
            "* 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ ({modseq}))"
        )]
    );
    // UID 2 went before that mod-sequence: not told again.
    assert!(
        !resync.iter().any(|l| l.starts_with("* VANISHED")),
        "{resync:?}"
    );
    let from_start = alice.command("q2", &format!("SELECT INBOX (QRESYNC ({validity} 1))"));
    assert!(
        from_start.contains(&"* VANISHED (EARLIER) 2\r\n".to_string()),
        "{from_start:?}"
    );
}

/// UIDs that went next to UIDs gone earlier join their range, which then
/// carries the later mod-sequence: a resync told of the later expunge is
/// told of the earlier neighbours again (RFC 7162 3.2.5.2 lets a server
/// name UIDs the client no longer has), never of fewer.
#[test]
fn neighbouring_expunges_are_reported_together() {
    let am = archive(8);
    let server = Server::start(&am);
    let mut alice = login(&server, "alice");
    alice.command("e", "ENABLE QRESYNC");
    let selected = alice.command("s", "SELECT INBOX");
    let validity: u32 = selected
        .iter()
        .find_map(|l| l.strip_prefix("* OK [UIDVALIDITY "))
        .and_then(|r| r.split(']').next())
        .unwrap()
        .parse()
        .unwrap();
    alice.command("d", "UID STORE 2:3,7 +FLAGS.SILENT (\\Deleted)");
    assert_eq!(alice.command("x", "EXPUNGE")[0], "* VANISHED 2:3,7\r\n");
    let after_first = status_modseq(&mut alice);
    // Another session expunges UID 4: this one hears VANISHED at NOOP.
    let mut other = login(&server, "alice");
    other.command("s", "SELECT INBOX");
    other.command("d", "UID STORE 4 +FLAGS.SILENT (\\Deleted)");
    other.command("x", "EXPUNGE");
    assert_eq!(alice.command("n", "NOOP")[0], "* VANISHED 4\r\n");
    let changed = alice.command(
        "c",
        &format!("UID FETCH 1:* (FLAGS) (CHANGEDSINCE {after_first} VANISHED)"),
    );
    assert_eq!(changed[0], "* VANISHED (EARLIER) 2:4\r\n", "{changed:?}");
    let resync = alice.command(
        "q",
        &format!("SELECT INBOX (QRESYNC ({validity} {after_first} 1:8))"),
    );
    assert!(
        resync.contains(&"* VANISHED (EARLIER) 2:4\r\n".to_string()),
        "{resync:?}"
    );
    am.ok(&["verify"]);
}
