//! mqbench against a real FerroMQ name server and broker: a short producer run (sync, async,
//! batch) and a consumer run alongside it, with JSON reports.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferromq_client::{Admin, ClientConfig, TopicOptions};
use ferromq_mqbench::args::parse;
use ferromq_mqbench::run;
use ferromq_tests::{FerroBroker, FerroNamesrv};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

fn options(line: &str) -> ferromq_mqbench::args::Options {
    let args = line.split_whitespace().map(str::to_owned);
    parse(args).expect("valid").expect("options")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_and_consumer_runs_report() {
    let (namesrv, broker) = tokio::task::spawn_blocking(|| {
        let namesrv = FerroNamesrv::start();
        let broker = FerroBroker::start(namesrv.addr(), |_| {});
        (namesrv, broker)
    })
    .await
    .expect("servers");
    let ns = namesrv.addr().to_owned();
    let admin = Admin::new(&ClientConfig {
        namesrv_addr: ns.clone(),
        instance_name: "bench-admin".to_owned(),
        ..ClientConfig::default()
    })
    .expect("admin");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while admin
        .create_topic("DefaultCluster", "BenchTopic", &TopicOptions::default())
        .await
        .is_err()
        || admin.topic_route("BenchTopic").await.is_err()
    {
        assert!(std::time::Instant::now() < deadline, "topic creation");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    admin.shutdown().await;

    let consumer_out = Buffer::default();
    let consumer = {
        let o = options(&format!(
            "consumer -n {ns} -t BenchTopic -d 3 -i 0.5 --json"
        ));
        let out = consumer_out.clone();
        tokio::spawn(async move { run(&o, out, std::future::pending()).await })
    };
    for mode in ["-m sync", "-m async", "-m sync -b 8", "-m oneway"] {
        let out = Buffer::default();
        let o = options(&format!(
            "producer -n {ns} -t BenchTopic -w 2 -s 1024 -d 0.6 -i 0.2 --json {mode}"
        ));
        let s = run(&o, out.clone(), std::future::pending())
            .await
            .expect("producer run");
        assert!(s.ok > 0, "{mode}: {s:?}");
        assert_eq!(s.failed, 0, "{mode}");
        assert!(
            out.text().contains("\"kind\":\"interval\""),
            "{mode}: {}",
            out.text()
        );
    }
    let c = consumer.await.expect("join").expect("consumer run");
    assert!(c.ok > 0, "consumed: {c:?}");
    assert!(consumer_out
        .text()
        .lines()
        .any(|l| l.contains("\"command\":\"consumer\"")));
    tokio::task::spawn_blocking(move || drop((broker, namesrv)))
        .await
        .expect("stop");
}
