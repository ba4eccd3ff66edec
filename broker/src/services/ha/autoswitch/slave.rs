//! A controller-mode slave's side of replication: while the controllers name another broker
//! master, connect to its HA port, send the handshake (this broker's id), compare the master's
//! epochs with this log's, then report this log's end and append what the master sends,
//! recording each new epoch and taking the master's confirm offset (consumers see nothing past
//! it).
//!
//! A log that holds bytes past the point where it and the master's agree (a former master's
//! unacknowledged tail, or more of the old master's tail than the new master got) is cut there:
//! at start-up before the store is shared (`crate::replicas::startup_truncation`), or here, at
//! the handshake, while running (`MessageStore::truncate_replica`, refused when consumers may
//! already have seen the bytes; a restart then cuts them).
//!
//! With `tls.enable=true` the connection is TLS, with the keys of the broker's other own
//! connections (`tls.client.*`), as classic HA's slave dials.

use std::sync::Arc;
use std::time::Duration;

use ferromq_remoting::TlsConnector;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::epoch::EpochFile;
use super::wire::{self, SlaveFrame};
use super::Role;
use crate::state::Broker;

const RECONNECT_AFTER: Duration = Duration::from_millis(500);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const MAX_BODY: usize = 64 << 20;

/// A connection to a master's HA port: plaintext or TLS.
pub(crate) trait HaStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> HaStream for T {}

/// Follows whichever master the controllers name, until `stop`.
pub(crate) fn start(broker: &Arc<Broker>, stop: &watch::Receiver<bool>) -> JoinHandle<()> {
    let (broker, mut stop) = (broker.clone(), stop.clone());
    tokio::spawn(async move {
        let mut role = broker.replication.auto.watch_role();
        loop {
            let current = role.borrow_and_update().clone();
            if let Role::Slave { addr, epoch, .. } = current {
                let ha = crate::replicas::master_ha_addr(&broker, &addr);
                let ended = tokio::select! {
                    r = session(&broker, &ha) => r,
                    _ = role.changed() => Ok(()),
                    _ = stop.wait_for(|s| *s) => return,
                };
                broker.replication.master_disconnected();
                if let Err(reason) = ended {
                    tracing::warn!(master = %ha, epoch, %reason, "replication from the master stopped; retrying");
                }
                tokio::select! {
                    () = tokio::time::sleep(RECONNECT_AFTER) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            } else {
                tokio::select! {
                    _ = role.changed() => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }
    })
}

/// Connects to a master's HA port and does the handshake: the master's log end and epochs.
pub(crate) async fn handshake(
    ha_addr: &str,
    local_id: i64,
    from_last_file: bool,
    tls: Option<TlsConnector>,
) -> Result<(Box<dyn HaStream>, i64, EpochFile), String> {
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(ha_addr))
        .await
        .map_err(|_| format!("connect timed out after {CONNECT_TIMEOUT:?}"))?
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let mut stream: Box<dyn HaStream> = match tls {
        None => Box::new(tcp),
        Some(connector) => Box::new(
            tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(ha_addr, tcp))
                .await
                .map_err(|_| format!("TLS handshake timed out after {CONNECT_TIMEOUT:?}"))?
                .map_err(|e| format!("TLS handshake (tls.enable=true): {e}"))?,
        ),
    };
    let hs = SlaveFrame::Handshake {
        sync_from_last_file: from_last_file,
        async_learner: false,
        broker_id: local_id,
    };
    stream
        .write_all(&hs.encode())
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let mut prefix = [0u8; wire::MASTER_HANDSHAKE_LEN];
    tokio::time::timeout(CONNECT_TIMEOUT, stream.read_exact(&mut prefix))
        .await
        .map_err(|_| "no handshake answer".to_owned())?
        .map_err(|e| format!("handshake answer: {e}"))?;
    let (state, size, max_offset, _) = wire::master_prefix(&prefix);
    if state != wire::HANDSHAKE {
        return Err(format!("the master answered state {state}, not HANDSHAKE"));
    }
    let size = usize::try_from(size)
        .ok()
        .filter(|s| *s <= MAX_BODY)
        .ok_or_else(|| format!("bad handshake body size {size}"))?;
    let mut body = vec![0u8; size];
    stream
        .read_exact(&mut body)
        .await
        .map_err(|e| format!("handshake body: {e}"))?;
    Ok((
        stream,
        max_offset,
        EpochFile::in_memory(&wire::epoch_entries(&body)),
    ))
}

async fn session(broker: &Broker, master: &str) -> Result<(), String> {
    let auto = &broker.replication.auto;
    let local_id = auto.local_id().ok_or("no broker id yet")?;
    let from_last_file = broker.settings().broker.sync_from_last_file;
    let tls = crate::server::outbound_config(&broker.settings().broker)?.tls;
    let (stream, master_end, master_epochs) =
        handshake(master, local_id, from_last_file, tls).await?;
    let log = broker.store.commit_log().clone();
    let local_end = log.max_offset() as i64;
    let has_epochs = auto.last_epoch() >= 0;
    if has_epochs {
        let point = auto
            .with_epochs(|e| e.consistent_point(local_end, &master_epochs, master_end))
            .ok_or_else(|| {
                format!(
                    "this log and the master's share no epoch ({master_epochs:?}); not replicating"
                )
            })?;
        if point < local_end {
            let cut = u64::try_from(point).map_err(|_| format!("bad point {point}"))?;
            let store = broker.store.clone();
            tokio::task::spawn_blocking(move || store.truncate_replica(cut))
                .await
                .map_err(|e| format!("truncation panicked: {e}"))?
                .map_err(|e| {
                    format!(
                        "this log ends at {local_end} but agrees with the master's only up to \
                         {point}, and cannot be cut there while running: {e}"
                    )
                })?;
            auto.with_epochs(|e| e.truncate_from_offset(point))?;
            tracing::warn!(%master, from = local_end, to = point, "commitlog truncated to the master's epoch boundary");
        }
    }
    tracing::info!(%master, local_end, master_end, "replicating from the master (controller mode)");
    broker.replication.master_connected(master);
    let (mut rd, mut wr) = tokio::io::split(stream);
    let heartbeat =
        || Duration::from_millis(broker.settings().broker.ha_send_heartbeat_interval.max(100));
    let idle =
        || Duration::from_millis(broker.settings().broker.ha_housekeeping_interval.max(1000));
    let (ends, mut end) = watch::channel(log.max_offset());
    let replication = &broker.replication;
    let reports = async move {
        loop {
            let offset = *end.borrow_and_update();
            wr.write_all(&SlaveFrame::Report(offset as i64).encode())
                .await
                .map_err(|e| format!("report: {e}"))?;
            replication.master_written();
            tokio::select! {
                changed = end.changed() => if changed.is_err() { return Ok(()) },
                () = tokio::time::sleep(heartbeat()) => {}
            }
        }
    };
    let transfers = async move {
        let mut prefix = [0u8; wire::MASTER_HANDSHAKE_LEN];
        let mut suffix = [0u8; 16];
        let mut epoch_seen = i32::MIN;
        loop {
            let idle = idle();
            tokio::time::timeout(idle, rd.read_exact(&mut prefix))
                .await
                .map_err(|_| format!("nothing from the master for {idle:?}"))?
                .map_err(|e| format!("read: {e}"))?;
            let (state, size, offset, epoch) = wire::master_prefix(&prefix);
            if state != wire::TRANSFER {
                return Err(format!("the master sent state {state}, not TRANSFER"));
            }
            rd.read_exact(&mut suffix)
                .await
                .map_err(|e| format!("read: {e}"))?;
            let (epoch_start, confirm) = wire::transfer_suffix(&suffix);
            let size = usize::try_from(size)
                .ok()
                .filter(|s| *s <= MAX_BODY)
                .ok_or_else(|| format!("the master announced a body of {size} bytes"))?;
            let offset = u64::try_from(offset).map_err(|_| format!("negative offset {offset}"))?;
            let mut body = vec![0u8; size];
            tokio::time::timeout(idle, rd.read_exact(&mut body))
                .await
                .map_err(|_| format!("a transfer stalled for {idle:?}"))?
                .map_err(|e| format!("read: {e}"))?;
            replication.master_read(size as u64);
            let ours = log.max_offset();
            if size > 0 && ours != 0 && offset != ours {
                return Err(format!(
                    "the master sent offset {offset} but this log ends at {ours}"
                ));
            }
            if size > 0 && epoch != epoch_seen {
                epoch_seen = epoch;
                let entry = super::epoch::EpochEntry {
                    epoch,
                    start: epoch_start,
                };
                auto.with_epochs(|e| {
                    if e.last_epoch() < epoch {
                        e.append(entry)
                    } else {
                        Ok(false)
                    }
                })?;
            }
            if size > 0 {
                let store = broker.store.clone();
                tokio::task::spawn_blocking(move || store.append_replicated(offset, &body))
                    .await
                    .map_err(|e| format!("append panicked: {e}"))?
                    .map_err(|e| format!("append: {e}"))?;
                ends.send_replace(log.max_offset());
            }
            let confirm = u64::try_from(confirm).unwrap_or(0).min(log.max_offset());
            crate::replicas::slave_confirmed(broker, confirm);
        }
    };
    tokio::select! {
        r = reports => r,
        r = transfers => r,
    }
}
