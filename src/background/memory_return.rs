//! Memory freed by sessions goes back to the system. glibc's allocator
//! keeps what a burst of work freed (argon2's 19 MiB blocks, messages read
//! for FETCH, index batches) in its arenas, one per thread that allocated,
//! until asked: after a load the server held 150-200 MB more than before
//! it. Every few seconds the arenas' free pages are handed back
//! (`malloc_trim`, which also releases free pages inside an arena, not
//! only at its top). And the server uses as many arenas as the machine
//! has cores, not glibc's eight per core: what stayed behind after a trim
//! was a few megabytes pinned in each of a dozen arenas (load workload C:
//! 31-49 MB held 60 s after the load with the default, 17 MB with two
//! arenas on two cores, at the same throughput). The allocator itself is
//! unchanged, and the extraction workers keep glibc's defaults, so the
//! limits they run under behave as measured.

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

/// Caps glibc's arenas at the number of cores; called before the server
/// starts its threads.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn limit_arenas() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt takes no pointers; M_ARENA_MAX only bounds arenas
    // created from now on.
    if unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas) } == 0 {
        tracing::warn!(arenas, "limiting the allocator's arenas failed");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_arenas() {}

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
