//! The administration API's HTTPS listener: HTTP/1.1 over the same TLS
//! setup as IMAP, each request handed to [`Api`] as a plain [`Request`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::{Connections, accept_connections};
use crate::api::{Api, Reply, Request};
use crate::config::Limits;

/// The largest request body: arguments are names and short JSON objects.
const MAX_BODY: usize = 1 << 20;

pub(super) async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    api: Arc<Api>,
    connections: Arc<Connections>,
    limits: Limits,
    stopped: watch::Receiver<bool>,
) {
    // A request's headers, and then its body, must each arrive within the
    // time IMAP gives a client before login.
    let patience = Duration::from_secs(limits.idle_timeout_unauthenticated_secs);
    let handshake = Duration::from_secs(limits.handshake_timeout_secs);
    accept_connections(
        listener,
        connections,
        &limits,
        stopped,
        |_, peer| tracing::warn!(%peer, "admin API connection refused: too many connections"),
        move |tcp, peer, stopped| {
            let (acceptor, api) = (acceptor.clone(), api.clone());
            connection(tcp, peer, acceptor, api, (handshake, patience), stopped)
        },
    )
    .await
}

async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    api: Arc<Api>,
    (handshake, patience): (Duration, Duration),
    mut stopped: watch::Receiver<bool>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let _ = tcp.set_nodelay(true);
    let tls = tokio::time::timeout(handshake, acceptor.accept(tcp)).await??;
    let service = service_fn(move |request| {
        let api = api.clone();
        async move { Ok::<_, Infallible>(answer(&api, peer, patience, request).await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(patience)
        .serve_connection(TokioIo::new(tls), service);
    tokio::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => served?,
        _ = stopped.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await?;
        }
    }
    Ok(())
}

async fn answer(
    api: &Api,
    peer: SocketAddr,
    patience: Duration,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let body = tokio::time::timeout(patience, read_body(body)).await;
    let reply = match body {
        Ok(Body::Read(body)) => {
            api.handle(Request {
                method: parts.method.to_string(),
                path: parts.uri.path().to_string(),
                authorization: header(AUTHORIZATION),
                content_type: header(CONTENT_TYPE),
                body,
                ip: peer.ip(),
            })
            .await
        }
        Err(_) => Reply::refused(
            408,
            "timeout",
            format!("the request body did not arrive within {patience:?}"),
        ),
        Ok(Body::TooLarge) => Reply::refused(
            413,
            "tooLarge",
            format!("the request body is over {MAX_BODY} bytes"),
        ),
        // Malformed framing (a bad chunk size, a body cut short): the
        // client's mistake, not a size.
        Ok(Body::Broken(error)) => Reply::refused(
            400,
            "badRequest",
            format!("the request body could not be read: {error}"),
        ),
    };
    let mut response = hyper::Response::builder()
        .status(reply.status)
        .header(CONTENT_TYPE, "application/json; charset=utf-8");
    if reply.challenge {
        response = response.header(
            WWW_AUTHENTICATE,
            "Basic realm=\"archimap\", charset=\"UTF-8\"",
        );
    }
    let body = serde_json::to_vec(&reply.body).unwrap_or_default();
    response
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

/// What reading a request body gave.
enum Body {
    Read(Vec<u8>),
    TooLarge,
    Broken(hyper::Error),
}

/// A body over `MAX_BODY` is still read, to nowhere, up to this many bytes
/// before the 413 goes out: a connection closed with unread input is reset
/// by TCP, and the client may then lose the answer it is about to read.
const LINGER: usize = 8 * MAX_BODY;

/// Reads a request body of at most `MAX_BODY` bytes; holds no more than
/// that, whatever the client sends.
async fn read_body(mut body: Incoming) -> Body {
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(_) if seen > MAX_BODY => return Body::TooLarge,
            Err(error) => return Body::Broken(error),
        };
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen <= MAX_BODY {
                bytes.extend_from_slice(&data);
            } else if seen > LINGER {
                return Body::TooLarge;
            }
        }
    }
    if seen > MAX_BODY {
        Body::TooLarge
    } else {
        Body::Read(bytes)
    }
}
