//! Which broker of a broker name each queue is pulled from next (Apache's
//! `pullFromWhichNodeTable`): every pull answer carries `suggestWhichBrokerId` (the master, or
//! a slave when the consumer reads far behind and the broker allows slave reads), and the
//! queue's next pull goes there. When that broker is not in the route (a master that died), the
//! pull goes to another address of the broker name instead ([`crate::brokers::pick`]).

use std::collections::HashMap;
use std::sync::Mutex;

use ferromq_common::lock;
use ferromq_protocol::body::{MessageQueue, MASTER_ID};

/// The broker id each queue of one consumer is pulled from next; [`MASTER_ID`] until a pull
/// answer suggests otherwise.
#[derive(Debug, Default)]
pub(crate) struct PullNodes {
    table: Mutex<HashMap<MessageQueue, i64>>,
}

impl PullNodes {
    /// The broker id `mq`'s next pull should go to.
    pub(crate) fn node(&self, mq: &MessageQueue) -> i64 {
        lock(&self.table).get(mq).copied().unwrap_or(MASTER_ID)
    }

    /// Records the broker id a pull answer of `mq` suggested.
    pub(crate) fn suggest(&self, mq: &MessageQueue, broker_id: i64) {
        lock(&self.table).insert(mq.clone(), broker_id);
    }

    /// Forgets `mq` (no longer read by this consumer).
    pub(crate) fn forget(&self, mq: &MessageQueue) {
        lock(&self.table).remove(mq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_follows_the_last_suggestion_and_starts_at_the_master() {
        let nodes = PullNodes::default();
        let (a, b) = (
            MessageQueue::new("T", "b", 0),
            MessageQueue::new("T", "b", 1),
        );
        assert_eq!(nodes.node(&a), MASTER_ID);
        nodes.suggest(&a, 1);
        assert_eq!(nodes.node(&a), 1);
        assert_eq!(nodes.node(&b), MASTER_ID, "per queue");
        nodes.suggest(&a, MASTER_ID);
        assert_eq!(nodes.node(&a), MASTER_ID, "back to the master when told");
        nodes.suggest(&b, 2);
        nodes.forget(&b);
        assert_eq!(nodes.node(&b), MASTER_ID);
    }
}
