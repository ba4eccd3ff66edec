//! A slave keeps its master's tables (Apache's `SlaveSynchronize`): topic configs, consumer
//! offsets, delay-level progress and subscription groups are fetched from the master's broker
//! port when the master becomes known and every 10 s after, through the admin codes Apache
//! uses (GET_ALL_TOPIC_CONFIG, GET_ALL_CONSUMER_OFFSET, GET_ALL_DELAY_OFFSET,
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG), and ACL 2.0's users and ACLs through AUTH_LIST_USER and
//! AUTH_LIST_ACL (the master's copy replaces the slave's). Requests are signed with
//! `innerClientAuthenticationCredentials` when set, so a master with ACL 2.0 on answers them.

use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, IgnoreRequests};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::Broker;

/// Apache's period.
const PERIOD: Duration = Duration::from_secs(10);
/// How often a slave that does not know its master yet looks again.
const NO_MASTER_POLL: Duration = Duration::from_millis(500);
/// Timeout of one request.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Syncs the tables from the master until `stop`.
pub(crate) fn start(broker: &Arc<Broker>, stop: &watch::Receiver<bool>) -> JoinHandle<()> {
    let (broker, mut stop) = (broker.clone(), stop.clone());
    tokio::spawn(async move {
        let mut synced_from: Option<String> = None;
        let mut conn: Option<Connection> = None;
        loop {
            let wait = match broker.replication.master_addr() {
                None => NO_MASTER_POLL,
                Some(master) => {
                    let fresh = synced_from.as_deref() != Some(master.as_str());
                    if fresh {
                        conn = None;
                    }
                    match sync_all(&broker, &master, &mut conn).await {
                        Ok(()) => {
                            if fresh {
                                tracing::info!(%master, "tables synced from the master");
                            }
                            synced_from = Some(master);
                        }
                        Err(reason) => {
                            conn = None;
                            tracing::warn!(%master, %reason, "cannot sync tables from the master");
                        }
                    }
                    PERIOD
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    })
}

async fn sync_all(
    broker: &Arc<Broker>,
    master: &str,
    conn: &mut Option<Connection>,
) -> Result<(), String> {
    let c = match conn {
        Some(c) if !c.is_closed() => c.clone(),
        _ => {
            let config = crate::server::outbound_config(&broker.settings().broker)?;
            let c = Connection::connect(master, Arc::new(IgnoreRequests), config)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            *conn = Some(c.clone());
            c
        }
    };
    let topics = fetch(broker, &c, RequestCode::GET_ALL_TOPIC_CONFIG).await?;
    let offsets = fetch(broker, &c, RequestCode::GET_ALL_CONSUMER_OFFSET).await?;
    let delays = fetch(broker, &c, RequestCode::GET_ALL_DELAY_OFFSET).await?;
    let groups = fetch(broker, &c, RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG).await?;
    let what = |name: &'static str| move |e: ferromq_store::StoreError| format!("{name}: {e}");
    if broker.topics.encode().as_bytes() != topics.as_ref() {
        broker
            .topics
            .replace_from(&topics)
            .map_err(what("topics"))?;
        broker.topics_changed.notify_one();
    }
    broker
        .offsets
        .replace_from(&offsets)
        .map_err(what("consumer offsets"))?;
    broker
        .delay_offsets
        .replace_from(&delays)
        .map_err(what("delay offsets"))?;
    broker
        .groups
        .replace_from(&groups)
        .map_err(what("subscription groups"))?;
    let b = broker.clone();
    tokio::task::spawn_blocking(move || b.persist_all())
        .await
        .map_err(|e| format!("persist: {e}"))?;
    // Users and ACLs apart: a master without ACL 2.0 (Apache before 5.3, or one that refuses
    // this slave's credentials) still has its other tables copied.
    let outcome = sync_auth(broker, &c).await.err();
    let mut last = AUTH_SYNC_ERROR.lock().unwrap_or_else(|e| e.into_inner());
    if outcome != *last {
        match &outcome {
            Some(reason) => {
                tracing::warn!(%master, %reason, "cannot sync users and ACLs from the master")
            }
            None => tracing::info!(%master, "users and ACLs sync from the master works again"),
        }
        *last = outcome;
    }
    Ok(())
}

/// The last reason users and ACLs could not be copied, logged once per change.
static AUTH_SYNC_ERROR: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Copies the master's users and ACLs (ACL 2.0) when they differ from this broker's.
async fn sync_auth(broker: &Arc<Broker>, c: &Connection) -> Result<(), String> {
    let users = fetch(broker, c, RequestCode::AUTH_LIST_USER).await?;
    let acls = fetch(broker, c, RequestCode::AUTH_LIST_ACL).await?;
    let tables = crate::auth::Tables::from_json(&users, &acls)?;
    let metadata = &broker.auth.metadata;
    if metadata.read(|t| *t == tables) {
        return Ok(());
    }
    metadata.change(|t| *t = tables);
    let auth = broker.auth.clone();
    tokio::task::spawn_blocking(move || auth.metadata.persist())
        .await
        .map_err(|e| format!("persist users / ACLs: {e}"))?
        .map_err(|e| format!("persist users / ACLs: {e}"))?;
    tracing::info!("users and ACLs synced from the master");
    Ok(())
}

async fn fetch(broker: &Broker, c: &Connection, code: RequestCode) -> Result<bytes::Bytes, String> {
    let req = broker.auth.signed(RemotingCommand::request(code));
    let r = c
        .request(req, TIMEOUT)
        .await
        .map_err(|e| format!("{code:?}: {e}"))?;
    if r.response_code() != ResponseCode::SUCCESS {
        return Err(format!("{code:?} answered {} {:?}", r.code, r.remark));
    }
    Ok(r.body)
}
