//! Message trace (docs/message-trace.md) against a real FerroMQ name server and broker: the
//! records a traced producer and push consumer write, read back from the trace topic by message
//! id and decoded, carry Apache's fields; a custom trace topic made by the broker's
//! `msgTraceTopicName` is used; a failed consumption is traced as failed; an illegal trace topic
//! is refused at start; check-backs, namespaced clients and batches are traced as described there.

mod common;

use std::time::Duration;

use common::{
    consumer_options, producer_options, trace_records, unique, wait_for, Collected, Servers,
};
use ferromq_client::trace::{data, TraceRecord, TraceType};
use ferromq_client::{
    Admin, ConsumeResult, ErrorKind, FilterExpression, Message, MessageModel, MessageView,
    Producer, PushConsumer,
};

const WAIT: Duration = Duration::from_secs(30);

fn count(records: &[TraceRecord], t: TraceType) -> usize {
    records.iter().filter(|r| r.trace_type == t).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traced_send_and_consumptions_are_recorded_with_apaches_fields() {
    let trace_topic = unique("CustomTrace");
    let name = trace_topic.clone();
    let servers = Servers::start(move |s| {
        s.broker.trace_topic_enable = true;
        s.broker.msg_trace_topic_name = name;
    })
    .await;
    let admin = Admin::new(&servers.client_config("trace-admin")).expect("admin");
    // msgTraceTopicName: the broker made the custom trace topic at start-up, one queue.
    let route = admin
        .topic_route(&trace_topic)
        .await
        .expect("trace topic route");
    assert_eq!(route.queue_datas[0].write_queue_nums, 1);

    let topic = unique("Traced");
    servers.create_topic(&topic, 2).await;
    let pg = unique("trace_pg");
    let producer = Producer::start(ferromq_client::ProducerOptions {
        enable_msg_trace: true,
        trace_topic: Some(trace_topic.clone()),
        ..producer_options(&servers, &pg)
    })
    .await
    .expect("producer");
    assert_eq!(producer.trace_topic(), Some(trace_topic.as_str()));
    let sent = producer
        .send(
            Message::new(&topic, "traced")
                .with_tag("TagT")
                .with_keys(["order-1", "order-2"]),
        )
        .await
        .expect("send");

    // One group consumes it; a broadcasting group fails it (no redelivery in broadcasting).
    let ok_group = unique("trace_ok");
    let got = Collected::default();
    let ok = PushConsumer::start(
        ferromq_client::PushConsumerOptions {
            enable_msg_trace: true,
            trace_topic: Some(trace_topic.clone()),
            ..consumer_options(&servers, &ok_group, &ok_group)
        },
        [(topic.clone(), FilterExpression::tag("*"))],
        got.listener(),
    )
    .await
    .expect("consumer");
    let failing_group = unique("trace_fail");
    let failed = Collected::default();
    let seen = failed.messages.clone();
    let failing = PushConsumer::start(
        ferromq_client::PushConsumerOptions {
            enable_msg_trace: true,
            trace_topic: Some(trace_topic.clone()),
            message_model: MessageModel::Broadcasting,
            offset_store_dir: Some(servers.broker.dir().join("bcast-offsets")),
            ..consumer_options(&servers, &failing_group, &failing_group)
        },
        [(topic.clone(), FilterExpression::tag("*"))],
        move |batch: &[MessageView]| {
            seen.lock().expect("lock").extend(batch.iter().cloned());
            ConsumeResult::ReconsumeLater
        },
    )
    .await
    .expect("failing consumer");
    got.wait_for(1, WAIT).await;
    failed.wait_for(1, WAIT).await;

    let complete = |found: &[TraceRecord]| {
        count(found, TraceType::Pub) == 1
            && count(found, TraceType::SubBefore) == 2
            && count(found, TraceType::SubAfter) == 2
    };
    wait_for("trace records", WAIT, || async {
        complete(&trace_records(&admin, &trace_topic, &sent.msg_id).await)
    })
    .await;
    let found = trace_records(&admin, &trace_topic, &sent.msg_id).await;
    assert!(complete(&found), "{found:?}");

    let p = found
        .iter()
        .find(|r| r.trace_type == TraceType::Pub)
        .expect("Pub");
    assert_eq!(p.group, pg);
    assert_eq!(p.topic, topic);
    assert_eq!(p.offset_msg_id, sent.offset_msg_id);
    assert_eq!(p.tags, "TagT");
    assert_eq!(p.keys, "order-1 order-2");
    assert_eq!(p.store_host, servers.broker.addr());
    assert_eq!(p.region_id, "DefaultRegion");
    assert_eq!(p.body_length, 6);
    assert_eq!(p.msg_type, data::msg_type::NORMAL);
    assert!(p.success && p.timestamp > 0);

    for (group, success, code) in [
        (&ok_group, true, data::consume_code::SUCCESS),
        (&failing_group, false, data::consume_code::FAILED),
    ] {
        let before = found
            .iter()
            .find(|r| r.trace_type == TraceType::SubBefore && &r.group == group)
            .unwrap_or_else(|| panic!("SubBefore of {group}: {found:?}"));
        let after = found
            .iter()
            .find(|r| r.trace_type == TraceType::SubAfter && &r.group == group)
            .unwrap_or_else(|| panic!("SubAfter of {group}: {found:?}"));
        assert_eq!(before.request_id, after.request_id);
        assert!(!before.request_id.is_empty());
        assert_eq!(before.region_id, "DefaultRegion");
        assert_eq!(before.keys, "order-1 order-2");
        assert_eq!(before.retry_times, 0);
        assert_eq!((after.success, after.context_code), (success, code));
        assert!(after.timestamp >= before.timestamp);
    }
    // The trace messages are found by the user's keys too (Apache's TraceTransferBean).
    let by_key = admin
        .query_by_key(&trace_topic, "order-2", 64)
        .await
        .expect("query by key");
    assert!(!by_key.is_empty());

    failing.shutdown().await;
    ok.shutdown().await;
    producer.shutdown().await;
    assert_eq!(producer.traces_dropped(), 0);
    assert_eq!(ok.traces_dropped(), 0);
    admin.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_illegal_trace_topic_is_refused_at_start() {
    let servers = Servers::start(|_| {}).await;
    let err = Producer::start(ferromq_client::ProducerOptions {
        enable_msg_trace: true,
        trace_topic: Some("bad/topic".to_owned()),
        ..producer_options(&servers, &unique("pg"))
    })
    .await
    .expect_err("an illegal trace topic");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("trace topic"), "{err}");
    let group = unique("cg");
    let err = PushConsumer::start(
        ferromq_client::PushConsumerOptions {
            enable_msg_trace: true,
            trace_topic: Some("a b".to_owned()),
            ..consumer_options(&servers, &group, &group)
        },
        [("T".to_owned(), FilterExpression::tag("*"))],
        Collected::default().listener(),
    )
    .await
    .expect_err("an illegal trace topic");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    servers.stop().await;
}

struct CommitAll;

impl ferromq_client::TransactionListener for CommitAll {
    fn execute(&self, _: &Message, _: &str) -> ferromq_client::TransactionState {
        ferromq_client::TransactionState::Commit
    }
    fn check(&self, _: &MessageView) -> ferromq_client::TransactionState {
        ferromq_client::TransactionState::Commit
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_transaction_records_its_half_message_and_its_end() {
    let servers = Servers::start(|s| s.broker.trace_topic_enable = true).await;
    let admin = Admin::new(&servers.client_config("trace-tx-admin")).expect("admin");
    let topic = unique("TracedTx");
    servers.create_topic(&topic, 1).await;
    let pg = unique("trace_txpg");
    let tx = ferromq_client::TransactionProducer::start(
        ferromq_client::ProducerOptions {
            enable_msg_trace: true,
            ..producer_options(&servers, &pg)
        },
        CommitAll,
    )
    .await
    .expect("transaction producer");
    let sent = tx
        .send(Message::new(&topic, "tx").with_keys(["tx-1"]))
        .await
        .expect("transactional send");
    tx.shutdown().await;
    let id = sent.send.msg_id.clone();
    let complete = |found: &[TraceRecord]| {
        count(found, TraceType::Pub) == 1 && count(found, TraceType::EndTransaction) == 1
    };
    wait_for("transaction trace records", WAIT, || async {
        complete(&trace_records(&admin, "RMQ_SYS_TRACE_TOPIC", &id).await)
    })
    .await;
    let found = trace_records(&admin, "RMQ_SYS_TRACE_TOPIC", &id).await;
    let p = found
        .iter()
        .find(|r| r.trace_type == TraceType::Pub)
        .expect("Pub");
    assert_eq!(p.msg_type, data::msg_type::TRANS_HALF);
    let end = found
        .iter()
        .find(|r| r.trace_type == TraceType::EndTransaction)
        .expect("EndTransaction");
    assert_eq!(end.group, pg);
    assert_eq!(end.topic, topic);
    assert_eq!(end.keys, "tx-1");
    assert_eq!(end.tags, "null");
    assert_eq!(end.msg_type, data::msg_type::TRANS_COMMIT);
    assert_eq!(end.transaction_state, "COMMIT_MESSAGE");
    assert_eq!(
        Some(end.transaction_id.as_str()),
        sent.send.transaction_id.as_deref()
    );
    assert!(!end.from_transaction_check);
    assert_eq!(end.store_host, servers.broker.addr());
    admin.shutdown().await;
    servers.stop().await;
}

/// Leaves every transaction undecided, then commits it when the broker checks back.
struct CommitOnCheck;

impl ferromq_client::TransactionListener for CommitOnCheck {
    fn execute(&self, _: &Message, _: &str) -> ferromq_client::TransactionState {
        ferromq_client::TransactionState::Unknown
    }
    fn check(&self, _: &MessageView) -> ferromq_client::TransactionState {
        ferromq_client::TransactionState::Commit
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checked_back_transaction_records_both_of_its_ends() {
    let servers = Servers::start(|s| {
        s.broker.transaction_check_interval = 1000;
        s.broker.transaction_time_out = 1000;
    })
    .await;
    let admin = Admin::new(&servers.client_config("trace-check-admin")).expect("admin");
    let topic = unique("TracedCheck");
    servers.create_topic(&topic, 1).await;
    let pg = unique("trace_checkpg");
    let tx = ferromq_client::TransactionProducer::start(
        ferromq_client::ProducerOptions {
            enable_msg_trace: true,
            ..producer_options(&servers, &pg)
        },
        CommitOnCheck,
    )
    .await
    .expect("transaction producer");
    let sent = tx
        .send(Message::new(&topic, "checked").with_keys(["check-1"]))
        .await
        .expect("transactional send");
    assert_eq!(sent.state, ferromq_client::TransactionState::Unknown);
    let id = sent.send.msg_id.clone();
    let ends = |found: &[TraceRecord]| count(found, TraceType::EndTransaction);
    // The local decision (UNKNOW) and the check-back's commit; the producer runs until both
    // are written (the check-back comes from the broker after transactionTimeOut).
    wait_for("the check-back's trace record", WAIT, || async {
        ends(&trace_records(&admin, "RMQ_SYS_TRACE_TOPIC", &id).await) >= 2
    })
    .await;
    tx.shutdown().await;
    let found = trace_records(&admin, "RMQ_SYS_TRACE_TOPIC", &id).await;
    let local = found
        .iter()
        .find(|r| r.trace_type == TraceType::EndTransaction && !r.from_transaction_check)
        .expect("the local decision");
    assert_eq!(local.transaction_state, "UNKNOW");
    let checked = found
        .iter()
        .find(|r| r.trace_type == TraceType::EndTransaction && r.from_transaction_check)
        .unwrap_or_else(|| panic!("the check-back's record: {found:?}"));
    assert_eq!(checked.transaction_state, "COMMIT_MESSAGE");
    assert_eq!(checked.group, pg);
    assert_eq!(checked.topic, topic);
    assert_eq!(checked.keys, "check-1");
    assert_eq!(
        Some(checked.transaction_id.as_str()),
        sent.send.transaction_id.as_deref()
    );
    assert_eq!(checked.store_host, servers.broker.addr());
    admin.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaced_clients_trace_bare_names_to_the_bare_trace_topic() {
    let servers = Servers::start(|s| s.broker.trace_topic_enable = true).await;
    let admin = Admin::new(&servers.client_config("trace-ns-admin")).expect("admin");
    let ns = "tenantT";
    let topic = unique("TracedNs");
    servers.create_topic(&format!("{ns}%{topic}"), 1).await;
    let pg = unique("trace_nspg");
    let mut options = producer_options(&servers, &pg);
    options.client.namespace = Some(ns.to_owned());
    options.enable_msg_trace = true;
    let producer = Producer::start(options).await.expect("producer");
    let sent = producer
        .send(Message::new(&topic, "in a namespace"))
        .await
        .expect("send");
    let group = unique("trace_nscg");
    let got = Collected::default();
    let mut options = consumer_options(&servers, &group, &group);
    options.client.namespace = Some(ns.to_owned());
    options.enable_msg_trace = true;
    let consumer = PushConsumer::start(
        options,
        [(topic.clone(), FilterExpression::all())],
        got.listener(),
    )
    .await
    .expect("consumer");
    got.wait_for(1, WAIT).await;
    // As Java's trace hooks: names without the namespace, in RMQ_SYS_TRACE_TOPIC itself (where
    // Apache's queryMsgTraceById looks), not in `tenantT%RMQ_SYS_TRACE_TOPIC`.
    let complete = |found: &[TraceRecord]| {
        count(found, TraceType::Pub) == 1 && count(found, TraceType::SubAfter) == 1
    };
    wait_for("namespaced trace records", WAIT, || async {
        complete(&trace_records(&admin, "RMQ_SYS_TRACE_TOPIC", &sent.msg_id).await)
    })
    .await;
    let found = trace_records(&admin, "RMQ_SYS_TRACE_TOPIC", &sent.msg_id).await;
    let p = found
        .iter()
        .find(|r| r.trace_type == TraceType::Pub)
        .expect("Pub");
    assert_eq!(
        (p.topic.as_str(), p.group.as_str()),
        (topic.as_str(), pg.as_str())
    );
    let before = found
        .iter()
        .find(|r| r.trace_type == TraceType::SubBefore)
        .expect("SubBefore");
    // (A SubBefore record carries no topic in Apache's format.)
    assert_eq!(before.group, group);
    let after = found
        .iter()
        .find(|r| r.trace_type == TraceType::SubAfter)
        .expect("SubAfter");
    assert_eq!(after.group, group);
    consumer.shutdown().await;
    producer.shutdown().await;
    admin.shutdown().await;
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_message_of_a_traced_batch_is_found_by_its_id() {
    let servers = Servers::start(|s| s.broker.trace_topic_enable = true).await;
    let admin = Admin::new(&servers.client_config("trace-batch-admin")).expect("admin");
    let topic = unique("TracedBatch");
    servers.create_topic(&topic, 1).await;
    let pg = unique("trace_batchpg");
    let producer = Producer::start(ferromq_client::ProducerOptions {
        enable_msg_trace: true,
        ..producer_options(&servers, &pg)
    })
    .await
    .expect("producer");
    let messages: Vec<Message> = (0..3)
        .map(|i| {
            Message::new(&topic, format!("batched {i}"))
                .with_tag(format!("T{i}"))
                .with_keys([format!("batch-key-{i}")])
        })
        .collect();
    let results = producer.send_batch(messages).await.expect("batch");
    assert_eq!(results.len(), 1, "one batch");
    let ids: Vec<&str> = results[0].msg_id.split(',').collect();
    let offset_ids: Vec<&str> = results[0].offset_msg_id.split(',').collect();
    assert_eq!((ids.len(), offset_ids.len()), (3, 3));
    for (i, (id, offset_id)) in ids.iter().zip(&offset_ids).enumerate() {
        wait_for("a batched message's trace record", WAIT, || async {
            count(
                &trace_records(&admin, "RMQ_SYS_TRACE_TOPIC", id).await,
                TraceType::Pub,
            ) == 1
        })
        .await;
        let found = trace_records(&admin, "RMQ_SYS_TRACE_TOPIC", id).await;
        let p = &found[0];
        assert_eq!(p.trace_type, TraceType::Pub);
        assert_eq!(&p.offset_msg_id, offset_id);
        assert_eq!(p.tags, format!("T{i}"));
        assert_eq!(p.keys, format!("batch-key-{i}"));
        assert_eq!(p.body_length, 9);
        assert_eq!(p.topic, topic);
        assert!(p.success);
    }
    producer.shutdown().await;
    admin.shutdown().await;
    servers.stop().await;
}
