//! What each request asks for under ACL 2.0: resources and the actions on them, as Apache's
//! `DefaultAuthorizationContextBuilder` derives them (its explicit cases, then the
//! `@RocketMQAction` / `@RocketMQResource` annotations of the request headers). A request code
//! with no entry asks for nothing and is not checked, as in Apache; FerroMQ adds the admin writes
//! Apache leaves out (module docs of [`super`]).

use ferromq_protocol::body::{HeartbeatData, LockBatchRequestBody, UnlockBatchRequestBody};
use ferromq_protocol::names::RETRY_TOPIC_PREFIX;
use ferromq_protocol::{RemotingCommand, RequestCode};
use ferromq_store::configs::subscription_groups::SubscriptionGroupConfig;

use super::model::{Action, Resource, ResourceType};

/// One thing a request does: `actions` (any one of them suffices) on `resource`.
pub(crate) type Want = (Resource, Vec<Action>);

const PUB: Action = Action::Pub;
const SUB: Action = Action::Sub;
const GET: Action = Action::Get;
const UPDATE: Action = Action::Update;

use ResourceType::{Cluster, Group, Topic};

/// Header fields naming resources, per code (the annotated headers), and whether the code's
/// resource is the broker's cluster when no field is set.
struct Rule {
    actions: &'static [Action],
    cluster: bool,
    fields: &'static [(ResourceType, &'static str, Option<char>)],
}

const fn rule(
    actions: &'static [Action],
    cluster: bool,
    fields: &'static [(ResourceType, &'static str, Option<char>)],
) -> Rule {
    Rule {
        actions,
        cluster,
        fields,
    }
}

fn annotated(code: RequestCode) -> Option<Rule> {
    use RequestCode as C;
    const TG: &[(ResourceType, &str, Option<char>)] =
        &[(Topic, "topic", None), (Group, "consumerGroup", None)];
    const T: &[(ResourceType, &str, Option<char>)] = &[(Topic, "topic", None)];
    const NONE: &[(ResourceType, &str, Option<char>)] = &[];
    Some(match code {
        C::ACK_MESSAGE
        | C::CHANGE_MESSAGE_INVISIBLETIME
        | C::NOTIFICATION
        | C::PEEK_MESSAGE
        | C::POP_MESSAGE => rule(&[SUB], false, TG),
        C::CONSUME_MESSAGE_DIRECTLY => rule(&[SUB], false, TG),
        C::CHECK_TRANSACTION_STATE => rule(&[PUB], false, T),
        C::CLONE_GROUP_OFFSET => rule(
            &[UPDATE],
            false,
            &[(Group, "destGroup", None), (Topic, "topic", None)],
        ),
        C::DELETE_SUBSCRIPTIONGROUP => {
            rule(&[Action::Delete], false, &[(Group, "groupName", None)])
        }
        C::DELETE_TOPIC_IN_BROKER => rule(&[Action::Delete], false, T),
        C::GET_ALL_TOPIC_CONFIG => rule(&[Action::List], false, NONE),
        C::GET_BROKER_CONSUME_STATS
        | C::GET_ALL_PRODUCER_INFO
        | C::GET_PRODUCER_CONNECTION_LIST
        | C::VIEW_BROKER_STATS_DATA => rule(&[GET], true, NONE),
        C::GET_CONSUMER_CONNECTION_LIST | C::GET_CONSUMER_RUNNING_INFO => {
            rule(&[GET], false, &[(Group, "consumerGroup", None)])
        }
        C::GET_CONSUME_STATS => rule(
            &[GET],
            false,
            &[
                (Group, "consumerGroup", None),
                (Topic, "topic", None),
                (Topic, "topicList", Some(';')),
            ],
        ),
        C::GET_EARLIEST_MSG_STORETIME
        | C::GET_MAX_OFFSET
        | C::GET_MIN_OFFSET
        | C::GET_TOPIC_CONFIG
        | C::GET_TOPIC_STATS_INFO
        | C::QUERY_TOPIC_CONSUME_BY_WHO
        | C::SEARCH_OFFSET_BY_TIMESTAMP
        | C::VIEW_MESSAGE_BY_ID => rule(&[GET], false, T),
        C::GET_SUBSCRIPTIONGROUP_CONFIG => rule(&[GET], false, &[(Group, "group", None)]),
        C::INVOKE_BROKER_TO_GET_CONSUMER_STATUS => rule(
            &[GET],
            false,
            &[(Topic, "topic", None), (Group, "group", None)],
        ),
        C::INVOKE_BROKER_TO_RESET_OFFSET => rule(
            &[UPDATE],
            false,
            &[(Group, "group", None), (Topic, "topic", None)],
        ),
        C::NOTIFY_CONSUMER_IDS_CHANGED => rule(&[SUB], false, &[(Group, "consumerGroup", None)]),
        C::QUERY_CONSUME_QUEUE => rule(&[GET], false, TG),
        C::QUERY_CONSUME_TIME_SPAN | C::QUERY_SUBSCRIPTION_BY_CONSUMER => rule(
            &[GET],
            false,
            &[(Topic, "topic", None), (Group, "group", None)],
        ),
        C::QUERY_TOPICS_BY_CONSUMER => rule(&[GET], false, &[(Group, "group", None)]),
        C::QUERY_CORRECTION_OFFSET => rule(
            &[GET],
            false,
            &[
                (Group, "filterGroups", Some(',')),
                (Group, "compareGroup", None),
                (Topic, "topic", None),
            ],
        ),
        C::RESUME_CHECK_HALF_MESSAGE => rule(&[UPDATE], false, T),
        C::UPDATE_AND_CREATE_TOPIC => rule(&[Action::Create], false, T),
        C::UPDATE_AND_GET_GROUP_FORBIDDEN => rule(
            &[UPDATE],
            false,
            &[(Group, "group", None), (Topic, "topic", None)],
        ),
        C::AUTH_CREATE_USER
        | C::AUTH_UPDATE_USER
        | C::AUTH_DELETE_USER
        | C::AUTH_CREATE_ACL
        | C::AUTH_UPDATE_ACL
        | C::AUTH_DELETE_ACL => rule(&[UPDATE], true, NONE),
        C::AUTH_GET_USER | C::AUTH_LIST_USER | C::AUTH_GET_ACL | C::AUTH_LIST_ACL => {
            rule(&[GET], true, NONE)
        }
        // FerroMQ: admin writes Apache's builder has no rule for (their requests have no
        // annotated header) need Update on the cluster, so a user without rights cannot
        // change the broker or create groups.
        C::UPDATE_BROKER_CONFIG | C::CLEAN_UNUSED_TOPIC | C::CLEAN_EXPIRED_CONSUMEQUEUE => {
            rule(&[UPDATE], true, NONE)
        }
        C::GET_BROKER_CONFIG => rule(&[GET], true, NONE),
        _ => return None,
    })
}

/// What `req` asks for. `Err`: a body that does not parse (Apache: "parse authorization context
/// error.").
pub(crate) fn wants(req: &RemotingCommand, cluster: &str) -> Result<Vec<Want>, String> {
    let mut out: Vec<Want> = Vec::new();
    if req.ext_fields.is_empty() && req.body.is_empty() {
        // Apache: a request without fields asks for nothing.
        return Ok(out);
    }
    let field = |k: &str| req.ext_fields.get(k).filter(|v| !v.is_empty());
    let is_retry = |t: Option<&str>| t.is_some_and(|t| t.starts_with(RETRY_TOPIC_PREFIX));
    let mut add = |r: Resource, a: &[Action]| out.push((r, a.to_vec()));
    let code = req.request_code();
    match code {
        RequestCode::SEND_MESSAGE
        | RequestCode::SEND_MESSAGE_V2
        | RequestCode::SEND_BATCH_MESSAGE => {
            let (tk, gk) = if code == RequestCode::SEND_MESSAGE {
                ("topic", "group")
            } else {
                ("b", "a")
            };
            let topic = field(tk);
            if is_retry(topic) {
                let g = field(gk).or(topic).unwrap_or_default();
                add(Resource::group(g), &[SUB]);
            } else if let Some(t) = topic {
                add(Resource::topic(t), &[PUB]);
            }
        }
        RequestCode::RECALL_MESSAGE | RequestCode::END_TRANSACTION => {
            if let Some(t) = field("topic") {
                add(Resource::topic(t), &[PUB]);
            }
        }
        RequestCode::CONSUMER_SEND_MSG_BACK => {
            if let Some(g) = field("group") {
                add(Resource::group(g), &[SUB]);
            }
        }
        // Apache has no rule for LITE_PULL_MESSAGE; it reads what PULL_MESSAGE reads.
        RequestCode::PULL_MESSAGE | RequestCode::LITE_PULL_MESSAGE => {
            let topic = field("topic");
            if let Some(t) = topic.filter(|_| !is_retry(topic)) {
                add(Resource::topic(t), &[SUB]);
            }
            if let Some(g) = field("consumerGroup") {
                add(Resource::group(g), &[SUB]);
            }
        }
        RequestCode::QUERY_MESSAGE => {
            if let Some(t) = field("topic") {
                add(Resource::topic(t), &[SUB, GET]);
            }
        }
        RequestCode::HEART_BEAT => {
            let data = HeartbeatData::decode(&req.body).map_err(|e| e.to_string())?;
            for c in &data.consumer_data_set {
                add(Resource::group(&c.group_name), &[SUB]);
                for s in &c.subscription_data_set {
                    if !s.topic.starts_with(RETRY_TOPIC_PREFIX) {
                        add(Resource::topic(&s.topic), &[SUB]);
                    }
                }
            }
        }
        RequestCode::UNREGISTER_CLIENT => {
            if let Some(g) = field("consumerGroup") {
                add(Resource::group(g), &[SUB]);
            }
        }
        RequestCode::GET_CONSUMER_LIST_BY_GROUP => {
            if let Some(g) = field("consumerGroup") {
                add(Resource::group(g), &[SUB, GET]);
            }
        }
        RequestCode::QUERY_CONSUMER_OFFSET | RequestCode::UPDATE_CONSUMER_OFFSET => {
            let act: &[Action] = if code == RequestCode::QUERY_CONSUMER_OFFSET {
                &[SUB, GET]
            } else {
                &[SUB, UPDATE]
            };
            let topic = field("topic");
            if let Some(t) = topic.filter(|_| !is_retry(topic)) {
                add(Resource::topic(t), act);
            }
            if let Some(g) = field("consumerGroup") {
                add(Resource::group(g), act);
            }
        }
        RequestCode::LOCK_BATCH_MQ | RequestCode::UNLOCK_BATCH_MQ => {
            let (group, topics) = if code == RequestCode::LOCK_BATCH_MQ {
                let b = LockBatchRequestBody::decode(&req.body).map_err(|e| e.to_string())?;
                (b.consumer_group, b.mq_set)
            } else {
                let b = UnlockBatchRequestBody::decode(&req.body).map_err(|e| e.to_string())?;
                (b.consumer_group, b.mq_set)
            };
            add(Resource::group(&group), &[SUB]);
            for mq in topics {
                if !mq.topic.starts_with(RETRY_TOPIC_PREFIX) {
                    add(Resource::topic(&mq.topic), &[SUB]);
                }
            }
        }
        // FerroMQ: creating a group needs Create on it (Apache checks nothing here).
        RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => {
            let name = ferromq_protocol::json::from_slice::<SubscriptionGroupConfig>(&req.body)
                .ok()
                .map(|c| c.group_name)
                .filter(|g| !g.is_empty());
            match name {
                Some(g) => add(Resource::group(&g), &[Action::Create]),
                None => add(Resource::literal(Cluster, cluster), &[UPDATE]),
            }
        }
        other => {
            let Some(rule) = annotated(other) else {
                return Ok(out);
            };
            for (kind, key, splitter) in rule.fields {
                let Some(value) = field(key) else { continue };
                let parts: Vec<&str> = match splitter {
                    Some(c) => value.split(*c).filter(|s| !s.is_empty()).collect(),
                    None => vec![value],
                };
                for v in parts {
                    let r = if *kind == Topic && v.starts_with(RETRY_TOPIC_PREFIX) {
                        Resource::group(v)
                    } else {
                        Resource::literal(*kind, v)
                    };
                    add(r, rule.actions);
                }
            }
            if out.is_empty() && rule.cluster {
                out.push((Resource::literal(Cluster, cluster), rule.actions.to_vec()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(code: RequestCode, fields: &[(&str, &str)]) -> RemotingCommand {
        let mut r = RemotingCommand::request(code);
        for (k, v) in fields {
            r.ext_fields.insert(*k, *v);
        }
        r
    }

    fn keys(w: Vec<Want>) -> Vec<(String, Vec<&'static str>)> {
        w.into_iter()
            .map(|(r, a)| (r.key(), a.iter().map(|a| a.name()).collect()))
            .collect()
    }

    #[test]
    fn codes_map_to_apaches_resources_and_actions() {
        let k = |code, f: &[(&str, &str)]| keys(wants(&req(code, f), "C").expect("parses"));
        assert_eq!(
            k(RequestCode::SEND_MESSAGE_V2, &[("b", "T"), ("a", "P")]),
            [("Topic:T".to_owned(), vec!["Pub"])]
        );
        assert_eq!(
            k(
                RequestCode::SEND_MESSAGE_V2,
                &[("b", "%RETRY%g"), ("a", "")]
            ),
            [("Group:g".to_owned(), vec!["Sub"])]
        );
        assert_eq!(
            k(
                RequestCode::PULL_MESSAGE,
                &[("topic", "T"), ("consumerGroup", "g")]
            ),
            [
                ("Topic:T".to_owned(), vec!["Sub"]),
                ("Group:g".to_owned(), vec!["Sub"])
            ]
        );
        assert_eq!(
            k(RequestCode::UPDATE_AND_CREATE_TOPIC, &[("topic", "T")]),
            [("Topic:T".to_owned(), vec!["Create"])]
        );
        assert_eq!(
            k(RequestCode::AUTH_CREATE_USER, &[("username", "u")]),
            [("Cluster:C".to_owned(), vec!["Update"])]
        );
        assert_eq!(
            k(
                RequestCode::GET_CONSUME_STATS,
                &[("consumerGroup", "g"), ("topicList", "a;b")]
            ),
            [
                ("Group:g".to_owned(), vec!["Get"]),
                ("Topic:a".to_owned(), vec!["Get"]),
                ("Topic:b".to_owned(), vec!["Get"])
            ]
        );
        assert!(k(RequestCode::GET_BROKER_RUNTIME_INFO, &[("x", "y")]).is_empty());
        let mut hb = req(RequestCode::HEART_BEAT, &[]);
        hb.body = bytes::Bytes::from_static(b"not json");
        assert!(wants(&hb, "C").is_err());
    }
}
