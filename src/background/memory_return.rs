//! Memory freed by sessions goes back to the system. glibc's allocator
//! keeps what a burst of work freed (argon2's 19 MiB blocks, messages read
//! for FETCH, index batches) in its arenas, one per thread that allocated,
//! until asked: after a load the server held 150-200 MB more than before
//! it. Every few seconds the arenas' free pages are handed back
//! (`malloc_trim`, which also releases free pages inside an arena, not
//! only at its top); the allocator itself is unchanged, so the limits the
//! extraction workers run under behave as measured.

use std::time::Duration;

/// How often freed memory is returned. A trim walks the arenas' free
/// lists: about a millisecond for a few hundred megabytes.
const EVERY: Duration = Duration::from_secs(10);

pub fn job() -> impl FnOnce() + Send + 'static {
    move || {
        loop {
            std::thread::sleep(EVERY);
            trim();
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim takes no pointers and may run beside any
    // allocation; it only takes the arenas' locks in turn.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
