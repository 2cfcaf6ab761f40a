//! How the process treats the files it writes, set once at its start.

/// Everything archimap creates (catalog, packs, indexes, certificate,
/// exports) is private to its user, whatever umask it was started with:
/// the archive holds mail and password hashes.
pub fn private_files() {
    // SAFETY: umask only sets the process's file creation mask; it cannot
    // fail and touches no memory.
    unsafe {
        libc::umask(0o077);
    }
}

/// A write past a file size limit (`ulimit -f`) fails with an error, which
/// is answered like a full disk, instead of the signal killing the server.
pub fn no_space_is_an_error() {
    // SAFETY: ignoring a signal installs no handler; nothing else in the
    // process handles SIGXFSZ.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
