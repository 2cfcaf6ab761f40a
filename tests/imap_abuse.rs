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
    // a disconnect in the middle of it (before login the server may have
    // closed the connection already, failing the write).
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
