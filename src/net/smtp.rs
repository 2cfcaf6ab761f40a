//! The SMTP journal receiver's listener: plain connections that the
//! client upgrades with STARTTLS (as MTAs deliver on port 25), counted
//! with the other connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::{Connections, next_connection};
use crate::config::Limits;
use crate::smtp::{Ended, Session, Shared};

pub(super) async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    connections: Arc<Connections>,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
) {
    let mut sessions = JoinSet::new();
    while let Some((tcp, peer)) = next_connection(&listener, &mut stopped).await {
        let Some(slot) = connections.admit(
            peer.ip(),
            limits.max_connections,
            limits.max_connections_per_ip,
        ) else {
            tracing::warn!(%peer, "SMTP connection refused: too many connections");
            let _ = tcp.try_write(b"421 4.7.0 Too many connections\r\n");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, shared, stopped) = (acceptor.clone(), shared.clone(), stopped.clone());
        let patience = Duration::from_secs(limits.handshake_timeout_secs);
        sessions.spawn(async move {
            let _slot = slot;
            if let Err(e) = connection(tcp, peer, acceptor, shared, patience, stopped).await {
                tracing::debug!(%peer, error = %e, "SMTP connection ended with an error");
            }
        });
        while sessions.try_join_next().is_some() {}
    }
    while sessions.join_next().await.is_some() {}
}

async fn connection(
    mut tcp: TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    patience: Duration,
    mut stopped: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut session = Session::new(shared, peer, false);
    session.greet(&mut tcp).await?;
    match session.run(&mut tcp, &mut stopped).await? {
        Ended::Close => tcp.shutdown().await,
        Ended::StartTls => {
            let mut tls = tokio::time::timeout(patience, acceptor.accept(tcp))
                .await
                .map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")
                })??;
            session.upgraded();
            // STARTTLS again is refused, so only Close ends it now.
            session.run(&mut tls, &mut stopped).await?;
            tls.shutdown().await
        }
    }
}
