//! QUERY_ASSIGNMENT (400) and SET_MESSAGE_REQUEST_MODE (401): which queues a consumer of a
//! group reads and whether it pulls or pops them (docs/pop.md, "Assignments").

use ferromq_protocol::body::perm;
use ferromq_protocol::{names, RemotingCommand, ResponseCode};
use serde::Serialize;

use crate::pop::assignment::{allocate, QueryAssignment, Queue, RequestMode};
use crate::response::{fail, ok, Response};
use crate::state::Broker;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Assignment {
    message_queue: Queue,
    mode: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AssignmentBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    message_queue_assignments: Option<Vec<Assignment>>,
}

/// QUERY_ASSIGNMENT.
pub(crate) async fn query_assignment(broker: &Broker, req: &RemotingCommand) -> Response {
    let q: QueryAssignment = match serde_json::from_slice(&req.body) {
        Ok(q) => q,
        Err(e) => {
            return fail(
                ResponseCode::SYSTEM_ERROR,
                format!("bad QueryAssignmentRequestBody: {e}"),
            )
        }
    };
    let settings = broker.settings();
    let b = &settings.broker;
    let mode = broker
        .pop
        .modes
        .get(&q.topic, &q.consumer_group)
        .unwrap_or_else(|| {
            let pop = !q.topic.starts_with(names::RETRY_TOPIC_PREFIX)
                && b.default_message_request_mode
                    .trim()
                    .eq_ignore_ascii_case("POP");
            RequestMode {
                consumer_group: q.consumer_group.clone(),
                mode: if pop { "POP" } else { "PULL" }.to_owned(),
                pop_share_queue_num: if pop {
                    b.default_pop_share_queue_num
                } else {
                    0
                },
                topic: q.topic.clone(),
            }
        });
    let pop = mode.mode == "POP";
    // The topic's readable queues: on every broker of its route when a name server knows it
    // (Apache's route lookup), else this broker's own. Only topics this broker has are looked up.
    let local = broker.topics.get(&q.topic);
    let routed = match &local {
        Some(_) if !b.namesrv_addrs().is_empty() => {
            crate::pop::routes::cluster_queues(broker, &q.topic).await
        }
        _ => None,
    };
    let all: Option<Vec<Queue>> = match routed {
        Some(queues) if !queues.is_empty() => Some(queues.as_ref().clone()),
        _ => local.filter(|t| t.perm & perm::READ != 0).map(|t| {
            (0..t.read_queue_nums)
                .map(|queue_id| Queue {
                    topic: q.topic.clone(),
                    broker_name: b.broker_name.clone(),
                    queue_id,
                })
                .collect()
        }),
    };
    let assigned = match (all, q.message_model.as_str()) {
        (None, _) => None,
        (Some(all), "BROADCASTING") => Some(all),
        (Some(all), _) if !b.server_load_balancer_enable => Some(all),
        (Some(all), _) => {
            let cids = broker.clients.consumer_ids(&q.consumer_group);
            if cids.is_empty() {
                None
            } else {
                let share = pop.then_some(mode.pop_share_queue_num);
                allocate(&q.strategy_name, &q.client_id, &all, &cids, share)
            }
        }
    };
    let body = AssignmentBody {
        message_queue_assignments: assigned.map(|queues| {
            queues
                .into_iter()
                .map(|message_queue| Assignment {
                    message_queue,
                    mode: mode.mode.clone(),
                })
                .collect()
        }),
    };
    let mut resp = ok();
    resp.body = serde_json::to_vec(&body).unwrap_or_default().into();
    resp
}

/// SET_MESSAGE_REQUEST_MODE.
pub(crate) fn set_request_mode(broker: &Broker, req: &RemotingCommand) -> Response {
    let body: RequestMode = match serde_json::from_slice(&req.body) {
        Ok(b) => b,
        Err(e) => {
            return fail(
                ResponseCode::SYSTEM_ERROR,
                format!("bad SetMessageRequestModeRequestBody: {e}"),
            )
        }
    };
    if body.mode != "PULL" && body.mode != "POP" {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            format!("mode {:?} is not PULL or POP", body.mode),
        );
    }
    if body.topic.starts_with(names::RETRY_TOPIC_PREFIX) {
        return fail(
            ResponseCode::NO_PERMISSION,
            "retry topic is not allowed to set mode",
        );
    }
    if !broker.topics.contains(&body.topic) {
        return fail(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", body.topic),
        );
    }
    if broker.groups.get(&body.consumer_group).is_none() {
        return fail(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            "subscription group does not exist",
        );
    }
    // A small fsynced file write, rare (an admin command): done in place.
    match broker.pop.modes.set(body) {
        Ok(()) => ok(),
        Err(e) => fail(
            ResponseCode::SYSTEM_ERROR,
            format!("cannot persist messageRequestMode.json: {e}"),
        ),
    }
}
