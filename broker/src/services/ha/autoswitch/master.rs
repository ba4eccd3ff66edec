//! A controller-mode master's side of replication: slaves connect to `haListenPort`, say who
//! they are, get the master's epochs (to cut a diverged tail), then report their log's end and
//! receive the commitlog from there. A frame never spans two epochs, and each carries the
//! master's confirm offset. Connections are served only while this broker is master; a role
//! change ends them. The port follows `tls.server.mode` as classic HA's does (the same acceptor):
//! TLS, plaintext, or both told apart by the first byte.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::wire::{self, SlaveFrame, TransferHeader};
use super::Role;
use crate::services::ha::master::{accept_slaves, housekeeping};
use crate::state::Broker;

/// Accepts slaves until `stop`; each is served while this broker is master.
pub(crate) fn start(
    broker: &Arc<Broker>,
    listener: TcpListener,
    stop: &watch::Receiver<bool>,
) -> JoinHandle<()> {
    accept_slaves(
        broker,
        listener,
        stop,
        |broker| matches!(broker.replication.auto.role(), Role::Master { .. }),
        |broker, (rd, wr), peer, stop| serve(broker, rd, wr, peer, stop),
    )
}

async fn serve<R, W>(
    broker: Arc<Broker>,
    mut rd: R,
    wr: W,
    peer: SocketAddr,
    mut stop: watch::Receiver<bool>,
) where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let mut wr = wr;
    let idle = housekeeping(&broker);
    let mut buf = Vec::with_capacity(64);
    let handshake = tokio::time::timeout(idle, next_frame(&mut rd, &mut buf)).await;
    let (slave_id, from_last_file) = match handshake {
        Ok(Ok(SlaveFrame::Handshake {
            broker_id,
            sync_from_last_file,
            ..
        })) => (broker_id, sync_from_last_file),
        Ok(Ok(other)) => {
            tracing::warn!(%peer, ?other, "HA connection closed: no handshake first");
            return;
        }
        Ok(Err(e)) => {
            tracing::warn!(%peer, error = %e, "HA connection closed before its handshake");
            return;
        }
        Err(_) => return,
    };
    let end = broker.store.commit_log().max_offset();
    let epochs = broker.replication.auto.epochs();
    let hs = wire::master_handshake(end as i64, &epochs);
    if let Err(e) = wr.write_all(&hs).await {
        tracing::warn!(%peer, error = %e, "HA handshake not sent");
        return;
    }
    tracing::info!(%peer, slave_id, end, epochs = epochs.len(), "slave connected (controller mode)");
    let auto = &broker.replication.auto;
    auto.slave_connected(slave_id, ferromq_common::now_ms());
    let link = broker.replication.connect(peer);
    let mut role = auto.watch_role();
    let (start_tx, start_rx) = oneshot::channel();
    let ended = tokio::select! {
        r = read_reports(&broker, slave_id, link, rd, buf, start_tx) => r,
        r = transfer(&broker, slave_id, link, wr, start_rx, from_last_file) => r,
        _ = role.wait_for(|r| !matches!(r, Role::Master { .. })) => Err("no longer master".to_owned()),
        _ = stop.wait_for(|s| *s) => Ok(()),
    };
    broker.replication.disconnect(link);
    auto.slave_disconnected(slave_id);
    match ended {
        Ok(()) => tracing::info!(%peer, slave_id, "slave disconnected"),
        Err(reason) => tracing::warn!(%peer, slave_id, %reason, "slave connection closed"),
    }
}

/// The next slave frame, reading more as needed; `buf` keeps what follows it.
async fn next_frame(
    rd: &mut (impl AsyncRead + Unpin),
    buf: &mut Vec<u8>,
) -> Result<SlaveFrame, String> {
    loop {
        if let Some((frame, len)) = SlaveFrame::decode(buf)? {
            buf.drain(..len);
            return Ok(frame);
        }
        let mut chunk = [0u8; 1024];
        let n = rd.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed".to_owned());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn read_reports(
    broker: &Broker,
    slave_id: i64,
    link: u64,
    mut rd: impl AsyncRead + Unpin,
    mut buf: Vec<u8>,
    start: oneshot::Sender<u64>,
) -> Result<(), String> {
    let mut start = Some(start);
    loop {
        let idle = housekeeping(broker);
        let frame = match tokio::time::timeout(idle, next_frame(&mut rd, &mut buf)).await {
            Err(_) => return Err(format!("no report for {idle:?} (haHousekeepingInterval)")),
            Ok(Err(e)) if e == "closed" => return Ok(()),
            Ok(r) => r?,
        };
        let SlaveFrame::Report(offset) = frame else {
            continue;
        };
        let offset = u64::try_from(offset).map_err(|_| format!("negative offset {offset}"))?;
        if let Some(tx) = start.take() {
            let _ = tx.send(offset);
        }
        broker.replication.ack(link, offset);
        crate::replicas::slave_acked(broker, slave_id, offset);
    }
}

/// Where a slave reporting `reported` starts.
fn start_offset(broker: &Broker, reported: u64, from_last_file: bool) -> Result<u64, String> {
    let log = broker.store.commit_log();
    let (min, max) = (log.min_offset(), log.max_offset());
    if reported == 0 {
        if from_last_file {
            let file = broker.settings().store.mapped_file_size_commit_log.max(1);
            return Ok(max - max % file);
        }
        return Ok(min);
    }
    if reported > max {
        return Err(format!(
            "the slave's log ends at {reported}, past this master's end {max}; it must \
             truncate first (it restarts its handshake)"
        ));
    }
    if reported < min {
        return Err(format!(
            "the slave's log ends at {reported}, before the oldest offset kept ({min})"
        ));
    }
    Ok(reported)
}

async fn transfer(
    broker: &Broker,
    slave_id: i64,
    link: u64,
    mut wr: impl AsyncWrite + Unpin,
    start: oneshot::Receiver<u64>,
    from_last_file: bool,
) -> Result<(), String> {
    let idle = housekeeping(broker);
    let reported = match tokio::time::timeout(idle, start).await {
        Ok(Ok(offset)) => offset,
        Ok(Err(_)) => return Ok(()),
        Err(_) => return Err(format!("no first report within {idle:?}")),
    };
    let mut next = start_offset(broker, reported, from_last_file)?;
    broker.replication.transfer_from(link, next);
    let auto = &broker.replication.auto;
    let mut log_end = broker.replication.watch_log_end();
    let mut confirm = auto.watch_confirm();
    let mut last_write = tokio::time::Instant::now();
    let mut sent_confirm = u64::MAX;
    loop {
        let settings = broker.settings();
        let batch = settings.broker.ha_transfer_batch_size.max(1);
        let heartbeat = Duration::from_millis(settings.broker.ha_send_heartbeat_interval.max(100));
        log_end.borrow_and_update();
        confirm.borrow_and_update();
        let end = broker.store.commit_log().max_offset();
        let range = auto.epoch_range(next as i64, end as i64);
        let Some((entry, epoch_end)) = range else {
            return Err(format!("no epoch holds offset {next}"));
        };
        // Never across an epoch's end.
        let room = (epoch_end as u64).saturating_sub(next);
        let data = if room == 0 {
            None
        } else {
            broker
                .store
                .replication_data(next, batch.min(room as usize))
        };
        let confirm_now = auto.confirm();
        let send_empty = last_write.elapsed() >= heartbeat || confirm_now != sent_confirm;
        match data {
            Some(data) if !data.is_empty() => {
                let h = header(next, data.len(), entry, confirm_now);
                wr.write_all(&h).await.map_err(|e| e.to_string())?;
                wr.write_all(&data).await.map_err(|e| e.to_string())?;
                next += data.len() as u64;
                broker.replication.sent(link, data.len() as u64);
                auto.sent_to(slave_id, end, ferromq_common::now_ms());
                last_write = tokio::time::Instant::now();
                sent_confirm = confirm_now;
                continue;
            }
            _ if send_empty => {
                // The epoch of the next byte: the newest when the log ends at `next`.
                let entry = auto
                    .epoch_range(next as i64, i64::MAX)
                    .map_or(entry, |(e, _)| e);
                let h = header(next, 0, entry, confirm_now);
                wr.write_all(&h).await.map_err(|e| e.to_string())?;
                last_write = tokio::time::Instant::now();
                sent_confirm = confirm_now;
            }
            _ => {}
        }
        let due = last_write + heartbeat;
        tokio::select! {
            changed = log_end.changed() => if changed.is_err() { return Ok(()) },
            changed = confirm.changed() => if changed.is_err() { return Ok(()) },
            () = tokio::time::sleep_until(due) => {}
        }
    }
}

fn header(offset: u64, size: usize, entry: super::epoch::EpochEntry, confirm: u64) -> [u8; 36] {
    TransferHeader {
        body_size: size as i32,
        offset: offset as i64,
        epoch: entry.epoch,
        epoch_start: entry.start,
        confirm_offset: confirm as i64,
    }
    .encode()
}
