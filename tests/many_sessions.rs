//! Many sessions on one folder: what each one costs the server.

mod common;

use common::Archimap;
use common::imap::{Client, Server};

/// Messages in the shared folder: enough that a copy of its message list
/// per session (about 150 bytes a message) shows far above the bound.
const MESSAGES: usize = 5000;

/// Sessions opened while the memory is watched.
const SESSIONS: usize = 100;

/// Issue 14's bound on a connection with a folder selected.
const MAX_KIB_PER_SESSION: u64 = 128;

fn login(server: &Server, user: &str) -> Client {
    let mut c = server.connect_tls();
    c.line();
    let ok = c.answer("l", &format!("LOGIN {user} pw-{user}"));
    assert!(ok.starts_with("l OK"), "{ok}");
    c
}

#[test]
fn sessions_on_one_folder_share_its_messages() {
    let am = Archimap::new();
    for user in ["alice", "bob"] {
        am.ok(&["user", "add", user, "--password", &format!("pw-{user}")]);
    }
    am.import_numbered("alice", "Shared", MESSAGES);
    am.ok(&["grant", "bob", "alice", "read,write"]);
    let server = Server::start_with_config(&am, "[limits]\nmax_connections_per_ip = 1000\n");

    // Sessions of two users, with the folder selected; the first ones
    // also warm up what every session needs (TLS, buffers, threads).
    let open = |n: usize| -> Vec<Client> {
        (0..n)
            .map(|i| {
                let (user, name) = if i % 2 == 0 {
                    ("alice", "Shared")
                } else {
                    ("bob", "\"Other Users/alice/Shared\"")
                };
                let mut c = login(&server, user);
                let select = c.command("s", &format!("SELECT {name}"));
                let exists = format!("* {MESSAGES} EXISTS\r\n");
                assert!(select.contains(&exists), "{select:?}");
                c
            })
            .collect()
    };
    let warm = open(20);
    let before = server.rss_kib();
    let mut sessions = open(SESSIONS);
    let after = server.rss_kib();
    let per_session = after.saturating_sub(before) / SESSIONS as u64;
    println!("{per_session} KiB per session ({before} -> {after} KiB)");
    assert!(
        per_session <= MAX_KIB_PER_SESSION,
        "{per_session} KiB per session with {MESSAGES} messages selected ({before} -> {after} KiB)"
    );

    // Shared, yet each user's flags are their own and reach the user's
    // other sessions at their next command.
    let stored = sessions[0].command("f", "STORE 7 +FLAGS (\\Flagged)");
    assert!(stored.last().unwrap().starts_with("f OK"), "{stored:?}");
    let alice_noop = sessions[2].command("n", "NOOP");
    assert!(
        alice_noop
            .iter()
            .any(|l| l == "* 7 FETCH (FLAGS (\\Flagged))\r\n"),
        "{alice_noop:?}"
    );
    let bob_noop = sessions[1].command("n", "NOOP");
    assert_eq!(bob_noop.len(), 1, "{bob_noop:?}");
    let bob_flags = sessions[1].command("g", "FETCH 7 (FLAGS)");
    assert!(!bob_flags[0].contains("\\Flagged"), "{bob_flags:?}");
    drop(warm);
}

/// The same bytes APPENDed by one user while another expunges their only
/// copy: the bytes may be stored when the APPEND looks and gone when it
/// commits; it still succeeds (and `verify` is clean).
#[test]
fn appends_racing_expunges_of_the_same_bytes_succeed() {
    let am = Archimap::new();
    for user in ["alice", "bob"] {
        am.ok(&["user", "add", user, "--password", &format!("pw-{user}")]);
        am.ok(&["grant", user, user, "read,write,delete"]);
    }
    let server = Server::start(&am);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(4);
    let racers: Vec<_> = ["alice", "bob"]
        .into_iter()
        .map(|user| {
            let mut c = login(&server, user);
            std::thread::spawn(move || {
                c.command("c", "CREATE Race");
                c.command("s", "SELECT Race");
                let mut rounds = 0;
                while std::time::Instant::now() < deadline {
                    rounds += 1;
                    append_race_message(&mut c, &format!("a{rounds}"));
                    let stored = c.command("d", "STORE 1:* +FLAGS.SILENT (\\Deleted)");
                    assert!(stored.last().unwrap().starts_with("d OK"), "{stored:?}");
                    let expunged = c.command("e", "EXPUNGE");
                    assert!(expunged.last().unwrap().starts_with("e OK"), "{expunged:?}");
                }
                rounds
            })
        })
        .collect();
    let rounds: usize = racers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(rounds > 20, "only {rounds} rounds");
    am.ok(&["verify"]);
}

const RACE_MESSAGE: &str = "From: race@example.com\r\nSubject: race\r\nMessage-ID: <race@example.com>\r\n\r\nThe same bytes.\r\n";

fn append_race_message(c: &mut Client, tag: &str) {
    c.send(&format!("{tag} APPEND Race {{{}}}\r\n", RACE_MESSAGE.len()));
    assert!(c.line().starts_with('+'));
    c.send(&format!("{RACE_MESSAGE}\r\n"));
    let answer = c.until(tag);
    let last = answer.last().unwrap();
    assert!(last.starts_with(&format!("{tag} OK")), "{answer:?}");
}
