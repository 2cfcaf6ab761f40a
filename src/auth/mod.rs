//! Who may log in: password checks for integrated users, the `login`
//! privilege, and slowing down failed attempts.

mod cache;
mod throttle;

use std::net::IpAddr;
use std::sync::Arc;

use cache::VerifiedCache;
pub use throttle::{Throttle, delay_after};

use crate::archive::{Archives, Authentication, GlobalPrivileges, UserRecord, verify_password};

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
    throttle: Throttle,
    cache: Arc<VerifiedCache>,
}

impl Authenticator {
    pub fn new(archives: Arc<Archives>) -> Authenticator {
        Authenticator {
            archives,
            throttle: Throttle::default(),
            cache: Arc::default(),
        }
    }

    /// Checks a login name (user name or e-mail address) and password.
    /// A failure is answered only after the throttling delay.
    pub async fn login(
        &self,
        ip: IpAddr,
        login: &str,
        password: &str,
    ) -> Result<UserRecord, LoginError> {
        let (archives, cache) = (self.archives.clone(), self.cache.clone());
        let (name, secret) = (login.to_string(), password.to_string());
        let checked =
            tokio::task::spawn_blocking(move || check(&archives, &cache, &name, &secret)).await;
        let outcome = match checked {
            Ok(Ok(user)) => Ok(user),
            Ok(Err(reason)) => Err((LoginError::Failed, reason)),
            Err(_) => Err((
                LoginError::Unavailable,
                "the password check panicked".to_string(),
            )),
        };
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

/// The reason is for the log only; the client gets one answer for all.
fn check(
    archives: &Archives,
    cache: &VerifiedCache,
    login: &str,
    password: &str,
) -> Result<UserRecord, String> {
    if password.is_empty() {
        return Err("empty password".into());
    }
    let user = archives
        .user_by_login(login)
        .map_err(|e| format!("looking up the user: {e}"))?
        .ok_or_else(|| "no such user".to_string())?;
    if !GlobalPrivileges::from_bits(user.privileges).has(GlobalPrivileges::LOGIN) {
        return Err(format!("user {} lacks the login privilege", user.name));
    }
    match user.authentication {
        Authentication::Integrated => {
            let Some(hash) = user.password_hash.clone() else {
                return Err(format!("user {} has no password set", user.name));
            };
            if cache.hit(user.id, password, &hash) {
                return Ok(user);
            }
            if !verify_password(password, &hash) {
                return Err("wrong password".into());
            }
            cache.remember(user.id, password, &hash);
            Ok(user)
        }
        Authentication::DirectoryServices => Err(format!(
            "user {} signs in through directory services, which are not configured",
            user.name
        )),
    }
}
