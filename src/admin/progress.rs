//! Progress of long work: a bar on a terminal, a line every few seconds
//! otherwise (logs, CI, cron).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub enum Progress {
    Bar(ProgressBar),
    Lines {
        what: &'static str,
        last: Mutex<Instant>,
        started: Instant,
    },
}

const LINE_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    pub fn new(what: &'static str) -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_message(what);
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                what,
                last: Mutex::new(Instant::now()),
                started: Instant::now(),
            }
        }
    }

    /// `done` of `total` items, `bytes` processed.
    pub fn update(&self, done: u64, total: u64, bytes: u64) {
        match self {
            Progress::Bar(bar) => {
                bar.set_length(total);
                bar.set_position(done);
            }
            Progress::Lines {
                what,
                last,
                started,
            } => {
                let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
                if last.elapsed() >= LINE_EVERY || (done == total && total > 0) {
                    *last = Instant::now();
                    let secs = started.elapsed().as_secs_f64().max(1e-3);
                    eprintln!(
                        "{what}: {done}/{total} ({:.0}/s, {:.1} MB/s)",
                        done as f64 / secs,
                        bytes as f64 / secs / 1e6
                    );
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
