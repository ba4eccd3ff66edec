//! What a request touches, per request code (Java `PlainAccessResource.parse`): topics it sends
//! to (PUB) or reads (SUB), and groups, as `%RETRY%<group>` with SUB.

use std::borrow::Cow;

use ferromq_protocol::body::HeartbeatData;
use ferromq_protocol::names::{retry_topic, RETRY_TOPIC_PREFIX};
use ferromq_protocol::{RemotingCommand, RequestCode};

use super::perm::Perm;

/// The resources of `req` with the permission each needs, in the order Apache adds them (a
/// resource named twice keeps the last permission). A body that cannot be read is an error, as
/// in Apache, where the parse failure becomes an `AclException`. Names are borrowed from the
/// request where they can be (this runs for every request).
pub(crate) fn resources<'a>(req: &'a RemotingCommand) -> Result<Vec<(Cow<'a, str>, Perm)>, String> {
    let mut out: Vec<(Cow<'a, str>, Perm)> = Vec::new();
    let mut add = |resource: Option<Cow<'a, str>>, perm: Perm| {
        let Some(resource) = resource else { return };
        match out.iter_mut().find(|(r, _)| *r == resource) {
            Some(entry) => entry.1 = perm,
            None => out.push((resource, perm)),
        }
    };
    let field =
        |name: &str| -> Option<Cow<'a, str>> { req.ext_fields.get(name).map(Cow::Borrowed) };
    let retry = |group: Option<Cow<'a, str>>| -> Option<Cow<'a, str>> {
        group.map(|g| Cow::Owned(retry_topic(&g)))
    };
    let send_perm = |topic: &Option<Cow<'a, str>>| match topic {
        Some(t) if t.starts_with(RETRY_TOPIC_PREFIX) => Perm::SUB,
        _ => Perm::PUB,
    };
    match req.request_code() {
        RequestCode::SEND_MESSAGE => {
            let topic = field("topic");
            let perm = send_perm(&topic);
            add(topic, perm);
        }
        RequestCode::SEND_MESSAGE_V2 | RequestCode::SEND_BATCH_MESSAGE => {
            let topic = field("b");
            let perm = send_perm(&topic);
            add(topic, perm);
        }
        RequestCode::RECALL_MESSAGE => add(field("topic"), Perm::PUB),
        RequestCode::CONSUMER_SEND_MSG_BACK => add(retry(field("group")), Perm::SUB),
        // Apache leaves LITE_PULL_MESSAGE unchecked; it reads the same queues as PULL_MESSAGE,
        // so FerroMQ checks it the same way.
        RequestCode::PULL_MESSAGE | RequestCode::LITE_PULL_MESSAGE => {
            add(field("topic"), Perm::SUB);
            add(retry(field("consumerGroup")), Perm::SUB);
        }
        RequestCode::QUERY_MESSAGE => add(field("topic"), Perm::SUB),
        // Apache's ACL 1.0 has no rule for POP (5.x checks it under ACL 2.0 only); FerroMQ
        // checks what a pull of the same group and topic needs. Acks and changes name a pop
        // retry topic for retried messages, so only their group is checked (docs/pop.md).
        RequestCode::POP_MESSAGE
        | RequestCode::PEEK_MESSAGE
        | RequestCode::NOTIFICATION
        | RequestCode::POLLING_INFO => {
            add(field("topic"), Perm::SUB);
            add(retry(field("consumerGroup")), Perm::SUB);
        }
        RequestCode::ACK_MESSAGE | RequestCode::CHANGE_MESSAGE_INVISIBLETIME => {
            add(retry(field("consumerGroup")), Perm::SUB)
        }
        RequestCode::BATCH_ACK_MESSAGE => {
            #[derive(serde::Deserialize)]
            struct Ack {
                #[serde(rename = "c", alias = "consumerGroup")]
                group: String,
            }
            #[derive(serde::Deserialize)]
            struct Body {
                #[serde(default)]
                acks: Vec<Ack>,
            }
            if !req.body.is_empty() {
                let body: Body = serde_json::from_slice(&req.body).map_err(|e| e.to_string())?;
                for ack in body.acks {
                    add(Some(Cow::Owned(retry_topic(&ack.group))), Perm::SUB);
                }
            }
        }
        RequestCode::HEART_BEAT => {
            let data = HeartbeatData::decode(&req.body).map_err(|e| e.to_string())?;
            for consumer in &data.consumer_data_set {
                add(
                    Some(Cow::Owned(retry_topic(&consumer.group_name))),
                    Perm::SUB,
                );
                for sub in &consumer.subscription_data_set {
                    add(Some(Cow::Owned(sub.topic.clone())), Perm::SUB);
                }
            }
        }
        RequestCode::UNREGISTER_CLIENT | RequestCode::GET_CONSUMER_LIST_BY_GROUP => {
            add(retry(field("consumerGroup")), Perm::SUB)
        }
        RequestCode::UPDATE_CONSUMER_OFFSET => {
            add(retry(field("consumerGroup")), Perm::SUB);
            add(field("topic"), Perm::SUB);
        }
        _ => {}
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources(req: &RemotingCommand) -> Result<Vec<(String, Perm)>, String> {
        super::resources(req).map(|v| v.into_iter().map(|(r, p)| (r.into_owned(), p)).collect())
    }

    fn req(code: RequestCode, fields: &[(&str, &str)]) -> RemotingCommand {
        let mut r = RemotingCommand::request(code);
        for (k, v) in fields {
            r.ext_fields.insert(*k, *v);
        }
        r
    }

    #[test]
    fn per_code() {
        let v2 = req(RequestCode::SEND_MESSAGE_V2, &[("b", "T")]);
        assert_eq!(resources(&v2).expect("ok"), [("T".to_owned(), Perm::PUB)]);
        let retry = req(RequestCode::SEND_MESSAGE, &[("topic", "%RETRY%g")]);
        assert_eq!(
            resources(&retry).expect("ok"),
            [("%RETRY%g".to_owned(), Perm::SUB)]
        );
        let back = req(RequestCode::CONSUMER_SEND_MSG_BACK, &[("group", "g")]);
        assert_eq!(
            resources(&back).expect("ok"),
            [("%RETRY%g".to_owned(), Perm::SUB)]
        );
        let pull = req(
            RequestCode::PULL_MESSAGE,
            &[("topic", "T"), ("consumerGroup", "g")],
        );
        assert_eq!(resources(&pull).expect("ok").len(), 2);
        let producer_unregister = req(RequestCode::UNREGISTER_CLIENT, &[("producerGroup", "p")]);
        assert!(resources(&producer_unregister).expect("ok").is_empty());
        let hb = req(RequestCode::HEART_BEAT, &[]).with_body(
            &br#"{"clientID":"c","consumerDataSet":[{"groupName":"g","subscriptionDataSet":[{"topic":"T","subString":"*"}]}],"producerDataSet":[]}"#[..],
        );
        assert_eq!(
            resources(&hb).expect("ok"),
            [
                ("%RETRY%g".to_owned(), Perm::SUB),
                ("T".to_owned(), Perm::SUB)
            ]
        );
        let pop = req(
            RequestCode::POP_MESSAGE,
            &[("topic", "T"), ("consumerGroup", "g")],
        );
        assert_eq!(
            resources(&pop).expect("ok"),
            [
                ("T".to_owned(), Perm::SUB),
                ("%RETRY%g".to_owned(), Perm::SUB)
            ]
        );
        let batch = req(RequestCode::BATCH_ACK_MESSAGE, &[])
            .with_body(&br#"{"acks":[{"c":"g1","t":"T"},{"c":"g2","t":"T"}]}"#[..]);
        assert_eq!(resources(&batch).expect("ok").len(), 2);
        let bad = req(RequestCode::HEART_BEAT, &[]).with_body(&b"{"[..]);
        assert!(resources(&bad).is_err());
    }
}
