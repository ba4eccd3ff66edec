//! Settings shared by the handles: the client settings, timeouts, option text parsed by the
//! core, and the "settings only before start" rule over the core's [`Lifecycle`].

use std::ffi::c_char;
use std::str::FromStr;
use std::time::Duration;

use ferromq_client::{ClientConfig, Error, Lifecycle, Service, State};

use crate::ffi::str_arg;

/// Client settings for the name servers `namesrv` (`host:port;host:port`).
pub(crate) fn client_config(op: &'static str, namesrv: &str) -> Result<ClientConfig, Error> {
    if namesrv.trim().is_empty() {
        return Err(Error::invalid(op, "the name server address is empty"));
    }
    Ok(ClientConfig::new(namesrv, None))
}

/// A timeout in milliseconds (0 is refused).
pub(crate) fn millis(op: &'static str, ms: u32) -> Result<Duration, Error> {
    if ms == 0 {
        return Err(Error::invalid(op, "the timeout is 0"));
    }
    Ok(Duration::from_millis(u64::from(ms)))
}

/// An option given as text (`name` is the argument's name), parsed with the core's spellings
/// (`ferromq_client::choices`).
pub(crate) fn choice<T>(op: &'static str, name: &str, p: *const c_char) -> Result<T, Error>
where
    T: FromStr<Err = Error>,
{
    str_arg(op, name, p)?
        .parse()
        .map_err(|e: Error| Error::invalid(op, e.message().to_owned()))
}

/// Settings change only while the handle is created (not started, not shut down).
pub(crate) fn check_created<T: Service>(
    op: &'static str,
    lifecycle: &Lifecycle<T>,
) -> Result<(), Error> {
    match lifecycle.state() {
        State::Created => Ok(()),
        State::Starting | State::Started => Err(Error::illegal_state(
            op,
            "settings are only changed before start (already started)",
        )),
        State::ShutDown => Err(Error::illegal_state(op, "already shut down")),
    }
}

/// Shuts down what `lifecycle` started, if anything (the `_shutdown` and `_free` functions;
/// a second call does nothing).
pub(crate) fn shutdown<T: Service>(
    op: &'static str,
    lifecycle: &Lifecycle<T>,
) -> Result<(), Error> {
    if let Some(started) = lifecycle.close() {
        crate::runtime::block_on(op, started.stop())?;
    }
    Ok(())
}
