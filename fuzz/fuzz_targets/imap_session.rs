//! A whole IMAP session after TLS: the input is what a logged-in client
//! sends (after `LOGIN`), answered by the real session code against a real
//! archive in a temporary directory (messages from the edge corpus, one
//! folder tree, another user's archive to read). Commands may change the
//! archive; the archive lives for the whole fuzzing run. A session that does
//! not finish within 10 s of its input's end is a hang, reported as a crash.
#![no_main]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use archimap::archive::{Archives, FolderPrivileges, GlobalPrivileges, NewUserRequest};
use archimap::auth::{Authenticator, PasswordChecks, Throttle};
use archimap::config::Config;
use archimap::imap::{KeyCache, Session, Shared};
use archimap::store::Authentication;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

struct World {
    runtime: Runtime,
    shared: Arc<Shared>,
    _dir: tempfile::TempDir,
}

const LOGIN: &[u8] = b"L LOGIN alice secret\r\n";

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut config = Config::default();
        config.data_dir = dir.path().join("data");
        config.limits.failed_login_delay_ms = 1;
        let archives = Arc::new(Archives::open(&config).expect("a new archive"));
        for name in ["alice", "bob"] {
            archives
                .add_user(NewUserRequest {
                    name: name.into(),
                    full_name: name.into(),
                    emails: vec![format!("{name}@example.com")],
                    authentication: Authentication::Integrated,
                    password: Some("secret".into()),
                    distinguished_name: None,
                    privileges: GlobalPrivileges::LOGIN,
                })
                .expect("a user");
        }
        let all: FolderPrivileges = "read,write,delete".parse().expect("privileges");
        archives.grant("alice", "alice", all).expect("a grant");
        archives.grant("bob", "bob", all).expect("a grant");
        archives.grant("alice", "bob", "read".parse().expect("privileges")).expect("a grant");
        let auth = Arc::new(Authenticator::new(
            archives.clone(),
            None,
            Throttle::new(Duration::from_millis(1)),
            PasswordChecks::new(1, 16),
        ));
        let shared = Arc::new(Shared {
            archives,
            auth,
            limits: config.limits.clone(),
            other_users: config.imap.other_users.clone(),
            sort_keys: KeyCache::new(config.imap.sort_cache_mb << 20),
        sort_keys: KeyCache::new(config.imap.sort_cache_mb << 20),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let world = World { runtime, shared, _dir: dir };
        world.runtime.block_on(seed(&world.shared));
        world
    })
}

/// Files the edge corpus into alice's and bob's archives through APPEND.
async fn seed(shared: &Arc<Shared>) {
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/edge/eml");
    let mut script = Vec::new();
    script.extend_from_slice(b"c1 CREATE Projects/Acme\r\n");
    // The corpus is a tree (one directory per source of the messages).
    let mut files = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(corpus)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("../shared/corpus/edge/eml beside the repository") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    for (n, path) in files.iter().take(40).enumerate() {
        let bytes = std::fs::read(path).expect("a corpus message");
        let folder = if n % 3 == 0 { "Projects/Acme" } else { "INBOX" };
        script.extend_from_slice(format!("a{n} APPEND {folder} {{{}+}}\r\n", bytes.len()).as_bytes());
        script.extend_from_slice(&bytes);
        script.extend_from_slice(b"\r\n");
    }
    for user in ["alice", "bob"] {
        let mut input = format!("L LOGIN {user} secret\r\n").into_bytes();
        input.extend_from_slice(&script);
        let out = converse(shared, &input).await;
        assert!(out.windows(7).any(|w| w == b"L OK [C" || w == b"L OK LO"), "seeding could not log in");
    }
}

/// Runs one session on `input` and returns everything it answered.
async fn converse(shared: &Arc<Shared>, input: &[u8]) -> Vec<u8> {
    let (mut client, mut server) = tokio::io::duplex(64 * 1024);
    let shared = shared.clone();
    let session = tokio::spawn(async move {
        let (_stop, mut stopped) = tokio::sync::watch::channel(false);
        let peer: SocketAddr = "127.0.0.1:1".parse().expect("an address");
        let mut session = Session::new(shared, peer, true);
        let _ = session.greet(&mut server).await;
        let _ = session.run(&mut server, &mut stopped).await;
    });
    let (mut from_server, mut to_server) = tokio::io::split(&mut client);
    let reading = async {
        let mut out = Vec::new();
        let _ = from_server.read_to_end(&mut out).await;
        out
    };
    let writing = async {
        let _ = to_server.write_all(input).await;
        let _ = to_server.shutdown().await;
    };
    let (out, ()) = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(reading, writing)
    })
    .await
    .expect("the session hung: no end within 10 s of its input");
    session.await.expect("the session task panicked");
    out
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let world = world();
    let mut input = LOGIN.to_vec();
    input.extend_from_slice(data);
    world.runtime.block_on(converse(&world.shared, &input));
});
