//! Housekeeping every `flushConsumerOffsetInterval`: the config tables that changed are written
//! (consumer offsets above all), and clients silent for `channelExpiredTimeout` are dropped.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::Broker;

/// Starts the housekeeping task.
pub(crate) fn start(broker: &Arc<Broker>, stop: &watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(run(broker.clone(), stop.clone()))
}

async fn run(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let settings = broker.settings();
    let every = Duration::from_millis(settings.broker.flush_consumer_offset_interval.max(100));
    let expiry = Duration::from_millis(settings.broker.channel_expired_timeout);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let b = broker.clone();
        let _ = tokio::task::spawn_blocking(move || b.persist_all()).await;
        for conn in broker.clients.expired(expiry) {
            tracing::info!(peer = %conn.peer_addr(), "client expired: no heartbeat");
            conn.close();
        }
    }
}
