//! Where a consumer group's progress lives: on the broker for clustering
//! (QUERY_CONSUMER_OFFSET / UPDATE_CONSUMER_OFFSET), in a local JSON file for broadcasting
//! (`<dir>/<clientId>/<group>/offsets.json`, the shape of Java's `OffsetSerializeWrapper`).
//!
//! Broker offsets go to the master of the queue's broker name, or to one of its slaves while
//! it has none (Apache's `RemoteBrokerOffsetStore` does the same). The in-memory table is the
//! truth: every commit looks the address up again, so once a restarted master is back in the
//! route the next periodic commit brings it the offsets the group reached meanwhile.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;

use ferromq_protocol::body::{MessageQueue, ResetOffsetBody, MASTER_ID};
use ferromq_protocol::header::offset::{
    QueryConsumerOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};

#[derive(Debug)]
pub(crate) enum Backend {
    Broker,
    File(PathBuf),
}

/// In-memory offsets plus their backing store.
#[derive(Debug)]
pub(crate) struct OffsetStore {
    group: String,
    backend: Backend,
    table: Mutex<HashMap<MessageQueue, i64>>,
    /// Held for a whole [`OffsetStore::persist`]: commits never interleave, so the final commit
    /// of a queue handed over in a rebalance cannot be overtaken by an older periodic one.
    persisting: tokio::sync::Mutex<()>,
}

impl OffsetStore {
    pub(crate) fn broker(group: &str) -> Self {
        OffsetStore {
            group: group.to_owned(),
            backend: Backend::Broker,
            table: Mutex::new(HashMap::new()),
            persisting: tokio::sync::Mutex::new(()),
        }
    }

    /// A file store, loaded from `path` if it exists.
    pub(crate) fn file(group: &str, path: PathBuf) -> Result<Self> {
        let mut table = HashMap::new();
        match std::fs::read(&path) {
            Ok(bytes) => {
                let body = ResetOffsetBody::decode(&bytes)
                    .map_err(|e| Error::protocol("load offsets", e))?;
                table.extend(body.offset_table);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(
                    Error::new(ErrorKind::Io, "load offsets", path.display().to_string())
                        .with_source(e),
                );
            }
        }
        Ok(OffsetStore {
            group: group.to_owned(),
            backend: Backend::File(path),
            table: Mutex::new(table),
            persisting: tokio::sync::Mutex::new(()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<MessageQueue, i64>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The offset in memory, if any.
    pub(crate) fn get(&self, mq: &MessageQueue) -> Option<i64> {
        self.lock().get(mq).copied()
    }

    /// Sets the offset (only forward when `increase_only`).
    pub(crate) fn update(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        let mut t = self.lock();
        // Looked up first: the queue is nearly always there, and `entry` would take an owned
        // (cloned) key on every call.
        match t.get_mut(mq) {
            Some(e) => {
                if !increase_only || offset > *e {
                    *e = offset;
                }
            }
            None => {
                t.insert(mq.clone(), offset);
            }
        }
    }

    /// The offsets in memory of `topic`'s queues (GET_CONSUMER_STATUS_FROM_CLIENT).
    pub(crate) fn of_topic(&self, topic: &str) -> std::collections::BTreeMap<MessageQueue, i64> {
        self.lock()
            .iter()
            .filter(|(mq, _)| mq.topic == topic)
            .map(|(mq, o)| (mq.clone(), *o))
            .collect()
    }

    pub(crate) fn remove(&self, mq: &MessageQueue) {
        self.lock().remove(mq);
    }

    /// The stored offset: from the broker (None when the group has none there) or the file.
    pub(crate) async fn read_stored(
        &self,
        client: &Client,
        mq: &MessageQueue,
    ) -> Result<Option<i64>> {
        match &self.backend {
            Backend::File(_) => Ok(self.get(mq)),
            Backend::Broker => {
                let broker = client
                    .find_broker_for(&mq.broker_name, MASTER_ID, false, &mq.topic)
                    .await?;
                let header = QueryConsumerOffsetRequestHeader {
                    consumer_group: self.group.clone(),
                    topic: mq.topic.clone(),
                    queue_id: mq.queue_id,
                    set_zero_if_not_found: None,
                    broker_name: Some(mq.broker_name.clone()),
                };
                let request = RemotingCommand::request_with_header(
                    RequestCode::QUERY_CONSUMER_OFFSET,
                    &header,
                );
                let response = client
                    .broker_request_for(&mq.topic, &broker.addr, request, client.timeout())
                    .await?;
                match response.response_code() {
                    ResponseCode::SUCCESS => {
                        let offset = response
                            .ext_fields
                            .get("offset")
                            .and_then(|o| o.parse::<i64>().ok())
                            .ok_or_else(|| {
                                Error::new(
                                    ErrorKind::Protocol,
                                    "query offset",
                                    "no offset in the answer",
                                )
                            })?;
                        Ok((offset >= 0).then_some(offset))
                    }
                    ResponseCode::QUERY_NOT_FOUND => Ok(None),
                    _ => Err(Error::from_response("query offset", &response)),
                }
            }
        }
    }

    /// Writes the offsets of `queues` to the backend, one persist at a time. Broker commits are
    /// requests, each answered before the next is sent (Java sends the periodic ones oneway):
    /// the broker serves a connection's requests concurrently, so a oneway commit still in
    /// flight could land after, and undo, the final commit made before a queue is unlocked for
    /// its next owner, which would then consume messages again.
    pub(crate) async fn persist(&self, client: &Client, queues: &[MessageQueue]) -> Result<()> {
        let _one_at_a_time = self.persisting.lock().await;
        match &self.backend {
            Backend::File(path) => {
                let body = ResetOffsetBody {
                    offset_table: self
                        .lock()
                        .iter()
                        .map(|(k, v)| (k.clone(), *v))
                        .collect::<BTreeMap<_, _>>(),
                };
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        Error::new(ErrorKind::Io, "persist offsets", dir.display().to_string())
                            .with_source(e)
                    })?;
                }
                let tmp = path.with_extension("json.tmp");
                std::fs::write(&tmp, body.encode())
                    .and_then(|()| std::fs::rename(&tmp, path))
                    .map_err(|e| {
                        Error::new(ErrorKind::Io, "persist offsets", path.display().to_string())
                            .with_source(e)
                    })
            }
            Backend::Broker => {
                let mut last_error = None;
                for mq in queues {
                    let Some(offset) = self.get(mq) else { continue };
                    // Looked up for each commit, never kept: the master when listed, else a
                    // slave (see the module docs).
                    let Some(broker) = client.find_broker(&mq.broker_name, MASTER_ID, false) else {
                        continue;
                    };
                    let header = UpdateConsumerOffsetRequestHeader {
                        consumer_group: self.group.clone(),
                        topic: mq.topic.clone(),
                        queue_id: mq.queue_id,
                        commit_offset: offset,
                        broker_name: Some(mq.broker_name.clone()),
                    };
                    let request = RemotingCommand::request_with_header(
                        RequestCode::UPDATE_CONSUMER_OFFSET,
                        &header,
                    );
                    let result = match client
                        .broker_request_for(&mq.topic, &broker.addr, request, client.timeout())
                        .await
                    {
                        Ok(r) if r.response_code() == ResponseCode::SUCCESS => Ok(()),
                        Ok(r) => Err(Error::from_response("commit offset", &r)),
                        Err(e) => Err(e),
                    };
                    if let Err(e) = result {
                        last_error = Some(e);
                    }
                }
                last_error.map_or(Ok(()), Err)
            }
        }
    }
}
