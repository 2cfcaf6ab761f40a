//! The extraction worker: `archimap extract-worker`, a process of this
//! binary that the index process starts with hard limits (`pool`). It
//! reads requests on stdin, runs the third-party parser on each file and
//! writes bounded text on stdout, until stdin ends or it has used its share
//! of CPU time. Whatever a file does to it (a stack overflow, an
//! allocation beyond its memory limit, an endless loop) ends or stalls this
//! process only.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::FromRawFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use super::protocol::{DocKind, ReplyHeader, RequestHeader, Status};
use super::{office, truncated};

/// Serves requests until stdin ends, or until the process has used
/// `retire_after` of CPU time (it says so in its last reply): its CPU
/// rlimit counts the whole life of the process, so a worker that served
/// many files makes way for a fresh one before the limit could hit a
/// file that is not to blame.
pub fn serve(retire_after: Duration) -> io::Result<()> {
    let mut out = BufWriter::new(private_stdout()?);
    let mut input = BufReader::new(io::stdin().lock());
    // Parser panics are answered as such; their messages go to stderr,
    // which the index process reads for its log.
    while let Some(request) = RequestHeader::read(&mut input)? {
        let mut file = Vec::new();
        (&mut input).take(request.len).read_to_end(&mut file)?;
        let text = catch_unwind(AssertUnwindSafe(|| extract(&request, &file)));
        drop(file);
        let (status, text) = match text {
            Ok(Some(text)) => (
                Status::Text,
                truncated(
                    text,
                    usize::try_from(request.max_text).unwrap_or(usize::MAX),
                ),
            ),
            Ok(None) => (Status::Unreadable, String::new()),
            Err(_) => (Status::Panicked, String::new()),
        };
        let retiring = cpu_used() >= retire_after;
        ReplyHeader {
            status,
            retiring,
            len: text.len() as u64,
        }
        .write(&mut out)?;
        out.write_all(text.as_bytes())?;
        out.flush()?;
        if retiring {
            break;
        }
    }
    Ok(())
}

fn extract(request: &RequestHeader, file: &[u8]) -> Option<String> {
    match request.kind {
        DocKind::Pdf => pdf_extract::extract_text_from_mem(file).ok(),
        DocKind::Office => office::text(
            file,
            request.max_member,
            usize::try_from(request.max_text).unwrap_or(usize::MAX),
        ),
    }
}

/// The replies' own copy of stdout; fd 1 then points to stderr, so that
/// nothing a parser prints can be taken for a reply.
fn private_stdout() -> io::Result<File> {
    // SAFETY: plain descriptor calls; the new descriptor is owned by the
    // returned File alone.
    unsafe {
        let fd = libc::dup(libc::STDOUT_FILENO);
        if fd < 0 || libc::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(File::from_raw_fd(fd))
    }
}

/// User and system CPU time this process has used.
fn cpu_used() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}
