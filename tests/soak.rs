//! Soak: 8 sessions of one user run random MOVE, COPY, STORE, EXPUNGE and
//! APPEND on four folders at once for a minute (`SOAK_SECS`, `SOAK_SEED`
//! to replay). Every session keeps its own count of each mailbox from the
//! EXISTS and EXPUNGE answers it gets and checks it against the server's
//! UID list; afterwards `archimap verify` is clean and the number of
//! messages is what the audit log accounts for.

mod common;

use std::time::{Duration, Instant};

use common::Archimap;
use common::imap::{Client, Server};

const FOLDERS: [&str; 4] = ["INBOX", "A", "B", "C"];
const SESSIONS: u64 = 8;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// One session's knowledge of its selected mailbox.
struct Session {
    client: Client,
    selected: &'static str,
    exists: usize,
    tag: u64,
}

impl Session {
    /// Runs a command, applying EXISTS and EXPUNGE answers to `exists`;
    /// returns the answer's lines.
    fn run(&mut self, command: &str) -> Vec<String> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        self.client.send(&format!("{tag} {command}\r\n"));
        self.follow(&tag)
    }

    fn follow(&mut self, tag: &str) -> Vec<String> {
        let lines = self.client.until(tag);
        for line in &lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["*", n, "EXISTS"] => self.exists = n.parse().unwrap(),
                ["*", n, "EXPUNGE"] => {
                    let n: usize = n.parse().unwrap();
                    assert!(n >= 1 && n <= self.exists, "EXPUNGE {n} of {}", self.exists);
                    self.exists -= 1;
                }
                _ => {}
            }
        }
        let last = lines.last().unwrap();
        assert!(
            last.starts_with(&format!("{tag} OK")) || last.starts_with(&format!("{tag} NO")),
            "{command:?} answered {lines:?}",
            command = lines.first()
        );
        lines
    }

    /// The UIDs of the selected mailbox; checks the session's count.
    fn uids(&mut self) -> Vec<u32> {
        let lines = self.run("UID SEARCH ALL");
        let uids: Vec<u32> = lines
            .iter()
            .find(|l| l.starts_with("* SEARCH"))
            .map(|l| {
                l.split_whitespace()
                    .skip(2)
                    .map(|u| u.parse().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(uids.len(), self.exists, "{} holds {uids:?}", self.selected);
        uids
    }
}

#[test]
fn eight_sessions_change_one_archive_at_once() {
    let seconds: u64 = std::env::var("SOAK_SECS").map_or(60, |s| s.parse().unwrap());
    let seed: u64 = std::env::var("SOAK_SEED").map_or_else(
        |_| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        },
        |s| s.parse().unwrap(),
    );
    println!("soak: SOAK_SEED={seed} SOAK_SECS={seconds}");
    let am = Archimap::new();
    am.ok(&["user", "add", "alice", "--password", "pw"]);
    am.ok(&["grant", "alice", "alice", "read,write,delete"]);
    let mail = am.dir.path().join("mail");
    for folder in ["Inbox", "A", "B", "C"] {
        let dir = mail.join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..10 {
            std::fs::write(
                dir.join(format!("{i}.eml")),
                format!("From: s@example.com\r\nSubject: {folder} {i}\r\nMessage-ID: <{folder}.{i}@soak>\r\n\r\n{i}\r\n"),
            )
            .unwrap();
        }
        am.import(&["--user", "alice", "--folder", folder, dir.to_str().unwrap()]);
    }
    let server = Server::start(&am);
    let total = |c: &mut Client| -> usize {
        FOLDERS
            .iter()
            .map(|f| {
                let lines = c.command("st", &format!("STATUS {f} (MESSAGES)"));
                let status = lines.iter().find(|l| l.starts_with("* STATUS")).unwrap();
                status
                    .rsplit("MESSAGES ")
                    .next()
                    .unwrap()
                    .trim_end_matches([')', '\r', '\n'])
                    .parse::<usize>()
                    .unwrap()
            })
            .sum()
    };
    let mut observer = server.connect_tls();
    observer.line();
    observer.command("l", "LOGIN alice pw");
    let start = total(&mut observer);
    assert_eq!(start, 40);

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..SESSIONS)
        .map(|n| {
            let mut client = server.connect_tls();
            std::thread::spawn(move || {
                let mut rng = Rng(seed.wrapping_mul(n * 2 + 1) | 1);
                client.line();
                let mut s = Session { client, selected: "INBOX", exists: 0, tag: 0 };
                assert!(s.run("LOGIN alice pw").last().unwrap().contains("OK"));
                s.run("SELECT INBOX");
                let mut appended = 0;
                let mut operations = 0;
                while Instant::now() < deadline {
                    operations += 1;
                    let other = *rng.pick(&FOLDERS);
                    let uids = s.uids();
                    let uid = (!uids.is_empty()).then(|| *rng.pick(&uids));
                    match (rng.next() % 8, uid) {
                        (0, _) => {
                            let folder = *rng.pick(&FOLDERS);
                            s.selected = folder;
                            s.run(&format!("SELECT {folder}"));
                        }
                        (1, Some(uid)) => {
                            s.run(&format!("UID MOVE {uid} {other}"));
                        }
                        (2, Some(uid)) => {
                            s.run(&format!("UID COPY {uid} {other}"));
                        }
                        (3, Some(uid)) => {
                            s.run(&format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"));
                            s.run(&format!("UID EXPUNGE {uid}"));
                        }
                        (4, _) => {
                            // By sequence number: no EXPUNGE may come while it is answered.
                            if s.exists > 0 {
                                let lines = s.run(&format!("FETCH 1:{} (UID FLAGS)", s.exists));
                                assert!(!lines.iter().any(|l| l.ends_with("EXPUNGE\r\n")), "{lines:?}");
                            }
                        }
                        (5, _) => {
                            appended += 1;
                            let message = format!(
                                "From: w{n}@example.com\r\nSubject: appended {n}.{appended}\r\n\r\nseed {seed}\r\n"
                            );
                            s.tag += 1;
                            let tag = format!("t{}", s.tag);
                            s.client.send(&format!("{tag} APPEND {other} {{{}}}\r\n", message.len()));
                            let go = s.client.line();
                            assert!(go.starts_with('+'), "{go}");
                            s.client.send(&format!("{message}\r\n"));
                            s.follow(&tag);
                        }
                        (6, _) => {
                            s.run("NOOP");
                        }
                        _ => {
                            s.run("UID STORE 1:* +FLAGS.SILENT (\\Seen)");
                        }
                    }
                }
                s.uids();
                s.run("LOGOUT");
                operations
            })
        })
        .collect();
    let operations: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    println!("soak: {operations} operations");
    assert!(
        operations > SESSIONS * 10,
        "only {operations} operations ran"
    );

    am.ok(&["verify"]);
    let end = total(&mut observer);
    // What the audit log accounts for: every message row added or taken
    // (APPEND and COPY always add one; a move adds one and takes one).
    let records = am.ok(&["audit", "--json"]);
    let (mut added, mut taken) = (0usize, 0usize);
    for line in records.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        match record["action"].as_str().unwrap() {
            "message_appended" | "message_copied" => added += 1,
            "message_deleted" => taken += 1,
            _ => {}
        }
    }
    println!("soak: start {start}, end {end}, added {added}, taken {taken}");
    assert_eq!(end, start + added - taken);
}

/// Every message's bytes anywhere in `archive` (the export, hashed).
fn contents(am: &Archimap, archive: &str) -> std::collections::BTreeSet<String> {
    am.exported(archive).into_values().flatten().collect()
}

/// Random commands of every kind, including the ones that remove, by
/// `user` on alice's archive for 5 s; returns how many of the messages
/// that were in it are in none of its folders any more.
fn lost_after_random_commands(
    am: &Archimap,
    server: &Server,
    user: &str,
    archive_prefix: &str,
    seed: u64,
) -> usize {
    let before = contents(am, "alice");
    let mut rng = Rng(seed | 1);
    let mut c = server.connect_tls();
    c.line();
    assert!(
        c.answer("l", &format!("LOGIN {user} pw-{user}"))
            .starts_with("l OK")
    );
    let own = ["Mine".to_string(), format!("{archive_prefix}Inbox")];
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut n = 0;
    while Instant::now() < deadline {
        n += 1;
        // The folders there are now.
        let listed = c.command(
            &format!("l{n}"),
            &format!("LIST \"\" \"{archive_prefix}*\""),
        );
        let folders: Vec<String> = listed
            .iter()
            .filter(|l| l.starts_with("* LIST") && !l.contains("\\Noselect"))
            .filter_map(|l| {
                l.trim_end()
                    .rsplit_once(" \"")
                    .map(|(_, name)| name.trim_end_matches('"').to_string())
            })
            .collect();
        if folders.is_empty() {
            break;
        }
        let folder = rng.pick(&folders).clone();
        let target = if rng.next().is_multiple_of(4) {
            rng.pick(&own).clone()
        } else {
            rng.pick(&folders).clone()
        };
        let commands = match rng.next() % 10 {
            0 | 1 => vec![format!("SELECT \"{folder}\"")],
            2 => vec![format!("UID MOVE 1:* \"{target}\"")],
            3 => vec![format!("COPY 1 \"{target}\"")],
            4 => vec![
                "STORE 1:* +FLAGS (\\Deleted)".to_string(),
                "EXPUNGE".to_string(),
            ],
            5 => vec![
                "UID STORE 1:* +FLAGS (\\Deleted)".to_string(),
                "CLOSE".to_string(),
            ],
            6 => vec![format!("DELETE \"{folder}\"")],
            7 => vec![format!("RENAME \"{folder}\" \"{target}\"")],
            8 => vec![format!("RENAME \"{folder}\" \"{folder}{n}\"")],
            // The bytes of a message already there: stored once, nothing replaced.
            _ => vec![format!(
                "APPEND \"{folder}\" {{21+}}\r\nSubject: A 0\r\n\r\nA 0\r\n"
            )],
        };
        for command in commands {
            let answer = c.answer(&format!("r{n}"), &command);
            // BAD only for what the client got wrong: nothing selected, no such number.
            let expected = ["No mailbox selected", "No messages", "out of range"];
            let bad = answer.contains(" BAD ") && !expected.iter().any(|e| answer.contains(e));
            assert!(!bad, "{command}: {answer}");
        }
    }
    let after = contents(am, "alice");
    am.ok(&["verify"]);
    let lost = before.difference(&after).count();
    println!("{user}: {n} commands, {lost} message(s) gone (SOAK_SEED={seed})");
    lost
}

/// alice's archive (Inbox, A, B) and users without the right to remove.
fn guarded_archive() -> Archimap {
    let am = Archimap::new();
    for user in ["alice", "carol"] {
        am.ok(&["user", "add", user, "--password", &format!("pw-{user}")]);
    }
    let mail = am.dir.path().join("guarded");
    for folder in ["Inbox", "A", "A/Sub", "B"] {
        let dir = mail.join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..5 {
            std::fs::write(
                dir.join(format!("{i}.eml")),
                format!("Subject: {folder} {i}\r\n\r\n{folder} {i}\r\n"),
            )
            .unwrap();
        }
        am.import(&["--user", "alice", "--folder", folder, dir.to_str().unwrap()]);
    }
    std::fs::create_dir_all(mail.join("Mine")).unwrap();
    std::fs::write(mail.join("Mine/1.eml"), "Subject: carol's\r\n\r\nx\r\n").unwrap();
    am.import(&[
        "--user",
        "carol",
        "--folder",
        "Mine",
        mail.join("Mine").to_str().unwrap(),
    ]);
    am.ok(&["grant", "alice", "alice", "read,write,delete"]);
    am.ok(&["grant", "carol", "carol", "read,write,delete"]);
    am
}

fn seed() -> u64 {
    std::env::var("SOAK_SEED").map_or_else(
        |_| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        },
        |s| s.parse().unwrap(),
    )
}

#[test]
fn without_delete_no_command_sequence_removes_a_message() {
    let am = guarded_archive();
    am.ok(&["grant", "carol", "alice", "read,write"]);
    let server = Server::start(&am);
    assert_eq!(
        lost_after_random_commands(&am, &server, "carol", "Other Users/alice/", seed()),
        0
    );
}

#[test]
fn under_legal_hold_nobody_removes_a_message() {
    let am = guarded_archive();
    am.ok(&["compliance", "legal-hold", "on"]);
    let server = Server::start(&am);
    assert_eq!(
        lost_after_random_commands(&am, &server, "alice", "", seed()),
        0
    );
}

/// The control: the same commands by a user who may delete do remove
/// messages, so the two tests above would see it if a rule let one through.
#[test]
fn with_delete_the_same_commands_remove_messages() {
    let am = guarded_archive();
    let server = Server::start(&am);
    assert!(lost_after_random_commands(&am, &server, "alice", "", seed()) > 0);
}
