//! Pieces shared by the broker's socket tests: a transactional producer that commits on
//! check-back, and the requests it sends.
#![allow(dead_code, unreachable_pub)]

use std::sync::Mutex;

use bytes::Bytes;
use ferromq_protocol::body::{ConsumerData, HeartbeatData, ProducerData, SubscriptionData};
use ferromq_protocol::header::send::SendMessageRequestHeaderV2;
use ferromq_protocol::header::transaction::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader,
};
use ferromq_protocol::message::{decode_all, property, DecodeOptions, Properties};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode};
use ferromq_remoting::{Connection, Handler};

/// A producer of `group` that answers every check-back with COMMIT, as a real transaction
/// checker would, and records `topic:body` of each message it was asked about.
#[derive(Debug)]
pub struct CommitOnCheck {
    pub group: String,
    pub checked: Mutex<Vec<String>>,
}

impl CommitOnCheck {
    pub fn new(group: &str) -> CommitOnCheck {
        CommitOnCheck {
            group: group.to_owned(),
            checked: Mutex::default(),
        }
    }

    pub fn checked(&self) -> Vec<String> {
        self.checked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Handler for CommitOnCheck {
    async fn handle(&self, conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        if req.request_code() != RequestCode::CHECK_TRANSACTION_STATE {
            return None;
        }
        let h = CheckTransactionStateRequestHeader::read_ext(&req.ext_fields).ok()?;
        let m = decode_all(&req.body, &DecodeOptions::client())
            .ok()?
            .pop()?;
        self.checked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("{}:{}", m.topic, String::from_utf8_lossy(&m.body)));
        let end = EndTransactionRequestHeader {
            producer_group: self.group.clone(),
            tran_state_table_offset: h.tran_state_table_offset,
            commit_log_offset: h.commit_log_offset,
            commit_or_rollback: 8,
            from_transaction_check: Some(true),
            msg_id: h.msg_id.unwrap_or_default(),
            ..Default::default()
        };
        let _ = conn
            .request_oneway(RemotingCommand::request_with_header(
                RequestCode::END_TRANSACTION,
                &end,
            ))
            .await;
        None
    }
}

/// A prepared (half) message of producer `group` to `topic` queue 0, `UNIQ_KEY` `UNIQ-<body>`.
pub fn half_request(group: &str, topic: &str, body: &str) -> RemotingCommand {
    let mut props = Properties::new();
    props.insert(property::TRANSACTION_PREPARED, "true");
    props.insert(property::PRODUCER_GROUP, group);
    props.insert(
        property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        format!("UNIQ-{body}"),
    );
    let h = SendMessageRequestHeaderV2 {
        producer_group: group.into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 1,
        queue_id: 0,
        sys_flag: 0x4,
        properties: Some(props.encode()),
        ..Default::default()
    };
    RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &h)
        .with_body(Bytes::from(body.to_owned()))
}

/// A heartbeat of producer `group` and of consumer `consumer_group` subscribed to `topic`.
pub fn heartbeat(group: &str, consumer_group: &str, topic: &str) -> RemotingCommand {
    let hb = HeartbeatData {
        client_id: format!("127.0.0.1@{group}"),
        producer_data_set: vec![ProducerData {
            group_name: group.into(),
        }],
        consumer_data_set: vec![ConsumerData {
            group_name: consumer_group.into(),
            subscription_data_set: vec![SubscriptionData::tag(topic, "*", 1)],
            ..Default::default()
        }],
        ..Default::default()
    };
    RemotingCommand::request(RequestCode::HEART_BEAT).with_body(hb.encode())
}
