//! A private OpenLDAP slapd (Debian slapd), started by
//! tests/fixtures/slapd/start.sh — the login benchmark starts its slapd
//! with the same script — and stopped when dropped.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What tests/fixtures/slapd/directory.ldif holds.
pub const BASE_DN: &str = "dc=example,dc=com";
pub const SERVICE_DN: &str = "cn=archimap,ou=services,dc=example,dc=com";
pub const SERVICE_PASSWORD: &str = "service-secret";
pub const GROUP_DN: &str = "cn=archive-users,ou=groups,dc=example,dc=com";
const ADMIN_DN: &str = "cn=admin,dc=example,dc=com";
const ADMIN_PASSWORD: &str = "admin-secret";

pub struct Slapd {
    _dir: tempfile::TempDir,
    pid: String,
    /// `ldaps://127.0.0.1:PORT`
    pub ldaps: String,
    /// `ldap://127.0.0.1:PORT`, where slapd refuses everything before StartTLS.
    pub starttls: String,
    pub ca: PathBuf,
}

impl Slapd {
    /// `None` where slapd is not installed (outside CI, which installs it).
    pub fn start() -> Option<Slapd> {
        if !Path::new("/usr/sbin/slapd").exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "slapd and ldap-utils must be installed (scripts/test does it)"
            );
            eprintln!("slapd is not installed here: skipped (scripts/test installs it)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/slapd/start.sh");
        let out = Command::new("bash")
            .arg(script)
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "start.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let field = |key: &str| -> String {
            stdout
                .lines()
                .find_map(|line| line.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("start.sh printed no {key}: {stdout}"))
                .to_string()
        };
        Some(Slapd {
            pid: field("pid"),
            ldaps: field("ldaps"),
            starttls: field("starttls"),
            ca: PathBuf::from(field("ca")),
            _dir: dir,
        })
    }

    /// A `[directory]` section: this server's CA, service account and base
    /// DN, plus `lines` (at least `kind` and `urls`).
    pub fn config(&self, lines: &str) -> String {
        format!(
            "[directory]\n{lines}\nca_file = {:?}\nbind_dn = {SERVICE_DN:?}\n\
             bind_password = {SERVICE_PASSWORD:?}\nbase_dn = {BASE_DN:?}\n",
            self.ca.to_str().unwrap()
        )
    }

    /// Changes the directory (LDIF change records) as its administrator.
    pub fn modify(&self, ldif: &str) {
        let mut child = Command::new("ldapmodify")
            .args([
                "-x",
                "-H",
                &self.ldaps,
                "-D",
                ADMIN_DN,
                "-w",
                ADMIN_PASSWORD,
            ])
            .env("LDAPTLS_CACERT", &self.ca)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ldapmodify (ldap-utils) runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "ldapmodify: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops slapd and waits until its port refuses connections.
    pub fn stop(&self) {
        let _ = Command::new("kill").arg(&self.pid).status();
        let port = self.ldaps.rsplit(':').next().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(format!("127.0.0.1:{port}")).is_ok() {
            assert!(Instant::now() < deadline, "slapd did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        // Quiet: `stop` may have ended it already.
        let _ = Command::new("kill")
            .arg(&self.pid)
            .stderr(Stdio::null())
            .status();
    }
}
