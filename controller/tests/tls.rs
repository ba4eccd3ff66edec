//! TLS on the controller port: three controllers with `tls.server.mode=enforcing` reach each
//! other over TLS (`tls.enable=true`, trusting the test CA) and elect a leader; a client over TLS
//! gets answers, a plaintext client is closed unanswered; a FerroMQ broker in controller mode
//! with `tls.enable=true` registers, heartbeats and is elected master of its set; a second one
//! replicates from it over TLS (the master's HA port is `enforcing` too: a plaintext slave gets
//! nothing) and joins the sync state set.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::header::GetMetaDataResponseHeader;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{
    ClientTlsSettings, Connection, ConnectionConfig, IgnoreRequests, ServerTrust, TlsConnector,
};
use ferromq_tests::net::free_broker_port;
use ferromq_tests::pki::Pki;
use support::{eventually, ferromq_broker, Quorum};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The TLS keys of a controller (and of a broker's own connections) trusting `pki`'s CA.
fn tls_keys(pki: &Pki, dir: &Path) -> String {
    format!(
        "tls.server.mode=enforcing\ntls.server.certPath={}\ntls.server.keyPath={}\n\
         tls.enable=true\ntls.client.trustCertPath={}\ntls.config.file={}\n",
        pki.cert.display(),
        pki.key.display(),
        pki.ca.display(),
        dir.join("no-tls.properties").display()
    )
}

/// GET_METADATA_INFO from `addr`, over TLS when `ca` is given.
async fn metadata(addr: &str, ca: Option<&Path>) -> Result<GetMetaDataResponseHeader, String> {
    let tls = ca
        .map(|ca| {
            TlsConnector::new(&ClientTlsSettings {
                trust: ServerTrust::CaFile(ca.to_owned()),
                verify_hostname: true,
                ..ClientTlsSettings::default()
            })
        })
        .transpose()
        .map_err(|e| e.to_string())?;
    let config = ConnectionConfig {
        tls,
        ..ConnectionConfig::default()
    };
    let conn = Connection::connect(addr, Arc::new(IgnoreRequests), config)
        .await
        .map_err(|e| e.to_string())?;
    let resp = conn
        .request(
            RemotingCommand::request(RequestCode::CONTROLLER_GET_METADATA_INFO),
            Duration::from_secs(3),
        )
        .await
        .map_err(|e| e.to_string());
    conn.close();
    let resp = resp?;
    if resp.response_code() != ResponseCode::SUCCESS {
        return Err(format!("code {} {:?}", resp.code, resp.remark));
    }
    resp.header().map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controllers_and_brokers_over_tls() {
    let pki = Pki::new("controller-ca");
    let dir = tempfile::tempdir().expect("tmp");
    let keys = tls_keys(&pki, dir.path());
    // Raft between the controllers runs over TLS: a leader means they reached each other.
    let q = Quorum::start(3, &keys).await;
    let l = q.leader().await;
    let leader = q.addrs[l].clone();

    for addr in &q.addrs {
        let meta = metadata(addr, Some(&pki.ca)).await.expect("TLS metadata");
        assert_eq!(
            meta.controller_leader_address.as_deref(),
            Some(leader.as_str())
        );
        let plain = metadata(addr, None).await;
        assert!(
            plain.is_err(),
            "a plaintext client got {plain:?} from {addr}"
        );
    }
    // A client trusting another CA is refused too.
    let other = Pki::new("other-ca");
    assert!(metadata(&leader, Some(&other.ca)).await.is_err());

    // A broker dials the controllers over TLS and becomes the master of its set.
    let namesrv = support::namesrv(dir.path()).await;
    let port = free_broker_port();
    let addr = format!("127.0.0.1:{port}");
    let broker = ferromq_broker(
        &dir.path().join("broker"),
        port,
        &namesrv,
        &q.addrs.join(";"),
        &keys,
    )
    .await;
    let controller = q.controller(l).clone();
    eventually("the TLS broker elected master", || {
        let state = controller.state();
        let elected = state.get("broker-a").and_then(|set| {
            (set.address_of(set.master_broker_id) == Some(addr.as_str())).then_some(())
        });
        async move { elected }
    })
    .await;

    // The master's HA port (listenPort + 1) closes a plaintext slave before answering.
    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", port + 1))
        .await
        .expect("connect to the HA port");
    let handshake = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];
    let _ = plain.write_all(&handshake).await;
    let mut answer = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(10), plain.read(&mut answer))
        .await
        .expect("the HA port answered or closed");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "a plaintext slave got {read:?}"
    );

    // A second broker follows over TLS and joins the sync state set.
    let port2 = free_broker_port();
    let slave = ferromq_broker(
        &dir.path().join("broker2"),
        port2,
        &namesrv,
        &q.addrs.join(";"),
        &keys,
    )
    .await;
    eventually("the TLS slave in the sync state set", || {
        let state = controller.state();
        let joined = state
            .get("broker-a")
            .and_then(|set| (set.sync_state_set.len() == 2).then_some(()));
        async move { joined }
    })
    .await;
    slave.stop().await;
    broker.stop().await;
    q.shutdown().await;
}
