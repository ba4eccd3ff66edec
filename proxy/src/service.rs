//! `MessagingService`: each RPC checks what it needs from the request's metadata and hands the
//! work to `produce` or `consume`; client-level RPCs (Heartbeat, Telemetry, termination) live
//! here.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tonic::{Request, Response, Status, Streaming};

use crate::auth::{Call, CallCredentials, Refusal, Wants};
use crate::pb::messaging_service_server::MessagingService;
use crate::pb::telemetry_command::Command;
use crate::pb::{self, Code};
use crate::status::{ok, status};
use crate::Proxy;

/// A server stream of the service.
pub(crate) type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// How often the producer groups of live publishers are heartbeated to the brokers.
const PRODUCER_HEARTBEAT: Duration = Duration::from_secs(20);

/// A client with no Telemetry stream that sends nothing this long is forgotten (Apache's
/// channel expiry is 120 s too).
const CLIENT_IDLE: Duration = Duration::from_secs(120);

/// The client id every 5.x SDK sends in metadata.
pub(crate) fn client_id<T>(request: &Request<T>) -> Option<String> {
    request
        .metadata()
        .get("x-mq-client-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The gRPC deadline the client set (`grpc-timeout`), if any.
pub(crate) fn deadline<T>(request: &Request<T>) -> Option<Duration> {
    let text = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    let (num, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: u64 = num.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Renews the producer groups (= topics) of live publishers with the brokers, so that their
/// transaction checks keep coming to this proxy.
pub(crate) async fn keep_producers_registered(proxy: Arc<Proxy>) {
    let mut tick = tokio::time::interval(PRODUCER_HEARTBEAT);
    loop {
        tick.tick().await;
        let gone = proxy.sessions.expire(CLIENT_IDLE);
        if !gone.is_empty() {
            tracing::info!(
                gone = gone.len(),
                "gRPC clients expired: no stream and no heartbeat"
            );
        }
        for (id, settings) in gone {
            proxy.unregister_consumer(&id, &settings).await;
            proxy.clear_renewals(&id).await;
        }
        for (id, settings) in proxy.sessions.consumers() {
            proxy.register_consumer(&id, &settings).await;
        }
        for topic in proxy.sessions.published_topics() {
            proxy
                .backend
                .heartbeat_producer(&proxy.client_id, &topic, &topic)
                .await;
        }
    }
}

/// The settings the server answers: the client's own, with the server's limits merged in as
/// Apache's `GrpcClientSettingsManager` does.
fn merge_settings(
    proxy: &Proxy,
    mut settings: pb::Settings,
    group: Option<&serde_json::Value>,
) -> pb::Settings {
    let config = &proxy.config;
    match &mut settings.pub_sub {
        Some(pb::settings::PubSub::Publishing(p)) => {
            p.validate_message_type = config.enable_topic_message_type_check;
            p.max_body_size = i32::try_from(config.max_message_size).unwrap_or(i32::MAX);
            settings.backoff_policy = Some(pb::RetryPolicy {
                max_attempts: 3,
                strategy: Some(pb::retry_policy::Strategy::ExponentialBackoff(
                    pb::ExponentialBackoff {
                        initial: Some(crate::convert::duration_of(10)),
                        max: Some(crate::convert::duration_of(1000)),
                        multiplier: 2.0,
                    },
                )),
            });
        }
        Some(pb::settings::PubSub::Subscription(s)) => {
            s.receive_batch_size = Some(config.grpc_client_consumer_long_polling_batch_size);
            s.long_polling_timeout = Some(crate::convert::duration_of(
                config.grpc_client_consumer_max_long_polling_timeout_millis,
            ));
            let field = |k: &str| group.and_then(|g| g.get(k));
            s.fifo = Some(
                field("consumeMessageOrderly")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false),
            );
            let retry_max = field("retryMaxTimes")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(16);
            settings.backoff_policy = Some(pb::RetryPolicy {
                max_attempts: i32::try_from(retry_max + 1).unwrap_or(17),
                strategy: Some(retry_strategy(field("groupRetryPolicy"))),
            });
        }
        None => {}
    }
    settings.metric = Some(pb::Metric {
        on: false,
        endpoints: None,
    });
    settings
}

/// Apache's default customized retry delays: the delay levels from 1 s.
const DEFAULT_RETRY_DELAYS_MS: [i64; 18] = [
    1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000,
    480_000, 540_000, 600_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000,
];

/// A group's `groupRetryPolicy` as the SDK's backoff (Apache's `mergeSubscriptionData`).
fn retry_strategy(policy: Option<&serde_json::Value>) -> pb::retry_policy::Strategy {
    use pb::retry_policy::Strategy;
    use serde_json::Value;
    let ms = |v: Option<&Value>, default: i64| v.and_then(Value::as_i64).unwrap_or(default);
    let kind = policy.and_then(|p| p.get("type")).and_then(Value::as_str);
    if kind == Some("EXPONENTIAL") {
        let e = policy.and_then(|p| p.get("exponentialRetryPolicy"));
        return Strategy::ExponentialBackoff(pb::ExponentialBackoff {
            initial: Some(crate::convert::duration_of(ms(
                e.and_then(|e| e.get("initial")),
                5_000,
            ))),
            max: Some(crate::convert::duration_of(ms(
                e.and_then(|e| e.get("max")),
                7_200_000,
            ))),
            multiplier: e
                .and_then(|e| e.get("multiplier"))
                .and_then(Value::as_f64)
                .unwrap_or(2.0) as f32,
        });
    }
    let next: Vec<i64> = policy
        .and_then(|p| p.get("customizedRetryPolicy"))
        .and_then(|c| c.get("next"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .filter(|v: &Vec<i64>| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_RETRY_DELAYS_MS.to_vec());
    Strategy::CustomizedBackoff(pb::CustomizedBackoff {
        next: next.into_iter().map(crate::convert::duration_of).collect(),
    })
}

/// The answer to a refused call (Apache's proxy): ACL 2.0 refusals are the RPC's own answer with
/// `UNAUTHORIZED` in its `Status`; ACL 1.0 refusals fail the call with `PERMISSION_DENIED`.
// The result of a tonic handler, whose error type is tonic's (large) `Status`.
#[allow(clippy::result_large_err)]
fn refused<T>(
    refusal: Refusal,
    answer: impl FnOnce(pb::Status) -> T,
) -> Result<Response<T>, Status> {
    match refusal {
        Refusal::Unauthorized(m) => Ok(Response::new(answer(status(Code::Unauthorized, &m)))),
        Refusal::PermissionDenied(m) => Err(Status::permission_denied(m)),
    }
}

/// Checks a unary or server-streaming call; on refusal, returns its answer from the RPC.
macro_rules! guard {
    ($self:ident, $request:ident, $answer:expr) => {
        if let Err(r) = $self.admit(&$request) {
            return refused(r, $answer);
        }
    };
}

impl Proxy {
    /// Checks one call with the [`crate::auth::Guard`], when there is one.
    fn admit<T: Wants>(&self, request: &Request<T>) -> Result<(), Refusal> {
        let Some(guard) = &self.guard else {
            return Ok(());
        };
        let credentials = crate::auth::credentials(request.metadata());
        guard.check(&Call {
            rpc: T::RPC,
            peer: request.remote_addr().map(|a| a.ip()),
            credentials: &credentials,
            wants: request.get_ref().wants(),
        })
    }

    /// Checks one command of a Telemetry stream (each is checked, as in Apache).
    fn admit_command(
        &self,
        peer: Option<std::net::IpAddr>,
        credentials: &Result<Option<CallCredentials>, String>,
        command: &pb::TelemetryCommand,
    ) -> Result<(), Refusal> {
        let Some(guard) = &self.guard else {
            return Ok(());
        };
        guard.check(&Call {
            rpc: <pb::TelemetryCommand as Wants>::RPC,
            peer,
            credentials,
            wants: command.wants(),
        })
    }

    async fn on_settings(
        &self,
        client_id: &str,
        settings: pb::Settings,
        stream: &crate::sessions::TelemetrySender,
    ) -> Result<pb::TelemetryCommand, Status> {
        match &settings.pub_sub {
            Some(pb::settings::PubSub::Publishing(p)) => {
                for topic in &p.topics {
                    if let Err(e) =
                        crate::convert::validate_name(&topic.name, "topic", Code::IllegalTopic)
                    {
                        return Ok(pb::TelemetryCommand {
                            status: Some(e.status()),
                            command: None,
                        });
                    }
                }
                let topics: Vec<String> = p.topics.iter().map(|t| t.name.clone()).collect();
                self.sessions
                    .update(client_id, settings.clone(), Some(stream.clone()));
                for topic in topics {
                    self.backend
                        .heartbeat_producer(&self.client_id, &topic, &topic)
                        .await;
                }
            }
            Some(pb::settings::PubSub::Subscription(s)) => {
                let group = s
                    .group
                    .as_ref()
                    .map(|g| g.name.as_str())
                    .unwrap_or_default();
                if let Err(e) =
                    crate::convert::validate_name(group, "group", Code::IllegalConsumerGroup)
                {
                    return Ok(pb::TelemetryCommand {
                        status: Some(e.status()),
                        command: None,
                    });
                }
                let topic = s
                    .subscriptions
                    .first()
                    .and_then(|e| e.topic.as_ref())
                    .map(|t| t.name.clone())
                    .unwrap_or_default();
                let config = if topic.is_empty() {
                    None
                } else {
                    self.backend.group_config(group, &topic).await
                };
                let merged = merge_settings(self, settings, config.as_ref());
                self.sessions
                    .update(client_id, merged.clone(), Some(stream.clone()));
                self.register_consumer(client_id, &merged).await;
                return Ok(pb::TelemetryCommand {
                    status: Some(ok()),
                    command: Some(Command::Settings(merged)),
                });
            }
            None => {
                return Err(Status::invalid_argument(
                    "there is no publishing or subscription data in settings",
                ))
            }
        }
        Ok(pb::TelemetryCommand {
            status: Some(ok()),
            command: Some(Command::Settings(merge_settings(self, settings, None))),
        })
    }
}

#[tonic::async_trait]
impl MessagingService for Proxy {
    async fn query_route(
        &self,
        request: Request<pb::QueryRouteRequest>,
    ) -> Result<Response<pb::QueryRouteResponse>, Status> {
        guard!(self, request, |s| pb::QueryRouteResponse {
            status: Some(s),
            ..Default::default()
        });
        Ok(Response::new(self.route(request.into_inner()).await))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        guard!(self, request, |s| pb::HeartbeatResponse { status: Some(s) });
        let status = match client_id(&request) {
            None => status(Code::ClientIdRequired, "client id cannot be empty"),
            Some(id) => match self.sessions.touch(&id) {
                Some(_) => ok(),
                None => status(
                    Code::UnrecognizedClientType,
                    "cannot find client settings for this client",
                ),
            },
        };
        Ok(Response::new(pb::HeartbeatResponse {
            status: Some(status),
        }))
    }

    async fn send_message(
        &self,
        request: Request<pb::SendMessageRequest>,
    ) -> Result<Response<pb::SendMessageResponse>, Status> {
        guard!(self, request, |s| pb::SendMessageResponse {
            status: Some(s),
            ..Default::default()
        });
        let peer = request.remote_addr().map(|a| a.to_string());
        Ok(Response::new(
            self.send(request.into_inner(), peer.as_deref()).await,
        ))
    }

    async fn query_assignment(
        &self,
        request: Request<pb::QueryAssignmentRequest>,
    ) -> Result<Response<pb::QueryAssignmentResponse>, Status> {
        guard!(self, request, |s| pb::QueryAssignmentResponse {
            status: Some(s),
            ..Default::default()
        });
        Ok(Response::new(self.assignment(request.into_inner()).await))
    }

    type ReceiveMessageStream = BoxStream<pb::ReceiveMessageResponse>;

    async fn receive_message(
        &self,
        request: Request<pb::ReceiveMessageRequest>,
    ) -> Result<Response<Self::ReceiveMessageStream>, Status> {
        guard!(self, request, |s| futures::stream::iter([Ok(
            pb::ReceiveMessageResponse {
                content: Some(pb::receive_message_response::Content::Status(s)),
            }
        )])
        .boxed());
        let id = client_id(&request);
        let deadline = deadline(&request);
        let answers = self
            .receive(request.into_inner(), id.as_deref(), deadline)
            .await;
        Ok(Response::new(
            futures::stream::iter(answers.into_iter().map(Ok)).boxed(),
        ))
    }

    async fn ack_message(
        &self,
        request: Request<pb::AckMessageRequest>,
    ) -> Result<Response<pb::AckMessageResponse>, Status> {
        guard!(self, request, |s| pb::AckMessageResponse {
            status: Some(s),
            ..Default::default()
        });
        Ok(Response::new(self.ack(request.into_inner()).await))
    }

    async fn forward_message_to_dead_letter_queue(
        &self,
        request: Request<pb::ForwardMessageToDeadLetterQueueRequest>,
    ) -> Result<Response<pb::ForwardMessageToDeadLetterQueueResponse>, Status> {
        guard!(self, request, |s| {
            pb::ForwardMessageToDeadLetterQueueResponse { status: Some(s) }
        });
        Ok(Response::new(
            self.forward_to_dlq(request.into_inner()).await,
        ))
    }

    type PullMessageStream = BoxStream<pb::PullMessageResponse>;

    async fn pull_message(
        &self,
        request: Request<pb::PullMessageRequest>,
    ) -> Result<Response<Self::PullMessageStream>, Status> {
        guard!(self, request, |s| futures::stream::iter([Ok(
            pb::PullMessageResponse {
                content: Some(pb::pull_message_response::Content::Status(s)),
            }
        )])
        .boxed());
        let deadline = deadline(&request);
        let answers = self.pull(request.into_inner(), deadline).await;
        Ok(Response::new(
            futures::stream::iter(answers.into_iter().map(Ok)).boxed(),
        ))
    }

    async fn update_offset(
        &self,
        request: Request<pb::UpdateOffsetRequest>,
    ) -> Result<Response<pb::UpdateOffsetResponse>, Status> {
        guard!(self, request, |s| pb::UpdateOffsetResponse {
            status: Some(s)
        });
        Ok(Response::new(
            self.update_offset(request.into_inner()).await,
        ))
    }

    async fn get_offset(
        &self,
        request: Request<pb::GetOffsetRequest>,
    ) -> Result<Response<pb::GetOffsetResponse>, Status> {
        guard!(self, request, |s| pb::GetOffsetResponse {
            status: Some(s),
            ..Default::default()
        });
        Ok(Response::new(self.get_offset(request.into_inner()).await))
    }

    async fn query_offset(
        &self,
        request: Request<pb::QueryOffsetRequest>,
    ) -> Result<Response<pb::QueryOffsetResponse>, Status> {
        guard!(self, request, |s| pb::QueryOffsetResponse {
            status: Some(s),
            ..Default::default()
        });
        Ok(Response::new(self.query_offset(request.into_inner()).await))
    }

    async fn end_transaction(
        &self,
        request: Request<pb::EndTransactionRequest>,
    ) -> Result<Response<pb::EndTransactionResponse>, Status> {
        guard!(self, request, |s| pb::EndTransactionResponse {
            status: Some(s)
        });
        Ok(Response::new(
            self.end_transaction(request.into_inner()).await,
        ))
    }

    type TelemetryStream = BoxStream<pb::TelemetryCommand>;

    async fn telemetry(
        &self,
        request: Request<Streaming<pb::TelemetryCommand>>,
    ) -> Result<Response<Self::TelemetryStream>, Status> {
        let Some(id) = client_id(&request) else {
            return Err(Status::invalid_argument("x-mq-client-id is required"));
        };
        let peer = request.remote_addr().map(|a| a.ip());
        let credentials = match self.guard {
            Some(_) => crate::auth::credentials(request.metadata()),
            None => Ok(None),
        };
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(64);
        let proxy = self.self_arc();
        tokio::spawn(async move {
            loop {
                let next = inbound.next().await;
                let command = match next {
                    Some(Ok(c)) => c,
                    Some(Err(e)) => {
                        tracing::debug!(client = %id, error = %e, "telemetry stream failed");
                        break;
                    }
                    None => break,
                };
                // A refused command is answered on the stream (ACL 2.0), which stays open, or
                // ends it (ACL 1.0), as Apache's proxy does.
                if let Err(r) = proxy.admit_command(peer, &credentials, &command) {
                    let (answer, stop) = match r {
                        Refusal::Unauthorized(m) => (
                            Ok(pb::TelemetryCommand {
                                status: Some(status(Code::Unauthorized, &m)),
                                command: None,
                            }),
                            false,
                        ),
                        Refusal::PermissionDenied(m) => (Err(Status::permission_denied(m)), true),
                    };
                    if tx.send(answer).await.is_err() || stop {
                        break;
                    }
                    continue;
                }
                match command.command {
                    Some(Command::Settings(settings)) => {
                        let answer = proxy.on_settings(&id, settings, &tx).await;
                        let stop = answer.is_err();
                        if tx.send(answer).await.is_err() || stop {
                            break;
                        }
                    }
                    // Answers to commands this proxy sent (crate::relay).
                    Some(Command::ThreadStackTrace(t)) => {
                        let stack = t.thread_stack_trace;
                        proxy
                            .sessions
                            .relay
                            .answer(&id, &t.nonce, command.status, stack);
                    }
                    Some(Command::VerifyMessageResult(v)) => {
                        proxy
                            .sessions
                            .relay
                            .answer(&id, &v.nonce, command.status, None);
                    }
                    Some(_) | None => {
                        let answer = pb::TelemetryCommand {
                            status: Some(status(
                                Code::BadRequest,
                                "telemetry command missing or not supported",
                            )),
                            command: None,
                        };
                        if tx.send(Ok(answer)).await.is_err() {
                            break;
                        }
                    }
                }
            }
            drop(tx);
            proxy.sessions.stream_closed(&id);
        });
        let out = tokio_stream::wrappers::ReceiverStream::new(rx);
        Ok(Response::new(out.boxed()))
    }

    async fn notify_client_termination(
        &self,
        request: Request<pb::NotifyClientTerminationRequest>,
    ) -> Result<Response<pb::NotifyClientTerminationResponse>, Status> {
        guard!(self, request, |s| pb::NotifyClientTerminationResponse {
            status: Some(s)
        });
        let status = match client_id(&request) {
            None => status(Code::ClientIdRequired, "client id cannot be empty"),
            Some(id) => {
                if let Some(settings) = self.sessions.remove(&id) {
                    self.unregister_consumer(&id, &settings).await;
                }
                self.clear_renewals(&id).await;
                ok()
            }
        };
        Ok(Response::new(pb::NotifyClientTerminationResponse {
            status: Some(status),
        }))
    }

    async fn change_invisible_duration(
        &self,
        request: Request<pb::ChangeInvisibleDurationRequest>,
    ) -> Result<Response<pb::ChangeInvisibleDurationResponse>, Status> {
        guard!(self, request, |s| pb::ChangeInvisibleDurationResponse {
            status: Some(s),
            ..Default::default()
        });
        Ok(Response::new(
            self.change_invisible(request.into_inner()).await,
        ))
    }

    async fn recall_message(
        &self,
        request: Request<pb::RecallMessageRequest>,
    ) -> Result<Response<pb::RecallMessageResponse>, Status> {
        guard!(self, request, |s| pb::RecallMessageResponse {
            status: Some(s),
            ..Default::default()
        });
        Ok(Response::new(self.recall(request.into_inner()).await))
    }

    async fn sync_lite_subscription(
        &self,
        request: Request<pb::SyncLiteSubscriptionRequest>,
    ) -> Result<Response<pb::SyncLiteSubscriptionResponse>, Status> {
        guard!(self, request, |s| pb::SyncLiteSubscriptionResponse {
            status: Some(s)
        });
        Ok(Response::new(pb::SyncLiteSubscriptionResponse {
            status: Some(status(
                Code::NotImplemented,
                "lite topics are not supported",
            )),
        }))
    }
}
