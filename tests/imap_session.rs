//! The IMAP server's session rules over real sockets: TLS only, STARTTLS,
//! LOGIN and AUTHENTICATE, throttling, bad input, shutdown.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::Archimap;
use common::imap::Server;

fn archive() -> Archimap {
    let am = Archimap::with_alice();
    am.ok(&[
        "user",
        "add",
        "nologin",
        "--password",
        "secret",
        "--privileges",
        "changePassword",
    ]);
    am
}

#[test]
fn implicit_tls_login_and_logout() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = server.connect_tls();
    let greeting = c.line();
    assert!(
        greeting.starts_with("* OK [CAPABILITY IMAP4rev1 "),
        "{greeting}"
    );
    assert!(
        greeting.contains("AUTH=PLAIN")
            && !greeting.contains("STARTTLS")
            && !greeting.contains("LOGINDISABLED")
    );
    let caps = c.command("a1", "CAPABILITY");
    assert!(
        caps[0].starts_with("* CAPABILITY IMAP4rev1") && caps[1].starts_with("a1 OK"),
        "{caps:?}"
    );
    // The user name or any e-mail address, case-insensitively.
    assert!(
        c.answer("a2", "LOGIN ALICE@example.COM wonderland")
            .starts_with("a2 OK [CAPABILITY IMAP4rev1")
    );
    assert!(
        c.answer("a3", "LOGIN alice wonderland")
            .starts_with("a3 BAD"),
        "already logged in"
    );
    let id = c.command("a4", "ID NIL");
    assert!(id[0].starts_with("* ID (\"name\" \"archimap\""), "{id:?}");
    let bye = c.command("a5", "LOGOUT");
    assert!(
        bye[0].starts_with("* BYE") && bye[1].starts_with("a5 OK"),
        "{bye:?}"
    );
    assert!(server.logs("login succeeded"));
}

#[test]
fn starttls_port_refuses_plaintext_logins_and_drops_injected_commands() {
    let am = archive();
    let server = Server::start(&am);
    let tcp = TcpStream::connect(server.starttls).unwrap();
    let mut c = server.connect_plain_from(tcp.try_clone().unwrap());
    let greeting = c.line();
    assert!(
        greeting.contains("STARTTLS") && greeting.contains("LOGINDISABLED"),
        "{greeting}"
    );
    assert!(
        c.answer("p1", "LOGIN alice wonderland")
            .starts_with("p1 NO [PRIVACYREQUIRED]")
    );
    assert!(
        c.answer("p2", "AUTHENTICATE PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=")
            .starts_with("p2 NO [PRIVACYREQUIRED]")
    );
    assert!(c.answer("p3", "SELECT INBOX").starts_with("p3 BAD"));
    assert!(c.answer("p4", "NOOP").starts_with("p4 OK"));
    // The password never reached the authentication code.
    assert!(!server.logged("login failed") && !server.logged("login succeeded"));

    // A command sent in the same packet as STARTTLS must not run after the handshake.
    c.send("p5 STARTTLS\r\np6 LOGIN alice wonderland\r\n");
    assert!(c.line().starts_with("p5 OK"));
    let mut c = server.upgrade(c, tcp);
    let caps = c.command("t1", "CAPABILITY");
    assert!(
        caps[0].contains("AUTH=PLAIN") && !caps[0].contains("STARTTLS"),
        "{caps:?}"
    );
    assert!(!server.logged("login succeeded"), "the injected LOGIN ran");
    assert!(
        c.answer("t2", "LOGIN alice wonderland")
            .starts_with("t2 OK")
    );
}

#[test]
fn authenticate_plain_with_and_without_initial_response() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = server.connect_tls();
    c.line();
    // "\0alice\0wonderland"
    assert!(
        c.answer("s1", "AUTHENTICATE PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=")
            .starts_with("s1 OK")
    );
    let mut c = server.connect_tls();
    c.line();
    c.send("s2 AUTHENTICATE PLAIN\r\n");
    assert_eq!(c.line(), "+ \r\n");
    c.send("AGFsaWNlAHdvbmRlcmxhbmQ=\r\n");
    assert!(c.line().starts_with("s2 OK"));
    let mut c = server.connect_tls();
    c.line();
    c.send("s3 AUTHENTICATE PLAIN\r\n");
    c.line();
    c.send("*\r\n");
    assert!(c.line().starts_with("s3 BAD"));
    // Acting as someone else: "bob\0alice\0wonderland".
    assert!(
        c.answer("s4", "AUTHENTICATE PLAIN Ym9iAGFsaWNlAHdvbmRlcmxhbmQ=")
            .starts_with("s4 NO")
    );
}

#[test]
fn failed_logins_are_slowed_and_look_alike() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = server.connect_tls();
    c.line();
    let started = Instant::now();
    let wrong = c.answer("f1", "LOGIN alice wrong");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the first failure waits 2 s"
    );
    assert_eq!(
        wrong,
        "f1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"
    );
    // No `login` privilege, unknown user: the same answer.
    assert_eq!(
        c.answer("f2", "LOGIN nologin secret"),
        "f2 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(6),
        "the second failure from this address waits 4 s"
    );
    assert!(server.logs("lacks the login privilege"));
    // The right password still works, and the connection lives on.
    assert!(
        c.answer("f3", "LOGIN alice wonderland")
            .starts_with("f3 OK")
    );
}

#[test]
fn garbage_and_oversized_input_get_tagged_answers() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = server.connect_tls();
    c.line();
    assert!(c.answer("g1", "FROBNICATE now").starts_with("g1 BAD"));
    c.send("\u{1}\u{2}garbage\r\n");
    assert!(c.line().starts_with("* BAD"));
    // A 2 GB literal announcement is refused, not awaited.
    c.send("g2 LOGIN {2000000000}\r\n");
    assert!(c.line().starts_with("g2 BAD [LIMIT]"));
    // An endless line (an unterminated quoted string) is cut off at the limit.
    let long = format!("g3 LOGIN \"{}\" x\r\n", "x".repeat(200_000));
    c.send(&long);
    assert!(c.line().starts_with("g3 BAD [LIMIT]"));
    assert!(
        c.answer("g4", "NOOP").starts_with("g4 OK"),
        "the connection lives on"
    );
}

#[test]
fn sigterm_says_bye_to_clients() {
    let am = archive();
    let mut server = Server::start(&am);
    let mut c = server.connect_tls();
    c.line();
    assert!(
        c.answer("b1", "LOGIN alice wonderland")
            .starts_with("b1 OK")
    );
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(c.line().starts_with("* BYE"));
    let _ = std::io::stdout().flush();
}

/// An archive with folders for alice and bob; alice may read bob's.
fn archive_with_mail() -> Archimap {
    let am = archive();
    am.ok(&["user", "add", "bob", "--password", "builder"]);
    let src = am.dir.path().join("src");
    for (folder, n) in [
        ("Inbox", 3),
        ("Sent Items", 2),
        ("Projects/Acme", 1),
        ("Gelöschte Elemente", 1),
    ] {
        std::fs::create_dir_all(src.join(folder)).unwrap();
        for i in 0..n {
            let body =
                format!("From: x@example.org\nSubject: {folder} {i}\n\nline one\nline two {i}\n");
            std::fs::write(src.join(folder).join(format!("{i}.eml")), body).unwrap();
        }
    }
    am.import(&["--user", "alice", src.to_str().unwrap()]);
    am.import(&[
        "--user",
        "bob",
        "--folder",
        "Inbox",
        src.join("Inbox").to_str().unwrap(),
    ]);
    am.ok(&["grant", "alice", "bob", "read"]);
    am
}

#[test]
fn list_namespace_and_status() {
    let am = archive_with_mail();
    let server = Server::start(&am);
    let mut c = server.connect_tls();
    c.line();
    c.answer("l0", "LOGIN alice wonderland");
    let ns = c.command("l1", "NAMESPACE");
    assert_eq!(
        ns[0],
        "* NAMESPACE ((\"\" \"/\")) ((\"Other Users/\" \"/\")) NIL\r\n"
    );
    let list = c.command("l2", "LIST \"\" \"*\"");
    assert_eq!(
        list,
        vec![
            "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n",
            "* LIST (\\HasNoChildren \\Trash) \"/\" \"Gel&APY-schte Elemente\"\r\n",
            "* LIST (\\HasChildren) \"/\" \"Projects\"\r\n",
            "* LIST (\\HasNoChildren) \"/\" \"Projects/Acme\"\r\n",
            "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n",
            // The namespace root is no mailbox: `*` lists what lies below it.
            "* LIST (\\Noselect \\HasChildren) \"/\" \"Other Users/bob\"\r\n",
            "* LIST (\\HasNoChildren) \"/\" \"Other Users/bob/Inbox\"\r\n",
            "l2 OK LIST completed\r\n",
        ]
    );
    assert_eq!(
        c.command("l3", "LIST \"\" \"\"")[0],
        "* LIST (\\Noselect) \"/\" \"\"\r\n"
    );
    assert_eq!(
        c.command("l4", "LIST \"\" \"%\"").len(),
        6,
        "INBOX, Gelöschte Elemente, Projects, Sent Items, Other Users, OK"
    );
    // iOS's LIST-EXTENDED form parses, with the special-use selection.
    let ios = c.command("l5", "LIST (SPECIAL-USE) \"\" \"*\" RETURN (SPECIAL-USE)");
    assert_eq!(ios.len(), 3, "{ios:?}");
    let status = c.command(
        "l6",
        "LIST \"\" \"INBOX\" RETURN (STATUS (MESSAGES UNSEEN UIDNEXT))",
    );
    assert_eq!(
        status[1], "* STATUS \"INBOX\" (MESSAGES 3 UNSEEN 3 UIDNEXT 4)\r\n",
        "{status:?}"
    );
    // No session has seen Sent Items' messages: both are recent.
    let st = c.command(
        "l7",
        "STATUS \"Sent Items\" (MESSAGES RECENT UIDNEXT UNSEEN)",
    );
    assert_eq!(
        st[0],
        "* STATUS \"Sent Items\" (MESSAGES 2 RECENT 2 UIDNEXT 3 UNSEEN 2)\r\n"
    );
    // Every imported folder is subscribed until unsubscribed; the archive's
    // node is no folder.
    assert_eq!(c.command("l8", "LSUB \"\" \"*\"").len(), list.len() - 1);
    assert!(
        c.answer("l9", "UNSUBSCRIBE \"Projects/Acme\"")
            .starts_with("l9 OK")
    );
    assert_eq!(c.command("l10", "LSUB \"\" \"*\"").len(), list.len() - 2);
    let sub = c.command("l11", "LIST (SUBSCRIBED) \"\" \"Projects/*\"");
    assert_eq!(sub, vec!["l11 OK LIST completed\r\n"]);
    assert!(
        c.answer("l12", "SUBSCRIBE \"Projects/Acme\"")
            .starts_with("l12 OK")
    );
    assert!(
        c.answer("l13", "STATUS \"Other Users/carol/Inbox\" (MESSAGES)")
            .starts_with("l13 NO [NONEXISTENT]")
    );
}

/// A message larger than what is read whole is streamed in chunks: the
/// whole message and ranges across chunk boundaries come in their CRLF
/// form, byte for byte.
#[test]
fn large_messages_are_streamed_in_crlf_form() {
    let am = archive();
    let src = am.dir.path().join("big");
    std::fs::create_dir_all(&src).unwrap();
    let lines: String = (0..20_000)
        .map(|i| format!("line {i:06} of a long message body\n"))
        .collect();
    let raw = format!("From: x@example.org\nSubject: big\n\n{lines}");
    std::fs::write(src.join("0.eml"), &raw).unwrap();
    am.import(&["--user", "alice", "--folder", "Big", src.to_str().unwrap()]);
    let served = raw.replace('\n', "\r\n").into_bytes();
    assert!(served.len() > 600_000);
    let server = Server::start(&am);
    let mut c = server.connect_tls();
    c.line();
    c.answer("l", "LOGIN alice wonderland");
    assert!(c.answer("s", "EXAMINE Big").starts_with("s OK"));
    let ranges = [
        (None, 0, served.len()),
        (Some((100_000, 300_000)), 100_000, 400_000),
        (Some((65_530, 20)), 65_530, 65_550),
        (
            Some((served.len() - 7, 100)),
            served.len() - 7,
            served.len(),
        ),
    ];
    for (i, (partial, from, to)) in ranges.into_iter().enumerate() {
        let (asked, named) = match partial {
            Some((start, count)) => (format!("<{start}.{count}>"), format!("<{start}>")),
            None => (String::new(), String::new()),
        };
        c.send(&format!("f{i} FETCH 1 BODY.PEEK[]{asked}\r\n"));
        assert_eq!(
            c.line(),
            format!("* 1 FETCH (BODY[]{named} {{{}}}\r\n", to - from)
        );
        assert!(c.bytes(to - from) == served[from..to], "range {i}");
        assert_eq!(c.line(), ")\r\n");
        assert!(c.line().starts_with(&format!("f{i} OK")));
    }
}

#[test]
fn select_and_fetch_serve_crlf_bytes() {
    let am = archive_with_mail();
    let server = Server::start(&am);
    let mut c = server.connect_tls();
    c.line();
    c.answer("f0", "LOGIN alice wonderland");
    let select = c.command("f1", "SELECT INBOX");
    assert!(select.contains(&"* 3 EXISTS\r\n".to_string()), "{select:?}");
    assert!(select.iter().any(|l| l.starts_with("* OK [UIDVALIDITY ")));
    assert!(select.contains(&"* OK [UIDNEXT 4] Predicted next UID\r\n".to_string()));
    assert!(select.last().unwrap().starts_with("f1 OK [READ-WRITE]"));

    let body = "From: x@example.org\r\nSubject: Inbox 0\r\n\r\nline one\r\nline two 0\r\n";
    // The first SELECT: the messages are new to this user (\\Recent).
    let fast = c.command("f2", "FETCH 1 (UID FLAGS RFC822.SIZE)");
    assert_eq!(
        fast[0],
        format!(
            "* 1 FETCH (UID 1 FLAGS (\\Recent) RFC822.SIZE {})\r\n",
            body.len()
        )
    );
    // BODY.PEEK[] leaves \Seen alone; BODY[] sets it.
    c.send("f3 UID FETCH 1 BODY.PEEK[]\r\n");
    assert_eq!(
        c.line(),
        format!("* 1 FETCH (UID 1 BODY[] {{{}}}\r\n", body.len())
    );
    let mut got = String::new();
    while got.len() < body.len() {
        got.push_str(&c.line());
    }
    assert_eq!(got, body);
    assert_eq!(c.line(), ")\r\n");
    assert!(c.line().starts_with("f3 OK"));
    let partial = c.command("f4", "FETCH 1 BODY[]<6.13>");
    assert_eq!(partial[0], "* 1 FETCH (BODY[]<6> {13}\r\n");
    assert_eq!(
        partial[1],
        "x@example.org)\r\n".replace(")\r\n", "") + " FLAGS (\\Seen \\Recent))\r\n"
    );
    assert!(c.command("f5", "FETCH 1 FLAGS")[0].contains("(\\Seen \\Recent)"));
    assert!(c.answer("f6", "FETCH 9 FLAGS").starts_with("f6 BAD"));
    assert!(c.answer("f7", "UID FETCH 9:* FLAGS").starts_with("f7 OK"));

    // Flags are per user: bob still sees the message unseen in his copy,
    // and new to him (\\Recent is per user too).
    let mut b = server.connect_tls();
    b.line();
    b.answer("b0", "LOGIN bob builder");
    b.command("b1", "EXAMINE INBOX");
    assert_eq!(
        b.command("b2", "FETCH 1 FLAGS")[0],
        "* 1 FETCH (FLAGS (\\Recent))\r\n"
    );
    // EXAMINE is read-only: reading does not set \Seen.
    b.command("b3", "FETCH 1 BODY[]");
    assert_eq!(
        b.command("b4", "FETCH 1 FLAGS")[0],
        "* 1 FETCH (FLAGS (\\Recent))\r\n"
    );

    // Others' archives with `read` open read-write (lrsw: flags are private
    // to each user); invisible ones answer exactly like missing ones.
    assert!(
        c.answer("f8", "SELECT \"Other Users/bob/Inbox\"")
            .starts_with("f8 OK [READ-WRITE]")
    );
    let missing = c.answer("f9", "SELECT \"Other Users/nobody/Inbox\"");
    let mut bob = server.connect_tls();
    bob.line();
    bob.answer("c0", "LOGIN bob builder");
    let hidden = bob.answer("c1", "SELECT \"Other Users/alice/INBOX\"");
    assert_eq!(missing.replace("f9", "x"), hidden.replace("c1", "x"));
    // The failed SELECT left nothing selected.
    assert!(c.answer("f10", "FETCH 1 FLAGS").starts_with("f10 BAD"));
    c.command("f11", "EXAMINE INBOX");
    assert!(c.answer("f12", "CLOSE").starts_with("f12 OK"));
    assert!(c.answer("f13", "CLOSE").starts_with("f13 BAD"));
}

#[test]
fn store_idle_enable_and_rights() {
    let am = archive_with_mail();
    am.ok(&["grant", "alice", "alice", "read,write"]);
    let server = Server::start(&am);
    let mut c = server.connect_tls();
    c.line();
    c.answer("r0", "LOGIN alice wonderland");
    assert_eq!(
        c.command("r1", "MYRIGHTS INBOX")[0],
        "* MYRIGHTS \"INBOX\" lrswikx\r\n"
    );
    assert_eq!(
        c.command("r2", "MYRIGHTS \"Other Users/bob/Inbox\"")[0],
        "* MYRIGHTS \"Other Users/bob/Inbox\" lrsw\r\n"
    );
    assert_eq!(
        c.command("r3", "GETACL INBOX")[0],
        "* ACL \"INBOX\" \"alice\" lrswikx\r\n"
    );
    assert_eq!(
        c.command("r4", "LISTRIGHTS INBOX bob")[0],
        "* LISTRIGHTS \"INBOX\" \"bob\" \"\" lrsw ikx te\r\n"
    );
    assert!(
        c.answer("r5", "MYRIGHTS \"Other Users/nobody\"")
            .starts_with("r5 NO [NONEXISTENT]")
    );
    // ENABLE lists only what it turned on (CONDSTORE: tests/condstore.rs).
    assert_eq!(c.command("r6", "ENABLE X-UNKNOWN")[0], "* ENABLED\r\n");

    // Another session of alice selects first and takes the messages'
    // \\Recent: what follows is about the flags a user stores.
    let mut first = server.connect_tls();
    first.line();
    first.answer("p0", "LOGIN alice wonderland");
    first.command("p1", "SELECT INBOX");
    c.command("s0", "SELECT INBOX");
    let stored = c.command("s1", "STORE 1:2 +FLAGS (\\Flagged \\Seen)");
    assert_eq!(stored[0], "* 1 FETCH (FLAGS (\\Flagged \\Seen))\r\n");
    assert_eq!(stored[1], "* 2 FETCH (FLAGS (\\Flagged \\Seen))\r\n");
    // \Deleted needs the `t` right (delete privilege): refused when it is
    // all a STORE asks for, left out when other flags may change (RFC 4314).
    assert!(
        c.answer("s2", "UID STORE 1 +FLAGS (\\Deleted)")
            .starts_with("s2 NO [NOPERM]")
    );
    assert_eq!(
        c.command("s2b", "UID STORE 3 +FLAGS (\\Deleted \\Draft)")[0],
        "* 3 FETCH (UID 3 FLAGS (\\Draft))\r\n"
    );
    assert_eq!(
        c.command("s3", "STORE 2 -FLAGS.SILENT (\\Flagged)"),
        vec!["s3 OK STORE completed\r\n"]
    );
    assert_eq!(
        c.command("s4", "FETCH 1:3 FLAGS")[1],
        "* 2 FETCH (FLAGS (\\Seen))\r\n"
    );
    // Keywords, as Thunderbird sets them ($Forwarded, Junk, $label1);
    // new ones are announced first (RFC 3501 7.2.6).
    let stored = c.command("s5", "STORE 1 +FLAGS ($Forwarded Junk)");
    assert_eq!(
        stored,
        [
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded Junk)\r\n",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Seen \\Draft \\*)] Flags are kept per user\r\n",
            "* 1 FETCH (FLAGS (\\Flagged \\Seen $Forwarded Junk))\r\n",
            "s5 OK STORE completed\r\n",
        ]
    );
    let stored = c.command("s5a", "STORE 1 -FLAGS (junk)");
    assert_eq!(
        stored[0],
        "* 1 FETCH (FLAGS (\\Flagged \\Seen $Forwarded))\r\n"
    );
    assert_eq!(
        c.command("s5b", "SEARCH KEYWORD $forwarded")[0],
        "* SEARCH 1\r\n"
    );
    assert_eq!(
        c.command("s5c", "SEARCH UNKEYWORD $Forwarded")[0],
        "* SEARCH 2 3\r\n"
    );
    assert!(
        c.answer("s5d", "STORE 1 +FLAGS (\\Recent)")
            .starts_with("s5d BAD")
    );
    // Flags persist across sessions.
    let mut again = server.connect_tls();
    again.line();
    again.answer("a0", "LOGIN alice wonderland");
    let examined = again.command("a1", "EXAMINE INBOX");
    assert_eq!(
        examined[0],
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)\r\n"
    );
    assert_eq!(
        again.command("a2", "FETCH 1 FLAGS")[0],
        "* 1 FETCH (FLAGS (\\Flagged \\Seen $Forwarded))\r\n"
    );
    assert!(
        again
            .answer("a3", "STORE 1 +FLAGS (\\Answered)")
            .starts_with("a3 NO [READ-ONLY]")
    );

    c.send("i1 IDLE\r\n");
    assert_eq!(c.line(), "+ idling\r\n");
    c.send("DONE\r\n");
    assert!(c.line().starts_with("i1 OK"));
}

#[test]
fn a_password_change_ends_the_remembered_login() {
    let am = archive();
    let server = Server::start(&am);
    for round in 0..2 {
        let mut c = server.connect_tls();
        c.line();
        assert!(
            c.answer("m1", "LOGIN alice wonderland")
                .starts_with("m1 OK"),
            "round {round}"
        );
    }
    am.ok(&["user", "passwd", "alice", "--password", "looking-glass"]);
    let mut c = server.connect_tls();
    c.line();
    assert!(
        c.answer("m2", "LOGIN alice wonderland")
            .starts_with("m2 NO [AUTHENTICATIONFAILED]")
    );
    assert!(
        c.answer("m3", "LOGIN alice looking-glass")
            .starts_with("m3 OK")
    );
    // Losing the login privilege takes effect at once too.
    am.ok(&["user", "set-privileges", "alice", "changePassword"]);
    let mut c = server.connect_tls();
    c.line();
    assert!(
        c.answer("m4", "LOGIN alice looking-glass")
            .starts_with("m4 NO [AUTHENTICATIONFAILED]")
    );
}

#[test]
fn connection_limits_and_idle_timeout() {
    let am = archive();
    let server = Server::start_with_config(
        &am,
        "[limits]\nmax_connections_per_ip = 2\nidle_timeout_unauthenticated_secs = 1\n",
    );
    let mut first = server.connect_tls();
    let mut second = server.connect_tls();
    assert!(first.line().starts_with("* OK") && second.line().starts_with("* OK"));
    // A third is turned away before the TLS handshake: closed, or told so
    // in plain text on the STARTTLS port.
    let mut third = TcpStream::connect(server.imaps).unwrap();
    let mut byte = [0u8; 1];
    assert!(matches!(third.read(&mut byte), Ok(0) | Err(_)));
    let mut third = server.connect_plain_from(TcpStream::connect(server.starttls).unwrap());
    assert_eq!(
        third.line(),
        "* BYE [LIMIT] Too many connections, try again later\r\n"
    );
    // An unauthenticated client is let go after its time, freeing its place.
    assert_eq!(first.line(), "* BYE Not logged in in time, closing\r\n");
    second.line();
    let mut fourth = server.connect_tls();
    assert!(fourth.line().starts_with("* OK"));
}

#[test]
fn search_every_kind_of_key() {
    let am = archive_with_mail();
    let server = Server::start(&am);
    let mut c = server.connect_tls();
    c.line();
    c.answer("q0", "LOGIN alice wonderland");
    c.command("q1", "SELECT INBOX");
    let search =
        |c: &mut common::imap::Client, query: &str| -> String { c.command("q", query)[0].clone() };
    assert_eq!(search(&mut c, "SEARCH ALL"), "* SEARCH 1 2 3\r\n");
    assert_eq!(
        search(&mut c, "SEARCH SUBJECT \"inbox 1\""),
        "* SEARCH 2\r\n"
    );
    assert_eq!(search(&mut c, "SEARCH BODY \"TWO 2\""), "* SEARCH 3\r\n");
    assert_eq!(
        search(&mut c, "SEARCH TEXT \"x@EXAMPLE\""),
        "* SEARCH 1 2 3\r\n"
    );
    assert_eq!(search(&mut c, "SEARCH FROM nobody"), "* SEARCH\r\n");
    assert_eq!(
        search(&mut c, "SEARCH HEADER Subject \"\""),
        "* SEARCH 1 2 3\r\n"
    );
    assert_eq!(
        search(&mut c, "SEARCH OR SUBJECT \"inbox 0\" NOT BODY \"one\""),
        "* SEARCH 1\r\n"
    );
    assert_eq!(search(&mut c, "SEARCH 2:* LARGER 10"), "* SEARCH 2 3\r\n");
    assert_eq!(search(&mut c, "SEARCH SMALLER 10"), "* SEARCH\r\n");
    assert_eq!(
        search(&mut c, "UID SEARCH UID 2:3 UNSEEN"),
        "* SEARCH 2 3\r\n"
    );
    c.command("q2", "STORE 2 +FLAGS (\\Seen)");
    assert_eq!(search(&mut c, "SEARCH UNSEEN"), "* SEARCH 1 3\r\n");
    // This session selected first: every message is new to it (\\Recent).
    assert_eq!(search(&mut c, "SEARCH SEEN RECENT"), "* SEARCH 2\r\n");
    assert_eq!(search(&mut c, "SEARCH NEW"), "* SEARCH 1 3\r\n");
    assert_eq!(search(&mut c, "SEARCH OLD"), "* SEARCH\r\n");
    assert_eq!(
        search(&mut c, "SEARCH SINCE 1-Jan-2000 BEFORE 1-Jan-2200"),
        "* SEARCH 1 2 3\r\n"
    );
    // CHARSET UTF-8 with a literal, as Exchange-style clients send it.
    c.send("q3 SEARCH CHARSET UTF-8 SUBJECT {7}\r\n");
    assert!(c.line().starts_with("+ "));
    c.send("inbox 2\r\n");
    assert_eq!(c.line(), "* SEARCH 3\r\n");
    assert!(c.line().starts_with("q3 OK"));
    assert!(
        c.answer("q4", "SEARCH CHARSET KOI8-Q ALL")
            .starts_with("q4 NO [BADCHARSET")
    );
}

#[test]
fn mailbox_names_travel_in_modified_utf7() {
    let am = archive();
    let eml = am.dir.path().join("m.eml");
    std::fs::write(&eml, "Subject: s\r\n\r\nbody\r\n").unwrap();
    for folder in ["Tom & Jerry", "Entwürfe/台北"] {
        am.import(&["--user", "alice", "--folder", folder, eml.to_str().unwrap()]);
    }
    let server = Server::start(&am);
    let mut c = server.connect_tls();
    c.line();
    c.answer("u0", "LOGIN alice wonderland");
    assert_eq!(
        c.command("u1", "LIST \"\" \"Tom &- Jerry\"")[0],
        "* LIST (\\HasNoChildren) \"/\" \"Tom &- Jerry\"\r\n"
    );
    assert_eq!(
        c.command("u2", "LIST \"Entw&APw-rfe/\" \"%\"")[0],
        "* LIST (\\HasNoChildren) \"/\" \"Entw&APw-rfe/&U,BTFw-\"\r\n"
    );
    assert!(
        c.command("u3", "SELECT \"Entw&APw-rfe/&U,BTFw-\"")
            .contains(&"* 1 EXISTS\r\n".to_string())
    );
    // Raw UTF-8 or broken modified UTF-7 names match nothing.
    assert!(
        c.answer("u4", "SELECT \"Entw&APw-rfe/&U,B-\"")
            .starts_with("u4 NO [NONEXISTENT]")
    );
    assert_eq!(
        c.command("u5", "LIST \"\" \"Tom & Jerry\""),
        vec!["u5 OK LIST completed\r\n"]
    );
}

/// ENVELOPE alone is answered from the stored header block; with other
/// structure items, from the whole message. Both must be the same.
#[test]
fn envelope_from_stored_headers_matches_the_full_parse() {
    let am = archive();
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Edge",
        common::edge_eml().to_str().unwrap(),
    ]);
    let server = Server::start(&am);
    let mut c = server.connect_tls();
    c.line();
    c.answer("e0", "LOGIN alice wonderland");
    let exists = c.command("e1", "EXAMINE Edge/crafted");
    assert!(exists.iter().any(|l| l.ends_with(" EXISTS\r\n")));
    for folder in [
        "Edge/crafted",
        "Edge/mime4j",
        "Edge/enmime",
        "Edge/flanker",
        "Edge/ruby-mail",
    ] {
        c.command("e2", &format!("EXAMINE \"{folder}\""));
        let alone = c.command("e3", "FETCH 1:* (ENVELOPE)").concat();
        let with_body = c.command("e4", "FETCH 1:* (ENVELOPE BODY)").concat();
        let alone: Vec<&str> = alone.split("* ").filter(|s| s.contains("FETCH")).collect();
        let with_body: Vec<&str> = with_body
            .split("* ")
            .filter(|s| s.contains("FETCH"))
            .collect();
        assert_eq!(alone.len(), with_body.len());
        for (a, b) in alone.iter().zip(&with_body) {
            let envelope = a
                .trim_end_matches("e3 OK FETCH completed\r\n")
                .trim_end_matches(")\r\n");
            assert!(b.starts_with(envelope), "{folder}: {a:?} vs {b:?}");
        }
    }
}
