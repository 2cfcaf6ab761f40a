//! The audit log and the compliance settings: what is recorded, `archimap
//! audit` and its filters, `archimap compliance`.

mod common;

use std::time::{Duration, Instant};

use archimap::archive::{Archives, ComplianceSettings};
use archimap::config::Config;
use common::Archimap;
use common::imap::Server;
use serde_json::{Value, json};

/// `archimap audit --json` with `args`, one value per line.
fn audit(am: &Archimap, args: &[&str]) -> Vec<Value> {
    let mut full = vec!["audit", "--json"];
    full.extend_from_slice(args);
    am.ok(&full)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn actions(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect()
}

#[test]
fn imap_logins_and_failed_logins_are_recorded_with_address_and_reason() {
    let am = Archimap::with_alice();
    let server = Server::start(&am);
    let mut c = server.connect_tls();
    c.line();
    assert!(
        c.answer("a1", "LOGIN Alice@Example.com wrong")
            .starts_with("a1 NO")
    );
    assert!(c.answer("a2", "LOGIN mallory secret").starts_with("a2 NO"));
    assert!(
        c.answer("a3", "LOGIN alice wonderland")
            .starts_with("a3 OK")
    );

    // Each record is written before the client has its answer.
    let records = audit(&am, &["--action", "login", "--action", "login_failed"]);
    assert_eq!(
        actions(&records),
        ["login_failed", "login_failed", "login"],
        "{records:?}"
    );
    for record in &records {
        assert_eq!(record["ip"], "127.0.0.1", "{record}");
        assert!(record["time"].as_str().unwrap().ends_with('Z'), "{record}");
    }
    // Under the user an address belongs to, so that --user finds it.
    assert_eq!(records[0]["actor"], "alice");
    assert_eq!(records[0]["target"], "user:alice");
    assert_eq!(
        records[0]["details"],
        json!({ "login": "Alice@Example.com", "service": "imap", "reason": "wrong password" })
    );
    assert_eq!(records[1]["actor"], "mallory");
    assert_eq!(records[1]["details"]["reason"], "no such user");
    assert_eq!(records[2]["actor"], "alice");
    assert_eq!(
        records[2]["details"],
        json!({ "login": "alice", "service": "imap" })
    );

    let alice = audit(&am, &["--user", "ALICE"]);
    assert_eq!(actions(&alice), ["login_failed", "login"]);
}

#[test]
fn changes_of_users_privileges_and_stores_are_recorded() {
    let am = Archimap::new();
    am.ok(&[
        "user",
        "add",
        "bob",
        "--password",
        "x",
        "--email",
        "bob@example.com",
    ]);
    let passwd = am.run_with_stdin(&["user", "passwd", "bob", "--password-stdin"], "new\n");
    assert!(passwd.status.success());
    am.ok(&["user", "set-privileges", "bob", "login,delete"]);
    am.add_user("carol");
    am.ok(&["grant", "carol", "bob", "read,write"]);
    am.ok(&["user", "rename", "carol", "caroline"]);
    am.ok(&["user", "delete", "caroline"]);
    am.ok(&["store", "create", "old"]);
    am.ok(&["store", "set-state", "old", "writeProtected"]);

    let records = audit(&am, &[]);
    assert_eq!(
        actions(&records),
        [
            "user_created",
            "user_changed",
            "privileges_changed",
            "user_created",
            "privileges_changed",
            "user_changed",
            "user_deleted",
            "store_changed",
            "store_changed",
        ]
    );
    for record in &records {
        assert_eq!(record["actor"], "admin", "{record}");
        assert_eq!(record["ip"], Value::Null, "{record}");
    }
    let targets: Vec<&str> = records
        .iter()
        .map(|r| r["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "user:bob",
            "user:bob",
            "user:bob",
            "user:carol",
            "user:carol",
            "user:carol",
            "user:caroline",
            "store:old",
            "store:old",
        ]
    );
    assert_eq!(records[0]["details"]["emails"], json!(["bob@example.com"]));
    // Never the password itself.
    assert_eq!(records[1]["details"], json!({ "password": "changed" }));
    assert_eq!(
        records[2]["details"],
        json!({ "privileges": { "from": "login,changePassword", "to": "login,delete" } })
    );
    assert_eq!(
        records[4]["details"],
        json!({ "archive": "bob", "folder_privileges": { "from": "none", "to": "read,write" } })
    );
    assert_eq!(records[5]["details"], json!({ "new_name": "caroline" }));
    assert_eq!(
        records[8]["details"],
        json!({ "state": { "from": "normal", "to": "writeProtected" } })
    );

    // What failed changed nothing and recorded nothing.
    am.fails(&["grant", "bob", "nobody", "read"]);
    am.fails(&["user", "set-privileges", "bob", "root"]);
    am.fails(&["store", "set-state", "main", "normal"]);
    am.fails(&["user", "rename", "bob", "caroline"]); // her archive stays
    assert_eq!(audit(&am, &[]).len(), records.len());
}

#[test]
fn legal_hold_and_retrieval_audit_round_trip() {
    let am = Archimap::new();
    let show = |legal_hold: &str, retrievals: &str| {
        assert_eq!(
            am.ok(&["compliance", "show"]),
            format!(
                "legal hold:                 {legal_hold}\n\
                 audit of message retrieval: {retrievals}\n\
                 audit of imported messages: off\n"
            )
        );
    };
    show("off", "off");
    assert_eq!(
        am.ok(&["compliance", "legal-hold", "on"]),
        "legal hold is now on\n"
    );
    show("on", "off");
    assert_eq!(
        am.ok(&["compliance", "legal-hold", "on"]),
        "legal hold was on already\n"
    );
    am.ok(&["compliance", "audit-retrievals", "on"]);
    show("on", "on");
    am.ok(&["compliance", "legal-hold", "off"]);
    show("off", "on");

    let records = audit(&am, &[]);
    assert_eq!(
        actions(&records),
        ["compliance_changed"; 3],
        "a setting left as it was is not a change: {records:?}"
    );
    let details: Vec<&Value> = records.iter().map(|r| &r["details"]).collect();
    assert_eq!(
        details,
        [
            &json!({ "legal_hold_enabled": { "from": false, "to": true } }),
            &json!({ "audit_message_retrieval": { "from": false, "to": true } }),
            &json!({ "legal_hold_enabled": { "from": true, "to": false } }),
        ]
    );
    assert!(
        records
            .iter()
            .all(|r| r["actor"] == "admin" && r["target"] == "compliance")
    );
}

#[test]
fn a_change_by_another_process_is_seen_within_a_second() {
    let am = Archimap::new();
    let open = || Archives::open(&Config::load(None, Some(&am.data_dir())).unwrap()).unwrap();
    let (server, cli) = (open(), open());
    assert!(!server.legal_hold().unwrap() && !server.audit_retrievals());

    let on = ComplianceSettings {
        legal_hold_enabled: true,
        audit_message_retrieval: true,
        audit_message_archiving: true,
    };
    assert!(cli.set_compliance(on).unwrap());
    assert!(cli.legal_hold().unwrap(), "at once in the changing process");
    let started = Instant::now();
    while !server.legal_hold().unwrap() {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "not seen after 2 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.audit_retrievals());
    assert!(
        !cli.set_compliance(on).unwrap(),
        "no change the second time"
    );
}

#[test]
fn filters_select_by_time_actor_and_action() {
    let am = Archimap::new();
    am.add_user("dave");
    am.add_user("erin");
    am.ok(&["store", "create", "spare"]);
    am.ok(&["user", "delete", "erin"]);
    let all = audit(&am, &[]);
    assert_eq!(all.len(), 4);

    let created = audit(&am, &["--action", "user_created"]);
    assert_eq!(created, all[..2]);
    let some = audit(
        &am,
        &["--action", "USER_DELETED", "--action", "store_changed"],
    );
    assert_eq!(some, all[2..]);
    assert_eq!(audit(&am, &["--limit", "1"]), all[3..]);
    assert_eq!(audit(&am, &["--limit", "99"]), all);
    assert_eq!(audit(&am, &["--user", "admin"]), all);
    assert!(audit(&am, &["--user", "dave"]).is_empty());

    // --since is inclusive, --until exclusive, at millisecond precision.
    let third = all[2]["time"].as_str().unwrap();
    let since = audit(&am, &["--since", third]);
    assert_eq!(
        since,
        all[all.iter().position(|r| r["time"] == third).unwrap()..]
    );
    let until = audit(&am, &["--until", third]);
    assert!(until.iter().all(|r| r["time"].as_str().unwrap() < third));
    assert_eq!(until.len() + since.len(), all.len());
    assert_eq!(audit(&am, &["--since", "1h", "--until", "2999-01-01"]), all);
    assert!(audit(&am, &["--until", "2000-01-01T00:00:00+01:00"]).is_empty());

    // The table: a header, then one aligned row per record.
    let table = am.ok(&["audit", "--action", "store_changed"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].starts_with("TIME "), "{table}");
    assert!(
        lines[1].contains("  admin  -   store_changed  store:spare  {\"created\":"),
        "{table}"
    );
    assert_eq!(
        am.ok(&["audit", "--user", "nobody"]),
        "no audit records match\n"
    );
}

#[test]
fn bad_arguments_change_nothing_and_say_why() {
    let am = Archimap::new();
    let error = am.fails(&["compliance", "legal-hold", "maybe"]);
    assert!(
        error.contains("invalid value 'maybe'") && error.contains("on, off"),
        "{error}"
    );
    am.fails(&["compliance", "legal-hold"]);
    let error = am.fails(&["audit", "--action", "logon"]);
    assert!(
        error.contains("invalid value 'logon'") && error.contains("login_failed"),
        "{error}"
    );
    let error = am.fails(&["audit", "--since", "yesterday"]);
    assert!(
        error.contains("expected RFC 3339") && error.contains("an age"),
        "{error}"
    );
    let error = am.fails(&["audit", "--since", "1h", "--until", "2h"]);
    assert!(error.contains("must be earlier than --until"), "{error}");
    assert!(am.fails(&["audit", "--limit", "0"]).contains("'0'"));
    assert!(am.fails(&["audit", "--limit", "-3"]).contains("'-3'"));

    assert_eq!(
        am.ok(&["compliance", "show"]),
        "legal hold:                 off\naudit of message retrieval: off\n\
         audit of imported messages: off\n"
    );
    assert!(audit(&am, &[]).is_empty());
}

#[test]
fn message_retrieval_is_recorded_when_switched_on() {
    let am = Archimap::new();
    am.ok(&["user", "add", "alice", "--password", "pw"]);
    let mail = am.dir.path().join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    for i in 1..=3 {
        std::fs::write(
            mail.join(format!("{i}.eml")),
            format!("Subject: {i}\r\n\r\nbody {i}\r\n"),
        )
        .unwrap();
    }
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Inbox",
        mail.to_str().unwrap(),
    ]);
    let server = Server::start(&am);
    let mut c = server.connect_tls();
    c.line();
    c.command("l", "LOGIN alice pw");
    c.command("s", "SELECT INBOX");
    // Off (the default): nothing recorded.
    c.command("f1", "FETCH 1 BODY.PEEK[]");
    assert!(audit(&am, &["--action", "message_retrieved"]).is_empty());
    am.ok(&["compliance", "audit-retrievals", "on"]);
    // On: the server sees the change within a second; headers-only
    // answers (ENVELOPE, FLAGS) are not retrievals.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        c.command("f2", "UID FETCH 2:3 (BODY.PEEK[TEXT] FLAGS)");
        if audit(&am, &["--action", "message_retrieved"]).len() >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "retrievals not recorded");
    }
    let before = audit(&am, &["--action", "message_retrieved"]).len();
    c.command("f3", "FETCH 1:3 (ENVELOPE FLAGS)");
    let records = audit(&am, &["--action", "message_retrieved"]);
    assert_eq!(records.len(), before);
    let last = records.last().unwrap();
    assert_eq!(last["actor"], "alice");
    assert_eq!(last["target"], "folder:alice/Inbox");
    assert_eq!(last["details"]["uid"], 3);
    assert!(last["ip"].is_string());
}

/// APPEND's and an import's audit records are written in the transaction
/// that files the messages: when the record cannot be written (here a
/// trigger refuses it, as a crash between two commits would lose it),
/// nothing is filed either; when it can, an import leaves one record per
/// folder with its counts and source.
#[test]
fn appends_and_imports_are_recorded_in_their_own_transaction() {
    let am = Archimap::new();
    am.ok(&["user", "add", "alice", "--password", "pw"]);
    am.ok(&["grant", "alice", "alice", "read,write"]);
    let mail = am.dir.path().join("mail");
    std::fs::create_dir_all(mail.join("Inbox")).unwrap();
    std::fs::create_dir_all(mail.join("Sent")).unwrap();
    for (folder, n) in [("Inbox", 3), ("Sent", 2)] {
        for i in 0..n {
            std::fs::write(
                mail.join(folder).join(format!("{i}.eml")),
                format!("From: a@example.com\r\nSubject: {folder} {i}\r\n\r\nBody\r\n"),
            )
            .unwrap();
        }
    }
    let db = rusqlite::Connection::open(am.data_dir().join("catalog.sqlite")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER refuse_filing_records BEFORE INSERT ON audit
         WHEN NEW.action IN ('message_appended', 'messages_imported')
         BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END;",
    )
    .unwrap();

    let failed = am.fails(&["import", "--user", "alice", mail.to_str().unwrap()]);
    assert!(failed.contains("audit log unavailable"), "{failed}");
    assert_eq!(am.message_count(), 0);

    let server = Server::start(&am);
    let mut c = server.connect_tls();
    c.line();
    assert!(c.answer("l", "LOGIN alice pw").starts_with("l OK"));
    c.command("c", "CREATE Drafts");
    let message = "From: a@example.com\r\nSubject: appended\r\n\r\nHi\r\n";
    c.send(&format!("a APPEND Drafts {{{}}}\r\n", message.len()));
    assert!(c.line().starts_with('+'));
    c.send(&format!("{message}\r\n"));
    let answer = c.until("a").pop().unwrap();
    assert!(answer.starts_with("a NO"), "{answer}");
    let status = c.command("s", "STATUS Drafts (MESSAGES)");
    assert!(status[0].contains("(MESSAGES 0)"), "{status:?}");

    db.execute_batch("DROP TRIGGER refuse_filing_records")
        .unwrap();
    c.send(&format!("b APPEND Drafts {{{}}}\r\n", message.len()));
    assert!(c.line().starts_with('+'));
    c.send(&format!("{message}\r\n"));
    let answer = c.until("b").pop().unwrap();
    assert!(answer.starts_with("b OK"), "{answer}");
    let appended = audit(&am, &["--action", "message_appended"]);
    assert_eq!(appended.len(), 1, "{appended:?}");
    assert_eq!(appended[0]["target"], "folder:alice/Drafts");

    assert_eq!(
        am.import(&["--user", "alice", mail.to_str().unwrap()]),
        (5, 0, 0, 0)
    );
    let imported = audit(&am, &["--action", "messages_imported"]);
    let mut per_folder: Vec<(String, u64)> = imported
        .iter()
        .map(|r| {
            assert_eq!(r["actor"], "admin");
            assert_eq!(r["details"]["source"], json!([mail.to_str().unwrap()]));
            assert_eq!(r["details"]["run"], imported[0]["details"]["run"]);
            (
                r["target"].as_str().unwrap().to_string(),
                r["details"]["imported"].as_u64().unwrap(),
            )
        })
        .collect();
    per_folder.sort();
    assert_eq!(
        per_folder,
        [
            ("folder:alice/Inbox".to_string(), 3),
            ("folder:alice/Sent".to_string(), 2)
        ]
    );
}

/// With the compliance setting on, an import records each message it
/// files (which bytes, from where, under which UID), in the transaction
/// that files it, besides the count per folder; duplicates it skips are
/// not filed and get no record. Off (the default), only the counts.
#[test]
fn each_imported_message_is_recorded_when_switched_on() {
    let am = Archimap::new();
    am.add_user("alice");
    let mail = am.dir.path().join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    let write = |name: &str, subject: &str| {
        let text = format!("From: a@example.com\r\nSubject: {subject}\r\n\r\nBody\r\n");
        std::fs::write(mail.join(name), &text).unwrap();
        common::sha256_hex(text.as_bytes())
    };
    write("0.eml", "before");
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Inbox",
        mail.to_str().unwrap(),
    ]);
    assert_eq!(
        audit(&am, &["--action", "message_archived"]),
        Vec::<Value>::new()
    );

    assert_eq!(
        am.ok(&["compliance", "audit-imports", "on"]),
        "the audit of each imported message is now on\n"
    );
    let mut expected = vec![write("1.eml", "one"), write("2.eml", "two")];
    expected.sort();
    assert_eq!(
        am.import(&[
            "--user",
            "alice",
            "--folder",
            "Inbox",
            mail.to_str().unwrap()
        ]),
        (2, 1, 0, 0),
        "0.eml is in Inbox already"
    );
    let records = audit(&am, &["--action", "message_archived"]);
    let counted = audit(&am, &["--action", "messages_imported"]);
    let run = &counted.last().unwrap()["details"]["run"];
    let mut seen: Vec<String> = records
        .iter()
        .map(|r| {
            assert_eq!(r["actor"], "admin");
            assert_eq!(r["target"], "folder:alice/Inbox");
            assert_eq!(&r["details"]["run"], run, "{r}");
            assert!(r["details"]["uid"].as_u64().unwrap() > 1, "{r}");
            let source = r["details"]["source"].as_str().unwrap();
            assert!(
                source.ends_with("1.eml") || source.ends_with("2.eml"),
                "{r}"
            );
            r["details"]["sha256"].as_str().unwrap().to_string()
        })
        .collect();
    seen.sort();
    assert_eq!(seen, expected);

    am.ok(&["compliance", "audit-imports", "off"]);
    write("3.eml", "three");
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Inbox",
        mail.to_str().unwrap(),
    ]);
    assert_eq!(audit(&am, &["--action", "message_archived"]).len(), 2);
}
