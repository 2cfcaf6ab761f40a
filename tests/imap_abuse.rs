//! Hostile clients can neither crash the server, nor grow its memory
//! without bound, nor slow down other sessions.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use common::Archimap;
use common::imap::Server;

#[test]
fn abusive_clients_do_not_hurt_others() {
    let am = Archimap::new();
    am.ok(&["user", "add", "alice", "--password", "wonderland"]);
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Inbox",
        common::edge_eml().join("cpython").to_str().unwrap(),
    ]);
    let server = Server::start(&am);
    // Warm up (and cache the password check) before measuring memory.
    let mut warm = server.connect_tls();
    warm.line();
    warm.answer("w", "LOGIN alice wonderland");
    let baseline = server.rss_kib();

    // 10,000 commands, none of whose answers are read.
    let mut flood = server.raw_tls();
    let flooder = std::thread::spawn(move || {
        let mut batch = String::new();
        for i in 0..10_000 {
            batch.push_str(&format!("f{i} NOOP\r\n"));
        }
        flood.write_all(batch.as_bytes()).unwrap();
        flood.flush().unwrap();
        flood
    });
    // A 2 GB literal announced with LITERAL+ (no invitation awaited), then
    // a disconnect in the middle of it (the server may have closed the
    // connection already, failing the write: it does not read a literal
    // over the limit).
    let mut vanishing = server.raw_tls();
    vanishing.write_all(b"v1 LOGIN {2000000000+}\r\n").unwrap();
    let _ = vanishing.write_all(&vec![b'x'; 1 << 20]);
    drop(vanishing);
    // A literal cut off by a disconnect.
    let mut cut = server.raw_tls();
    cut.write_all(b"c1 LOGIN {100}\r\n").unwrap();
    let mut line = String::new();
    BufReader::new(&mut cut).read_line(&mut line).unwrap();
    assert!(
        line.contains("+ Ready") || line.starts_with("* OK"),
        "{line}"
    );
    cut.write_all(&[b'y'; 50]).unwrap();
    drop(cut);
    // An endless line: 8 MB without a line break.
    let mut endless = server.raw_tls();
    let endless_writer = std::thread::spawn(move || {
        for _ in 0..128 {
            if endless.write_all(&[b'z'; 64 * 1024]).is_err() {
                break;
            }
        }
        endless
    });
    // Garbage bytes.
    let mut garbage = server.connect_tls();
    garbage.line();
    garbage.send("\u{0}\u{7f}\u{1b}[31m(((((\r\n");
    assert!(garbage.line().contains("BAD"));

    // Meanwhile a normal session is served promptly.
    let started = Instant::now();
    let mut c = server.connect_tls();
    c.line();
    assert!(
        c.answer("a1", "LOGIN alice wonderland")
            .starts_with("a1 OK")
    );
    assert!(
        c.command("a2", "SELECT INBOX")
            .contains(&"* 3 EXISTS\r\n".to_string())
    );
    assert!(c.command("a3", "FETCH 1:3 (UID RFC822.SIZE)").len() == 4);
    // Sets as large as IMAP allows cost no more than the messages they name.
    let all = c.command("a4", "UID FETCH 1:4294967295,4294967295:7 (UID)");
    assert_eq!(all.len(), 4, "{all:?}");
    let beyond = c.command("a5", "FETCH 1:4294967295 (UID)");
    assert!(beyond.last().unwrap().starts_with("a5 BAD"), "{beyond:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a normal session took {:?}",
        started.elapsed()
    );

    let endless = endless_writer.join().unwrap();
    drop(endless);
    // The flooder gets every answer once it reads.
    let flood = flooder.join().unwrap();
    let mut reader = BufReader::new(flood);
    let mut answered = 0;
    let mut line = String::new();
    reader.read_line(&mut line).unwrap(); // greeting
    while answered < 10_000 {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.contains(" OK NOOP") {
            answered += 1;
        }
    }
    assert_eq!(answered, 10_000);
    let grown = server.rss_kib().saturating_sub(baseline);
    assert!(grown < 64 * 1024, "the server grew by {grown} KiB");
    // Still alive and well.
    let mut after = server.connect_tls();
    after.line();
    assert!(after.answer("z1", "NOOP").starts_with("z1 OK"));
}

/// alice with one message in her Inbox, which she may change.
fn one_message_archive() -> Archimap {
    let am = Archimap::new();
    am.ok(&["user", "add", "alice", "--password", "wonderland"]);
    let mail = am.dir.path().join("one");
    std::fs::create_dir_all(&mail).unwrap();
    std::fs::write(mail.join("1.eml"), "Subject: one\r\n\r\none\r\n").unwrap();
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Inbox",
        mail.to_str().unwrap(),
    ]);
    am.ok(&["grant", "alice", "alice", "read,write,delete"]);
    am
}

/// A TLS session of alice's, logged in.
fn alice(server: &Server) -> common::imap::Client {
    let mut c = server.connect_tls();
    c.line();
    assert!(c.answer("l", "LOGIN alice wonderland").starts_with("l OK"));
    c
}

/// Sequence and UID sets cost what the folder holds, not what their numbers
/// say: a UID range to 4294967295 on a one-message folder, and sets of
/// 10,000 ranges, in SEARCH, FETCH, STORE, COPY, MOVE and EXPUNGE.
#[test]
fn sets_cost_what_the_folder_holds() {
    let am = one_message_archive();
    let server = Server::start(&am);
    let mut c = alice(&server);
    c.command("s", "SELECT INBOX");
    // 10,000 ranges (1,3,5,...,19999): 54 KB, under the command line
    // limit; and 4,000 ranges of two.
    let singles: Vec<String> = (0..10_000).map(|i| (2 * i + 1).to_string()).collect();
    let many = singles.join(",");
    let pairs: Vec<String> = (0..4_000)
        .map(|i| format!("{}:{}", 3 * i + 1, 3 * i + 2))
        .collect();
    let pairs = pairs.join(",");
    let commands = [
        (
            "u1",
            "UID SEARCH UID 7:4294967295".to_string(),
            "* SEARCH\r\n",
        ),
        (
            "u2",
            "UID SEARCH UID 1:4294967295".to_string(),
            "* SEARCH 1\r\n",
        ),
        ("u3", "SEARCH 1:4294967295".to_string(), "* SEARCH 1\r\n"),
        (
            "u4",
            "SEARCH NOT UID 4294967295:2".to_string(),
            "* SEARCH 1\r\n",
        ),
        ("u5", format!("UID SEARCH UID {many}"), "* SEARCH 1\r\n"),
        (
            "u6",
            format!("SEARCH OR UID {pairs} 4294967295"),
            "* SEARCH 1\r\n",
        ),
        (
            "u7",
            format!("UID FETCH {many} (UID)"),
            "* 1 FETCH (UID 1)\r\n",
        ),
        (
            "u8",
            format!("UID STORE {pairs} +FLAGS (\\Flagged)"),
            "* 1 FETCH (UID 1 FLAGS (\\Flagged",
        ),
        ("u9", "CREATE Other".to_string(), "u9 OK"),
        ("u10", format!("UID COPY {many} Other"), "u10 OK [COPYUID"),
        ("u11", "SELECT Other".to_string(), "* 1 EXISTS"),
        ("u12", format!("UID MOVE {pairs} INBOX"), "* OK [COPYUID"),
        ("u13", "SELECT INBOX".to_string(), "u13 OK"),
        (
            "u14",
            format!("UID STORE {many} +FLAGS.SILENT (\\Deleted)"),
            "u14 OK",
        ),
        ("u15", format!("UID EXPUNGE {many}"), "* 1 EXPUNGE"),
        ("u16", "EXPUNGE".to_string(), "u16 OK"),
    ];
    for (tag, command, expected) in commands {
        let started = Instant::now();
        let answer = c.command(tag, &command);
        let took = started.elapsed();
        assert!(
            answer.iter().any(|l| l.starts_with(expected)),
            "{tag}: {answer:?}"
        );
        assert!(
            answer.last().unwrap().starts_with(&format!("{tag} OK")),
            "{tag}: {answer:?}"
        );
        assert!(took < Duration::from_secs(2), "{tag} took {took:?}");
    }
}

/// A non-synchronising literal over the configured limit (RFC 7888 4): the
/// server answers `BAD [TOOBIG]` at once, without waiting for the literal,
/// and closes the connection; other sessions go on.
#[test]
fn an_oversized_nonsynchronising_literal_is_refused_and_closes() {
    let am = one_message_archive();
    let server = Server::start_with_config(&am, "[limits]\nmax_literal_size = 4096\n");
    let mut c = BufReader::new(server.raw_tls());
    let mut line = String::new();
    let mut exchange = |c: &mut BufReader<_>, send: &str, tag: &str| -> Vec<String> {
        let stream: &mut rustls::StreamOwned<_, _> = c.get_mut();
        stream.write_all(send.as_bytes()).unwrap();
        stream.flush().unwrap();
        let mut lines = Vec::new();
        loop {
            line.clear();
            c.read_line(&mut line).unwrap();
            lines.push(line.clone());
            if line.is_empty() || line.starts_with(tag) {
                return lines;
            }
        }
    };
    exchange(&mut c, "", "* OK");
    let login = exchange(&mut c, "l LOGIN alice wonderland\r\n", "l ");
    assert!(login.last().unwrap().starts_with("l OK"), "{login:?}");
    let capability = exchange(&mut c, "c CAPABILITY\r\n", "c ");
    assert!(capability[0].contains(" LITERAL+"), "{capability:?}");
    // Within the limit, the literal is taken without an invitation.
    let appended = exchange(
        &mut c,
        "a1 APPEND INBOX {21+}\r\nSubject: A 0\r\n\r\nA 0\r\n\r\n",
        "a1 ",
    );
    assert!(
        appended.last().unwrap().starts_with("a1 OK"),
        "{appended:?}"
    );
    // Over it: answered before a byte of the literal is sent.
    let refused = exchange(&mut c, "a2 APPEND INBOX {10000+}\r\n", "a2 ");
    assert!(
        refused.last().unwrap().starts_with("a2 BAD [TOOBIG]"),
        "{refused:?}"
    );
    let mut rest = String::new();
    let bye = c.read_line(&mut rest).map(|_| rest.clone());
    assert!(bye.is_ok_and(|l| l.starts_with("* BYE")));
    rest.clear();
    let closed = c.read_line(&mut rest);
    assert!(matches!(closed, Ok(0) | Err(_)), "{rest:?}");
    let mut other = server.connect_tls();
    other.line();
    assert!(
        other
            .answer("o", "LOGIN alice wonderland")
            .starts_with("o OK")
    );
}

/// A command refused after its literal was read is skipped whole: the
/// literal's lines (here a message whose text holds IMAP commands) never
/// run as commands. The literal is refused for a NUL byte, which RFC 3501
/// forbids in a literal (literal8 allows it), and the answer says so.
#[test]
fn a_refused_literal_is_never_read_as_commands() {
    let am = one_message_archive();
    let server = Server::start(&am);
    let mut c = alice(&server);
    let message = b"Subject: trap\r\n\r\nx DELETE INBOX\r\ny EXPUNGE\r\nnul \x00 here\r\n";
    // Sent as it is invited, and with LITERAL+ in the same write as the
    // command (which imap-codec reads through without stopping).
    for (tag, plus) in [("a", ""), ("a2", "+")] {
        c.send(&format!(
            "{tag} APPEND INBOX {{{}{plus}}}\r\n",
            message.len()
        ));
        if plus.is_empty() {
            assert!(c.line().starts_with("+ "));
        }
        c.send_bytes(message);
        c.send("\r\n");
        let refused = c.line();
        assert!(
            refused.starts_with(&format!("{tag} BAD [CLIENTBUG] A literal holds a NUL byte")),
            "{refused}"
        );
        // The next line read is the answer to the next command: nothing of
        // the literal ran.
        assert!(c.answer("n", "NOOP").starts_with("n OK"));
        let status = c.command("s", "STATUS INBOX (MESSAGES)");
        assert_eq!(status[0], "* STATUS \"INBOX\" (MESSAGES 1)\r\n");
    }
    // As literal8 (RFC 3516) the same message is archived.
    c.send(&format!("b APPEND INBOX ~{{{}}}\r\n", message.len()));
    assert!(c.line().starts_with("+ "));
    c.send_bytes(message);
    c.send("\r\n");
    assert!(c.until("b").last().unwrap().starts_with("b OK [APPENDUID"));
}

/// MULTIAPPEND (RFC 3502) is all or nothing, and a client cannot make one
/// cost more than one command may: the literal limit holds for all its
/// messages together, the line limit for all its lines, and input that is
/// not a further message ends it with BAD, nothing filed, the session alive.
#[test]
fn a_multiappend_is_all_or_nothing_and_bounded() {
    let am = one_message_archive();
    let server = Server::start_with_config(
        &am,
        "[limits]\nmax_literal_size = 4096\nmax_command_line = 2048\n",
    );
    let mut c = alice(&server);
    // Sends a whole APPEND; its tagged answer.
    let append = |c: &mut common::imap::Client, tag: &str, input: &str| {
        c.send(input);
        c.until(tag).last().unwrap().clone()
    };
    let four = "* STATUS \"INBOX\" (MESSAGES 4)\r\n";
    let messages =
        |c: &mut common::imap::Client| c.command("s", "STATUS INBOX (MESSAGES)")[0].clone();

    // Three messages in one command: one commit, one APPENDUID set.
    let done = append(
        &mut c,
        "a",
        "a APPEND INBOX {9+}\r\nSubject:a (\\Seen) {9+}\r\nSubject:b {9+}\r\nSubject:c\r\n",
    );
    assert!(
        done.starts_with("a OK [APPENDUID ") && done.contains(" 2:4]"),
        "{done}"
    );
    assert_eq!(messages(&mut c), four);

    // Refused, and nothing of the command filed: an empty last message;
    // input that is not a further message after the first; a folder that
    // does not exist (TRYCREATE, once all was read).
    for (tag, input, answer) in [
        (
            "b",
            "b APPEND INBOX {9+}\r\nSubject:d {0+}\r\n\r\n",
            "b NO [CANNOT]",
        ),
        (
            "c",
            "c APPEND INBOX {9+}\r\nSubject:e NOT-A-MESSAGE\r\n",
            "c BAD",
        ),
        (
            "d",
            "d APPEND Nowhere {9+}\r\nSubject:f {9+}\r\nSubject:g\r\n",
            "d NO [TRYCREATE]",
        ),
    ] {
        let refused = append(&mut c, tag, input);
        assert!(refused.starts_with(answer), "{refused}");
        assert_eq!(messages(&mut c), four);
    }

    // Messages that each fit the literal limit but not together: refused
    // when the literal that passes it is announced, nothing filed.
    let big = "x".repeat(1500);
    c.send("e APPEND INBOX {1500}\r\n");
    assert!(c.line().starts_with("+ "));
    c.send(&format!("{big} {{1500}}\r\n"));
    assert!(c.line().starts_with("+ "));
    c.send(&format!("{big} {{1500}}\r\n"));
    let over = c.line();
    assert!(
        over.starts_with("e BAD [LIMIT] The literal is too long"),
        "{over}"
    );
    assert_eq!(messages(&mut c), four);

    // Thousands of tiny messages: the line limit holds for them all (the
    // command is read to its end and refused; not one is filed).
    let mut flood = String::from("f APPEND INBOX {1+}\r\nx");
    for _ in 0..5000 {
        flood.push_str(" (\\Seen) {1+}\r\nx");
    }
    flood.push_str("\r\n");
    c.send(&flood);
    let flooded = c.until("f");
    assert!(
        flooded
            .last()
            .unwrap()
            .starts_with("f BAD [LIMIT] The command line is too long"),
        "{flooded:?}"
    );
    assert!(c.answer("n", "NOOP").starts_with("n OK"));
    assert_eq!(messages(&mut c), four);
}

/// Literals sent with LITERAL+ in the same write as their command are
/// literals all the same: a message longer than the line limit is filed
/// (one refused is skipped whole: `a_refused_literal_is_never_read_as_commands`).
#[test]
fn literals_that_come_with_their_command_are_still_literals() {
    let am = one_message_archive();
    let server = Server::start_with_config(&am, "[limits]\nmax_command_line = 2048\n");
    let mut c = alice(&server);
    let long = format!(
        "Subject: long\r\n\r\n{}\r\n",
        "a line of text\r\n".repeat(6000)
    );
    c.send(&format!("a APPEND INBOX {{{}+}}\r\n{long}\r\n", long.len()));
    let filed = c.until("a");
    assert!(
        filed.last().unwrap().starts_with("a OK [APPENDUID"),
        "{filed:?}"
    );
}

/// CATENATE's URL parts name only what the user may read, and what they
/// name together stays within the message size limit: a URL into an
/// archive the user has no right to is BADURL (as one naming nothing),
/// and a message joined past the limit is TOOBIG; nothing is appended.
#[test]
fn catenate_reads_only_what_the_user_may_and_stays_bounded() {
    let am = one_message_archive();
    am.ok(&["user", "add", "bob", "--password", "builder"]);
    let mail = am.dir.path().join("bobs");
    std::fs::create_dir_all(&mail).unwrap();
    std::fs::write(
        mail.join("1.eml"),
        "Subject: secret\r\n\r\nbob's secret\r\n",
    )
    .unwrap();
    am.import(&["--user", "bob", "--folder", "Inbox", mail.to_str().unwrap()]);
    let server = Server::start_with_config(&am, "[limits]\nmax_message_size = 100\n");
    let mut c = alice(&server);
    let select = c.command("s", "SELECT INBOX");
    let validity = select
        .iter()
        .find_map(|l| l.split("[UIDVALIDITY ").nth(1))
        .and_then(|v| v.split(']').next())
        .unwrap()
        .to_string();
    let count = |c: &mut common::imap::Client| c.command("n", "STATUS INBOX (MESSAGES)")[0].clone();
    let before = count(&mut c);

    // Her own message, twice: 2 x 21 bytes.
    let own = format!("URL \"/INBOX;UIDVALIDITY={validity}/;UID=1\"");
    let done = c.command("a", &format!("APPEND INBOX CATENATE ({own} {own})"));
    assert!(
        done.last().unwrap().starts_with("a OK [APPENDUID"),
        "{done:?}"
    );
    // Five times is more than 100 bytes.
    let many = [own.as_str(); 5].join(" ");
    let big = c.command("b", &format!("APPEND INBOX CATENATE ({many})"));
    assert!(big.last().unwrap().starts_with("b NO [TOOBIG]"), "{big:?}");
    // Bob's Inbox: not hers to read, by any name.
    for url in [
        "/Other Users/bob/Inbox/;UID=1",
        "/bob/;UID=1",
        "imap://bob@localhost/Inbox/;UID=1",
    ] {
        let refused = c.command("c", &format!("APPEND INBOX CATENATE (URL \"{url}\")"));
        assert!(
            refused.last().unwrap().starts_with("c NO [BADURL "),
            "{url}: {refused:?}"
        );
    }
    let after = count(&mut c);
    assert_ne!(before, after);
    assert_eq!(after, before.replace("MESSAGES 1", "MESSAGES 2"));
}

/// Searches kept up to date (CONTEXT=SEARCH) are searched again at every
/// change of the mailbox: a session may keep five; the sixth is answered
/// but not kept (`NOUPDATE`), and a CANCELUPDATE makes room again.
#[test]
fn searches_kept_up_to_date_are_bounded() {
    let am = one_message_archive();
    let server = Server::start(&am);
    let mut c = alice(&server);
    c.command("s", "SELECT INBOX");
    for i in 1..=5 {
        let kept = c.command(&format!("t{i}"), "SEARCH RETURN (UPDATE) ALL");
        assert!(!kept.iter().any(|l| l.contains("NOUPDATE")), "{kept:?}");
    }
    let sixth = c.command("t6", "SEARCH RETURN (UPDATE) ALL");
    assert!(
        sixth
            .iter()
            .any(|l| l.starts_with("* NO [NOUPDATE \"t6\"]")),
        "{sixth:?}"
    );
    assert!(sixth.last().unwrap().starts_with("t6 OK"), "{sixth:?}");
    assert!(
        c.answer("c", "CANCELUPDATE \"t1\" \"nothing\"")
            .starts_with("c OK")
    );
    let again = c.command("t7", "SEARCH RETURN (UPDATE) ALL");
    assert!(!again.iter().any(|l| l.contains("NOUPDATE")), "{again:?}");
    // A STORE tells the five that the flags changed nothing for them.
    let store = c.command("f", "STORE 1 +FLAGS (\\Flagged)");
    assert!(!store.iter().any(|l| l.contains("ESEARCH")), "{store:?}");
}
