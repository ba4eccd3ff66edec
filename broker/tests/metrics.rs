//! `metricsExporterType=PROM`: `GET /metrics` answers Prometheus text with Apache 5.x's metric
//! names and labels, counting what was sent and pulled; anything else gets an HTTP error, and a
//! client that never finishes its request is dropped without holding up the scrape.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use ferromq_broker::config::MetricsExporterType;
use ferromq_protocol::header::client::ConsumerSendMsgBackRequestHeader;
use ferromq_protocol::header::send::SendMessageResponseHeader;
use ferromq_protocol::message::{property, MessageId, Properties};
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

/// The whole HTTP answer to `request`.
async fn http(port: u16, request: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(T, s.read_to_string(&mut out))
        .await
        .expect("answered in time")
        .unwrap();
    out
}

/// The value of the series `line_start` (metric name with labels) in a scrape.
fn value(scrape: &str, line_start: &str) -> Option<f64> {
    scrape
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrape_counts_messages_and_lag() {
    let port = free_port().await;
    let broker = TestBroker::start(move |s| {
        s.broker.broker_name = "metrics-a".to_owned();
        s.broker.metrics_exporter_type = MetricsExporterType::Prom;
        s.broker.metrics_prom_exporter_host = "127.0.0.1".to_owned();
        s.broker.metrics_prom_exporter_port = port;
    })
    .await;
    let c = broker.client().await;
    for i in 0..5 {
        let r = c
            .request(
                send_request("Metered", 0, format!("m{i}").as_bytes(), "T", "k"),
                T,
            )
            .await
            .unwrap();
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    }
    // A delayed send (type "delay") and a message given up on at once (to the DLQ).
    let mut delayed = send_request("Metered", 1, b"later", "T", "k");
    let mut props = Properties::decode(delayed.ext_fields.get("i").unwrap());
    props.insert(property::DELAY_TIME_LEVEL, "1");
    delayed.ext_fields.insert("i", props.encode());
    let r = c.request(delayed, T).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let r = c
        .request(send_request("Doomed", 0, b"poison", "T", "k"), T)
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let first = SendMessageResponseHeader::read_ext(&r.ext_fields).unwrap();
    let back = ConsumerSendMsgBackRequestHeader {
        offset: first.msg_id.parse::<MessageId>().unwrap().offset,
        group: "MeterGroup".into(),
        delay_level: -1,
        origin_topic: Some("Doomed".into()),
        ..Default::default()
    };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::CONSUMER_SEND_MSG_BACK, &back),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    wait_max_offset(&c, "Metered", 0, 5).await;
    subscribe(&c, "MeterGroup", "Metered", "*").await;
    let r = c
        .request(pull_request("MeterGroup", "Metered", 0, 0, 0), T)
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let commit = ferromq_protocol::header::offset::UpdateConsumerOffsetRequestHeader {
        consumer_group: "MeterGroup".into(),
        topic: "Metered".into(),
        queue_id: 0,
        commit_offset: 2,
        ..Default::default()
    };
    // A second group at offset 0 that never pulls: all 5 ready.
    let late = ferromq_protocol::header::offset::UpdateConsumerOffsetRequestHeader {
        consumer_group: "LateGroup".into(),
        commit_offset: 0,
        ..commit.clone()
    };
    for commit in [&commit, &late] {
        c.request(
            RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, commit),
            T,
        )
        .await
        .unwrap();
    }

    // Nothing new at offset 5: the pull is held until its 200 ms are over.
    let r = c
        .request(pull_request("MeterGroup", "Metered", 0, 5, 200), T)
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::PULL_NOT_FOUND);

    let answer = http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let (head, scrape) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"));
    let node = r#"cluster="DefaultCluster",node_type="broker",node_id="metrics-a""#;
    assert!(scrape.contains("# TYPE rocketmq_messages_in_total counter"));
    assert_eq!(
        value(
            scrape,
            &format!(
                r#"rocketmq_messages_in_total{{{node},topic="Metered",message_type="normal",is_system="false"}}"#
            )
        ),
        Some(5.0),
        "{scrape}"
    );
    let delay = format!(r#"{node},topic="Metered",message_type="delay",is_system="false""#);
    assert_eq!(
        value(scrape, &format!("rocketmq_messages_in_total{{{delay}}}")),
        Some(1.0)
    );
    let normal = format!(r#"{node},topic="Metered",message_type="normal",is_system="false""#);
    assert!(scrape.contains("# TYPE rocketmq_message_size histogram"));
    for (series, n) in [
        (format!(r#"_bucket{{{normal},le="1024"}}"#), 5.0),
        (format!(r#"_bucket{{{normal},le="+Inf"}}"#), 5.0),
        (format!("_count{{{normal}}}"), 5.0),
    ] {
        let line = format!("rocketmq_message_size{series}");
        assert_eq!(value(scrape, &line), Some(n), "{line}");
    }
    let written = value(scrape, &format!("rocketmq_throughput_in_total{{{normal}}}")).unwrap();
    let sizes = value(scrape, &format!("rocketmq_message_size_sum{{{normal}}}")).unwrap();
    assert!(written > 5.0 * 2.0, "record bytes, not bodies: {written}");
    assert_eq!(sizes, written, "one observation per single send");
    assert_eq!(
        value(
            scrape,
            &format!(
                r#"rocketmq_send_to_dlq_messages_total{{{node},consumer_group="MeterGroup",topic="Doomed",is_system="false"}}"#
            )
        ),
        Some(1.0),
        "{scrape}"
    );
    assert_eq!(
        value(
            scrape,
            &format!(
                r#"rocketmq_messages_out_total{{{node},topic="Metered",consumer_group="MeterGroup"}}"#
            )
        ),
        Some(5.0)
    );
    assert_eq!(
        value(
            scrape,
            &format!(
                r#"rocketmq_consumer_lag_messages{{{node},topic="Metered",consumer_group="MeterGroup",is_retry="false",is_system="false"}}"#
            )
        ),
        Some(3.0)
    );
    // The first pull took all 5 of queue 0, the group committed 2: 3 in flight, none ready.
    for (metric, n) in [
        ("rocketmq_consumer_inflight_messages", 3.0),
        ("rocketmq_consumer_ready_messages", 0.0),
        ("rocketmq_consumer_queueing_latency", 0.0),
    ] {
        let line = format!(
            r#"{metric}{{{node},topic="Metered",consumer_group="MeterGroup",is_retry="false",is_system="false"}}"#
        );
        assert_eq!(value(scrape, &line), Some(n), "{line}");
    }
    let late = |metric: &str| {
        value(
            scrape,
            &format!(
                r#"{metric}{{{node},topic="Metered",consumer_group="LateGroup",is_retry="false",is_system="false"}}"#
            ),
        )
    };
    assert_eq!(late("rocketmq_consumer_ready_messages"), Some(5.0));
    assert_eq!(late("rocketmq_consumer_inflight_messages"), Some(0.0));
    let queued = late("rocketmq_consumer_queueing_latency");
    assert!(
        queued.is_some_and(|ms| (200.0..60_000.0).contains(&ms)),
        "stored before the 200 ms long poll: {queued:?}"
    );
    // Offset 2 of queue 0 was stored before the 200 ms long poll and still waits.
    let waited = value(
        scrape,
        &format!(
            r#"rocketmq_consumer_lag_latency{{{node},topic="Metered",consumer_group="MeterGroup",is_retry="false",is_system="false"}}"#
        ),
    );
    assert!(
        waited.is_some_and(|ms| (200.0..60_000.0).contains(&ms)),
        "{waited:?}"
    );
    assert_eq!(
        value(scrape, &format!("rocketmq_consumer_connections{{{node}}}")),
        Some(1.0)
    );
    assert!(value(scrape, &format!("rocketmq_topic_number{{{node}}}")).unwrap() >= 1.0);
    assert!(value(scrape, &format!("rocketmq_storage_size{{{node}}}")).unwrap() > 0.0);

    // Request latencies, by Apache's lower-case code names.
    assert!(scrape.contains("# TYPE rocketmq_rpc_latency histogram"));
    let rpc = |request: &str, response: &str, held: bool| {
        format!(
            r#"rocketmq_rpc_latency_count{{{node},protocol_type="remoting",request_code="{request}",response_code="{response}",is_long_polling="{held}",result="success"}}"#
        )
    };
    assert_eq!(
        value(scrape, &rpc("send_message_v2", "success", false)),
        Some(7.0),
        "{scrape}"
    );
    assert_eq!(
        value(scrape, &rpc("pull_message", "success", false)),
        Some(1.0)
    );
    assert_eq!(
        value(scrape, &rpc("pull_message", "pull_not_found", true)),
        Some(1.0)
    );
    let held_over_100ms = format!(
        r#"rocketmq_rpc_latency_bucket{{{node},protocol_type="remoting",request_code="pull_message",response_code="pull_not_found",is_long_polling="true",result="success",le="100"}}"#
    );
    assert_eq!(value(scrape, &held_over_100ms), Some(0.0));

    // Every metric the Grafana dashboard in conf/grafana queries is served.
    for name in dashboard_metrics() {
        let base = ["_bucket", "_count", "_sum"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .filter(|base| scrape.contains(&format!("# TYPE {base} histogram")))
            .unwrap_or(&name);
        assert!(
            scrape.contains(&format!("# TYPE {base} ")),
            "the dashboard queries {name}, which the broker does not serve"
        );
    }

    // Other paths and methods, and a request too large.
    assert!(http(port, "GET /other HTTP/1.1\r\n\r\n")
        .await
        .starts_with("HTTP/1.1 404"));
    assert!(http(port, "POST /metrics HTTP/1.1\r\n\r\n")
        .await
        .starts_with("HTTP/1.1 405"));
    let huge = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let _ = s.write_all(huge.as_bytes()).await;
    let mut out = String::new();
    let _ = tokio::time::timeout(T, s.read_to_string(&mut out)).await;
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");

    // A client that connects and sends nothing does not hold up a scrape.
    let _silent = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let started = std::time::Instant::now();
    assert!(http(port, "GET /metrics HTTP/1.1\r\n\r\n")
        .await
        .starts_with("HTTP/1.1 200"));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the scrape waited on another client"
    );
    broker.stop().await;
}

/// Transactions, as Apache's EndTransactionProcessor counts them: half messages outstanding,
/// commits (with the finish-latency histogram) and rollbacks, per topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_counted_per_topic() {
    use ferromq_protocol::header::transaction::EndTransactionRequestHeader;
    let port = free_port().await;
    let broker = TestBroker::start(move |s| {
        s.broker.metrics_exporter_type = MetricsExporterType::Prom;
        s.broker.metrics_prom_exporter_host = "127.0.0.1".to_owned();
        s.broker.metrics_prom_exporter_port = port;
    })
    .await;
    let c = broker.client().await;
    for (body, decision) in [("commit", 8), ("rollback", 12), ("pending", 0)] {
        let r = c
            .request(half_request("TXG", "TxMetered", body), T)
            .await
            .unwrap();
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
        if decision == 0 {
            continue;
        }
        let sent = SendMessageResponseHeader::read_ext(&r.ext_fields).unwrap();
        let end = EndTransactionRequestHeader {
            producer_group: "TXG".into(),
            tran_state_table_offset: sent.queue_offset,
            commit_log_offset: sent.msg_id.parse::<MessageId>().unwrap().offset,
            commit_or_rollback: decision,
            msg_id: format!("UNIQ-{body}"),
            ..Default::default()
        };
        let r = c
            .request(
                RemotingCommand::request_with_header(RequestCode::END_TRANSACTION, &end),
                T,
            )
            .await
            .unwrap();
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    }
    let answer = http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let (_, scrape) = answer.split_once("\r\n\r\n").unwrap();
    let series = |name: &str| {
        let labels = r#"cluster="DefaultCluster",node_type="broker",node_id="broker-t""#;
        value(scrape, &format!(r#"{name}{{{labels},topic="TxMetered""#))
    };
    assert_eq!(series("rocketmq_half_messages"), Some(1.0), "{scrape}");
    assert_eq!(series("rocketmq_commit_messages_total"), Some(1.0));
    assert_eq!(series("rocketmq_rollback_messages_total"), Some(1.0));
    assert_eq!(series("rocketmq_finish_message_latency_count"), Some(1.0));
    assert!(scrape.contains("# TYPE rocketmq_finish_message_latency histogram"));
    // Ours: the store's health and the process's descriptors.
    let node = r#"{cluster="DefaultCluster",node_type="broker",node_id="broker-t"}"#;
    assert_eq!(
        value(scrape, &format!("ferromq_store_fault{node}")),
        Some(0.0)
    );
    assert_eq!(
        value(
            scrape,
            &format!("ferromq_dispatch_skipped_records_total{node}")
        ),
        Some(0.0)
    );
    assert!(value(scrape, &format!("ferromq_open_files{node}")).is_some_and(|n| n > 3.0));
    assert!(scrape.contains("# TYPE ferromq_storage_flush_latency histogram"));
    assert!(scrape.contains(r#"ferromq_storage_flush_latency_bucket{cluster="DefaultCluster",node_type="broker",node_id="broker-t",le="0.1"}"#));
    // Nothing is being served while the scrape is answered: every processor's watermark is 0.
    for processor in [
        "send",
        "pull",
        "lite_pull",
        "heartbeat",
        "transaction",
        "admin",
    ] {
        let line = format!(r#"node_id="broker-t",processor="{processor}"}} 0"#);
        assert!(scrape.contains(&line), "{line} in {scrape}");
    }
    // (The test's half messages carry a fixed, old birth time: the commit falls in +Inf.)
    assert!(
        scrape.contains(r#"topic="TxMetered",le="+Inf"} 1"#),
        "{scrape}"
    );
    broker.stop().await;
}

/// The metric names (`rocketmq_*`, `ferromq_*`) queried by the dashboards in `conf/grafana/`.
fn dashboard_metrics() -> std::collections::BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf/grafana");
    let mut names = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for prefix in ["rocketmq_", "ferromq_"] {
            for (at, _) in text.match_indices(prefix) {
                let name: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                names.insert(name);
            }
        }
    }
    assert!(names.len() > 10, "dashboards in {}", dir.display());
    names
}
