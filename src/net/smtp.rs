//! The SMTP journal receiver's listener: plain connections that the
//! client upgrades with STARTTLS (as MTAs deliver on port 25), counted
//! with the other connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::{Connections, accept_connections};
use crate::config::Limits;
use crate::smtp::{Ended, Session, Shared};

pub(super) async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    connections: Arc<Connections>,
    limits: Limits,
    stopped: watch::Receiver<bool>,
) {
    let patience = Duration::from_secs(limits.handshake_timeout_secs);
    accept_connections(
        listener,
        connections,
        &limits,
        stopped,
        |tcp, peer| {
            tracing::warn!(%peer, "SMTP connection refused: too many connections");
            let _ = tcp.try_write(b"421 4.7.0 Too many connections\r\n");
        },
        move |tcp, peer, stopped| {
            let (acceptor, shared) = (acceptor.clone(), shared.clone());
            async move {
                let _ = tcp.set_nodelay(true);
                connection(tcp, peer, acceptor, shared, patience, stopped).await
            }
        },
    )
    .await
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
