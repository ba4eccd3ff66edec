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
        let (left, closing) = broker.clients.expire(expiry);
        for (group, client) in left {
            tracing::info!(%group, %client, "consumer expired: no heartbeat");
            crate::handlers::client::notify_ids_changed(&broker, &group);
        }
        for conn in closing {
            tracing::info!(peer = %conn.peer_addr(), "client expired: no heartbeat");
            conn.close();
        }
    }
}
