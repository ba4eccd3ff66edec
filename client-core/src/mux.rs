//! The connection rules every client transport follows, as state with no I/O: the request
//! multiplexer and the reconnect backoff.
//!
//! The transports (the tokio TCP one here, the WebSocket one of the WASM binding) only move
//! bytes and time: they feed this state decoded frames, failed or successful connects and the
//! current instant, and do what it answers.
//!
//! - [`Mux`] (from `ferromq_protocol::mux`, where the servers' connections share it): opaques,
//!   waiters and their deadlines, responses versus requests from the broker, close;
//! - [`Backoff`]: after a failed connect to an address, how long to wait before the next
//!   attempt (100 ms doubling to [`Backoff::MAX`]), reset by a successful connect; a connect
//!   attempt itself lasts at most [`CONNECT_TIMEOUT`];
//! - [`Shutdown`]: once a transport is closed, every request fails;
//! - [`operation_of`]: the operation a request's errors name.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ferromq_protocol::RemotingCommand;

pub use ferromq_protocol::mux::{deadline, Closed, Inbound, Mux, Reply, FIRST_OPAQUE, MAX_TIMEOUT};

use crate::error::{Error, ErrorKind, Result};
use crate::rt::Instant;

/// How long one connect attempt (TCP connect, WebSocket open) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The operation named by the errors of `request`: its request code's name.
pub fn operation_of(request: &RemotingCommand) -> &'static str {
    request.request_code().name().unwrap_or("request")
}

/// Whether a transport has been closed; from then on every request fails.
#[derive(Debug, Default)]
pub struct Shutdown(AtomicBool);

impl Shutdown {
    /// Marks the transport closed.
    pub fn close(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`Self::close`] has been called.
    pub fn is_closed(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// `Ok` while open, else the [`ErrorKind::IllegalState`] error of `operation`.
    pub fn check(&self, operation: &'static str) -> Result<()> {
        if self.is_closed() {
            return Err(Error::new(
                ErrorKind::IllegalState,
                operation,
                "the client is shut down",
            ));
        }
        Ok(())
    }
}

/// Failed connects to one address in a row, and when the next attempt may start.
#[derive(Debug, Default, Clone)]
pub struct Backoff {
    failures: u32,
    retry_at: Option<Instant>,
    /// Why the last connect failed, for the errors of requests refused while waiting.
    last_error: Option<String>,
}

impl Backoff {
    /// The pause after the first failed connect.
    pub const FIRST: Duration = Duration::from_millis(100);
    /// The longest pause.
    pub const MAX: Duration = Duration::from_secs(3);

    /// The pause after `failures` failed connects in a row: [`Self::FIRST`] after the first,
    /// doubling after each further one, at most [`Self::MAX`]; none before any failure.
    pub fn pause_after(failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        // 2^5 * 100 ms already exceeds the cap: no need to shift further.
        Self::FIRST
            .saturating_mul(1 << (failures - 1).min(5))
            .min(Self::MAX)
    }

    /// Records a connect that failed at `now` because of `reason` (shown in the errors of
    /// requests refused during the pause); returns the pause before the next attempt.
    pub fn failed_because(&mut self, now: Instant, reason: String) -> Duration {
        self.last_error = Some(reason);
        self.failed(now)
    }

    /// Records a failed connect at `now`; returns the pause before the next attempt.
    pub fn failed(&mut self, now: Instant) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let pause = Self::pause_after(self.failures);
        self.retry_at = Some(now + pause);
        pause
    }

    /// Records a successful connect: the next failure starts from [`Self::FIRST`] again.
    pub fn succeeded(&mut self) {
        self.forgive();
    }

    /// Forgets the failures so far: the next attempt may start at once.
    pub fn forgive(&mut self) {
        *self = Backoff::default();
    }

    /// While a connect attempt must wait at `now`: the failures so far (for the error message).
    /// `None` when an attempt may start.
    pub fn waiting(&self, now: Instant) -> Option<u32> {
        self.retry_at.filter(|&at| now < at).map(|_| self.failures)
    }

    /// `Ok` when a connect attempt to `target` may start at `now`, else the
    /// [`ErrorKind::Connect`] error of `operation` to fail it with.
    pub fn check(&self, now: Instant, operation: &'static str, target: &str) -> Result<()> {
        match self.waiting(now) {
            None => Ok(()),
            Some(failures) => {
                let last = self
                    .last_error
                    .as_deref()
                    .map(|e| format!("; the last: {e}"))
                    .unwrap_or_default();
                Err(Error::new(
                    ErrorKind::Connect,
                    operation,
                    format!(
                        "{target} unreachable (backing off after {failures} failed connects{last})"
                    ),
                ))
            }
        }
    }

    /// Failed connects in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_protocol::RequestCode;

    #[test]
    fn shutdown_refuses_requests_once_closed() {
        let shutdown = Shutdown::default();
        assert!(shutdown.check("SEND_MESSAGE").is_ok());
        shutdown.close();
        let err = shutdown.check("SEND_MESSAGE").err();
        assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::IllegalState));
    }

    #[test]
    fn operations_are_named_by_request_code() {
        let send = RemotingCommand::request(RequestCode::SEND_MESSAGE);
        assert_eq!(operation_of(&send), "SEND_MESSAGE");
        assert_eq!(
            operation_of(&RemotingCommand::request(RequestCode(-77))),
            "request"
        );
    }

    #[test]
    fn the_pause_starts_at_100_ms_and_doubles_to_the_cap() {
        let ms = |n: u32| Backoff::pause_after(n).as_millis();
        assert_eq!(ms(0), 0);
        assert_eq!(
            (1..=7).map(ms).collect::<Vec<_>>(),
            [100, 200, 400, 800, 1600, 3000, 3000]
        );
        assert_eq!(Backoff::pause_after(u32::MAX), Backoff::MAX);
    }

    #[test]
    fn attempts_wait_until_the_pause_is_over() {
        let start = Instant::now();
        let mut backoff = Backoff::default();
        assert_eq!(backoff.waiting(start), None, "no failure, no wait");
        assert_eq!(backoff.failed(start), Backoff::FIRST);
        assert_eq!(backoff.waiting(start), Some(1));
        let almost = start + Backoff::FIRST - Duration::from_millis(1);
        assert_eq!(backoff.waiting(almost), Some(1));
        let after = start + Backoff::FIRST;
        assert_eq!(backoff.waiting(after), None, "the pause is over");
        assert_eq!(backoff.failed(after), Backoff::FIRST * 2);
        assert_eq!(backoff.waiting(after + Backoff::FIRST), Some(2));
        let refused = backoff.check(after, "SEND_MESSAGE", "10.0.0.1:10911");
        let err = refused.err().map(|e| (e.kind(), e.to_string()));
        let (kind, text) = err.unwrap_or((ErrorKind::Io, String::new()));
        assert_eq!(kind, ErrorKind::Connect);
        assert!(text.contains("10.0.0.1:10911 unreachable"), "{text}");
        assert!(text.contains("after 2 failed connects"), "{text}");
        assert!(backoff
            .check(after + Backoff::MAX, "SEND_MESSAGE", "x")
            .is_ok());
        // Requests refused during the pause say why the last connect failed.
        let later = after + Backoff::MAX;
        backoff.failed_because(later, "invalid peer certificate: UnknownIssuer".to_owned());
        let text = backoff
            .check(later, "SEND_MESSAGE", "10.0.0.1:10911")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            text.contains("after 3 failed connects; the last: invalid peer certificate"),
            "{text}"
        );
    }

    #[test]
    fn failures_accumulate_up_to_the_cap_and_success_resets() {
        let now = Instant::now();
        let mut backoff = Backoff::default();
        let pauses: Vec<Duration> = (0..10).map(|_| backoff.failed(now)).collect();
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]), "{pauses:?}");
        assert_eq!(pauses.last(), Some(&Backoff::MAX));
        assert_eq!(backoff.failures(), 10);
        assert_eq!(backoff.waiting(now + Backoff::MAX), None);
        backoff.succeeded();
        assert_eq!(backoff.failures(), 0);
        assert_eq!(backoff.waiting(now), None);
        assert_eq!(backoff.failed(now), Backoff::FIRST);
    }
}
