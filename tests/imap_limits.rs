//! Every command has a cost bound, over real TLS IMAP sessions: the
//! command line is a hard limit, literal data too, and SEARCH has limits on
//! keys, words, FUZZY words and time, answered `BAD [LIMIT]` / `NO [LIMIT]`
//! while the connection lives on; searches real clients send still work.

mod common;

use std::time::{Duration, Instant};

use common::Archimap;
use common::imap::{Client, Server};

/// alice with the imaptest corpus in her Inbox.
fn archive() -> Archimap {
    let am = Archimap::new();
    am.add_user("alice");
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Inbox",
        common::edge_eml().join("imaptest").to_str().unwrap(),
    ]);
    am
}

fn selected(server: &Server) -> Client {
    let mut c = server.connect_tls();
    c.line();
    assert!(c.answer("l", "LOGIN alice secret").starts_with("l OK"));
    assert!(c.answer("s", "SELECT Inbox").starts_with("s OK"));
    c
}

/// The session still answers, and so does the server.
fn alive(c: &mut Client, server: &Server) {
    assert!(c.answer("n", "NOOP").starts_with("n OK"));
    assert!(selected(server).answer("m", "NOOP").starts_with("m OK"));
}

/// Words unlike each other, each long enough to be matched with two edits.
fn words(n: usize) -> String {
    (0..n)
        .map(|i| format!("zq{i:05}wordy"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn fuzzy_search_with_thousands_of_words_is_refused_in_bounded_memory() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = selected(&server);
    // Warm up the index before measuring memory.
    c.command("w", "SEARCH FUZZY BODY wordy");
    let baseline = server.status_kib("VmHWM");

    let started = Instant::now();
    let answer = c.answer("f", &format!("SEARCH FUZZY TEXT \"{}\"", words(5000)));
    let took = started.elapsed();
    assert!(answer.starts_with("f NO [LIMIT] "), "{answer}");
    assert!(answer.contains("FUZZY words"), "{answer}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let grown = server.status_kib("VmHWM").saturating_sub(baseline);
    assert!(grown < 100 * 1024, "peak RSS grew by {grown} KiB");

    // The same words spread over many FUZZY keys count together.
    let keys: String = (0..100)
        .map(|i| format!(" FUZZY BODY zq{i:05}wordy"))
        .collect();
    let answer = c.answer("g", &format!("SEARCH{keys}"));
    assert!(answer.starts_with("g NO [LIMIT] "), "{answer}");
    // A FUZZY search of a few words is answered.
    let answer = c.answer("h", &format!("SEARCH FUZZY TEXT \"{}\"", words(5)));
    assert!(answer.starts_with("h OK"), "{answer}");
    alive(&mut c, &server);
}

#[test]
fn search_keys_and_words_are_bounded() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = selected(&server);
    // 2,000 keys (4 KB): each would be evaluated for every message.
    let answer = c.answer("k", &format!("SEARCH{}", " 1".repeat(2000)));
    assert!(answer.starts_with("k NO [LIMIT] "), "{answer}");
    assert!(answer.contains("search keys"), "{answer}");
    // 2,000 words in one text key.
    let answer = c.answer("t", &format!("SEARCH TEXT \"{}\"", words(2000)));
    assert!(answer.starts_with("t NO [LIMIT] "), "{answer}");
    assert!(answer.contains("words"), "{answer}");
    alive(&mut c, &server);
}

#[test]
fn a_search_over_its_time_is_refused() {
    let am = archive();
    let server = Server::start_with_config(&am, "[limits]\nsearch_timeout_secs = 0\n");
    let mut c = selected(&server);
    let answer = c.answer("t", "SEARCH NOT SEEN");
    assert!(answer.starts_with("t NO [LIMIT] "), "{answer}");
    assert!(answer.contains("took longer"), "{answer}");
    alive(&mut c, &server);
}

#[test]
fn the_command_line_limit_is_hard() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = selected(&server);
    // 81 KB: over the 64 KiB default however the bytes arrive.
    let needle = "x".repeat(81 * 1024);
    let answer = c.answer("a", &format!("SEARCH BODY \"{needle}\""));
    assert!(answer.starts_with("a BAD [LIMIT] "), "{answer}");
    let answer = c.answer("b", &format!("EXAMINE \"{needle}\""));
    assert!(answer.starts_with("b BAD [LIMIT] "), "{answer}");
    // Literal data does not count, nor what FUZZY's rewriting adds: a
    // command of exactly 64 KiB around a literal is read, one byte more is
    // refused.
    for (tag, over) in [("c", 0), ("d", 1)] {
        let head = |pad: &str| format!("{tag} SEARCH OR BODY \"{pad}\" FUZZY BODY {{5}}\r\n");
        let tail = " FUZZY SUBJECT x\r\n";
        let pad = "y".repeat(64 * 1024 - head("").len() - tail.len() + over);
        c.send(&head(&pad));
        assert!(c.line().starts_with("+ "));
        c.send(&format!("quick{tail}"));
        let answer = c.until(tag).pop().unwrap();
        let expected = if over == 0 { "OK" } else { "BAD [LIMIT] " };
        assert!(answer.starts_with(&format!("{tag} {expected}")), "{answer}");
    }
    alive(&mut c, &server);
}

#[test]
fn literals_of_one_command_add_up_to_the_literal_limit() {
    let am = archive();
    let server = Server::start_with_config(&am, "[limits]\nmax_literal_size = 1000\n");
    let mut c = selected(&server);
    c.send("a SEARCH TEXT {600}\r\n");
    assert!(c.line().starts_with("+ "));
    c.send(&format!("{} TEXT {{600}}\r\n", "z".repeat(600)));
    let answer = c.line();
    assert!(answer.starts_with("a BAD [LIMIT] "), "{answer}");
    // Literals that stay within the limit together are read.
    c.send("b SEARCH TEXT {400}\r\n");
    assert!(c.line().starts_with("+ "));
    c.send(&format!("{} TEXT {{500}}\r\n", "z".repeat(400)));
    assert!(c.line().starts_with("+ "));
    c.send(&format!("{}\r\n", "z".repeat(500)));
    let answer = c.until("b").pop().unwrap();
    assert!(answer.starts_with("b OK"), "{answer}");
    alive(&mut c, &server);
}

#[test]
fn deep_nesting_is_refused_without_harm() {
    // imap-codec stops at 9 levels (a syntax error) before the line limit.
    let am = archive();
    let server = Server::start(&am);
    let mut c = selected(&server);
    let nots = "NOT ".repeat(100_000);
    let answer = c.answer("a", &format!("SEARCH {nots}ALL"));
    assert!(answer.starts_with("a BAD "), "{answer}");
    let ors = "OR ".repeat(100_000);
    let alls = " ALL".repeat(100_001);
    let answer = c.answer("b", &format!("SEARCH {ors}ALL{alls}"));
    assert!(answer.starts_with("b BAD "), "{answer}");
    let parens = format!("{}ALL{}", "(".repeat(100_000), ")".repeat(100_000));
    let answer = c.answer("c", &format!("SEARCH {parens}"));
    assert!(answer.starts_with("c BAD "), "{answer}");
    alive(&mut c, &server);
}

#[test]
fn searches_of_real_clients_are_answered() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = selected(&server);
    // Thunderbird's quick filter.
    let answer = c.answer(
        "t",
        "UID SEARCH CHARSET UTF-8 UNDELETED OR OR OR FROM \"timo\" TO \"timo\" CC \"timo\" \
         SUBJECT \"timo\" SINCE 1-Jan-2000",
    );
    assert!(answer.starts_with("t OK"), "{answer}");
    // An OR chain over addresses, as deep as imap-codec parses (9 levels).
    let mut chain = String::from("FROM a0@example.com");
    for i in 1..9 {
        chain = format!("OR {chain} FROM a{i}@example.com");
    }
    let answer = c.answer("i", &format!("UID SEARCH RETURN (ALL) {chain}"));
    assert!(answer.starts_with("i OK"), "{answer}");
    // ESEARCH with FUZZY, NOT and a parenthesised group.
    let answer = c.answer(
        "e",
        "SEARCH RETURN (COUNT RELEVANCY) FUZZY BODY timo NOT (DELETED LARGER 100000000) \
         SENTSINCE 1-Jan-1990",
    );
    assert!(answer.starts_with("e OK"), "{answer}");
}

/// An empty literal (`{0}`) is a literal like any other: one continuation,
/// then the rest of the command. Found by fuzzing (imap_frames): the reader
/// met the same empty literal again and again without reading on, writing
/// `+ Ready` in a loop at full CPU, whether the client went on or left.
#[test]
fn an_empty_literal_is_read_once() {
    let am = archive();
    let server = Server::start(&am);
    let mut c = selected(&server);
    c.send("e1 SEARCH SUBJECT {0}\r\n");
    assert!(c.line().starts_with("+ "));
    c.send("\r\n");
    // At most the SEARCH line and the tagged answer: a flood of `+` fails
    // here at once instead of reading on for ever.
    let answer: Vec<String> = (0..2).map(|_| c.line()).collect();
    assert!(answer[0].starts_with("* SEARCH"), "{answer:?}");
    assert!(answer[1].starts_with("e1 OK"), "{answer:?}");
    alive(&mut c, &server);

    // A client that leaves after the literal's announcement costs nothing.
    let mut gone = selected(&server);
    gone.send("e2 SEARCH SUBJECT {0}\r\n");
    assert!(gone.line().starts_with("+ "));
    drop(gone);
    server.assert_idle();
    alive(&mut c, &server);
}
