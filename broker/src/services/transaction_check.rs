//! The transaction checker (master only): every `transactionCheckInterval` it walks the half
//! messages without an op record and asks a live producer of their group for the outcome
//! (CHECK_TRANSACTION_STATE); after `transactionCheckMax` checks a half message is moved to
//! `TRANS_CHECK_MAX_TIME_TOPIC`.

use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::header::transaction::CheckTransactionStateRequestHeader;
use ferromq_protocol::message::{create_message_id, property, MessageExt};
use ferromq_protocol::{RemotingCommand, RequestCode};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::records::stored;
use crate::state::Broker;
use crate::transactions::{CHECK_MAX_TOPIC, HALF_TOPIC, PROGRESS_GROUP};

/// One checker pass over the half queue.
async fn check_round(broker: &Broker) {
    let settings = broker.settings();
    let b = &settings.broker;
    let mut progress = broker
        .offsets
        .query(PROGRESS_GROUP, HALF_TOPIC, 0)
        .unwrap_or(0);
    let max = broker.store.max_offset_in_queue(HALF_TOPIC, 0);
    let round_start = ferromq_common::now_ms();
    let mut offset = progress;
    while offset < max {
        let resolved = broker.is_resolved(offset);
        let Some(unit) = broker.store.unit(HALF_TOPIC, 0, offset) else {
            break;
        };
        if !resolved {
            let Some(half) = broker.half_message(unit.commit_log_offset) else {
                break;
            };
            if half.store_timestamp >= round_start {
                break;
            }
            let checks: i32 = half
                .properties
                .value(property::TRANSACTION_CHECK_TIMES)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            if checks >= b.transaction_check_max {
                tracing::warn!(offset, checks, "transaction checked too often: discarded");
                broker
                    .stats
                    .meters
                    .half_discarded(crate::handlers::transaction::real_topic(&half));
                let _ = broker.put_as(half, CHECK_MAX_TOPIC, 0).await;
                broker.write_op(offset).await;
            } else {
                let immunity = half
                    .properties
                    .value(property::CHECK_IMMUNITY_TIME_IN_SECONDS)
                    .and_then(|s| s.parse::<i64>().ok())
                    .map(|s| s.saturating_mul(1000))
                    .unwrap_or(i64::try_from(b.transaction_time_out).unwrap_or(6000));
                if ferromq_common::now_ms().saturating_sub(half.store_timestamp) < immunity {
                    break;
                }
                check_back(broker, half, checks.saturating_add(1)).await;
                // The re-appended copy carries the check from now on.
                broker.mark_resolved(offset);
            }
        }
        offset += 1;
        if broker.is_resolved(progress) && progress + 1 == offset {
            progress = offset;
        }
    }
    broker
        .offsets
        .commit(PROGRESS_GROUP, HALF_TOPIC, 0, progress);
}

/// Re-appends a half message with its check count and asks one live producer of its group.
async fn check_back(broker: &Broker, mut half: MessageExt, checks: i32) {
    half.properties
        .insert(property::TRANSACTION_CHECK_TIMES, checks.to_string());
    let group = half
        .properties
        .value(property::PRODUCER_GROUP)
        .unwrap_or_default()
        .to_owned();
    let appended = match broker.store.put_message(&MessageExt {
        store_host: broker.store_host,
        ..half.clone()
    }) {
        Ok(p) => match stored(p).await {
            Ok(appended) => appended,
            Err(reason) => {
                tracing::error!(%reason, "cannot re-append a half message");
                return;
            }
        },
        Err(e) => {
            tracing::error!(error = %e, "cannot re-append a half message");
            return;
        }
    };
    let Some(producer) = broker
        .clients
        .producer_connections(&group)
        .into_iter()
        .next()
    else {
        tracing::debug!(%group, "no live producer to check a transaction with");
        return;
    };
    let commit_log_offset = i64::try_from(appended.append.commit_log_offset).unwrap_or(0);
    let uniq = half.properties.uniq_key().map(str::to_owned);
    let header = CheckTransactionStateRequestHeader {
        topic: Some(HALF_TOPIC.to_owned()),
        tran_state_table_offset: appended.append.queue_offset,
        commit_log_offset,
        msg_id: uniq.clone(),
        transaction_id: half
            .properties
            .value(property::TRANSACTION_ID)
            .map(str::to_owned)
            .or(uniq),
        offset_msg_id: Some(create_message_id(broker.store_host, commit_log_offset)),
        ..Default::default()
    };
    // The body is the message as the producer sent it: real topic and queue restored.
    let mut view = half;
    view.topic = view
        .properties
        .value(property::REAL_TOPIC)
        .unwrap_or_default()
        .to_owned();
    view.queue_id = view
        .properties
        .value(property::REAL_QUEUE_ID)
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    view.queue_offset = appended.append.queue_offset;
    view.commit_log_offset = commit_log_offset;
    let body = match view.encode_to_bytes() {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "cannot encode a check-back body");
            return;
        }
    };
    let cmd = RemotingCommand::request_with_header(RequestCode::CHECK_TRANSACTION_STATE, &header)
        .with_body(body);
    if let Err(e) = producer.conn.request_oneway(cmd).await {
        tracing::debug!(error = %e, "check-back not sent");
    }
}

/// Starts the checker: it first rebuilds which half messages are resolved.
pub(crate) fn start(broker: &Arc<Broker>, stop: &watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(run(broker.clone(), stop.clone()))
}

async fn run(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    broker.load_transaction_state();
    loop {
        let every =
            Duration::from_millis(broker.settings().broker.transaction_check_interval.max(100));
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        check_round(&broker).await;
    }
}
