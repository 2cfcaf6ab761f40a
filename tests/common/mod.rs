//! Helpers shared by the integration tests: a private data directory and
//! the real `archimap` binary run against it.
#![allow(dead_code)] // each test binary uses its own subset

pub mod api;
pub mod dovecot;
pub mod hostile;
pub mod imap;
pub mod postfix;
pub mod slapd;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sha2::{Digest, Sha256};

pub struct Archimap {
    pub dir: tempfile::TempDir,
}

impl Archimap {
    pub fn new() -> Archimap {
        Archimap {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A new data directory with alice (password `wonderland`, address
    /// `Alice@Example.com`), the user most tests log in as.
    pub fn with_alice() -> Archimap {
        let am = Archimap::new();
        am.ok(&[
            "user",
            "add",
            "alice",
            "--password",
            "wonderland",
            "--email",
            "Alice@Example.com",
        ]);
        am
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_archimap"));
        command
            .arg("--data-dir")
            .arg(self.data_dir())
            .env_remove("ARCHIMAP_CONFIG")
            .env("RUST_LOG", "warn");
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, "")
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("archimap runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "archimap {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs and asserts failure; returns stdout and stderr together.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.status.success(),
            "archimap {args:?} should have failed:\n{text}"
        );
        text
    }

    /// Runs the commands all at the same time; each must succeed.
    pub fn ok_at_once(&self, commands: &[Vec<String>]) {
        let running: Vec<_> = commands
            .iter()
            .map(|args| {
                self.command()
                    .args(args)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in running {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    pub fn add_user(&self, name: &str) {
        self.ok(&["user", "add", name, "--password", "secret"]);
    }

    /// Exports an archive and returns, per folder, the SHA-256 of each message.
    pub fn exported(&self, archive: &str) -> BTreeMap<String, Vec<String>> {
        let out = self
            .dir
            .path()
            .join(format!("export-{archive}-{}", rand_suffix()));
        self.ok(&["export", "--archive", archive, out.to_str().unwrap()]);
        hashes_by_folder(&out, &|_| true)
    }

    /// Messages in all archives, as `archimap folders` counts them.
    pub fn message_count(&self) -> u64 {
        self.ok(&["folders"])
            .lines()
            .filter_map(|line| line.split(" folders, ").nth(1))
            .map(|rest| rest.trim_end_matches(" messages)").parse::<u64>().unwrap())
            .sum()
    }

    /// The summary line of an import: (imported, duplicates, unparsed, failed).
    /// Imports `count` small distinct messages into `user`'s `folder`,
    /// numbered 1 to `count` in their subjects and bodies.
    pub fn import_numbered(&self, user: &str, folder: &str, count: usize) {
        let dir = self.dir.path().join("numbered").join(user).join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 1..=count {
            std::fs::write(
                dir.join(format!("{i}.eml")),
                format!("From: a@example.com\r\nSubject: {i}\r\nMessage-ID: <{folder}.{i}@example.com>\r\n\r\nBody {i}\r\n"),
            )
            .unwrap();
        }
        self.import(&["--user", user, "--folder", folder, dir.to_str().unwrap()]);
    }

    pub fn import(&self, args: &[&str]) -> (u64, u64, u64, u64) {
        let mut full = vec!["import"];
        full.extend_from_slice(args);
        summary_counts(&self.ok(&full))
    }
}

pub fn summary_counts(stdout: &str) -> (u64, u64, u64, u64) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("imported "))
        .unwrap_or_else(|| panic!("no summary in {stdout}"));
    let numbers: Vec<u64> = line
        .split([',', '('])
        .take(4)
        .map(|part| part.split_whitespace().last().unwrap().parse().unwrap())
        .collect();
    (numbers[0], numbers[1], numbers[2], numbers[3])
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Links the distinct messages under `root` (sorted by path; the empty one,
/// which Dovecot refuses, left out) as 00001.eml, 00002.eml, ... so both
/// servers hold the same messages in the same order: archimap keeps one
/// copy of identical bytes in a folder, Dovecot keeps every copy.
pub fn distinct_flat(root: &Path, into: &Path) -> usize {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "eml") {
                files.push(path);
            }
        }
    }
    files.sort();
    std::fs::create_dir_all(into).unwrap();
    let mut seen = BTreeSet::new();
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        if !bytes.is_empty() && seen.insert(sha256_hex(&bytes)) {
            std::os::unix::fs::symlink(&file, into.join(format!("{:05}.eml", seen.len()))).unwrap();
        }
    }
    seen.len()
}

/// Every regular file under `root` (that `keep` accepts), hashed and grouped
/// by its directory relative to `root`; each list is sorted.
pub fn hashes_by_folder(
    root: &Path,
    keep: &dyn Fn(&Path) -> bool,
) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if !root.exists() {
        return map; // an export of an empty archive writes nothing
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if keep(&path) {
                let folder = dir
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                map.entry(folder)
                    .or_default()
                    .push(sha256_hex(&std::fs::read(&path).unwrap()));
            }
        }
    }
    for hashes in map.values_mut() {
        hashes.sort();
    }
    map
}

/// The same, with each folder's duplicates removed (the archive keeps one).
pub fn unique(map: BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
    map.into_iter()
        .map(|(folder, mut hashes)| {
            hashes.dedup();
            (folder, hashes)
        })
        .collect()
}

pub fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

pub fn edge_eml() -> PathBuf {
    shared_dir().join("corpus/edge/eml")
}

/// A corpus made by the shared generator, cached per argument set under
/// the target directory so test runs share it.
pub fn generated_corpus(n: usize, users: usize, seed: u64, extra: &[&str]) -> PathBuf {
    let name = format!(
        "corpus-{n}-{users}-{seed}-{}",
        extra.join("_").replace(['-', ' '], "")
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if dir.join(".done").exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new("python3")
        .arg(shared_dir().join("corpus/gen_corpus.py"))
        .args([
            "--out",
            dir.to_str().unwrap(),
            "-n",
            &n.to_string(),
            "--users",
            &users.to_string(),
        ])
        .args(["--seed", &seed.to_string()])
        .args(extra)
        .stdout(Stdio::null())
        .status()
        .expect("python3 runs the corpus generator");
    assert!(status.success(), "gen_corpus.py failed");
    // The index is not mail; the tests import user directories only.
    std::fs::remove_file(dir.join("index.tsv")).unwrap();
    std::fs::write(dir.join(".done"), b"").unwrap();
    dir
}

/// A process's peak resident memory (VmHWM) in KiB; `None` once it is gone.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
