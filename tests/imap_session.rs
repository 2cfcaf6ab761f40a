//! The IMAP server's session rules over real sockets: TLS only, STARTTLS,
//! LOGIN and AUTHENTICATE, throttling, bad input, shutdown.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::Archimap;
use common::imap::Server;

fn archive() -> Archimap {
    let am = Archimap::new();
    am.ok(&[
        "user",
        "add",
        "alice",
        "--password",
        "wonderland",
        "--email",
        "Alice@Example.com",
    ]);
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
    assert!(server.logged("login succeeded"));
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
    assert!(server.logged("lacks the login privilege"));
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
