//! Which address of a broker name a request goes to, as state with no I/O.
//!
//! A broker name is served by a master (id [`MASTER_ID`]) and possibly slaves (ids above it);
//! the name server lists whichever of them are registered. Writes and queue locks need the
//! master; reads (pulls) and consumer offsets may go to a slave when the master is gone, as
//! Apache's `findBrokerAddressInSubscribe` allows. [`pick`] is that rule over one broker name's
//! address table; [`RefreshThrottle`] bounds how often a failing broker makes the client ask
//! the name servers for a fresh route.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use ferromq_common::lock;
use ferromq_protocol::body::MASTER_ID;

use crate::rt::Instant;

/// One address of a broker name and the broker id it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrokerAddr {
    /// `host:port`.
    pub(crate) addr: String,
    /// The broker id ([`MASTER_ID`] for the master).
    pub(crate) id: i64,
}

impl BrokerAddr {
    /// Whether this is a slave: it serves reads and offsets but takes no writes, and a pull
    /// sent to it must not ask it to store the consumer offset.
    pub(crate) fn is_slave(&self) -> bool {
        self.id != MASTER_ID
    }
}

/// The address of `broker_id` in `addrs` (one broker name's table); when that id is not
/// listed and `only_this_broker` is false, another address of the same broker name: the
/// master if listed, else the lowest id, so that every member of a group picks the same one.
pub(crate) fn pick(
    addrs: &BTreeMap<i64, String>,
    broker_id: i64,
    only_this_broker: bool,
) -> Option<BrokerAddr> {
    let found = |(id, addr): (&i64, &String)| BrokerAddr {
        addr: addr.clone(),
        id: *id,
    };
    if let Some(hit) = addrs.get_key_value(&broker_id) {
        return Some(found(hit));
    }
    if only_this_broker {
        return None;
    }
    addrs
        .get_key_value(&MASTER_ID)
        .or_else(|| addrs.iter().next())
        .map(found)
}

/// At most one forced route refresh per topic per `period`: a dead broker fails every pull
/// and commit sent to it, and each of those asking the name servers again would only repeat
/// the same question.
#[derive(Debug)]
pub(crate) struct RefreshThrottle {
    period: Duration,
    last: Mutex<HashMap<String, Instant>>,
}

impl RefreshThrottle {
    /// A throttle allowing one refresh per topic per `period`.
    pub(crate) fn new(period: Duration) -> Self {
        RefreshThrottle {
            period,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a refresh of `topic` may start at `now`; if so, it counts as started.
    pub(crate) fn try_start(&self, topic: &str, now: Instant) -> bool {
        let mut last = lock(&self.last);
        match last.get(topic) {
            Some(at) if now.saturating_duration_since(*at) < self.period => false,
            _ => {
                last.insert(topic.to_owned(), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(entries: &[(i64, &str)]) -> BTreeMap<i64, String> {
        entries.iter().map(|(i, a)| (*i, (*a).to_owned())).collect()
    }

    fn at(addr: &str, id: i64) -> Option<BrokerAddr> {
        Some(BrokerAddr {
            addr: addr.to_owned(),
            id,
        })
    }

    #[test]
    fn the_asked_id_wins_when_listed() {
        let t = table(&[(0, "m:1"), (1, "s1:1"), (2, "s2:1")]);
        assert_eq!(pick(&t, MASTER_ID, true), at("m:1", 0));
        assert_eq!(pick(&t, 2, true), at("s2:1", 2));
        assert_eq!(pick(&t, 1, false), at("s1:1", 1));
        assert!(!pick(&t, 0, false).is_some_and(|b| b.is_slave()));
        assert!(pick(&t, 2, false).is_some_and(|b| b.is_slave()));
    }

    #[test]
    fn an_unlisted_id_falls_back_to_the_master_then_the_lowest_slave() {
        let with_master = table(&[(0, "m:1"), (2, "s2:1")]);
        assert_eq!(pick(&with_master, 1, false), at("m:1", 0));
        // Master gone (the name server dropped it): the lowest slave, whoever asks.
        let slaves = table(&[(3, "s3:1"), (1, "s1:1"), (2, "s2:1")]);
        assert_eq!(pick(&slaves, MASTER_ID, false), at("s1:1", 1));
        assert_eq!(pick(&slaves, 7, false), at("s1:1", 1));
        assert!(pick(&slaves, MASTER_ID, false).is_some_and(|b| b.is_slave()));
    }

    #[test]
    fn only_this_broker_never_substitutes() {
        // Queue locks (orderly consumption) live on the master only: without it there is no
        // answer, and the queues of that broker name stay unlocked.
        let slaves = table(&[(1, "s1:1")]);
        assert_eq!(pick(&slaves, MASTER_ID, true), None);
        assert_eq!(pick(&slaves, 1, true), at("s1:1", 1));
        assert_eq!(pick(&BTreeMap::new(), MASTER_ID, false), None);
    }

    #[test]
    fn refreshes_of_a_topic_are_at_most_one_per_period() {
        let throttle = RefreshThrottle::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert!(throttle.try_start("T", t0));
        assert!(!throttle.try_start("T", t0 + Duration::from_millis(999)));
        assert!(throttle.try_start("U", t0), "topics are throttled apart");
        assert!(throttle.try_start("T", t0 + Duration::from_secs(1)));
        assert!(!throttle.try_start("T", t0 + Duration::from_millis(1500)));
    }
}
