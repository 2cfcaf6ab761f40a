//! Who is signed in right now: every authenticated IMAP session, for the
//! admin API's GetActiveSessions.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};

#[derive(Default)]
pub struct Sessions {
    next_id: AtomicU64,
    open: Mutex<BTreeMap<u64, ActiveSession>>,
}

#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub id: u64,
    pub user: String,
    pub ip: IpAddr,
    pub protocol: &'static str,
    pub since: DateTime<Utc>,
}

/// A session's place in the list; dropping it (the session ends) removes it.
pub struct Registration {
    sessions: Arc<Sessions>,
    id: u64,
}

impl Sessions {
    pub fn register(
        self: &Arc<Self>,
        user: &str,
        ip: IpAddr,
        protocol: &'static str,
    ) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let session = ActiveSession {
            id,
            user: user.to_string(),
            ip,
            protocol,
            since: Utc::now(),
        };
        self.lock().insert(id, session);
        Registration {
            sessions: self.clone(),
            id,
        }
    }

    /// The open sessions, oldest first.
    pub fn list(&self) -> Vec<ActiveSession> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, ActiveSession>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.sessions.lock().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_leave_the_list_when_they_end() {
        let sessions = Arc::new(Sessions::default());
        let ip = IpAddr::from([127, 0, 0, 1]);
        let first = sessions.register("alice", ip, "IMAP");
        let second = sessions.register("bob", ip, "IMAP");
        let users: Vec<String> = sessions.list().into_iter().map(|s| s.user).collect();
        assert_eq!(users, ["alice", "bob"]);
        drop(first);
        assert_eq!(sessions.list()[0].user, "bob");
        drop(second);
        assert!(sessions.list().is_empty());
    }
}
