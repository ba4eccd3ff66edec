//! Namespaces (`ClientConfig::namespace`, docs/namespaces.md) against real FerroMQ servers
//! (`testing::LocalCluster`): two applications with different namespaces use the same topic and
//! group names on one cluster without seeing each other's messages; the wire carries `ns%name`
//! while listeners, send results, pull queues, transaction check-backs and replies show the bare
//! names; redeliveries go through `%RETRY%ns%group`. Needs the server binaries (`cargo build -p
//! ferromq-namesrv -p ferromq-broker`) or `FERROMQ_BIN_DIR`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferromq_client::testing::LocalCluster;
use ferromq_client::{
    Admin, ClientConfig, ConsumeFrom, ConsumeResult, ErrorKind, FilterExpression, Message,
    MessageView, Producer, ProducerOptions, PullConsumer, PullConsumerOptions, PushConsumer,
    PushConsumerOptions, TopicOptions, TransactionListener, TransactionProducer, TransactionState,
};

const WAIT: Duration = Duration::from_secs(60);

async fn wait_for<F: FnMut() -> bool>(what: &str, mut check: F) {
    let deadline = Instant::now() + WAIT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn config(cluster: &LocalCluster, instance: &str, namespace: Option<&str>) -> ClientConfig {
    ClientConfig {
        namespace: namespace.map(str::to_owned),
        ..cluster.client_config(instance)
    }
}

/// Creates `topic` (a wire name) with 2 queues and waits for its route.
async fn create_topic(admin: &Admin, topic: &str) {
    let options = TopicOptions {
        queue_nums: 2,
        ..TopicOptions::default()
    };
    admin
        .create_topic("DefaultCluster", topic, &options)
        .await
        .expect("create topic");
    let deadline = Instant::now() + WAIT;
    while admin.topic_route(topic).await.is_err() {
        assert!(Instant::now() < deadline, "no route for {topic}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until wire topic `topic` holds `n` messages (the consume queues are written just after
/// the send is acknowledged); panics if it holds another count at the deadline.
async fn wait_stored(admin: &Admin, topic: &str, n: i64) {
    let deadline = Instant::now() + WAIT;
    loop {
        let stats = admin.topic_stats(topic).await.expect("topic stats");
        let count: i64 = stats.values().map(|o| o.max_offset - o.min_offset).sum();
        if count == n {
            return;
        }
        assert!(Instant::now() < deadline, "{topic} holds {count}, not {n}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a listener saw of one message: (body, topic, queue topic, reconsume times).
type Seen = (String, String, String, i32);

fn seen(m: &MessageView) -> Seen {
    (
        String::from_utf8_lossy(m.body()).into_owned(),
        m.topic().to_owned(),
        m.queue().topic.clone(),
        m.reconsume_times(),
    )
}

/// A push consumer of `topic` in `namespace`, group `group`, recording what it sees; the first
/// delivery of a body equal to `fail_once` is answered "reconsume later".
async fn consumer(
    cluster: &LocalCluster,
    namespace: &str,
    group: &str,
    topic: &str,
    fail_once: Option<&str>,
) -> (PushConsumer, Arc<Mutex<Vec<Seen>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let fail_once = fail_once.map(str::to_owned);
    let options = PushConsumerOptions {
        client: config(cluster, &format!("c-{namespace}"), Some(namespace)),
        group: group.to_owned(),
        consume_from: ConsumeFrom::FirstOffset,
        ..PushConsumerOptions::default()
    };
    let consumer = PushConsumer::start(
        options,
        [(topic.to_owned(), FilterExpression::all())],
        move |batch: &[MessageView]| {
            let mut got = sink.lock().expect("lock");
            let mut result = ConsumeResult::Success;
            for m in batch {
                let s = seen(m);
                if fail_once.as_deref() == Some(s.0.as_str()) && s.3 == 0 {
                    result = ConsumeResult::ReconsumeLater;
                }
                got.push(s);
            }
            result
        },
    )
    .await
    .expect("consumer");
    (consumer, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_keep_the_same_names_apart() {
    let cluster = LocalCluster::start(1).expect("cluster starts");
    let admin = Admin::new(&cluster.client_config("admin")).expect("admin");
    let topic = "NsOrders";
    let group = "NsGroup";
    for ns in ["tenantA", "tenantB"] {
        create_topic(&admin, &format!("{ns}%{topic}")).await;
    }

    let mut producers = Vec::new();
    for ns in ["tenantA", "tenantB"] {
        let producer = Producer::start(ProducerOptions {
            client: config(&cluster, &format!("p-{ns}"), Some(ns)),
            group: "NsProducer".to_owned(),
            ..ProducerOptions::default()
        })
        .await
        .expect("producer");
        assert_eq!(producer.group(), format!("{ns}%NsProducer"));
        for i in 0..3 {
            let sent = producer
                .send(Message::new(topic, format!("{ns}-{i}")))
                .await
                .expect("send");
            // The application sent to `NsOrders`; the result says so.
            assert_eq!(sent.queue.topic, topic);
        }
        producers.push(producer);
    }
    // On the wire, each namespace has its own topic.
    wait_stored(&admin, &format!("tenantA%{topic}"), 3).await;
    wait_stored(&admin, &format!("tenantB%{topic}"), 3).await;

    // Same group name, same topic name, different namespaces: each sees its own 3 messages;
    // tenantA fails one once, which comes back through %RETRY%tenantA%NsGroup.
    let (ca, got_a) = consumer(&cluster, "tenantA", group, topic, Some("tenantA-1")).await;
    let (cb, got_b) = consumer(&cluster, "tenantB", group, topic, None).await;
    wait_for("tenantB's messages", || {
        got_b.lock().expect("lock").len() >= 3
    })
    .await;
    wait_for("tenantA's messages and the redelivery", || {
        got_a.lock().expect("lock").len() >= 4
    })
    .await;
    for (ns, got, n) in [("tenantA", &got_a, 4), ("tenantB", &got_b, 3)] {
        let got = got.lock().expect("lock").clone();
        assert_eq!(got.len(), n, "{ns}: {got:?}");
        for (body, t, queue_topic, reconsumed) in &got {
            assert!(body.starts_with(ns), "{ns} got {body}");
            assert_eq!(t, topic);
            // A redelivery comes from the group's retry queue, named without the namespace.
            let queue = if *reconsumed > 0 {
                "%RETRY%NsGroup"
            } else {
                topic
            };
            assert_eq!(queue_topic, queue);
        }
    }
    let redelivered: Vec<_> = got_a
        .lock()
        .expect("lock")
        .iter()
        .filter(|s| s.3 > 0)
        .cloned()
        .collect();
    assert_eq!(
        redelivered,
        vec![(
            "tenantA-1".to_owned(),
            topic.to_owned(),
            "%RETRY%NsGroup".to_owned(),
            1
        )]
    );
    // The group and its retry topic are namespaced on the broker.
    admin
        .topic_route("%RETRY%tenantA%NsGroup")
        .await
        .expect("retry topic of the namespaced group");
    let assigned = ca.assigned_queues();
    assert!(!assigned.is_empty());
    assert!(assigned
        .iter()
        .all(|q| q.topic == topic || q.topic == "%RETRY%NsGroup"));

    ca.shutdown().await;
    cb.shutdown().await;
    for p in producers {
        p.shutdown().await;
    }
    admin.shutdown().await;
    cluster.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_consumer_names_queues_without_the_namespace() {
    let cluster = LocalCluster::start(1).expect("cluster starts");
    let admin = Admin::new(&cluster.client_config("admin")).expect("admin");
    let topic = "NsPull";
    create_topic(&admin, "tenantP%NsPull").await;
    create_topic(&admin, "NsPull").await;
    let producer = Producer::start(ProducerOptions {
        client: config(&cluster, "p", Some("tenantP")),
        group: "NsPullProducer".to_owned(),
        ..ProducerOptions::default()
    })
    .await
    .expect("producer");
    for i in 0..4 {
        producer
            .send(Message::new(topic, format!("p-{i}")))
            .await
            .expect("send");
    }
    // A producer without a namespace writes the bare topic: the pull consumer must not see it.
    let plain = Producer::start(ProducerOptions {
        client: config(&cluster, "plain", None),
        group: "NsPlainProducer".to_owned(),
        ..ProducerOptions::default()
    })
    .await
    .expect("producer");
    plain
        .send(Message::new(topic, "plain"))
        .await
        .expect("send");

    let consumer = PullConsumer::start(PullConsumerOptions {
        client: config(&cluster, "pull", Some("tenantP")),
        group: "NsPullGroup".to_owned(),
        consume_from: ConsumeFrom::FirstOffset,
        ..PullConsumerOptions::default()
    })
    .await
    .expect("pull consumer");
    let queues = consumer.fetch_queues(topic).await.expect("queues");
    assert_eq!(queues.len(), 2);
    assert!(queues.iter().all(|q| q.topic == topic), "{queues:?}");
    consumer.assign(queues.clone()).await.expect("assign");
    let mut assignment = consumer.assignment();
    assignment.sort();
    let mut expected = queues.clone();
    expected.sort();
    assert_eq!(assignment, expected);

    let mut bodies = Vec::new();
    let deadline = Instant::now() + WAIT;
    while bodies.len() < 4 {
        assert!(Instant::now() < deadline, "polled only {bodies:?}");
        for m in consumer.poll(Duration::from_secs(1)).await.expect("poll") {
            assert_eq!(m.topic(), topic);
            assert_eq!(m.queue().topic, topic);
            bodies.push(String::from_utf8_lossy(m.body()).into_owned());
        }
    }
    bodies.sort();
    assert_eq!(bodies, ["p-0", "p-1", "p-2", "p-3"]);
    consumer.commit().await.expect("commit");
    let mut committed = 0;
    for q in &queues {
        committed += consumer.committed(q).await.expect("committed").unwrap_or(0);
    }
    assert_eq!(committed, 4);
    // Seeking a queue named without the namespace works; one of another topic is refused.
    consumer.seek_to_begin(&queues[0]).await.expect("seek");
    let foreign = ferromq_protocol::body::MessageQueue::new("Other", &queues[0].broker_name, 0);
    let err = consumer.seek(&foreign, 0).await.expect_err("not assigned");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);

    consumer.shutdown().await;
    producer.shutdown().await;
    plain.shutdown().await;
    admin.shutdown().await;
    cluster.stop();
}

/// Commits every transaction at its check-back, recording the topic the check-back shows.
struct CheckLater {
    checked: Arc<Mutex<Vec<String>>>,
}

impl TransactionListener for CheckLater {
    fn execute(&self, message: &Message, _id: &str) -> TransactionState {
        assert_eq!(message.topic(), "NsTx");
        TransactionState::Unknown
    }

    fn check(&self, message: &MessageView) -> TransactionState {
        self.checked
            .lock()
            .expect("lock")
            .push(message.topic().to_owned());
        TransactionState::Commit
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_and_request_reply_in_a_namespace() {
    let cluster = LocalCluster::builder()
        .brokers(1)
        .broker_config("transactionCheckInterval=500")
        .broker_config("transactionTimeOut=500")
        .start()
        .expect("cluster starts");
    let admin = Admin::new(&cluster.client_config("admin")).expect("admin");
    let ns = "tenantT";
    create_topic(&admin, "tenantT%NsTx").await;
    create_topic(&admin, "tenantT%NsRpc").await;

    // A transaction left unknown is committed by the check-back, which shows the bare topic.
    let checked = Arc::new(Mutex::new(Vec::new()));
    let tx = TransactionProducer::start(
        ProducerOptions {
            client: config(&cluster, "tx", Some(ns)),
            group: "NsTxProducer".to_owned(),
            ..ProducerOptions::default()
        },
        CheckLater {
            checked: checked.clone(),
        },
    )
    .await
    .expect("transaction producer");
    let sent = tx
        .send(Message::new("NsTx", "tx-body"))
        .await
        .expect("half message");
    assert_eq!(sent.send.queue.topic, "NsTx");
    let (txc, got) = consumer(&cluster, ns, "NsTxGroup", "NsTx", None).await;
    wait_for("the checked-back commit", || {
        !got.lock().expect("lock").is_empty()
    })
    .await;
    assert_eq!(checked.lock().expect("lock")[0], "NsTx");
    assert_eq!(got.lock().expect("lock")[0].1, "NsTx");

    // Request-reply: the responder sees the bare topic, the requester gets the reply.
    let replier = Producer::start(ProducerOptions {
        client: config(&cluster, "replier", Some(ns)),
        group: "NsReplier".to_owned(),
        ..ProducerOptions::default()
    })
    .await
    .expect("replier");
    let answering = replier.clone();
    let responder = PushConsumer::start_async(
        PushConsumerOptions {
            client: config(&cluster, "responder", Some(ns)),
            group: "NsResponder".to_owned(),
            ..PushConsumerOptions::default()
        },
        [("NsRpc".to_owned(), FilterExpression::all())],
        move |messages: Vec<MessageView>| {
            let producer = answering.clone();
            async move {
                for m in messages {
                    let body = format!("pong:{}:{}", m.topic(), String::from_utf8_lossy(m.body()));
                    let reply = Message::reply_to(&m, body).expect("a request");
                    producer.send_reply(reply).await.expect("reply accepted");
                }
                ConsumeResult::Success
            }
        },
    )
    .await
    .expect("responder");
    let requester = Producer::start(ProducerOptions {
        client: config(&cluster, "requester", Some(ns)),
        group: "NsRequester".to_owned(),
        ..ProducerOptions::default()
    })
    .await
    .expect("requester");
    let reply = requester
        .request(Message::new("NsRpc", "ping"), Duration::from_secs(30))
        .await
        .expect("reply");
    assert_eq!(&reply.body()[..], b"pong:NsRpc:ping");
    assert!(
        !reply.topic().starts_with("tenantT%"),
        "reply topic {}",
        reply.topic()
    );

    responder.shutdown().await;
    requester.shutdown().await;
    replier.shutdown().await;
    txc.shutdown().await;
    tx.shutdown().await;
    admin.shutdown().await;
    cluster.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_illegal_namespace_is_refused_before_anything_starts() {
    let client = ClientConfig {
        namesrv_addr: "127.0.0.1:1".to_owned(),
        namespace: Some("bad%ns".to_owned()),
        ..ClientConfig::default()
    };
    let err = Producer::start(ProducerOptions {
        client: client.clone(),
        group: "g".to_owned(),
        ..ProducerOptions::default()
    })
    .await
    .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("namespace"), "{err}");
    let options = PushConsumerOptions {
        client: ClientConfig {
            namespace: Some("has space".to_owned()),
            ..client.clone()
        },
        group: "g".to_owned(),
        ..PushConsumerOptions::default()
    };
    let err = options.validate().expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let options = PullConsumerOptions {
        client,
        group: "g".to_owned(),
        ..PullConsumerOptions::default()
    };
    assert_eq!(
        options.validate().expect_err("refused").kind(),
        ErrorKind::InvalidArgument
    );
}
