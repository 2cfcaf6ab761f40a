//! A private Postfix (the Debian package's binaries) with its own
//! configuration and queue directories, relaying journal copies to an
//! archimap SMTP receiver: the MTA of the journal tests.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub struct Postfix {
    dir: tempfile::TempDir,
    /// Where its smtpd takes mail.
    pub smtpd: SocketAddr,
}

/// How Postfix journals: a copy of every message to one address, or one
/// per recipient through a map.
pub enum Journaling<'a> {
    AlwaysBcc(&'a str),
    /// `regexp:` lines for `sender_bcc_maps` and `recipient_bcc_maps`:
    /// a copy per sender and recipient, to their own journal address.
    PerUserBccMaps(&'a str),
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Postfix {
    /// Starts Postfix relaying mail for `archive_domain` to `archimap` and
    /// discarding the rest (the original recipients are not under test);
    /// `None` when Postfix is not installed or cannot start here.
    pub fn start(
        archimap: SocketAddr,
        archive_domain: &str,
        journaling: Journaling,
    ) -> Option<Postfix> {
        if !Path::new("/usr/sbin/postfix").exists() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Postfix's daemons run as `postfix` and must reach the queue.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let port = free_port();
        for sub in ["queue", "data"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        // Its data directory (locks, caches) is the `postfix` user's.
        Command::new("chown")
            .arg("postfix:")
            .arg(root.join("data"))
            .status()
            .unwrap();
        let journal = match journaling {
            Journaling::AlwaysBcc(address) => format!("always_bcc = {address}"),
            Journaling::PerUserBccMaps(lines) => {
                std::fs::write(root.join("bcc"), lines).unwrap();
                format!(
                    "recipient_bcc_maps = regexp:{0}/bcc\nsender_bcc_maps = regexp:{0}/bcc",
                    root.display()
                )
            }
        };
        let main_cf = format!(
            "compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mta.example.com
mydomain = example.com
mydestination =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
biff = no
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
smtp_tls_security_level = may
transport_maps = inline:{{ {archive_domain}=smtp:[{ip}]:{aport} }}
default_transport = discard:
minimal_backoff_time = 2s
maximal_backoff_time = 4s
queue_run_delay = 2s
{journal}
",
            root = root.display(),
            ip = archimap.ip(),
            aport = archimap.port(),
        );
        std::fs::write(root.join("main.cf"), main_cf).unwrap();
        let master_cf = format!(
            "127.0.0.1:{port} inet n - n - - smtpd
pickup    fifo  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      fifo  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"
        );
        std::fs::write(root.join("master.cf"), master_cf).unwrap();
        let postfix = Postfix {
            dir,
            smtpd: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let started = postfix.postfix(&["start"]);
        if !started {
            eprintln!("postfix would not start: {}", postfix.log());
            return None;
        }
        // Its smtpd answers once master runs.
        for _ in 0..100 {
            if TcpStream::connect(postfix.smtpd).is_ok() {
                return Some(postfix);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("postfix smtpd did not come up: {}", postfix.log());
        None
    }

    fn config_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn postfix(&self, args: &[&str]) -> bool {
        Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(self.config_dir())
            .args(args)
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Asks Postfix to try every deferred message again now.
    pub fn flush(&self) {
        self.postfix(&["flush"]);
    }

    /// Postfix's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }

    /// How many messages Postfix logged as delivered to `relay` (the
    /// archimap receiver): `status=sent` lines naming it.
    pub fn delivered_to(&self, relay: SocketAddr) -> usize {
        let needle = format!("relay=127.0.0.1[127.0.0.1]:{}", relay.port());
        self.log()
            .lines()
            .filter(|l| l.contains(&needle) && l.contains("status=sent"))
            .count()
    }

    /// Submits `message` over SMTP, from `from` to `to`.
    pub fn submit(&self, from: &str, to: &[&str], message: &[u8]) {
        let tcp = TcpStream::connect(self.smtpd).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut reader = BufReader::new(tcp.try_clone().unwrap());
        let mut writer = tcp;
        let mut expect = |code: &str| loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert!(line.starts_with(code), "expected {code}, got {line:?}");
            if line.as_bytes().get(3) == Some(&b' ') {
                break;
            }
        };
        expect("220");
        let mut say = |line: String, code: &str, writer: &mut TcpStream| {
            writer.write_all(line.as_bytes()).unwrap();
            expect(code);
        };
        say("EHLO client.example.com\r\n".into(), "250", &mut writer);
        say(format!("MAIL FROM:<{from}>\r\n"), "250", &mut writer);
        for rcpt in to {
            say(format!("RCPT TO:<{rcpt}>\r\n"), "250", &mut writer);
        }
        say("DATA\r\n".into(), "354", &mut writer);
        let mut data = Vec::new();
        for line in message.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b".") {
                data.push(b'.');
            }
            data.extend_from_slice(line);
        }
        data.extend_from_slice(b".\r\n");
        say(String::from_utf8(data).unwrap(), "250", &mut writer);
        say("QUIT\r\n".into(), "221", &mut writer);
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        self.postfix(&["stop"]);
    }
}
