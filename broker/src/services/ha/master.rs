//! A master's side of replication: slaves connect to `haListenPort`, report where their
//! commitlog ends, and get the master's commitlog from there, as it is written.
//!
//! The port follows `tls.server.mode` as the remoting ports do (the same acceptor,
//! `ServerTls::accept`): plaintext when TLS is off, TLS and plaintext told apart by the first
//! byte when `permissive` (Apache's slaves speak plaintext), TLS only when `enforcing`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferromq_remoting::{Accepted, Refused, ServerTls};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::wire;
use crate::config::BrokerConfig;
use crate::state::Broker;
use crate::BrokerError;

/// Read buffer of a slave's reports (8 bytes each; only the last complete one counts).
const READ_BUFFER: usize = 4096;
/// Most HA connections served at once. The HA port speaks no authentication (as Apache's):
/// a cap keeps whatever else reaches it from holding memory and tasks without bound.
const MAX_SLAVES: usize = 16;

/// Binds `bindAddress:haListenPort`. An explicitly configured port that cannot be bound stops
/// the broker; the derived one (`listenPort + 1`) is only a warning, as the fast port is: the
/// broker then serves no slaves.
pub(crate) async fn bind(b: &BrokerConfig) -> Result<Option<TcpListener>, BrokerError> {
    let host = b.bind_address.trim();
    let port = b.ha_port();
    match TcpListener::bind((host, port)).await {
        Ok(l) => Ok(Some(l)),
        Err(e) if b.ha_listen_port == 0 => {
            tracing::warn!(error = %e, "cannot listen on the HA port {host}:{port} (listenPort + 1); no slave can replicate this broker");
            Ok(None)
        }
        Err(e) => Err(BrokerError::Config(format!(
            "cannot listen on {host}:{port} (bindAddress, haListenPort): {e}"
        ))),
    }
}

/// Accepts slaves until `stop`.
pub(crate) fn start(
    broker: &Arc<Broker>,
    listener: TcpListener,
    stop: &watch::Receiver<bool>,
) -> JoinHandle<()> {
    accept_slaves(
        broker,
        listener,
        stop,
        |_| true,
        |broker, (rd, wr), peer, stop| serve(broker, rd, wr, peer, stop),
    )
}

/// The HA port's accept loop, classic and controller-mode alike: until `stop`, each connection
/// is accepted as the port's TLS says (`tls.server.*`) and served by `serve` in a task of its
/// own, at most [`MAX_SLAVES`] at once; while `may_serve` says no (a controller-mode broker
/// that is not master), or when that many are served, new connections are closed. Waits for
/// the connections served to end before it ends.
pub(crate) fn accept_slaves<S, F>(
    broker: &Arc<Broker>,
    listener: TcpListener,
    stop: &watch::Receiver<bool>,
    may_serve: impl Fn(&Broker) -> bool + Send + 'static,
    serve: S,
) -> JoinHandle<()>
where
    S: Fn(Arc<Broker>, SlaveHalves, SocketAddr, watch::Receiver<bool>) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let (broker, mut stop) = (broker.clone(), stop.clone());
    let tls = port_tls(&broker);
    let refusals = Arc::new(Refusals::default());
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        let mut slaves: Vec<JoinHandle<()>> = Vec::new();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stop.wait_for(|s| *s) => break,
            };
            match accepted {
                Ok((stream, peer)) => {
                    slaves.retain(|t| !t.is_finished());
                    if !may_serve(&broker) {
                        tracing::debug!(%peer, "HA connection refused: not serving slaves now");
                        continue;
                    }
                    if slaves.len() >= MAX_SLAVES {
                        tracing::warn!(%peer, "HA connection refused: {MAX_SLAVES} already served");
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    let (broker, tls, refusals, stop, serve) = (
                        broker.clone(),
                        tls.clone(),
                        refusals.clone(),
                        stop.clone(),
                        serve.clone(),
                    );
                    slaves.push(tokio::spawn(async move {
                        let idle = housekeeping(&broker);
                        if let Some(halves) = accept_slave(tls, &refusals, stream, peer, idle).await
                        {
                            serve(broker, halves, peer, stop).await;
                        }
                    }));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "HA accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        for t in slaves {
            let _ = t.await;
        }
    })
}

/// The HA port's TLS, as `tls.server.*` say (the remoting ports' acceptor); `None` serves
/// plaintext. Checked at start-up with the remoting ports' TLS, so a failure here cannot
/// happen then; it is logged and the port serves plaintext.
pub(crate) fn port_tls(broker: &Broker) -> Option<Arc<ServerTls>> {
    let tls = broker
        .settings()
        .broker
        .tls_keys()
        .and_then(|k| k.server())
        .and_then(ServerTls::new)
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "HA port: TLS settings unusable; serving plaintext");
            None
        });
    if let Some(t) = &tls {
        tracing::info!(mode = t.mode().name(), "HA port serves TLS");
    }
    tls
}

/// The two halves of a slave's connection, plaintext or TLS.
pub(crate) type SlaveHalves = (
    Box<dyn AsyncRead + Unpin + Send>,
    Box<dyn AsyncWrite + Unpin + Send>,
);

/// A slave's connection accepted as `tls` says (plaintext without it); `None` when it was
/// refused (logged through `refusals`). Classic and controller-mode HA ports share it.
pub(crate) async fn accept_slave(
    tls: Option<Arc<ServerTls>>,
    refusals: &Refusals,
    stream: TcpStream,
    peer: SocketAddr,
    idle: Duration,
) -> Option<SlaveHalves> {
    let plain = |stream: TcpStream| -> SlaveHalves {
        let (rd, wr) = stream.into_split();
        (Box::new(rd), Box::new(wr))
    };
    let Some(tls) = tls else {
        return Some(plain(stream));
    };
    match tls.accept(stream, idle, idle).await {
        Ok(Accepted::Plain(stream)) => Some(plain(stream)),
        Ok(Accepted::Tls(stream)) => {
            let (rd, wr) = tokio::io::split(stream);
            Some((Box::new(rd), Box::new(wr)))
        }
        Err(Refused::Silent) => None,
        Err(Refused::Plaintext) => {
            refusals.log(
                peer,
                "plaintext, and tls.server.mode is enforcing (the slave needs tls.enable=true)",
            );
            None
        }
        Err(Refused::Handshake(why)) => {
            refusals.log(peer, &why);
            None
        }
    }
}

/// Refused HA connections, logged at most once a second with the count left out since (a flood
/// of them must not flood the log).
#[derive(Debug, Default)]
pub(crate) struct Refusals(std::sync::Mutex<(Option<tokio::time::Instant>, u64)>);

impl Refusals {
    pub(crate) fn log(&self, peer: SocketAddr, what: &str) {
        let now = tokio::time::Instant::now();
        let suppressed = {
            let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if g.0
                .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
            {
                g.1 += 1;
                return;
            }
            g.0 = Some(now);
            std::mem::take(&mut g.1)
        };
        tracing::warn!(%peer, suppressed, "HA connection closed: {what}");
    }
}

/// One slave's connection: its reports on one side, the commitlog on the other.
async fn serve(
    broker: Arc<Broker>,
    rd: impl AsyncRead + Unpin,
    wr: impl AsyncWrite + Unpin,
    peer: SocketAddr,
    mut stop: watch::Receiver<bool>,
) {
    tracing::info!(%peer, "slave connected");
    let id = broker.replication.connect(peer);
    let (start_tx, start_rx) = oneshot::channel();
    let ended = tokio::select! {
        r = read_reports(&broker, id, rd, start_tx) => r,
        r = transfer(&broker, id, wr, start_rx) => r,
        _ = stop.wait_for(|s| *s) => Ok(()),
    };
    broker.replication.disconnect(id);
    match ended {
        Ok(()) => tracing::info!(%peer, "slave disconnected"),
        Err(reason) => tracing::warn!(%peer, %reason, "slave connection closed"),
    }
}

/// Reads the slave's reports; the first says where to start.
async fn read_reports(
    broker: &Broker,
    id: u64,
    mut rd: impl AsyncRead + Unpin,
    start: oneshot::Sender<u64>,
) -> Result<(), String> {
    let mut start = Some(start);
    let mut buf = vec![0u8; READ_BUFFER];
    let mut have = 0;
    loop {
        let idle = housekeeping(broker);
        let n = match tokio::time::timeout(idle, rd.read(&mut buf[have..])).await {
            Err(_) => return Err(format!("no report for {idle:?} (haHousekeepingInterval)")),
            Ok(Err(e)) => return Err(e.to_string()),
            Ok(Ok(0)) => return Ok(()),
            Ok(Ok(n)) => n,
        };
        have += n;
        let Some(offset) = wire::last_report(&buf[..have]) else {
            continue;
        };
        let offset = u64::try_from(offset).map_err(|_| format!("negative offset {offset}"))?;
        let whole = have - have % wire::REPORT_LEN;
        buf.copy_within(whole..have, 0);
        have -= whole;
        if let Some(tx) = start.take() {
            let _ = tx.send(offset);
        }
        broker.replication.ack(id, offset);
    }
}

/// Where a slave reporting `reported` starts: there, or for an empty slave (0) the start of
/// the master's last commitlog file (as Apache: a fresh slave gets no history beyond it).
fn start_offset(broker: &Broker, reported: u64) -> Result<u64, String> {
    let log = broker.store.commit_log();
    let (min, max) = (log.min_offset(), log.max_offset());
    if reported == 0 {
        let file = broker.settings().store.mapped_file_size_commit_log.max(1);
        return Ok(max - max % file);
    }
    if reported > max {
        return Err(format!(
            "the slave's commitlog ends at {reported}, past this master's end {max}: its log \
             is ahead of or diverged from the master's; not replicating (move the slave's store \
             aside to resynchronise it)"
        ));
    }
    if reported < min {
        return Err(format!(
            "the slave's commitlog ends at {reported}, before the oldest offset this master \
             keeps ({min}); not replicating"
        ));
    }
    Ok(reported)
}

/// Sends the commitlog from where the slave asks, as it grows; a heartbeat when idle.
async fn transfer(
    broker: &Broker,
    id: u64,
    mut wr: impl AsyncWrite + Unpin,
    start: oneshot::Receiver<u64>,
) -> Result<(), String> {
    let idle = housekeeping(broker);
    let reported = match tokio::time::timeout(idle, start).await {
        Ok(Ok(offset)) => offset,
        Ok(Err(_)) => return Ok(()),
        Err(_) => return Err(format!("no first report within {idle:?}")),
    };
    let mut next = start_offset(broker, reported)?;
    broker.replication.transfer_from(id, next);
    let mut log_end = broker.replication.watch_log_end();
    let mut last_write = tokio::time::Instant::now();
    loop {
        // Read each round: haTransferBatchSize and haSendHeartbeatInterval change at run time.
        let settings = broker.settings();
        let batch = settings.broker.ha_transfer_batch_size.max(1);
        let heartbeat = Duration::from_millis(settings.broker.ha_send_heartbeat_interval.max(100));
        log_end.borrow_and_update();
        let data = broker.store.replication_data(next, batch);
        match data {
            Some(data) if !data.is_empty() => {
                wr.write_all(&wire::header(next, data.len()))
                    .await
                    .map_err(|e| e.to_string())?;
                wr.write_all(&data).await.map_err(|e| e.to_string())?;
                // A no-op on plain TCP; TLS may hold the last record until flushed.
                wr.flush().await.map_err(|e| e.to_string())?;
                next += data.len() as u64;
                broker.replication.sent(id, data.len() as u64);
                last_write = tokio::time::Instant::now();
                continue;
            }
            Some(_) => {}
            None => {
                let log = broker.store.commit_log();
                if next < log.min_offset() {
                    return Err(format!(
                        "offset {next} is no longer stored (the oldest is {})",
                        log.min_offset()
                    ));
                }
            }
        }
        let due = last_write + heartbeat;
        tokio::select! {
            changed = log_end.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
            }
            () = tokio::time::sleep_until(due) => {
                wr.write_all(&wire::header(next, 0)).await.map_err(|e| e.to_string())?;
                wr.flush().await.map_err(|e| e.to_string())?;
                last_write = tokio::time::Instant::now();
            }
        }
    }
}

pub(crate) fn housekeeping(broker: &Broker) -> Duration {
    Duration::from_millis(broker.settings().broker.ha_housekeeping_interval.max(1000))
}
