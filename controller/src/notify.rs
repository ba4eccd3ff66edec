//! NOTIFY_BROKER_ROLE_CHANGED: after an election the controller tells each live replica of the
//! set who the master is (oneway, as Apache's controller does), so brokers need not wait for
//! their next poll.

use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::body::SyncStateSet;
use ferromq_protocol::header::{ElectMasterResponseHeader, NotifyBrokerRoleChangedRequestHeader};
use ferromq_protocol::{RemotingCommand, RequestCode};
use ferromq_remoting::{Connection, ConnectionConfig, IgnoreRequests};

use crate::state::BrokerSet;

const NOTIFY_TIMEOUT: Duration = Duration::from_secs(3);

/// Sends the new role to every address in `targets`, each on its own task.
pub(crate) fn role_changed(
    targets: Vec<String>,
    elected: &ElectMasterResponseHeader,
    set: &BrokerSet,
    dial: ConnectionConfig,
) {
    let header = NotifyBrokerRoleChangedRequestHeader {
        master_address: elected.master_address.clone(),
        master_epoch: elected.master_epoch,
        sync_state_set_epoch: elected.sync_state_set_epoch,
        master_broker_id: elected.master_broker_id,
    };
    let body = SyncStateSet {
        sync_state_set: set.sync_state_set.clone(),
        sync_state_set_epoch: set.sync_state_set_epoch,
    }
    .encode();
    for addr in targets {
        let request =
            RemotingCommand::request_with_header(RequestCode::NOTIFY_BROKER_ROLE_CHANGED, &header)
                .with_body(body.clone());
        let dial = dial.clone();
        tokio::spawn(async move {
            let sent = tokio::time::timeout(NOTIFY_TIMEOUT, async {
                let conn = Connection::connect(&addr, Arc::new(IgnoreRequests), dial).await?;
                let result = conn.request_oneway(request).await;
                // Let the writer put the frame on the socket before closing (the timeout
                // around this block bounds the wait).
                while result.is_ok() && conn.queued_bytes() > 0 && !conn.is_closed() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                conn.close();
                result
            })
            .await;
            match sent {
                Ok(Ok(())) => tracing::info!(%addr, "broker told of its new role"),
                Ok(Err(e)) => tracing::warn!(%addr, "cannot notify broker of its role: {e}"),
                Err(_) => tracing::warn!(%addr, "cannot notify broker of its role: timed out"),
            }
        });
    }
}
