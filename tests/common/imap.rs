//! A running `archimap serve` and a small line-oriented IMAP client over
//! rustls, trusting the server's generated certificate.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use super::Archimap;

pub struct Server {
    child: Child,
    pub imaps: SocketAddr,
    pub starttls: SocketAddr,
    /// The admin API (HTTPS).
    pub api: SocketAddr,
    /// The SMTP journal receiver, when started with one.
    pub smtp: Option<SocketAddr>,
    /// Everything the server logged so far.
    pub log: Arc<Mutex<Vec<String>>>,
    tls: Arc<rustls::ClientConfig>,
}

impl Server {
    /// Starts the server on free loopback ports and waits for its `ready` line.
    pub fn start(am: &Archimap) -> Server {
        Server::start_with_config(am, "")
    }

    /// Starts the server with `config` as its TOML configuration file.
    pub fn start_with_config(am: &Archimap, config: &str) -> Server {
        Server::start_adjusted(am, config, |_| {})
    }

    /// Starts the server with `config`, its command first changed by
    /// `adjust` (to set a resource limit, for instance).
    pub fn start_adjusted(
        am: &Archimap,
        config: &str,
        adjust: impl FnOnce(&mut std::process::Command),
    ) -> Server {
        Server::launch(am, config, adjust, None)
    }

    /// Starts the server with `config` and an SMTP journal receiver.
    pub fn start_with_smtp(am: &Archimap, config: &str) -> Server {
        Server::start_with_smtp_at(am, config, "127.0.0.1:0")
    }

    /// Starts the server with `config` and an SMTP journal receiver on
    /// `address` (a fixed port survives a restart).
    pub fn start_with_smtp_at(am: &Archimap, config: &str, address: &str) -> Server {
        Server::launch(am, config, |_| {}, Some(address))
    }

    fn launch(
        am: &Archimap,
        config: &str,
        adjust: impl FnOnce(&mut std::process::Command),
        smtp: Option<&str>,
    ) -> Server {
        let config_file = am.dir.path().join("server.toml");
        std::fs::write(&config_file, config).unwrap();
        let mut command = am.command();
        adjust(&mut command);
        let mut child = command
            .env("RUST_LOG", "info")
            .arg("--config")
            .arg(&config_file)
            .args([
                "serve",
                // Some tests start on a new directory and add users through
                // the admin API.
                "--create",
                "--imaps",
                "127.0.0.1:0",
                "--starttls",
                "127.0.0.1:0",
                "--api",
                "127.0.0.1:0",
            ])
            .args(smtp.map(|address| ["--smtp", address]).iter().flatten())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains(" ready ") {
                    let _ = ready_tx.send(line.clone());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let ready = ready_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server signals ready");
        let field = |name: &str| -> SocketAddr {
            let value = ready
                .split(&format!("{name}="))
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap();
            value.trim_matches('"').parse().unwrap()
        };
        let (imaps, starttls, api) = (field("imaps"), field("starttls"), field("api"));
        let smtp = smtp.map(|_| field("smtp"));
        let cert = am.data_dir().join("tls/self-signed-cert.pem");
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(cert).unwrap())
            .unwrap();
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        Server {
            child,
            imaps,
            starttls,
            api,
            smtp,
            log,
            tls: Arc::new(tls),
        }
    }

    pub fn connect_tls(&self) -> Client {
        let tcp = TcpStream::connect(self.imaps).unwrap();
        Client::new(Box::new(self.wrap(tcp)))
    }

    /// A TLS client on the implicit-TLS port whose connection comes from
    /// `ip` (a loopback address: 127.0.0.2 and on are other clients).
    pub fn connect_tls_from(&self, ip: IpAddr) -> Client {
        Client::new(Box::new(self.wrap(tcp_from(ip, self.imaps))))
    }

    /// A plaintext client on the STARTTLS port, over `tcp` (keep a clone
    /// of it to upgrade later).
    pub fn connect_plain_from(&self, tcp: TcpStream) -> Client {
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Client::new(Box::new(tcp))
    }

    fn wrap(&self, tcp: TcpStream) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(self.tls.clone(), name).unwrap();
        rustls::StreamOwned::new(conn, tcp)
    }

    /// Upgrades a plaintext client after the server said OK to STARTTLS.
    pub fn upgrade(&self, client: Client, plain: TcpStream) -> Client {
        drop(client);
        Client::new(Box::new(self.wrap(plain)))
    }

    /// The server's resident memory in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS")
    }

    /// A size from the server's /proc/PID/status in KiB, such as `VmRSS`
    /// or `VmHWM` (the largest resident size so far).
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let prefix = format!("{field}:");
        let line = status.lines().find(|l| l.starts_with(&prefix)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// The server's peak resident memory so far (VmHWM) in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        super::peak_rss_kib(self.child.id()).expect("the server runs")
    }

    /// CPU time (user and system) the server has used so far, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // Fields after the command name (which may hold spaces): utime is
        // the 14th field of the line, stime the 15th; in clock ticks (100/s).
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        ticks as f64 / 100.0
    }

    /// Asserts that the server, given half a second to settle, uses no CPU
    /// to speak of over the next 2 s: nothing spins on after what a test
    /// did (a client gone, a hostile mail read).
    pub fn assert_idle(&self) {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let before = self.cpu_seconds();
        std::thread::sleep(std::time::Duration::from_secs(2));
        let spent = self.cpu_seconds() - before;
        assert!(spent < 0.5, "the idle server used {spent} s of CPU in 2 s");
    }

    /// A TLS connection to the admin API.
    pub fn api_tls(&self) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
        self.wrap(TcpStream::connect(self.api).unwrap())
    }

    /// A TLS connection that is not wrapped in a line reader.
    pub fn raw_tls(&self) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
        self.wrap(TcpStream::connect(self.imaps).unwrap())
    }

    pub fn logged(&self, needle: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    /// Whether the server logs `needle` within a few seconds: the log is
    /// read by another thread, so a line can trail the answer it goes with.
    pub fn logs(&self, needle: &str) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !self.logged(needle) {
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        true
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failed test shows what the server said last.
        if std::thread::panicking() {
            let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
            for line in log.iter().rev().take(200).rev() {
                eprintln!("server: {line}");
            }
        }
    }
}

/// A TCP connection to `to` from the loopback address `ip`.
pub fn tcp_from(ip: IpAddr, to: SocketAddr) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let tcp = runtime
        .block_on(async {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(ip, 0))?;
            socket.connect(to).await?.into_std()
        })
        .unwrap();
    tcp.set_nonblocking(false).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    tcp
}

pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

pub struct Client {
    reader: BufReader<Box<dyn Stream>>,
}

impl Client {
    fn new(stream: Box<dyn Stream>) -> Client {
        Client {
            reader: BufReader::new(stream),
        }
    }

    /// One line; 8-bit bytes that are not UTF-8 become U+FFFD.
    pub fn line(&mut self) -> String {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).unwrap();
        String::from_utf8_lossy(&line).into_owned()
    }

    /// Whether the server closed the connection (cleanly or not) rather
    /// than send another line.
    pub fn closed(&mut self) -> bool {
        let mut line = Vec::new();
        matches!(self.reader.read_until(b'\n', &mut line), Ok(0) | Err(_))
    }

    pub fn send(&mut self, text: &str) {
        self.send_bytes(text.as_bytes());
    }

    /// Exactly `n` bytes (a literal's contents).
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut data = vec![0; n];
        self.reader.read_exact(&mut data).unwrap();
        data
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) {
        let stream = self.reader.get_mut();
        stream.write_all(bytes).unwrap();
        stream.flush().unwrap();
    }

    /// Sends `tag command` and returns every line up to the tagged answer.
    pub fn command(&mut self, tag: &str, command: &str) -> Vec<String> {
        self.send(&format!("{tag} {command}\r\n"));
        self.until(tag)
    }

    /// Reads lines up to and including the one tagged `tag`.
    pub fn until(&mut self, tag: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            assert!(!line.is_empty(), "connection closed; got {lines:?}");
            let done = line.starts_with(&format!("{tag} "));
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    /// The last line of `command`'s answer.
    pub fn answer(&mut self, tag: &str, command: &str) -> String {
        self.command(tag, command).pop().unwrap()
    }

    /// The same connection with raw deflate both ways, after the server
    /// said OK to COMPRESS DEFLATE (RFC 4978); nothing may be buffered.
    pub fn deflated(self) -> Client {
        assert!(self.reader.buffer().is_empty(), "input after COMPRESS's OK");
        Client::new(Box::new(Deflate {
            inner: self.reader.into_inner(),
            compress: flate2::Compress::new(flate2::Compression::default(), false),
            decompress: flate2::Decompress::new(false),
            inflated: Vec::new(),
            taken: 0,
        }))
    }
}

/// A stream with raw deflate both ways: each write is sent with a sync
/// flush, reads inflate what arrives.
struct Deflate {
    inner: Box<dyn Stream>,
    compress: flate2::Compress,
    decompress: flate2::Decompress,
    /// Inflated bytes, those before `taken` already read.
    inflated: Vec<u8>,
    taken: usize,
}

impl Write for Deflate {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len() + 64);
        let mut input = buf;
        loop {
            let before = self.compress.total_in();
            out.reserve(input.len() + 64);
            self.compress
                .compress_vec(input, &mut out, flate2::FlushCompress::Sync)
                .map_err(std::io::Error::other)?;
            input = &input[(self.compress.total_in() - before) as usize..];
            // Done when all went in and the flush left spare room.
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Read for Deflate {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.taken == self.inflated.len() {
            let mut raw = [0u8; 16 * 1024];
            let n = self.inner.read(&mut raw)?;
            if n == 0 {
                return Ok(0);
            }
            self.inflated.clear();
            self.taken = 0;
            let mut input = &raw[..n];
            while !input.is_empty() {
                let before = self.decompress.total_in();
                self.inflated.reserve(64 * 1024);
                self.decompress
                    .decompress_vec(input, &mut self.inflated, flate2::FlushDecompress::Sync)
                    .map_err(std::io::Error::other)?;
                input = &input[(self.decompress.total_in() - before) as usize..];
            }
        }
        let n = buf.len().min(self.inflated.len() - self.taken);
        buf[..n].copy_from_slice(&self.inflated[self.taken..self.taken + n]);
        self.taken += n;
        Ok(n)
    }
}
