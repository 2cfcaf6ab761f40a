//! An import killed with SIGKILL at random moments, then run again, ends
//! complete, without duplicates or orphaned bytes, and `verify` is clean.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Archimap, generated_corpus, hashes_by_folder, unique};
use rand::{Rng, SeedableRng};

#[test]
fn import_killed_at_random_points_then_rerun() {
    let corpus = generated_corpus(
        20_000,
        4,
        11,
        &["--attach-rate", "0.1", "--max-attach-kb", "24"],
    );
    let expected: u64 = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|user| {
            unique(hashes_by_folder(&user, &|p| {
                p.extension().is_some_and(|e| e == "eml")
            }))
        })
        .map(|folders| folders.values().map(|h| h.len() as u64).sum::<u64>())
        .sum();
    assert!(expected > 15_000, "{expected} distinct folder entries");

    let am = Archimap::new();
    let import = [
        "import",
        "--bulk",
        corpus.to_str().unwrap(),
        "--create-users",
    ];
    // Small batches, so that kills land between and inside many commits.
    let config = am.dir.path().join("small-batches.toml");
    std::fs::write(&config, "[import]\nbatch_messages = 500\n").unwrap();
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let mut kills = 0;
    let mut last_count = 0;
    while kills < 6 {
        let mut child = am
            .command()
            .arg("--config")
            .arg(&config)
            .args(import)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = Duration::from_millis(rng.gen_range(30..700));
        let started = Instant::now();
        while started.elapsed() < delay && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        if child.try_wait().unwrap().is_some() {
            break; // it finished before the kill: the archive is complete
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        // Whatever was committed is consistent at every moment.
        let count = am.message_count();
        assert!(
            count >= last_count && count <= expected,
            "{count} after kill {kills}"
        );
        eprintln!("kill {kills} after {delay:?}: {count} of {expected} messages committed");
        last_count = count;
        am.ok(&["verify"]);
    }
    assert!(
        kills >= 3,
        "the import finished too fast to be killed ({kills} kills)"
    );

    let (imported, duplicates, unparsed, failed) = common::summary_counts(&am.ok(&import));
    assert_eq!((failed, unparsed), (0, 0));
    assert_eq!(
        imported,
        expected - last_count,
        "the re-run adds exactly what was missing"
    );
    assert_eq!(imported + duplicates, 20_000);
    assert_eq!(am.message_count(), expected);
    assert!(am.ok(&["verify"]).contains("0 problem(s)"));

    // No bytes outlive the crashes: every pack is exactly as long as committed.
    let db = rusqlite::Connection::open(am.data_dir().join("catalog.sqlite")).unwrap();
    let mut stmt = db.prepare("SELECT pack, length FROM packs").unwrap();
    let committed: Vec<(u32, u64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for entry in std::fs::read_dir(am.data_dir().join("stores/main/packs")).unwrap() {
        let path = entry.unwrap().path();
        let Some(n) = path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .strip_suffix(".pack")
        else {
            continue;
        };
        let n: u32 = n.parse().unwrap();
        let on_disk = path.metadata().unwrap().len();
        let want = committed
            .iter()
            .find(|(p, _)| *p == n)
            .map_or(0, |(_, l)| *l);
        assert_eq!(on_disk, want, "pack {n}");
    }
}

/// Flags are written without waiting for the disk (they are each user's
/// own state, changed at every STORE and first read): what was
/// acknowledged must still survive the server being killed.
#[test]
fn acknowledged_flag_changes_survive_sigkill() {
    let am = Archimap::new();
    am.ok(&["user", "add", "alice", "--password", "pw"]);
    am.ok(&["grant", "alice", "alice", "read,write,delete"]);
    am.import_numbered("alice", "Inbox", 20);
    let login = |server: &common::imap::Server| {
        let mut c = server.connect_tls();
        c.line();
        assert!(c.answer("l", "LOGIN alice pw").starts_with("l OK"));
        c.command("s", "SELECT INBOX");
        c
    };
    let server = common::imap::Server::start(&am);
    let mut c = login(&server);
    for i in 1..=20 {
        let stored = c.answer(
            &format!("s{i}"),
            &format!("STORE {i} +FLAGS (\\Flagged $k{i})"),
        );
        assert!(stored.contains("OK"), "{stored}");
    }
    let read = c.command("r", "FETCH 1:5 BODY[]");
    assert!(read.last().unwrap().starts_with("r OK"), "{read:?}");
    drop(server); // SIGKILL, right after the last answer

    let server = common::imap::Server::start(&am);
    let mut c = login(&server);
    let flags = c.command("f", "FETCH 1:* (FLAGS)");
    for i in 1..=20 {
        let seen = if i <= 5 { "\\Seen " } else { "" };
        let expected = format!("* {i} FETCH (FLAGS (\\Flagged {seen}$k{i}))\r\n");
        assert!(flags.contains(&expected), "{expected:?} not in {flags:?}");
    }
}
