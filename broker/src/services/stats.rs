//! Samples the message counters once a second (the TPS windows and day marks of runtime info).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::Broker;

/// Starts the sampler.
pub(crate) fn start(broker: &Arc<Broker>, stop: &watch::Receiver<bool>) -> JoinHandle<()> {
    let (broker, mut stop) = (broker.clone(), stop.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => broker.stats.sample(ferromq_common::now_ms()),
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    })
}
