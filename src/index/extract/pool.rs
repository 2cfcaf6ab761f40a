//! The index process's side of extraction: a small pool of worker
//! processes (`worker`), each started with hard limits (address space, CPU
//! time, no files, no core dumps) and given `attachment_seconds` of wall
//! clock per file before it is killed. A worker serves file after file
//! until one ends it; a crash, a hang or a limit costs that file's text and
//! that worker only, and the next file gets a fresh worker.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::outcome::NotExtracted;
use super::protocol::{DocKind, REPLY_HEADER_LEN, ReplyHeader, RequestHeader, Status};

/// The limits a worker is started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerLimits {
    /// Address space (RLIMIT_AS), bytes.
    pub memory: u64,
    /// Wall-clock time one file may take.
    pub time: Duration,
}

impl WorkerLimits {
    /// CPU time a worker may use in its life (RLIMIT_CPU): it retires
    /// itself after `time` of it, so a file that is not to blame always
    /// has `time` left, and the parent's wall-clock timeout (at most `time`
    /// of CPU for a one-threaded parser) comes first.
    fn cpu_seconds(&self) -> u64 {
        2 * self.time.as_secs().max(1) + 1
    }
}

/// A file's text could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub reason: NotExtracted,
    /// What the worker said last (its stderr), for the log.
    pub detail: String,
}

/// The text of one file, read by a worker within `limits`; at most
/// `max_text` bytes of it.
pub fn extract(
    kind: DocKind,
    file: &[u8],
    max_member: u64,
    max_text: usize,
    limits: WorkerLimits,
) -> Result<String, Failed> {
    let worker = match POOL.take(limits) {
        Some(worker) => worker,
        None => Worker::spawn(limits).map_err(|e| {
            POOL.put_back(None);
            Failed {
                reason: NotExtracted::Unavailable,
                detail: format!("starting an extraction worker: {e}"),
            }
        })?,
    };
    let header = RequestHeader {
        kind,
        max_member,
        max_text: max_text as u64,
        len: file.len() as u64,
    };
    let mut worker = worker;
    match worker.exchange(&header, file, max_text) {
        Ok((reply, text)) => {
            POOL.put_back((!reply.retiring).then_some(worker));
            match reply.status {
                Status::Text => Ok(text),
                Status::Unreadable => Err(Failed {
                    reason: NotExtracted::Unreadable,
                    detail: String::new(),
                }),
                Status::Panicked => Err(Failed {
                    reason: NotExtracted::Crashed,
                    detail: "the parser panicked".into(),
                }),
            }
        }
        Err(failure) => {
            POOL.put_back(None);
            Err(worker.ended(failure))
        }
    }
}

/// Ends the idle workers and waits for them: at the end of a command, so
/// that none outlives it (they would exit on their own when their stdin
/// closes) and their CPU time counts as the command's.
pub fn stop_idle_workers() {
    let idle = std::mem::take(&mut POOL.state.lock().unwrap_or_else(|p| p.into_inner()).idle);
    drop(idle);
}

/// Idle workers, and how many exist; at most one per core work at once.
struct Pool {
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Worker>,
    /// Workers handed out (or being started).
    busy: usize,
}

static POOL: Pool = Pool {
    state: Mutex::new(PoolState {
        idle: Vec::new(),
        busy: 0,
    }),
    freed: Condvar::new(),
};

fn max_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

impl Pool {
    /// An idle worker started with `limits`, or `None` when the caller is
    /// to start one; waits while the most workers are busy.
    fn take(&self, limits: WorkerLimits) -> Option<Worker> {
        let mut stale = Vec::new();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while state.busy >= max_workers() {
            state = self.freed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.busy += 1;
        let mut found = None;
        while let Some(mut worker) = state.idle.pop() {
            if worker.limits == limits && matches!(worker.child.try_wait(), Ok(None)) {
                found = Some(worker);
                break;
            }
            stale.push(worker);
        }
        drop(state);
        drop(stale); // killed and reaped outside the lock
        found
    }

    /// Ends a [`Pool::take`]: the worker goes back to the idle ones, or
    /// (`None`) is gone.
    fn put_back(&self, worker: Option<Worker>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.busy -= 1;
        let extra = match worker {
            Some(worker) if state.idle.len() < max_workers() => {
                state.idle.push(worker);
                None
            }
            other => other,
        };
        drop(state);
        self.freed.notify_one();
        drop(extra);
    }
}

/// One worker process.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// Collects the end of the worker's stderr (panic and abort messages).
    stderr: Option<JoinHandle<Vec<u8>>>,
    limits: WorkerLimits,
}

/// How an exchange with a worker went wrong.
enum Broken {
    TimedOut,
    Io(io::Error),
}

/// The bytes of stderr kept for the log.
const STDERR_TAIL: usize = 4096;

/// The program to run as a worker: this one. (`/proc/self/exe` still
/// works when the binary was replaced on disk by an upgrade.)
fn program() -> io::Result<std::path::PathBuf> {
    let proc = std::path::Path::new("/proc/self/exe");
    if proc.exists() {
        Ok(proc.to_path_buf())
    } else {
        std::env::current_exe()
    }
}

fn set_limit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads the struct it is given; it is async-signal
    // safe, as code between fork and exec must be.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor this process owns.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Waits until `fd` is ready for `events`; false when `deadline` passed.
fn ready(fd: RawFd, events: libc::c_short, deadline: Instant) -> io::Result<bool> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let mut poll = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        let ms = i32::try_from(left.as_millis() + 1).unwrap_or(i32::MAX);
        // SAFETY: one pollfd, owned here.
        match unsafe { libc::poll(&mut poll, 1, ms) } {
            n if n > 0 => return Ok(true),
            0 => {}
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

impl Worker {
    fn spawn(limits: WorkerLimits) -> io::Result<Worker> {
        let mut command = Command::new(program()?);
        command
            .arg("extract-worker")
            .arg("--retire-after-cpu-seconds")
            .arg(limits.time.as_secs().max(1).to_string())
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let cpu = limits.cpu_seconds();
        // SAFETY: the closure only calls setrlimit (async-signal safe).
        unsafe {
            command.pre_exec(move || {
                set_limit(libc::RLIMIT_AS, limits.memory, limits.memory)?;
                set_limit(libc::RLIMIT_CPU, cpu, cpu + 1)?;
                set_limit(libc::RLIMIT_FSIZE, 0, 0)?;
                set_limit(libc::RLIMIT_CORE, 0, 0)
            });
        }
        let mut child = command.spawn()?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(io::Error::other("the worker's pipes were not made"));
        };
        set_nonblocking(stdin.as_raw_fd())?;
        set_nonblocking(stdout.as_raw_fd())?;
        let stderr = std::thread::Builder::new()
            .name("extract-stderr".into())
            .spawn(move || {
                let mut tail = Vec::new();
                let mut chunk = [0; 4096];
                while let Ok(n @ 1..) = stderr.read(&mut chunk) {
                    tail.extend_from_slice(&chunk[..n]);
                    if tail.len() > 2 * STDERR_TAIL {
                        tail.drain(..tail.len() - STDERR_TAIL);
                    }
                }
                tail
            })?;
        Ok(Worker {
            child,
            stdin,
            stdout,
            stderr: Some(stderr),
            limits,
        })
    }

    /// Sends one file and reads the reply, all within the time limit.
    fn exchange(
        &mut self,
        header: &RequestHeader,
        file: &[u8],
        max_text: usize,
    ) -> Result<(ReplyHeader, String), Broken> {
        let deadline = Instant::now() + self.limits.time;
        self.send(&header.encode(), deadline)?;
        self.send(file, deadline)?;
        let mut raw = [0; REPLY_HEADER_LEN];
        self.receive(&mut raw, deadline)?;
        let invalid =
            |what: &str| Broken::Io(io::Error::new(io::ErrorKind::InvalidData, what.to_string()));
        let reply = ReplyHeader::decode(&raw).ok_or_else(|| invalid("malformed reply"))?;
        if reply.len > max_text as u64 {
            return Err(invalid("reply longer than asked for"));
        }
        let mut text = vec![0; reply.len as usize];
        self.receive(&mut text, deadline)?;
        let text = String::from_utf8(text).map_err(|_| invalid("reply not UTF-8"))?;
        Ok((reply, text))
    }

    fn send(&mut self, mut bytes: &[u8], deadline: Instant) -> Result<(), Broken> {
        while !bytes.is_empty() {
            match self.stdin.write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !ready(self.stdin.as_raw_fd(), libc::POLLOUT, deadline)
                        .map_err(Broken::Io)?
                    {
                        return Err(Broken::TimedOut);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Broken::Io(e)),
            }
        }
        Ok(())
    }

    fn receive(&mut self, mut into: &mut [u8], deadline: Instant) -> Result<(), Broken> {
        while !into.is_empty() {
            match self.stdout.read(into) {
                Ok(0) => return Err(Broken::Io(io::ErrorKind::UnexpectedEof.into())),
                Ok(n) => into = &mut into[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !ready(self.stdout.as_raw_fd(), libc::POLLIN, deadline)
                        .map_err(Broken::Io)?
                    {
                        return Err(Broken::TimedOut);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Broken::Io(e)),
            }
        }
        Ok(())
    }

    /// Kills the worker after a failed exchange, and says why it failed:
    /// from the timeout, the signal that ended it, or its last words.
    fn ended(mut self, broken: Broken) -> Failed {
        let _ = self.child.kill();
        let status = self.child.wait().ok();
        let said = self
            .stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        let said = String::from_utf8_lossy(&said);
        let last = said
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        let signal = status.and_then(|s| s.signal());
        let reason = match broken {
            Broken::TimedOut => NotExtracted::Timeout,
            Broken::Io(_) if signal == Some(libc::SIGXCPU) => NotExtracted::Cpu,
            Broken::Io(_) if said.contains("memory allocation of") => NotExtracted::Memory,
            Broken::Io(_) => NotExtracted::Crashed,
        };
        let detail = match (&broken, signal) {
            (Broken::TimedOut, _) => format!("killed after {} s", self.limits.time.as_secs_f64()),
            (Broken::Io(e), Some(signal)) => {
                format!("{e}; worker ended by signal {signal}: {last}")
            }
            (Broken::Io(e), None) => format!("{e}; worker exited ({status:?}): {last}"),
        };
        Failed { reason, detail }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(stderr) = self.stderr.take() {
            let _ = stderr.join();
        }
    }
}
