//! `archimap verify` finds corrupted and missing bytes and wrong counts.

mod common;

use std::fs;
use std::os::unix::fs::FileExt;

use common::Archimap;

fn archive_with_messages() -> Archimap {
    let am = Archimap::new();
    am.add_user("alice");
    am.import(&[
        "--user",
        "alice",
        common::edge_eml().join("crafted").to_str().unwrap(),
    ]);
    assert!(am.ok(&["verify"]).contains("0 problem(s)"));
    am
}

fn catalog(am: &Archimap) -> rusqlite::Connection {
    rusqlite::Connection::open(am.data_dir().join("catalog.sqlite")).unwrap()
}

fn pack(am: &Archimap) -> std::path::PathBuf {
    am.data_dir().join("stores/main/packs/000001.pack")
}

#[test]
fn corrupted_blob() {
    let am = archive_with_messages();
    let (sha, offset, length): (String, u64, u64) = catalog(&am)
        .query_row(
            "SELECT lower(hex(sha256)), offset, length FROM blobs ORDER BY id LIMIT 1 OFFSET 5",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(pack(&am))
        .unwrap();
    let mut byte = [0u8];
    let at = offset + length / 2;
    file.read_exact_at(&mut byte, at).unwrap();
    file.write_all_at(&[byte[0] ^ 0x55], at).unwrap();
    let out = am.fails(&["verify"]);
    assert!(out.contains(&format!("problem: blob {sha}")), "{out}");
    assert!(out.contains("1 problem(s)"), "{out}");
}

#[test]
fn missing_blob() {
    let am = archive_with_messages();
    let blobs: i64 = catalog(&am)
        .query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))
        .unwrap();
    fs::remove_file(pack(&am)).unwrap();
    let out = am.fails(&["verify"]);
    assert!(
        out.contains("problem: store main: pack 1 is missing"),
        "{out}"
    );
    assert!(
        out.contains(&format!("{} problem(s)", blobs + 1)),
        "every message is reported: {out}"
    );
    // An import refuses to write into a store with missing data.
    let err = am.fails(&[
        "import",
        "--user",
        "alice",
        common::edge_eml().join("cpython").to_str().unwrap(),
    ]);
    assert!(err.contains("missing"), "{err}");
}

#[test]
fn truncated_pack() {
    let am = archive_with_messages();
    let file = fs::OpenOptions::new().write(true).open(pack(&am)).unwrap();
    let len = file.metadata().unwrap().len();
    file.set_len(len - 10).unwrap();
    let out = am.fails(&["verify"]);
    assert!(out.contains("shorter than its committed"), "{out}");
}

#[test]
fn wrong_reference_count() {
    let am = archive_with_messages();
    let sha: String = catalog(&am)
        .query_row(
            "SELECT hex(sha256) FROM blobs ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    catalog(&am)
        .execute(
            "UPDATE blobs SET refcount = refcount + 1 WHERE hex(sha256) = ?1",
            [&sha],
        )
        .unwrap();
    let out = am.fails(&["verify"]);
    assert!(
        out.contains(&format!(
            "problem: blob {sha} has reference count 2 but 1 message(s) refer to it"
        )),
        "{out}"
    );
}

#[test]
fn orphan_blob_and_broken_uid_counter() {
    let am = archive_with_messages();
    let db = catalog(&am);
    db.execute(
        "INSERT INTO blobs(sha256, store_id, size, crlf_size, pack, offset, length, refcount, parsed)
         SELECT randomblob(32), store_id, size, crlf_size, pack, offset, length, 0, 1 FROM blobs LIMIT 1",
        [],
    )
    .unwrap();
    db.execute("UPDATE folders SET uidnext = 2", []).unwrap();
    let out = am.fails(&["verify"]);
    assert!(out.contains("no message refers to it"), "{out}");
    assert!(out.contains("has UIDNEXT 2 but holds UID"), "{out}");
}
