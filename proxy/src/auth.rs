//! Access control of the gRPC endpoint (docs/grpc.md, "ACL"), as Apache 5.3's proxy does it:
//! before an RPC runs, its credentials are read from the call's metadata (Apache's
//! `DefaultAuthenticationContextBuilder`) and the topics and groups it touches are derived from
//! the request (Apache's `DefaultAuthorizationContextBuilder` for ACL 2.0, the gRPC half of
//! `PlainAccessResource.parse` for ACL 1.0). The decision itself belongs to whoever holds the
//! users, accounts and ACLs: a [`Guard`]. In the broker (local mode) the broker implements it
//! with the same code that checks its remoting requests.
//!
//! Metadata the SDKs send:
//! - `authorization`: `MQv2-HMAC-SHA1 Credential=<AK>, SignedHeaders=x-mq-date-time,
//!   Signature=<hex>`;
//! - `x-mq-date-time`: the time of the call (`yyyyMMdd'T'HHmmss'Z'`); the signature is the
//!   HMAC-SHA1 of this value under the secret key.

use std::net::IpAddr;

use ferromq_protocol::acl::{SigningKey, ACCESS_KEY, SIGNATURE};
use ferromq_protocol::{RemotingCommand, RequestCode};
use tonic::metadata::MetadataMap;

use crate::pb;

/// What a call needs on a resource: any one of `actions` (Apache's ACL 2.0 actions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    /// The topic or group.
    pub resource: Resource,
    /// Actions, any one of which suffices.
    pub actions: &'static [Action],
}

/// A resource a call touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// A topic, by name.
    Topic(String),
    /// A consumer group, by name.
    Group(String),
}

/// ACL 2.0 actions a gRPC call can need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send.
    Pub,
    /// Consume.
    Sub,
    /// Read metadata (offsets).
    Get,
    /// Change metadata (offsets).
    Update,
}

/// The credentials a call carries.
#[derive(Clone, PartialEq, Eq)]
pub struct CallCredentials {
    /// The access key (ACL 2.0: the user name).
    pub access_key: String,
    /// The signature, decoded from hex (`None` when the header has no `Signature`).
    pub signature: Option<Vec<u8>>,
    /// What was signed: the `x-mq-date-time` value.
    pub content: Vec<u8>,
}

impl std::fmt::Debug for CallCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallCredentials")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

impl CallCredentials {
    /// Whether the signature is the HMAC-SHA1 of the content under `secret_key` (compared in
    /// constant time).
    pub fn signed_by(&self, secret_key: &str) -> bool {
        let expected = SigningKey::new(secret_key).mac(&self.content);
        self.signature
            .as_deref()
            .is_some_and(|s| ferromq_protocol::acl::constant_time_eq(&expected, s))
    }
}

/// One call to check.
#[derive(Debug)]
pub struct Call<'a> {
    /// The request's full protobuf name (`apache.rocketmq.v2.SendMessageRequest`): what Apache's
    /// `authenticationWhitelist` / `authorizationWhitelist` name for gRPC calls.
    pub rpc: &'a str,
    /// The client's address.
    pub peer: Option<IpAddr>,
    /// The credentials: `Ok(None)` without an `authorization` header; `Err` with Apache's
    /// message when the header is malformed.
    pub credentials: &'a Result<Option<CallCredentials>, String>,
    /// What the call touches; `Err` with Apache's message when the request lacks a name the
    /// check needs (`topic is null.`).
    pub wants: Result<Vec<Want>, String>,
}

/// Why a call was refused, and how Apache's proxy answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// ACL 2.0 (Apache 5.3): the RPC succeeds and its answer's `Status` is `UNAUTHORIZED`
    /// (40100) with the message, for authentication and authorization alike.
    Unauthorized(String),
    /// ACL 1.0 (Apache 5.0-5.3.2 with `enableACL`): the call fails with the gRPC status
    /// `PERMISSION_DENIED`.
    PermissionDenied(String),
}

/// Decides whether a gRPC call may run.
pub trait Guard: Send + Sync + std::fmt::Debug {
    /// `Ok` to let the call run.
    fn check(&self, call: &Call<'_>) -> Result<(), Refusal>;
}

/// Credentials the proxy signs its own remoting requests to brokers with (an `AccessKey` and the
/// `Signature` of the request, as a remoting client does).
#[derive(Clone)]
pub struct Signer {
    access_key: String,
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer with these credentials.
    pub fn new(access_key: &str, secret_key: &str) -> Signer {
        Signer {
            access_key: access_key.to_owned(),
            key: SigningKey::new(secret_key),
        }
    }

    /// The access key.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// Adds `AccessKey` and `Signature` to `request`.
    pub fn sign(&self, request: &mut RemotingCommand) {
        request.ext_fields.remove(SIGNATURE);
        request
            .ext_fields
            .insert(ACCESS_KEY, self.access_key.as_str());
        let s = self.key.sign(request);
        request.ext_fields.insert(SIGNATURE, s);
    }
}

/// Reads the call's credentials (Apache's `DefaultAuthenticationContextBuilder`, same messages).
pub fn credentials(metadata: &MetadataMap) -> Result<Option<CallCredentials>, String> {
    let text = |k: &str| metadata.get(k).and_then(|v| v.to_str().ok());
    let Some(authorization) = text("authorization").filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    let Some(datetime) = text("x-mq-date-time").filter(|d| !d.is_empty()) else {
        return Err("datetime is null.".to_owned());
    };
    let Some((_method, pairs)) = authorization.split_once(' ') else {
        return Err("authentication header is incorrect.".to_owned());
    };
    let mut access_key = None;
    let mut signature = None;
    for pair in pairs.split(',') {
        let Some((key, value)) = pair.trim().split_once('=') else {
            return Err(
                "authentication keyValues length is incorrect, actual length=1.".to_owned(),
            );
        };
        match key {
            "Credential" => access_key = value.split('/').next().map(str::to_owned),
            "Signature" => {
                signature = Some(
                    hex(value).ok_or_else(|| "create authentication context error.".to_owned())?,
                )
            }
            _ => {}
        }
    }
    Ok(Some(CallCredentials {
        access_key: access_key.unwrap_or_default(),
        signature,
        content: datetime.as_bytes().to_vec(),
    }))
}

/// Hex text to bytes (either case); `None` for anything else.
fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    text.as_bytes()
        .chunks(2)
        .map(|p| Some((digit(p[0])? << 4) | digit(p[1])?))
        .collect()
}

/// The remoting request code Apache's proxy files a gRPC call under in ACL 1.0 (its
/// `RequestMapping`; HEART_BEAT for the others), for the admin-code check and the refusal log.
pub fn remoting_code(rpc: &str) -> RequestCode {
    match rpc.strip_prefix("apache.rocketmq.v2.").unwrap_or(rpc) {
        "QueryRouteRequest" | "QueryAssignmentRequest" => RequestCode::GET_ROUTEINFO_BY_TOPIC,
        "SendMessageRequest" => RequestCode::SEND_MESSAGE_V2,
        "RecallMessageRequest" => RequestCode::RECALL_MESSAGE,
        "ReceiveMessageRequest" => RequestCode::PULL_MESSAGE,
        "AckMessageRequest" => RequestCode::UPDATE_CONSUMER_OFFSET,
        "ForwardMessageToDeadLetterQueueRequest" | "ChangeInvisibleDurationRequest" => {
            RequestCode::CONSUMER_SEND_MSG_BACK
        }
        "EndTransactionRequest" => RequestCode::END_TRANSACTION,
        "NotifyClientTerminationRequest" => RequestCode::UNREGISTER_CLIENT,
        _ => RequestCode::HEART_BEAT,
    }
}

const PUB: &[Action] = &[Action::Pub];
const SUB: &[Action] = &[Action::Sub];
const PUB_OR_SUB: &[Action] = &[Action::Pub, Action::Sub];
const SUB_OR_GET: &[Action] = &[Action::Sub, Action::Get];
const SUB_OR_UPDATE: &[Action] = &[Action::Sub, Action::Update];

fn named(r: &Option<pb::Resource>) -> Option<&str> {
    r.as_ref()
        .map(|r| r.name.as_str())
        .filter(|n| !n.is_empty())
}

fn topic(r: &Option<pb::Resource>, actions: &'static [Action]) -> Result<Want, String> {
    let name = named(r).ok_or("topic is null.")?;
    Ok(Want {
        resource: Resource::Topic(name.to_owned()),
        actions,
    })
}

fn group(r: &Option<pb::Resource>, actions: &'static [Action]) -> Result<Want, String> {
    let name = named(r).ok_or("group is null.")?;
    Ok(Want {
        resource: Resource::Group(name.to_owned()),
        actions,
    })
}

fn queue_topic(q: &Option<pb::MessageQueue>) -> &Option<pb::Resource> {
    static NONE: Option<pb::Resource> = None;
    q.as_ref().map_or(&NONE, |q| &q.topic)
}

/// What a request touches, per RPC (Apache's `DefaultAuthorizationContextBuilder`; the offset
/// calls, which Apache's proxy does not serve, as their remoting counterparts).
pub trait Wants {
    /// The request's full protobuf name.
    const RPC: &'static str;
    /// Its resources and actions.
    fn wants(&self) -> Result<Vec<Want>, String>;
}

macro_rules! wants {
    ($ty:ty, $name:literal, |$r:ident| $body:expr) => {
        impl Wants for $ty {
            const RPC: &'static str = concat!("apache.rocketmq.v2.", $name);
            fn wants(&self) -> Result<Vec<Want>, String> {
                let $r = self;
                $body
            }
        }
    };
}

wants!(pb::QueryRouteRequest, "QueryRouteRequest", |r| Ok(vec![
    topic(&r.topic, PUB_OR_SUB)?
]));
wants!(pb::HeartbeatRequest, "HeartbeatRequest", |r| {
    let consumer = [
        pb::ClientType::PushConsumer,
        pb::ClientType::SimpleConsumer,
        pb::ClientType::PullConsumer,
    ]
    .iter()
    .any(|t| r.client_type == *t as i32);
    if consumer {
        Ok(vec![group(&r.group, SUB)?])
    } else {
        Ok(Vec::new())
    }
});
wants!(pb::SendMessageRequest, "SendMessageRequest", |r| {
    let first = r.messages.first().ok_or("message is null.")?;
    Ok(vec![topic(&first.topic, PUB)?])
});
wants!(
    pb::QueryAssignmentRequest,
    "QueryAssignmentRequest",
    |r| Ok(vec![group(&r.group, SUB)?, topic(&r.topic, SUB)?])
);
wants!(pb::ReceiveMessageRequest, "ReceiveMessageRequest", |r| {
    let queue = r.message_queue.as_ref().ok_or("messageQueue is null.")?;
    Ok(vec![group(&r.group, SUB)?, topic(&queue.topic, SUB)?])
});
wants!(pb::AckMessageRequest, "AckMessageRequest", |r| Ok(vec![
    group(&r.group, SUB)?,
    topic(&r.topic, SUB)?
]));
wants!(
    pb::ForwardMessageToDeadLetterQueueRequest,
    "ForwardMessageToDeadLetterQueueRequest",
    |r| Ok(vec![group(&r.group, SUB)?, topic(&r.topic, SUB)?])
);
wants!(pb::EndTransactionRequest, "EndTransactionRequest", |r| Ok(
    vec![topic(&r.topic, PUB)?]
));
wants!(
    pb::NotifyClientTerminationRequest,
    "NotifyClientTerminationRequest",
    |r| match named(&r.group) {
        Some(_) => Ok(vec![group(&r.group, SUB)?]),
        None => Ok(Vec::new()),
    }
);
wants!(
    pb::ChangeInvisibleDurationRequest,
    "ChangeInvisibleDurationRequest",
    |r| Ok(vec![group(&r.group, SUB)?])
);
wants!(pb::PullMessageRequest, "PullMessageRequest", |r| Ok(vec![
    group(&r.group, SUB)?,
    topic(queue_topic(&r.message_queue), SUB)?
]));
wants!(pb::UpdateOffsetRequest, "UpdateOffsetRequest", |r| Ok(
    vec![
        group(&r.group, SUB_OR_UPDATE)?,
        topic(queue_topic(&r.message_queue), SUB_OR_UPDATE)?
    ]
));
wants!(pb::GetOffsetRequest, "GetOffsetRequest", |r| Ok(vec![
    group(&r.group, SUB_OR_GET)?,
    topic(queue_topic(&r.message_queue), SUB_OR_GET)?
]));
wants!(pb::QueryOffsetRequest, "QueryOffsetRequest", |r| Ok(vec![
    topic(queue_topic(&r.message_queue), SUB_OR_GET)?
]));
wants!(pb::RecallMessageRequest, "RecallMessageRequest", |r| Ok(
    vec![topic(&r.topic, PUB)?]
));
wants!(
    pb::SyncLiteSubscriptionRequest,
    "SyncLiteSubscriptionRequest",
    |_r| Ok(Vec::new())
);
wants!(pb::TelemetryCommand, "TelemetryCommand", |r| {
    use pb::settings::PubSub;
    use pb::telemetry_command::Command;
    let Some(Command::Settings(settings)) = &r.command else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    match &settings.pub_sub {
        Some(PubSub::Publishing(p)) => {
            for t in &p.topics {
                out.push(topic(&Some(t.clone()), PUB)?);
            }
        }
        Some(PubSub::Subscription(s)) => {
            out.push(group(&s.group, SUB)?);
            for e in &s.subscriptions {
                out.push(topic(&e.topic, SUB)?);
            }
        }
        None => return Err("settings command doesn't have publishing or subscription.".to_owned()),
    }
    Ok(out)
});

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pairs: &[(&'static str, &str)]) -> MetadataMap {
        let mut m = MetadataMap::new();
        for (k, v) in pairs {
            m.insert(*k, v.parse().expect("ascii"));
        }
        m
    }

    #[test]
    fn reads_the_sdk_authorization_header() {
        let key = SigningKey::new("secret-1");
        let sig: String = key
            .mac(b"20260102T030405Z")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let m = meta(&[
            (
                "authorization",
                &format!(
                    "MQv2-HMAC-SHA1 Credential=alice, SignedHeaders=x-mq-date-time, Signature={sig}"
                ),
            ),
            ("x-mq-date-time", "20260102T030405Z"),
        ]);
        let c = credentials(&m).expect("parses").expect("present");
        assert_eq!(c.access_key, "alice");
        assert!(c.signed_by("secret-1"));
        assert!(!c.signed_by("secret-2"));
        let upper = meta(&[
            (
                "authorization",
                &format!(
                    "MQv2-HMAC-SHA1 Credential=alice/x, Signature={}",
                    sig.to_uppercase()
                ),
            ),
            ("x-mq-date-time", "20260102T030405Z"),
        ]);
        assert!(credentials(&upper)
            .expect("parses")
            .expect("present")
            .signed_by("secret-1"));
        assert_eq!(credentials(&MetadataMap::new()), Ok(None));
        assert_eq!(
            credentials(&meta(&[("authorization", "MQv2-HMAC-SHA1 Credential=a")])),
            Err("datetime is null.".to_owned())
        );
        let bad = |a: &str| credentials(&meta(&[("authorization", a), ("x-mq-date-time", "t")]));
        assert_eq!(
            bad("MQv2-HMAC-SHA1"),
            Err("authentication header is incorrect.".to_owned())
        );
        assert!(bad("MQv2-HMAC-SHA1 Credential").is_err());
        assert_eq!(
            bad("MQv2-HMAC-SHA1 Credential=a, Signature=zz"),
            Err("create authentication context error.".to_owned())
        );
        let unsigned = bad("MQv2-HMAC-SHA1 Credential=a")
            .expect("parses")
            .expect("present");
        assert!(!unsigned.signed_by("anything"));
    }

    #[test]
    fn resources_per_rpc_as_apache() {
        let r = |n: &str| {
            Some(pb::Resource {
                resource_namespace: String::new(),
                name: n.to_owned(),
            })
        };
        let send = pb::SendMessageRequest {
            messages: vec![pb::Message {
                topic: r("T"),
                ..Default::default()
            }],
        };
        assert_eq!(
            send.wants(),
            Ok(vec![Want {
                resource: Resource::Topic("T".into()),
                actions: PUB
            }])
        );
        assert_eq!(
            pb::SendMessageRequest { messages: vec![] }.wants(),
            Err("message is null.".to_owned())
        );
        let receive = pb::ReceiveMessageRequest {
            group: r("g"),
            message_queue: Some(pb::MessageQueue {
                topic: r("T"),
                ..Default::default()
            }),
            ..Default::default()
        };
        let w = receive.wants().expect("ok");
        assert_eq!(w[0].resource, Resource::Group("g".into()));
        assert_eq!(w[1].resource, Resource::Topic("T".into()));
        assert_eq!(
            pb::ReceiveMessageRequest::default().wants(),
            Err("messageQueue is null.".to_owned())
        );
        let producer = pb::HeartbeatRequest {
            client_type: pb::ClientType::Producer as i32,
            group: None,
        };
        assert_eq!(producer.wants(), Ok(vec![]));
        let route = pb::QueryRouteRequest {
            topic: r(""),
            endpoints: None,
        };
        assert_eq!(route.wants(), Err("topic is null.".to_owned()));
        assert_eq!(
            <pb::SendMessageRequest as Wants>::RPC,
            "apache.rocketmq.v2.SendMessageRequest"
        );
    }
}
