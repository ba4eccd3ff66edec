//! MessageTrack: what each group that consumes a message's topic did with the message (Apache's
//! `DefaultMQAdminExtImpl.messageTrackDetail`), printed after the message view of
//! `queryMsgById`, `queryMsgByUniqueKey` and `queryMsgByOffset`.
//!
//! Per group of QUERY_TOPIC_CONSUME_BY_WHO (at the first broker of the topic's route): its
//! consumer connection (at a broker of its retry topic's route); no consumer online →
//! `NOT_ONLINE`; a pull consumer → `PULL`; a push consumer → `CONSUMED` when its committed
//! offset on the message's queue (at the broker that stored it) is past the message,
//! `CONSUMED_BUT_FILTERED` when, in addition, its subscription does not take the message's
//! tag, else `NOT_CONSUME_YET`; `CONSUME_BROADCASTING` for a broadcasting group without
//! offsets on the brokers; `UNKNOWN` (with the reason) when something could not be read.

use std::fmt::{self, Write as _};
use std::net::SocketAddr;

use ferromq_client::{Admin, Error, ErrorKind, MessageView};
use ferromq_protocol::body::{ConsumeType, ConsumerConnection, MessageModel, OffsetWrapper};
use ferromq_protocol::ResponseCode;

/// Apache's `TrackType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrackType {
    Consumed,
    ConsumedButFiltered,
    Pull,
    NotConsumeYet,
    NotOnline,
    ConsumeBroadcasting,
    Unknown,
}

impl TrackType {
    /// The Java constant's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            TrackType::Consumed => "CONSUMED",
            TrackType::ConsumedButFiltered => "CONSUMED_BUT_FILTERED",
            TrackType::Pull => "PULL",
            TrackType::NotConsumeYet => "NOT_CONSUME_YET",
            TrackType::NotOnline => "NOT_ONLINE",
            TrackType::ConsumeBroadcasting => "CONSUME_BROADCASTING",
            TrackType::Unknown => "UNKNOWN",
        }
    }
}

/// One group's track of a message (Apache's `MessageTrack`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MessageTrack {
    pub(crate) group: String,
    pub(crate) track_type: TrackType,
    /// Why the track is `NOT_ONLINE` or `UNKNOWN`, when known.
    pub(crate) exception_desc: Option<String>,
}

impl fmt::Display for MessageTrack {
    /// As Apache's `MessageTrack.toString`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MessageTrack [consumerGroup={}, trackType={}, exceptionDesc={}]",
            self.group,
            self.track_type.name(),
            self.exception_desc.as_deref().unwrap_or("null")
        )
    }
}

/// Why a step of a track failed, in the shape of the Java exception Apache catches.
enum Fault {
    /// A server's refusal, or a client-side check with a response code (`MQBrokerException`,
    /// `MQClientException` with a code): `CODE:<code> DESC:<message>`.
    Coded(i32, String),
    /// Anything else (no route, no connection, a timeout): its description.
    Other(String),
}

impl From<Error> for Fault {
    fn from(e: Error) -> Fault {
        match (e.kind(), e.response_code()) {
            (ErrorKind::Broker, Some(code)) => {
                Fault::Coded(code.0, e.remark().unwrap_or_default().to_owned())
            }
            _ => Fault::Other(e.to_string()),
        }
    }
}

/// The tracks of `m`, one per group consuming its topic, in the order Apache prints them.
pub(crate) async fn message_tracks(
    admin: &Admin,
    m: &MessageView,
) -> Result<Vec<MessageTrack>, Error> {
    let topic = m.ext().topic.as_str();
    let route = admin.topic_route(topic).await?;
    let Some(addr) = route.broker_datas.iter().find_map(|b| b.select_addr(0)) else {
        return Err(Error::invalid(
            "message track",
            format!("no broker serves topic {topic}"),
        ));
    };
    let groups: Vec<String> = admin
        .topic_consumer_groups(addr, topic)
        .await?
        .into_iter()
        .collect();
    let mut tracks = Vec::new();
    for group in crate::java::set_order(&groups) {
        tracks.push(track(admin, m, group).await);
    }
    Ok(tracks)
}

/// Writes `tracks` after a message view as Apache does: a blank line, then each track followed
/// by `separator` (`"\n"` for `queryMsgById`, nothing for `queryMsgByUniqueKey`), or
/// `WARN: No Consumer` (without a line end) when no group consumes the topic. A failure to
/// read them is reported on stderr (Apache prints its stack trace) and adds nothing.
pub(crate) fn write_tracks(
    out: &mut String,
    tracks: Result<Vec<MessageTrack>, Error>,
    separator: &str,
) {
    match tracks {
        Ok(tracks) if tracks.is_empty() => out.push_str("\n\nWARN: No Consumer"),
        Ok(tracks) => {
            out.push_str("\n\n");
            for t in &tracks {
                let _ = write!(out, "{t}{separator}");
            }
        }
        Err(e) => eprintln!("mqadmin: cannot read the message's tracks: {e}"),
    }
}

/// One group's track.
async fn track(admin: &Admin, m: &MessageView, group: &str) -> MessageTrack {
    let mut mt = MessageTrack {
        group: group.to_owned(),
        track_type: TrackType::Unknown,
        exception_desc: None,
    };
    let (addrs, cc) = match connection(admin, group).await {
        Ok(found) => found,
        // Apache: a refusal is described by its code; NOT_ONLINE for CONSUMER_NOT_ONLINE.
        Err(Fault::Coded(code, desc)) => {
            if code == ResponseCode::CONSUMER_NOT_ONLINE.0 {
                mt.track_type = TrackType::NotOnline;
            }
            mt.exception_desc = Some(format!("CODE:{code} DESC:{desc}"));
            return mt;
        }
        Err(Fault::Other(desc)) => {
            mt.exception_desc = Some(desc);
            return mt;
        }
    };
    match cc.consume_type {
        Some(ConsumeType::ConsumeActively) => mt.track_type = TrackType::Pull,
        Some(ConsumeType::ConsumePassively) => match consumed(admin, m, group, &addrs, &cc).await {
            Ok(true) => {
                let tag = m.tag();
                let filtered = cc
                    .subscription_table
                    .iter()
                    .filter(|(t, _)| *t == &m.ext().topic)
                    .any(|(_, sub)| {
                        let takes = sub.tags_set.is_empty()
                            || sub
                                .tags_set
                                .iter()
                                .any(|s| s == "*" || Some(s.as_str()) == tag);
                        !takes
                    });
                mt.track_type = if filtered {
                    TrackType::ConsumedButFiltered
                } else {
                    TrackType::Consumed
                };
            }
            Ok(false) => mt.track_type = TrackType::NotConsumeYet,
            // As Apache: only these two codes say more than UNKNOWN.
            Err(Fault::Coded(code, desc)) => {
                if code == ResponseCode::CONSUMER_NOT_ONLINE.0 {
                    mt.track_type = TrackType::NotOnline;
                    mt.exception_desc = Some(format!("CODE:{code} DESC:{desc}"));
                } else if code == ResponseCode::BROADCAST_CONSUMPTION.0 {
                    mt.track_type = TrackType::ConsumeBroadcasting;
                }
            }
            Err(Fault::Other(desc)) => mt.exception_desc = Some(desc),
        },
        _ => {}
    }
    mt
}

/// The brokers of the group's retry topic, and the group's consumer connection at the first
/// of them (Apache's `examineConsumerConnectionInfo`); no consumer connected is a fault.
async fn connection(
    admin: &Admin,
    group: &str,
) -> Result<(Vec<String>, ConsumerConnection), Fault> {
    let retry = format!("%RETRY%{group}");
    let route = admin.topic_route(&retry).await.map_err(route_fault)?;
    let addrs: Vec<String> = route
        .broker_datas
        .iter()
        .filter_map(|b| b.select_addr(0).map(str::to_owned))
        .collect();
    let Some(addr) = addrs.first() else {
        return Err(Fault::Other(format!("no broker serves topic {retry}")));
    };
    let cc = admin.consumer_connection_at(addr, group).await?;
    if cc.connection_set.is_empty() {
        return Err(Fault::Other(format!(
            "{CLIENT_EXCEPTION}: {}",
            java_client_message(
                ResponseCode::CONSUMER_NOT_ONLINE.0,
                "Not found the consumer group connection"
            )
        )));
    }
    Ok((addrs, cc))
}

/// The Java class Apache names in a client-side failure's description.
const CLIENT_EXCEPTION: &str = "org.apache.rocketmq.client.exception.MQClientException";

/// Where Apache 5.3.3's client throws a route lookup's refusal: the first stack frame that
/// Apache's `UtilAll.exceptionSimpleDesc` appends to the exception, kept so that the
/// description reads as Apache's does.
const ROUTE_FRAME: &str = "org.apache.rocketmq.client.impl.MQClientAPIImpl.\
                           getTopicRouteInfoFromNameServer(MQClientAPIImpl.java:1998)";

/// The message of a Java `MQClientException(code, message)`: `CODE: <code>  DESC: <message>`,
/// with Apache's FAQ pointer unless the message already has one (`FAQUrl.attachDefaultURL`).
fn java_client_message(code: i32, message: &str) -> String {
    let text = format!("CODE: {code}  DESC: {message}");
    if text.contains("\nSee ") {
        text
    } else {
        format!(
            "{text}\nFor more information, please visit the url, \
             https://rocketmq.apache.org/docs/bestPractice/06FAQ"
        )
    }
}

/// A failed route lookup of a group's retry topic, described as Apache describes the
/// `MQClientException` its client throws when the name server refuses (no such topic).
fn route_fault(e: Error) -> Fault {
    match e.response_code() {
        Some(code) => Fault::Other(format!(
            "{CLIENT_EXCEPTION}: {}, {ROUTE_FRAME}",
            java_client_message(code.0, e.remark().unwrap_or_default())
        )),
        None => Fault::from(e),
    }
}

/// Whether the group's committed offset on the message's queue, at the broker that stored it,
/// is past the message (Apache's `consumed`), from the group's consume stats at `addrs`.
async fn consumed(
    admin: &Admin,
    m: &MessageView,
    group: &str,
    addrs: &[String],
    cc: &ConsumerConnection,
) -> Result<bool, Fault> {
    let mut offsets: Vec<(ferromq_protocol::body::MessageQueue, OffsetWrapper)> = Vec::new();
    for addr in addrs {
        let stats = admin.consume_stats_at(addr, group, None).await?;
        offsets.extend(stats.offset_table);
    }
    if offsets.is_empty() {
        // Apache then asks for the connection again; `cc` was read a moment ago.
        if cc.message_model == Some(MessageModel::Broadcasting) {
            return Err(Fault::Coded(
                ResponseCode::BROADCAST_CONSUMPTION.0,
                "Not found the consumer group consume stats, because return offset table is \
                 empty, the consumer is under the broadcast mode"
                    .to_owned(),
            ));
        }
        return Ok(false);
    }
    let info = admin.cluster_info().await?;
    let e = m.ext();
    Ok(offsets.iter().any(|(mq, ow)| {
        mq.topic == e.topic
            && mq.queue_id == e.queue_id
            && info
                .broker_addr_table
                .get(&mq.broker_name)
                .and_then(|b| b.master_addr())
                .is_some_and(|master| same_host(master, e.store_host))
            && ow.consumer_offset > e.queue_offset
    }))
}

/// Whether the broker address `addr` (`host:port`) is `store_host`.
fn same_host(addr: &str, store_host: SocketAddr) -> bool {
    match addr.parse::<SocketAddr>() {
        Ok(a) => a == store_host,
        Err(_) => addr == store_host.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_print_as_apaches_to_string() {
        let t = MessageTrack {
            group: "g".to_owned(),
            track_type: TrackType::NotOnline,
            exception_desc: Some("CODE:206 DESC:the consumer group[g] not online".to_owned()),
        };
        assert_eq!(
            t.to_string(),
            "MessageTrack [consumerGroup=g, trackType=NOT_ONLINE, \
             exceptionDesc=CODE:206 DESC:the consumer group[g] not online]"
        );
        let mut out = String::new();
        let consumed = MessageTrack {
            track_type: TrackType::Consumed,
            exception_desc: None,
            ..t.clone()
        };
        write_tracks(&mut out, Ok(vec![consumed.clone(), consumed]), "");
        assert_eq!(
            out,
            "\n\nMessageTrack [consumerGroup=g, trackType=CONSUMED, exceptionDesc=null]\
             MessageTrack [consumerGroup=g, trackType=CONSUMED, exceptionDesc=null]"
        );
        let mut out = String::new();
        write_tracks(&mut out, Ok(Vec::new()), "\n");
        assert_eq!(out, "\n\nWARN: No Consumer");
    }

    #[test]
    fn client_failures_read_as_javas() {
        assert_eq!(
            java_client_message(17, "No route\nSee https://x for further details."),
            "CODE: 17  DESC: No route\nSee https://x for further details."
        );
        assert_eq!(
            java_client_message(206, "gone"),
            "CODE: 206  DESC: gone\nFor more information, please visit the url, \
             https://rocketmq.apache.org/docs/bestPractice/06FAQ"
        );
    }

    #[test]
    fn store_hosts_match_broker_addresses() {
        let host: SocketAddr = "127.0.0.1:10911".parse().expect("addr");
        assert!(same_host("127.0.0.1:10911", host));
        assert!(!same_host("127.0.0.1:10912", host));
    }
}
