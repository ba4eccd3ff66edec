//! Message-at-a-time reading of a [`PullConsumer`]: the buffer of a polled batch that is handed
//! out one message at a time ([`PullConsumer::next_message`], [`PullConsumer::messages`]), so
//! that iterators in every binding share one behaviour. [`PullConsumer::poll`] returns what is
//! buffered first; `seek` drops the buffered messages of its queue; shutdown drops them all.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use ferromq_protocol::body::MessageQueue;
use futures::Stream;

use super::PullConsumer;
use crate::error::Result;
use crate::message::MessageView;
use crate::rt::Instant;

/// How long one wait of an unlimited [`PullConsumer::next_message`] lasts before it waits again
/// (a poll returns at once when the consumer shuts down, so this only bounds one timer).
const UNLIMITED_WAIT: Duration = Duration::from_secs(3600);

/// Messages polled but not handed out yet, oldest first.
#[derive(Debug, Default)]
pub(super) struct Buffer(Mutex<VecDeque<MessageView>>);

impl Buffer {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<MessageView>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The oldest buffered message.
    pub(super) fn pop(&self) -> Option<MessageView> {
        self.lock().pop_front()
    }

    /// Every buffered message, oldest first.
    pub(super) fn take_all(&self) -> Vec<MessageView> {
        self.lock().drain(..).collect()
    }

    /// Adds a polled batch after what is buffered.
    pub(super) fn extend(&self, batch: Vec<MessageView>) {
        self.lock().extend(batch);
    }

    /// Drops the buffered messages of `mq` (it was seeked).
    pub(super) fn discard(&self, mq: &MessageQueue) {
        self.lock().retain(|m| m.queue() != mq);
    }

    /// Drops everything (shutdown).
    pub(super) fn clear(&self) {
        self.lock().clear();
    }
}

impl PullConsumer {
    /// The next message, one at a time: from what an earlier poll left, else polled, waiting up
    /// to `limit` (`None`: until a message comes). `Ok(None)` when `limit` passed without a
    /// message or the consumer is shut down, which ends an iteration. As with
    /// [`Self::poll`], a polled batch counts as consumed as a whole.
    pub async fn next_message(&self, limit: Option<Duration>) -> Result<Option<MessageView>> {
        let deadline = limit.map(|l| Instant::now() + l);
        loop {
            if self.is_shut_down() {
                return Ok(None);
            }
            if let Some(m) = self.inner.buffer.pop() {
                return Ok(Some(m));
            }
            let wait = match deadline {
                None => UNLIMITED_WAIT,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    left
                }
            };
            match self.poll_batch(wait).await {
                Ok(batch) => self.inner.buffer.extend(batch),
                Err(_) if self.is_shut_down() => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    /// The messages as a stream ([`Self::next_message`] without a limit), ending at shutdown.
    pub fn messages(&self) -> impl Stream<Item = Result<MessageView>> + Send + 'static {
        futures::stream::unfold(Some(self.clone()), |consumer| async move {
            let consumer = consumer?;
            match consumer.next_message(None).await {
                Ok(Some(m)) => Some((Ok(m), Some(consumer))),
                Ok(None) => None,
                // One error, then the stream ends.
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(topic: &str, offset: i64) -> MessageView {
        MessageView::for_test(topic, offset, String::new())
    }

    fn offsets(v: &[MessageView]) -> Vec<(String, i64)> {
        v.iter()
            .map(|m| (m.topic().to_owned(), m.queue_offset()))
            .collect()
    }

    #[test]
    fn hands_out_in_order_one_at_a_time() {
        let b = Buffer::default();
        assert!(b.pop().is_none());
        b.extend(vec![view("A", 0), view("A", 1)]);
        b.extend(vec![view("B", 7)]);
        assert_eq!(b.pop().map(|m| m.queue_offset()), Some(0));
        assert_eq!(
            offsets(&b.take_all()),
            vec![("A".into(), 1), ("B".into(), 7)]
        );
        assert!(b.take_all().is_empty());
    }

    #[test]
    fn discard_drops_one_queue_only() {
        let b = Buffer::default();
        b.extend(vec![view("A", 0), view("B", 0), view("A", 1), view("B", 1)]);
        let a = view("A", 0).queue().clone();
        b.discard(&a);
        assert_eq!(
            offsets(&b.take_all()),
            vec![("B".into(), 0), ("B".into(), 1)]
        );
        b.extend(vec![view("A", 3)]);
        b.clear();
        assert!(b.pop().is_none());
    }
}
