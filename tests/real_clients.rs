//! Real IMAP clients against archimap: Python's imaplib over implicit TLS
//! and STARTTLS, and mbsync mirroring a whole view into a Maildir.

mod common;

use std::process::Command;

use common::Archimap;
use common::imap::Server;

fn archive() -> Archimap {
    let am = Archimap::new();
    am.ok(&["user", "add", "alice", "--password", "wonderland"]);
    am.ok(&["user", "add", "bob", "--password", "builder"]);
    let crafted = common::edge_eml().join("crafted");
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Inbox",
        common::edge_eml().join("cpython").to_str().unwrap(),
    ]);
    am.import(&[
        "--user",
        "alice",
        "--folder",
        "Edge/crafted",
        crafted.to_str().unwrap(),
    ]);
    am.import(&[
        "--user",
        "bob",
        "--folder",
        "Inbox",
        crafted.to_str().unwrap(),
    ]);
    am.ok(&["grant", "alice", "bob", "read"]);
    am
}

#[test]
fn python_imaplib() {
    let am = archive();
    let server = Server::start(&am);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/imaplib_smoke.py"
    );
    let ca = am.data_dir().join("tls/self-signed-cert.pem");
    let out = Command::new("python3")
        .arg(script)
        .args([
            &server.imaps.to_string(),
            &server.starttls.to_string(),
            ca.to_str().unwrap(),
            "alice",
            "wonderland",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 passed, 0 failed"), "{stdout}");
}

/// Counts message files in every Maildir under `root`, by folder.
fn maildir_counts(root: &std::path::Path) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if !path.is_dir() {
                continue;
            }
            match path.file_name().unwrap().to_str().unwrap() {
                "cur" | "new" => {
                    let folder = dir
                        .strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    *counts.entry(folder).or_insert(0) += std::fs::read_dir(&path).unwrap().count();
                }
                "tmp" => {}
                _ => stack.push(path),
            }
        }
    }
    counts
}

#[test]
fn mbsync_mirrors_the_whole_view() {
    let am = archive();
    let server = Server::start(&am);
    let mirror = am.dir.path().join("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    let config = am.dir.path().join("mbsyncrc");
    let ca = am.data_dir().join("tls/self-signed-cert.pem");
    std::fs::write(
        &config,
        format!(
            "IMAPAccount archive\nHost 127.0.0.1\nPort {port}\nUser alice\nPass wonderland\nSSLType IMAPS\n\
             CertificateFile {ca}\n\nIMAPStore remote\nAccount archive\n\n\
             MaildirStore local\nPath {dir}/\nInbox {dir}/INBOX\nSubFolders Verbatim\n\n\
             Channel mirror\nFar :remote:\nNear :local:\nPatterns *\nCreate Near\nSync Pull\nSyncState *\n",
            port = server.imaps.port(),
            ca = ca.display(),
            dir = mirror.display()
        ),
    )
    .unwrap();
    let out = Command::new("mbsync")
        .arg("-c")
        .arg(&config)
        .arg("-a")
        .output()
        .expect("mbsync (Debian isync) runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let counts = maildir_counts(&mirror);
    // Every folder of the view, with its messages; mbsync skips two of the
    // 58 crafted ones itself ("incomplete header"): the zero-byte message
    // and the one whose header never ends.
    let crafted = 58 - 2;
    let expected: std::collections::BTreeMap<String, usize> = [
        ("INBOX", 3),
        ("Edge", 0),
        ("Edge/crafted", crafted),
        ("Other Users/bob/Inbox", crafted),
    ]
    .into_iter()
    .map(|(f, n)| (f.to_string(), n))
    .collect();
    assert_eq!(counts, expected);
    assert!(
        am.ok(&["folders", "--user", "alice"])
            .contains("crafted  58"),
        "the archive holds all 58"
    );
}

/// imapflow, the Node.js IMAP library, with COMPRESS, CONDSTORE and
/// QRESYNC on (`tests/clients/imapflow/sync.mjs`): its resync after
/// another session flagged and expunged messages hears exactly those
/// changes, and its local copy then equals the server's state.
#[test]
fn imapflow_resyncs_with_qresync_over_compress() {
    let am = archive();
    am.ok(&["grant", "bob", "bob", "read,write,delete"]);
    let server = Server::start(&am);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/imapflow");
    assert!(
        std::path::Path::new(dir)
            .join("node_modules/imapflow")
            .is_dir(),
        "imapflow is not installed: scripts/test installs it (npm ci in {dir})"
    );
    let ca = am.data_dir().join("tls/self-signed-cert.pem");
    let out = Command::new("node")
        .current_dir(dir)
        .args(["sync.mjs", &server.imaps.port().to_string()])
        .args([ca.to_str().unwrap(), "bob", "builder"])
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["compressed"], true, "{result}");
    assert_eq!(
        result["enabled"],
        // imapflow turns UTF8=ACCEPT on too, where it is offered: its
        // mailbox names then travel as UTF-8, and the sync holds all the same.
        serde_json::json!(["CONDSTORE", "QRESYNC", "UTF8=ACCEPT"]),
        "{result}"
    );
    let listed = result["listed"].as_array().unwrap();
    assert!(
        listed.contains(&serde_json::json!("Ärger & Co")),
        "{result}"
    );
    // Of the UIDs it knew, the second and fourth were flagged, the third
    // expunged: told as VANISHED (EARLIER) and FETCH (UID FLAGS MODSEQ).
    let vanished = result["vanished"].as_array().unwrap();
    assert_eq!(vanished.len(), 1, "{result}");
    let changed = result["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 2, "{result}");
    assert!(
        changed
            .iter()
            .all(|c| c["modseq"].as_str().unwrap().parse::<u64>().unwrap()
                > result["highestModseq"].as_str().unwrap().parse().unwrap()),
        "{result}"
    );
    assert_eq!(result["matches"], true, "{result}");
}
