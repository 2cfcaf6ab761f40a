//! COMPRESS=DEFLATE (RFC 4978) over a real TLS socket: what a compressed
//! session is served equals what a plain one is, large messages (streamed
//! in chunks) included; COMPRESS only once, only after login, never with
//! input already sent behind it; a client that sends broken deflate data
//! loses its own connection only.

mod common;

use common::Archimap;
use common::imap::{Client, Server};

fn login(server: &Server) -> Client {
    let mut c = server.connect_tls();
    c.line();
    assert!(c.answer("l", "LOGIN alice pw-alice").starts_with("l OK"));
    c
}

/// alice's inbox: a short message and one of about 600 KB, beyond what
/// the server reads whole.
fn archive() -> Archimap {
    let am = Archimap::new();
    am.ok(&["user", "add", "alice", "--password", "pw-alice"]);
    am.ok(&["grant", "alice", "alice", "read,write,delete"]);
    let dir = am.dir.path().join("mail");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("1.eml"),
        "From: a@example.com\r\nSubject: short\r\n\r\nhello\r\n",
    )
    .unwrap();
    let mut big = String::from("From: b@example.com\r\nSubject: big\r\n\r\n");
    for n in 0..15_000 {
        big.push_str(&format!(
            "line {n} of a long message, {}\r\n",
            n * 7919 % 104_729
        ));
    }
    std::fs::write(dir.join("2.eml"), big).unwrap();
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Inbox",
        dir.to_str().unwrap(),
    ]);
    am
}

/// The bytes of `BODY[]` of message `n`.
fn body(c: &mut Client, n: u32) -> Vec<u8> {
    c.send(&format!("b{n} FETCH {n} BODY.PEEK[]\r\n"));
    let head = c.line();
    let size: usize = head
        .trim_end()
        .rsplit('{')
        .next()
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or_else(|| panic!("{head}"))
        .parse()
        .unwrap();
    let data = c.bytes(size);
    let rest = c.until(&format!("b{n}"));
    assert!(
        rest.last().unwrap().starts_with(&format!("b{n} OK")),
        "{rest:?}"
    );
    data
}

#[test]
fn a_compressed_session_is_served_what_a_plain_one_is() {
    let am = archive();
    let server = Server::start(&am);
    let mut plain = login(&server);
    plain.command("s", "SELECT INBOX");
    let expected: Vec<Vec<u8>> = (1..=2).map(|n| body(&mut plain, n)).collect();
    assert!(expected[1].len() > 500_000, "{}", expected[1].len());

    let mut c = login(&server);
    let capabilities = c.command("c", "CAPABILITY");
    assert!(
        capabilities[0].contains(" COMPRESS=DEFLATE"),
        "{capabilities:?}"
    );
    assert_eq!(
        c.answer("z", "COMPRESS DEFLATE"),
        "z OK Begin compression\r\n"
    );
    let mut c = c.deflated();
    let capabilities = c.command("c2", "CAPABILITY");
    assert!(!capabilities[0].contains("COMPRESS"), "{capabilities:?}");
    assert!(
        c.answer("z2", "COMPRESS DEFLATE")
            .starts_with("z2 NO [COMPRESSIONACTIVE]")
    );
    let selected = c.command("s", "SELECT INBOX");
    assert!(
        selected.contains(&"* 2 EXISTS\r\n".to_string()),
        "{selected:?}"
    );
    for (n, expected) in (1..=2).zip(&expected) {
        assert!(body(&mut c, n) == *expected, "message {n} differs");
    }
    // What IDLE waits for arrives at once, each answer flushed whole.
    c.send("i IDLE\r\n");
    assert!(c.line().starts_with("+ "));
    plain.command("f", "STORE 1 +FLAGS (\\Flagged)");
    assert!(c.line().starts_with("* 1 FETCH (FLAGS (\\Flagged"));
    c.send("DONE\r\n");
    assert!(c.until("i").last().unwrap().starts_with("i OK"));
    let logout = c.command("o", "LOGOUT");
    assert!(logout[0].starts_with("* BYE"), "{logout:?}");
}

#[test]
fn compress_is_refused_before_login_and_behind_other_input() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = server.connect_tls();
    c.line();
    assert!(c.answer("z", "COMPRESS DEFLATE").starts_with("z BAD"));
    assert!(c.answer("l", "LOGIN alice pw-alice").starts_with("l OK"));
    // A command sent before COMPRESS was answered would be taken for
    // compressed data: refused, and the session goes on uncompressed.
    c.send("z1 COMPRESS DEFLATE\r\nn1 NOOP\r\n");
    let refused = c.until("z1");
    assert!(
        refused.last().unwrap().starts_with("z1 BAD [CLIENTBUG]"),
        "{refused:?}"
    );
    assert!(c.until("n1").last().unwrap().starts_with("n1 OK"));
    assert!(c.answer("z2", "COMPRESS UNKNOWN").starts_with("z2 BAD"));
}

#[test]
fn broken_deflate_data_ends_only_its_own_connection() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = login(&server);
    assert!(c.answer("z", "COMPRESS DEFLATE").starts_with("z OK"));
    // Not deflate: block type 3 does not exist.
    c.send_bytes(&[0xff; 64]);
    assert!(c.closed(), "the connection should close");
    let mut other = login(&server);
    assert!(other.answer("n", "NOOP").starts_with("n OK"));
}
