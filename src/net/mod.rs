//! Listeners and connection tasks: implicit-TLS and STARTTLS ports,
//! connection limits, graceful shutdown (BYE to every client).

mod compress;
mod http;
mod smtp;
mod tls;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

pub use tls::generated_paths;

use crate::api::{Api, Context, Jobs};
use crate::archive::Archives;
use crate::auth::{Authenticator, PasswordChecks, Throttle};
use crate::config::Config;
use crate::directory::Directory;
use crate::error::{Error, Result};
use crate::imap::{Ended, KeyCache, Session, Shared};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    ImplicitTls,
    StartTls,
}

/// Counts open connections, in total and per client address, from accept
/// (before the TLS handshake) until closed.
#[derive(Default)]
pub(super) struct Connections {
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// Releases a connection's place when dropped.
struct Slot {
    connections: Arc<Connections>,
    ip: IpAddr,
}

impl Connections {
    fn admit(self: &Arc<Self>, ip: IpAddr, total: usize, per_ip: usize) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let from_ip = open.1.get(&ip).copied().unwrap_or(0);
        if open.0 >= total || from_ip >= per_ip {
            return None;
        }
        open.0 += 1;
        open.1.insert(ip, from_ip + 1);
        Some(Slot {
            connections: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .connections
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        open.0 -= 1;
        if let Some(n) = open.1.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.ip);
            }
        }
    }
}

/// How often the sort keys no SORT or THREAD used are let go of (two
/// quiet periods empty the cache).
const SORT_KEYS_AGE: Duration = Duration::from_secs(300);

async fn bind(addr: &str) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| Error::io(format!("listening on {addr}"), e))
}

/// Runs the IMAP server and the admin API until SIGTERM or Ctrl-C.
pub async fn serve(config: Config, archives: Arc<Archives>) -> Result<()> {
    let acceptor = TlsAcceptor::from(tls::server_config(&config)?);
    let mut listeners = Vec::new();
    for (addrs, kind) in [
        (&config.listeners.imaps, Kind::ImplicitTls),
        (&config.listeners.starttls, Kind::StartTls),
    ] {
        for addr in addrs {
            listeners.push((bind(addr).await?, kind));
        }
    }
    let mut api_listeners = Vec::new();
    for addr in &config.listeners.api {
        api_listeners.push(bind(addr).await?);
    }
    let mut smtp_listeners = Vec::new();
    for addr in &config.smtp.listen {
        smtp_listeners.push(bind(addr).await?);
    }
    let smtp_addrs: Vec<String> = smtp_listeners
        .iter()
        .filter_map(|l| l.local_addr().ok().map(|a| a.to_string()))
        .collect();
    let api_addrs: Vec<String> = api_listeners
        .iter()
        .filter_map(|l| l.local_addr().ok().map(|a| a.to_string()))
        .collect();
    let bound = |want: Kind| -> String {
        let addrs: Vec<String> = listeners
            .iter()
            .filter(|(_, kind)| *kind == want)
            .filter_map(|(l, _)| l.local_addr().ok().map(|a| a.to_string()))
            .collect();
        addrs.join(",")
    };
    let (imaps, starttls) = (bound(Kind::ImplicitTls), bound(Kind::StartTls));

    let auth = Arc::new(Authenticator::new(
        archives.clone(),
        Directory::effective(&config, &archives)?,
        Throttle::new(Duration::from_millis(config.limits.failed_login_delay_ms)),
        PasswordChecks::new(
            config.limits.password_checks_at_once,
            config.limits.password_checks_waiting,
        ),
    ));
    let shared = Arc::new(Shared {
        auth: auth.clone(),
        archives: archives.clone(),
        limits: config.limits.clone(),
        other_users: config.imap.other_users.clone(),
        sort_keys: KeyCache::new(config.imap.sort_cache_mb << 20),
    });
    let limits = config.limits.clone();
    let smtp = Arc::new(crate::smtp::Shared {
        archives: archives.clone(),
        auth: auth.clone(),
        settings: crate::smtp::Settings::of(&config.smtp)?,
        routing: crate::archive::journal::Routing::of(&config.smtp),
        last_directory_sync: Default::default(),
    });
    let api = Arc::new(Api::new(Context {
        archives,
        auth,
        config: Arc::new(config),
        jobs: Jobs::default(),
    }));
    let connections = Arc::new(Connections::default());
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    for listener in api_listeners {
        tasks.spawn(http::accept_loop(
            listener,
            acceptor.clone(),
            api.clone(),
            connections.clone(),
            limits.clone(),
            stopped.clone(),
        ));
    }
    for listener in smtp_listeners {
        tasks.spawn(smtp::accept_loop(
            listener,
            acceptor.clone(),
            smtp.clone(),
            connections.clone(),
            limits.clone(),
            stopped.clone(),
        ));
    }
    for (listener, kind) in listeners {
        tasks.spawn(accept_loop(
            listener,
            kind,
            acceptor.clone(),
            shared.clone(),
            connections.clone(),
            stopped.clone(),
        ));
    }
    // Sort keys nobody used for two periods go (their memory too).
    let (ageing, mut stopping) = (shared.clone(), stopped.clone());
    tasks.spawn(async move {
        let mut every = tokio::time::interval(SORT_KEYS_AGE);
        every.tick().await;
        loop {
            tokio::select! {
                _ = every.tick() => ageing.sort_keys.age(),
                _ = stopping.changed() => return,
            }
        }
    });
    tracing::info!(
        imaps,
        starttls,
        api = api_addrs.join(","),
        smtp = smtp_addrs.join(","),
        "ready"
    );

    shutdown_signal().await;
    tracing::info!("shutting down: saying BYE to every client");
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    smtp.archives.store_journal_counts()?;
    Ok(())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}

async fn accept_loop(
    listener: TcpListener,
    kind: Kind,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    connections: Arc<Connections>,
    stopped: watch::Receiver<bool>,
) {
    let limits = shared.limits.clone();
    accept_connections(
        listener,
        connections,
        &limits,
        stopped,
        |tcp, peer| refuse(tcp, kind, peer),
        move |tcp, peer, stopped| {
            let (acceptor, shared) = (acceptor.clone(), shared.clone());
            async move {
                let _ = tcp.set_nodelay(true);
                connection(tcp, peer, kind, acceptor, shared, stopped).await
            }
        },
    )
    .await
}

/// Accepts connections until the server stops: each within the limits on
/// connections (in total and per address) is served by `serve` in a task
/// of its own, holding its place until it ends; `refuse` is told of the
/// others, which are then closed.
pub(super) async fn accept_connections<F, Fut, E>(
    listener: TcpListener,
    connections: Arc<Connections>,
    limits: &crate::config::Limits,
    mut stopped: watch::Receiver<bool>,
    refuse: impl Fn(&TcpStream, SocketAddr),
    serve: F,
) where
    F: Fn(TcpStream, SocketAddr, watch::Receiver<bool>) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<(), E>> + Send + 'static,
    E: std::fmt::Display,
{
    let mut sessions = JoinSet::new();
    while let Some((tcp, peer)) = next_connection(&listener, &mut stopped).await {
        let Some(slot) = connections.admit(
            peer.ip(),
            limits.max_connections,
            limits.max_connections_per_ip,
        ) else {
            refuse(&tcp, peer);
            continue; // dropping the socket closes it
        };
        let served = serve(tcp, peer, stopped.clone());
        sessions.spawn(async move {
            let _slot = slot;
            if let Err(e) = served.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
        // Reap finished sessions so the set does not grow.
        while sessions.try_join_next().is_some() {}
    }
    while sessions.join_next().await.is_some() {}
}

/// Turns a connection over the limits away at once, holding nothing for
/// it: on the STARTTLS port with a plaintext BYE (if the socket takes it
/// without waiting); on the implicit-TLS port saying anything would need
/// a handshake first, so the connection is just closed.
fn refuse(tcp: &TcpStream, kind: Kind, peer: SocketAddr) {
    tracing::warn!(%peer, "connection refused: too many connections");
    if kind == Kind::StartTls {
        let bye = crate::imap::too_many_connections();
        let _ = tcp.try_write(bye.as_bytes());
    }
}

/// The next connection, or `None` once the server stops.
async fn next_connection(
    listener: &TcpListener,
    stopped: &mut watch::Receiver<bool>,
) -> Option<(TcpStream, SocketAddr)> {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => return Some(pair),
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stopped.changed() => return None,
        }
    }
}

async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    kind: Kind,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let patience = Duration::from_secs(shared.limits.handshake_timeout_secs);
    let handshake = |tcp| async {
        tokio::time::timeout(patience, acceptor.accept(tcp))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")
            })?
    };
    match kind {
        Kind::ImplicitTls => {
            let mut tls = handshake(tcp).await?;
            let mut session = Session::new(shared, peer, true);
            session.greet(&mut tls).await?;
            serve_tls(&mut session, tls, &mut stopped).await
        }
        Kind::StartTls => {
            let mut tcp = tcp;
            let mut session = Session::new(shared, peer, false);
            session.greet(&mut tcp).await?;
            match session.run(&mut tcp, &mut stopped).await? {
                Ended::StartTls => {
                    let tls = handshake(tcp).await?;
                    session.upgraded();
                    serve_tls(&mut session, tls, &mut stopped).await
                }
                // Nothing else ends a session before TLS.
                Ended::Close | Ended::Compress => Ok(()),
            }
        }
    }
}

/// Serves a session over TLS until it ends; from the moment the client
/// asks for COMPRESS (RFC 4978), through deflate.
async fn serve_tls<S>(
    session: &mut Session,
    mut tls: S,
    stopped: &mut watch::Receiver<bool>,
) -> std::io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    match session.run(&mut tls, stopped).await? {
        Ended::Compress => {
            let mut deflated = compress::deflated(tls);
            // The session refuses COMPRESS and STARTTLS from now on.
            session.run(&mut deflated, stopped).await?;
            deflated.shutdown().await
        }
        Ended::Close | Ended::StartTls => tls.shutdown().await,
    }
}
