//! Inputs that fuzzing found to crash or hang archimap (`fuzz/regressions/
//! <target>/`, see FUZZING.md), replayed through the real interfaces: a
//! message is archived with `archimap import` and read back over TLS IMAP
//! with every kind of FETCH item; a client's bytes are sent to a logged-in
//! session. Each must be answered, and the server must stay up and idle.

mod common;

use std::path::PathBuf;

use common::Archimap;
use common::imap::{Client, Server};

fn regressions(target: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    files
}

fn login(server: &Server) -> Client {
    let mut c = server.connect_tls();
    c.line();
    assert!(c.answer("l", "LOGIN alice secret").starts_with("l OK"));
    c
}

/// Messages that made the MIME reader panic (`mime` target): archived
/// verbatim, and every FETCH of them answered, none with SERVERBUG, with
/// the session alive.
#[test]
fn mime_inputs_are_fetched_in_every_form() {
    let am = Archimap::new();
    am.add_user("alice");
    let inputs = regressions("mime");
    let dir = am.dir.path().join("inputs");
    std::fs::create_dir_all(&dir).unwrap();
    for (n, input) in inputs.iter().enumerate() {
        std::fs::copy(input, dir.join(format!("{n}.eml"))).unwrap();
    }
    let (imported, duplicates, _, failed) = am.import(&[
        "--user",
        "alice",
        "--folder",
        "Inbox",
        dir.to_str().unwrap(),
    ]);
    assert_eq!((imported + duplicates, failed), (inputs.len() as u64, 0));

    let server = Server::start(&am);
    let mut c = login(&server);
    assert!(c.answer("s", "SELECT Inbox").starts_with("s OK"));
    let items = [
        "ENVELOPE BODYSTRUCTURE BODY RFC822.SIZE",
        "BODY.PEEK[]",
        "BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2.1]",
        "BINARY.PEEK[]",
        "BINARY.PEEK[1]",
        "BINARY.PEEK[2]",
        "BINARY.PEEK[1.1]",
        "BINARY.PEEK[1.2.1]",
        "BINARY.PEEK[3]",
        "BINARY.SIZE[] BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[1.2]",
    ];
    for (n, item) in items.iter().enumerate() {
        let tag = format!("f{n}");
        let answer = c.answer(&tag, &format!("FETCH 1:* ({item})"));
        // OK, or NO for a part that cannot be decoded; never a failure of
        // the server (a panic in the reader answers NO [SERVERBUG]).
        let answered =
            answer.starts_with(&format!("{tag} OK")) || answer.starts_with(&format!("{tag} NO"));
        assert!(
            answered && !answer.contains("SERVERBUG"),
            "FETCH {item}: {answer}"
        );
    }
    assert!(c.answer("n", "NOOP").starts_with("n OK"));
    server.assert_idle();
}

/// Client input that made the command reader hang (`imap_frames`
/// target): sent by a logged-in client that then leaves; the server
/// neither spins nor stops answering others.
#[test]
fn imap_frames_inputs_leave_the_server_idle() {
    let am = Archimap::new();
    am.add_user("alice");
    let server = Server::start(&am);
    for input in regressions("imap_frames") {
        let mut c = login(&server);
        c.send_bytes(&std::fs::read(&input).unwrap());
        drop(c);
        server.assert_idle();
        assert!(login(&server).answer("n", "NOOP").starts_with("n OK"));
    }
}
