//! `auto_renew` receives (docs/grpc.md, "Auto renew"), as Apache's `DefaultReceiptHandleManager`:
//! the push consumers of the 5.x SDKs receive with `auto_renew` and no invisible duration, and
//! the proxy keeps each received message invisible until the client acks it, so a slow listener
//! does not see it delivered twice.
//!
//! - A received message is popped for `defaultInvisibleTimeMills` and remembered under the
//!   receipt handle the client got.
//! - Every `renewSchedulePeriodMillis` the messages whose invisible time ends within
//!   `renewAheadTimeMillis` get another `defaultInvisibleTimeMills` (CHANGE_MESSAGE_INVISIBLETIME);
//!   the broker answers a new handle, which the proxy keeps.
//! - The client's Ack, ChangeInvisibleDuration or ForwardMessageToDeadLetterQueue with the
//!   handle it got uses the latest handle instead, and ends the renewals.
//! - Renewal stops after `renewMaxTimeMillis` in total or `maxRenewRetryTimes` failures in a
//!   row (the message then becomes visible when its time ends), and when the client leaves
//!   (NotifyClientTermination, or no stream and no heartbeat for 120 s): its messages are then
//!   made visible again after `invisibleTimeMillisWhenClear`.
//! - At most [`MAX_RENEWALS`] messages are renewed at once: past it a message is still
//!   delivered but not renewed, so a client that never acks cannot grow the proxy's memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferromq_common::lock;

use crate::pb::Code;
use crate::{now_ms, Proxy};

/// Most messages renewed at once (all clients together).
pub const MAX_RENEWALS: usize = 100_000;

/// A message being renewed.
#[derive(Debug)]
struct State {
    /// The latest receipt handle.
    current: String,
    /// When the message becomes visible unless renewed, ms since the epoch.
    visible_at: i64,
    /// Renewal failures in a row.
    failures: u32,
}

#[derive(Debug)]
struct Entry {
    client_id: String,
    group: String,
    topic: String,
    received: Instant,
    /// Held while a renewal is under way, so that an ack waits for the new handle.
    state: Arc<tokio::sync::Mutex<State>>,
}

/// Messages received with `auto_renew` and not yet acked, by the handle the client got.
#[derive(Debug, Default)]
pub struct Renewals {
    entries: Mutex<HashMap<String, Entry>>,
    /// Whether the cap was reported since the map last had room.
    full_reported: AtomicBool,
}

/// A renewal to make.
struct Due {
    key: String,
    group: String,
    topic: String,
    state: Arc<tokio::sync::Mutex<State>>,
}

impl Renewals {
    /// Remembers a message delivered to `client_id` with `handle`, invisible for
    /// `invisible_ms` from now.
    pub fn track(
        &self,
        client_id: &str,
        group: &str,
        topic: &str,
        handle: &str,
        invisible_ms: i64,
    ) {
        let mut entries = lock(&self.entries);
        if entries.len() >= MAX_RENEWALS {
            if !self.full_reported.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "{MAX_RENEWALS} messages are auto-renewed already: new ones are not renewed \
                     until some are acked or expire"
                );
            }
            return;
        }
        self.full_reported.store(false, Ordering::Relaxed);
        entries.insert(
            handle.to_owned(),
            Entry {
                client_id: client_id.to_owned(),
                group: group.to_owned(),
                topic: topic.to_owned(),
                received: Instant::now(),
                state: Arc::new(tokio::sync::Mutex::new(State {
                    current: handle.to_owned(),
                    visible_at: now_ms().saturating_add(invisible_ms),
                    failures: 0,
                })),
            },
        );
    }

    /// Stops renewing the message the client got as `handle`; its latest handle (after a
    /// renewal under way ends). `None` when it is not renewed.
    pub async fn take(&self, handle: &str) -> Option<String> {
        let entry = lock(&self.entries).remove(handle)?;
        let state = entry.state.lock().await;
        Some(state.current.clone())
    }

    /// How many messages are renewed.
    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    /// Whether no message is renewed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops renewing every message of `client_id`: (group, topic, latest handle) of each.
    async fn clear_client(&self, client_id: &str) -> Vec<(String, String, String)> {
        let gone: Vec<Entry> = {
            let mut entries = lock(&self.entries);
            let keys: Vec<String> = entries
                .iter()
                .filter(|(_, e)| e.client_id == client_id)
                .map(|(k, _)| k.clone())
                .collect();
            keys.iter().filter_map(|k| entries.remove(k)).collect()
        };
        let mut out = Vec::with_capacity(gone.len());
        for e in gone {
            let current = e.state.lock().await.current.clone();
            out.push((e.group, e.topic, current));
        }
        out
    }

    /// The messages to renew now; forgets those renewed for longer than `max_total`.
    fn due(&self, now: i64, ahead_ms: i64, max_total: Duration) -> Vec<Due> {
        let mut entries = lock(&self.entries);
        entries.retain(|_, e| e.received.elapsed() < max_total);
        entries
            .iter()
            .filter_map(|(k, e)| {
                // A locked entry is being renewed or taken: skip it this round.
                let state = e.state.try_lock().ok()?;
                (state.visible_at - now <= ahead_ms).then(|| Due {
                    key: k.clone(),
                    group: e.group.clone(),
                    topic: e.topic.clone(),
                    state: e.state.clone(),
                })
            })
            .collect()
    }

    fn forget(&self, key: &str) {
        lock(&self.entries).remove(key);
    }
}

impl Proxy {
    /// Renews due messages every `renewSchedulePeriodMillis` (started with the server).
    pub(crate) async fn keep_renewing(self: Arc<Self>) {
        let c = &self.config;
        let period = Duration::from_millis(
            u64::try_from(c.renew_schedule_period_millis)
                .unwrap_or(5_000)
                .max(50),
        );
        let max_total = Duration::from_millis(u64::try_from(c.renew_max_time_millis).unwrap_or(0));
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let due = self
                .renewals
                .due(now_ms(), c.renew_ahead_time_millis, max_total);
            let mut renewals = tokio::task::JoinSet::new();
            for d in due {
                let proxy = self.clone();
                renewals.spawn(async move { proxy.renew(d).await });
            }
            while renewals.join_next().await.is_some() {}
        }
    }

    async fn renew(&self, due: Due) {
        let mut state = due.state.lock().await;
        let ms = self.config.default_invisible_time_mills;
        match self
            .change_invisible_of(&due.group, &due.topic, &state.current, ms)
            .await
        {
            Ok(handle) => {
                state.current = handle;
                state.visible_at = now_ms().saturating_add(ms);
                state.failures = 0;
            }
            Err(e) => {
                state.failures += 1;
                // Apache retries unless the handle itself is refused.
                let hopeless = e.code == Code::InvalidReceiptHandle;
                if hopeless || state.failures >= self.config.max_renew_retry_times.max(1) {
                    tracing::warn!(group = %due.group, topic = %due.topic, error = %e, "auto renew stopped");
                    drop(state);
                    self.renewals.forget(&due.key);
                }
            }
        }
    }

    /// The client left: its auto-renewed messages are no longer renewed and become visible
    /// after `invisibleTimeMillisWhenClear`.
    pub(crate) async fn clear_renewals(&self, client_id: &str) {
        let ms = self.config.invisible_time_millis_when_clear;
        for (group, topic, handle) in self.renewals.clear_client(client_id).await {
            if let Err(e) = self.change_invisible_of(&group, &topic, &handle, ms).await {
                tracing::debug!(%group, %topic, error = %e, "could not release an auto-renewed message");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tracks_takes_and_caps() {
        let r = Renewals::default();
        r.track("c", "g", "t", "h1", 60_000);
        assert_eq!(r.len(), 1);
        // Not due yet with 10 s ahead; due with 61 s ahead.
        assert!(r
            .due(now_ms(), 10_000, Duration::from_secs(3600))
            .is_empty());
        assert_eq!(r.due(now_ms(), 61_000, Duration::from_secs(3600)).len(), 1);
        // Renewed for too long: forgotten.
        assert!(r.due(now_ms(), 61_000, Duration::ZERO).is_empty());
        assert!(r.is_empty());
        r.track("c", "g", "t", "h2", 60_000);
        assert_eq!(r.take("h2").await.as_deref(), Some("h2"));
        assert_eq!(r.take("h2").await, None);
        r.track("c", "g", "t", "h3", 60_000);
        r.track("d", "g", "t", "h4", 60_000);
        let cleared = r.clear_client("c").await;
        assert_eq!(
            cleared,
            vec![("g".to_owned(), "t".to_owned(), "h3".to_owned())]
        );
        assert_eq!(r.len(), 1);
        for i in 0..MAX_RENEWALS + 10 {
            r.track("e", "g", "t", &format!("x{i}"), 60_000);
        }
        assert_eq!(r.len(), MAX_RENEWALS);
    }
}
