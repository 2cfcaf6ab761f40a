//! Folders and messages: GetChildFolders, GetFolderStatistics, GetMessages,
//! DeleteMessage, MoveFolder and DeleteEmptyFolders, with what IMAP
//! sessions and the audit log see of them.

use serde_json::Value;

use crate::Fixture;
use crate::common::imap::Client;

/// Imports `count` small messages into `folder` of alice's archive;
/// returns their sizes added up.
fn file(fixture: &Fixture, folder: &str, count: usize) -> u64 {
    let dir = fixture
        .am
        .dir
        .path()
        .join("mail")
        .join(folder.replace('/', "_"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut size = 0;
    for i in 1..=count {
        let message = format!(
            "From: Bob Example <bob@example.com>\r\nTo: alice@example.com\r\n\
             Subject: {folder} {i}\r\nDate: Tue, 1 Jun 2021 10:00:0{i} +0000\r\n\
             Message-ID: <{i}.{}@example.com>\r\n\r\nBody {i}\r\n",
            folder.replace('/', ".")
        );
        std::fs::write(dir.join(format!("{i}.eml")), &message).unwrap();
        size += message.len() as u64;
    }
    fixture
        .am
        .import(&["--user", "alice", "--folder", folder, dir.to_str().unwrap()]);
    size
}

/// alice signed in over IMAP (her archive grants her read by default).
fn alice_imap(fixture: &Fixture) -> Client {
    let mut imap = fixture.server.connect_tls();
    imap.line();
    assert!(imap.answer("l", "LOGIN alice secret").starts_with("l OK"));
    imap
}

/// The full names GetChildFolders lists.
fn names(folders: &Value) -> Vec<&str> {
    folders
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["folder"].as_str().unwrap())
        .collect()
}

fn tree(fixture: &Fixture) -> Value {
    fixture.admin().ok("GetChildFolders", &[])
}

#[test]
fn folder_trees_statistics_and_message_listings() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    let inbox_size = file(&fixture, "Inbox", 2);
    let old_size = file(&fixture, "Inbox/2019", 1);
    let acme_size = file(&fixture, "Projects/Acme", 1);

    let all = tree(&fixture);
    assert_eq!(
        names(&all),
        [
            "alice",
            "alice/Inbox",
            "alice/Inbox/2019",
            "alice/Projects",
            "alice/Projects/Acme",
            "root"
        ]
    );
    assert_eq!(all[1]["messages"], 2);
    let top = admin.ok("GetChildFolders", &[("maxLevels", "1")]);
    assert_eq!(names(&top), ["alice", "root"]);
    let children = admin.ok(
        "GetChildFolders",
        &[("folder", "alice"), ("maxLevels", "1")],
    );
    assert_eq!(names(&children), ["alice/Inbox", "alice/Projects"]);
    let below = admin.ok("GetChildFolders", &[("folder", "alice/Inbox")]);
    assert_eq!(names(&below), ["alice/Inbox/2019"]);

    let statistics = admin.ok("GetFolderStatistics", &[]);
    assert_eq!(statistics[0]["folder"], "alice");
    assert_eq!(statistics[0]["count"], 4);
    assert_eq!(statistics[0]["size"], inbox_size + old_size + acme_size);
    assert_eq!(statistics[1]["folder"], "root");
    assert_eq!(statistics[1]["count"], 0);

    let messages = admin.ok("GetMessages", &[("folder", "alice/Inbox")]);
    let messages = messages.as_array().unwrap();
    assert_eq!(messages.len(), 2);
    let first = &messages[0];
    assert_eq!(first["uid"], 1);
    assert_eq!(first["subject"], "Inbox 1");
    assert_eq!(first["from"], "Bob Example <bob@example.com>");
    assert_eq!(first["to"], "alice@example.com");
    assert_eq!(first["messageId"], "1.Inbox@example.com");
    assert_eq!(first["date"], "2021-06-01T10:00:01+00:00");
    let sizes: u64 = messages.iter().map(|m| m["size"].as_u64().unwrap()).sum();
    assert_eq!(sizes, inbox_size);
    // The command line lists the same ids.
    let listed = fixture.am.ok(&["message", "list", "alice/Inbox"]);
    assert!(
        listed.starts_with(first["id"].as_str().unwrap()),
        "{listed}"
    );
    assert_eq!(
        admin.ok("GetMessages", &[("folder", "alice")]),
        Value::Array(vec![])
    );

    // Bad arguments: clear errors.
    let error = admin.fails("GetChildFolders", &[("folder", "alice/Nope")]);
    assert!(error.contains("alice/Nope not found"), "{error}");
    let error = admin.fails("GetChildFolders", &[("folder", "nobody")]);
    assert!(error.contains("archive nobody not found"), "{error}");
    let error = admin.fails("GetChildFolders", &[("maxLevels", "0")]);
    assert!(error.contains("maxLevels must be 1 or more"), "{error}");
    let error = admin.fails("GetMessages", &[("folder", "alice//Inbox")]);
    assert!(error.contains("archive/path"), "{error}");
    let error = admin.fails("GetMessages", &[]);
    assert!(error.contains("lists one folder"), "{error}");
    let error = admin.fails("GetFolderStatistics", &[("folder", "alice")]);
    assert!(error.contains("takes no arguments"), "{error}");

    fixture.refused_to_non_admin("GetChildFolders", &[]);
    fixture.refused_to_non_admin("GetFolderStatistics", &[]);
    fixture.refused_to_non_admin("GetMessages", &[("folder", "alice/Inbox")]);
    assert_eq!(tree(&fixture), all);
}

#[test]
fn delete_message_expunges_it_for_open_sessions_unless_forbidden() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    file(&fixture, "Inbox", 3);
    let mut imap = alice_imap(&fixture);
    let selected = imap.command("s", "SELECT INBOX");
    assert!(
        selected.iter().any(|l| l == "* 3 EXISTS\r\n"),
        "{selected:?}"
    );

    let messages = admin.ok("GetMessages", &[("folder", "alice/Inbox")]);
    let id = messages[0]["id"].as_str().unwrap().to_string();
    admin.ok(
        "DeleteMessage",
        &[("id", &id), ("reason", "GDPR request 17")],
    );
    let noop = imap.command("n", "NOOP");
    assert!(noop.iter().any(|l| l == "* 1 EXPUNGE\r\n"), "{noop:?}");
    let left = admin.ok("GetMessages", &[("folder", "alice/Inbox")]);
    assert_eq!(left.as_array().unwrap().len(), 2);

    let deleted = fixture.audit(&["--action", "message_deleted"]);
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    let record = &deleted[0];
    assert_eq!(record["actor"], crate::ADMIN);
    assert_eq!(record["ip"], "127.0.0.1");
    assert_eq!(record["target"], "folder:alice/Inbox");
    assert_eq!(record["details"]["reason"], "GDPR request 17");
    assert_eq!(record["details"]["message_id"], "1.Inbox@example.com");
    assert_eq!(record["details"]["sha256"].as_str().unwrap().len(), 64);

    // Bad arguments and forbidden deletions change nothing.
    let other = left[0]["id"].as_str().unwrap();
    let error = admin.fails("DeleteMessage", &[("id", "17"), ("reason", "x")]);
    assert!(error.contains("malformed"), "{error}");
    let error = admin.fails("DeleteMessage", &[("id", &id), ("reason", "again")]);
    assert!(
        error.contains(&format!("message {id} not found")),
        "{error}"
    );
    let error = admin.fails("DeleteMessage", &[("id", other), ("reason", " ")]);
    assert!(error.contains("reason"), "{error}");
    let error = admin.fails("DeleteMessage", &[("id", other)]);
    assert!(error.contains("needs the argument reason"), "{error}");
    fixture.refused_to_non_admin("DeleteMessage", &[("id", other), ("reason", "x")]);

    // A write-protected store holds its messages as they are.
    fixture.am.ok(&["store", "create", "second"]);
    fixture.am.ok(&["store", "set-state", "second", "current"]);
    fixture
        .am
        .ok(&["store", "set-state", "main", "writeProtected"]);
    let error = admin.fails("DeleteMessage", &[("id", other), ("reason", "x")]);
    assert!(error.contains("write-protected"), "{error}");
    fixture.am.ok(&["store", "set-state", "main", "normal"]);

    // So does legal hold, whatever the store.
    fixture.am.ok(&["compliance", "legal-hold", "on"]);
    let error = admin.fails("DeleteMessage", &[("id", other), ("reason", "x")]);
    assert!(error.to_lowercase().contains("legal hold"), "{error}");

    assert_eq!(admin.ok("GetMessages", &[("folder", "alice/Inbox")]), left);
    assert_eq!(fixture.audit(&["--action", "message_deleted"]).len(), 1);
    let noop = imap.command("n2", "NOOP");
    assert!(!noop.iter().any(|l| l.contains("EXPUNGE")), "{noop:?}");
}

#[test]
fn move_folder_renames_a_subtree_inside_its_archive() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    file(&fixture, "Projects/Acme", 2);
    file(&fixture, "Inbox", 1);

    admin.ok(
        "MoveFolder",
        &[
            ("fromFolder", "alice/Projects"),
            ("toFolder", "alice/Archive/2020"),
        ],
    );
    assert_eq!(
        names(&tree(&fixture)),
        [
            "alice",
            "alice/Archive",
            "alice/Archive/2020",
            "alice/Archive/2020/Acme",
            "alice/Inbox",
            "root"
        ]
    );
    let mut imap = alice_imap(&fixture);
    let status = imap.command("st", "STATUS \"Archive/2020/Acme\" (MESSAGES)");
    assert!(status[0].contains("(MESSAGES 2)"), "{status:?}");
    let renamed = fixture.audit(&["--action", "folder_renamed"]);
    assert_eq!(renamed.len(), 1, "{renamed:?}");
    assert_eq!(renamed[0]["actor"], crate::ADMIN);
    assert_eq!(renamed[0]["target"], "folder:alice/Projects");
    assert_eq!(renamed[0]["details"]["to"], "folder:alice/Archive/2020");
    // The command line does the same.
    fixture
        .am
        .ok(&["folder", "move", "alice/Archive/2020/Acme", "alice/Acme"]);
    fixture
        .am
        .ok(&["folder", "move", "alice/Acme", "alice/Archive/2020/Acme"]);

    // Bad moves: clear errors, nothing changed.
    let before = tree(&fixture);
    let fails =
        |from: &str, to: &str| admin.fails("MoveFolder", &[("fromFolder", from), ("toFolder", to)]);
    let error = fails("alice/Inbox", "root/Inbox");
    assert!(error.contains("only inside their archive"), "{error}");
    let error = fails("alice/Archive", "alice/Archive/2020/Acme/Archive");
    assert!(error.contains("into itself"), "{error}");
    let error = fails("alice/Inbox", "alice/Archive");
    assert!(error.contains("already exists"), "{error}");
    let error = fails("alice/Nope", "alice/Yes");
    assert!(error.contains("alice/Nope not found"), "{error}");
    let error = fails("alice", "alice/Inbox/alice");
    assert!(error.contains("root cannot be moved"), "{error}");
    let error = fails("alice/Inbox", "alice/../Inbox");
    assert!(error.contains("archive/path"), "{error}");
    fixture.refused_to_non_admin(
        "MoveFolder",
        &[("fromFolder", "alice/Inbox"), ("toFolder", "alice/Old")],
    );
    fixture.am.ok(&["compliance", "legal-hold", "on"]);
    let error = fails("alice/Inbox", "alice/Old");
    assert!(error.to_lowercase().contains("legal hold"), "{error}");
    assert_eq!(tree(&fixture), before);
    assert_eq!(fixture.audit(&["--action", "folder_renamed"]).len(), 3);
}

#[test]
fn delete_empty_folders_keeps_inboxes_and_folders_with_mail() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    file(&fixture, "Inbox", 1);
    file(&fixture, "Projects/Acme", 1);
    fixture
        .am
        .ok(&["grant", "alice", "alice", "read,write,delete"]);
    let mut imap = alice_imap(&fixture);
    for (tag, name) in [("c1", "Empty/Deeper"), ("c2", "Projects/Idle/Old")] {
        let created = imap.answer(tag, &format!("CREATE \"{name}\""));
        assert!(created.starts_with(&format!("{tag} OK")), "{created}");
    }
    // A folder emptied by EXPUNGE is as empty as one never filled.
    let message = "Subject: soon gone\r\n\r\nGone.\r\n";
    imap.send(&format!(
        "a APPEND \"Empty/Deeper\" {{{}}}\r\n",
        message.len()
    ));
    assert!(imap.line().starts_with('+'));
    imap.send(&format!("{message}\r\n"));
    assert!(imap.until("a").last().unwrap().starts_with("a OK"));
    imap.command("s", "SELECT \"Empty/Deeper\"");
    imap.command("d", "STORE 1 +FLAGS.SILENT (\\Deleted)");
    assert!(imap.answer("x", "EXPUNGE").starts_with("x OK"));
    imap.command("u", "UNSELECT");
    // The inbox emptied stays: it is the IMAP INBOX.
    let inbox = admin.ok("GetMessages", &[("folder", "alice/Inbox")]);
    let id = inbox[0]["id"].as_str().unwrap();
    admin.ok("DeleteMessage", &[("id", id), ("reason", "test")]);

    // Bad arguments and legal hold change nothing.
    let before = tree(&fixture);
    let error = admin.fails("DeleteEmptyFolders", &[("folder", "alice/Nope")]);
    assert!(error.contains("alice/Nope not found"), "{error}");
    let error = admin.fails("DeleteEmptyFolders", &[("folder", "/alice")]);
    assert!(error.contains("no archive name"), "{error}");
    fixture.refused_to_non_admin("DeleteEmptyFolders", &[]);
    assert_eq!(tree(&fixture), before);

    // Below a folder (which stays), then everywhere; the CLI, then the API.
    let pruned = fixture.am.ok(&["folder", "prune", "alice/Projects"]);
    assert!(pruned.contains("2 empty folder(s) deleted"), "{pruned}");
    let removed = admin.ok("DeleteEmptyFolders", &[]);
    assert_eq!(
        removed,
        serde_json::json!(["alice/Empty/Deeper", "alice/Empty"])
    );
    assert_eq!(
        names(&tree(&fixture)),
        [
            "alice",
            "alice/Inbox",
            "alice/Projects",
            "alice/Projects/Acme",
            "root"
        ]
    );
    let deleted: Vec<Value> = fixture.audit(&["--action", "folder_deleted"]);
    let targets: Vec<&str> = deleted
        .iter()
        .map(|r| r["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "folder:alice/Projects/Idle/Old",
            "folder:alice/Projects/Idle",
            "folder:alice/Empty/Deeper",
            "folder:alice/Empty"
        ]
    );
    assert_eq!(deleted[3]["actor"], crate::ADMIN);
    let list = imap.command("li", "LIST \"\" \"*\"");
    assert!(!list.iter().any(|l| l.contains("Empty")), "{list:?}");

    let created = imap.answer("c3", "CREATE \"Empty\"");
    assert!(created.starts_with("c3 OK"), "{created}");
    fixture.am.ok(&["compliance", "legal-hold", "on"]);
    let error = admin.fails("DeleteEmptyFolders", &[]);
    assert!(error.to_lowercase().contains("legal hold"), "{error}");
    assert!(names(&tree(&fixture)).contains(&"alice/Empty"));
}
