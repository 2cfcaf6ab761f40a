//! Every import format, through the CLI, read back byte for byte with
//! `archimap export`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::{Archimap, edge_eml, generated_corpus, hashes_by_folder, sha256_hex, unique};

fn is_eml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "eml")
}

#[test]
fn edge_corpus_eml_tree_reads_back_byte_identical() {
    let am = Archimap::new();
    am.add_user("alice");
    let source = unique(hashes_by_folder(&edge_eml(), &is_eml));
    let total: usize = hashes_by_folder(&edge_eml(), &is_eml)
        .values()
        .map(Vec::len)
        .sum();
    assert_eq!(total, 667, "the edge corpus changed");

    let (imported, duplicates, unparsed, failed) =
        am.import(&["--user", "alice", edge_eml().to_str().unwrap()]);
    let distinct: usize = source.values().map(Vec::len).sum();
    assert_eq!(imported as usize, distinct);
    assert_eq!((imported + duplicates) as usize, total);
    assert_eq!(failed, 0);
    // The zero-byte message and the headerless ones are kept, unparsed.
    assert!(unparsed >= 2, "unparsed {unparsed}");
    assert_eq!(am.exported("alice"), source);
}

#[test]
fn edge_corpus_mbox_unquotes_from_lines() {
    let am = Archimap::new();
    am.add_user("alice");
    let mbox = common::shared_dir().join("corpus/edge/edge.mbox");
    let (imported, duplicates, _, failed) = am.import(&[
        "--user",
        "alice",
        "--folder",
        "Edge",
        mbox.to_str().unwrap(),
    ]);
    assert_eq!(failed, 0);
    assert_eq!(imported + duplicates, 667);

    // The mbox holds each .eml with a final line break added where it had
    // none (mboxrd cannot say otherwise); all else must come back exact.
    let mut expected: Vec<String> = Vec::new();
    let mut stack = vec![edge_eml()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let mut bytes = fs::read(&path).unwrap();
                if !bytes.ends_with(b"\n") {
                    bytes.push(b'\n');
                }
                expected.push(sha256_hex(&bytes));
            }
        }
    }
    expected.sort();
    expected.dedup();
    let exported = am.exported("alice");
    assert_eq!(exported.keys().collect::<Vec<_>>(), vec!["Edge"]);
    assert_eq!(exported["Edge"], expected);
}

#[test]
fn mboxo_and_mboxrd_quoting() {
    let am = Archimap::new();
    am.add_user("alice");
    let mbox = am.dir.path().join("q.mbox");
    fs::write(
        &mbox,
        "From a@b Mon Jan  1 00:00:00 2024\nSubject: q\n\n>From one\n>>From two\n\n\
         From a@b Mon Jan  1 00:00:01 2024\nSubject: r\n\nplain\n\n",
    )
    .unwrap();
    am.import(&["--user", "alice", "--folder", "rd", mbox.to_str().unwrap()]);
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "o",
        "--mbox-format",
        "mboxo",
        mbox.to_str().unwrap(),
    ]);
    let exported = am.exported("alice");
    let rd = sha256_hex(b"Subject: q\n\nFrom one\n>From two\n");
    let o = sha256_hex(b"Subject: q\n\nFrom one\n>>From two\n");
    let plain = sha256_hex(b"Subject: r\n\nplain\n");
    assert!(
        exported["rd"].contains(&rd) && exported["rd"].contains(&plain),
        "{exported:?}"
    );
    assert!(
        exported["o"].contains(&o) && exported["o"].contains(&plain),
        "{exported:?}"
    );
}

#[test]
fn maildir_with_subfolders_and_flags() {
    let am = Archimap::new();
    am.add_user("bob");
    let root = am.dir.path().join("Maildir");
    let message = |n: u32| format!("From: x@example.org\r\nSubject: m{n}\r\n\r\nbody {n}\r\n");
    for (dir, name, n) in [
        ("cur", "1700000000.M1P1.host:2,S", 1),
        ("new", "1700000001.M2P1.host", 2),
        (".Sent/cur", "1700000002.M3P1.host:2,RS", 3),
        (".Projects.Acme/cur", "1700000003.M4P1.host:2,F", 4),
        (".Projects/cur", "1700000004.M5P1.host:2,", 5),
    ] {
        let path = root.join(dir);
        fs::create_dir_all(&path).unwrap();
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(path.parent().unwrap().join(sub)).unwrap();
        }
        fs::write(path.join(name), message(n)).unwrap();
    }
    let (imported, ..) = am.import(&["--user", "bob", root.to_str().unwrap()]);
    assert_eq!(imported, 5);
    let tree = am.ok(&["folders", "--user", "bob"]);
    assert_eq!(
        tree, "bob (4 folders, 5 messages)\n  Inbox  2\n  Projects  1\n    Acme  1\n  Sent  1\n",
        "{tree}"
    );
    let exported = am.exported("bob");
    assert_eq!(
        exported["Projects/Acme"],
        vec![sha256_hex(message(4).as_bytes())]
    );
}

#[test]
fn single_files_and_folder_option() {
    let am = Archimap::new();
    am.add_user("carol");
    let eml = am.dir.path().join("one.eml");
    fs::write(&eml, "Subject: one\r\n\r\nx\r\n").unwrap();
    let mbox = am.dir.path().join("Old Mail.mbox");
    fs::write(
        &mbox,
        "From x Mon Jan  1 00:00:00 2024\nSubject: two\n\ny\n\n",
    )
    .unwrap();
    am.import(&[
        "--user",
        "carol",
        eml.to_str().unwrap(),
        mbox.to_str().unwrap(),
    ]);
    am.import(&[
        "--user",
        "carol",
        "--folder",
        "Imported/2024",
        mbox.to_str().unwrap(),
    ]);
    let tree = am.ok(&["folders", "--user", "carol"]);
    assert_eq!(
        tree,
        "carol (4 folders, 3 messages)\n  Imported  0\n    2024  1\n  Inbox  1\n  Old Mail  1\n",
        "{tree}"
    );
}

#[test]
fn reimport_adds_nothing_and_identical_bytes_are_stored_once() {
    let am = Archimap::new();
    am.add_user("dave");
    let dir = am.dir.path().join("src");
    fs::create_dir_all(dir.join("A")).unwrap();
    fs::create_dir_all(dir.join("B")).unwrap();
    let bytes = "Subject: same\r\n\r\nthe same bytes, filed twice\r\n".repeat(200);
    fs::write(dir.join("A/1.eml"), &bytes).unwrap();
    fs::write(dir.join("A/2.eml"), &bytes).unwrap(); // same folder: a duplicate
    fs::write(dir.join("B/1.eml"), &bytes).unwrap(); // other folder: a second entry
    assert_eq!(
        am.import(&["--user", "dave", dir.to_str().unwrap()]),
        (2, 1, 0, 0)
    );
    assert_eq!(
        am.import(&["--user", "dave", dir.to_str().unwrap()]),
        (0, 3, 0, 0)
    );

    let catalog = rusqlite::Connection::open(am.data_dir().join("catalog.sqlite")).unwrap();
    let (blobs, refcount): (i64, i64) = catalog
        .query_row("SELECT count(*), sum(refcount) FROM blobs", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((blobs, refcount), (1, 2));
    let packs: u64 = fs::read_dir(am.data_dir().join("stores/main/packs"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(
        packs < bytes.len() as u64 / 4,
        "stored once and compressed: {packs} bytes"
    );
    am.ok(&["verify"]);
}

#[test]
fn unparseable_messages_are_archived_verbatim() {
    let am = Archimap::new();
    am.add_user("erin");
    let dir = am.dir.path().join("odd");
    fs::create_dir_all(&dir).unwrap();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let cases: [(&str, &[u8]); 3] = [
        ("empty.eml", b""),
        ("binary.eml", &garbage),
        ("blank-first-line.eml", b"\r\nno headers at all\r\n"),
    ];
    for (name, bytes) in cases {
        fs::write(dir.join(name), bytes).unwrap();
    }
    let (imported, _, unparsed, failed) =
        am.import(&["--user", "erin", "--folder", "Odd", dir.to_str().unwrap()]);
    assert_eq!((imported, failed), (3, 0));
    // mail-parser finds "headers" in random bytes; the other two have none.
    assert_eq!(unparsed, 2);
    let mut expected: Vec<String> = cases.iter().map(|(_, b)| sha256_hex(b)).collect();
    expected.sort();
    assert_eq!(
        am.exported("erin"),
        BTreeMap::from([("Odd".to_string(), expected)])
    );
}

#[test]
fn generated_archive_of_5000_messages_reads_back_byte_identical() {
    let corpus = generated_corpus(5000, 6, 7, &["--max-attach-kb", "256"]);
    let am = Archimap::new();
    let out = am.ok(&[
        "import",
        "--bulk",
        corpus.to_str().unwrap(),
        "--create-users",
    ]);
    let (imported, duplicates, unparsed, failed) = common::summary_counts(&out);
    assert_eq!(
        (imported + duplicates, unparsed, failed),
        (5000, 0, 0),
        "{out}"
    );
    let mut users: Vec<String> = fs::read_dir(&corpus)
        .unwrap()
        .filter_map(|e| {
            e.ok()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
        })
        .collect();
    users.sort();
    assert_eq!(users.len(), 6);
    for user in users {
        let source = unique(hashes_by_folder(&corpus.join(&user), &is_eml));
        assert_eq!(am.exported(&user), source, "archive of {user}");
    }
    am.ok(&["verify"]);
}

/// Two imports into one store at once: the second waits for the first's
/// write lock and must not cut off what the first committed meanwhile.
#[test]
fn concurrent_imports_into_one_store_lose_nothing() {
    let am = Archimap::new();
    am.add_user("erin");
    let mut sources = Vec::new();
    for name in ["one", "two", "three"] {
        let dir = am.dir.path().join(name);
        fs::create_dir_all(&dir).unwrap();
        for i in 0..300 {
            fs::write(
                dir.join(format!("{i}.eml")),
                format!(
                    "Subject: {name} {i}\r\n\r\n{}\r\n",
                    format!("{name} {i} ").repeat(50)
                ),
            )
            .unwrap();
        }
        sources.push(dir);
    }
    let imports: Vec<Vec<String>> = sources
        .iter()
        .map(|dir| {
            let folder = dir.file_name().unwrap().to_str().unwrap();
            let path = dir.to_str().unwrap();
            ["import", "--user", "erin", "--folder", folder, path]
                .map(String::from)
                .to_vec()
        })
        .collect();
    am.ok_at_once(&imports);
    am.ok(&["verify"]);
    let exported = am.exported("erin");
    for name in ["one", "two", "three"] {
        assert_eq!(
            exported.get(name).map(Vec::len),
            Some(300),
            "{name}: {:?}",
            exported.keys()
        );
    }
}

/// A tree whose directories hold symbolic links back up the tree: every
/// level doubles the paths through it, so following them would walk for
/// ever (or until the 64-level folder limit, after 2^64 steps). The links
/// are skipped and said so; the real messages are imported.
#[test]
fn symbolic_links_to_directories_are_not_followed() {
    let am = Archimap::new();
    am.add_user("alice");
    let tree = am.dir.path().join("tree");
    let deeper = tree.join("Projects/Deeper");
    fs::create_dir_all(&deeper).unwrap();
    let message = b"From: a@example.com\r\nSubject: linked\r\n\r\nbody\r\n";
    fs::write(tree.join("Projects/a.eml"), message).unwrap();
    fs::write(
        deeper.join("b.eml"),
        b"From: b@example.com\r\n\r\nother\r\n",
    )
    .unwrap();
    for (link, target) in [
        ("Projects/up", ".."),
        ("Projects/again", "."),
        ("Projects/Deeper/up", "../.."),
        ("Projects/Deeper/side", ".."),
    ] {
        std::os::unix::fs::symlink(target, tree.join(link)).unwrap();
    }
    let started = std::time::Instant::now();
    let out = am.ok(&["import", "--user", "alice", tree.to_str().unwrap()]);
    assert!(
        started.elapsed().as_secs() < 30,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(common::summary_counts(&out), (2, 0, 0, 0), "{out}");
    assert_eq!(
        out.matches("a symbolic link to a directory, not followed")
            .count(),
        4,
        "{out}"
    );
    let exported = am.exported("alice");
    assert_eq!(
        exported.keys().collect::<Vec<_>>(),
        vec!["Projects", "Projects/Deeper"]
    );
}
