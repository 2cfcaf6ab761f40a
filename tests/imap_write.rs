//! The write side over real TLS sessions: COPY, MOVE, EXPUNGE, CREATE,
//! RENAME, DELETE under each privilege, store states, and what concurrent
//! sessions on one folder are told.

mod common;

use common::Archimap;
use common::imap::{Client, Server};

/// alice: read,write,delete on her archive (Inbox with 4 messages, Old),
/// read on bob's; bob: Inbox with 2 messages; carol: read,write on
/// alice's archive; dave: read,delete on alice's archive.
fn archive() -> Archimap {
    let am = Archimap::new();
    for (user, password) in [
        ("alice", "pw-alice"),
        ("bob", "pw-bob"),
        ("carol", "pw-carol"),
        ("dave", "pw-dave"),
    ] {
        am.ok(&["user", "add", user, "--password", password]);
    }
    let mail = am.dir.path().join("mail");
    for (user, folder, count) in [
        ("alice", "Inbox", 4),
        ("alice", "Old", 1),
        ("bob", "Inbox", 2),
    ] {
        let dir = mail.join(user).join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 1..=count {
            std::fs::write(
                dir.join(format!("{i}.eml")),
                format!(
                    "From: {user}@example.com\r\nSubject: {folder} {i}\r\nMessage-ID: <{user}.{folder}.{i}@example.com>\r\n\r\nBody {i}\r\n"
                ),
            )
            .unwrap();
        }
        am.import(&["--user", user, "--folder", folder, dir.to_str().unwrap()]);
    }
    am.ok(&["grant", "alice", "alice", "read,write,delete"]);
    am.ok(&["grant", "alice", "bob", "read"]);
    am.ok(&["grant", "carol", "alice", "read,write"]);
    am.ok(&["grant", "dave", "alice", "read,delete"]);
    am
}

fn login(server: &Server, user: &str) -> Client {
    let mut c = server.connect_tls();
    c.line();
    let ok = c.answer("l", &format!("LOGIN {user} pw-{user}"));
    assert!(ok.starts_with("l OK"), "{ok}");
    c
}

fn has(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

/// The INBOX shows `lrsw` only (no right to change anything), and once
/// it is selected each of `commands` is refused: `NO [` then `code`.
fn inbox_refuses(c: &mut Client, code: &str, commands: &[(&str, &str)]) {
    let rights = c.command("r", "MYRIGHTS INBOX");
    assert!(has(&rights, "\"INBOX\" lrsw\r\n"), "{rights:?}");
    c.command("s", "SELECT INBOX");
    for (tag, command) in commands {
        let answer = c.answer(tag, command);
        assert!(
            answer.starts_with(&format!("{tag} NO [{code}")),
            "{command}: {answer}"
        );
    }
}

fn count(c: &mut Client, mailbox: &str) -> usize {
    let lines = c.command("st", &format!("STATUS \"{mailbox}\" (MESSAGES)"));
    let status = lines
        .iter()
        .find(|l| l.starts_with("* STATUS"))
        .expect("STATUS answer");
    let n = status.rsplit("MESSAGES ").next().unwrap();
    n.trim_end_matches([')', '\r', '\n']).parse().unwrap()
}

#[test]
fn copy_and_move_inside_an_archive() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = login(&server, "alice");
    let caps = c.command("c", "CAPABILITY");
    assert!(has(&caps, " MOVE") && has(&caps, " UIDPLUS"), "{caps:?}");
    let selected = c.command("s", "SELECT INBOX");
    assert!(has(&selected, "* 4 EXISTS"), "{selected:?}");
    let copied = c.command("c1", "UID COPY 1:2 Old");
    assert!(
        copied.last().unwrap().starts_with("c1 OK [COPYUID "),
        "{copied:?}"
    );
    assert!(copied.last().unwrap().contains(" 1:2 2:3]"), "{copied:?}");
    assert_eq!(count(&mut c, "Old"), 3);
    // Copying bytes the target holds already adds a message all the same
    // (RFC 3501 6.4.7, RFC 4315: a new UID), its bytes stored once.
    let again = c.command("c2", "UID COPY 1 Old");
    assert!(again.last().unwrap().contains(" 1 4]"), "{again:?}");
    assert_eq!(count(&mut c, "Old"), 4);

    let moved = c.command("m1", "MOVE 2:3 Old");
    assert!(has(&moved, "* OK [COPYUID "), "{moved:?}");
    // Expunged from the highest number down.
    let expunges: Vec<&String> = moved
        .iter()
        .filter(|l| l.ends_with("EXPUNGE\r\n"))
        .collect();
    assert_eq!(
        expunges,
        ["* 3 EXPUNGE\r\n", "* 2 EXPUNGE\r\n"],
        "{moved:?}"
    );
    assert!(moved.last().unwrap().starts_with("m1 OK"));
    assert_eq!(count(&mut c, "INBOX"), 2);
    assert_eq!(count(&mut c, "Old"), 6);
    let fetched = c.command("f", "FETCH 1:* (UID)");
    assert_eq!(fetched.len(), 3, "{fetched:?}");

    // Never across archives, never into an invisible or missing mailbox.
    let across = c.answer("x1", "UID MOVE 1 \"Other Users/bob/Inbox\"");
    assert!(
        across.starts_with("x1 NO [CANNOT]") || across.starts_with("x1 NO [NOPERM]"),
        "{across}"
    );
    let missing = c.answer("x2", "COPY 1 Nowhere");
    assert!(missing.starts_with("x2 NO [TRYCREATE]"), "{missing}");
    let invisible = c.answer("x3", "COPY 1 \"Other Users/carol/Inbox\"");
    assert_eq!(invisible.replacen("x3", "x2", 1), missing);
    assert_eq!(count(&mut c, "INBOX"), 2);
    // Copies are new messages, not new bytes: the 7 imported are all.
    let verified = am.ok(&["verify"]);
    assert!(verified.contains("verified 7 messages"), "{verified}");

    // Bob's archive is read-only to alice: she may copy nothing into it.
    c.command("s2", "SELECT \"Other Users/bob/Inbox\"");
    let into_bob = c.answer("x4", "COPY 1 \"Other Users/bob/Inbox\"");
    assert!(into_bob.starts_with("x4 NO [NOPERM]"), "{into_bob}");
    let out_of_bob = c.answer("x5", "MOVE 1 INBOX");
    assert!(out_of_bob.starts_with("x5 NO [CANNOT]"), "{out_of_bob}");
    assert_eq!(count(&mut c, "Other Users/bob/Inbox"), 2);
    am.ok(&["verify"]);
}

#[test]
fn deleting_needs_the_delete_privilege() {
    let am = archive();
    let server = Server::start(&am);
    // carol: read,write on alice's archive, no delete.
    let mut carol = login(&server, "carol");
    let rights = carol.command("r", "MYRIGHTS \"Other Users/alice/Inbox\"");
    assert!(
        has(&rights, "\"Other Users/alice/Inbox\" lrswikx\r\n"),
        "{rights:?}"
    );
    let selected = carol.command("s", "SELECT \"Other Users/alice/Inbox\"");
    assert!(
        has(
            &selected,
            "[PERMANENTFLAGS (\\Answered \\Flagged \\Seen \\Draft \\*)]"
        ),
        "{selected:?}"
    );
    let store = carol.answer("d1", "STORE 1 +FLAGS (\\Deleted)");
    assert!(store.starts_with("d1 NO [NOPERM]"), "{store}");
    let expunge = carol.answer("d2", "EXPUNGE");
    assert!(expunge.starts_with("d2 NO [NOPERM]"), "{expunge}");
    let delete = carol.answer("d3", "DELETE \"Other Users/alice/Old\"");
    assert!(delete.starts_with("d3 NO [NOPERM]"), "{delete}");
    // Moving stays possible (the message stays in the archive) ...
    assert!(
        carol
            .answer("d4", "MOVE 1 \"Other Users/alice/Old\"")
            .starts_with("d4 OK")
    );
    // ... and creating and renaming folders.
    assert!(
        carol
            .answer("d5", "CREATE \"Other Users/alice/Trash\"")
            .starts_with("d5 OK")
    );
    assert!(
        carol
            .answer("d6", "MOVE 1 \"Other Users/alice/Trash\"")
            .starts_with("d6 OK")
    );
    let rename = carol.answer(
        "d7",
        "RENAME \"Other Users/alice/Trash\" \"Other Users/alice/Bin\"",
    );
    assert!(rename.starts_with("d7 OK"), "{rename}");
    // Nothing disappeared: 5 messages in all.
    let mut alice = login(&server, "alice");
    let total: usize = ["INBOX", "Old", "Bin"]
        .iter()
        .map(|m| count(&mut alice, m))
        .sum();
    assert_eq!(total, 5);

    // dave: read,delete: STORE \Deleted then EXPUNGE removes.
    let mut dave = login(&server, "dave");
    dave.command("s", "SELECT \"Other Users/alice/Old\"");
    assert!(
        dave.answer("e1", "STORE 1 +FLAGS.SILENT (\\Deleted)")
            .starts_with("e1 OK")
    );
    let expunged = dave.command("e2", "EXPUNGE");
    assert!(has(&expunged, "* 1 EXPUNGE"), "{expunged:?}");
    // Without write he may not move.
    let moved = dave.answer("e3", "MOVE 1 \"Other Users/alice/Bin\"");
    assert!(moved.starts_with("e3 NO [NOPERM]"), "{moved}");
    assert_eq!(count(&mut alice, "Old"), 1);
    am.ok(&["verify"]);
    // The audit log names who deleted what, and what was moved.
    let deleted = am.ok(&["audit", "--json", "--action", "message_deleted"]);
    let record: serde_json::Value = serde_json::from_str(deleted.lines().next().unwrap()).unwrap();
    assert_eq!(record["actor"], "dave");
    assert_eq!(record["target"], "folder:alice/Old");
    assert_eq!(record["details"]["message_id"], "alice.Old.1@example.com");
    assert_eq!(record["details"]["sha256"].as_str().unwrap().len(), 64);
    assert!(record["ip"].as_str().is_some(), "{record}");
    let moved = am.ok(&["audit", "--json", "--action", "message_moved"]);
    assert_eq!(moved.lines().count(), 2, "{moved}");
    let folders = am.ok(&[
        "audit",
        "--json",
        "--action",
        "folder_created",
        "--action",
        "folder_renamed",
    ]);
    assert_eq!(folders.lines().count(), 2, "{folders}");
}

#[test]
fn legal_hold_stops_every_removal() {
    let am = archive();
    am.ok(&["compliance", "legal-hold", "on"]);
    let server = Server::start(&am);
    let mut c = login(&server, "alice");
    inbox_refuses(
        &mut c,
        "",
        &[
            ("h1", "MOVE 1 Old"),
            ("h2", "EXPUNGE"),
            ("h3", "DELETE Old"),
            ("h4", "RENAME Old Older"),
            ("h5", "CREATE New"),
        ],
    );
    assert!(
        c.answer("h6", "STORE 1 +FLAGS (\\Deleted)")
            .starts_with("h6 NO [NOPERM]")
    );
    // Lifted: at once, for the session already open.
    am.ok(&["compliance", "legal-hold", "off"]);
    // The server re-reads the setting within a second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !c.answer("h7", "MOVE 1 Old").starts_with("h7 OK") {
        assert!(
            std::time::Instant::now() < deadline,
            "legal hold still holds"
        );
    }
    assert_eq!(count(&mut c, "Old"), 2);
}

/// Legal hold switched on by another process while the server still has
/// it off in its cache (up to a second): the catalog refuses the rename,
/// and the new parent folder it needed is not left behind.
#[test]
fn a_rename_refused_by_a_fresh_legal_hold_leaves_no_new_parent() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = login(&server, "alice");
    c.command("r", "MYRIGHTS Old"); // the server reads the settings now
    am.ok(&["compliance", "legal-hold", "on"]);
    let answer = c.answer("m", "RENAME Old New/Older");
    assert!(answer.starts_with("m NO ["), "{answer}");
    let listed = c.command("l", "LIST \"\" \"*\"");
    assert!(has(&listed, "\"Old\""), "{listed:?}");
    assert!(!has(&listed, "New"), "{listed:?}");
}

#[test]
fn folders_are_created_renamed_and_deleted_inside_one_archive() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = login(&server, "alice");
    assert!(c.answer("c1", "CREATE Projects/Acme/").starts_with("c1 OK"));
    let exists = c.answer("c2", "CREATE Projects/Acme");
    assert!(exists.starts_with("c2 NO [ALREADYEXISTS]"), "{exists}");
    let list = c.command("l", "LIST \"\" Projects*");
    assert!(has(&list, "\"Projects/Acme\""), "{list:?}");
    assert!(c.answer("r1", "RENAME Projects Work").starts_with("r1 OK"));
    let list = c.command("l2", "LIST \"\" *");
    assert!(
        has(&list, "\"Work/Acme\"") && !has(&list, "\"Projects"),
        "{list:?}"
    );
    // RFC 3501: a folder with sub-folders goes with its messages, its name
    // stays as \Noselect, and the names below stay.
    c.command("s", "SELECT Work");
    assert!(c.answer("a1", "UID COPY 1:* Work").starts_with("a1 OK"));
    assert!(c.answer("d1", "DELETE Work").starts_with("d1 OK"));
    let list = c.command("l3", "LIST \"\" Work*");
    assert!(
        has(&list, "(\\Noselect \\HasChildren) \"/\" \"Work\""),
        "{list:?}"
    );
    assert!(has(&list, "\"Work/Acme\""), "{list:?}");
    c.command("s2", "SELECT INBOX");
    let into = c.answer("d1c", "COPY 1 Work");
    assert!(into.starts_with("d1c NO [TRYCREATE]"), "{into}");
    let selected = c.answer("d1s", "SELECT Work");
    assert!(selected.starts_with("d1s NO [NONEXISTENT]"), "{selected}");
    let again = c.answer("d1a", "DELETE Work");
    assert!(again.starts_with("d1a NO [CANNOT]"), "{again}");
    // Created again it is an ordinary folder, with a new UIDVALIDITY.
    assert!(c.answer("d1r", "CREATE Work").starts_with("d1r OK"));
    let reopened = c.command("d1o", "SELECT Work");
    assert!(has(&reopened, "* 0 EXISTS"), "{reopened:?}");
    assert!(c.answer("d1d", "DELETE Work").starts_with("d1d OK"));
    assert!(c.answer("d2", "DELETE Work/Acme").starts_with("d2 OK"));
    assert!(c.answer("d3", "DELETE Work").starts_with("d3 OK"));
    let list = c.command("l4", "LIST \"\" Work*");
    assert_eq!(list.len(), 1, "{list:?}");
    let inbox = c.answer("d4", "DELETE INBOX");
    assert!(inbox.starts_with("d4 NO"), "{inbox}");
    // Not in an archive alice may only read, never an archive's root,
    // never across archives.
    let in_bob = c.answer("x1", "CREATE \"Other Users/bob/Mine\"");
    assert!(in_bob.starts_with("x1 NO [NOPERM]"), "{in_bob}");
    let root = c.answer("x2", "CREATE \"Other Users/newguy\"");
    assert!(root.starts_with("x2 NO [CANNOT]"), "{root}");
    let across = c.answer("x3", "RENAME Old \"Other Users/bob/Old\"");
    assert!(across.starts_with("x3 NO [CANNOT]"), "{across}");
    let from_bob = c.answer("x4", "DELETE \"Other Users/bob/Inbox\"");
    assert!(from_bob.starts_with("x4 NO [NOPERM]"), "{from_bob}");
    // A folder with messages goes with them (alice holds delete).
    assert!(c.answer("d5", "DELETE Old").starts_with("d5 OK"));
    let gone = c.answer("d6", "SELECT Old");
    assert!(gone.starts_with("d6 NO [NONEXISTENT]"), "{gone}");
    am.ok(&["verify"]);
}

#[test]
fn a_write_protected_store_refuses_every_change() {
    let am = archive();
    am.ok(&["store", "create", "second"]);
    am.ok(&["store", "set-state", "second", "current"]);
    let stores = am.ok(&["store", "list"]);
    let first = stores
        .lines()
        .find(|l| l.contains("normal"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the first store, now normal")
        .to_string();
    am.ok(&["store", "set-state", &first, "writeProtected"]);
    let server = Server::start(&am);
    let mut c = login(&server, "alice");
    inbox_refuses(
        &mut c,
        "CANNOT]",
        &[
            ("w1", "MOVE 1 Old"),
            ("w2", "COPY 1 Old"),
            ("w3", "EXPUNGE"),
            ("w4", "DELETE Old"),
            ("w5", "RENAME Old Older"),
        ],
    );
    assert_eq!(count(&mut c, "INBOX"), 4);
    assert_eq!(count(&mut c, "Old"), 1);
}

#[test]
fn other_sessions_hear_of_changes() {
    let am = archive();
    let server = Server::start(&am);
    let mut a = login(&server, "alice");
    let mut b = login(&server, "alice");
    a.command("s", "SELECT INBOX");
    b.command("s", "SELECT INBOX");

    // Flags set in one session show in the other on NOOP (with \\Recent:
    // `a` selected first and took the messages as new to it).
    b.command("f1", "STORE 2 +FLAGS.SILENT (\\Flagged)");
    let noop = a.command("n1", "NOOP");
    assert!(
        has(&noop, "* 2 FETCH (FLAGS (\\Flagged \\Recent))"),
        "{noop:?}"
    );

    // A move elsewhere: no EXPUNGE while answering FETCH (numbers stay),
    // then EXPUNGE on NOOP.
    assert!(b.answer("m1", "MOVE 1 Old").starts_with("m1 OK"));
    let fetch = a.command("f2", "FETCH 1:4 (UID)");
    assert!(!has(&fetch, "EXPUNGE") && fetch.len() == 5, "{fetch:?}");
    let noop = a.command("n2", "NOOP");
    assert!(has(&noop, "* 1 EXPUNGE"), "{noop:?}");
    let fetch = a.command("f3", "FETCH 1:* (UID)");
    assert_eq!(fetch.len(), 4, "{fetch:?}");

    // A message moved in shows at once in IDLE.
    a.send("i1 IDLE\r\n");
    assert!(a.line().starts_with("+ "));
    b.command("s2", "SELECT Old");
    assert!(b.answer("m2", "MOVE 1 INBOX").starts_with("m2 OK"));
    let exists = a.line();
    assert_eq!(exists, "* 4 EXISTS\r\n");
    a.send("DONE\r\n");
    assert!(a.until("i1").last().unwrap().starts_with("i1 OK"));

    // One user's flags never show for another.
    let mut carol = login(&server, "carol");
    carol.command("s", "SELECT \"Other Users/alice/Inbox\"");
    let flags = carol.command("f", "FETCH 1:* (FLAGS)");
    assert!(!has(&flags, "\\Flagged"), "{flags:?}");
    am.ok(&["verify"]);
}

/// NOTIFY (RFC 5465): a session hears of other mailboxes' changes as they
/// happen, with no command of its own (neither NOOP nor IDLE): a mailbox
/// made, messages that came, a rename with the old name, a deletion; after
/// NOTIFY NONE, nothing.
#[test]
fn notify_tells_between_commands() {
    let am = archive();
    let server = Server::start(&am);
    let mut a = login(&server, "alice");
    let mut b = login(&server, "alice");
    let set = a.answer(
        "n1",
        "NOTIFY SET (PERSONAL (MessageNew MessageExpunge MailboxName))",
    );
    assert!(set.starts_with("n1 OK"), "{set}");
    assert!(b.answer("c1", "CREATE Watched").starts_with("c1 OK"));
    // Read without sending: the lines come by themselves.
    let made = a.line();
    assert!(
        made.starts_with("* LIST (") && made.contains("Watched"),
        "{made}"
    );
    let appended = append(&mut b, "a1", "Watched", "", "Subject: new\r\n\r\nnew");
    assert!(has(&appended, "a1 OK"), "{appended:?}");
    let status = a.line();
    assert!(
        status.starts_with("* STATUS") && status.contains("(MESSAGES 1 UIDNEXT 2 UNSEEN 1)"),
        "{status}"
    );
    assert!(b.answer("r1", "RENAME Watched Seen").starts_with("r1 OK"));
    let renamed = a.line();
    assert!(
        renamed.starts_with("* LIST (") && renamed.contains("(\"OLDNAME\" ("),
        "{renamed}"
    );
    assert!(b.answer("d1", "DELETE Seen").starts_with("d1 OK"));
    let deleted = a.line();
    assert!(deleted.starts_with("* LIST (\\NonExistent)"), "{deleted}");
    // Unsupported events, and NONE.
    let bad = a.answer(
        "n2",
        "NOTIFY SET (PERSONAL (MessageNew MessageExpunge AnnotationChange))",
    );
    assert!(bad.starts_with("n2 NO [BADEVENT ("), "{bad}");
    assert!(a.answer("n3", "NOTIFY NONE").starts_with("n3 OK"));
    assert!(b.answer("c2", "CREATE Unwatched").starts_with("c2 OK"));
    let noop = a.command("n4", "NOOP");
    assert_eq!(noop.len(), 1, "{noop:?}");
}

/// alice's folder Bulk: `count` messages of about `size` bytes each.
fn with_bulk_folder(am: &Archimap, count: usize, size: usize) {
    let dir = am.dir.path().join("mail").join("bulk");
    std::fs::create_dir_all(&dir).unwrap();
    let line = "x".repeat(76) + "\r\n";
    let body = line.repeat(size / line.len());
    for i in 1..=count {
        std::fs::write(
            dir.join(format!("{i}.eml")),
            format!("From: alice@example.com\r\nSubject: Bulk {i}\r\nMessage-ID: <bulk.{i}@example.com>\r\n\r\n{body}"),
        )
        .unwrap();
    }
    am.import(&["--user", "alice", "--folder", "Bulk", dir.to_str().unwrap()]);
}

/// The flags of message `number` in alice's Bulk, seen by a fresh session.
fn stored_flags(server: &Server, number: usize) -> String {
    let mut fresh = login(server, "alice");
    fresh.command("s", "EXAMINE Bulk");
    let fetch = fresh.command("f", &format!("FETCH {number} (FLAGS)"));
    let prefix = format!("* {number} FETCH");
    fetch
        .into_iter()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no FETCH for message {number}"))
}

#[test]
fn flags_set_while_another_session_works_on_the_message_are_kept() {
    const COUNT: usize = 2000;
    let am = archive();
    with_bulk_folder(&am, COUNT, 8 * 1024);
    let server = Server::start(&am);
    let mut a = login(&server, "alice");
    let mut b = login(&server, "alice");
    a.command("s", "SELECT Bulk");
    b.command("s", "SELECT Bulk");

    // Reading every body sets \Seen; `a`'s server side stalls on 16 MB
    // the client has not read yet, long before the last message, while
    // `b` sets \Deleted on it. The \Seen that follows keeps \Deleted.
    a.send("r FETCH 1:* BODY[]\r\n");
    assert!(a.line().starts_with("* 1 FETCH"));
    let last = format!("STORE {COUNT} +FLAGS (\\Deleted)");
    assert!(b.answer("d", &last).starts_with("d OK"));
    assert!(a.until("r").last().unwrap().starts_with("r OK"));
    let stored = stored_flags(&server, COUNT);
    assert!(
        stored.contains("\\Seen") && stored.contains("\\Deleted"),
        "{stored}"
    );

    // `a` adds a keyword to every message while `b` flags the last one:
    // both stay, and even .SILENT tells `a` the flag it could not foresee,
    // within the STORE's answer (before the STORE runs if `b` was quicker,
    // else with the message's new flags), or, if `b`'s change came after
    // `a` had passed the last message, on the next command.
    a.send("k STORE 1:* +FLAGS.SILENT ($kw)\r\n");
    let last = format!("STORE {COUNT} +FLAGS (\\Flagged)");
    assert!(b.answer("g", &last).starts_with("g OK"));
    let store = a.until("k");
    assert!(store.last().unwrap().starts_with("k OK"), "{store:?}");
    let stored = stored_flags(&server, COUNT);
    assert!(
        stored.contains("$kw") && stored.contains("\\Flagged"),
        "{stored}"
    );
    let prefix = format!("* {COUNT} FETCH");
    let told = |lines: &[String]| {
        lines
            .iter()
            .rfind(|l| l.starts_with(&prefix))
            .is_some_and(|l| l.contains("\\Flagged"))
    };
    let noop = a.command("n", "NOOP");
    assert!(told(&store) || told(&noop), "{store:?} {noop:?}");
}

/// Sends `APPEND mailbox flags {n}` with `message` as a synchronising literal.
fn append(c: &mut Client, tag: &str, mailbox: &str, flags: &str, message: &str) -> Vec<String> {
    c.send(&format!(
        "{tag} APPEND {mailbox} ({flags}) {{{}}}\r\n",
        message.len()
    ));
    let go = c.line();
    assert!(go.starts_with("+"), "{go}");
    c.send(&format!("{message}\r\n"));
    c.until(tag)
}

#[test]
fn append_always_adds_a_message() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = login(&server, "alice");
    let mut watcher = login(&server, "alice");
    watcher.command("s", "SELECT INBOX");
    let message = "From: x@example.com\r\nSubject: dragged in\r\nMessage-ID: <drag@example.com>\r\n\r\nHello\r\n";
    let answer = append(&mut c, "a1", "INBOX", "\\Seen $Label1", message);
    let ok = answer.last().unwrap();
    assert!(ok.starts_with("a1 OK [APPENDUID "), "{answer:?}");
    let uid: u32 = ok
        .split_whitespace()
        .nth(4)
        .unwrap()
        .trim_end_matches(']')
        .parse()
        .unwrap();
    // The same bytes again: a second message with the next UID (RFC 3501
    // 6.3.11, RFC 4315), its bytes stored once.
    let again = append(&mut c, "a2", "INBOX", "", message);
    assert!(
        again.last().unwrap().contains(&format!(" {}] ", uid + 1)),
        "{again:?}"
    );
    assert_eq!(count(&mut c, "INBOX"), 6);
    // Another session with INBOX open hears of both.
    let noop = watcher.command("n", "NOOP");
    assert!(has(&noop, "* 6 EXISTS"), "{noop:?}");
    c.command("s", "SELECT INBOX");
    let fetched = c.command("f", &format!("UID FETCH {uid} (FLAGS BODY.PEEK[])"));
    assert!(has(&fetched, "FLAGS (\\Seen $Label1)"), "{fetched:?}");
    assert!(has(&fetched, "Subject: dragged in"), "{fetched:?}");
    // Not where alice may only read; not into a mailbox that is not there.
    let bob = append(&mut c, "a3", "\"Other Users/bob/Inbox\"", "", message);
    assert!(bob.last().unwrap().starts_with("a3 NO [NOPERM]"), "{bob:?}");
    let missing = append(&mut c, "a4", "Nowhere", "", message);
    assert!(
        missing.last().unwrap().starts_with("a4 NO [TRYCREATE]"),
        "{missing:?}"
    );
    // Two messages, one copy of their bytes: 7 imported and this one.
    let verified = am.ok(&["verify"]);
    assert!(verified.contains("verified 8 messages"), "{verified}");
}

/// Thunderbird's ways of moving and deleting, command for command: where
/// allowed they work, where not every step answers a tagged NO with a code
/// and nothing is lost.
#[test]
fn thunderbird_moves_and_deletes() {
    let am = archive();
    let server = Server::start(&am);
    let mut alice = login(&server, "alice");
    alice.command("s", "SELECT INBOX");
    // Drag and drop into another folder (MOVE is advertised).
    assert!(alice.answer("t1", "UID MOVE 4 Old").starts_with("t1 OK"));
    // Delete with "move to Trash": the Trash folder is made first.
    let trash = alice.answer("t2", "UID MOVE 3 Trash");
    assert!(trash.starts_with("t2 NO [TRYCREATE]"), "{trash}");
    assert!(alice.answer("t3", "CREATE Trash").starts_with("t3 OK"));
    assert!(alice.answer("t4", "UID MOVE 3 Trash").starts_with("t4 OK"));
    // Without MOVE: COPY, then \Deleted, then (UIDPLUS) UID EXPUNGE.
    assert!(
        alice
            .answer("t5", "UID COPY 2 Trash")
            .starts_with("t5 OK [COPYUID")
    );
    assert!(
        alice
            .answer("t6", "UID STORE 2 +FLAGS.SILENT (\\Deleted \\Seen)")
            .starts_with("t6 OK")
    );
    let expunged = alice.command("t7", "UID EXPUNGE 2");
    assert!(has(&expunged, "* 2 EXPUNGE"), "{expunged:?}");
    // Shift+Delete in Trash: \Deleted and EXPUNGE.
    alice.command("s2", "SELECT Trash");
    assert!(
        alice
            .answer("t8", "UID STORE 1 +FLAGS.SILENT (\\Deleted)")
            .starts_with("t8 OK")
    );
    assert!(has(&alice.command("t9", "EXPUNGE"), "* 1 EXPUNGE"));
    assert_eq!(count(&mut alice, "INBOX"), 1);
    assert_eq!(count(&mut alice, "Trash"), 1);

    // carol may move but not delete in alice's archive.
    let mut carol = login(&server, "carol");
    carol.command("s", "SELECT \"Other Users/alice/Old\"");
    assert!(
        carol
            .answer("c1", "UID MOVE 1 \"Other Users/alice/Trash\"")
            .starts_with("c1 OK")
    );
    assert!(
        carol
            .answer("c2", "UID COPY 2 \"Other Users/alice/Trash\"")
            .starts_with("c2 OK")
    );
    let flag = carol.answer("c3", "UID STORE 2 +FLAGS.SILENT (\\Deleted \\Seen)");
    assert!(flag.starts_with("c3 OK"), "{flag}"); // \Seen may change; \Deleted is left out
    let expunge = carol.answer("c4", "UID EXPUNGE 2");
    assert!(expunge.starts_with("c4 NO [NOPERM]"), "{expunge}");
    // alice may only read bob's archive: every way is refused, nothing lost.
    alice.command("s3", "SELECT \"Other Users/bob/Inbox\"");
    let moved = alice.answer("b1", "UID MOVE 1 \"Other Users/bob/Trash\"");
    assert!(moved.starts_with("b1 NO [TRYCREATE]"), "{moved}");
    let created = alice.answer("b2", "CREATE \"Other Users/bob/Trash\"");
    assert!(created.starts_with("b2 NO [NOPERM]"), "{created}");
    let across = alice.answer("b3", "UID MOVE 1 Trash");
    assert!(across.starts_with("b3 NO [CANNOT]"), "{across}");
    let flag = alice.answer("b4", "UID STORE 1 +FLAGS.SILENT (\\Deleted)");
    assert!(flag.starts_with("b4 NO [NOPERM]"), "{flag}");
    let expunge = alice.answer("b5", "UID EXPUNGE 1");
    assert!(expunge.starts_with("b5 NO [NOPERM]"), "{expunge}");
    assert_eq!(count(&mut alice, "Other Users/bob/Inbox"), 2);
    am.ok(&["verify"]);
}

/// EXAMINE opens a mailbox read-only for every command: MOVE takes
/// nothing out of it, as STORE and EXPUNGE change nothing there.
#[test]
fn examine_is_read_only_for_move_too() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = login(&server, "alice");
    let examined = c.command("e", "EXAMINE INBOX");
    assert!(
        examined.last().unwrap().starts_with("e OK [READ-ONLY]"),
        "{examined:?}"
    );
    for (tag, command) in [
        ("m1", "MOVE 1 Old"),
        ("m2", "UID MOVE 1:* Old"),
        ("m3", "STORE 1 +FLAGS (\\Deleted)"),
        ("m4", "EXPUNGE"),
    ] {
        let answer = c.answer(tag, command);
        assert!(
            answer.starts_with(&format!("{tag} NO [READ-ONLY]")),
            "{command}: {answer}"
        );
    }
    // COPY leaves the examined mailbox as it is: it stays allowed.
    assert!(c.answer("c", "COPY 1 Old").starts_with("c OK"));
    assert_eq!(count(&mut c, "INBOX"), 4);
    assert_eq!(count(&mut c, "Old"), 2);
}

/// The first line of the answer to `command`, whatever its tag: the
/// `* BYE` of a session whose access was withdrawn.
fn first_line(c: &mut Client, tag: &str, command: &str) -> String {
    c.send(&format!("{tag} {command}\r\n"));
    c.line()
}

/// A grant, privilege or password changed by the command line (another
/// process) or the admin API reaches open sessions at their next command,
/// IDLE included; changes to others leave them alone.
#[test]
fn withdrawn_access_reaches_open_sessions() {
    let am = archive();
    am.ok(&[
        "user",
        "add",
        "root",
        "--password",
        "pw-root",
        "--privileges",
        "admin",
    ]);
    let server = Server::start(&am);
    let mut reading_bob = login(&server, "alice");
    reading_bob.command("s", "SELECT \"Other Users/bob/Inbox\"");
    assert!(reading_bob.answer("f", "FETCH 1 FLAGS").starts_with("f OK"));
    let mut own = login(&server, "alice");
    own.command("s", "SELECT INBOX");

    // Someone else's change: nothing happens to alice's sessions.
    am.ok(&["grant", "carol", "bob", "read"]);
    assert!(
        reading_bob
            .answer("f2", "FETCH 1 FLAGS")
            .starts_with("f2 OK")
    );

    // Her grant on bob's archive goes: the session with it open ends; the
    // one in her own archive lives on and no longer sees bob's.
    am.ok(&["grant", "alice", "bob", "none"]);
    let bye = first_line(&mut reading_bob, "f3", "STORE 1 +FLAGS (\\Seen)");
    assert!(bye.starts_with("* BYE [NOPERM]"), "{bye}");
    let listed = own.command("l", "LIST \"\" \"Other Users/*\"");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(own.answer("f", "FETCH 1 FLAGS").starts_with("f OK"));

    // Rights that shrink apply at once: without delete, no \Deleted.
    am.ok(&["grant", "alice", "alice", "read,write"]);
    let store = own.answer("d", "STORE 1 +FLAGS (\\Deleted)");
    assert!(store.starts_with("d NO [NOPERM]"), "{store}");

    // A password change ends her sessions, even one that only NOOPs.
    am.ok(&["user", "passwd", "alice", "--password", "pw-alice-2"]);
    let bye = first_line(&mut own, "n", "NOOP");
    assert!(bye.starts_with("* BYE [EXPIRED]"), "{bye}");

    // A grant withdrawn through the admin API reaches an IDLE at once.
    let mut carol = login(&server, "carol");
    carol.command("s", "SELECT \"Other Users/bob/Inbox\"");
    carol.send("i IDLE\r\n");
    assert!(carol.line().starts_with("+ "));
    let admin = common::api::ApiClient::new(&server, "root", "pw-root");
    admin.ok(
        "SetUserPrivilegesOnFolder",
        &[
            ("userName", "carol"),
            ("folder", "bob"),
            ("privileges", "none"),
        ],
    );
    let bye = carol.line();
    assert!(bye.starts_with("* BYE [NOPERM]"), "{bye}");

    // Without the login privilege (command line) a session ends too.
    let mut dave = login(&server, "dave");
    am.ok(&["user", "set-privileges", "dave", "none"]);
    let bye = first_line(&mut dave, "n", "NOOP");
    assert!(bye.starts_with("* BYE [NOPERM]"), "{bye}");
}

/// A full disk (here the server's file size limit, `ulimit -f`, which it
/// meets as a disk that is full) answers APPEND with `NO [UNAVAILABLE]`
/// saying so; the session and the archive live on.
#[test]
fn a_full_disk_is_answered_as_such() {
    use std::os::unix::process::CommandExt;
    let am = archive();
    const LIMIT: libc::rlim_t = 4 << 20;
    let server = Server::start_adjusted(&am, "", |command| {
        // SAFETY: only setrlimit runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: LIMIT,
                    rlim_max: LIMIT,
                };
                match libc::setrlimit(libc::RLIMIT_FSIZE, &limit) {
                    0 => Ok(()),
                    _ => Err(std::io::Error::last_os_error()),
                }
            });
        }
    });
    let mut c = login(&server, "alice");
    // Random bytes in base64: more than the limit even compressed.
    use base64::Engine;
    let noise: Vec<u8> = (0..6 << 20).map(|_| rand::random::<u8>()).collect();
    let body = base64::engine::general_purpose::STANDARD.encode(noise);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(76)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    let big = format!(
        "From: a@example.com\r\nSubject: big\r\n\r\n{}\r\n",
        lines.join("\r\n")
    );
    let answer = append(&mut c, "a1", "Old", "", &big);
    let last = answer.last().unwrap();
    assert!(
        last.starts_with("a1 NO [UNAVAILABLE]") && last.contains("storage is full"),
        "{last}"
    );
    assert_eq!(count(&mut c, "Old"), 1);
    let small = "From: a@example.com\r\nSubject: small\r\n\r\nfits\r\n";
    let answer = append(&mut c, "a2", "Old", "", small);
    assert!(answer.last().unwrap().starts_with("a2 OK"), "{answer:?}");
    assert_eq!(count(&mut c, "Old"), 2);
    drop(server);
    am.ok(&["verify"]);
}

/// One APPEND into a folder that many sessions watch in IDLE is answered
/// at once, and each of them hears of it soon: a watching session reads
/// the message added, not the whole folder again.
#[test]
fn an_append_watched_by_many_idle_sessions_is_quick() {
    const WATCHERS: usize = 1500;
    const MESSAGES: usize = 500;
    let am = archive();
    let mail = am.dir.path().join("many");
    std::fs::create_dir_all(&mail).unwrap();
    for i in 0..MESSAGES {
        std::fs::write(
            mail.join(format!("{i}.eml")),
            format!("From: a@example.com\r\nSubject: many {i}\r\n\r\nBody {i}\r\n"),
        )
        .unwrap();
    }
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Many",
        mail.to_str().unwrap(),
    ]);
    let server = Server::start_with_config(
        &am,
        &format!("[limits]\nmax_connections_per_ip = {}\n", WATCHERS + 10),
    );
    let mut watchers: Vec<Client> = (0..WATCHERS)
        .map(|_| {
            let mut c = login(&server, "alice");
            c.command("s", "SELECT Many");
            c.send("i IDLE\r\n");
            assert!(c.line().starts_with("+ "));
            c
        })
        .collect();
    let mut writer = login(&server, "alice");
    let message = "From: a@example.com\r\nSubject: watched\r\n\r\nnew\r\n";
    let started = std::time::Instant::now();
    let answer = append(&mut writer, "a", "Many", "", message);
    let answered = started.elapsed();
    assert!(answer.last().unwrap().starts_with("a OK"), "{answer:?}");
    for watcher in &mut watchers {
        assert_eq!(watcher.line(), format!("* {} EXISTS\r\n", MESSAGES + 1));
    }
    let told = started.elapsed();
    println!("APPEND answered in {answered:?}; {WATCHERS} IDLE sessions told in {told:?}");
    assert!(
        answered < std::time::Duration::from_millis(1000),
        "{answered:?}"
    );
    assert!(told < std::time::Duration::from_secs(3), "{told:?}");
}

/// A message another session expunged, which this session still numbers
/// (it has not been told yet): FETCH still answers it (without marking it
/// \Seen) and STORE passes it over, both with OK `[EXPUNGEISSUED]` (as
/// Dovecot answers FETCH), never `NO [SERVERBUG]`, and nothing is logged as
/// an error.
#[test]
fn a_message_expunged_elsewhere_is_passed_over() {
    let am = archive();
    let server = Server::start(&am);
    let mut a = login(&server, "alice");
    let mut b = login(&server, "alice");
    a.command("s", "SELECT INBOX");
    b.command("s", "SELECT INBOX");
    b.command("d", "STORE 1 +FLAGS.SILENT (\\Deleted)");
    assert!(has(&b.command("x", "EXPUNGE"), "* 1 EXPUNGE"));

    // Reading the body sets \Seen, which a message no longer there cannot take.
    let fetch = a.command("f1", "FETCH 1:2 (BODY[TEXT])");
    assert!(
        fetch.last().unwrap().starts_with("f1 OK [EXPUNGEISSUED]"),
        "{fetch:?}"
    );
    assert!(
        has(&fetch, "* 1 FETCH") && has(&fetch, "* 2 FETCH"),
        "{fetch:?}"
    );
    let store = a.command("f2", "STORE 1 +FLAGS (\\Flagged)");
    assert!(
        store.last().unwrap().starts_with("f2 OK [EXPUNGEISSUED]"),
        "{store:?}"
    );
    let store = a.command("f3", "STORE 1:2 +FLAGS (\\Answered)");
    assert!(has(&store, "* 2 FETCH (FLAGS (\\Answered"), "{store:?}");
    let held = a.command("f4", "FETCH 1 (UID FLAGS)");
    assert!(has(&held, "* 1 FETCH (UID 1 FLAGS ("), "{held:?}");
    assert!(held.last().unwrap().starts_with("f4 OK"), "{held:?}");
    assert!(has(&a.command("n", "NOOP"), "* 1 EXPUNGE"));
    assert!(
        !server.logged(" ERROR "),
        "{:?}",
        server.log.lock().unwrap()
    );
}

/// A session that still numbers a message another session expunged reads
/// it, also when the folder changed in between so that the other session
/// works on a later snapshot of it than this one (the snapshot this one
/// holds had not read its messages' details before they went).
#[test]
fn a_message_expunged_elsewhere_is_read_from_an_older_snapshot() {
    let am = archive();
    let server = Server::start(&am);
    let mut a = login(&server, "alice");
    let mut b = login(&server, "alice");
    a.command("s", "SELECT INBOX");
    let added = append(&mut b, "ap", "INBOX", "", "Subject: later\r\n\r\nLater\r\n");
    assert!(added.last().unwrap().starts_with("ap OK"), "{added:?}");
    b.command("s", "SELECT INBOX");
    b.command("d", "STORE 1 +FLAGS.SILENT (\\Deleted)");
    assert!(has(&b.command("x", "EXPUNGE"), "* 1 EXPUNGE"));

    let fetch = a.command("f", "FETCH 1 (BODY.PEEK[TEXT])");
    assert!(has(&fetch, "* 1 FETCH (BODY[TEXT] {8}"), "{fetch:?}");
    assert!(fetch.contains(&"Body 1\r\n".to_string()), "{fetch:?}");
    assert!(fetch.last().unwrap().starts_with("f OK "), "{fetch:?}");
    assert!(has(&a.command("n", "NOOP"), "* 1 EXPUNGE"));
}

/// Under concurrent changes (messages appended and expunged by one session
/// while another reads and flags all of them) every answer is OK.
#[test]
fn concurrent_expunges_never_fail_fetch_or_store() {
    let am = archive();
    let server = Server::start(&am);
    let mut a = login(&server, "alice");
    let mut b = login(&server, "alice");
    a.command("s", "SELECT INBOX");
    let changer = std::thread::spawn(move || {
        b.command("s", "SELECT INBOX");
        for i in 0..30 {
            let appended = append(
                &mut b,
                &format!("a{i}"),
                "INBOX",
                "",
                &format!("Subject: {i}\r\n\r\n{i}\r\n"),
            );
            let ok = appended.last().unwrap();
            let uid = ok.split_whitespace().nth(4).unwrap().trim_end_matches(']');
            b.command(
                &format!("d{i}"),
                &format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"),
            );
            let expunged = b.answer(&format!("x{i}"), &format!("UID EXPUNGE {uid}"));
            assert!(expunged.starts_with(&format!("x{i} OK")), "{expunged}");
        }
    });
    let mut round = 0;
    while !changer.is_finished() {
        round += 1;
        for (tag, command) in [
            (
                format!("f{round}"),
                "FETCH 1:* (FLAGS BODY[HEADER.FIELDS (SUBJECT)])",
            ),
            (format!("t{round}"), "STORE 1:* FLAGS (\\Flagged)"),
            (
                format!("u{round}"),
                "UID STORE 1:* -FLAGS (\\Flagged \\Seen)",
            ),
        ] {
            let answer = a.command(&tag, command);
            assert!(
                answer.last().unwrap().starts_with(&format!("{tag} OK")),
                "{answer:?}"
            );
        }
    }
    changer.join().unwrap();
    assert!(
        !server.logged(" ERROR "),
        "{:?}",
        server.log.lock().unwrap()
    );
}
