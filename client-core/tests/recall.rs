//! `Producer::recall` against the real `mqbroker` (LocalCluster with `recallMessageEnable=true`):
//! a recalled timer message is never consumed, a later one is; bad and late recalls fail.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferromq_client::testing::LocalCluster;
use ferromq_client::{
    ConsumeFrom, ConsumeResult, ErrorKind, FilterExpression, Message, MessageView, Producer,
    ProducerOptions, PushConsumer, PushConsumerOptions,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recalled_timer_message_is_never_consumed() {
    let cluster = tokio::task::spawn_blocking(|| {
        LocalCluster::builder()
            .brokers(1)
            .broker_config("recallMessageEnable=true")
            .start()
    })
    .await
    .expect("join")
    .expect("cluster starts");
    let topic = "RustRecall";
    let producer = Producer::start(ProducerOptions {
        client: cluster.client_config("pg_recall"),
        group: "pg_recall".to_owned(),
        ..ProducerOptions::default()
    })
    .await
    .expect("producer");
    let gone = producer
        .send(Message::new(topic, "recalled").with_delay_ms(2000))
        .await
        .expect("send");
    let kept = producer
        .send(Message::new(topic, "kept").with_delay_ms(3000))
        .await
        .expect("send");
    let handle = gone
        .recall_handle
        .clone()
        .expect("a timer send has a handle");
    assert_eq!(
        producer.recall(topic, &handle).await.expect("recall"),
        gone.msg_id
    );
    let bad = producer.recall(topic, "forged").await.expect_err("forged");
    assert_eq!(bad.kind(), ErrorKind::InvalidArgument);

    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let consumer = PushConsumer::start(
        PushConsumerOptions {
            client: cluster.client_config("cg_recall"),
            group: "cg_recall".to_owned(),
            consume_from: ConsumeFrom::FirstOffset,
            ..PushConsumerOptions::default()
        },
        [(topic.to_owned(), FilterExpression::all())],
        move |batch: &[MessageView]| {
            sink.lock().expect("lock").extend(
                batch
                    .iter()
                    .map(|m| String::from_utf8_lossy(m.body()).into_owned()),
            );
            ConsumeResult::Success
        },
    )
    .await
    .expect("consumer");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !got.lock().expect("lock").iter().any(|b| b == "kept") {
        assert!(Instant::now() < deadline, "kept never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(*got.lock().expect("lock"), vec!["kept".to_owned()]);
    // Too late: the broker's ILLEGAL_OPERATION (604).
    let late = producer
        .recall(topic, kept.recall_handle.as_deref().expect("handle"))
        .await
        .expect_err("late");
    assert_eq!(late.response_code().map(|c| c.value()), Some(604), "{late}");
    consumer.shutdown().await;
    producer.shutdown().await;
}
