//! Who may log in: password checks for integrated users (here) and
//! directory users (by the directory), the `login` privilege, and slowing
//! down failed attempts.

mod audit;
mod cache;
mod directory;
mod sessions;
mod throttle;

use std::net::IpAddr;
use std::sync::{Arc, PoisonError, RwLock};

use cache::VerifiedCache;
pub use sessions::{ActiveSession, Registration, Sessions};
pub use throttle::Throttle;

use crate::archive::{Archives, Authentication, GlobalPrivileges, UserRecord, verify_password};
use crate::directory::Directory;

#[derive(Debug, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong name or password, or no `login` privilege: one answer for all,
    /// so that a client learns nothing about which.
    Failed,
    /// The check itself could not be made (storage or directory down).
    Unavailable,
}

pub struct Authenticator {
    archives: Arc<Archives>,
    /// Swapped when the admin API changes the directory settings.
    directory: RwLock<Option<Arc<Directory>>>,
    throttle: Throttle,
    cache: Arc<VerifiedCache>,
    sessions: Arc<Sessions>,
}

/// Why a login failed: the client's answer, and the reason for the log.
type Refusal = (LoginError, String);

impl Authenticator {
    pub fn new(
        archives: Arc<Archives>,
        directory: Option<Directory>,
        throttle: Throttle,
    ) -> Authenticator {
        Authenticator {
            archives,
            directory: RwLock::new(directory.map(Arc::new)),
            throttle,
            cache: Arc::default(),
            sessions: Arc::default(),
        }
    }

    /// The directory in effect now.
    pub fn directory(&self) -> Option<Arc<Directory>> {
        self.directory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the directory for the logins that start from now on.
    pub fn set_directory(&self, directory: Option<Directory>) {
        *self
            .directory
            .write()
            .unwrap_or_else(PoisonError::into_inner) = directory.map(Arc::new);
    }

    /// The sessions signed in through this authenticator.
    pub fn sessions(&self) -> &Arc<Sessions> {
        &self.sessions
    }

    /// Checks a login name (user name or e-mail address) and password to
    /// `service`, which the user needs its privilege for. A failure is
    /// answered only after the throttling delay.
    pub async fn login(
        &self,
        service: Service,
        ip: IpAddr,
        login: &str,
        password: &str,
    ) -> Result<UserRecord, LoginError> {
        let (archives, cache) = (self.archives.clone(), self.cache.clone());
        let (name, secret) = (login.to_string(), password.to_string());
        let checked =
            tokio::task::spawn_blocking(move || check(&archives, &cache, service, &name, &secret))
                .await;
        let outcome = match checked {
            Ok(Ok(Checked::Verified(user))) => Ok(user),
            Ok(Ok(Checked::AskDirectory(user))) => {
                directory::verify(self.directory().as_deref(), user, password).await
            }
            Ok(Err(refusal)) => Err(refusal),
            Err(_) => Err((
                LoginError::Unavailable,
                "the password check panicked".to_string(),
            )),
        };
        audit::record(&self.archives, service, ip, login, &outcome).await;
        match outcome {
            Ok(user) => {
                self.throttle.succeeded(login);
                tracing::info!(%ip, login, user = %user.name, "login succeeded");
                Ok(user)
            }
            Err((error, reason)) => {
                let delay = self.throttle.failed(ip, login);
                tracing::warn!(%ip, login, reason, delay_secs = delay.as_secs(), "login failed");
                tokio::time::sleep(delay).await;
                Err(error)
            }
        }
    }
}

/// What a login is for; each needs its own global privilege.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Reading the archive over IMAP: `login`.
    Imap,
    /// The administration API: `admin`.
    Api,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Imap => "imap",
            Service::Api => "api",
        }
    }

    fn privilege(self) -> GlobalPrivileges {
        match self {
            Service::Imap => GlobalPrivileges::LOGIN,
            Service::Api => GlobalPrivileges::ADMIN,
        }
    }
}

enum Checked {
    Verified(UserRecord),
    /// A directory user who may log in if the directory accepts the password.
    AskDirectory(UserRecord),
}

/// The reason is for the log only; the client gets one answer for all.
fn check(
    archives: &Archives,
    cache: &VerifiedCache,
    service: Service,
    login: &str,
    password: &str,
) -> Result<Checked, Refusal> {
    let failed = |reason: String| (LoginError::Failed, reason);
    // Checked first for every kind of user: to a directory, a bind with an
    // empty password is an unauthenticated bind, which succeeds.
    if password.is_empty() {
        return Err(failed("empty password".into()));
    }
    let user = archives
        .user_by_login(login)
        .map_err(|e| (LoginError::Unavailable, format!("looking up the user: {e}")))?
        .ok_or_else(|| failed("no such user".into()))?;
    let needed = service.privilege();
    if !GlobalPrivileges::from_bits(user.privileges).has(needed) {
        return Err(failed(format!(
            "user {} lacks the {needed} privilege",
            user.name
        )));
    }
    match user.authentication {
        Authentication::Integrated => {
            let Some(hash) = user.password_hash.clone() else {
                return Err(failed(format!("user {} has no password set", user.name)));
            };
            if cache.hit(user.id, password, &hash) {
                return Ok(Checked::Verified(user));
            }
            if !verify_password(password, &hash) {
                return Err(failed("wrong password".into()));
            }
            cache.remember(user.id, password, &hash);
            Ok(Checked::Verified(user))
        }
        // Never cached: a disabled account or an unreachable directory
        // must take effect at the next login.
        Authentication::DirectoryServices => Ok(Checked::AskDirectory(user)),
    }
}
