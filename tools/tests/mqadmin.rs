//! `mqadmin` against a real name server and brokers: `clusterList` lists a broker with its
//! cluster, name, id, address, version and active flag, in Apache's column order; `haStatus`
//! shows a master's slave (in sync) and a slave's master, in Apache's layout.

use std::process::Command;
use std::time::Duration;

use ferromq_tests::{FerroBroker, FerroNamesrv};

#[test]
fn cluster_list_shows_every_registered_broker() {
    let namesrv = FerroNamesrv::start();
    let broker = FerroBroker::start(namesrv.addr(), |s| {
        s.broker.broker_name = "broker-x".to_owned();
    });
    ferromq_tests::net::wait_until("registration", Duration::from_secs(30), || {
        let info = ferromq_tests::remoting::broker_cluster_info(namesrv.addr())
            .map_err(|e| e.to_string())?;
        Ok(info.body_text().contains(broker.addr()))
    })
    .expect("the broker registers");
    let out = Command::new(env!("CARGO_BIN_EXE_mqadmin"))
        .args(["clusterList", "-n", namesrv.addr()])
        .output()
        .expect("run mqadmin");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "#Cluster",
            "Name",
            "#Broker",
            "Name",
            "#BID",
            "#Addr",
            "#Version",
            "#InTPS(LOAD)",
            "#OutTPS(LOAD)",
            "#Timer(Progress)",
            "#PCWait(ms)",
            "#Hour",
            "#SPACE",
            "#ACTIVATED"
        ]
    );
    let row: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        row[..5],
        ["DefaultCluster", "broker-x", "0", broker.addr(), "V5_3_3"]
    );
    assert_eq!(row.last(), Some(&"true"));
    assert!(lines.next().is_none(), "one broker: {text}");

    let json: serde_json::Value =
        serde_json::from_str(&mqadmin(&["clusterList", "-n", namesrv.addr(), "--json"]))
            .expect("JSON");
    assert_eq!(json[0]["brokerName"], "broker-x", "{json}");
    assert_eq!(json[0]["addr"], broker.addr());
    assert_eq!(json[0]["activated"], true);
    assert_eq!(json.as_array().map(Vec::len), Some(1));

    let filtered = Command::new(env!("CARGO_BIN_EXE_mqadmin"))
        .args(["clusterList", "-n", namesrv.addr(), "-c", "OtherCluster"])
        .output()
        .expect("run mqadmin");
    assert_eq!(
        String::from_utf8_lossy(&filtered.stdout).lines().count(),
        1,
        "header only"
    );
}

fn mqadmin(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mqadmin"))
        .args(args)
        .output()
        .expect("run mqadmin");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value after `#key\t` in an `haStatus` block.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("#{key}\t")))
        .unwrap_or_else(|| panic!("no #{key} in {text}"))
}

#[test]
fn ha_status_shows_a_masters_slave_and_a_slaves_master() {
    use ferromq_broker::config::BrokerRole;
    let namesrv = FerroNamesrv::start();
    let ha_port = ferromq_tests::net::free_port();
    let master = FerroBroker::start(namesrv.addr(), |s| {
        s.broker.broker_name = "broker-ha".to_owned();
        s.broker.broker_role = BrokerRole::AsyncMaster;
        s.broker.ha_listen_port = ha_port;
    });
    let slave = FerroBroker::start(namesrv.addr(), |s| {
        s.broker.broker_name = "broker-ha".to_owned();
        s.broker.broker_id = 1;
        s.broker.broker_role = BrokerRole::Slave;
    });
    // The slave learns its master from the name server and connects to its HA port.
    ferromq_tests::net::wait_until("the slave connects", Duration::from_secs(30), || {
        let text = mqadmin(&["haStatus", "-n", namesrv.addr(), "-b", master.addr()]);
        Ok(field(&text, "SlaveNum") == "1")
    })
    .expect("the master lists its slave");

    let by_cluster = mqadmin(&["haStatus", "-n", namesrv.addr(), "-c", "DefaultCluster"]);
    assert_eq!(
        field(&by_cluster, "MasterAddr"),
        master.addr(),
        "{by_cluster}"
    );
    assert_eq!(field(&by_cluster, "InSyncSlaveNum"), "1");
    let json: serde_json::Value = serde_json::from_str(&mqadmin(&[
        "haStatus",
        "-n",
        namesrv.addr(),
        "-c",
        "DefaultCluster",
        "--json",
    ]))
    .expect("JSON");
    assert_eq!(json[master.addr()]["inSyncSlaveNums"], 1, "{json}");
    assert_eq!(json[master.addr()]["master"], true, "{json}");
    let header = by_cluster
        .lines()
        .find(|l| l.starts_with("#SlaveAddr"))
        .expect("slave table");
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        [
            "#SlaveAddr",
            "#SlaveAckOffset",
            "#Diff",
            "#TransferSpeed(KB/s)",
            "#Status",
            "#TransferFromWhere"
        ]
    );
    let row = by_cluster
        .lines()
        .skip_while(|l| !l.starts_with("#SlaveAddr"))
        .nth(1)
        .expect("one slave row");
    assert!(row.starts_with("127.0.0.1:"), "{row}");
    assert!(row.split_whitespace().any(|c| c == "OK"), "{row}");

    // The slave reports its offset as soon as it connects.
    ferromq_tests::net::wait_until("the slave reports", Duration::from_secs(30), || {
        let of_slave = mqadmin(&["haStatus", "-n", namesrv.addr(), "-b", slave.addr()]);
        assert_eq!(
            field(&of_slave, "MasterAddr"),
            format!("127.0.0.1:{ha_port}"),
            "{of_slave}"
        );
        // Apache's `yyyy-MM-dd HH:mm:ss,SSS`; never written yet is the epoch.
        let written = field(&of_slave, "LastWriteTime");
        Ok(written
            .get(..4)
            .and_then(|year| year.parse::<i32>().ok())
            .is_some_and(|year| year > 2000))
    })
    .expect("the slave's last report time shows");
}
