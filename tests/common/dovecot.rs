//! A private Dovecot (Debian dovecot-imapd), started with the shared
//! oracle's setup script and stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Dovecot {
    base: tempfile::TempDir,
    pid_file: PathBuf,
    pub starttls: u16,
    pub imaps: u16,
}

impl Dovecot {
    /// `None` where dovecot is not installed (outside CI, which installs it).
    pub fn start(starttls: u16, imaps: u16) -> Option<Dovecot> {
        if Command::new("dovecot").arg("--version").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "dovecot-imapd must be installed (scripts/test does it)"
            );
            eprintln!("dovecot is not installed here: skipped (scripts/test installs it)");
            return None;
        }
        let base = tempfile::tempdir().unwrap();
        let setup = Command::new("bash")
            .arg(super::shared_dir().join("harness/oracle/dovecot/setup_dovecot.sh"))
            .arg(base.path())
            .args([starttls.to_string(), imaps.to_string()])
            .output()
            .unwrap();
        assert!(
            setup.status.success(),
            "{}",
            String::from_utf8_lossy(&setup.stderr)
        );
        let pid_file = base.path().join("run/master.pid");
        Some(Dovecot {
            base,
            pid_file,
            starttls,
            imaps,
        })
    }

    /// Restarts the instance with another `mail_location` (the setup
    /// script's is Maildir, whose flag changes by concurrent sessions can
    /// be lost: a rename from a stale file name drops another's change).
    pub fn restart_with_mail_location(&self, location: &str) {
        let base = self.base.path();
        let pid = std::fs::read_to_string(&self.pid_file).unwrap();
        let pid = pid.trim();
        Command::new("kill").arg(pid).status().unwrap();
        while Path::new("/proc").join(pid).exists() {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let config = base.join("dovecot.conf");
        let text = std::fs::read_to_string(&config).unwrap();
        let text = text.replace(
            "mail_location = maildir:~/Maildir",
            &format!("mail_location = {location}"),
        );
        std::fs::write(&config, text).unwrap();
        let _ = std::fs::remove_file(&self.pid_file);
        // The master stays in the background: no pipes for it to hold open.
        let started = Command::new("/usr/sbin/dovecot")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(started.success(), "dovecot -c {} failed", config.display());
        // Ready when the imaps port accepts connections.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.imaps)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "dovecot does not listen"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// APPENDs `source` (files or directories, in sorted order) to usera's `mailbox`.
    pub fn load(&self, mailbox: &str, source: &Path) {
        load_imap(self.imaps, mailbox, source);
    }
}

/// APPENDs `source`'s messages as usera (password `oraclepw`) into a new
/// `mailbox` of the server on `port` with the shared oracle's loader: in
/// the same order and with the same INTERNALDATE on every server.
pub fn load_imap(port: u16, mailbox: &str, source: &Path) {
    let load = Command::new("python3")
        .arg(super::shared_dir().join("harness/oracle/load_imap.py"))
        .args([
            "127.0.0.1",
            &port.to_string(),
            "usera",
            "oraclepw",
            "--insecure",
            "--create",
        ])
        .args(["--mailbox", mailbox])
        .arg(source)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&load.stdout),
        String::from_utf8_lossy(&load.stderr)
    );
    assert!(load.status.success(), "{said}");
    assert!(said.contains(" 0 refused"), "APPEND refused: {said}");
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.pid_file) {
            let pid = pid.trim();
            let _ = Command::new("kill").arg(pid).status();
            // Its ports are free once the master is gone: a test started
            // right after (the same binary run again) binds them.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while Path::new("/proc").join(pid).exists() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    }
}
