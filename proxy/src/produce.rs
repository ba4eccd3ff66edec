//! QueryRoute, SendMessage and EndTransaction.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use ferromq_protocol::body::route::{BrokerData, QueueData};
use ferromq_protocol::header::send::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use ferromq_protocol::header::transaction::{transaction_type, EndTransactionRequestHeader};
use ferromq_protocol::message::sysflag::TRANSACTION_PREPARED_TYPE;
use ferromq_protocol::message::MessageId;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::backend::TopicMessageType;
use crate::config::Mode;
use crate::convert::{self, build_properties, consistent_hash, java_hash, validate_name};
use crate::pb::{self, Code, MessageType, Permission};
use crate::sessions::Transaction;
use crate::status::{code_of, ok, status, ProxyError, ProxyResult};
use crate::{now_ms, Proxy};

const PERM_WRITE: i32 = 1 << 1;
const PERM_READ: i32 = 1 << 2;

/// The types a topic of `t` accepts (Apache's `parseTopicMessageType`).
pub(crate) fn accepted(t: TopicMessageType) -> Vec<i32> {
    let one = |m: MessageType| vec![m as i32];
    match t {
        TopicMessageType::Normal => one(MessageType::Normal),
        TopicMessageType::Fifo => one(MessageType::Fifo),
        TopicMessageType::Delay => one(MessageType::Delay),
        TopicMessageType::Transaction => one(MessageType::Transaction),
        TopicMessageType::Mixed => vec![
            MessageType::Normal as i32,
            MessageType::Fifo as i32,
            MessageType::Delay as i32,
            MessageType::Transaction as i32,
        ],
        TopicMessageType::Unspecified => one(MessageType::Unspecified),
    }
}

fn resource(name: &str) -> Option<pb::Resource> {
    Some(pb::Resource {
        resource_namespace: String::new(),
        name: name.to_owned(),
    })
}

/// A writable queue of a topic, as the proxy sends to it.
#[derive(Debug, Clone)]
pub(crate) struct WriteQueue {
    broker_name: String,
    addr: String,
    queue_id: i32,
}

impl Proxy {
    /// The endpoints a client reaches `broker` through (Apache's Cluster/LocalTopicRouteService).
    pub(crate) fn broker_endpoints(
        &self,
        broker: &BrokerData,
        requested: Option<&pb::Endpoints>,
    ) -> Option<pb::Endpoints> {
        match self.mode {
            Mode::Cluster => requested.cloned(),
            Mode::Local => {
                let addr = broker.master_addr()?;
                let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr);
                let scheme = if host.parse::<std::net::Ipv4Addr>().is_ok() {
                    pb::AddressScheme::IPv4
                } else if host.parse::<std::net::Ipv6Addr>().is_ok() {
                    pb::AddressScheme::IPv6
                } else {
                    pb::AddressScheme::DomainName
                };
                Some(pb::Endpoints {
                    scheme: scheme as i32,
                    addresses: vec![pb::Address {
                        host: host.to_owned(),
                        port: i32::from(self.config.grpc_server_port),
                    }],
                })
            }
        }
    }

    pub(crate) fn broker_of(
        &self,
        broker: &BrokerData,
        requested: Option<&pb::Endpoints>,
    ) -> pb::Broker {
        pb::Broker {
            name: broker.broker_name.clone(),
            id: 0,
            endpoints: self.broker_endpoints(broker, requested),
        }
    }

    pub(crate) async fn route(&self, request: pb::QueryRouteRequest) -> pb::QueryRouteResponse {
        match self.try_route(&request).await {
            Ok(queues) => pb::QueryRouteResponse {
                status: Some(ok()),
                message_queues: queues,
            },
            Err(e) => pb::QueryRouteResponse {
                status: Some(e.status()),
                message_queues: Vec::new(),
            },
        }
    }

    async fn try_route(
        &self,
        request: &pb::QueryRouteRequest,
    ) -> ProxyResult<Vec<pb::MessageQueue>> {
        let topic = request
            .topic
            .as_ref()
            .map(|t| t.name.as_str())
            .unwrap_or_default();
        validate_name(topic, "topic", Code::IllegalTopic)?;
        if self.mode == Mode::Cluster
            && request
                .endpoints
                .as_ref()
                .is_none_or(|e| e.addresses.is_empty())
        {
            return Err(ProxyError::new(
                Code::IllegalAccessPoint,
                "endpoints of the request are empty",
            ));
        }
        let route = self.backend.route(topic).await?;
        let kind = self.backend.topic_message_type(topic).await?;
        let types = accepted(kind);
        let mut out = Vec::new();
        for qd in &route.queue_datas {
            let Some(broker) = route.broker(&qd.broker_name) else {
                continue;
            };
            let broker = self.broker_of(broker, request.endpoints.as_ref());
            out.extend(queues_of(qd, topic, &broker, &types));
        }
        Ok(out)
    }

    async fn write_queues(&self, topic: &str) -> ProxyResult<Vec<WriteQueue>> {
        let route = self.backend.route(topic).await?;
        let mut datas: Vec<&QueueData> = route.queue_datas.iter().collect();
        datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        let mut out = Vec::new();
        for qd in datas {
            if qd.perm & PERM_WRITE == 0 {
                continue;
            }
            let Some(addr) = route.broker(&qd.broker_name).and_then(|b| b.master_addr()) else {
                continue;
            };
            for queue_id in 0..qd.write_queue_nums {
                out.push(WriteQueue {
                    broker_name: qd.broker_name.clone(),
                    addr: addr.to_owned(),
                    queue_id,
                });
            }
        }
        if out.is_empty() {
            return Err(ProxyError::new(
                Code::Forbidden,
                format!("topic {topic} has no writable queue"),
            ));
        }
        Ok(out)
    }

    pub(crate) async fn send(
        &self,
        request: pb::SendMessageRequest,
        peer: Option<&str>,
    ) -> pb::SendMessageResponse {
        match self.try_send(&request, peer).await {
            Ok(entries) => {
                let codes: HashSet<i32> = entries
                    .iter()
                    .map(|e| e.status.as_ref().map_or(0, |s| s.code))
                    .collect();
                let status = if codes.len() > 1 {
                    status(Code::MultipleResults, "MULTIPLE_RESULTS")
                } else {
                    entries
                        .first()
                        .and_then(|e| e.status.clone())
                        .map(|s| {
                            let code = Code::try_from(s.code).unwrap_or(Code::InternalServerError);
                            status(code, code.as_str_name())
                        })
                        .unwrap_or_else(|| {
                            status(Code::InternalServerError, "send status is empty")
                        })
                };
                pb::SendMessageResponse {
                    status: Some(status),
                    entries,
                }
            }
            Err(e) => pb::SendMessageResponse {
                status: Some(e.status()),
                entries: Vec::new(),
            },
        }
    }

    async fn try_send(
        &self,
        request: &pb::SendMessageRequest,
        peer: Option<&str>,
    ) -> ProxyResult<Vec<pb::SendResultEntry>> {
        let Some(first) = request.messages.first() else {
            return Err(ProxyError::new(
                Code::MessageCorrupted,
                "no message to send",
            ));
        };
        let topic = first
            .topic
            .as_ref()
            .map(|t| t.name.clone())
            .unwrap_or_default();
        validate_name(&topic, "topic", Code::IllegalTopic)?;
        if request
            .messages
            .iter()
            .any(|m| m.topic.as_ref().map(|t| t.name.as_str()) != Some(topic.as_str()))
        {
            return Err(ProxyError::new(
                Code::MessageCorrupted,
                "topic in message is not same",
            ));
        }
        let now = now_ms();
        let mut built = Vec::with_capacity(request.messages.len());
        for m in &request.messages {
            built.push(build_properties(m, &topic, peer, &self.config, now)?);
        }
        let sys = first.system_properties.clone().unwrap_or_default();
        let kind = MessageType::try_from(sys.message_type).map_err(|_| {
            ProxyError::bad_request(format!("unknown message type {}", sys.message_type))
        })?;
        if self.config.enable_topic_message_type_check {
            let topic_type = self.backend.topic_message_type(&topic).await?;
            let fits = match topic_type {
                TopicMessageType::Unspecified | TopicMessageType::Mixed => true,
                t => accepted(t).contains(&(kind as i32)) || kind == MessageType::Unspecified,
            };
            if !fits {
                return Err(ProxyError::new(
                    Code::MessagePropertyConflictWithType,
                    format!(
                        "topic message type not match, topic {topic} accepts {topic_type:?}, message is {}",
                        kind.as_str_name()
                    ),
                ));
            }
        }
        let queues = self.write_queues(&topic).await?;
        let group = sys
            .message_group
            .clone()
            .filter(|g| !g.is_empty() && request.messages.len() == 1);
        let queue = match group {
            Some(g) => queues[consistent_hash(i64::from(java_hash(&g)), queues.len())].clone(),
            None => {
                // Round robin over the brokers that answered; all of them when none did.
                let live: Vec<&WriteQueue> = queues
                    .iter()
                    .filter(|q| self.backend.reachable(&q.broker_name))
                    .collect();
                let i = self.round_robin.fetch_add(1, Ordering::Relaxed);
                if live.is_empty() {
                    queues[i % queues.len()].clone()
                } else {
                    live[i % live.len()].clone()
                }
            }
        };
        let mut entries = Vec::with_capacity(built.len());
        for (m, props) in request.messages.iter().zip(built) {
            entries.push(self.send_one(&topic, m, props, &queue).await);
        }
        Ok(entries)
    }

    async fn send_one(
        &self,
        topic: &str,
        message: &pb::Message,
        props: ferromq_protocol::message::Properties,
        queue: &WriteQueue,
    ) -> pb::SendResultEntry {
        let sys = message.system_properties.clone().unwrap_or_default();
        let mut sys_flag = 0;
        if sys.body_encoding == pb::Encoding::Gzip as i32 {
            sys_flag |= convert::COMPRESSED_FLAG;
        }
        let transactional = sys.message_type == MessageType::Transaction as i32;
        if transactional {
            sys_flag |= TRANSACTION_PREPARED_TYPE;
        }
        let header = SendMessageRequestHeaderV2 {
            producer_group: topic.to_owned(),
            topic: topic.to_owned(),
            default_topic: "TBW102".to_owned(),
            default_topic_queue_nums: 4,
            queue_id: queue.queue_id,
            sys_flag,
            born_timestamp: sys
                .born_timestamp
                .as_ref()
                .map_or_else(now_ms, convert::ts_millis),
            flag: 0,
            properties: Some(props.encode()),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            max_reconsume_times: None,
            batch: Some(false),
            broker_name: Some(queue.broker_name.clone()),
        };
        let request = RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &header)
            .with_body(message.body.clone());
        let failed = |e: ProxyError| pb::SendResultEntry {
            status: Some(e.status()),
            ..Default::default()
        };
        let response = match self
            .backend
            .request(&queue.addr, request, self.backend.timeout())
            .await
        {
            Ok(r) => r,
            Err(e) => {
                self.backend.broker_unreachable(&queue.broker_name);
                return failed(e);
            }
        };
        let code = response.response_code();
        if code != ResponseCode::SUCCESS {
            let mut e = ProxyError::from_response(&response);
            if matches!(
                code,
                ResponseCode::FLUSH_DISK_TIMEOUT
                    | ResponseCode::FLUSH_SLAVE_TIMEOUT
                    | ResponseCode::SLAVE_NOT_AVAILABLE
            ) {
                e = ProxyError::new(
                    code_of(code),
                    format!("send message failed, sendStatus={code:?}"),
                );
            }
            return failed(e);
        }
        let header: SendMessageResponseHeader = match response.header() {
            Ok(h) => h,
            Err(e) => return failed(ProxyError::new(Code::InternalServerError, e.to_string())),
        };
        let transaction_id = header
            .transaction_id
            .clone()
            .unwrap_or_else(|| sys.message_id.clone());
        if transactional {
            let commit_log_offset = MessageId::parse(&header.msg_id)
                .map(|m| m.offset)
                .unwrap_or(-1);
            self.sessions.add_transaction(
                topic,
                &transaction_id,
                Transaction::new(
                    queue.addr.clone(),
                    queue.broker_name.clone(),
                    header.queue_offset,
                    commit_log_offset,
                    sys.message_id.clone(),
                ),
            );
        }
        pb::SendResultEntry {
            status: Some(ok()),
            message_id: sys.message_id,
            transaction_id,
            offset: header.queue_offset,
            recall_handle: header.recall_handle.unwrap_or_default(),
        }
    }

    pub(crate) async fn end_transaction(
        &self,
        request: pb::EndTransactionRequest,
    ) -> pb::EndTransactionResponse {
        let status = match self.try_end_transaction(&request).await {
            Ok(()) => ok(),
            Err(e) => e.status(),
        };
        pb::EndTransactionResponse {
            status: Some(status),
        }
    }

    async fn try_end_transaction(&self, request: &pb::EndTransactionRequest) -> ProxyResult<()> {
        let topic = request
            .topic
            .as_ref()
            .map(|t| t.name.as_str())
            .unwrap_or_default();
        validate_name(topic, "topic", Code::IllegalTopic)?;
        if request.transaction_id.is_empty() {
            return Err(ProxyError::new(
                Code::InvalidTransactionId,
                "transaction id cannot be empty",
            ));
        }
        let resolution = match pb::TransactionResolution::try_from(request.resolution) {
            Ok(pb::TransactionResolution::Commit) => transaction_type::COMMIT,
            Ok(pb::TransactionResolution::Rollback) => transaction_type::ROLLBACK,
            _ => {
                return Err(ProxyError::bad_request(format!(
                    "unknown transaction resolution {}",
                    request.resolution
                )))
            }
        };
        let from_check = request.source == pb::TransactionSource::SourceServerCheck as i32;
        let Some(t) = self
            .sessions
            .take_transaction(topic, &request.transaction_id)
        else {
            return Err(ProxyError::new(
                Code::InvalidTransactionId,
                format!("cannot find transaction data of {}", request.transaction_id),
            ));
        };
        let header = EndTransactionRequestHeader {
            topic: Some(topic.to_owned()),
            producer_group: topic.to_owned(),
            tran_state_table_offset: t.tran_state_table_offset,
            commit_log_offset: t.commit_log_offset,
            commit_or_rollback: resolution,
            from_transaction_check: Some(from_check),
            msg_id: if request.message_id.is_empty() {
                t.msg_id.clone()
            } else {
                request.message_id.clone()
            },
            transaction_id: Some(request.transaction_id.clone()),
            broker_name: Some(t.broker_name.clone()).filter(|b| !b.is_empty()),
        };
        let command = RemotingCommand::request_with_header(RequestCode::END_TRANSACTION, &header);
        self.backend.oneway(&t.broker_addr, command).await
    }
}

/// The message queues of one queue data (Apache's `genMessageQueueFromQueueData`).
fn queues_of(
    qd: &QueueData,
    topic: &str,
    broker: &pb::Broker,
    types: &[i32],
) -> Vec<pb::MessageQueue> {
    let (read, write) = (qd.perm & PERM_READ != 0, qd.perm & PERM_WRITE != 0);
    let (mut r, mut w, mut rw, mut n) = (0, 0, 0, 0);
    if read && write {
        rw = qd.write_queue_nums.min(qd.read_queue_nums);
        r = qd.read_queue_nums - rw;
        w = qd.write_queue_nums - rw;
    } else if write {
        w = qd.write_queue_nums;
    } else if read {
        r = qd.read_queue_nums;
    } else {
        n = 1.max(qd.write_queue_nums.max(qd.read_queue_nums));
    }
    let mut out = Vec::new();
    let mut id = 0;
    for (count, perm) in [
        (r, Permission::Read),
        (w, Permission::Write),
        (rw, Permission::ReadWrite),
        (n, Permission::None),
    ] {
        for _ in 0..count {
            out.push(pb::MessageQueue {
                topic: resource(topic),
                id,
                permission: perm as i32,
                broker: Some(broker.clone()),
                accept_message_types: types.to_vec(),
            });
            id += 1;
        }
    }
    out
}
