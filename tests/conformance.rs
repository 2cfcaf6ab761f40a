//! The conformance scripts (`conformance/scripts`), played by
//! `conformance/run.py` against archimap, and the plain-RFC ones against
//! Dovecot holding the same messages: proof that they test IMAP, not
//! archimap's own quirks.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Archimap;
use common::dovecot::Dovecot;
use common::imap::Server;

fn scripts() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/scripts");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    scripts.sort();
    scripts
}

/// Three messages in the inbox, for both servers.
fn inbox_messages() -> PathBuf {
    common::edge_eml().join("cpython")
}

fn run(args: &[&str]) -> String {
    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/run.py");
    let out = Command::new("python3")
        .arg(runner)
        .args(args)
        .args(scripts())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn every_script_passes_against_archimap() {
    let am = Archimap::new();
    am.ok(&["user", "add", "alice", "--password", "wonderland"]);
    am.ok(&["user", "add", "bob", "--password", "builder"]);
    for user in ["alice", "bob"] {
        am.import(&[
            "--user",
            user,
            "--folder",
            "Inbox",
            inbox_messages().to_str().unwrap(),
        ]);
    }
    am.ok(&["grant", "alice", "bob", "read"]);
    let server = Server::start(&am);
    let ca = am.data_dir().join("tls/self-signed-cert.pem");
    let out = run(&[
        "--imaps-port",
        &server.imaps.port().to_string(),
        "--starttls-port",
        &server.starttls.port().to_string(),
        "--user",
        "alice",
        "--password",
        "wonderland",
        "--user2",
        "bob",
        "--cafile",
        ca.to_str().unwrap(),
    ]);
    assert!(
        out.contains(&format!("{} passed, 0 failed", scripts().len())),
        "{out}"
    );
}

/// The plain-RFC scripts against a private Dovecot with the same inbox.
#[test]
fn plain_rfc_scripts_pass_against_dovecot() {
    let Some(dovecot) = Dovecot::start(12243, 12893) else {
        return;
    };
    dovecot.load("INBOX", &inbox_messages());
    let out = run(&[
        "--imaps-port",
        &dovecot.imaps.to_string(),
        "--starttls-port",
        &dovecot.starttls.to_string(),
        "--user",
        "usera",
        "--password",
        "oraclepw",
        "--insecure",
        "--scope",
        "rfc",
    ]);
    let rfc = scripts()
        .iter()
        .filter(|p| std::fs::read_to_string(p).unwrap().contains("# scope: rfc"))
        .count();
    assert!(out.contains(&format!("{rfc} passed, 0 failed")), "{out}");
}
