//! Work before login is bounded and cheap: literals, connections,
//! handshakes, the time a client may take to log in, and password checks
//! (their memory, their fairness between addresses, their timing).

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::Archimap;
use common::imap::{Server, tcp_from};

fn loopback(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// Whether the server closes `tcp` within `within` (whatever it sends first).
fn closed_within(tcp: &mut TcpStream, within: Duration) -> bool {
    tcp.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn before_tls_no_literal_is_invited_and_id_is_refused() {
    let am = Archimap::with_alice();
    let server = Server::start(&am);
    let tcp = TcpStream::connect(server.starttls).unwrap();
    let mut c = server.connect_plain_from(tcp.try_clone().unwrap());
    c.line();
    c.send("l1 LOGIN {67108864}\r\n");
    let answer = c.line();
    assert!(answer.starts_with("l1 BAD [LIMIT]"), "{answer}");
    assert!(
        c.answer("l2", "NOOP").starts_with("l2 OK"),
        "the session lives on"
    );
    // ID is no exception to "only CAPABILITY, NOOP, LOGOUT and STARTTLS".
    let id = c.command("l3", "ID NIL");
    assert_eq!(id.len(), 1, "{id:?}");
    assert!(id[0].starts_with("l3 BAD [PRIVACYREQUIRED]"), "{id:?}");
    // A literal sent uninvited (LITERAL+) ends the connection instead of
    // being read (RFC 7888's TOOBIG).
    c.send("l4 LOGIN {67108864+}\r\n");
    assert!(c.line().starts_with("l4 BAD [TOOBIG]"));
    assert!(c.line().starts_with("* BYE [TOOBIG]"));
    let mut tcp = tcp;
    let _ = tcp.write_all(&vec![b'x'; 1 << 20]);
    assert!(closed_within(&mut tcp, Duration::from_secs(5)));
}

#[test]
fn before_login_only_short_login_literals_are_invited() {
    let am = Archimap::with_alice();
    let server = Server::start(&am);
    let mut c = server.connect_tls();
    c.line();
    c.send("a1 LOGIN {9000}\r\n");
    let answer = c.line();
    assert!(answer.starts_with("a1 BAD [LIMIT]"), "{answer}");
    c.send("a2 SELECT {5}\r\n");
    let answer = c.line();
    assert!(answer.starts_with("a2 BAD [LIMIT]"), "{answer}");
    // ID tells the name but not the version before login.
    let id = c.command("a3", "ID NIL");
    assert_eq!(id[0], "* ID (\"name\" \"archimap\")\r\n");
    c.send("a4 LOGIN {5}\r\n");
    assert!(c.line().starts_with("+ "));
    c.send("alice {10}\r\n");
    assert!(c.line().starts_with("+ "));
    c.send("wonderland\r\n");
    assert!(c.line().starts_with("a4 OK"));
    let id = c.command("a5", "ID NIL");
    assert!(id[0].contains("\"version\""), "{id:?}");
}

#[test]
fn connections_count_from_accept_and_handshakes_time_out() {
    let am = Archimap::with_alice();
    let server = Server::start_with_config(
        &am,
        "[limits]\nmax_connections_per_ip = 3\nhandshake_timeout_secs = 2\n",
    );
    let crowd = loopback(2);
    // Three connections that never start the handshake take the address's places.
    let _silent: Vec<TcpStream> = (0..3).map(|_| tcp_from(crowd, server.imaps)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let mut fourth = tcp_from(crowd, server.imaps);
    assert!(
        closed_within(&mut fourth, Duration::from_secs(1)),
        "the fourth connection is closed at once"
    );
    let plain = tcp_from(crowd, server.starttls);
    let mut refused = server.connect_plain_from(plain);
    assert_eq!(
        refused.line(),
        "* BYE [LIMIT] Too many connections, try again later\r\n"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    // Another address is served meanwhile.
    let mut other = server.connect_tls_from(loopback(3));
    assert!(other.line().starts_with("* OK"));
    // The silent ones are let go after the handshake timeout, freeing their places.
    let mut silent = tcp_from(loopback(4), server.imaps);
    let started = Instant::now();
    assert!(closed_within(&mut silent, Duration::from_secs(5)));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1500), "{waited:?}");
    let mut again = server.connect_tls_from(crowd);
    assert!(again.line().starts_with("* OK"));
}

#[test]
fn a_session_not_logged_in_ends_at_the_deadline_whatever_it_sends() {
    let am = Archimap::with_alice();
    let server =
        Server::start_with_config(&am, "[limits]\nidle_timeout_unauthenticated_secs = 2\n");
    let mut c = server.connect_tls();
    c.line();
    let started = Instant::now();
    let mut n = 0;
    let bye = loop {
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "NOOPs keep the session open"
        );
        n += 1;
        c.send(&format!("n{n} NOOP\r\n"));
        let line = c.line();
        if line.is_empty() || line.starts_with("* BYE") {
            break line;
        }
        assert!(line.starts_with(&format!("n{n} OK")), "{line}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(bye, "* BYE Not logged in in time, closing\r\n");
    assert!(started.elapsed() >= Duration::from_millis(1500));
    // Waiting inside AUTHENTICATE is no way around it.
    let mut c = server.connect_tls();
    c.line();
    c.send("s1 AUTHENTICATE PLAIN\r\n");
    assert_eq!(c.line(), "+ \r\n");
    let started = Instant::now();
    assert_eq!(c.line(), "* BYE Not logged in in time, closing\r\n");
    assert!(started.elapsed() < Duration::from_secs(4));
}

/// The median time of `n` failed logins of `login`, alternating with the
/// same number of `other`'s, on one connection.
fn failure_medians(server: &Server, login: &str, other: &str, n: usize) -> (Duration, Duration) {
    let mut c = server.connect_tls();
    c.line();
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for i in 0..n {
        for (name, times) in [(login, &mut first), (other, &mut second)] {
            let started = Instant::now();
            let answer = c.answer(&format!("t{i}"), &format!("LOGIN {name} wrong-password"));
            times.push(started.elapsed());
            assert!(answer.contains("NO [AUTHENTICATIONFAILED]"), "{answer}");
        }
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    (median(&mut first), median(&mut second))
}

#[test]
fn unknown_users_fail_as_slowly_as_known_ones() {
    let am = Archimap::with_alice();
    let server = Server::start_with_config(&am, "[limits]\nfailed_login_delay_ms = 1\n");
    let (known, unknown) = failure_medians(&server, "alice", "nobody", 15);
    let (slow, fast) = (known.max(unknown), known.min(unknown));
    assert!(
        (slow - fast) * 5 < slow,
        "known user {known:?}, unknown user {unknown:?}"
    );
}

#[test]
fn failures_under_an_alias_count_for_the_user() {
    let am = Archimap::with_alice();
    let server = Server::start_with_config(&am, "[limits]\nfailed_login_delay_ms = 400\n");
    let mut first = server.connect_tls_from(loopback(2));
    first.line();
    let started = Instant::now();
    assert!(first.answer("f1", "LOGIN alice wrong").starts_with("f1 NO"));
    assert!(started.elapsed() >= Duration::from_millis(400));
    // From another address and under the user's e-mail address: the
    // user's second failure, answered after twice the delay.
    let mut second = server.connect_tls_from(loopback(3));
    second.line();
    let started = Instant::now();
    let answer = second.answer("f2", "LOGIN alice@example.com wrong");
    assert!(answer.starts_with("f2 NO"), "{answer}");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(780), "{waited:?}");
}

#[test]
fn many_failed_logins_take_bounded_memory_and_do_not_lock_others_out() {
    let am = Archimap::with_alice();
    am.ok(&["user", "add", "bob", "--password", "builder"]);
    let server = Arc::new(Server::start_with_config(
        &am,
        "[limits]\nfailed_login_delay_ms = 50\n",
    ));
    let idle = server.rss_kib();
    // 200 connections from 5 addresses, each failing a login, all at once.
    let barrier = Arc::new(Barrier::new(201));
    let attackers: Vec<_> = (0..200)
        .map(|i| {
            let (server, barrier) = (server.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut c = server.connect_tls_from(loopback(2 + (i % 5) as u8));
                c.line();
                barrier.wait();
                c.answer("x", "LOGIN bob wrong-password")
            })
        })
        .collect();
    let mut legit = server.connect_tls_from(loopback(7));
    legit.line();
    barrier.wait();
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let answer = legit.answer("l1", "LOGIN alice wonderland");
    let waited = started.elapsed();
    assert!(answer.starts_with("l1 OK"), "{answer}");
    assert!(waited < Duration::from_secs(3), "the login took {waited:?}");
    for attacker in attackers {
        let answer = attacker.join().unwrap();
        assert!(answer.starts_with("x NO"), "{answer}");
    }
    let peak = server.status_kib("VmHWM");
    assert!(
        peak.saturating_sub(idle) < 256 * 1024,
        "idle {idle} KiB, peak {peak} KiB"
    );
}
