//! Bad input gets a clear error and changes nothing.

mod common;

use std::fs;

use common::Archimap;

/// Everything a change could touch, as the CLI shows it.
fn state(am: &Archimap) -> String {
    ["folders", "store list", "user list", "user show alice"]
        .iter()
        .map(|cmd| am.ok(&cmd.split(' ').collect::<Vec<_>>()))
        .collect()
}

fn setup() -> (Archimap, std::path::PathBuf) {
    let am = Archimap::new();
    am.add_user("alice");
    let good = am.dir.path().join("good.eml");
    fs::write(&good, "Subject: fine\r\n\r\nfine\r\n").unwrap();
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Kept",
        good.to_str().unwrap(),
    ]);
    (am, good)
}

#[test]
fn missing_file() {
    let (am, good) = setup();
    let before = state(&am);
    let err = am.fails(&[
        "import",
        "--user",
        "alice",
        good.to_str().unwrap(),
        "/nonexistent/x.eml",
    ]);
    assert!(
        err.contains("/nonexistent/x.eml") && err.contains("No such file"),
        "{err}"
    );
    assert_eq!(state(&am), before);
}

#[test]
fn file_that_cannot_be_read() {
    let (am, good) = setup();
    let before = state(&am);
    // A FIFO would block a naive reader forever; it must be refused at once.
    let fifo = am.dir.path().join("pipe.mbox");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let err = am.fails(&[
        "import",
        "--user",
        "alice",
        good.to_str().unwrap(),
        fifo.to_str().unwrap(),
    ]);
    assert!(err.contains("not a regular file"), "{err}");
    // A directory entry that cannot be listed.
    let dir = am.dir.path().join("locked");
    fs::create_dir(&dir).unwrap();
    let link = dir.join("dangling.eml");
    std::os::unix::fs::symlink("/nonexistent/target.eml", &link).unwrap();
    let err = am.fails(&["import", "--user", "alice", dir.to_str().unwrap()]);
    assert!(err.contains("dangling.eml"), "{err}");
    assert_eq!(state(&am), before);
}

#[test]
fn truncated_mbox() {
    let (am, good) = setup();
    let before = state(&am);
    let mbox = am.dir.path().join("cut.mbox");
    fs::write(&mbox, "From a Mon Jan  1 00:00:00 2024\nSubject: 1\n\none\n\nFrom a Mon Jan  1 00:00:00 2024\nSubject: 2\n\ntw").unwrap();
    let err = am.fails(&[
        "import",
        "--user",
        "alice",
        good.to_str().unwrap(),
        mbox.to_str().unwrap(),
    ]);
    assert!(
        err.contains("cut.mbox") && err.contains("truncated"),
        "{err}"
    );
    let not_mbox = am.dir.path().join("notes.mbox");
    fs::write(&not_mbox, "just some text\n").unwrap();
    let err = am.fails(&["import", "--user", "alice", not_mbox.to_str().unwrap()]);
    assert!(err.contains("not an mbox"), "{err}");
    assert_eq!(state(&am), before);
}

#[test]
fn unknown_user() {
    let (am, good) = setup();
    let before = state(&am);
    let err = am.fails(&["import", "--user", "mallory", good.to_str().unwrap()]);
    assert!(err.contains("user mallory not found"), "{err}");
    let bulk = am.dir.path().join("bulk");
    fs::create_dir_all(bulk.join("alice")).unwrap();
    fs::create_dir_all(bulk.join("nobody")).unwrap();
    fs::copy(&good, bulk.join("alice/new.eml")).unwrap();
    fs::copy(&good, bulk.join("nobody/1.eml")).unwrap();
    let err = am.fails(&["import", "--bulk", bulk.to_str().unwrap()]);
    assert!(
        err.contains("user nobody not found") && err.contains("--create-users"),
        "{err}"
    );
    assert_eq!(
        state(&am),
        before,
        "alice's part of the bulk import must not have run"
    );
}

#[test]
fn invalid_privilege_strings() {
    let (am, _) = setup();
    am.add_user("bob");
    let before = state(&am);
    for bad in ["reed", "read,,write", "none,read", ""] {
        let err = am.fails(&["grant", "alice", "bob", bad]);
        assert!(err.contains("privilege"), "{bad:?}: {err}");
    }
    let err = am.fails(&["grant", "alice", "nosuch", "read"]);
    assert!(err.contains("archive nosuch not found"), "{err}");
    let err = am.fails(&["user", "set-privileges", "alice", "admin,login"]);
    assert!(err.contains("admin"), "{err}");
    let err = am.fails(&[
        "user",
        "add",
        "carol",
        "--password",
        "x",
        "--privileges",
        "login,fly",
    ]);
    assert!(err.contains("fly"), "{err}");
    assert_eq!(state(&am), before);
}

#[test]
fn import_into_write_protected_or_disabled_store() {
    let (am, good) = setup();
    am.ok(&["store", "create", "old"]);
    let other = am.dir.path().join("other.eml");
    fs::write(&other, "Subject: other\r\n\r\nother\r\n").unwrap();
    for state_name in ["writeProtected", "disabled"] {
        am.ok(&["store", "set-state", "old", state_name]);
        let before = state(&am);
        let err = am.fails(&[
            "import",
            "--user",
            "alice",
            "--store",
            "old",
            other.to_str().unwrap(),
        ]);
        let expected = if state_name == "disabled" {
            "is disabled"
        } else {
            "is write-protected"
        };
        assert!(err.contains(expected), "{err}");
        assert_eq!(state(&am), before);
    }
    // A normal store takes messages; the current one stays current.
    am.ok(&["store", "set-state", "old", "normal"]);
    let (imported, ..) = am.import(&[
        "--user",
        "alice",
        "--store",
        "old",
        other.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(imported, 2);
    am.ok(&["verify"]);
}
