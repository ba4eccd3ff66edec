//! A slave's side of replication: connect to the master's HA port (`haMasterAddress`, else the
//! address the name servers answered the registration with), report where the local commitlog
//! ends, and append what the master sends at exactly those offsets. With `tls.enable=true` the
//! connection is TLS, with the keys of the broker's other own connections (`tls.client.*`).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::wire;
use crate::state::Broker;

/// Pause before connecting again after a failure. Apache waits 5 s; a SYNC_MASTER answers
/// SLAVE_NOT_AVAILABLE until its slave is back, so a restarted master gets it back within a
/// second here (an attempt costs one TCP connect).
const RECONNECT_AFTER: Duration = Duration::from_secs(1);
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How often a slave without a master address looks again.
const NO_MASTER_POLL: Duration = Duration::from_millis(500);
/// Largest transfer body accepted (a master sends at most `haTransferBatchSize`, 32 KiB by
/// default; a larger announced size is a broken or hostile peer).
const MAX_BODY: usize = 64 << 20;

/// Replicates from the master until `stop`.
pub(crate) fn start(broker: &Arc<Broker>, stop: &watch::Receiver<bool>) -> JoinHandle<()> {
    let (broker, mut stop) = (broker.clone(), stop.clone());
    tokio::spawn(async move {
        loop {
            let Some(master) = master_address(&broker) else {
                tokio::select! {
                    () = tokio::time::sleep(NO_MASTER_POLL) => continue,
                    _ = stop.wait_for(|s| *s) => return,
                }
            };
            let ended = tokio::select! {
                r = session(&broker, &master) => r,
                _ = stop.wait_for(|s| *s) => return,
            };
            broker.replication.master_disconnected();
            if let Err(reason) = ended {
                tracing::warn!(%master, %reason, "replication from the master stopped; retrying");
            }
            tokio::select! {
                () = tokio::time::sleep(RECONNECT_AFTER) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    })
}

fn master_address(broker: &Broker) -> Option<String> {
    broker
        .replication
        .master_target(&broker.settings().broker.ha_master_address)
}

/// One connection to the master: reports, then applies transfers until an error.
async fn session(broker: &Broker, master: &str) -> Result<(), String> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(master))
        .await
        .map_err(|_| format!("connect timed out after {CONNECT_TIMEOUT:?}"))?
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let tls = crate::server::outbound_config(&broker.settings().broker)?.tls;
    match tls {
        None => {
            let (rd, wr) = stream.into_split();
            replicate(broker, master, rd, wr).await
        }
        Some(connector) => {
            let stream = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(master, stream))
                .await
                .map_err(|_| format!("TLS handshake timed out after {CONNECT_TIMEOUT:?}"))?
                .map_err(|e| format!("TLS handshake (tls.enable=true): {e}"))?;
            let (rd, wr) = tokio::io::split(stream);
            replicate(broker, master, rd, wr).await
        }
    }
}

/// Reports and transfers over one connection (plaintext or TLS) until an error.
async fn replicate(
    broker: &Broker,
    master: &str,
    mut rd: impl AsyncRead + Unpin,
    mut wr: impl AsyncWrite + Unpin,
) -> Result<(), String> {
    tracing::info!(%master, "replicating from the master");
    let replication = &broker.replication;
    replication.master_connected(master);
    // Read each round: haSendHeartbeatInterval and haHousekeepingInterval change at run time.
    let heartbeat =
        || Duration::from_millis(broker.settings().broker.ha_send_heartbeat_interval.max(100));
    let idle =
        || Duration::from_millis(broker.settings().broker.ha_housekeeping_interval.max(1000));
    let log = broker.store.commit_log().clone();
    let (ends, mut end) = watch::channel(log.max_offset());
    // Reports go out when the log grew and at least every heartbeat interval.
    let reports = async move {
        loop {
            let offset = *end.borrow_and_update();
            wr.write_all(&wire::report(offset))
                .await
                .map_err(|e| format!("report: {e}"))?;
            wr.flush().await.map_err(|e| format!("report: {e}"))?;
            replication.master_written();
            tokio::select! {
                changed = end.changed() => if changed.is_err() { return Ok(()) },
                () = tokio::time::sleep(heartbeat()) => {}
            }
        }
    };
    let transfers = async move {
        let mut header = [0u8; wire::HEADER_LEN];
        loop {
            let idle = idle();
            tokio::time::timeout(idle, rd.read_exact(&mut header))
                .await
                .map_err(|_| {
                    format!("nothing from the master for {idle:?} (haHousekeepingInterval)")
                })?
                .map_err(|e| format!("read: {e}"))?;
            let (offset, size) = wire::parse_header(&header);
            let offset = u64::try_from(offset)
                .map_err(|_| format!("the master sent a negative offset {offset}"))?;
            let size = usize::try_from(size)
                .ok()
                .filter(|s| *s <= MAX_BODY)
                .ok_or_else(|| format!("the master announced a body of {size} bytes"))?;
            let ours = log.max_offset();
            if ours != 0 && offset != ours {
                return Err(format!(
                    "the master sent offset {offset} but this slave's commitlog ends at {ours}: \
                     the logs diverged; not replicating"
                ));
            }
            if size == 0 {
                replication.master_read(0);
                continue;
            }
            let mut body = vec![0u8; size];
            tokio::time::timeout(idle, rd.read_exact(&mut body))
                .await
                .map_err(|_| format!("a transfer stalled for {idle:?}"))?
                .map_err(|e| format!("read: {e}"))?;
            replication.master_read(size as u64);
            let store = broker.store.clone();
            tokio::task::spawn_blocking(move || store.append_replicated(offset, &body))
                .await
                .map_err(|e| format!("append panicked: {e}"))?
                .map_err(|e| format!("append: {e}"))?;
            ends.send_replace(log.max_offset());
        }
    };
    tokio::select! {
        r = reports => r,
        r = transfers => r,
    }
}
