//! The store's sticky I/O fault, and a test seam that injects I/O errors.
//!
//! After a failed `fdatasync`/`msync` Linux reports the error once and marks the lost pages
//! clean, so a later sync "succeeds" without the data. The store therefore never trusts the
//! disk again after any write or sync error: the first one is recorded in a [`Fault`], logged
//! once, and from then on every put is refused and every waiting SYNC_FLUSH writer gets an
//! error, until a restart recovers from the last durable state.
//!
//! [`inject`] makes chosen syncs or writes under a directory fail (tests only; one atomic load
//! on the hot path while nothing is armed).

use std::sync::{Arc, OnceLock};

/// A write or sync error the store cannot recover from while running. Set once; never cleared.
#[derive(Debug, Default)]
pub struct Fault {
    reason: OnceLock<Arc<str>>,
}

impl Fault {
    /// A shared, clear fault state.
    pub fn new() -> Arc<Fault> {
        Arc::default()
    }

    /// Records the fault (the first reason wins and is logged as an error, once) and returns the
    /// reason in effect.
    pub fn record(&self, reason: impl std::fmt::Display) -> Arc<str> {
        let mut first = false;
        let r = self.reason.get_or_init(|| {
            first = true;
            Arc::from(reason.to_string())
        });
        if first {
            tracing::error!(
                reason = %r,
                "STORE FAULT: a write or sync failed; the store refuses writes and acknowledges \
                 nothing until it is restarted (reads go on)"
            );
        }
        r.clone()
    }

    /// The reason, if a fault was recorded.
    pub fn reason(&self) -> Option<Arc<str>> {
        self.reason.get().cloned()
    }

    /// Whether a fault was recorded (one atomic load).
    pub fn is_set(&self) -> bool {
        self.reason.get().is_some()
    }
}

/// Test seam: makes the Nth sync or write of a file under a directory fail with `EIO`.
#[doc(hidden)]
pub mod inject {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// The kind of operation to fail.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum IoOp {
        /// `fdatasync`/`msync` of a file, or `fsync` of a directory.
        Sync,
        /// A `pwrite` (checkpoint, index files).
        Write,
    }

    #[derive(Debug)]
    struct Rule {
        id: u64,
        under: PathBuf,
        op: IoOp,
        /// Matching calls still to let through before failing.
        skip: u64,
        /// Failures still to inject.
        times: u64,
        fired: bool,
    }

    static ARMED: AtomicUsize = AtomicUsize::new(0);
    static NEXT_ID: AtomicU64 = AtomicU64::new(0);
    static RULES: Mutex<Vec<Rule>> = Mutex::new(Vec::new());

    /// An armed rule; dropping it disarms the rule.
    #[derive(Debug)]
    #[must_use = "the rule is disarmed when this is dropped"]
    pub struct Armed(u64);

    impl Armed {
        /// Whether the rule has made a call fail.
        pub fn fired(&self) -> bool {
            rules().iter().any(|r| r.id == self.0 && r.fired)
        }
    }

    impl Drop for Armed {
        fn drop(&mut self) {
            let mut rules = rules();
            let before = rules.len();
            rules.retain(|r| r.id != self.0);
            ARMED.fetch_sub(before - rules.len(), Ordering::AcqRel);
        }
    }

    fn rules() -> std::sync::MutexGuard<'static, Vec<Rule>> {
        RULES.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the `nth` (1-based) `op` on a path under `under` fail once with `EIO`.
    pub fn fail_nth(under: &Path, op: IoOp, nth: u64) -> Armed {
        arm(under, op, nth, 1)
    }

    /// Makes every `op` on a path under `under` fail with `EIO` until the rule is dropped.
    pub fn fail_always(under: &Path, op: IoOp) -> Armed {
        arm(under, op, 1, u64::MAX)
    }

    fn arm(under: &Path, op: IoOp, nth: u64, times: u64) -> Armed {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        rules().push(Rule {
            id,
            under: under.to_owned(),
            op,
            skip: nth.saturating_sub(1),
            times,
            fired: false,
        });
        ARMED.fetch_add(1, Ordering::AcqRel);
        Armed(id)
    }

    /// Called before every sync and write of the store: `Err` when an armed rule says so.
    #[inline]
    pub(crate) fn check(op: IoOp, path: &Path) -> std::io::Result<()> {
        if ARMED.load(Ordering::Relaxed) == 0 {
            return Ok(());
        }
        check_slow(op, path)
    }

    #[cold]
    fn check_slow(op: IoOp, path: &Path) -> std::io::Result<()> {
        for rule in rules().iter_mut() {
            if rule.op != op || rule.times == 0 || !path.starts_with(&rule.under) {
                continue;
            }
            if rule.skip > 0 {
                rule.skip -= 1;
                continue;
            }
            rule.times -= 1;
            rule.fired = true;
            return Err(std::io::Error::from_raw_os_error(5)); // EIO
        }
        Ok(())
    }
}
