//! SEARCH answered by the full-text index, over real TLS IMAP sessions:
//! words found only inside a PDF or docx attachment or in a koi8-r or
//! shift_jis body, CHARSET, ESEARCH, FUZZY with RELEVANCY, searches that
//! stay inside the selected mailbox, and an index that catches up after
//! it was lost or replaced, after expunges and after a killed import.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::Archimap;
use common::imap::{Client, Server};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/search")
}

/// A directory holding one message.
fn message_dir(am: &Archimap, name: &str, message: &str) -> PathBuf {
    let dir = am.dir.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("m.eml"), message).unwrap();
    dir
}

fn note(id: &str, body: &str) -> String {
    format!(
        "From: Dave <dave@example.com>\r\nSubject: Note {id}\r\nMessage-ID: <{id}@example.com>\r\n\
         Date: Wed, 5 Jun 2024 10:00:00 +0000\r\n\r\n{body}\r\n"
    )
}

/// alice's archive: the fixtures in `Fixtures`, a note in `Other`; bob's
/// archive: a note with the same words.
fn archive() -> Archimap {
    let am = Archimap::new();
    am.add_user("alice");
    am.add_user("bob");
    let fixtures = fixtures();
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Fixtures",
        fixtures.to_str().unwrap(),
    ]);
    let other = message_dir(
        &am,
        "other",
        &note("other", "quetzalpdf wombatdocx archive notes"),
    );
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Other",
        other.to_str().unwrap(),
    ]);
    let bob = message_dir(&am, "bob", &note("bob", "quetzalpdf wombatdocx of bob"));
    am.import(&[
        "--user",
        "bob",
        "--folder",
        "Fixtures",
        bob.to_str().unwrap(),
    ]);
    am
}

fn login(server: &Server, user: &str, mailbox: &str) -> Client {
    let mut c = server.connect_tls();
    c.line();
    assert!(
        c.answer("l", &format!("LOGIN {user} secret"))
            .starts_with("l OK")
    );
    assert!(
        c.answer("s", &format!("SELECT {mailbox}"))
            .starts_with("s OK")
    );
    c
}

/// The Message-ID local parts of the messages `UID SEARCH criteria` finds.
fn found(c: &mut Client, criteria: &str) -> Vec<String> {
    let lines = c.command("u", &format!("UID SEARCH {criteria}"));
    assert!(
        lines.last().unwrap().starts_with("u OK"),
        "{criteria}: {lines:?}"
    );
    ids(c, &numbers(&lines, "* SEARCH"))
}

fn numbers(lines: &[String], prefix: &str) -> Vec<u32> {
    let line = lines.iter().find(|l| l.starts_with(prefix)).unwrap();
    line[prefix.len()..]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

fn ids(c: &mut Client, uids: &[u32]) -> Vec<String> {
    let mut ids: Vec<String> = uids
        .iter()
        .map(|uid| {
            let lines = c.command(
                "f",
                &format!("UID FETCH {uid} BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"),
            );
            let line = lines
                .iter()
                .find(|l| l.starts_with("Message-ID: <"))
                .unwrap();
            line["Message-ID: <".len()..line.find('@').unwrap()].to_string()
        })
        .collect();
    ids.sort();
    ids
}

/// `UID SEARCH CHARSET charset key {literal}`, the literal's bytes as given.
fn found_literal(c: &mut Client, charset: &str, key: &str, literal: &[u8]) -> Vec<String> {
    c.send(&format!(
        "u UID SEARCH CHARSET {charset} {key} {{{}}}\r\n",
        literal.len()
    ));
    assert!(c.line().starts_with('+'));
    c.send_bytes(literal);
    c.send("\r\n");
    let lines = c.until("u");
    assert!(lines.last().unwrap().starts_with("u OK"), "{lines:?}");
    ids(c, &numbers(&lines, "* SEARCH"))
}

#[test]
fn words_in_attachments_and_in_every_charset_are_found() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = login(&server, "alice", "Fixtures");
    let caps = c.command("c", "CAPABILITY");
    assert!(
        caps[0].contains(" ESEARCH") && caps[0].contains(" SEARCH=FUZZY"),
        "{caps:?}"
    );

    assert_eq!(found(&mut c, "BODY quetzalpdf"), ["pdf"]);
    assert_eq!(found(&mut c, "TEXT wombatdocx"), ["docx"]);
    assert_eq!(found(&mut c, "BODY \"minutes of the wombat\""), ["docx"]);
    assert_eq!(
        found(&mut c, "BODY figures.pdf"),
        ["pdf"],
        "attachment names"
    );
    assert_eq!(
        found(&mut c, "SUBJECT \"ly fig\""),
        ["pdf"],
        "header substrings"
    );
    assert_eq!(found(&mut c, "FROM CAROL"), ["koi8r", "sjis"]);
    assert_eq!(found(&mut c, "HEADER Message-ID sjis@"), ["sjis"]);
    assert!(found(&mut c, "BODY nowhere-at-all").is_empty());

    assert_eq!(
        found_literal(&mut c, "UTF-8", "BODY", "архива".as_bytes()),
        ["koi8r"]
    );
    let koi8 = b"\xc1\xd2\xc8\xc9\xd7\xc1"; // архива
    assert_eq!(found_literal(&mut c, "KOI8-R", "BODY", koi8), ["koi8r"]);
    assert_eq!(
        found_literal(&mut c, "UTF-8", "TEXT", "会議".as_bytes()),
        ["sjis"]
    );
    let sjis = b"\x89\xef\x8b\x63\x8e\x91\x97\xbf"; // 会議資料
    assert_eq!(found_literal(&mut c, "SHIFT_JIS", "BODY", sjis), ["sjis"]);
    assert!(found_literal(&mut c, "UTF-8", "BODY", "議会".as_bytes()).is_empty());

    let refused = c.answer("b", "SEARCH CHARSET X-KLINGON BODY x");
    assert!(
        refused.starts_with("b NO [BADCHARSET (UTF-8 US-ASCII ISO-8859-1 "),
        "{refused}"
    );
}

#[test]
fn esearch_and_fuzzy_relevancy() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = login(&server, "alice", "Fixtures");
    let all = c.command("a", "SEARCH RETURN (MIN MAX COUNT ALL) FROM example");
    assert_eq!(
        all[0], "* ESEARCH (TAG \"a\") MIN 1 MAX 4 COUNT 4 ALL 1:4\r\n",
        "{all:?}"
    );
    let uid = c.command("b", "UID SEARCH RETURN () FROM carol");
    assert!(
        uid[0].starts_with("* ESEARCH (TAG \"b\") UID ALL "),
        "{uid:?}"
    );
    let none = c.command("c", "SEARCH RETURN (MIN COUNT) BODY nothing-like-it");
    assert_eq!(none[0], "* ESEARCH (TAG \"c\") COUNT 0\r\n");
    // PARTIAL (CONTEXT=SEARCH) is known; an option nobody defined is not.
    let partial = c.command("d", "SEARCH RETURN (PARTIAL 1:1) ALL");
    assert_eq!(partial[0], "* ESEARCH (TAG \"d\") PARTIAL (1:1 1)\r\n");
    assert!(
        c.answer("d2", "SEARCH RETURN (NEWEST 1) ALL")
            .starts_with("d2 BAD")
    );
    assert!(
        c.answer("e", "SEARCH RETURN (RELEVANCY) BODY x")
            .starts_with("e BAD")
    );

    // One edit away from "quetzalpdf" and "wombatdocx": FUZZY finds them, exact does not.
    assert!(found(&mut c, "BODY quetzalpfd").is_empty());
    assert_eq!(found(&mut c, "FUZZY BODY quetzalpfd"), ["pdf"]);
    let fuzzy = c.command(
        "f",
        "SEARCH RETURN (ALL RELEVANCY) OR FUZZY BODY wombatdocs FUZZY TEXT quetzalpdf",
    );
    assert!(fuzzy[1].starts_with("f OK"), "{fuzzy:?}");
    let line = &fuzzy[0];
    assert!(line.starts_with("* ESEARCH (TAG \"f\") ALL "), "{line}");
    let scores = &line[line.find("RELEVANCY (").unwrap() + 11..line.rfind(')').unwrap()];
    let scores: Vec<u32> = scores.split(' ').map(|s| s.parse().unwrap()).collect();
    assert_eq!(scores.len(), 2, "{line}");
    assert!(
        scores.iter().all(|s| (1..=100).contains(s)) && scores.contains(&100),
        "{line}"
    );
    // Literals after FUZZY, and FUZZY as a search string, stay what they are.
    c.send("g SEARCH RETURN (COUNT) FUZZY SUBJECT {6}\r\n");
    assert!(c.line().starts_with('+'));
    c.send("Meetin FUZZY BODY fuzzy\r\n");
    let lines = c.until("g");
    assert_eq!(lines[0], "* ESEARCH (TAG \"g\") COUNT 0\r\n", "{lines:?}");
}

#[test]
fn searches_stay_in_the_selected_mailbox() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = login(&server, "alice", "Fixtures");
    assert_eq!(found(&mut c, "BODY quetzalpdf"), ["pdf"]);
    assert_eq!(
        found(&mut c, "OR BODY quetzalpdf BODY wombatdocx"),
        ["docx", "pdf"]
    );
    assert_eq!(
        found(&mut c, "NOT BODY quetzalpdf"),
        ["docx", "koi8r", "sjis"]
    );
    assert!(c.answer("s", "SELECT Other").starts_with("s OK"));
    assert_eq!(found(&mut c, "BODY quetzalpdf"), ["other"]);
    assert!(found(&mut c, "FROM carol").is_empty());
    // bob's archive: alice holds no right on it, so it does not exist for her.
    assert!(
        c.answer("t", "SELECT \"Other Users/bob/Fixtures\"")
            .starts_with("t NO")
    );
    let mut b = login(&server, "bob", "Fixtures");
    assert_eq!(found(&mut b, "BODY quetzalpdf"), ["bob"]);
    assert_eq!(found(&mut b, "TEXT alice"), Vec::<String>::new());
}

fn index_dir(am: &Archimap) -> PathBuf {
    am.data_dir().join("stores/main/index")
}

/// Waits until the server logged that its index is reconciled.
fn reconciled(server: &Server) {
    let start = Instant::now();
    while !server.logged("full-text index reconciled") {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no reconciliation"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What `archimap index verify` says of an index in step with the catalog.
fn in_step(verified: &str) -> bool {
    verified.contains(": 0 messages pending (")
        && verified.contains(", 0 documents of unknown messages, 0 repeated")
}

/// Waits until `archimap index verify` finds the index in step with the
/// catalog (index changes of single messages are written in batches).
fn index_in_step(am: &Archimap) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = am.run(&["index", "verify"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if in_step(&stdout) {
            return;
        }
        assert!(Instant::now() < deadline, "{stdout}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_lost_or_foreign_index_is_repaired_and_searches_stay_complete() {
    let am = archive();
    assert!(in_step(&am.ok(&["index", "verify"])));
    std::fs::remove_dir_all(index_dir(&am)).unwrap();
    // Messages the index lacks are pending, not a fault.
    let out = am.ok(&["index", "verify"]);
    assert!(out.contains("store main: 6 messages pending"), "{out}");

    // A message added while the index is gone is indexed alone.
    let late = message_dir(&am, "late", &note("late", "arrived quetzalpdf later"));
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Fixtures",
        late.to_str().unwrap(),
    ]);
    // The import indexes what the index lacked besides its own message.
    assert!(in_step(&am.ok(&["index", "verify"])));
    std::fs::remove_dir_all(index_dir(&am)).unwrap();

    // Searches are complete before the server has caught up, and after.
    let mut server = Server::start(&am);
    let mut c = login(&server, "alice", "Fixtures");
    assert_eq!(found(&mut c, "BODY quetzalpdf"), ["late", "pdf"]);
    assert_eq!(found(&mut c, "SENTON 4-Jun-2024"), ["koi8r", "sjis"]);
    reconciled(&server);
    assert_eq!(found(&mut c, "BODY quetzalpdf"), ["late", "pdf"]);
    assert_eq!(found(&mut c, "SENTON 4-Jun-2024"), ["koi8r", "sjis"]);
    server.terminate();
    assert!(in_step(&am.ok(&["index", "verify"])));

    // Another archive's index: documents of blobs this catalog lacks, and
    // of blob ids that name other bytes here. None of it answers; the
    // server replaces it.
    let other = Archimap::new();
    other.add_user("alice");
    let mine = message_dir(&other, "mine", &note("mine", "only this"));
    other.import(&[
        "--user",
        "alice",
        "--folder",
        "Fixtures",
        mine.to_str().unwrap(),
    ]);
    std::fs::remove_dir_all(index_dir(&other)).unwrap();
    copy_dir(&index_dir(&am), &index_dir(&other));
    let out = other.fails(&["index", "verify"]);
    assert!(
        out.contains("1 messages pending (") && out.contains(", 7 documents of unknown"),
        "{out}"
    );
    let server = Server::start(&other);
    let mut c = login(&server, "alice", "Fixtures");
    assert!(found(&mut c, "BODY quetzalpdf").is_empty());
    assert_eq!(found(&mut c, "BODY only"), ["mine"]);
    reconciled(&server);
    assert_eq!(found(&mut c, "BODY only"), ["mine"]);
    assert!(in_step(&other.ok(&["index", "verify"])));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn rebuild_indexes_everything_again() {
    let am = archive();
    std::fs::remove_dir_all(index_dir(&am)).unwrap();
    let out = am.ok(&["index", "rebuild", "--store", "main"]);
    assert!(
        out.contains("store main: 6 messages indexed, 0 unreadable"),
        "{out}"
    );
    assert!(in_step(&am.ok(&["index", "verify"])));
    assert!(
        am.fails(&["index", "rebuild", "--store", "nosuch"])
            .contains("not found")
    );
}

#[test]
fn expunged_messages_leave_the_index() {
    let am = archive();
    am.ok(&["grant", "alice", "alice", "read,write,delete"]);
    let server = Server::start(&am);
    reconciled(&server);
    let mut c = login(&server, "alice", "Other");
    assert!(
        c.answer("d", "STORE 1 +FLAGS (\\Deleted)")
            .starts_with("d OK")
    );
    assert!(c.answer("e", "EXPUNGE").starts_with("e OK"));
    assert!(found(&mut c, "BODY quetzalpdf").is_empty());
    // The document goes with the next batch of index changes, within a
    // second; the search above was right already.
    index_in_step(&am);
}

/// APPENDed messages are found at once (the search reads what the index
/// does not cover yet) and their documents are written soon after.
#[test]
fn appended_messages_are_found_at_once_and_indexed_soon() {
    let am = archive();
    am.ok(&["grant", "alice", "alice", "read,write"]);
    let server = Server::start(&am);
    reconciled(&server);
    let mut c = login(&server, "alice", "Other");
    for i in 0..20 {
        let message = note(
            &format!("appended{i}"),
            &format!("kingfisher{i} appendedword"),
        );
        c.send(&format!("a{i} APPEND Other {{{}}}\r\n", message.len()));
        assert!(c.line().starts_with('+'));
        c.send(&format!("{message}\r\n"));
        let answer = c.until(&format!("a{i}"));
        assert!(
            answer.last().unwrap().starts_with(&format!("a{i} OK")),
            "{answer:?}"
        );
    }
    c.answer("n", "NOOP");
    assert_eq!(found(&mut c, "BODY appendedword").len(), 20);
    assert_eq!(found(&mut c, "BODY kingfisher7"), ["appended7"]);
    index_in_step(&am);
    assert_eq!(found(&mut c, "BODY kingfisher7"), ["appended7"]);
}

/// Runs `import` and kills it once some of its batches are in the catalog,
/// before the index's commit.
fn kill_midway(am: &Archimap, import: &[&str]) {
    let mut child = am
        .command()
        .args(import)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while am.message_count() == 0 {
        assert!(start.elapsed() < Duration::from_secs(60) && child.try_wait().unwrap().is_none());
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// What a killed import left out of the index is indexed without a server
/// restart: by the import's re-run (which skips those messages as filed
/// already), and by a server that runs meanwhile.
#[test]
fn an_import_killed_midway_is_indexed_completely_without_a_restart() {
    let corpus = common::generated_corpus(2000, 40, 1, &[]);
    for with_server in [false, true] {
        let am = Archimap::new();
        am.add_user("alice"); // the data directory exists before two processes open it
        let config = am.dir.path().join("small-batches.toml");
        std::fs::write(&config, "[import]\nbatch_messages = 200\n").unwrap();
        let import = [
            "--config",
            config.to_str().unwrap(),
            "import",
            "--bulk",
            corpus.to_str().unwrap(),
            "--create-users",
        ];
        let server = with_server.then(|| Server::start(&am));
        kill_midway(&am, &import);
        if server.is_some() {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let out = am.ok(&["index", "verify"]);
                if in_step(&out) {
                    break;
                }
                assert!(Instant::now() < deadline, "{out}");
                std::thread::sleep(Duration::from_millis(200));
            }
        } else {
            let out = am.ok(&["index", "verify"]);
            assert!(!out.contains(": 0 messages pending"), "{out}");
            am.ok(&import);
            let out = am.ok(&["index", "verify"]);
            assert!(in_step(&out), "{out}");
        }
    }
}

/// The UIDs `UID SEARCH CHARSET UTF-8 key {needle}` finds.
fn uids(c: &mut Client, key: &str, needle: &str) -> Vec<u32> {
    c.send(&format!(
        "u UID SEARCH CHARSET UTF-8 {key} {{{}}}\r\n",
        needle.len()
    ));
    assert!(c.line().starts_with('+'));
    c.send(&format!("{needle}\r\n"));
    let lines = c.until("u");
    assert!(lines.last().unwrap().starts_with("u OK"), "{lines:?}");
    numbers(&lines, "* SEARCH")
}

/// Substrings inside words, across words, of one or two characters, in
/// every case and script, and the raw base64 of encoded Subjects
/// ("Transferencia Interbancaria", "MySurvey") which is not their text.
const EDGE_QUERIES: &[(&str, &str)] = &[
    ("BODY", "following"),
    ("BODY", "ollowin"),
    ("BODY", "LLOW"),
    ("BODY", "llow"),
    ("BODY", "mail"),
    ("BODY", "e"),
    ("BODY", "é"),
    ("BODY", "ow"),
    ("BODY", "http://"),
    ("BODY", "= "),
    ("BODY", "ing, "),
    ("BODY", "の"),
    ("BODY", "привет"),
    ("BODY", "Grüße"),
    ("TEXT", "ollowin"),
    ("TEXT", "x-mailer: "),
    ("TEXT", "VHJhbnNm"),
    ("TEXT", "nterbanc"),
    ("TEXT", "rt; boundary"),
    ("SUBJECT", "VHJhbnNm"),
    ("SUBJECT", "nterbanc"),
    ("SUBJECT", "XlTdX"),
    ("SUBJECT", "MYSURV"),
    ("SUBJECT", "re"),
    ("SUBJECT", "?"),
    ("FROM", "=?"),
    ("FROM", "example"),
    ("FROM", "ü"),
    ("TO", "@"),
    ("HEADER Message-ID", "<"),
    ("HEADER Content-Type", "harset"),
];

/// The answers to [`EDGE_QUERIES`] in folder Edge.
fn edge_answers(server: &Server) -> Vec<Vec<u32>> {
    let mut c = login(server, "alice", "Edge");
    EDGE_QUERIES
        .iter()
        .map(|(key, needle)| uids(&mut c, key, needle))
        .collect()
}

/// Every search of the edge corpus is answered alike from the index and by
/// reading each message (as for messages the index does not cover yet), and
/// is RFC 3501's substring search of the decoded text.
#[test]
fn index_and_scan_answer_substrings_alike_on_the_edge_corpus() {
    let am = Archimap::new();
    am.add_user("alice");
    let edge = am.dir.path().join("edge");
    common::distinct_flat(&common::edge_eml(), &edge);
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Edge",
        edge.to_str().unwrap(),
    ]);
    assert!(in_step(&am.ok(&["index", "verify"])));
    let by_index = edge_answers(&Server::start(&am));

    // An empty index that this process holds the writer of: the server
    // cannot fill it, and reads every message a search looks at.
    std::fs::remove_dir_all(index_dir(&am)).unwrap();
    let index = archimap::index::StoreIndex::open(&index_dir(&am)).unwrap();
    let _held = index.try_writer(16 << 20).unwrap().unwrap();
    let server = Server::start(&am);
    let start = Instant::now();
    while !server.logged("full-text index busy") {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no reconciliation attempt"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let by_scan = edge_answers(&server);

    for (((key, needle), index), scan) in EDGE_QUERIES.iter().zip(&by_index).zip(&by_scan) {
        assert_eq!(index, scan, "{key} {needle:?}: index, then scan");
    }
    let answer = |key: &str, needle: &str| {
        let i = EDGE_QUERIES
            .iter()
            .position(|q| *q == (key, needle))
            .unwrap();
        by_index[i].clone()
    };
    let inside = answer("BODY", "ollowin");
    assert!(!answer("BODY", "following").is_empty());
    assert!(
        answer("BODY", "following")
            .iter()
            .all(|u| inside.contains(u))
    );
    assert_eq!(answer("BODY", "LLOW"), answer("BODY", "llow"));
    assert!(answer("SUBJECT", "VHJhbnNm").is_empty() && answer("TEXT", "VHJhbnNm").is_empty());
    assert!(answer("SUBJECT", "XlTdX").is_empty());
    assert_eq!(answer("SUBJECT", "nterbanc").len(), 1);
    assert!(!answer("SUBJECT", "MYSURV").is_empty());
}
