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

/// alice's other mailboxes, for both servers: a directory of messages
/// each, by mailbox name (`conformance/mailboxes/NAME/`).
fn mailboxes() -> Vec<(String, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/mailboxes");
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_str().unwrap().to_string(),
                path,
            )
        })
        .collect();
    found.sort();
    found
}

/// The `# setup:` line of a script: what the archive must look like for it
/// (scripts without one share the default archive).
fn setup(script: &Path) -> Option<String> {
    std::fs::read_to_string(script)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# setup: ").map(str::to_string))
}

fn run(args: &[&str], scripts: &[PathBuf]) -> String {
    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/run.py");
    let out = Command::new("python3")
        .arg(runner)
        .args(args)
        .args(scripts)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{} passed, 0 failed", scripts.len())),
        "{stdout}"
    );
    stdout
}

/// alice and bob, each with the test inbox, alice also with the mailboxes
/// of `conformance/mailboxes`; alice may read bob's archive.
/// A setup (`privileges=P condition=C`) also gives alice folder Old, the
/// privileges P on her own archive, and C: `normal`, `writeProtected` or
/// `disabled` (the store holding all of it in that state, a new one
/// current), or `legalHold`.
fn archive(setup: Option<&str>) -> Archimap {
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
    for (name, messages) in mailboxes() {
        am.import(&[
            "--user",
            "alice",
            "--folder",
            &name,
            messages.to_str().unwrap(),
        ]);
    }
    am.ok(&["grant", "alice", "bob", "read"]);
    let Some(setup) = setup else {
        return am;
    };
    let value = |key: &str| {
        setup
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("setup {setup:?} lacks {key}"))
    };
    let old = am.dir.path().join("old.eml");
    std::fs::write(&old, "Subject: old\r\n\r\nold\r\n").unwrap();
    am.import(&["--user", "alice", "--folder", "Old", old.to_str().unwrap()]);
    am.ok(&["grant", "alice", "alice", value("privileges")]);
    match value("condition") {
        "normal" => {}
        "legalHold" => {
            am.ok(&["compliance", "legal-hold", "on"]);
        }
        state @ ("writeProtected" | "disabled") => {
            am.ok(&["store", "create", "second"]);
            am.ok(&["store", "set-state", "second", "current"]);
            am.ok(&["store", "set-state", "main", state]);
        }
        other => panic!("unknown condition {other}"),
    }
    am
}

fn run_against_archimap(am: &Archimap, scripts: &[PathBuf]) -> String {
    let server = Server::start(am);
    let ca = am.data_dir().join("tls/self-signed-cert.pem");
    run(
        &[
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
        ],
        scripts,
    )
}

#[test]
fn every_script_passes_against_archimap() {
    let (plain, set_up): (Vec<PathBuf>, Vec<PathBuf>) =
        scripts().into_iter().partition(|s| setup(s).is_none());
    run_against_archimap(&archive(None), &plain);
    for script in set_up {
        run_against_archimap(&archive(setup(&script).as_deref()), &[script]);
    }
}

/// The plain-RFC scripts against a private Dovecot with the same inbox.
#[test]
fn plain_rfc_scripts_pass_against_dovecot() {
    let Some(dovecot) = Dovecot::start(12243, 12893) else {
        return;
    };
    dovecot.load("INBOX", &inbox_messages());
    for (name, messages) in mailboxes() {
        dovecot.load(&name, &messages);
    }
    let rfc: Vec<PathBuf> = scripts()
        .into_iter()
        .filter(|p| std::fs::read_to_string(p).unwrap().contains("# scope: rfc"))
        .collect();
    run(
        &[
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
        ],
        &rfc,
    );
}
