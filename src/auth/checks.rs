//! Running password checks within bounds. An argon2 check takes 19 MiB and
//! tens of milliseconds of a core: a few run at once; one client address
//! has at most half of those places running or waiting (so that an address
//! flooding logins waits behind itself, not in front of everyone else);
//! and a bounded number wait for a place; beyond that a login is answered
//! "unavailable" at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Per client address, its turns; entries leave when nobody holds them.
type Turns = Arc<Mutex<HashMap<IpAddr, Arc<Semaphore>>>>;

pub struct PasswordChecks {
    running: Arc<Semaphore>,
    /// Turns of one address: half the places, at least one.
    per_address: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
    turns: Turns,
}

/// Why a check did not run.
#[derive(Debug)]
pub enum NotRun {
    /// Too many addresses are waiting already.
    Busy,
    /// The check's thread panicked.
    Panicked,
}

/// An address's turn; dropping it lets the address's next check go.
struct Turn {
    ip: IpAddr,
    turns: Turns,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
        drop(self.permit.take());
        // The table's own reference is the last: nobody holds or awaits it.
        if turns
            .get(&self.ip)
            .is_some_and(|t| Arc::strong_count(t) == 1)
        {
            turns.remove(&self.ip);
        }
    }
}

/// Counts a wait for a place while it lasts.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl PasswordChecks {
    /// `at_once` checks run at the same time (at least one); `max_waiting`
    /// checks may wait for a place.
    pub fn new(at_once: usize, max_waiting: usize) -> PasswordChecks {
        PasswordChecks {
            running: Arc::new(Semaphore::new(at_once.max(1))),
            per_address: at_once.div_ceil(2).max(1),
            waiting: AtomicUsize::new(0),
            max_waiting,
            turns: Arc::default(),
        }
    }

    /// Runs `check` on a blocking thread once `ip` has a turn and a place
    /// is free. The turn and the place go with the check itself, so a
    /// caller that gives up waiting does not let a further check start
    /// while this one still runs.
    pub async fn run<T: Send + 'static>(
        &self,
        ip: IpAddr,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, NotRun> {
        let turn = self.turn(ip).await;
        let place = {
            if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.max_waiting {
                self.waiting.fetch_sub(1, Ordering::Relaxed);
                return Err(NotRun::Busy);
            }
            let _waiting = Waiting(&self.waiting);
            self.running
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed")
        };
        tokio::task::spawn_blocking(move || {
            let _held = (turn, place);
            check()
        })
        .await
        .map_err(|_| NotRun::Panicked)
    }

    async fn turn(&self, ip: IpAddr) -> Turn {
        let turns = self
            .turns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(ip)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_address)))
            .clone();
        // Built before the wait, so that a cancelled wait still cleans up.
        let mut turn = Turn {
            ip,
            turns: self.turns.clone(),
            permit: None,
        };
        let permit = turns.acquire_owned().await;
        turn.permit = Some(permit.expect("the semaphore is never closed"));
        turn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[tokio::test]
    async fn one_check_per_address_and_a_bounded_wait() {
        let checks = Arc::new(PasswordChecks::new(1, 1));
        let (started, release) = (Arc::new(Semaphore::new(0)), Arc::new(Semaphore::new(0)));
        let blocker = {
            let (checks, started, release) = (checks.clone(), started.clone(), release.clone());
            tokio::spawn(async move {
                checks
                    .run(ip(1), move || {
                        started.add_permits(1);
                        while release.try_acquire().is_err() {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    })
                    .await
            })
        };
        started.acquire().await.unwrap().forget();
        // A second address waits for the place; a third finds the wait full.
        let second = {
            let checks = checks.clone();
            tokio::spawn(async move { checks.run(ip(2), || 2).await })
        };
        while checks.waiting.load(Ordering::Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(matches!(checks.run(ip(3), || 3).await, Err(NotRun::Busy)));
        release.add_permits(1);
        blocker.await.unwrap().unwrap();
        assert_eq!(second.await.unwrap().unwrap(), 2);
        assert!(
            checks.turns.lock().unwrap().is_empty(),
            "turns are given back"
        );
    }
}
