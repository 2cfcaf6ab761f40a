//! Multi-session stress test (issue 12): 10 persistent sessions, of alice
//! and of bob (who holds read, write and delete on alice's archive and sees
//! it under "Other Users/alice/"), run a random mix of LIST, STATUS,
//! SELECT, FETCH, STORE, EXPUNGE, APPEND, COPY, MOVE and SEARCH on the same
//! three folders. Each session tracks what the responses imply
//! (bench/imap_model.py, driven by bench/load.py) and the test fails on any
//! inconsistency or SERVERBUG, with the session's transcript tail.
//!
//! `STRESS_SECS` (default 20) sets the duration, `STRESS_SEED` replays a
//! seed (printed at the start). The same checker runs against Dovecot, which
//! must pass it: a check that Dovecot fails is not an RFC rule.

mod common;

use std::process::Command;

use common::Archimap;
use common::dovecot::Dovecot;
use common::imap::Server;

fn seconds() -> String {
    std::env::var("STRESS_SECS").unwrap_or_else(|_| "20".into())
}

/// Runs bench/load.py's stress workload; panics with its report on any fault.
fn stress(port: u16, ca: Option<&std::path::Path>, logins: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/load.py");
    let mut command = Command::new("python3");
    command
        .arg(script)
        .arg("stress")
        .args(["--port", &port.to_string()])
        .args(["--clients", "10", "--seconds", &seconds()]);
    if let Some(ca) = ca {
        command.arg("--ca").arg(ca);
    }
    if let Ok(seed) = std::env::var("STRESS_SEED") {
        command.args(["--seed", &seed]);
    }
    for login in logins {
        command.args(["--login", login]);
    }
    let out = command.output().expect("python3 runs bench/load.py");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{}", stderr.lines().next().unwrap_or(""));
    // stderr holds each fault with its session's transcript tail; stdout
    // the figures as JSON.
    assert!(
        out.status.success() && stderr.contains(" 0 faults, 0 other errors"),
        "{stderr}"
    );
}

#[test]
fn ten_sessions_of_two_users_see_consistent_state() {
    let am = Archimap::new();
    am.ok(&["user", "add", "alice", "--password", "wonderland"]);
    am.ok(&["user", "add", "bob", "--password", "builder"]);
    am.ok(&["grant", "alice", "alice", "read,write,delete"]);
    am.ok(&["grant", "bob", "alice", "read,write,delete"]);
    let server = Server::start(&am);
    stress(
        server.imaps.port(),
        Some(&am.data_dir().join("tls/self-signed-cert.pem")),
        &["alice:wonderland", "bob:builder:Other Users/alice/"],
    );
}

#[test]
fn the_checker_passes_dovecot() {
    let Some(dovecot) = Dovecot::start(12443, 12693) else {
        return;
    };
    // sdbox keeps flags in Dovecot's index, changed atomically; with the
    // setup's Maildir, concurrent STOREs now and then lose a flag, which
    // the checker rightly reports.
    dovecot.restart_with_mail_location("sdbox:~/sdbox");
    stress(dovecot.imaps, None, &["usera:oraclepw"]);
}
