//! The broker's background services, apart from the request handlers. Each has a `start` that
//! spawns its task(s) and ends them when the stop signal turns true:
//!
//! - [`register`]: registration with the name servers (and unregistration at shutdown);
//! - [`housekeeping`]: config tables flushed, silent clients dropped;
//! - [`stats`]: the message counters sampled for runtime info;
//! - [`metrics`]: the Prometheus endpoint, with `metricsExporterType=PROM`;
//! - [`schedule`]: delivery of messages with a delay level (master only);
//! - [`timer`]: delivery of messages with a delivery time (master only);
//! - [`transaction_check`]: checking back half messages left unresolved (master only);
//! - [`ha`]: replication, serving slaves (a master) or copying the master (a slave); in
//!   controller mode the auto-switch variant, with `crate::replicas` deciding the role and the
//!   master-only services above started per master term.

pub(crate) mod ha;
pub(crate) mod housekeeping;
pub(crate) mod metrics;
pub(crate) mod register;
pub(crate) mod schedule;
pub(crate) mod stats;
pub(crate) mod timer;
pub(crate) mod transaction_check;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::Broker;

/// The running services' tasks.
pub(crate) struct Services(Vec<JoinHandle<()>>);

impl Services {
    /// Starts every service this broker runs; they stop when `stop` turns true. A master
    /// serves its slaves on `ha_listener`; a slave replicates from its master; scrapes are
    /// answered on `metrics_listener`.
    pub(crate) fn start(
        broker: &Arc<Broker>,
        stop: &watch::Receiver<bool>,
        ha_listener: Option<TcpListener>,
        metrics_listener: Option<TcpListener>,
    ) -> Services {
        let mut tasks = vec![
            register::start(broker, stop),
            housekeeping::start(broker, stop),
            stats::start(broker, stop),
        ];
        if let Some(listener) = metrics_listener {
            broker.stats.rpc.enable();
            broker.stats.meters.enable();
            tasks.push(metrics::start(broker, listener, stop));
        }
        let settings = broker.settings();
        if settings.broker.enable_controller_mode {
            // Roles come from the controllers; the master-only services run per master term.
            tasks.extend(crate::replicas::start(broker, stop));
            if let Some(listener) = ha_listener {
                tasks.push(ha::autoswitch::master::start(broker, listener, stop));
            }
            tasks.push(ha::autoswitch::slave::start(broker, stop));
            tasks.push(ha::sync::start(broker, stop));
            return Services(tasks);
        }
        if settings.broker.broker_id == 0 {
            tasks.extend(schedule::start(broker, stop));
            tasks.push(timer::start(broker, stop));
            tasks.push(transaction_check::start(broker, stop));
            tasks.push(crate::pop::revive::start(broker, stop));
        }
        if settings.broker.broker_role.is_master() {
            if let Some(listener) = ha_listener {
                tasks.push(ha::master::start(broker, listener, stop));
            }
        } else {
            tasks.push(ha::slave::start(broker, stop));
            tasks.push(ha::sync::start(broker, stop));
        }
        Services(tasks)
    }

    /// Waits for every task to end (after the stop signal).
    pub(crate) async fn join(self) {
        for task in self.0 {
            let _ = task.await;
        }
    }
}
