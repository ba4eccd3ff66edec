//! Client features of issue 22 with the Rust client against the real Apache RocketMQ 5.3.3 name
//! server and broker (jars from Maven Central), as docs/scenarios.md describes them:
//! "namespace" (two namespaces, same topic and group names), "consume-timeout" (a listener stuck
//! far past a short consume timeout) and "message-trace" from a namespaced producer and consumer.
//! The same scenarios run against FerroMQ in `namespace.rs`, `housekeeping.rs` and `trace.rs`.
//!
//! One server pair for the whole file (a JVM broker takes seconds to start), so the scenarios run
//! one after the other in one test; each uses its own run-id topics and groups. The broker has
//! every delay level at 1 s (redeliveries come back quickly) and `traceTopicEnable=true`.
//!
//! Needs `java` and `mvn` on PATH; prints `SKIPPED` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{trace_records, unique, wait_for, Collected, StuckListener};
use ferromq_client::trace::{data, TraceRecord, TraceType};
use ferromq_client::{
    Admin, ClientConfig, ConsumeFrom, ConsumeResult, ErrorKind, FilterExpression, Message,
    MessageView, Producer, ProducerOptions, PushConsumer, PushConsumerOptions, TopicOptions,
};
use ferromq_tests::{require_tools, ApacheBroker, ApacheNamesrv, BrokerOptions};

const WAIT: Duration = Duration::from_secs(60);
/// Apache's default trace topic (`TopicValidator.RMQ_SYS_TRACE_TOPIC`).
const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// Client settings for the Apache servers, and an admin client that names things as the broker
/// does (with the namespace: admin clients ignore it).
struct Apache {
    ns: String,
    broker_addr: String,
    admin: Admin,
}

impl Apache {
    fn config(&self, instance: &str, namespace: Option<&str>) -> ClientConfig {
        ClientConfig {
            namesrv_addr: self.ns.clone(),
            instance_name: instance.to_owned(),
            namespace: namespace.map(str::to_owned),
            ..ClientConfig::default()
        }
    }

    fn producer(&self, group: &str, namespace: Option<&str>) -> ProducerOptions {
        ProducerOptions {
            client: self.config(
                &format!("p-{group}-{}", namespace.unwrap_or("none")),
                namespace,
            ),
            group: group.to_owned(),
            ..ProducerOptions::default()
        }
    }

    fn consumer(&self, group: &str, namespace: Option<&str>) -> PushConsumerOptions {
        PushConsumerOptions {
            client: self.config(
                &format!("c-{group}-{}", namespace.unwrap_or("none")),
                namespace,
            ),
            group: group.to_owned(),
            consume_from: ConsumeFrom::FirstOffset,
            ..PushConsumerOptions::default()
        }
    }

    /// Creates `topic` (the name on the broker) and waits until the name server routes it.
    async fn create_topic(&self, topic: &str, queues: i32) {
        let options = TopicOptions {
            queue_nums: queues,
            ..TopicOptions::default()
        };
        self.admin
            .create_topic("DefaultCluster", topic, &options)
            .await
            .expect("create topic");
        wait_for("topic route", WAIT, || async {
            self.admin
                .topic_route(topic)
                .await
                .map(|r| r.queue_datas.iter().any(|q| q.write_queue_nums == queues))
                .unwrap_or(false)
        })
        .await;
    }

    /// Waits until `topic` (the name on the broker) holds exactly `n` messages.
    async fn wait_stored(&self, topic: &str, n: i64) {
        let mut count = -1;
        let deadline = Instant::now() + WAIT;
        while count != n {
            assert!(Instant::now() < deadline, "{topic} holds {count}, not {n}");
            tokio::time::sleep(Duration::from_millis(50)).await;
            let stats = self.admin.topic_stats(topic).await.expect("topic stats");
            count = stats.values().map(|o| o.max_offset - o.min_offset).sum();
        }
    }

    /// `group`'s committed offset of `topic`'s queue 0 on the broker (Apache answers 0 when it
    /// has none).
    async fn committed(&self, group: &str, topic: &str) -> i64 {
        self.admin
            .consumer_progress(group, topic)
            .await
            .ok()
            .and_then(|p| {
                p.into_iter()
                    .find(|(mq, _)| mq.topic == topic && mq.queue_id == 0)
                    .map(|(_, o)| o.consumer_offset)
            })
            .unwrap_or(-1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_features_against_the_apache_broker() {
    if !require_tools(
        "client_features_against_the_apache_broker",
        &["java", "mvn"],
    ) {
        return;
    }
    let started = Instant::now();
    let (namesrv, broker) = tokio::task::spawn_blocking(|| {
        let namesrv = ApacheNamesrv::start();
        let options = BrokerOptions {
            extra_config: vec![
                ("messageDelayLevel".to_owned(), ["1s"; 18].join(" ")),
                ("traceTopicEnable".to_owned(), "true".to_owned()),
            ],
            ..BrokerOptions::default()
        };
        let mut broker = ApacheBroker::start(namesrv.addr(), options);
        broker.wait_registered(namesrv.addr(), Duration::from_secs(90));
        (namesrv, broker)
    })
    .await
    .expect("apache servers");
    let ns = namesrv.addr().to_owned();
    let admin = Admin::new(&ClientConfig {
        namesrv_addr: ns.clone(),
        instance_name: "apache-features-admin".to_owned(),
        ..ClientConfig::default()
    })
    .expect("admin");
    let apache = Apache {
        ns,
        broker_addr: broker.addr().to_owned(),
        admin,
    };
    eprintln!("apache servers up after {:?}", started.elapsed());

    let mut step = Instant::now();
    namespace(&apache).await;
    eprintln!("namespace: {:?}", step.elapsed());
    step = Instant::now();
    consume_timeout(&apache).await;
    eprintln!("consume-timeout: {:?}", step.elapsed());
    step = Instant::now();
    traced_in_a_namespace(&apache).await;
    eprintln!("message-trace with a namespace: {:?}", step.elapsed());

    apache.admin.shutdown().await;
    tokio::task::spawn_blocking(move || drop((broker, namesrv)))
        .await
        .expect("stop");
    eprintln!("whole test: {:?}", started.elapsed());
}

/// What a listener saw of one message: (body, topic, queue topic, reconsume times).
type Seen = (String, String, String, i32);

/// A push consumer of `topic` in `namespace` recording what it sees; the first delivery of the
/// body `fail_once` is answered "reconsume later".
async fn recording_consumer(
    apache: &Apache,
    namespace: &str,
    group: &str,
    topic: &str,
    fail_once: Option<&str>,
) -> (PushConsumer, Arc<Mutex<Vec<Seen>>>) {
    let got: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let sink = got.clone();
    let fail_once = fail_once.map(str::to_owned);
    let consumer = PushConsumer::start(
        apache.consumer(group, Some(namespace)),
        [(topic.to_owned(), FilterExpression::all())],
        move |batch: &[MessageView]| {
            let mut got = sink.lock().expect("lock");
            let mut result = ConsumeResult::Success;
            for m in batch {
                let body = String::from_utf8_lossy(m.body()).into_owned();
                if fail_once.as_deref() == Some(body.as_str()) && m.reconsume_times() == 0 {
                    result = ConsumeResult::ReconsumeLater;
                }
                got.push((
                    body,
                    m.topic().to_owned(),
                    m.queue().topic.clone(),
                    m.reconsume_times(),
                ));
            }
            result
        },
    )
    .await
    .expect("consumer");
    (consumer, got)
}

/// docs/scenarios.md, "namespace": tenantA and tenantB use the same topic and group names on one
/// Apache broker; each consumer gets exactly its own 3 messages under the bare topic name (and
/// tenantA's one failure comes back through `%RETRY%tenantA%<group>`, shown as
/// `%RETRY%<group>`); send results name the bare topic; an illegal namespace is refused.
async fn namespace(apache: &Apache) {
    let topic = unique("NsOrders");
    let group = unique("NsGroup");
    let tenants = ["tenantA", "tenantB"];
    for tenant in tenants {
        apache.create_topic(&format!("{tenant}%{topic}"), 2).await;
    }
    let mut producers = Vec::new();
    for tenant in tenants {
        let producer = Producer::start(apache.producer("NsProducer", Some(tenant)))
            .await
            .expect("producer");
        assert_eq!(producer.group(), format!("{tenant}%NsProducer"));
        for i in 0..3 {
            let sent = producer
                .send(Message::new(&topic, format!("{tenant}-{i}")))
                .await
                .expect("send");
            assert_eq!(
                sent.queue.topic, topic,
                "the send result names the bare topic"
            );
        }
        producers.push(producer);
    }
    // On Apache's broker each namespace has its own topic; the bare name has none.
    for tenant in tenants {
        apache.wait_stored(&format!("{tenant}%{topic}"), 3).await;
    }
    assert!(
        apache.admin.topic_route(&topic).await.is_err(),
        "nothing was sent to the bare topic"
    );

    let (ca, got_a) =
        recording_consumer(apache, "tenantA", &group, &topic, Some("tenantA-1")).await;
    let (cb, got_b) = recording_consumer(apache, "tenantB", &group, &topic, None).await;
    wait_for("tenantB's 3 messages", WAIT, || async {
        got_b.lock().expect("lock").len() >= 3
    })
    .await;
    wait_for("tenantA's 3 messages and the redelivery", WAIT, || async {
        got_a.lock().expect("lock").len() >= 4
    })
    .await;
    let retry_shown = format!("%RETRY%{group}");
    for (tenant, got, n) in [("tenantA", &got_a, 4), ("tenantB", &got_b, 3)] {
        let got = got.lock().expect("lock").clone();
        assert_eq!(got.len(), n, "{tenant}: {got:?}");
        let mut bodies: Vec<&str> = got
            .iter()
            .filter(|s| s.3 == 0)
            .map(|s| s.0.as_str())
            .collect();
        bodies.sort_unstable();
        assert_eq!(
            bodies,
            (0..3).map(|i| format!("{tenant}-{i}")).collect::<Vec<_>>()
        );
        for (body, t, queue_topic, reconsumed) in &got {
            assert_eq!(t, &topic, "{tenant} got {body} under {t}");
            let queue = if *reconsumed > 0 {
                &retry_shown
            } else {
                &topic
            };
            assert_eq!(queue_topic, queue, "{tenant}: the queue of {body}");
        }
    }
    let redelivered: Vec<Seen> = got_a
        .lock()
        .expect("lock")
        .iter()
        .filter(|s| s.3 > 0)
        .cloned()
        .collect();
    assert_eq!(
        redelivered,
        [(
            "tenantA-1".to_owned(),
            topic.clone(),
            retry_shown.clone(),
            1
        )]
    );
    // Apache's broker made the retry topic of the namespaced group.
    apache
        .admin
        .topic_route(&format!("%RETRY%tenantA%{group}"))
        .await
        .expect("the retry topic of tenantA's group");
    assert!(ca
        .assigned_queues()
        .iter()
        .all(|q| q.topic == topic || q.topic == retry_shown));

    // An illegal namespace is refused before anything reaches the servers.
    let err = Producer::start(apache.producer("NsProducer", Some("bad%ns")))
        .await
        .expect_err("an illegal namespace");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("namespace"), "{err}");

    ca.shutdown().await;
    cb.shutdown().await;
    for p in producers {
        p.shutdown().await;
    }
}

/// docs/scenarios.md, "consume-timeout": a concurrent listener blocks on its first delivery far
/// past a 1 s consume timeout; while it is still stuck, Apache's broker delivers the message
/// again with reconsume times 1 (the client returned it with CONSUMER_SEND_MSG_BACK), and the
/// group's committed offset on the broker moves past it.
async fn consume_timeout(apache: &Apache) {
    let topic = unique("ApExpire");
    apache.create_topic(&topic, 1).await;
    let producer = Producer::start(apache.producer(&unique("pg"), None))
        .await
        .expect("producer");
    let sent = producer
        .send(Message::new(&topic, "stuck"))
        .await
        .expect("send");
    producer.shutdown().await;

    let stuck = StuckListener::default();
    let group = unique("cg_expire");
    let mut options = apache.consumer(&group, None);
    options.consume_timeout = Duration::from_secs(1);
    options.persist_interval = Duration::from_millis(200);
    let consumer = PushConsumer::start(
        options,
        [(topic.clone(), FilterExpression::all())],
        stuck.listener(),
    )
    .await
    .expect("consumer");
    let again = stuck.redelivered(WAIT).await;
    assert_eq!(again.body().as_ref(), b"stuck");
    assert_eq!(again.msg_id(), sent.msg_id);
    assert_eq!(again.topic(), topic);
    assert_eq!(again.reconsume_times(), 1);
    wait_for(
        "the committed offset to pass the stuck message",
        WAIT,
        || async { apache.committed(&group, &topic).await >= 1 },
    )
    .await;
    stuck.release(WAIT).await;
    consumer.shutdown().await;
    assert_eq!(stuck.redeliveries(), 1, "redelivered once");
    assert_eq!(apache.committed(&group, &topic).await, 1);
}

fn count(records: &[TraceRecord], t: TraceType) -> usize {
    records.iter().filter(|r| r.trace_type == t).count()
}

/// docs/scenarios.md, "message-trace", the namespaced part: a traced producer and a traced push
/// consumer in namespace `tenantT` write their records to Apache's bare `RMQ_SYS_TRACE_TOPIC`,
/// where they are found by message id, naming the bare topic and groups.
async fn traced_in_a_namespace(apache: &Apache) {
    let tenant = "tenantT";
    let topic = unique("ApTracedNs");
    apache.create_topic(&format!("{tenant}%{topic}"), 1).await;
    apache
        .admin
        .topic_route(TRACE_TOPIC)
        .await
        .expect("traceTopicEnable made the trace topic");

    let pg = unique("trace_nspg");
    let producer = Producer::start(ProducerOptions {
        enable_msg_trace: true,
        ..apache.producer(&pg, Some(tenant))
    })
    .await
    .expect("producer");
    let sent = producer
        .send(
            Message::new(&topic, "traced in a namespace")
                .with_tag("TagNs")
                .with_keys(["ns-key-1"]),
        )
        .await
        .expect("send");
    let group = unique("trace_nscg");
    let got = Collected::default();
    let consumer = PushConsumer::start(
        PushConsumerOptions {
            enable_msg_trace: true,
            ..apache.consumer(&group, Some(tenant))
        },
        [(topic.clone(), FilterExpression::all())],
        got.listener(),
    )
    .await
    .expect("consumer");
    got.wait_for(1, WAIT).await;
    assert_eq!(got.snapshot()[0].msg_id(), sent.msg_id);

    let complete = |found: &[TraceRecord]| {
        count(found, TraceType::Pub) == 1
            && count(found, TraceType::SubBefore) == 1
            && count(found, TraceType::SubAfter) == 1
    };
    wait_for("the trace records in RMQ_SYS_TRACE_TOPIC", WAIT, || async {
        complete(&trace_records(&apache.admin, TRACE_TOPIC, &sent.msg_id).await)
    })
    .await;
    let found = trace_records(&apache.admin, TRACE_TOPIC, &sent.msg_id).await;
    assert!(complete(&found), "{found:?}");
    let p = found
        .iter()
        .find(|r| r.trace_type == TraceType::Pub)
        .expect("Pub");
    assert_eq!(
        (p.topic.as_str(), p.group.as_str()),
        (topic.as_str(), pg.as_str())
    );
    assert_eq!(p.offset_msg_id, sent.offset_msg_id);
    assert_eq!(p.tags, "TagNs");
    assert_eq!(p.keys, "ns-key-1");
    assert_eq!(p.store_host, apache.broker_addr);
    assert_eq!(p.msg_type, data::msg_type::NORMAL);
    assert!(p.success);
    let before = found
        .iter()
        .find(|r| r.trace_type == TraceType::SubBefore)
        .expect("SubBefore");
    let after = found
        .iter()
        .find(|r| r.trace_type == TraceType::SubAfter)
        .expect("SubAfter");
    assert_eq!(before.group, group);
    assert_eq!(after.group, group);
    assert_eq!(before.request_id, after.request_id);
    assert_eq!(
        (after.success, after.context_code),
        (true, data::consume_code::SUCCESS)
    );
    // Nothing went to a namespaced trace topic.
    assert!(
        apache
            .admin
            .topic_route(&format!("{tenant}%{TRACE_TOPIC}"))
            .await
            .is_err(),
        "no {tenant}%{TRACE_TOPIC}"
    );

    consumer.shutdown().await;
    producer.shutdown().await;
    assert_eq!(producer.traces_dropped(), 0);
    assert_eq!(consumer.traces_dropped(), 0);
}
