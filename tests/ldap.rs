//! Directory services against a real OpenLDAP slapd over TLS: user
//! synchronisation (`archimap directory sync`) and IMAP logins of
//! directory users, with the group restriction, wrong and empty passwords,
//! an unreachable directory and filter injection attempts.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::Archimap;
use common::imap::Server;
use common::slapd::{GROUP_DN, Slapd};

const FAILED: &str = "NO [AUTHENTICATIONFAILED] Invalid credentials\r\n";

/// `[directory]` lines for the OpenLDAP fixture with the group restriction.
fn openldap(urls: &[&str]) -> String {
    format!("kind = \"ldap\"\nurls = {urls:?}\ngroups = [{GROUP_DN:?}]")
}

/// Writes the configuration beside the archive and returns its path.
fn configure(am: &Archimap, slapd: &Slapd, lines: &str) -> PathBuf {
    let path = am.dir.path().join("directory.toml");
    std::fs::write(&path, slapd.config(lines)).unwrap();
    path
}

fn sync(am: &Archimap, config: &Path, extra: &[&str]) -> String {
    let mut args = vec!["--config", config.to_str().unwrap(), "directory", "sync"];
    args.extend_from_slice(extra);
    am.ok(&args)
}

/// An archive synchronised with the directory, served over IMAP.
fn serve(slapd: &Slapd, lines: &str) -> (Archimap, Server) {
    let am = Archimap::new();
    let config = configure(&am, slapd, lines);
    sync(&am, &config, &[]);
    let server = Server::start_with_config(&am, &std::fs::read_to_string(&config).unwrap());
    (am, server)
}

fn login(server: &Server, tag: &str, name: &str, password: &str) -> String {
    let mut c = server.connect_tls();
    c.line();
    c.answer(tag, &format!("LOGIN {name:?} {password:?}"))
}

/// A loopback address where nothing listens.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn sync_creates_updates_and_takes_login_from_users_gone_from_the_directory() {
    let Some(slapd) = Slapd::start() else { return };
    let am = Archimap::new();
    let config = configure(&am, &slapd, &openldap(&[&slapd.ldaps]));

    let plan = sync(&am, &config, &["--dry-run"]);
    assert!(plan.starts_with("dry run: nothing is changed\n"), "{plan}");
    for user in ["alice", "bob", "dave"] {
        assert!(plan.contains(&format!("\ncreate {user}: ")), "{plan}");
    }
    assert!(
        !plan.contains("carol"),
        "carol is outside the group: {plan}"
    );
    assert_eq!(am.ok(&["user", "list"]), "", "a dry run changes nothing");

    let done = sync(&am, &config, &[]);
    assert!(
        done.ends_with(
            "directory users 3: created 3, updated 0, unchanged 0, lost login 0, gone 0, \
             skipped 0, failed 0\n"
        ),
        "{done}"
    );
    let alice = am.ok(&["user", "show", "alice"]);
    for line in [
        "full name:          Alice Liddell",
        "authentication:     directoryServices",
        "e-mail addresses:   alice.liddell@example.org, alice@example.com",
        "distinguished name: uid=alice,ou=people,dc=example,dc=com",
        "privileges:         login",
        "  alice: read",
    ] {
        assert!(alice.contains(line), "{line:?} in {alice}");
    }

    // Bob changes his name and gets an address; Dave leaves the group.
    slapd.modify(&format!(
        "dn: uid=bob,ou=people,dc=example,dc=com\nchangetype: modify\n\
         replace: displayName\ndisplayName: Robert Builder\n-\nadd: mail\nmail: robert@example.com\n\n\
         dn: {GROUP_DN}\nchangetype: modify\ndelete: member\n\
         member: uid=dave,ou=people,dc=example,dc=com\n"
    ));
    let done = sync(&am, &config, &[]);
    assert!(
        done.contains(
            "update bob: full name: \"Bob Builder\" -> \"Robert Builder\"; \
             e-mail addresses: bob@example.com -> bob@example.com, robert@example.com\n"
        ),
        "{done}"
    );
    assert!(
        done.contains("remove login dave: gone from the directory; privileges: login -> none\n"),
        "{done}"
    );
    assert!(
        done.ends_with(
            "directory users 2: created 0, updated 1, unchanged 1, lost login 1, gone 0, \
             skipped 0, failed 0\n"
        ),
        "{done}"
    );
    let dave = am.ok(&["user", "show", "dave"]);
    assert!(
        dave.contains("privileges:         none") && dave.contains("  dave: read"),
        "dave keeps his archive: {dave}"
    );

    let again = sync(&am, &config, &[]);
    assert!(
        again.contains("gone dave: gone from the directory; holds no login\n"),
        "{again}"
    );
    assert!(
        again.contains("unchanged 2, lost login 0, gone 1,"),
        "{again}"
    );

    // Back in the group, back in: the defaults are a floor.
    slapd.modify(&format!(
        "dn: {GROUP_DN}\nchangetype: modify\nadd: member\n\
         member: uid=dave,ou=people,dc=example,dc=com\n"
    ));
    let back = sync(&am, &config, &[]);
    assert!(
        back.contains("update dave: privileges: none -> login\n"),
        "{back}"
    );
}

#[test]
fn directory_users_log_in_over_imap_by_name_or_address() {
    let Some(slapd) = Slapd::start() else { return };
    // The first server is down: the second, StartTLS, one answers.
    let down = format!("ldaps://127.0.0.1:{}", closed_port());
    let (_am, server) = serve(&slapd, &openldap(&[&down, &slapd.starttls]));

    for (tag, name) in [
        ("a1", "alice"),
        ("a2", "Alice.Liddell@Example.org"),
        ("a3", "alice@example.com"),
    ] {
        let answer = login(&server, tag, name, "wonderland");
        assert!(answer.starts_with(&format!("{tag} OK")), "{name}: {answer}");
    }
    assert!(server.logged("directory server unusable"));

    let mut c = server.connect_tls();
    c.line();
    assert_eq!(c.answer("w1", "LOGIN bob wrong"), format!("w1 {FAILED}"));
    assert_eq!(c.answer("w2", "LOGIN bob \"\""), format!("w2 {FAILED}"));
    assert!(server.logged("the directory refused the password"));
    assert!(server.logged("empty password"));
    assert!(c.answer("w3", "LOGIN bob builder").starts_with("w3 OK"));
    assert!(c.answer("w4", "SELECT INBOX").starts_with("w4 OK"));
}

#[test]
fn the_group_restriction_holds_at_login_too() {
    let Some(slapd) = Slapd::start() else { return };
    let (am, server) = serve(&slapd, &openldap(&[&slapd.ldaps]));
    // Carol is outside the group: not synchronised, and not let in even
    // as a directory user made by hand.
    assert!(!am.ok(&["user", "list"]).contains("carol"));
    am.ok(&[
        "user",
        "add",
        "carol",
        "--authentication",
        "directoryServices",
    ]);
    let mut c = server.connect_tls();
    c.line();
    assert_eq!(
        c.answer("g1", "LOGIN carol carol-pass"),
        format!("g1 {FAILED}")
    );
    // Alice leaves the group: her next login fails, before any sync.
    slapd.modify(&format!(
        "dn: {GROUP_DN}\nchangetype: modify\ndelete: member\n\
         member: uid=alice,ou=people,dc=example,dc=com\n"
    ));
    assert_eq!(
        c.answer("g2", "LOGIN alice wonderland"),
        format!("g2 {FAILED}")
    );
    assert!(server.logged("no entry for alice in the directory within the user filter and groups"));
}

#[test]
fn an_unreachable_directory_answers_unavailable_never_a_stale_yes() {
    let Some(slapd) = Slapd::start() else { return };
    // A server that accepts connections and never answers: one timeout,
    // then the next server.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = format!("ldaps://{}", listener.local_addr().unwrap());
    let lines = format!("{}\ntimeout_secs = 1", openldap(&[&silent, &slapd.ldaps]));
    let (am, server) = serve(&slapd, &lines);
    let started = Instant::now();
    assert!(login(&server, "u1", "alice", "wonderland").starts_with("u1 OK"));
    assert!(started.elapsed() >= Duration::from_secs(1));

    slapd.stop();
    let started = Instant::now();
    assert_eq!(
        login(&server, "u2", "alice", "wonderland"),
        "u2 NO [UNAVAILABLE] Login is not possible right now; try again later\r\n"
    );
    // One timeout, one refused connection, and the 2 s failure delay.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(server.logged("no directory server answered"));

    let config = am.dir.path().join("directory.toml");
    let out = am.fails(&["--config", config.to_str().unwrap(), "directory", "sync"]);
    assert!(out.contains("no directory server answered"), "{out}");
}

#[test]
fn filter_injection_is_impossible() {
    let Some(slapd) = Slapd::start() else { return };
    let (am, server) = serve(&slapd, &openldap(&[&slapd.ldaps]));
    // Unescaped, each of these would find Alice's entry (or several), and
    // her password would open the archive of the user with the odd name.
    let names = ["alice)(|(uid=*", "alice)(uid=alice", "*)(uid=*"];
    let mut c = server.connect_tls();
    c.line();
    for (n, name) in names.iter().enumerate() {
        am.ok(&["user", "add", name, "--authentication", "directoryServices"]);
        let tag = format!("i{n}");
        assert_eq!(
            c.answer(&tag, &format!("LOGIN {name:?} wonderland")),
            format!("{tag} {FAILED}"),
            "{name}"
        );
        assert!(server.logged(&format!("no entry for {name} in the directory")));
    }
    assert!(
        c.answer("i9", "LOGIN alice wonderland")
            .starts_with("i9 OK")
    );
}

#[test]
fn active_directory_login_names_and_proxy_addresses() {
    let Some(slapd) = Slapd::start() else { return };
    // The fixture's only entry with sAMAccountName and proxyAddresses;
    // real AD needs no user_filter (the kind's default finds people).
    let lines = format!(
        "kind = \"activeDirectory\"\nurls = [{:?}]\nuser_filter = \"(objectClass=archimapTestADUser)\"",
        slapd.ldaps
    );
    let (am, server) = serve(&slapd, &lines);
    assert_eq!(am.ok(&["user", "list"]).lines().count(), 1);
    let user = am.ok(&["user", "show", "aliddell"]);
    assert!(
        user.contains(
            "e-mail addresses:   alice.liddell@example.org, alice@example.com, wonderland@example.net"
        ),
        "{user}"
    );
    for (tag, name) in [("d1", "ALiddell"), ("d2", "wonderland@example.net")] {
        let answer = login(&server, tag, name, "wonderland");
        assert!(answer.starts_with(&format!("{tag} OK")), "{name}: {answer}");
    }
}
