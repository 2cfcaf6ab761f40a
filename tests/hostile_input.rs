//! Hostile attachments and MIME bombs (issue 13), through the real
//! interfaces: `archimap import`, APPEND over TLS, `archimap index
//! rebuild | verify | list` and a server reconciling its index on start.
//! Each hostile mail is archived verbatim, the process that read it stays
//! up with bounded memory and CPU, its other text is found, its attachment
//! is counted as not extracted, and a normal PDF archived afterwards is
//! indexed. The mails come from `common::hostile`.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Archimap;
use common::hostile;
use common::imap::{Client, Server};

const GIB: usize = 1 << 30;

/// A short attachment time limit, so that hangs cost the test little.
const HANGS: &str = "[index]\nattachment_seconds = 2\n";
/// Enough time for a bomb to reach the memory limit on a busy machine.
const BOMBS: &str = "[index]\nattachment_seconds = 8\n";

fn config_file(am: &Archimap) -> std::path::PathBuf {
    let path = am.dir.path().join("hostile.toml");
    std::fs::write(&path, BOMBS).unwrap();
    path
}

/// Runs `archimap --config hostile.toml ARGS`, asserts success, and
/// returns stdout and the process's peak RSS in KiB (read from /proc while
/// it runs).
fn run_measured(am: &Archimap, args: &[&str]) -> (String, u64) {
    let mut child = am
        .command()
        .arg("--config")
        .arg(config_file(am))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        if let Some(kib) = common::peak_rss_kib(child.id()) {
            peak = peak.max(kib);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "archimap {args:?}: {:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    (stdout, peak)
}

fn login(server: &Server) -> Client {
    let mut c = server.connect_tls();
    c.line();
    assert!(c.answer("l", "LOGIN alice secret").starts_with("l OK"));
    c
}

/// How many messages of the selected mailbox match.
fn count(c: &mut Client, criteria: &str) -> usize {
    let lines = c.command("u", &format!("UID SEARCH {criteria}"));
    assert!(
        lines.last().unwrap().starts_with("u OK"),
        "{criteria}: {lines:?}"
    );
    let line = lines.iter().find(|l| l.starts_with("* SEARCH")).unwrap();
    line["* SEARCH".len()..].split_whitespace().count()
}

fn append(c: &mut Client, tag: &str, message: &[u8]) {
    c.send(&format!("{tag} APPEND Hostile {{{}}}\r\n", message.len()));
    let go = c.line();
    assert!(go.starts_with('+'), "{go}");
    c.send_bytes(message);
    c.send("\r\n");
    let answer = c.until(tag);
    assert!(
        answer.last().unwrap().starts_with(&format!("{tag} OK")),
        "{answer:?}"
    );
    // The server answers the next command.
    assert!(c.answer("n", "NOOP").starts_with("n OK"));
}

/// `archimap index verify` once the index is in step with the catalog
/// (APPENDed messages are indexed in batches).
fn verified_in_step(am: &Archimap) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = am.run(&["index", "verify"]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if stdout.contains(": 0 messages pending (not indexed yet; ")
            && stdout.contains(", 0 documents of unknown")
        {
            return stdout;
        }
        assert!(Instant::now() < deadline, "{stdout}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn write_mails(dir: &Path, mails: &[(&str, Vec<u8>)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, mail) in mails {
        std::fs::write(dir.join(format!("{name}.eml")), mail).unwrap();
    }
}

/// Item 1 and 3 through the command line and the server's start: a PDF
/// whose Form XObject draws itself, a 1 GiB Flate bomb, DOCX and ODT zip
/// bombs and MIME nesting bombs are imported (the import used to abort on
/// the first, every time), `index rebuild` and the server's reconciliation
/// read them again without dying, and the counts say what was not
/// extracted.
#[test]
fn an_import_of_hostile_mail_files_everything_and_reports_what_was_not_extracted() {
    let am = Archimap::new();
    am.add_user("alice");
    let mails = [
        (
            "selfdrawn",
            hostile::pdf_mail("selfdrawn", &hostile::self_drawing_pdf()),
        ),
        (
            "flatebomb",
            hostile::pdf_mail("flatebomb", &hostile::flate_bomb_pdf(GIB)),
        ),
        (
            "docxbomb",
            hostile::mail_with_attachment(
                "docxbomb",
                "bomb.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                &hostile::docx_bomb(GIB),
            ),
        ),
        (
            "odtbomb",
            hostile::mail_with_attachment(
                "odtbomb",
                "bomb.odt",
                "application/vnd.oasis.opendocument.text",
                &hostile::odt_bomb(GIB),
            ),
        ),
        ("deepmulti", hostile::deep_multipart("deepmulti", 5000)),
        ("deeprfc", hostile::deep_rfc822("deeprfc", 5000)),
        (
            "afterwards",
            hostile::pdf_mail("afterwards", &hostile::normal_pdf("quetzalpdf totals")),
        ),
    ];
    let dir = am.dir.path().join("hostile");
    write_mails(&dir, &mails);
    let (out, peak) = run_measured(
        &am,
        &[
            "import",
            "--user",
            "alice",
            "--folder",
            "Hostile",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(common::summary_counts(&out).0, mails.len() as u64, "{out}");
    // The bombs are inflated (if at all) in worker processes only.
    assert!(peak < 300 << 10, "import peak RSS {peak} KiB");

    // Archived verbatim.
    let exported = am.exported("alice");
    let mut stored: Vec<String> = exported["Hostile"].clone();
    stored.sort();
    let mut expected: Vec<String> = mails.iter().map(|(_, m)| common::sha256_hex(m)).collect();
    expected.sort();
    assert_eq!(stored, expected);

    let verify = am.ok(&["index", "verify"]);
    assert!(
        verify.contains(": 0 messages pending (not indexed yet; "),
        "{verify}"
    );
    // The self-drawing PDF overflows the worker's stack; the Flate bomb and
    // the zip bombs (a member is read to 128 MiB) exceed its memory.
    let counts = "4 attachments not extracted (crashed 1, memory 3)";
    assert!(verify.contains(counts), "{verify}");
    let list = am.ok(&["index", "list"]);
    assert!(list.contains(counts), "{list}");

    let (rebuilt, peak) = run_measured(&am, &["index", "rebuild"]);
    assert!(
        rebuilt.contains(&format!("{} messages indexed, 0 unreadable", mails.len())),
        "{rebuilt}"
    );
    assert!(rebuilt.contains(counts), "{rebuilt}");
    assert!(peak < 300 << 10, "rebuild peak RSS {peak} KiB");

    // A server whose index lacks these documents reads them again on start.
    std::fs::remove_dir_all(am.data_dir().join("stores/main/index")).unwrap();
    let server = Server::start_with_config(&am, BOMBS);
    let start = Instant::now();
    while !server.logged("full-text index reconciled") {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no reconciliation"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut c = login(&server);
    assert!(c.answer("s", "SELECT Hostile").starts_with("s OK"));
    for (word, _) in &mails {
        assert_eq!(count(&mut c, &format!("BODY {word}")), 1, "{word}");
    }
    assert_eq!(count(&mut c, "BODY quetzalpdf"), 1);
    assert!(server.logged("attachment text not extracted"));
    assert!(
        server.status_kib("VmHWM") < 300 << 10,
        "server peak RSS {} KiB",
        server.status_kib("VmHWM")
    );
}

/// Item 2 over IMAP: PDFs whose page is its own /Parent hang the parser.
/// Each APPEND costs the time limit and no more: the worker is killed, no
/// thread is left spinning, and extraction stays on — a normal PDF
/// APPENDed afterwards is indexed (it used to be skipped for the rest of
/// the process after four hangs).
#[test]
fn hanging_pdfs_cost_their_own_text_only() {
    let am = Archimap::new();
    am.add_user("alice");
    am.ok(&["grant", "alice", "alice", "read,write"]);
    let server = Server::start_with_config(&am, HANGS);
    let mut c = login(&server);
    assert!(c.answer("c", "CREATE Hostile").starts_with("c OK"));
    for i in 0..5 {
        let started = Instant::now();
        append(
            &mut c,
            &format!("a{i}"),
            &hostile::pdf_mail(&format!("hangs{i}"), &hostile::own_parent_pdf(i)),
        );
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "APPEND took {:?}",
            started.elapsed()
        );
    }
    append(
        &mut c,
        "p",
        &hostile::pdf_mail("afterwards", &hostile::normal_pdf("quetzalpdf totals")),
    );
    let verify = verified_in_step(&am);
    // Nothing spins on: the server is idle.
    server.assert_idle();
    assert!(c.answer("s", "SELECT Hostile").starts_with("s OK"));
    assert_eq!(
        count(&mut c, "BODY quetzalpdf"),
        1,
        "the PDF after the hangs"
    );
    assert_eq!(count(&mut c, "BODY hangs3"), 1);
    assert!(
        verify.contains("5 attachments not extracted (timeout 5)"),
        "{verify}"
    );
    assert!(server.logged("reason=timeout"));
}

/// Item 3 over IMAP: a 1.4 MB mail holding a 1 GiB Flate stream, a DOCX
/// zip bomb and MIME nesting bombs leave the server's memory bounded
/// (the Flate bomb alone took 2.1 GB), and their other text is found.
#[test]
fn bombs_appended_over_imap_leave_the_server_memory_bounded() {
    let am = Archimap::new();
    am.add_user("alice");
    am.ok(&["grant", "alice", "alice", "read,write"]);
    let server = Server::start_with_config(&am, BOMBS);
    let mut c = login(&server);
    assert!(c.answer("c", "CREATE Hostile").starts_with("c OK"));
    let bomb = hostile::pdf_mail("flatebomb", &hostile::flate_bomb_pdf(GIB));
    assert!(bomb.len() < 2_000_000, "{} bytes", bomb.len());
    append(&mut c, "a1", &bomb);
    append(
        &mut c,
        "a2",
        &hostile::mail_with_attachment(
            "docxbomb",
            "bomb.docx",
            "application/octet-stream",
            &hostile::docx_bomb(GIB),
        ),
    );
    append(&mut c, "a3", &hostile::deep_multipart("deepmulti", 5000));
    append(&mut c, "a4", &hostile::deep_rfc822("deeprfc", 5000));
    append(
        &mut c,
        "a5",
        &hostile::pdf_mail("afterwards", &hostile::normal_pdf("quetzalpdf totals")),
    );
    let verify = verified_in_step(&am);
    assert!(
        server.status_kib("VmHWM") < 300 << 10,
        "server peak RSS {} KiB",
        server.status_kib("VmHWM")
    );
    assert!(c.answer("s", "SELECT Hostile").starts_with("s OK"));
    for word in [
        "flatebomb",
        "docxbomb",
        "deepmulti",
        "deeprfc",
        "afterwards",
        "quetzalpdf",
    ] {
        assert_eq!(count(&mut c, &format!("BODY {word}")), 1, "{word}");
    }
    let fetched = c.command("f", "FETCH 1:* (BODYSTRUCTURE)");
    assert!(fetched.last().unwrap().starts_with("f OK"));
    assert!(
        verify.contains("2 attachments not extracted (memory 2)"),
        "{verify}"
    );
}
