//! The HA port's TLS with Apache's slaves (docs/tls.md, "The HA port"): Apache's HA has no TLS, so
//! a FerroMQ master whose ports are `permissive` with a certificate must keep serving an Apache
//! 5.3.3 slave in plaintext on its HA port, byte for byte as without TLS.
//!
//! Needs `java` (17) and `mvn`; prints `SKIPPED: ...` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

use std::time::{Duration, Instant};

use ferromq_tests::clients::java_store_produce;
use ferromq_tests::net::{free_port, wait_until};
use ferromq_tests::remoting::{broker_cluster_info, request};
use ferromq_tests::{require_tools, ApacheBroker, BrokerOptions, FerroBroker, FerroNamesrv};
use rcgen::{CertificateParams, KeyPair};

const FILE_SIZE: u64 = 64 << 20;
const T: Duration = Duration::from_secs(5);

fn max_offset(broker: &str) -> u64 {
    let r = request(broker, 28, &[], &[], T).expect("GET_BROKER_RUNTIME_INFO");
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("runtime info JSON");
    v["table"]["commitLogMaxOffset"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("commitLogMaxOffset")
}

fn wait_listed(namesrv: &str, addr: &str) {
    wait_until("registration", Duration::from_secs(60), || {
        let info = broker_cluster_info(namesrv).map_err(|e| e.to_string())?;
        Ok(info.body_text().contains(addr))
    })
    .unwrap_or_else(|e| panic!("{addr} never registered: {e}"));
}

#[test]
fn a_permissive_ferromq_master_serves_an_apache_slave() {
    if !require_tools("compat_ha_tls", &["java", "mvn"]) {
        return;
    }
    let pki = tempfile::tempdir().expect("dir");
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    let (cert_path, key_path) = (pki.path().join("b.pem"), pki.path().join("b.key"));
    std::fs::write(&cert_path, cert.pem()).expect("write");
    std::fs::write(&key_path, key.serialize_pem()).expect("write");

    let namesrv = FerroNamesrv::start();
    let ha_port = free_port();
    let master = FerroBroker::start(namesrv.addr(), |s| {
        s.broker.broker_name = "broker-ha-tls".to_owned();
        s.broker.broker_ip2 = "127.0.0.1".to_owned();
        s.broker.ha_listen_port = ha_port;
        s.broker.tls_config_file = String::new();
        s.broker.tls_server_mode = "permissive".to_owned();
        s.broker.tls_server_cert_path = cert_path.display().to_string();
        s.broker.tls_server_key_path = key_path.display().to_string();
        s.store.mapped_file_size_commit_log = FILE_SIZE;
    });
    wait_listed(namesrv.addr(), master.addr());
    let slave = ApacheBroker::start(
        namesrv.addr(),
        BrokerOptions {
            broker_name: "broker-ha-tls".to_owned(),
            extra_config: [
                ("brokerId", "1".to_owned()),
                ("brokerRole", "SLAVE".to_owned()),
                ("mappedFileSizeCommitLog", FILE_SIZE.to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            ..BrokerOptions::default()
        },
    );
    wait_listed(namesrv.addr(), slave.addr());
    java_store_produce(namesrv.addr(), "HaTlsMixed", 40).assert_success();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (m, s) = (max_offset(master.addr()), max_offset(slave.addr()));
        if m == s && m > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the Apache slave is at {s}, the master at {m}\n{}",
            slave.log_tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
