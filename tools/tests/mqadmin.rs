//! `mqadmin clusterList` against a real name server and broker: the broker is listed with its
//! cluster, name, id, address, version and active flag, in Apache's column order.

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
            "#InTPS",
            "#OutTPS",
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
