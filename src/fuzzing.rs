//! Entry points for the `cargo fuzz` targets in `fuzz/` (feature
//! `fuzzing`): the parsers a client or a sender reaches that are not
//! public API. Each takes arbitrary bytes and must return; a panic, a hang
//! or unbounded memory is a finding.

use crate::imap::framing::{Frame, Limits, Literals, Reader};
use crate::import::mbox::{self, MboxFormat};

/// Reads commands off `data` as a session's reader does, with small
/// limits, until the input ends.
pub fn imap_frames(data: &[u8]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async {
        let mut stream = tokio::io::join(data, tokio::io::sink());
        let mut reader = Reader::default();
        let limits = Limits {
            max_line: 4096,
            literals: Literals::Any(64 * 1024),
        };
        while let Ok(frame) = reader.command(&mut stream, limits).await {
            if matches!(frame, Frame::Closed) {
                break;
            }
            reader.shrink();
        }
    });
}

/// Splits `data` as an mbox file and unquotes every message both ways.
pub fn mbox(data: &[u8]) {
    if let Ok(entries) = mbox::split(data) {
        for entry in entries {
            let message = &data[entry.range.clone()];
            let _ = mbox::unquote(message, MboxFormat::Mboxrd);
            let _ = mbox::unquote(message, MboxFormat::Mboxo);
        }
    }
}

/// Checks `data`, read as a form body, against every API function's
/// declared arguments.
pub fn api_arguments(data: &[u8]) {
    let fields: Vec<(String, String)> = form_urlencoded::parse(data)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for function in crate::api::functions::all() {
        let _ = crate::api::args::Args::check(function.name, function.args, fields.clone());
    }
}

/// Writes a small directory tree described by `data` under a new
/// temporary directory, plans its import as `archimap import` does (as it
/// is, and beneath a `--folder`), and reads every planned message. `data`
/// is NUL-separated pairs of a path and its content: a path ending in `/`
/// is a directory, content starting with `->` makes a symbolic link to
/// the rest (relative, as hostile trees hold them).
pub fn import_tree(data: &[u8]) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static RUN: AtomicU64 = AtomicU64::new(0);
    let root = std::env::temp_dir().join(format!(
        "archimap-fuzz-tree-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    let top = root.join("tree");
    if std::fs::create_dir_all(&top).is_ok() {
        write_tree(&top, data);
        read_plans(&top);
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// At most this many entries, this deep, with names this long: enough to
/// build any layout the planner distinguishes.
const TREE_ENTRIES: usize = 32;
const TREE_DEPTH: usize = 6;
const TREE_NAME: usize = 40;

fn write_tree(top: &std::path::Path, data: &[u8]) {
    let mut parts = data.split(|&b| b == 0);
    for _ in 0..TREE_ENTRIES {
        let (Some(name), content) = (parts.next(), parts.next().unwrap_or_default()) else {
            break;
        };
        let name = String::from_utf8_lossy(name);
        let components: Vec<String> = name
            .split('/')
            .filter(|c| !c.is_empty() && *c != "." && *c != "..")
            .take(TREE_DEPTH)
            .map(|c| c.chars().take(TREE_NAME).collect())
            .collect();
        if components.is_empty() {
            continue;
        }
        let path = components.iter().fold(top.to_path_buf(), |p, c| p.join(c));
        if name.ends_with('/') {
            let _ = std::fs::create_dir_all(&path);
            continue;
        }
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        match content.strip_prefix(b"->") {
            // Links stay relative and inside the tree's reach: `.`, `..`
            // and names, never an absolute path.
            Some(target) => {
                let target = String::from_utf8_lossy(target)
                    .trim_start_matches('/')
                    .to_string();
                let _ = std::os::unix::fs::symlink(target, &path);
            }
            None => {
                let _ = std::fs::write(&path, content);
            }
        }
    }
}

fn read_plans(top: &std::path::Path) {
    use crate::import::plan::{Plan, Source};
    let beneath = crate::archive::FolderPath::new("Archive").expect("a valid folder name");
    for folder in [None, Some(&beneath)] {
        let Ok(plan) = Plan::of_paths(&[top.to_path_buf()], folder, MboxFormat::Mboxrd) else {
            continue;
        };
        for job in &plan.jobs {
            match &job.source {
                Source::File { path, .. } => {
                    let _ = std::fs::read(path);
                }
                Source::Mbox { mbox, entry } => {
                    let _ = mbox::unquote(&mbox.data[entry.range.clone()], mbox.format);
                }
            }
        }
    }
}

/// Indexes a message whose one attachment is `data[1..]`, declared a PDF
/// (`data[0]` even) or a Word document (odd): the attachment's text is
/// read by an extraction worker, a process of the running binary (the
/// fuzz target answers `extract-worker` as `archimap` does, through
/// [`extract_worker_main`]).
pub fn extract_attachment(data: &[u8]) {
    use base64::Engine;
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let media_type = if selector % 2 == 0 {
        "application/pdf"
    } else {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(file);
    let message = format!(
        "From: a@example.com\r\nSubject: attachment\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
         Content-Type: text/plain\r\n\r\nsee attached\r\n--b\r\n\
         Content-Type: {media_type}\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=file\r\n\r\n{encoded}\r\n--b--\r\n"
    );
    let limits = crate::index::Limits {
        attachment_bytes: 1 << 20,
        attachment_time: std::time::Duration::from_secs(5),
        attachment_memory: 512 << 20,
    };
    let _ = crate::index::IndexDoc::extract(message.as_bytes(), &limits);
}

/// For a fuzz target started as an extraction worker: serves requests as
/// `archimap extract-worker` does and exits; returns if the process was
/// not started as one.
pub fn extract_worker_main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("extract-worker") {
        return;
    }
    let seconds = args
        .skip_while(|a| a != "--retire-after-cpu-seconds")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let served = crate::index::serve_worker(std::time::Duration::from_secs(seconds));
    std::process::exit(if served.is_ok() { 0 } else { 1 });
}
