//! Operator requests a broker relays to a gRPC client (docs/grpc.md, "Admin commands").
//!
//! The proxy heartbeats each gRPC consumer to the brokers under the client's own id (see
//! [`consumer_heartbeat`]), so `mqadmin consumerConnection` lists it and the broker sends
//! GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY (309) for it over the proxy's
//! remoting connection. The proxy answers them itself:
//!
//! - running info: the client's settings (consume type, start time, subscriptions); with
//!   `jstackEnable` it also sends a `PrintThreadStackTraceCommand` on the client's Telemetry
//!   stream and puts the client's `ThreadStackTrace` in `jstack`;
//! - consume directly: a `VerifyMessageCommand` with the message; the client's
//!   `VerifyMessageResult` status becomes the `ConsumeMessageDirectlyResult`.
//!
//! Each command carries a fresh nonce; an answer is matched by nonce and client id, an answer
//! nobody waits for is dropped. A client that does not answer within
//! `grpcProxyRelayRequestTimeoutInSeconds` ([`DEFAULT_RELAY_TIMEOUT`] unless set) gets the
//! operator `SYSTEM_BUSY` with a remark that says so, before the operator's tool gives up; at
//! most [`MAX_PENDING`] commands wait at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use ferromq_common::lock;
use ferromq_protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, SubscriptionData,
};
use ferromq_protocol::body::running::{
    ConsumerRunningInfo, PROP_CONSUMER_START_TIMESTAMP, PROP_CONSUME_ORDERLY, PROP_CONSUME_TYPE,
};
use ferromq_protocol::header::client::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
};
use ferromq_protocol::message::{decode_all, DecodeOptions};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use tokio::sync::oneshot;

use crate::pb::{self, telemetry_command::Command, Code};
use crate::sessions::{Sessions, TelemetrySender};

/// How long the proxy waits for a client's answer unless configured. Apache waits 5 s, as long
/// as its own `mqadmin` waits for the broker (FerroMQ's waits 3 s): the operator would see the
/// tool's timeout rather than the proxy's answer, so FerroMQ waits 2 s.
pub const DEFAULT_RELAY_TIMEOUT: Duration = Duration::from_secs(2);
/// Most commands waiting for an answer at once; past it a request is refused at once.
pub const MAX_PENDING: usize = 1_000;

/// A client's answer: the Telemetry status and, for a stack trace, the text.
#[derive(Debug)]
struct Answer {
    status: Option<pb::Status>,
    stack: Option<String>,
}

#[derive(Debug)]
struct Pending {
    client_id: String,
    reply: oneshot::Sender<Answer>,
}

/// Commands sent to clients that wait for their answer, by nonce.
#[derive(Debug, Default)]
pub struct Relay {
    pending: Mutex<HashMap<String, Pending>>,
    next: AtomicU64,
    /// How long an answer is waited for, ms; 0: [`DEFAULT_RELAY_TIMEOUT`].
    timeout_ms: AtomicU64,
}

impl Relay {
    /// Sets how long an answer is waited for (`grpcProxyRelayRequestTimeoutInSeconds`).
    pub fn set_timeout(&self, timeout: Duration) {
        let ms = u64::try_from(timeout.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        self.timeout_ms.store(ms, Ordering::Relaxed);
    }

    /// How long an answer is waited for.
    pub fn timeout(&self) -> Duration {
        match self.timeout_ms.load(Ordering::Relaxed) {
            0 => DEFAULT_RELAY_TIMEOUT,
            ms => Duration::from_millis(ms),
        }
    }

    /// Sends the command `make(nonce)` on `stream` and waits up to `timeout` for the answer.
    async fn ask(
        &self,
        client_id: &str,
        stream: &TelemetrySender,
        timeout: Duration,
        make: impl FnOnce(String) -> Command,
    ) -> Result<Answer, (ResponseCode, String)> {
        let (reply, answer) = oneshot::channel();
        let nonce = {
            let mut pending = lock(&self.pending);
            if pending.len() >= MAX_PENDING {
                return Err((
                    ResponseCode::SYSTEM_BUSY,
                    format!("{MAX_PENDING} commands to gRPC clients are already waiting"),
                ));
            }
            let nonce = format!("ferromq-{}", self.next.fetch_add(1, Ordering::Relaxed));
            pending.insert(
                nonce.clone(),
                Pending {
                    client_id: client_id.to_owned(),
                    reply,
                },
            );
            nonce
        };
        let command = pb::TelemetryCommand {
            status: None,
            command: Some(make(nonce.clone())),
        };
        if stream.try_send(Ok(command)).is_err() {
            lock(&self.pending).remove(&nonce);
            return Err((
                ResponseCode::SYSTEM_ERROR,
                format!("the Telemetry stream of gRPC client {client_id} is closed or full"),
            ));
        }
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(a)) => Ok(a),
            _ => {
                lock(&self.pending).remove(&nonce);
                Err((
                    ResponseCode::SYSTEM_BUSY,
                    format!(
                        "call remote timeout: gRPC client {client_id} did not answer within {timeout:?}"
                    ),
                ))
            }
        }
    }

    /// A client's answer to the command of `nonce`; ignored when no command of that client
    /// waits for it (unknown, answered already, timed out, or another client's nonce).
    pub fn answer(
        &self,
        client_id: &str,
        nonce: &str,
        status: Option<pb::Status>,
        stack: Option<String>,
    ) {
        let mut pending = lock(&self.pending);
        match pending.get(nonce) {
            Some(p) if p.client_id == client_id => {}
            _ => {
                tracing::debug!(client = %client_id, %nonce, "telemetry answer with an unknown nonce ignored");
                return;
            }
        }
        if let Some(p) = pending.remove(nonce) {
            let _ = p.reply.send(Answer { status, stack });
        }
    }

    /// How many commands wait for an answer.
    pub fn waiting(&self) -> usize {
        lock(&self.pending).len()
    }
}

/// The HEART_BEAT body registering gRPC consumer `client_id` with its group and subscriptions
/// (Apache's `ClientActivity`: a simple consumer consumes actively, a push consumer passively);
/// `None` for settings that are not a consumer's.
pub fn consumer_heartbeat(client_id: &str, settings: &pb::Settings) -> Option<HeartbeatData> {
    let Some(pb::settings::PubSub::Subscription(s)) = &settings.pub_sub else {
        return None;
    };
    let group = s.group.as_ref()?.name.clone();
    Some(HeartbeatData {
        client_id: client_id.to_owned(),
        consumer_data_set: vec![ConsumerData {
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            consume_type: consume_type(settings),
            group_name: group,
            message_model: MessageModel::Clustering,
            subscription_data_set: subscriptions(s),
            unit_mode: false,
        }],
        ..HeartbeatData::default()
    })
}

impl crate::Proxy {
    /// Registers gRPC consumer `client_id` with the masters of its subscribed topics.
    pub(crate) async fn register_consumer(&self, client_id: &str, settings: &pb::Settings) {
        let Some(data) = consumer_heartbeat(client_id, settings) else {
            return;
        };
        for topic in topics(settings) {
            self.backend.heartbeat(&data, &topic).await;
        }
    }

    /// Takes gRPC consumer `client_id` out of its group on the masters of its topics.
    pub(crate) async fn unregister_consumer(&self, client_id: &str, settings: &pb::Settings) {
        let Some(pb::settings::PubSub::Subscription(s)) = &settings.pub_sub else {
            return;
        };
        let Some(group) = s.group.as_ref().map(|g| g.name.clone()) else {
            return;
        };
        for topic in topics(settings) {
            self.backend
                .unregister_consumer(client_id, &group, &topic)
                .await;
        }
    }
}

fn topics(settings: &pb::Settings) -> Vec<String> {
    match &settings.pub_sub {
        Some(pb::settings::PubSub::Subscription(s)) => s
            .subscriptions
            .iter()
            .filter_map(|e| e.topic.as_ref().map(|t| t.name.clone()))
            .collect(),
        _ => Vec::new(),
    }
}

fn consume_type(settings: &pb::Settings) -> ConsumeType {
    if settings.client_type == Some(pb::ClientType::SimpleConsumer as i32) {
        ConsumeType::ConsumeActively
    } else {
        ConsumeType::ConsumePassively
    }
}

fn subscriptions(s: &pb::Subscription) -> Vec<SubscriptionData> {
    s.subscriptions
        .iter()
        .filter_map(|e| {
            let topic = e.topic.as_ref()?.name.clone();
            let (kind, expr) = e
                .expression
                .as_ref()
                .map(|f| (f.r#type, f.expression.as_str()))
                .unwrap_or((pb::FilterType::Tag as i32, "*"));
            Some(if kind == pb::FilterType::Sql as i32 {
                SubscriptionData::sql92(topic, expr, 0)
            } else {
                SubscriptionData::tag(topic, expr, 0)
            })
        })
        .collect()
}

fn fail(code: ResponseCode, remark: impl Into<String>) -> RemotingCommand {
    RemotingCommand::response(code, Some(remark.into()))
}

/// Answers a GET_CONSUMER_RUNNING_INFO or CONSUME_MESSAGE_DIRECTLY the broker relayed for a
/// gRPC client; `None` for other requests.
pub async fn handle(sessions: &Sessions, request: &RemotingCommand) -> Option<RemotingCommand> {
    let code = request.request_code();
    let timeout = sessions.relay.timeout();
    let answer = if code == RequestCode::GET_CONSUMER_RUNNING_INFO {
        running_info(sessions, request, timeout).await
    } else if code == RequestCode::CONSUME_MESSAGE_DIRECTLY {
        consume_directly(sessions, request, timeout).await
    } else {
        return None;
    };
    Some(answer.unwrap_or_else(|(code, remark)| fail(code, remark)))
}

type Outcome = Result<RemotingCommand, (ResponseCode, String)>;

fn not_connected(client_id: &str) -> (ResponseCode, String) {
    (
        ResponseCode::SYSTEM_ERROR,
        format!("gRPC client {client_id} is not connected to this proxy"),
    )
}

async fn running_info(
    sessions: &Sessions,
    request: &RemotingCommand,
    timeout: Duration,
) -> Outcome {
    let h: GetConsumerRunningInfoRequestHeader = request
        .header()
        .map_err(|e| (ResponseCode::SYSTEM_ERROR, format!("bad header: {e}")))?;
    let (settings, started, stream) = sessions
        .client(&h.client_id)
        .ok_or_else(|| not_connected(&h.client_id))?;
    let Some(pb::settings::PubSub::Subscription(sub)) = &settings.pub_sub else {
        return Err((
            ResponseCode::SYSTEM_ERROR,
            format!(
                "The Consumer Group <{}> not exist in this consumer",
                h.consumer_group
            ),
        ));
    };
    let mut info = ConsumerRunningInfo::default();
    let kind = match consume_type(&settings) {
        ConsumeType::ConsumeActively => "CONSUME_ACTIVELY",
        _ => "CONSUME_PASSIVELY",
    };
    info.properties
        .insert(PROP_CONSUME_TYPE.to_owned(), kind.to_owned());
    info.properties.insert(
        PROP_CONSUMER_START_TIMESTAMP.to_owned(),
        started.to_string(),
    );
    info.properties.insert(
        PROP_CONSUME_ORDERLY.to_owned(),
        sub.fifo.unwrap_or(false).to_string(),
    );
    if let Some(ua) = &settings.user_agent {
        info.properties
            .insert("clientVersion".to_owned(), ua.version.clone());
        info.properties
            .insert("clientHostname".to_owned(), ua.hostname.clone());
    }
    info.properties
        .insert("protocol".to_owned(), "gRPC".to_owned());
    info.subscription_set = subscriptions(sub);
    if h.jstack_enable.unwrap_or(false) {
        let stream = stream.ok_or_else(|| not_connected(&h.client_id))?;
        let answer = sessions
            .relay
            .ask(&h.client_id, &stream, timeout, |nonce| {
                Command::PrintThreadStackTraceCommand(pb::PrintThreadStackTraceCommand { nonce })
            })
            .await?;
        let code = answer.status.as_ref().map_or(Code::Ok as i32, |s| s.code);
        if code != Code::Ok as i32 {
            return Err((
                ResponseCode::SYSTEM_ERROR,
                format!(
                    "gRPC client {} could not print its threads: {}",
                    h.client_id,
                    answer.status.map(|s| s.message).unwrap_or_default()
                ),
            ));
        }
        info.jstack = Some(answer.stack.unwrap_or_default());
    }
    Ok(RemotingCommand::response(ResponseCode::SUCCESS, None).with_body(info.encode()))
}

async fn consume_directly(
    sessions: &Sessions,
    request: &RemotingCommand,
    timeout: Duration,
) -> Outcome {
    let h: ConsumeMessageDirectlyResultRequestHeader = request
        .header()
        .map_err(|e| (ResponseCode::SYSTEM_ERROR, format!("bad header: {e}")))?;
    let client_id = h.client_id.clone().unwrap_or_default();
    let message = decode_all(&request.body, &DecodeOptions::default())
        .ok()
        .and_then(|v| v.into_iter().next())
        .ok_or_else(|| {
            (
                ResponseCode::SYSTEM_ERROR,
                "the relayed message does not decode".to_owned(),
            )
        })?;
    let (_, _, stream) = sessions
        .client(&client_id)
        .ok_or_else(|| not_connected(&client_id))?;
    let stream = stream.ok_or_else(|| not_connected(&client_id))?;
    let topic = message.topic.clone();
    let grpc = crate::convert::to_grpc(&message, &topic, crate::now_ms());
    let started = std::time::Instant::now();
    let answer = sessions
        .relay
        .ask(&client_id, &stream, timeout, |nonce| {
            Command::VerifyMessageCommand(pb::VerifyMessageCommand {
                nonce,
                message: Some(grpc),
            })
        })
        .await?;
    let code = answer.status.as_ref().map_or(Code::Ok as i32, |s| s.code);
    // Apache's `buildConsumeMessageDirectlyResult`, with the client's reason kept.
    let result = match Code::try_from(code) {
        Ok(Code::Ok) => "CR_SUCCESS",
        Ok(Code::FailedToConsumeMessage) => "CR_LATER",
        Ok(Code::MessageCorrupted) => "CR_RETURN_NULL",
        Ok(Code::VerifyFifoMessageUnsupported) => {
            return Err((
                ResponseCode::NO_PERMISSION,
                "forbidden to verify message: the gRPC client consumes in FIFO order".to_owned(),
            ))
        }
        _ => "CR_THROW_EXCEPTION",
    };
    let mut remark = "from gRPC client".to_owned();
    if let Some(s) = answer.status.filter(|s| !s.message.is_empty()) {
        remark.push_str(": ");
        remark.push_str(&s.message);
    }
    let body = serde_json::json!({
        "autoCommit": true,
        "consumeResult": result,
        "order": false,
        "remark": remark,
        "spentTimeMills": started.elapsed().as_millis() as u64,
    });
    Ok(RemotingCommand::response(ResponseCode::SUCCESS, None)
        .with_body(body.to_string().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    #[tokio::test]
    async fn answers_match_nonce_and_client_and_time_out() {
        let relay = std::sync::Arc::new(Relay::default());
        let (tx, mut rx) = mpsc::channel(4);
        let r = relay.clone();
        let waiting = tokio::spawn(async move {
            r.ask("c1", &tx, Duration::from_secs(10), |nonce| {
                Command::PrintThreadStackTraceCommand(pb::PrintThreadStackTraceCommand { nonce })
            })
            .await
        });
        let sent = rx.recv().await.expect("command").expect("ok");
        let Some(Command::PrintThreadStackTraceCommand(c)) = sent.command else {
            panic!("not a stack trace command: {sent:?}");
        };
        // Another client's answer with this nonce, and an unknown nonce: both ignored.
        relay.answer("c2", &c.nonce, None, Some("wrong".into()));
        relay.answer("c1", "no-such-nonce", None, Some("wrong".into()));
        assert_eq!(relay.waiting(), 1);
        relay.answer("c1", &c.nonce, None, Some("threads".into()));
        let got = waiting.await.expect("join").expect("answered");
        assert_eq!(got.stack.as_deref(), Some("threads"));
        assert_eq!(relay.waiting(), 0);
        // Nobody answers: a timeout, and the nonce is forgotten.
        let (tx, _rx) = mpsc::channel(4);
        let err = relay
            .ask("c1", &tx, Duration::from_millis(50), |nonce| {
                Command::PrintThreadStackTraceCommand(pb::PrintThreadStackTraceCommand { nonce })
            })
            .await
            .expect_err("no answer");
        assert_eq!(err.0, ResponseCode::SYSTEM_BUSY);
        assert!(err.1.contains("did not answer"), "{}", err.1);
        assert_eq!(relay.waiting(), 0);
    }
}
