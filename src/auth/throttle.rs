//! Slowing down failed logins, per client address and per user (the user
//! a login name resolves to, so that each of a user's e-mail addresses
//! adds to the same count; an unknown name counts for itself): 2 s
//! (configurable) after the first failure, doubling with each further one
//! up to 7.5 times that (15 s).
//! A success clears the user's count; counts are forgotten after a quiet
//! quarter of an hour.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The default delay after a first failure.
pub const FIRST: Duration = Duration::from_secs(2);
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Bounds the tables against an attacker cycling through names or addresses.
const MAX_ENTRIES: usize = 100_000;

pub struct Throttle {
    /// The delay after a first failure.
    first: Duration,
    state: Mutex<Tables>,
}

impl Default for Throttle {
    fn default() -> Throttle {
        Throttle::new(FIRST)
    }
}

#[derive(Default)]
struct Tables {
    by_ip: HashMap<IpAddr, (u32, Instant)>,
    by_user: HashMap<String, (u32, Instant)>,
}

/// The failures counted under `key` that are not forgotten yet.
fn count<K: std::hash::Hash + Eq>(table: &HashMap<K, (u32, Instant)>, key: &K) -> u32 {
    table
        .get(key)
        .filter(|(_, at)| at.elapsed() < FORGET_AFTER)
        .map_or(0, |(n, _)| *n)
}

fn bump<K: std::hash::Hash + Eq>(table: &mut HashMap<K, (u32, Instant)>, key: K) -> u32 {
    let now = Instant::now();
    if table.len() >= MAX_ENTRIES {
        table.retain(|_, (_, at)| now.duration_since(*at) < FORGET_AFTER);
    }
    let entry = table.entry(key).or_insert((0, now));
    if now.duration_since(entry.1) >= FORGET_AFTER {
        entry.0 = 0;
    }
    entry.0 = entry.0.saturating_add(1);
    entry.1 = now;
    entry.0
}

impl Throttle {
    pub fn new(first: Duration) -> Throttle {
        Throttle {
            first,
            state: Mutex::default(),
        }
    }

    /// The delay after the `n`th failure in a row.
    pub fn delay_after(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(4);
        (self.first * 2u32.pow(doublings)).min(self.first * 15 / 2)
    }

    /// How long an attempt from `ip` for `user` waits before its password
    /// is checked: the delay earned by the failures so far, so that a
    /// client guessing passwords pays in time before it costs a check.
    pub fn before_check(&self, ip: IpAddr, user: &str) -> Duration {
        let tables = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let failures = count(&tables.by_ip, &ip).max(count(&tables.by_user, &user.to_lowercase()));
        match failures {
            0 => Duration::ZERO,
            n => self.delay_after(n),
        }
    }

    /// Records a failure and returns how long after the attempt began the
    /// failure is answered.
    pub fn failed(&self, ip: IpAddr, user: &str) -> Duration {
        let mut tables = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let by_ip = bump(&mut tables.by_ip, ip);
        let by_user = bump(&mut tables.by_user, user.to_lowercase());
        self.delay_after(by_ip.max(by_user))
    }

    pub fn succeeded(&self, user: &str) {
        let mut tables = self.state.lock().unwrap_or_else(|p| p.into_inner());
        tables.by_user.remove(&user.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_fifteen_seconds() {
        let throttle = Throttle::default();
        let secs: Vec<u64> = (1..=6).map(|n| throttle.delay_after(n).as_secs()).collect();
        assert_eq!(secs, vec![2, 4, 8, 15, 15, 15]);
    }

    #[test]
    fn counts_per_ip_and_per_user() {
        let throttle = Throttle::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(throttle.failed(a, "alice"), Duration::from_secs(2));
        assert_eq!(
            throttle.failed(b, "Alice"),
            Duration::from_secs(4),
            "same user from elsewhere"
        );
        assert_eq!(
            throttle.failed(a, "bob"),
            Duration::from_secs(4),
            "same address, other user"
        );
        throttle.succeeded("alice");
        assert_eq!(
            throttle.failed(b, "carol"),
            Duration::from_secs(4),
            "b failed once before"
        );
    }

    #[test]
    fn earlier_failures_delay_the_next_check() {
        let throttle = Throttle::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(throttle.before_check(a, "alice"), Duration::ZERO);
        throttle.failed(a, "alice");
        assert_eq!(throttle.before_check(a, "bob"), Duration::from_secs(2));
        assert_eq!(throttle.before_check(b, "Alice"), Duration::from_secs(2));
        assert_eq!(throttle.before_check(b, "bob"), Duration::ZERO);
    }
}
