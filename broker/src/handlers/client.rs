//! Client management: HEART_BEAT, UNREGISTER_CLIENT, GET_CONSUMER_LIST_BY_GROUP and
//! CHECK_CLIENT_CONFIG, and telling a group's members that membership changed.

use std::time::Instant;

use ferromq_protocol::body::{
    CheckClientRequestBody, ExpressionType, GetConsumerListByGroupResponseBody, HeartbeatData,
};
use ferromq_protocol::header::client::{
    GetConsumerListByGroupRequestHeader, NotifyConsumerIdsChangedRequestHeader,
    UnregisterClientRequestHeader,
};
use ferromq_protocol::{names, CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::Connection;

use crate::clients::ClientChannel;
use crate::response::{bad_header, fail, ok, Response};
use crate::state::Broker;

fn channel(conn: &Connection, client_id: &str, req: &RemotingCommand) -> ClientChannel {
    ClientChannel {
        conn: conn.clone(),
        client_id: client_id.to_owned(),
        language: req.language,
        version: req.version,
        last_update: Instant::now(),
    }
}

/// HEART_BEAT: registers the client's producer and consumer groups on this connection.
pub(crate) async fn heartbeat(
    broker: &Broker,
    conn: &Connection,
    req: &RemotingCommand,
) -> Response {
    let data = match HeartbeatData::decode(&req.body) {
        Ok(d) => d,
        Err(e) => {
            return fail(
                ResponseCode::SYSTEM_ERROR,
                format!("bad heartbeat body: {e}"),
            )
        }
    };
    if let Err(refusal) = check_heartbeat(broker, &data) {
        return refusal;
    }
    for consumer in &data.consumer_data_set {
        if let Err(refusal) = broker.group_for(&consumer.group_name) {
            tracing::warn!(group = %consumer.group_name, reason = ?refusal.remark, "heartbeat of a group that cannot be created");
            return refusal;
        }
        broker.ensure_retry_topic(&consumer.group_name).await;
        let channel = channel(conn, &data.client_id, req);
        if broker.clients.register_consumer(channel, consumer) {
            tracing::info!(group = %consumer.group_name, client = %data.client_id, "consumer joined");
            notify_ids_changed(broker, &consumer.group_name);
        }
    }
    for producer in &data.producer_data_set {
        broker
            .clients
            .register_producer(&producer.group_name, channel(conn, &data.client_id, req));
    }
    let mut resp = ok();
    resp.ext_fields.insert("IS_SUB_CHANGE", "true");
    resp
}

/// A heartbeat's sizes and names (`heartbeatMaxGroups`, `heartbeatMaxSubscriptions`).
fn check_heartbeat(broker: &Broker, data: &HeartbeatData) -> Result<(), Response> {
    let settings = broker.settings();
    let b = &settings.broker;
    let groups = data.consumer_data_set.len() + data.producer_data_set.len();
    if groups > b.heartbeat_max_groups {
        return Err(fail(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "the heartbeat names {groups} groups, more than heartbeatMaxGroups {}",
                b.heartbeat_max_groups
            ),
        ));
    }
    let invalid = |e: names::NameError| fail(ResponseCode::INVALID_PARAMETER, e.to_string());
    for consumer in &data.consumer_data_set {
        names::check_group(&consumer.group_name).map_err(invalid)?;
        let subs = consumer.subscription_data_set.len();
        if subs > b.heartbeat_max_subscriptions {
            return Err(fail(
                ResponseCode::SYSTEM_ERROR,
                format!(
                    "group {} subscribes {subs} topics in one heartbeat, more than heartbeatMaxSubscriptions {}",
                    consumer.group_name, b.heartbeat_max_subscriptions
                ),
            ));
        }
        for sub in &consumer.subscription_data_set {
            names::check_topic(&sub.topic).map_err(invalid)?;
        }
    }
    for producer in &data.producer_data_set {
        names::check_group(&producer.group_name).map_err(invalid)?;
    }
    Ok(())
}

/// Tells every member of a group that membership changed (they rebalance at once).
pub(crate) fn notify_ids_changed(broker: &Broker, group: &str) {
    if !broker.settings().broker.notify_consumer_ids_changed_enable {
        return;
    }
    for conn in broker.clients.consumer_connections(group) {
        let header = NotifyConsumerIdsChangedRequestHeader {
            consumer_group: group.to_owned(),
            ..Default::default()
        };
        let cmd =
            RemotingCommand::request_with_header(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED, &header);
        tokio::spawn(async move {
            let _ = conn.request_oneway(cmd).await;
        });
    }
}

/// CHECK_CLIENT_CONFIG: Java consumers with a SQL92 subscription ask before starting.
pub(crate) fn check_client_config(broker: &Broker, req: &RemotingCommand) -> Response {
    let body = match CheckClientRequestBody::decode(&req.body) {
        Ok(b) => b,
        Err(e) => return fail(ResponseCode::SYSTEM_ERROR, format!("bad check body: {e}")),
    };
    match body.subscription_data {
        Some(sub) if sub.expression_type == ExpressionType::Sql92 => {
            match crate::filters::sql_selector(broker, &sub.sub_string) {
                Ok(_) => ok(),
                Err(refusal) => refusal,
            }
        }
        _ => ok(),
    }
}

/// UNREGISTER_CLIENT: a client leaves its producer and consumer groups.
pub(crate) fn unregister_client(
    broker: &Broker,
    conn: &Connection,
    req: &RemotingCommand,
) -> Response {
    let h = match UnregisterClientRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if let Some(group) = h.producer_group.filter(|g| !g.is_empty()) {
        broker.clients.unregister_producer(&group, conn.id());
    }
    if let Some(group) = h.consumer_group.filter(|g| !g.is_empty()) {
        if broker
            .clients
            .unregister_consumer(&group, conn.id(), &h.client_id)
        {
            notify_ids_changed(broker, &group);
        }
    }
    ok()
}

/// GET_CONSUMER_LIST_BY_GROUP: the client ids of a group's live members.
pub(crate) fn consumer_list(broker: &Broker, req: &RemotingCommand) -> Response {
    let h = match GetConsumerListByGroupRequestHeader::read_ext(&req.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let ids = broker.clients.consumer_ids(&h.consumer_group);
    if ids.is_empty() {
        return fail(
            ResponseCode::SYSTEM_ERROR,
            format!("no consumer for this group, {}", h.consumer_group),
        );
    }
    ok().with_body(
        GetConsumerListByGroupResponseBody {
            consumer_id_list: ids,
        }
        .encode(),
    )
}

/// The client's connection closed: it leaves every group it was in.
pub(crate) fn connection_closed(broker: &Broker, conn: &Connection) {
    for group in broker.clients.connection_gone(conn.id()) {
        tracing::info!(%group, peer = %conn.peer_addr(), "consumer left");
        notify_ids_changed(broker, &group);
    }
}
