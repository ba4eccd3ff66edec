//! Clients the proxy knows: their settings (from the Telemetry stream), the stream to push
//! commands to them, and the transactions they may still end.
//!
//! The broker sends `CHECK_TRANSACTION_STATE` over the proxy's remoting connection; the
//! [`Inbound`] handler turns it into a `RecoverOrphanedTransactionCommand` on the Telemetry
//! stream of a producer of that topic, and remembers where the half message is so that the
//! producer's `EndTransaction` can become `END_TRANSACTION`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_client::transport::InboundHandler;
use ferromq_common::lock;
use ferromq_protocol::header::transaction::CheckTransactionStateRequestHeader;
use ferromq_protocol::message::{decode_all, property, DecodeOptions};
use ferromq_protocol::{RemotingCommand, RequestCode};
use futures::future::BoxFuture;
use tokio::sync::mpsc;

use crate::convert;
use crate::pb::{self, telemetry_command::Command};

/// What the proxy pushes on a client's Telemetry stream.
pub type TelemetrySender = mpsc::Sender<Result<pb::TelemetryCommand, tonic::Status>>;

/// How long the proxy keeps the location of a half message a client may end.
const TRANSACTION_TTL: Duration = Duration::from_secs(3600);
/// Most open transactions remembered at once. Past it a new one is not remembered: the
/// client's EndTransaction for it is refused (INVALID_TRANSACTION_ID) and the broker's
/// check-back, which carries the location itself, ends it. Without a cap, clients that never
/// end their transactions would grow the proxy's memory for an hour.
const MAX_OPEN_TRANSACTIONS: usize = 100_000;
/// How often expired transactions are swept (not on every send: the sweep walks the map).
const TRANSACTION_SWEEP: Duration = Duration::from_secs(10);

/// A client seen through Telemetry.
#[derive(Debug)]
struct Session {
    settings: pb::Settings,
    stream: Option<TelemetrySender>,
    seen: Instant,
    /// When the proxy first heard of the client, ms since the epoch.
    started_ms: i64,
}

/// Where a half message is, for `END_TRANSACTION`.
#[derive(Debug, Clone)]
pub struct Transaction {
    /// Master holding the half message.
    pub broker_addr: String,
    /// Broker name.
    pub broker_name: String,
    /// Queue offset of the half message.
    pub tran_state_table_offset: i64,
    /// Commitlog offset of the half message.
    pub commit_log_offset: i64,
    /// The message's UNIQ_KEY.
    pub msg_id: String,
    created: Instant,
}

impl Transaction {
    /// A half message at the given place.
    pub fn new(
        broker_addr: String,
        broker_name: String,
        tran_state_table_offset: i64,
        commit_log_offset: i64,
        msg_id: String,
    ) -> Self {
        Transaction {
            broker_addr,
            broker_name,
            tran_state_table_offset,
            commit_log_offset,
            msg_id,
            created: Instant::now(),
        }
    }
}

/// The registry of clients and open transactions.
#[derive(Debug, Default)]
pub struct Sessions {
    clients: Mutex<HashMap<String, Session>>,
    transactions: Mutex<HashMap<(String, String), Transaction>>,
    /// When `transactions` was last swept of expired entries.
    swept: Mutex<Option<std::time::Instant>>,
    /// Commands sent to clients that wait for their answers (admin relays).
    pub relay: crate::relay::Relay,
}

impl Sessions {
    /// Stores `settings` of `client_id` (and the stream to reach it).
    pub fn update(&self, client_id: &str, settings: pb::Settings, stream: Option<TelemetrySender>) {
        let mut clients = lock(&self.clients);
        let entry = clients.entry(client_id.to_owned()).or_insert(Session {
            settings: settings.clone(),
            stream: None,
            seen: Instant::now(),
            started_ms: crate::now_ms(),
        });
        entry.settings = settings;
        entry.seen = Instant::now();
        if stream.is_some() {
            entry.stream = stream;
        }
    }

    /// The settings of `client_id`, refreshing its last-seen time.
    pub fn touch(&self, client_id: &str) -> Option<pb::Settings> {
        let mut clients = lock(&self.clients);
        let s = clients.get_mut(client_id)?;
        s.seen = Instant::now();
        Some(s.settings.clone())
    }

    /// The settings of `client_id`.
    pub fn settings(&self, client_id: &str) -> Option<pb::Settings> {
        lock(&self.clients)
            .get(client_id)
            .map(|s| s.settings.clone())
    }

    /// The settings of `client_id`, when the proxy first heard of it (ms) and its live
    /// Telemetry stream.
    pub fn client(&self, client_id: &str) -> Option<(pb::Settings, i64, Option<TelemetrySender>)> {
        lock(&self.clients).get(client_id).map(|s| {
            (
                s.settings.clone(),
                s.started_ms,
                s.stream.clone().filter(|tx| !tx.is_closed()),
            )
        })
    }

    /// Every known consumer client with its settings (for the brokers' heartbeats).
    pub fn consumers(&self) -> Vec<(String, pb::Settings)> {
        lock(&self.clients)
            .iter()
            .filter(|(_, s)| {
                matches!(
                    s.settings.pub_sub,
                    Some(pb::settings::PubSub::Subscription(_))
                )
            })
            .map(|(id, s)| (id.clone(), s.settings.clone()))
            .collect()
    }

    /// Forgets `client_id` (NotifyClientTermination, or its Telemetry stream ended).
    pub fn remove(&self, client_id: &str) -> Option<pb::Settings> {
        lock(&self.clients).remove(client_id).map(|s| s.settings)
    }

    /// Drops the stream of `client_id` when it is the closed one.
    pub fn stream_closed(&self, client_id: &str) {
        if let Some(s) = lock(&self.clients).get_mut(client_id) {
            if s.stream.as_ref().is_some_and(|tx| tx.is_closed()) {
                s.stream = None;
            }
        }
    }

    /// Forgets clients without a live Telemetry stream that were not heard from for `idle`
    /// (a client that vanished without NotifyClientTermination); returns them.
    pub fn expire(&self, idle: Duration) -> Vec<(String, pb::Settings)> {
        let mut clients = lock(&self.clients);
        let mut gone = Vec::new();
        clients.retain(|id, s| {
            let keep =
                s.stream.as_ref().is_some_and(|tx| !tx.is_closed()) || s.seen.elapsed() < idle;
            if !keep {
                gone.push((id.clone(), s.settings.clone()));
            }
            keep
        });
        gone
    }

    /// Topics published by live producers (their groups are the topics).
    pub fn published_topics(&self) -> Vec<String> {
        let mut topics: Vec<String> = lock(&self.clients)
            .values()
            .filter_map(|s| match &s.settings.pub_sub {
                Some(pb::settings::PubSub::Publishing(p)) => Some(p.topics.clone()),
                _ => None,
            })
            .flatten()
            .map(|r| r.name)
            .collect();
        topics.sort();
        topics.dedup();
        topics
    }

    /// A live Telemetry stream of a producer publishing `topic`.
    fn producer_stream(&self, topic: &str) -> Option<TelemetrySender> {
        lock(&self.clients)
            .values()
            .filter(|s| match &s.settings.pub_sub {
                Some(pb::settings::PubSub::Publishing(p)) => {
                    p.topics.iter().any(|t| t.name == topic)
                }
                _ => false,
            })
            .filter_map(|s| s.stream.clone().filter(|tx| !tx.is_closed()))
            .next()
    }

    /// Remembers a half message under (`group`, `transaction_id`).
    pub fn add_transaction(&self, group: &str, transaction_id: &str, t: Transaction) {
        let mut map = lock(&self.transactions);
        let mut sweep_now = false;
        {
            let mut swept = lock(&self.swept);
            if swept.is_none_or(|at| at.elapsed() >= TRANSACTION_SWEEP) {
                map.retain(|_, t| t.created.elapsed() < TRANSACTION_TTL);
                *swept = Some(std::time::Instant::now());
                sweep_now = true;
            }
        }
        if map.len() >= MAX_OPEN_TRANSACTIONS {
            if sweep_now {
                // Once per sweep, not per send: a client flooding transactions floods no log.
                tracing::warn!(
                    "{MAX_OPEN_TRANSACTIONS} open transactions remembered: new ones are left to \
                     the brokers' checks until some end or expire"
                );
            }
            return;
        }
        map.insert((group.to_owned(), transaction_id.to_owned()), t);
    }

    /// Takes the half message of (`group`, `transaction_id`).
    pub fn take_transaction(&self, group: &str, transaction_id: &str) -> Option<Transaction> {
        lock(&self.transactions).remove(&(group.to_owned(), transaction_id.to_owned()))
    }

    /// Pushes a broker's transaction check to a producer of the message's topic.
    fn check_transaction(&self, addr: &str, request: &RemotingCommand) {
        let Ok(header) = request.header::<CheckTransactionStateRequestHeader>() else {
            tracing::warn!(%addr, "CHECK_TRANSACTION_STATE with a bad header");
            return;
        };
        let body = Bytes::clone(&request.body);
        let Some(message) = decode_all(&body, &DecodeOptions::default())
            .ok()
            .and_then(|v| v.into_iter().next())
        else {
            tracing::warn!(%addr, "CHECK_TRANSACTION_STATE with a bad body");
            return;
        };
        let topic = message.topic.clone();
        let group = message
            .properties
            .value(property::PRODUCER_GROUP)
            .unwrap_or(&topic)
            .to_owned();
        let msg_id = header
            .msg_id
            .clone()
            .or_else(|| message.properties.uniq_key().map(str::to_owned))
            .unwrap_or_default();
        let transaction_id = header
            .transaction_id
            .clone()
            .unwrap_or_else(|| msg_id.clone());
        self.add_transaction(
            &group,
            &transaction_id,
            Transaction::new(
                addr.to_owned(),
                header.broker_name.clone().unwrap_or_default(),
                header.tran_state_table_offset,
                header.commit_log_offset,
                msg_id,
            ),
        );
        let Some(stream) = self.producer_stream(&topic) else {
            tracing::debug!(%topic, "transaction check: no producer of the topic is connected");
            return;
        };
        let now = crate::now_ms();
        let command = pb::TelemetryCommand {
            status: None,
            command: Some(Command::RecoverOrphanedTransactionCommand(
                pb::RecoverOrphanedTransactionCommand {
                    message: Some(convert::to_grpc(&message, &topic, now)),
                    transaction_id,
                },
            )),
        };
        if stream.try_send(Ok(command)).is_err() {
            tracing::debug!(%topic, "transaction check: the producer's stream is full or closed");
        }
    }
}

/// Receives the requests brokers send to the proxy.
#[derive(Debug)]
pub struct Inbound(pub Arc<Sessions>);

impl InboundHandler for Inbound {
    fn handle(
        &self,
        addr: String,
        request: RemotingCommand,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        let code = request.request_code();
        if code == RequestCode::CHECK_TRANSACTION_STATE {
            self.0.check_transaction(&addr, &request);
        }
        if code == RequestCode::GET_CONSUMER_RUNNING_INFO
            || code == RequestCode::CONSUME_MESSAGE_DIRECTLY
        {
            let sessions = self.0.clone();
            return Box::pin(async move { crate::relay::handle(&sessions, &request).await });
        }
        Box::pin(async { None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_without_stream_expire() {
        let sessions = Sessions::default();
        let (tx, _rx) = mpsc::channel(1);
        sessions.update("live", pb::Settings::default(), Some(tx));
        sessions.update("gone", pb::Settings::default(), None);
        assert!(sessions.expire(Duration::from_secs(60)).is_empty());
        assert_eq!(sessions.expire(Duration::ZERO).len(), 1);
        assert!(sessions.settings("live").is_some());
        assert!(sessions.settings("gone").is_none());
    }
}
