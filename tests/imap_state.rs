//! Per-user IMAP state over real sockets, where it depends on archimap's
//! own sources of mail (imports, grants, users) rather than on IMAP alone
//! (the plain-RFC parts are conformance scripts): which folders are
//! subscribed by default, `\Recent` of imported mail, and the upgrade of
//! older catalogs.

mod common;

use common::Archimap;
use common::imap::{Client, Server};

/// A directory with one message per name, each different.
fn messages(am: &Archimap, dir: &str, subjects: &[&str]) -> String {
    let path = am.dir.path().join(dir);
    std::fs::create_dir_all(&path).unwrap();
    for subject in subjects {
        std::fs::write(
            path.join(format!("{subject}.eml")),
            format!("From: x@example.com\r\nSubject: {subject}\r\n\r\n{subject}\r\n"),
        )
        .unwrap();
    }
    path.to_str().unwrap().to_string()
}

fn import(am: &Archimap, user: &str, folder: &str, subjects: &[&str]) {
    let dir = messages(
        am,
        &format!("{user}-{folder}-{}", subjects.join("-")),
        subjects,
    );
    am.import(&["--user", user, "--folder", folder, &dir]);
}

fn login(server: &Server, user: &str) -> Client {
    let mut c = server.connect_tls();
    c.line();
    let ok = c.answer("l", &format!("LOGIN {user} pw-{user}"));
    assert!(ok.starts_with("l OK"), "{ok}");
    c
}

fn add_user(am: &Archimap, user: &str) {
    am.ok(&["user", "add", user, "--password", &format!("pw-{user}")]);
}

/// The names LSUB "" "*" lists, in order.
fn lsub(c: &mut Client) -> Vec<String> {
    c.command("ls", "LSUB \"\" \"*\"")
        .iter()
        .filter_map(|l| l.strip_prefix("* LSUB "))
        .map(|l| l.rsplit_once(" \"/\" ").unwrap().1.trim_end().to_string())
        .collect()
}

#[test]
fn folders_from_the_archive_are_subscribed_until_unsubscribed() {
    let am = Archimap::new();
    for user in ["alice", "bob", "carol"] {
        add_user(&am, user);
    }
    import(&am, "alice", "Inbox", &["a1"]);
    import(&am, "alice", "Projects/Acme", &["a2"]);
    import(&am, "bob", "Inbox", &["b1"]);
    am.ok(&["grant", "alice", "alice", "read,write,delete"]);
    // A grant makes bob's archive visible: its folders are subscribed.
    am.ok(&["grant", "alice", "bob", "read"]);
    am.ok(&["grant", "carol", "alice", "read"]);
    let server = Server::start(&am);
    let mut alice = login(&server, "alice");
    assert_eq!(
        lsub(&mut alice),
        [
            "\"INBOX\"",
            "\"Projects\"",
            "\"Projects/Acme\"",
            "\"Other Users/bob/Inbox\""
        ]
    );
    // A folder the client creates is subscribed only when it subscribes.
    assert!(alice.answer("c", "CREATE Mine").starts_with("c OK"));
    assert!(!lsub(&mut alice).contains(&"\"Mine\"".to_string()));
    // Namespace nodes are no folders.
    assert!(
        alice
            .answer("n", "SUBSCRIBE \"Other Users/bob\"")
            .starts_with("n NO [CANNOT]")
    );
    assert!(
        alice
            .answer("u", "UNSUBSCRIBE \"Projects/Acme\"")
            .starts_with("u OK")
    );
    // A folder an import creates, with its new parent, is subscribed for
    // every user who sees the archive; alice's unsubscription stays.
    import(&am, "alice", "Projects/Acme", &["a3"]);
    import(&am, "alice", "Clients/Zeta", &["a4"]);
    assert_eq!(
        lsub(&mut alice),
        [
            "\"INBOX\"",
            "\"Clients\"",
            "\"Clients/Zeta\"",
            "\"Projects\"",
            "\"Other Users/bob/Inbox\""
        ]
    );
    let mut carol = login(&server, "carol");
    assert_eq!(
        lsub(&mut carol),
        [
            "\"INBOX\"",
            "\"Other Users/alice/Clients\"",
            "\"Other Users/alice/Clients/Zeta\"",
            "\"Other Users/alice/Inbox\"",
            "\"Other Users/alice/Projects\"",
            "\"Other Users/alice/Projects/Acme\""
        ]
    );
    // A user created for an archive that exists (kept from a deleted user)
    // has its folders subscribed.
    am.ok(&["user", "delete", "bob"]);
    add_user(&am, "bob");
    let mut bob = login(&server, "bob");
    assert_eq!(lsub(&mut bob), ["\"INBOX\""]);
    assert!(
        bob.command("s", "LIST \"\" \"*\" RETURN (SUBSCRIBED)")
            .contains(&"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\"\r\n".to_string())
    );
}

#[test]
fn imported_messages_are_recent_for_the_first_session_of_each_user() {
    let am = Archimap::new();
    add_user(&am, "alice");
    add_user(&am, "bob");
    import(&am, "alice", "Inbox", &["m1", "m2"]);
    am.ok(&["grant", "bob", "alice", "read"]);
    let server = Server::start(&am);
    let mut first = login(&server, "alice");
    let selected = first.command("s", "SELECT INBOX");
    assert!(
        selected.contains(&"* 2 RECENT\r\n".to_string()),
        "{selected:?}"
    );
    // Mail imported meanwhile is recent for the session that sees it.
    import(&am, "alice", "Inbox", &["m3"]);
    let noop = first.command("n", "NOOP");
    assert!(
        noop.contains(&"* 3 EXISTS\r\n".to_string())
            && noop.contains(&"* 3 RECENT\r\n".to_string()),
        "{noop:?}"
    );
    assert_eq!(
        first.command("f", "FETCH 3 (FLAGS)")[0],
        "* 3 FETCH (FLAGS (\\Recent))\r\n"
    );
    // Not for alice's next session; still for bob, whose flags are his own.
    let mut second = login(&server, "alice");
    let again = second.command("s", "SELECT INBOX");
    assert!(again.contains(&"* 0 RECENT\r\n".to_string()), "{again:?}");
    let mut bob = login(&server, "bob");
    let status = bob.command("st", "STATUS \"Other Users/alice/Inbox\" (RECENT)");
    assert_eq!(
        status[0],
        "* STATUS \"Other Users/alice/Inbox\" (RECENT 3)\r\n"
    );
    let search = bob.command("e", "EXAMINE \"Other Users/alice/Inbox\"");
    assert!(search.contains(&"* 3 RECENT\r\n".to_string()), "{search:?}");
    assert_eq!(bob.command("r", "SEARCH NEW")[0], "* SEARCH 1 2 3\r\n");
}

/// A catalog of schema 4 (a folder unsubscribed by a row of the old
/// `subscriptions` table, a folder unable to hold the same bytes twice,
/// header blocks and summaries inside `blobs` as until schema 8, no record
/// of expunged UIDs as until schema 9) opens upgraded.
#[test]
fn schema_4_catalogs_are_upgraded() {
    let am = Archimap::new();
    add_user(&am, "alice");
    add_user(&am, "carol");
    import(&am, "alice", "Inbox", &["a1"]);
    import(&am, "alice", "Projects", &["a2", "a3", "a4", "a5"]);
    am.ok(&["grant", "alice", "alice", "read,write,delete"]);
    am.ok(&["grant", "carol", "alice", "read"]);
    {
        // Gaps in Projects' UIDs: one between messages, one at the end.
        let server = Server::start(&am);
        let mut alice = login(&server, "alice");
        alice.command("s", "SELECT Projects");
        alice.command("f", "UID STORE 3 +FLAGS.SILENT (\\Flagged $Later)");
        alice.command("d", "UID STORE 2,4 +FLAGS.SILENT (\\Deleted)");
        assert_eq!(
            alice.command("x", "EXPUNGE")[..2],
            ["* 4 EXPUNGE\r\n", "* 2 EXPUNGE\r\n"]
        );
    }
    {
        let db = rusqlite::Connection::open(am.data_dir().join("catalog.sqlite")).unwrap();
        db.execute_batch(
            "PRAGMA foreign_keys = OFF;
             DROP TABLE subscribed_names; DROP TABLE recent_marks; DROP TABLE vanished;
             ALTER TABLE folders DROP COLUMN contents_modseq;
             CREATE TABLE flags (
                 user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                 message_id INTEGER NOT NULL REFERENCES messages(id),
                 flags      INTEGER NOT NULL,
                 keywords   TEXT,
                 PRIMARY KEY (user_id, message_id)
             ) WITHOUT ROWID;
             INSERT INTO flags SELECT f.user_id, m.id, f.flags, f.keywords FROM user_flags f
                 JOIN messages m ON m.folder_id = f.folder_id AND m.uid = f.uid;
             DROP TABLE user_flags;
             CREATE UNIQUE INDEX messages_once ON messages(folder_id, blob_id);
             CREATE TABLE subscriptions (
                 user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                 folder_id  INTEGER NOT NULL REFERENCES folders(id),
                 subscribed INTEGER NOT NULL,
                 PRIMARY KEY (user_id, folder_id)
             ) WITHOUT ROWID;
             INSERT INTO subscriptions SELECT u.id, f.id, 0 FROM users u, folders f
                 WHERE u.name = 'alice' AND f.path = 'Projects';
             CREATE TABLE blobs_v7 (
                 id       INTEGER PRIMARY KEY,
                 sha256   BLOB NOT NULL UNIQUE,
                 store_id INTEGER NOT NULL REFERENCES stores(id),
                 size     INTEGER NOT NULL,
                 crlf_size INTEGER NOT NULL,
                 header   BLOB,
                 pack     INTEGER NOT NULL,
                 offset   INTEGER NOT NULL,
                 length   INTEGER NOT NULL,
                 refcount INTEGER NOT NULL,
                 summary  TEXT
             );
             INSERT INTO blobs_v7 SELECT b.id, b.sha256, b.store_id, b.size, b.crlf_size, t.header,
                 b.pack, b.offset, b.length, b.refcount, t.summary
                 FROM blobs b JOIN blob_texts t ON t.blob_id = b.id;
             DROP TABLE blobs; DROP TABLE blob_texts;
             ALTER TABLE blobs_v7 RENAME TO blobs;
             UPDATE meta SET value = '4' WHERE key = 'schema_version';",
        )
        .unwrap();
    }
    let server = Server::start(&am);
    let mut alice = login(&server, "alice");
    assert_eq!(lsub(&mut alice), ["\"INBOX\""]);
    let mut carol = login(&server, "carol");
    assert_eq!(
        lsub(&mut carol),
        [
            "\"INBOX\"",
            "\"Other Users/alice/Inbox\"",
            "\"Other Users/alice/Projects\""
        ]
    );
    // Header fields come from the moved header blocks, as from the message.
    alice.command("s", "SELECT INBOX");
    let stored = alice.command("h", "FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    let read = alice.command(
        "b",
        "FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODYSTRUCTURE)",
    );
    // The literal's lines: the field and the empty line ending it.
    assert!(stored[1].starts_with("Subject: a1"), "{stored:?}");
    assert_eq!(stored[..3], read[..3]);
    // The same bytes twice in one folder.
    assert!(
        alice
            .answer("c", "UID COPY 1 INBOX")
            .contains("OK [COPYUID")
    );
    let status = alice.command("st", "STATUS INBOX (MESSAGES)");
    assert!(
        status.contains(&"* STATUS \"INBOX\" (MESSAGES 2)\r\n".to_string()),
        "{status:?}"
    );
    let status = alice.command("sp", "STATUS Projects (MESSAGES UIDNEXT)");
    assert_eq!(
        status[0],
        "* STATUS \"Projects\" (MESSAGES 2 UIDNEXT 5)\r\n"
    );
    alice.command("p", "SELECT Projects");
    let uids = alice.command("u", "FETCH 1:* (UID FLAGS)");
    assert_eq!(
        uids[..2],
        [
            "* 1 FETCH (UID 1 FLAGS (\\Recent))\r\n",
            "* 2 FETCH (UID 3 FLAGS (\\Flagged \\Recent $Later))\r\n"
        ]
    );
    // Expunged after the upgrade: recorded as gone with the gaps read from
    // the rows.
    alice.command("d", "UID STORE 3 +FLAGS.SILENT (\\Deleted)");
    assert_eq!(alice.command("x", "EXPUNGE")[0], "* 2 EXPUNGE\r\n");
    alice.command("u", "UNSELECT");
    let status = alice.command("sp", "STATUS Projects (MESSAGES UIDNEXT)");
    assert_eq!(
        status[0],
        "* STATUS \"Projects\" (MESSAGES 1 UIDNEXT 5)\r\n"
    );
    am.ok(&["verify"]);
    let db = rusqlite::Connection::open(am.data_dir().join("catalog.sqlite")).unwrap();
    let version: String = db
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(version, "10");
}

/// A catalog of schema 9 (no mod-sequences of flag changes, HIGHESTMODSEQ
/// moved only by messages coming and going) opens upgraded: flags set
/// before keep the mod-sequence of their message, changes after take new
/// ones, and the folder's messages are not read again for it.
#[test]
fn schema_9_catalogs_are_upgraded() {
    let am = Archimap::new();
    add_user(&am, "alice");
    import(&am, "alice", "Inbox", &["a1", "a2"]);
    am.ok(&["grant", "alice", "alice", "read,write,delete"]);
    {
        let server = Server::start(&am);
        let mut alice = login(&server, "alice");
        alice.command("s", "SELECT INBOX");
        alice.command("f", "UID STORE 1 +FLAGS.SILENT (\\Flagged)");
    }
    {
        let db = rusqlite::Connection::open(am.data_dir().join("catalog.sqlite")).unwrap();
        db.execute_batch(
            "UPDATE folders SET highestmodseq = contents_modseq;
             ALTER TABLE folders DROP COLUMN contents_modseq;
             ALTER TABLE user_flags DROP COLUMN modseq;
             UPDATE meta SET value = '9' WHERE key = 'schema_version';",
        )
        .unwrap();
    }
    let server = Server::start(&am);
    let mut alice = login(&server, "alice");
    let selected = alice.command("s", "SELECT INBOX (CONDSTORE)");
    assert!(
        selected.contains(&"* OK [HIGHESTMODSEQ 3] Highest\r\n".to_string()),
        "{selected:?}"
    );
    assert_eq!(
        alice.command("f", "FETCH 1:* (FLAGS MODSEQ)")[..2],
        [
            "* 1 FETCH (FLAGS (\\Flagged) MODSEQ (2))\r\n",
            "* 2 FETCH (FLAGS () MODSEQ (3))\r\n"
        ]
    );
    assert_eq!(
        alice.command("t", "STORE 2 +FLAGS (\\Seen)")[0],
        "* 2 FETCH (FLAGS (\\Seen) MODSEQ (4))\r\n"
    );
    am.ok(&["verify"]);
}
