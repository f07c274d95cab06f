//! The screen's writes to the mirror, on a thread of their own: a lookup records failed tries
//! (the throttle) and a rating goes into the outbox, and either may wait for the data plane's
//! write lock while a page of the case feed or a content release is applied. The screen stays
//! responsive meanwhile ("正在查询…") and takes the answer when it comes.
//!
//! Every job carries the visitor session it belongs to; an answer for a session the screen
//! has since cleared (the visitor walked away) is dropped, never shown to the next person.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::lookup::Lookup;
use crate::mirror::Mirror;

pub(crate) enum Job {
    Lookup {
        session: u64,
        case_no: String,
        code: String,
        now: DateTime<Utc>,
    },
    Rate {
        session: u64,
        case_no: Option<String>,
        score: u8,
        reasons: Vec<String>,
        now: DateTime<Utc>,
    },
}

pub(crate) enum Done {
    Lookup {
        session: u64,
        outcome: crate::Result<Lookup>,
    },
    Rated {
        session: u64,
        outcome: crate::Result<()>,
    },
}

/// Identifies the kiosk in the ratings it stores.
#[derive(Clone)]
pub(crate) struct Device {
    pub device_id: String,
    pub hall_id: String,
}

pub(crate) struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    done: mpsc::Receiver<Done>,
    pending: Cell<usize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn run(mirror: &crate::Result<Mirror>, device: &Device, job: Job) -> Done {
    let unavailable = |e: &crate::Error| crate::Error::Invalid(format!("mirror unavailable: {e}"));
    match job {
        Job::Lookup {
            session,
            case_no,
            code,
            now,
        } => Done::Lookup {
            session,
            outcome: match mirror {
                Ok(m) => m.lookup(&case_no, &code, now),
                Err(e) => Err(unavailable(e)),
            },
        },
        Job::Rate {
            session,
            case_no,
            score,
            reasons,
            now,
        } => Done::Rated {
            session,
            outcome: match mirror {
                Ok(m) => {
                    let reasons: Vec<&str> = reasons.iter().map(String::as_str).collect();
                    m.record_rating(
                        &device.device_id,
                        &device.hall_id,
                        case_no.as_deref(),
                        score,
                        &reasons,
                        now,
                    )
                    .map(|_| ())
                }
                Err(e) => Err(unavailable(e)),
            },
        },
    }
}

impl Worker {
    /// Starts the thread with its own connection to the mirror at `path`; `wake` is called
    /// after each answer, from the worker thread, to have the UI thread take it.
    pub fn start(
        path: PathBuf,
        device: Device,
        wake: Box<dyn Fn() + Send>,
    ) -> std::io::Result<Self> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("kiosk-ui-writes".into())
            .spawn(move || {
                let mirror = Mirror::open(&path);
                if let Err(e) = &mirror {
                    tracing::error!(error = %e, "the screen cannot open the mirror for lookups");
                }
                for job in job_rx {
                    if done_tx.send(run(&mirror, &device, job)).is_err() {
                        break;
                    }
                    wake();
                }
            })?;
        Ok(Self {
            jobs: Some(jobs),
            done,
            pending: Cell::new(0),
            thread: Some(thread),
        })
    }

    pub fn send(&self, job: Job) {
        if let Some(jobs) = &self.jobs
            && jobs.send(job).is_ok()
        {
            self.pending.set(self.pending.get() + 1);
        }
    }

    pub fn pending(&self) -> usize {
        self.pending.get()
    }

    fn taken(&self, done: Done) -> Done {
        self.pending.set(self.pending.get().saturating_sub(1));
        done
    }

    /// An answer that has arrived, if any.
    pub fn try_take(&self) -> Option<Done> {
        self.done.try_recv().ok().map(|d| self.taken(d))
    }

    /// Waits up to `limit` for the next answer (tests, and the headless screenshots).
    pub fn take_within(&self, limit: Duration) -> Option<Done> {
        if self.pending.get() == 0 {
            return None;
        }
        self.done.recv_timeout(limit).ok().map(|d| self.taken(d))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the channel ends the thread after the job in hand (a lookup or a rating of
        // a few milliseconds): a rating given is written before the process ends.
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
