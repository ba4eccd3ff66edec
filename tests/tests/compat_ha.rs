//! Mixed master/slave pairs with the real Apache RocketMQ 5.3.3 broker (issue 14): an Apache
//! slave replicates a FerroMQ master, and a FerroMQ slave replicates an Apache master, over the
//! classic HA protocol. Messages come from the official Java client; each slave's commitlog
//! must be byte-identical to its master's and its consume queues must hold every message. Then
//! the master stops and the official Java client consumes every message from the slave (the
//! client pulls from any address of a broker name whose master is gone, and commits its offsets
//! there); the Apache slave runs with `slaveReadEnable=true`, without which Apache 5.3.3 slaves
//! do not serve pulls.
//!
//! Needs `java` (17) and `mvn`; prints `SKIPPED: ...` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

use std::path::Path;
use std::time::{Duration, Instant};

use ferromq_broker::config::BrokerRole;
use ferromq_tests::clients::{java_ha_consume, java_store_produce, result_figures, ClientRun};
use ferromq_tests::net::{free_port, wait_until};
use ferromq_tests::remoting::{broker_cluster_info, request, topic_route};
use ferromq_tests::{require_tools, ApacheBroker, BrokerOptions, FerroBroker, FerroNamesrv};

const TOOLS: &[&str] = &["java", "mvn"];
/// Both sides must cut the commitlog into files of the same size.
const FILE_SIZE: u64 = 64 << 20;
const TOPIC: &str = "HaMixed";
const MESSAGES: usize = 120;
const T: Duration = Duration::from_secs(5);

fn runtime_max_offset(broker: &str) -> u64 {
    let r = request(broker, 28, &[], &[], T).expect("GET_BROKER_RUNTIME_INFO");
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("runtime info JSON");
    v["table"]["commitLogMaxOffset"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("commitLogMaxOffset")
}

fn queue_max_offset(broker: &str, queue: i32) -> i64 {
    let q = queue.to_string();
    let r =
        request(broker, 30, &[("topic", TOPIC), ("queueId", &q)], &[], T).expect("GET_MAX_OFFSET");
    r.header["extFields"]["offset"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("offset")
}

/// Waits until `slave`'s commitlog ends where `master`'s does; that end. `logs` says what the
/// Apache side logged, for a failure.
fn caught_up(master: &str, slave: &str, logs: &dyn Fn() -> String) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (m, s) = (runtime_max_offset(master), runtime_max_offset(slave));
        if m == s && m > 0 {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "slave at {s}, master at {m}\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn commit_log(root: &Path, end: u64) -> Vec<u8> {
    let mut files: Vec<_> = std::fs::read_dir(root.join("commitlog"))
        .expect("commitlog dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    let mut bytes: Vec<u8> = files
        .iter()
        .flat_map(|f| std::fs::read(f).expect("read commitlog file"))
        .collect();
    bytes.truncate(end as usize);
    bytes
}

/// Both brokers' queues of the topic end at the same offsets, and hold every message.
fn same_queues(master: &str, slave: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m: Vec<i64> = (0..4).map(|q| queue_max_offset(master, q)).collect();
        let s: Vec<i64> = (0..4).map(|q| queue_max_offset(slave, q)).collect();
        if m == s && m.iter().sum::<i64>() == MESSAGES as i64 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "queues: master {m:?}, slave {s:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The HA lines of an Apache broker's logs.
fn apache_logs(broker: &ApacheBroker) -> String {
    ["store.log", "broker.log"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(broker.log_dir().join(f)).ok())
        .flat_map(|text| {
            text.lines()
                .filter(|l| l.contains("HA") || l.contains("master") || l.contains("Master"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn wait_unlisted(namesrv: &str, addr: &str) {
    wait_until("unregistration", Duration::from_secs(60), || {
        let info = broker_cluster_info(namesrv).map_err(|e| e.to_string())?;
        Ok(!info.body_text().contains(&format!("\"{addr}\"")))
    })
    .unwrap_or_else(|e| panic!("{addr} still listed: {e}"));
}

/// Waits until the broker at `addr` has `TOPIC` in its topic table (`GET_ALL_TOPIC_CONFIG`): a
/// slave copies its master's tables every 10 s, and serves no pull of a topic it does not know.
fn wait_topic_known(addr: &str, logs: &dyn Fn() -> String) {
    let needle = format!("\"{TOPIC}\"");
    wait_until(
        "the slave to sync the topic",
        Duration::from_secs(60),
        || {
            let r = request(addr, 21, &[], &[], T).map_err(|e| e.to_string())?;
            Ok(r.code == 0 && r.body_text().contains(&needle))
        },
    )
    .unwrap_or_else(|e| panic!("{addr}: {e}\n{}", logs()));
}

/// With the master gone, a Java push consumer (a fresh group) receives every message
/// `StoreProduce` had acknowledged (`SENT` lines; keys `SK-i SKG-(i % 5)`) from the slave.
fn java_consumes_all_from_the_slave(
    namesrv: &str,
    produced: &ClientRun,
    logs: &dyn Fn() -> String,
) {
    let keys: Vec<String> = produced
        .output
        .lines()
        .filter_map(|l| l.strip_prefix("SENT\t"))
        .filter_map(|rest| rest.split('\t').next()?.parse::<usize>().ok())
        .map(|i| format!("SK-{i} SKG-{}", i % 5))
        .collect();
    assert_eq!(keys.len(), MESSAGES, "SENT lines of StoreProduce");
    let dir = tempfile::tempdir().expect("tempdir");
    let ack_file = dir.path().join("acked.txt");
    std::fs::write(&ack_file, keys.join("\n") + "\n").expect("write acked keys");
    let run = java_ha_consume(
        namesrv,
        TOPIC,
        "ha_mixed_slave_cg",
        &ack_file,
        Duration::from_secs(120),
    );
    if !run.success() {
        let route = topic_route(namesrv, TOPIC).map(|r| r.body_text());
        let info = broker_cluster_info(namesrv).map(|r| r.body_text());
        eprintln!("{}\nroute of {TOPIC}: {route:?}\ncluster: {info:?}", logs());
    }
    run.assert_success();
    let figures = result_figures(&run.output).expect("RESULT line");
    assert_eq!(
        figures.get("received"),
        Some(&(MESSAGES as f64)),
        "{}",
        run.output
    );
    eprintln!(
        "consumed all {MESSAGES} from the slave (duplicates {:?}) in {:.1?}",
        figures.get("duplicates"),
        run.elapsed
    );
}

fn wait_listed(namesrv: &str, addr: &str) {
    wait_until("registration", Duration::from_secs(60), || {
        let info = broker_cluster_info(namesrv).map_err(|e| e.to_string())?;
        Ok(info.body_text().contains(addr))
    })
    .unwrap_or_else(|e| panic!("{addr} never registered: {e}"));
}

#[test]
fn an_apache_slave_replicates_a_ferromq_master() {
    if !require_tools(
        "compat_ha::an_apache_slave_replicates_a_ferromq_master",
        TOOLS,
    ) {
        return;
    }
    let namesrv = FerroNamesrv::start();
    let ha_port = free_port();
    let master = FerroBroker::start(namesrv.addr(), |s| {
        s.broker.broker_name = "broker-ha".to_owned();
        s.broker.broker_ip2 = "127.0.0.1".to_owned();
        s.broker.ha_listen_port = ha_port;
        s.store.mapped_file_size_commit_log = FILE_SIZE;
    });
    wait_listed(namesrv.addr(), master.addr());
    // The slave learns the master's HA address from the name server's registration answer
    // (Apache 5.3.3 applies a configured `haMasterAddress` before its HA client exists, and
    // then connects to "null").
    let slave = ApacheBroker::start(
        namesrv.addr(),
        BrokerOptions {
            broker_name: "broker-ha".to_owned(),
            extra_config: [
                ("brokerId", "1".to_owned()),
                ("brokerRole", "SLAVE".to_owned()),
                ("mappedFileSizeCommitLog", FILE_SIZE.to_string()),
                ("slaveReadEnable", "true".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            ..BrokerOptions::default()
        },
    );
    wait_listed(namesrv.addr(), slave.addr());
    let produced = java_store_produce(namesrv.addr(), TOPIC, MESSAGES);
    produced.assert_success();
    let end = caught_up(master.addr(), slave.addr(), &|| apache_logs(&slave));
    assert!(
        commit_log(&master.dir().join("store"), end) == commit_log(&slave.store_root(), end),
        "the Apache slave's commitlog differs from the FerroMQ master's"
    );
    same_queues(master.addr(), slave.addr());

    wait_topic_known(slave.addr(), &|| apache_logs(&slave));
    let master_addr = master.addr().to_owned();
    let _stopped = master.stop();
    wait_unlisted(namesrv.addr(), &master_addr);
    java_consumes_all_from_the_slave(namesrv.addr(), &produced, &|| slave.log_tail());
}

#[test]
fn a_ferromq_slave_replicates_an_apache_master() {
    if !require_tools(
        "compat_ha::a_ferromq_slave_replicates_an_apache_master",
        TOOLS,
    ) {
        return;
    }
    let namesrv = FerroNamesrv::start();
    let mut master = ApacheBroker::start(
        namesrv.addr(),
        BrokerOptions {
            broker_name: "broker-hb".to_owned(),
            extra_config: vec![("mappedFileSizeCommitLog".to_owned(), FILE_SIZE.to_string())],
            ..BrokerOptions::default()
        },
    );
    wait_listed(namesrv.addr(), master.addr());
    // Apache's HA port is listenPort + 1; the slave learns it from the name server.
    let slave = FerroBroker::start(namesrv.addr(), |s| {
        s.broker.broker_name = "broker-hb".to_owned();
        s.broker.broker_id = 1;
        s.broker.broker_role = BrokerRole::Slave;
        s.store.mapped_file_size_commit_log = FILE_SIZE;
    });
    wait_listed(namesrv.addr(), slave.addr());
    let produced = java_store_produce(namesrv.addr(), TOPIC, MESSAGES);
    produced.assert_success();
    let end = caught_up(master.addr(), slave.addr(), &|| apache_logs(&master));
    assert!(
        commit_log(&master.store_root(), end) == commit_log(&slave.dir().join("store"), end),
        "the FerroMQ slave's commitlog differs from the Apache master's"
    );
    same_queues(master.addr(), slave.addr());

    wait_topic_known(slave.addr(), &|| apache_logs(&master));
    master
        .terminate(Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}"));
    wait_unlisted(namesrv.addr(), master.addr());
    java_consumes_all_from_the_slave(namesrv.addr(), &produced, &|| apache_logs(&master));
}
