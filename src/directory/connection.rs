//! One connection to the directory: the first configured server that
//! answers, over TLS, bound as the service account. Every step has a
//! timeout, so an unreachable server costs seconds, not minutes.

use std::fmt::Display;
use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry, StdStream};
use tokio::net::TcpStream;
use tokio::time::timeout;
use url::Url;

use super::settings::Settings;
use crate::error::{Error, Result};

/// Entries per Paged Results request (Active Directory answers at most
/// 1000 entries per search without paging).
const PAGE_SIZE: i32 = 500;

/// Bind result codes that mean "these credentials are refused"
/// (invalidCredentials, inappropriateAuthentication,
/// insufficientAccessRights, unwillingToPerform, constraintViolation).
/// Any other failure means the directory could not answer.
const REFUSED: [u32; 5] = [49, 48, 50, 53, 19];

/// Connects within `limit`. The stream is made here rather than by ldap3
/// to turn Nagle's algorithm off: LDAP requests are small, and held back
/// for the server's delayed ACK each would cost some 40 ms.
async fn tcp(url: &Url, limit: Duration) -> std::io::Result<std::net::TcpStream> {
    let port = url.port().unwrap_or(match url.scheme() {
        "ldaps" => 636,
        _ => 389,
    });
    let host = url.host().map(|host| host.to_string()).unwrap_or_default();
    let stream = timeout(limit, TcpStream::connect(format!("{host}:{port}"))).await??;
    stream.set_nodelay(true)?;
    stream.into_std()
}

pub struct Connection {
    ldap: Ldap,
    url: String,
    timeout: Duration,
}

impl Connection {
    /// Connects to the configured servers in turn and binds as the service
    /// account on the first that answers.
    pub async fn open(settings: &Settings) -> Result<Connection> {
        let mut failures = Vec::new();
        for url in &settings.urls {
            match Connection::open_one(settings, url).await {
                Ok(connection) => return Ok(connection),
                Err(e) => {
                    tracing::warn!(%url, error = %e, "directory server unusable");
                    failures.push(e.to_string());
                }
            }
        }
        Err(Error::Unavailable(format!(
            "no directory server answered: {}",
            failures.join("; ")
        )))
    }

    async fn open_one(settings: &Settings, url: &Url) -> Result<Connection> {
        let unavailable = |e: &dyn Display| Error::Unavailable(format!("{url}: {e}"));
        let tcp = tcp(url, settings.timeout)
            .await
            .map_err(|e| unavailable(&e))?;
        // StartTLS for ldap:// (ldap3 ignores it for ldaps://): never clear text.
        let options = LdapConnSettings::new()
            .set_conn_timeout(settings.timeout)
            .set_config(settings.tls.clone())
            .set_starttls(true)
            .set_std_stream(StdStream::Tcp(tcp));
        let (driver, ldap) = LdapConnAsync::from_url_with_settings(options, url)
            .await
            .map_err(|e| unavailable(&e))?;
        let url_for_log = url.to_string();
        tokio::spawn(async move {
            if let Err(e) = driver.drive().await {
                tracing::debug!(url = url_for_log, error = %e, "directory connection ended");
            }
        });
        let mut connection = Connection {
            ldap,
            url: url.to_string(),
            timeout: settings.timeout,
        };
        if let Some((dn, password)) = &settings.service
            && !connection.bind(dn, password).await?
        {
            return Err(connection.failure(
                "binding as the service account",
                format!("{dn} was refused; check bind_dn and its password"),
            ));
        }
        Ok(connection)
    }

    fn failure(&self, what: &str, error: impl Display) -> Error {
        Error::Unavailable(format!("{}: {what}: {error}", self.url))
    }

    /// A simple bind: `Ok(false)` when the directory refuses the
    /// credentials, an error when it cannot answer.
    pub async fn bind(&mut self, dn: &str, password: &str) -> Result<bool> {
        // A DN with an empty password is an "unauthenticated bind" that
        // servers answer with success: it proves nothing.
        if dn.is_empty() || password.is_empty() {
            return Ok(false);
        }
        let result = self
            .ldap
            .with_timeout(self.timeout)
            .simple_bind(dn, password)
            .await
            .map_err(|e| self.failure("bind", e))?;
        match result.rc {
            0 => Ok(true),
            rc if REFUSED.contains(&rc) => Ok(false),
            _ => Err(self.failure("bind", result)),
        }
    }

    /// Every entry under `base` (paged); each page must come within the timeout.
    pub async fn search(
        &mut self,
        base: &str,
        scope: Scope,
        filter: &str,
        attributes: &[String],
    ) -> Result<Vec<SearchEntry>> {
        let what = || format!("searching {base} for {filter}");
        let adapters: Vec<Box<dyn Adapter<String, Vec<String>>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(PAGE_SIZE)),
        ];
        let started =
            self.ldap
                .streaming_search_with(adapters, base, scope, filter, attributes.to_vec());
        let mut stream = timeout(self.timeout, started)
            .await
            .map_err(|e| self.failure(&what(), e))?
            .map_err(|e| self.failure(&what(), e))?;
        let mut entries = Vec::new();
        loop {
            match timeout(self.timeout, stream.next()).await {
                Ok(Ok(Some(entry))) => entries.push(SearchEntry::construct(entry)),
                Ok(Ok(None)) => break,
                Ok(Err(e)) => return Err(self.failure(&what(), e)),
                Err(e) => return Err(self.failure(&what(), e)),
            }
        }
        let result = stream.finish().await;
        if result.rc != 0 {
            return Err(self.failure(&what(), result));
        }
        Ok(entries)
    }

    /// Ends the session politely; dropping the connection would close it too.
    pub async fn close(mut self) {
        let _ = timeout(self.timeout, self.ldap.unbind()).await;
    }
}
