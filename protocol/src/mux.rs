//! The request multiplexer of one remoting connection, with no I/O.
//!
//! A remoting connection carries many requests at once in both directions; the `opaque` of a
//! response names the request it answers (docs/protocol.md, "Requests from the broker to the
//! client"). [`Mux`] is that bookkeeping as plain state, driven by whoever owns the socket (the
//! tokio connection of `ferromq-remoting`, the WebSocket transport of the WASM binding):
//!
//! - [`Mux::request`] and [`Mux::oneway`] give an outgoing request its opaque and flags, and
//!   for a request register the *waiter* (whatever the shell completes later: a channel, a
//!   callback) with its deadline;
//! - [`Mux::receive`] sorts a decoded inbound frame: it completes a waiter, or it is a request
//!   for the handler (answer it through its [`Reply`]), or it is a response nobody waits for
//!   (unknown opaque, or late after a timeout), to be dropped;
//! - [`Mux::forget`] drops a waiter whose requester gave up, [`Mux::expire`] the waiters whose
//!   deadline has passed, and [`Mux::close`] hands back every waiter exactly once, after which
//!   nothing new is accepted.
//!
//! Time is whatever instant type the shell uses (`I`: `std`, tokio's or `web-time`'s `Instant`),
//! passed in as `now`; the multiplexer never reads a clock.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::ops::Add;
use std::time::Duration;

use crate::command::{RemotingCommand, FLAG_ONEWAY, FLAG_RESPONSE};

/// The first opaque a new connection hands out.
pub const FIRST_OPAQUE: i32 = 1;

/// The longest timeout [`deadline`] honours; longer ones (`Duration::MAX` for "forever") are cut
/// to it, so that adding them to an instant cannot overflow.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// The deadline of a request sent at `now` that may wait `timeout` (at most [`MAX_TIMEOUT`]).
pub fn deadline<I: Add<Duration, Output = I>>(now: I, timeout: Duration) -> I {
    now + timeout.min(MAX_TIMEOUT)
}

/// The connection has closed: no request can be registered or sent any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the connection is closed")
    }
}

impl std::error::Error for Closed {}

/// What an inbound frame is, as sorted by [`Mux::receive`].
#[derive(Debug)]
pub enum Inbound<W> {
    /// The response to a registered request: complete `waiter` with `response`.
    Response {
        /// The waiter registered for the response's opaque, now removed.
        waiter: W,
        /// The response.
        response: RemotingCommand,
    },
    /// A request from the peer, for the handler; answer it through `reply`.
    Request {
        /// The request.
        request: RemotingCommand,
        /// How to turn the handler's answer into the response frame.
        reply: Reply,
    },
    /// A response nobody waits for (an unknown opaque, or a late answer after a timeout, a
    /// cancellation or a send failure): drop it.
    Unmatched(RemotingCommand),
}

/// What answering an inbound request needs to know about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    opaque: i32,
    oneway: bool,
}

impl Reply {
    /// The reply of `request`.
    pub fn of(request: &RemotingCommand) -> Reply {
        Reply {
            opaque: request.opaque,
            oneway: request.is_oneway(),
        }
    }

    /// Whether the request was oneway (its answer is never sent).
    pub fn is_oneway(&self) -> bool {
        self.oneway
    }

    /// The frame to send for the handler's `answer`: the request's opaque and the response flag
    /// set. `None` when there is nothing to send (no answer, or a oneway request).
    pub fn response(self, answer: Option<RemotingCommand>) -> Option<RemotingCommand> {
        let mut response = answer.filter(|_| !self.oneway)?;
        response.opaque = self.opaque;
        response.flag |= FLAG_RESPONSE;
        Some(response)
    }
}

/// A registered waiter and when it expires.
#[derive(Debug)]
struct Pending<W, I> {
    waiter: W,
    deadline: I,
}

/// The opaque table of one connection: outgoing requests awaiting responses, by opaque.
///
/// `W` is the waiter a shell completes; `I` its instant type.
pub struct Mux<W, I> {
    next_opaque: i32,
    pending: HashMap<i32, Pending<W, I>>,
    /// The pending requests ordered by deadline, for [`Mux::expire`].
    deadlines: BTreeSet<(I, i32)>,
    closed: bool,
}

impl<W, I> fmt::Debug for Mux<W, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mux")
            .field("next_opaque", &self.next_opaque)
            .field("pending", &self.pending.len())
            .field("closed", &self.closed)
            .finish()
    }
}

impl<W, I: Ord + Copy> Default for Mux<W, I> {
    fn default() -> Self {
        Mux::new()
    }
}

impl<W, I: Ord + Copy> Mux<W, I> {
    /// An open multiplexer whose first opaque is [`FIRST_OPAQUE`].
    pub fn new() -> Self {
        Mux {
            next_opaque: FIRST_OPAQUE,
            pending: HashMap::new(),
            deadlines: BTreeSet::new(),
            closed: false,
        }
    }

    /// The next opaque not waited for: counting up, wrapping from `i32::MAX` to `i32::MIN`
    /// (as Java's `AtomicInteger` does), skipping opaques still pending.
    fn allocate(&mut self) -> i32 {
        loop {
            let opaque = self.next_opaque;
            self.next_opaque = opaque.wrapping_add(1);
            if !self.pending.contains_key(&opaque) {
                return opaque;
            }
        }
    }

    /// Prepares `request` to be sent as a request expecting a response (a fresh opaque, the
    /// oneway flag cleared) and registers `waiter` for that response until `deadline`. Returns
    /// the opaque. After [`Mux::close`], returns the waiter back with [`Closed`]. See
    /// [`deadline`] for computing `deadline` from a timeout.
    pub fn request(
        &mut self,
        request: &mut RemotingCommand,
        waiter: W,
        deadline: I,
    ) -> Result<i32, (Closed, W)> {
        if self.closed {
            return Err((Closed, waiter));
        }
        let opaque = self.allocate();
        request.opaque = opaque;
        request.flag &= !(FLAG_ONEWAY | FLAG_RESPONSE);
        self.pending.insert(opaque, Pending { waiter, deadline });
        self.deadlines.insert((deadline, opaque));
        Ok(opaque)
    }

    /// Prepares `request` to be sent oneway (a fresh opaque, the oneway flag set): nothing
    /// waits for an answer. Returns the opaque, or [`Closed`] after [`Mux::close`].
    pub fn oneway(&mut self, request: &mut RemotingCommand) -> Result<i32, Closed> {
        if self.closed {
            return Err(Closed);
        }
        let opaque = self.allocate();
        request.opaque = opaque;
        request.flag = (request.flag & !FLAG_RESPONSE) | FLAG_ONEWAY;
        Ok(opaque)
    }

    /// Sorts an inbound frame (see [`Inbound`]). A response completes its waiter at most once:
    /// a second response with the same opaque is [`Inbound::Unmatched`].
    pub fn receive(&mut self, frame: RemotingCommand) -> Inbound<W> {
        if !frame.is_response() {
            let reply = Reply::of(&frame);
            return Inbound::Request {
                request: frame,
                reply,
            };
        }
        match self.take(frame.opaque) {
            Some(waiter) => Inbound::Response {
                waiter,
                response: frame,
            },
            None => Inbound::Unmatched(frame),
        }
    }

    /// Removes the waiter of `opaque` (its requester gave up or the send failed); its response,
    /// should it come, will be [`Inbound::Unmatched`].
    pub fn forget(&mut self, opaque: i32) -> Option<W> {
        self.take(opaque)
    }

    fn take(&mut self, opaque: i32) -> Option<W> {
        let pending = self.pending.remove(&opaque)?;
        self.deadlines.remove(&(pending.deadline, opaque));
        Some(pending.waiter)
    }

    /// Removes and returns (by opaque, earliest deadline first) the waiters whose deadline is
    /// `now` or earlier: fail them with a timeout. Their responses, should they come, will be
    /// [`Inbound::Unmatched`].
    pub fn expire(&mut self, now: I) -> Vec<(i32, W)> {
        let mut expired = Vec::new();
        while let Some(&(deadline, opaque)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(pending) = self.pending.remove(&opaque) {
                expired.push((opaque, pending.waiter));
            }
        }
        expired
    }

    /// The earliest deadline of a pending request, if any.
    pub fn next_deadline(&self) -> Option<I> {
        self.deadlines.first().map(|&(deadline, _)| deadline)
    }

    /// Closes the multiplexer: returns every pending waiter (fail them: the connection is gone)
    /// the first time, nothing afterwards. Requests are refused from now on.
    pub fn close(&mut self) -> Vec<W> {
        self.closed = true;
        self.deadlines.clear();
        self.pending.drain().map(|(_, p)| p.waiter).collect()
    }

    /// Whether [`Mux::close`] has been called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// How many requests await their response.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Whether no request awaits its response.
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests;
