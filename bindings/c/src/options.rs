//! Settings shared by the handles, and the lifecycle lock every handle uses.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use ferromq_client::{ClientConfig, Error};

/// Client settings for the name servers `namesrv` (`host:port;host:port`).
pub(crate) fn client_config(op: &'static str, namesrv: &str) -> Result<ClientConfig, Error> {
    if namesrv.trim().is_empty() {
        return Err(Error::invalid(op, "the name server address is empty"));
    }
    Ok(ClientConfig {
        namesrv_addr: namesrv.to_owned(),
        ..ClientConfig::default()
    })
}

/// A timeout in milliseconds (0 is refused).
pub(crate) fn millis(op: &'static str, ms: u32) -> Result<Duration, Error> {
    if ms == 0 {
        return Err(Error::invalid(op, "the timeout is 0"));
    }
    Ok(Duration::from_millis(u64::from(ms)))
}

/// Locks a handle's state (a poisoned lock, left by a caught panic, is still usable).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where a handle is in its life: settings are changed before start, calls made after.
#[derive(Debug)]
pub(crate) enum Phase<S> {
    /// Created; settings may change.
    New,
    /// Started.
    Started(S),
    /// Shut down; nothing works any more.
    Closed,
}

impl<S: Clone> Phase<S> {
    /// The started object, or an illegal-state error.
    pub(crate) fn started(&self, op: &'static str) -> Result<S, Error> {
        match self {
            Phase::Started(s) => Ok(s.clone()),
            Phase::New => Err(Error::illegal_state(op, "not started (call _start first)")),
            Phase::Closed => Err(Error::illegal_state(op, "already shut down")),
        }
    }

    /// Fails unless still new (settings, start).
    pub(crate) fn check_new(&self, op: &'static str) -> Result<(), Error> {
        match self {
            Phase::New => Ok(()),
            Phase::Started(_) => Err(Error::illegal_state(op, "already started")),
            Phase::Closed => Err(Error::illegal_state(op, "already shut down")),
        }
    }
}
