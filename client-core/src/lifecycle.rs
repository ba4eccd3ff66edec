//! The one lifecycle of a client object as the bindings present it: created, then started,
//! then shut down, never started again.
//!
//! The core's [`Producer`], [`PushConsumer`], [`PullConsumer`], [`TransactionProducer`] and
//! [`Admin`] come into being started; a binding object that is created first and started
//! later keeps its core object in a [`Lifecycle`], which holds the rules:
//!
//! | call | created | starting | started | shut down |
//! |------|---------|----------|---------|-----------|
//! | `start` | starts | error: already started | error: already started | error: shut down, create a new object |
//! | `get` (every other call) | error: not started | error: not started | the object | error: shut down |
//! | `shutdown` | becomes shut down | becomes shut down; the start then stops what it started and fails | stops it | nothing |
//!
//! As in Apache RocketMQ's Java clients, a shut-down object refuses to start again
//! ([`ErrorKind::IllegalState`](crate::ErrorKind)): the application creates a new one. A start
//! that fails (or is cancelled) leaves the object created, so `start` may be called again.

use std::future::Future;
use std::sync::{Arc, Mutex};

use ferromq_common::lock;
use futures::future::BoxFuture;

use crate::admin::Admin;
use crate::consumer::{PullConsumer, PushConsumer};
use crate::error::{Error, Result};
use crate::producer::Producer;
use crate::transaction::TransactionProducer;

/// Where a [`Lifecycle`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Created, not started yet.
    Created,
    /// `start` is running.
    Starting,
    /// Started: calls work.
    Started,
    /// Shut down, for good.
    ShutDown,
}

/// A started core object that can be stopped (cheap to clone).
pub trait Service: Clone + Send + Sync + 'static {
    /// Stops it (a second call does nothing).
    fn stop(&self) -> BoxFuture<'static, ()>;
}

macro_rules! service {
    ($t:ty) => {
        impl Service for $t {
            fn stop(&self) -> BoxFuture<'static, ()> {
                let me = self.clone();
                Box::pin(async move { me.shutdown().await })
            }
        }
    };
}

service!(Producer);
service!(PushConsumer);
service!(PullConsumer);
service!(TransactionProducer);
service!(Arc<Admin>);

#[derive(Debug)]
enum Phase<T> {
    Created,
    Starting,
    Started(T),
    ShutDown,
}

/// The lifecycle of one binding object: its core object once started (see the module docs for
/// the rules). Cheap to clone; clones share the state.
#[derive(Debug)]
pub struct Lifecycle<T> {
    what: &'static str,
    phase: Arc<Mutex<Phase<T>>>,
}

impl<T> Clone for Lifecycle<T> {
    fn clone(&self) -> Self {
        Lifecycle {
            what: self.what,
            phase: self.phase.clone(),
        }
    }
}

/// Puts a start that did not finish (failed, or its future was dropped) back to created.
struct Pending<'a, T> {
    phase: &'a Mutex<Phase<T>>,
    armed: bool,
}

impl<T> Drop for Pending<'_, T> {
    fn drop(&mut self) {
        if self.armed {
            let mut p = lock(self.phase);
            if matches!(*p, Phase::Starting) {
                *p = Phase::Created;
            }
        }
    }
}

impl<T: Service> Lifecycle<T> {
    /// A created object; `what` names it in errors ("producer", "push consumer").
    pub fn new(what: &'static str) -> Self {
        Lifecycle {
            what,
            phase: Arc::new(Mutex::new(Phase::Created)),
        }
    }

    /// An object started already (one whose core object is made at construction).
    pub fn started(what: &'static str, value: T) -> Self {
        Lifecycle {
            what,
            phase: Arc::new(Mutex::new(Phase::Started(value))),
        }
    }

    /// Where it is.
    pub fn state(&self) -> State {
        match *lock(&self.phase) {
            Phase::Created => State::Created,
            Phase::Starting => State::Starting,
            Phase::Started(_) => State::Started,
            Phase::ShutDown => State::ShutDown,
        }
    }

    fn refuse_start(&self, phase: &Phase<T>) -> Error {
        match phase {
            Phase::ShutDown => Error::illegal_state(
                "start",
                format!(
                    "the {} was shut down and cannot be started again; create a new one",
                    self.what
                ),
            ),
            _ => Error::illegal_state("start", format!("the {} is already started", self.what)),
        }
    }

    /// Starts it with `start` (called only when the object is created).
    pub async fn start<F, Fut>(&self, start: F) -> Result<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        {
            let mut p = lock(&self.phase);
            if !matches!(*p, Phase::Created) {
                return Err(self.refuse_start(&p));
            }
            *p = Phase::Starting;
        }
        let mut pending = Pending {
            phase: &self.phase,
            armed: true,
        };
        let started = start().await;
        pending.armed = false;
        let value = {
            let mut p = lock(&self.phase);
            let starting = matches!(*p, Phase::Starting);
            match started {
                Err(e) => {
                    if starting {
                        *p = Phase::Created;
                    }
                    return Err(e);
                }
                Ok(value) if starting => {
                    *p = Phase::Started(value.clone());
                    return Ok(value);
                }
                Ok(value) => value,
            }
        };
        // Shut down while starting: what started stops.
        value.stop().await;
        Err(Error::illegal_state(
            "start",
            format!("the {} was shut down while it started", self.what),
        ))
    }

    /// Starts it now with `start` (a core object made without waiting), as [`Self::start`].
    pub fn start_now(&self, start: impl FnOnce() -> Result<T>) -> Result<T> {
        let mut p = lock(&self.phase);
        if !matches!(*p, Phase::Created) {
            return Err(self.refuse_start(&p));
        }
        let value = start()?;
        *p = Phase::Started(value.clone());
        Ok(value)
    }

    /// The started object, starting it now with `start` if it is still created (objects the
    /// binding starts on first use).
    pub fn get_or_start(&self, op: &'static str, start: impl FnOnce() -> Result<T>) -> Result<T> {
        let mut p = lock(&self.phase);
        if matches!(*p, Phase::Created) {
            let value = start()?;
            *p = Phase::Started(value.clone());
            return Ok(value);
        }
        self.value(op, &p)
    }

    fn value(&self, op: &'static str, phase: &Phase<T>) -> Result<T> {
        match phase {
            Phase::Started(v) => Ok(v.clone()),
            Phase::Created | Phase::Starting => Err(Error::illegal_state(
                op,
                format!("the {} is not started (call start() first)", self.what),
            )),
            Phase::ShutDown => Err(Error::illegal_state(
                op,
                format!("the {} is shut down", self.what),
            )),
        }
    }

    /// The started object for operation `op`, or an
    /// [`ErrorKind::IllegalState`](crate::ErrorKind) error.
    pub fn get(&self, op: &'static str) -> Result<T> {
        self.value(op, &lock(&self.phase))
    }

    /// The started object, if it is started.
    pub fn current(&self) -> Option<T> {
        match &*lock(&self.phase) {
            Phase::Started(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// Marks it shut down and hands back the started object, if any, for the caller to stop
    /// (for `Drop` and other places that cannot wait). See [`Self::shutdown`].
    pub fn close(&self) -> Option<T> {
        match std::mem::replace(&mut *lock(&self.phase), Phase::ShutDown) {
            Phase::Started(v) => Some(v),
            _ => None,
        }
    }

    /// Shuts it down for good, stopping the started object; nothing happens the second time.
    pub async fn shutdown(&self) {
        if let Some(v) = self.close() {
            v.stop().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::ErrorKind;

    /// A service counting its stops.
    #[derive(Clone, Debug, Default)]
    struct Fake(Arc<AtomicUsize>);

    impl Service for Fake {
        fn stop(&self) -> BoxFuture<'static, ()> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async {})
        }
    }

    impl Fake {
        fn stops(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn run<F: Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    fn error<T: std::fmt::Debug>(r: Result<T>) -> (ErrorKind, &'static str, String) {
        match r {
            Ok(v) => panic!("expected an error, got {v:?}"),
            Err(e) => (e.kind(), e.operation(), e.message().to_owned()),
        }
    }

    #[test]
    fn created_started_shut_down() {
        let l = Lifecycle::<Fake>::new("producer");
        assert_eq!(l.state(), State::Created);
        assert_eq!(
            error(l.get("send")),
            (
                ErrorKind::IllegalState,
                "send",
                "the producer is not started (call start() first)".to_owned()
            )
        );
        let fake = Fake::default();
        let started = run(l.start(|| async { Ok(fake.clone()) }));
        assert!(started.is_ok());
        assert_eq!(l.state(), State::Started);
        assert!(l.get("send").is_ok());
        assert!(l.current().is_some());

        run(l.shutdown());
        assert_eq!(l.state(), State::ShutDown);
        assert_eq!(fake.stops(), 1);
        assert_eq!(
            error(l.get("send")),
            (
                ErrorKind::IllegalState,
                "send",
                "the producer is shut down".to_owned()
            )
        );
        assert!(l.current().is_none());
    }

    #[test]
    fn double_start_is_refused_and_keeps_the_first() {
        let l = Lifecycle::<Fake>::new("push consumer");
        let first = Fake::default();
        assert!(run(l.start(|| async { Ok(first.clone()) })).is_ok());
        let mut called = false;
        let again = run(l.start(|| {
            called = true;
            async { Ok(Fake::default()) }
        }));
        assert!(!called, "the second start must not run");
        assert_eq!(
            error(again),
            (
                ErrorKind::IllegalState,
                "start",
                "the push consumer is already started".to_owned()
            )
        );
        assert_eq!(l.state(), State::Started);
        assert_eq!(first.stops(), 0);
    }

    #[test]
    fn start_after_shutdown_is_refused() {
        let l = Lifecycle::<Fake>::new("pull consumer");
        assert!(run(l.start(|| async { Ok(Fake::default()) })).is_ok());
        run(l.shutdown());
        let again = run(l.start(|| async { Ok(Fake::default()) }));
        assert_eq!(
            error(again),
            (
                ErrorKind::IllegalState,
                "start",
                "the pull consumer was shut down and cannot be started again; create a new one"
                    .to_owned()
            )
        );
        assert_eq!(l.state(), State::ShutDown);
        // Also when it was never started.
        let never = Lifecycle::<Fake>::new("admin");
        run(never.shutdown());
        assert_eq!(never.state(), State::ShutDown);
        assert!(never.start_now(|| Ok(Fake::default())).is_err());
        assert!(never.get_or_start("query", || Ok(Fake::default())).is_err());
    }

    #[test]
    fn double_shutdown_stops_once() {
        let l = Lifecycle::<Fake>::new("producer");
        let fake = Fake::default();
        assert!(l.start_now(|| Ok(fake.clone())).is_ok());
        run(l.shutdown());
        run(l.shutdown());
        assert!(l.close().is_none());
        assert_eq!(fake.stops(), 1);
    }

    #[test]
    fn a_failed_start_leaves_it_created() {
        let l = Lifecycle::<Fake>::new("producer");
        let failed = run(l.start(|| async { Err(Error::invalid("start", "bad group")) }));
        assert_eq!(error(failed).2, "bad group");
        assert_eq!(l.state(), State::Created);
        assert!(l
            .start_now(|| Err(Error::invalid("start", "again")))
            .is_err());
        assert_eq!(l.state(), State::Created);
        assert!(run(l.start(|| async { Ok(Fake::default()) })).is_ok());
    }

    #[test]
    fn a_dropped_start_leaves_it_created() {
        let l = Lifecycle::<Fake>::new("producer");
        {
            let start = l.start(futures::future::pending::<Result<Fake>>);
            let mut start = Box::pin(start);
            let waker = futures::task::noop_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(start.as_mut().poll(&mut cx).is_pending());
            assert_eq!(l.state(), State::Starting);
            assert!(l.get("send").is_err());
        }
        assert_eq!(l.state(), State::Created);
    }

    #[test]
    fn shutdown_while_starting_stops_what_started() {
        let l = Lifecycle::<Fake>::new("producer");
        let fake = Fake::default();
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let value = fake.clone();
        let start = l.start(|| async move {
            let _ = rx.await;
            Ok(value)
        });
        let mut start = Box::pin(start);
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(start.as_mut().poll(&mut cx).is_pending());
        run(l.shutdown());
        assert_eq!(l.state(), State::ShutDown);
        let _ = tx.send(());
        let r = run(start);
        assert_eq!(
            error(r).2,
            "the producer was shut down while it started".to_owned()
        );
        assert_eq!(fake.stops(), 1);
        assert_eq!(l.state(), State::ShutDown);
    }

    #[test]
    fn started_at_construction_and_started_on_first_use() {
        let l = Lifecycle::started("admin", Fake::default());
        assert_eq!(l.state(), State::Started);
        let lazy = Lifecycle::<Fake>::new("admin");
        let mut starts = 0;
        for _ in 0..2 {
            assert!(lazy
                .get_or_start("query", || {
                    starts += 1;
                    Ok(Fake::default())
                })
                .is_ok());
        }
        assert_eq!(starts, 1);
        let starting = Lifecycle::<Fake>::new("admin");
        assert!(starting.start_now(|| Ok(Fake::default())).is_ok());
        assert_eq!(
            error(starting.start_now(|| Ok(Fake::default()))).2,
            "the admin is already started"
        );
    }
}
