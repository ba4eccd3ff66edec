//! Our client over TLS against the real Apache RocketMQ 5.3.3 name server and broker (jars
//! from Maven Central). Apache's servers run in their default TLS mode, permissive with a
//! self-signed certificate made at start-up (`tls.test.mode.enable=true`), which no client can
//! verify: the client uses `trust_any_server`, as Apache's own client does by default. The
//! connections are TLS end to end: a client that checks certificates is refused by itself.
//!
//! Needs `java` and `mvn` on PATH; prints `SKIPPED` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{unique, wait_for};
use ferromq_client::{
    Admin, ClientConfig, ConsumeFrom, FilterExpression, Message, Producer, ProducerOptions,
    PullConsumer, PullConsumerOptions, SendStatus, TlsConfig, TopicOptions,
};
use ferromq_protocol::{RemotingCommand, RequestCode};
use ferromq_remoting::{
    ClientTlsSettings, Connection, ConnectionConfig, IgnoreRequests, ServerTrust, TlsConnector,
};
use ferromq_tests::{require_tools, ApacheBroker, ApacheNamesrv, BrokerOptions};

const WAIT: Duration = Duration::from_secs(60);

fn config(namesrv: &str) -> ClientConfig {
    ClientConfig {
        namesrv_addr: namesrv.to_owned(),
        instance_name: unique("tls-apache"),
        tls: Some(TlsConfig {
            trust_any_server: true,
            ..TlsConfig::default()
        }),
        ..ClientConfig::default()
    }
}

/// Whether `addr` answers a request over TLS with the given trust.
async fn answers_over_tls(addr: &str, trust: ServerTrust) -> bool {
    let tls = TlsConnector::new(&ClientTlsSettings {
        trust,
        verify_hostname: true,
        ..ClientTlsSettings::default()
    })
    .expect("client TLS");
    let config = ConnectionConfig {
        tls: Some(tls),
        ..ConnectionConfig::default()
    };
    let Ok(conn) = Connection::connect(addr, Arc::new(IgnoreRequests), config).await else {
        return false;
    };
    let request = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO);
    let answered = conn.request(request, Duration::from_secs(10)).await.is_ok();
    conn.close();
    answered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_sends_and_consumes_over_tls_through_apache_servers() {
    if !require_tools("tls_apache", &["java", "mvn"]) {
        return;
    }
    let (namesrv, broker) = tokio::task::spawn_blocking(|| {
        let namesrv = ApacheNamesrv::start();
        let mut broker = ApacheBroker::start(namesrv.addr(), BrokerOptions::default());
        broker.wait_registered(namesrv.addr(), Duration::from_secs(90));
        (namesrv, broker)
    })
    .await
    .expect("apache servers");

    // Apache's servers speak TLS with a certificate no CA signed.
    assert!(answers_over_tls(namesrv.addr(), ServerTrust::Any).await);
    assert!(answers_over_tls(broker.addr(), ServerTrust::Any).await);
    assert!(
        !answers_over_tls(broker.addr(), ServerTrust::System).await,
        "Apache's self-signed certificate does not verify"
    );

    let topic = unique("ApacheTls");
    let admin = Admin::new(&config(namesrv.addr())).expect("admin");
    let options = TopicOptions {
        queue_nums: 2,
        ..TopicOptions::default()
    };
    admin
        .create_topic("DefaultCluster", &topic, &options)
        .await
        .expect("create topic over TLS");
    wait_for("topic route", WAIT, || async {
        admin.topic_route(&topic).await.is_ok()
    })
    .await;
    admin.shutdown().await;

    let producer = Producer::start(ProducerOptions {
        client: config(namesrv.addr()),
        group: unique("tls_apache_pg"),
        ..ProducerOptions::default()
    })
    .await
    .expect("producer");
    for i in 0..4 {
        let sent = producer
            .send(Message::new(&topic, format!("to apache {i}")))
            .await
            .expect("send over TLS");
        assert_eq!(sent.status, SendStatus::Ok);
    }
    let consumer = PullConsumer::start(PullConsumerOptions {
        client: config(namesrv.addr()),
        group: unique("tls_apache_cg"),
        consume_from: ConsumeFrom::FirstOffset,
        ..PullConsumerOptions::default()
    })
    .await
    .expect("consumer");
    consumer
        .subscribe(&topic, FilterExpression::tag("*"))
        .await
        .expect("subscribe");
    let mut bodies = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while bodies.len() < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "consumed {bodies:?}"
        );
        for m in consumer
            .poll(Duration::from_millis(500))
            .await
            .expect("poll over TLS")
        {
            bodies.push(String::from_utf8_lossy(m.body()).into_owned());
        }
    }
    bodies.sort();
    assert_eq!(
        bodies,
        ["to apache 0", "to apache 1", "to apache 2", "to apache 3"]
    );
    consumer.shutdown().await;
    producer.shutdown().await;
    tokio::task::spawn_blocking(move || drop((broker, namesrv)))
        .await
        .expect("servers stop");
}
