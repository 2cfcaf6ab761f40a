//! Who may log in: password checks for integrated users (here) and
//! directory users (by the directory), the `login` privilege, and slowing
//! down failed attempts.
//!
//! Every attempt costs the same whether the name exists or not: an unknown
//! name is checked against a hash no password matches, and a failure is
//! answered at the same moment after the attempt began (the throttling
//! delay) whatever failed.

mod audit;
mod cache;
mod checks;
mod directory;
mod sessions;
mod throttle;

use std::net::IpAddr;
use std::sync::{Arc, PoisonError, RwLock};

use cache::VerifiedCache;
use checks::NotRun;
pub use checks::PasswordChecks;
pub use sessions::{ActiveSession, Registration, Sessions};
pub use throttle::Throttle;

use crate::archive::{
    Archives, Authentication, GlobalPrivileges, UserRecord, unmatchable_hash, verify_password,
};
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
    checks: PasswordChecks,
    cache: Arc<VerifiedCache>,
    sessions: Arc<Sessions>,
    /// What unknown users' passwords are checked against.
    unmatchable: Arc<str>,
}

/// Why a login failed: the client's answer, and the reason for the log.
type Refusal = (LoginError, String);

impl Authenticator {
    pub fn new(
        archives: Arc<Archives>,
        directory: Option<Directory>,
        throttle: Throttle,
        checks: PasswordChecks,
    ) -> Authenticator {
        Authenticator {
            archives,
            directory: RwLock::new(directory.map(Arc::new)),
            throttle,
            checks,
            cache: Arc::default(),
            sessions: Arc::default(),
            unmatchable: unmatchable_hash().into(),
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
    /// answered only after the throttling delay, counted from the start.
    pub async fn login(
        &self,
        service: Service,
        ip: IpAddr,
        login: &str,
        password: &str,
    ) -> Result<UserRecord, LoginError> {
        let started = tokio::time::Instant::now();
        let (outcome, user_key) = self.attempt(service, ip, login, password).await;
        audit::record(&self.archives, service, ip, login, &outcome).await;
        match outcome {
            Ok(user) => {
                self.throttle.succeeded(&user_key);
                tracing::info!(%ip, login, user = %user.name, "login succeeded");
                Ok(user)
            }
            Err((error, reason)) => {
                let delay = self.throttle.failed(ip, &user_key);
                tracing::warn!(%ip, login, reason, delay_ms = delay.as_millis(), "login failed");
                tokio::time::sleep_until(started + delay).await;
                Err(error)
            }
        }
    }

    /// The outcome, and the name failures are counted under: the user the
    /// login resolves to, or the login itself when it names nobody.
    async fn attempt(
        &self,
        service: Service,
        ip: IpAddr,
        login: &str,
        password: &str,
    ) -> (Result<UserRecord, Refusal>, String) {
        let failed = |reason: String| Err((LoginError::Failed, reason));
        // Checked first for every kind of user: to a directory, a bind with
        // an empty password is an unauthenticated bind, which succeeds.
        if password.is_empty() {
            return (failed("empty password".into()), login.to_lowercase());
        }
        let user = match self.find(login).await {
            Ok(user) => user,
            Err(refusal) => return (Err(refusal), login.to_lowercase()),
        };
        let key = user
            .as_ref()
            .map_or_else(|| login.to_lowercase(), |u| u.name.to_lowercase());
        let outcome = match user {
            Some(user) if self.recently_verified(&user, password) => Ok(user),
            user => {
                tokio::time::sleep(self.throttle.before_check(ip, &key)).await;
                self.check_password(ip, user, password).await
            }
        };
        let outcome = outcome.and_then(|user| {
            let needed = service.privilege();
            if GlobalPrivileges::from_bits(user.privileges).has(needed) {
                Ok(user)
            } else {
                failed(format!("user {} lacks the {needed} privilege", user.name))
            }
        });
        (outcome, key)
    }

    async fn find(&self, login: &str) -> Result<Option<UserRecord>, Refusal> {
        let (archives, login) = (self.archives.clone(), login.to_string());
        tokio::task::spawn_blocking(move || archives.user_by_login(&login))
            .await
            .map_err(|_| "the user lookup panicked".to_string())
            .and_then(|found| found.map_err(|e| format!("looking up the user: {e}")))
            .map_err(|reason| (LoginError::Unavailable, reason))
    }

    /// A cache hit: no argon2, no delay.
    fn recently_verified(&self, user: &UserRecord, password: &str) -> bool {
        user.authentication == Authentication::Integrated
            && user
                .password_hash
                .as_deref()
                .is_some_and(|hash| self.cache.hit(user.id, password, hash))
    }

    /// The password check proper; the reason of a failure is for the log
    /// only.
    async fn check_password(
        &self,
        ip: IpAddr,
        user: Option<UserRecord>,
        password: &str,
    ) -> Result<UserRecord, Refusal> {
        let failed = |reason: String| Err((LoginError::Failed, reason));
        if let Some(user) = &user
            && user.authentication == Authentication::DirectoryServices
        {
            // Never cached: a disabled account or an unreachable directory
            // must take effect at the next login.
            let user = user.clone();
            return directory::verify(self.directory().as_deref(), user, password).await;
        }
        let hash: Arc<str> = match user.as_ref().and_then(|u| u.password_hash.as_deref()) {
            Some(hash) => hash.into(),
            None => self.unmatchable.clone(),
        };
        let secret = password.to_string();
        let verified = {
            let hash = hash.clone();
            self.checks
                .run(ip, move || verify_password(&secret, &hash))
                .await
        };
        match (verified, user) {
            (Err(NotRun::Busy), _) => Err((
                LoginError::Unavailable,
                "too many password checks are waiting".into(),
            )),
            (Err(NotRun::Panicked), _) => Err((
                LoginError::Unavailable,
                "the password check panicked".into(),
            )),
            (Ok(_), None) => failed("no such user".into()),
            (Ok(_), Some(user)) if user.password_hash.is_none() => {
                failed(format!("user {} has no password set", user.name))
            }
            (Ok(false), Some(_)) => failed("wrong password".into()),
            (Ok(true), Some(user)) => {
                self.cache.remember(user.id, password, &hash);
                Ok(user)
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
    /// Delivering journaled mail over SMTP: `archive`.
    Smtp,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Imap => "imap",
            Service::Api => "api",
            Service::Smtp => "smtp",
        }
    }

    fn privilege(self) -> GlobalPrivileges {
        match self {
            Service::Imap => GlobalPrivileges::LOGIN,
            Service::Api => GlobalPrivileges::ADMIN,
            Service::Smtp => GlobalPrivileges::ARCHIVE,
        }
    }
}
