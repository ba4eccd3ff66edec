//! ACL 1.0 (`aclEnable`, docs/security.md) on a real broker: signed clients within their rights
//! are served, everything else is refused before any handler runs with Apache's answer
//! (SYSTEM_ERROR and the `AclException` text), the file is read again when it changes, and a
//! broker whose file is missing or bad does not start.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_client::{
    ClientConfig, ConsumeFrom, Credentials, FilterExpression, Message, Producer, ProducerOptions,
    PullConsumer, PullConsumerOptions,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::Connection;
use tokio::net::TcpListener;

mod support;
use support::*;

const EXCEPTION: &str = "org.apache.rocketmq.acl.common.AclException: ";

/// Alice may send to and read `Orders` and read any topic; she may not send elsewhere, and
/// group `blocked` is denied to her. `admin-key` is an admin.
const RULES: &str = "\
accounts:
  - accessKey: alice-key
    secretKey: alice-secret
    defaultTopicPerm: SUB
    defaultGroupPerm: SUB
    topicPerms:
      - Orders=PUB|SUB
      - Audit=DENY
    groupPerms:
      - blocked=DENY
  - accessKey: admin-key
    secretKey: admin-secret
    admin: true
";

fn alice() -> Credentials {
    Credentials::new("alice-key", "alice-secret")
}

fn admin() -> Credentials {
    Credentials::new("admin-key", "admin-secret")
}

fn write_rules(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("plain_acl.yml");
    // Write then rename, as an editor does: the broker never reads half a file.
    let tmp = dir.join("plain_acl.yml.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    path
}

struct AclBroker {
    broker: TestBroker,
    acl_dir: tempfile::TempDir,
}

async fn start(rules: &str, namesrv: &str) -> AclBroker {
    let acl_dir = tempfile::tempdir().unwrap();
    let path = write_rules(acl_dir.path(), rules);
    let namesrv = namesrv.to_owned();
    let broker = TestBroker::start(move |s| {
        s.broker.acl_enable = true;
        s.broker.acl_file_path = path.display().to_string();
        s.broker.namesrv_addr = namesrv;
    })
    .await;
    AclBroker { broker, acl_dir }
}

async fn namesrv() -> (String, tokio::sync::oneshot::Sender<()>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let config = ferromq_namesrv::NamesrvConfig {
        kv_config_path: dir.path().join("kvConfig.json"),
        ..Default::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(ferromq_namesrv::run(listener, config, async move {
        let _ = stopped.await;
    }));
    (addr, stop, dir)
}

async fn call(c: &Connection, req: RemotingCommand, who: Option<&Credentials>) -> RemotingCommand {
    let mut req = req;
    if let Some(credentials) = who {
        credentials.sign(&mut req);
    }
    c.request(req, T).await.unwrap()
}

fn assert_refused(resp: &RemotingCommand, message: &str) {
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR, "{resp:?}");
    assert_eq!(
        resp.remark.as_deref(),
        Some(format!("{EXCEPTION}{message}").as_str())
    );
}

fn send(topic: &str, body: &str) -> RemotingCommand {
    send_request(topic, 0, body.as_bytes(), "TagA", "k")
}

#[tokio::test]
async fn refusals_carry_apaches_code_and_remark() {
    let b = start(RULES, "").await;
    let c = b.broker.client().await;
    let created = call(&c, create_topic_request("Orders", 1), Some(&admin())).await;
    assert_eq!(created.response_code(), ResponseCode::SUCCESS);

    // Within her rights.
    let ok = call(&c, send("Orders", "m0"), Some(&alice())).await;
    assert_eq!(ok.response_code(), ResponseCode::SUCCESS, "{ok:?}");

    // Wrong secret, no signature at all, an unknown account.
    let wrong = Credentials::new("alice-key", "not-her-secret");
    let r = call(&c, send("Orders", "m1"), Some(&wrong)).await;
    assert_refused(&r, "Check signature failed for accessKey=alice-key");
    let r = call(&c, send("Orders", "m1"), None).await;
    assert_refused(&r, "No accessKey is configured");
    let r = call(
        &c,
        send("Orders", "m1"),
        Some(&Credentials::new("mallory", "x")),
    )
    .await;
    assert_refused(&r, "No acl config for mallory");

    // Replayed signatures, signatures over other fields, sends / batches / send-backs without
    // the permission, and the ACL admin codes from a non-admin: tests/tests/hostile_security.rs.
    // Pulls (and heartbeats) need SUB on the topic and the group.
    let r = call(&c, heartbeat("PG", "blocked", "Orders"), Some(&alice())).await;
    assert_refused(&r, "No permission for group:blocked");
    let r = call(&c, heartbeat("PG", "readers", "Orders"), Some(&alice())).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{r:?}");
    let r = call(
        &c,
        pull_request("blocked", "Orders", 0, 0, 0),
        Some(&alice()),
    )
    .await;
    assert_refused(&r, "No permission for group:blocked");

    // Admin codes.
    let r = call(&c, create_topic_request("New", 1), Some(&alice())).await;
    assert_refused(
        &r,
        "Need admin permission for request code=17, but accessKey=alice-key is not",
    );
    let r = call(&c, create_topic_request("New", 1), Some(&admin())).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);

    // No request turns the ACL off or points it at another file.
    let update = |text: &str| {
        RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG)
            .with_body(Bytes::copy_from_slice(text.as_bytes()))
    };
    let r = call(&c, update("aclEnable=false"), Some(&alice())).await;
    assert_refused(
        &r,
        "Need admin permission for request code=25, but accessKey=alice-key is not",
    );
    let r = call(&c, update("aclEnable=false"), Some(&admin())).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR, "{r:?}");
    assert!(r.remark.unwrap_or_default().contains("aclEnable"));
    let r = call(&c, update("aclFilePath=/tmp/open.yml"), Some(&admin())).await;
    assert_eq!(r.response_code(), ResponseCode::NO_PERMISSION, "{r:?}");
    let r = call(&c, send("Elsewhere", "m3"), Some(&alice())).await;
    assert_refused(&r, "No default permission for topic:Elsewhere");

    // Nothing refused reached a handler: only m0 was stored.
    wait_max_offset_signed(&c, "Orders", 1).await;
    let r = call(
        &c,
        pull_request("readers", "Orders", 0, 0, 0),
        Some(&alice()),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{r:?}");
    let bodies: Vec<_> = messages(&r.body)
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    assert_eq!(bodies, ["m0"]);
    b.broker.stop().await;
}

/// `wait_max_offset` with alice's signature (GET_MAX_OFFSET touches no resource).
async fn wait_max_offset_signed(c: &Connection, topic: &str, n: i64) {
    let deadline = Instant::now() + T;
    loop {
        let m = ferromq_protocol::header::offset::GetMaxOffsetRequestHeader {
            topic: topic.into(),
            queue_id: 0,
            ..Default::default()
        };
        let req = RemotingCommand::request_with_header(RequestCode::GET_MAX_OFFSET, &m);
        let resp = call(c, req, Some(&alice())).await;
        let got = resp
            .ext_fields
            .get("offset")
            .and_then(|o| o.parse::<i64>().ok());
        if got == Some(n) {
            return;
        }
        assert!(Instant::now() < deadline, "max offset {got:?}, want {n}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_refused_client_does_not_hold_up_others() {
    let b = start(RULES, "").await;
    let c = b.broker.client().await;
    assert_eq!(
        call(&c, create_topic_request("Orders", 1), Some(&admin()))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    let addr = b.broker.addr.clone();
    // Two connections hammer the broker with refused requests while alice sends.
    let mut noise = Vec::new();
    for _ in 0..2 {
        let addr = addr.clone();
        noise.push(tokio::spawn(async move {
            let c = Connection::connect(
                &addr,
                std::sync::Arc::new(ferromq_remoting::IgnoreRequests),
                ferromq_remoting::ConnectionConfig::default(),
            )
            .await
            .unwrap();
            for i in 0..500 {
                let r = call(&c, send("Orders", &format!("x{i}")), None).await;
                assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
            }
        }));
    }
    for i in 0..50 {
        let r = call(&c, send("Orders", &format!("ok{i}")), Some(&alice())).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{r:?}");
    }
    for n in noise {
        n.await.unwrap();
    }
    wait_max_offset_signed(&c, "Orders", 50).await;
    b.broker.stop().await;
}

#[tokio::test]
async fn global_white_addresses_need_no_signature() {
    let rules = format!("globalWhiteRemoteAddresses:\n  - 127.0.0.*\n{RULES}");
    let b = start(&rules, "").await;
    let c = b.broker.client().await;
    let r = call(&c, create_topic_request("Orders", 1), None).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{r:?}");
    let r = call(&c, send("Anything", "m"), None).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{r:?}");
    b.broker.stop().await;
}

#[tokio::test]
async fn an_edited_file_applies_without_restart() {
    let b = start(RULES, "").await;
    let c = b.broker.client().await;
    assert_eq!(
        call(&c, create_topic_request("Orders", 1), Some(&admin()))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    let bob = Credentials::new("bob-key1", "bob-secret");
    let r = call(&c, send("Orders", "b0"), Some(&bob)).await;
    assert_refused(&r, "No acl config for bob-key1");

    let with_bob = format!(
        "{RULES}  - accessKey: bob-key1\n    secretKey: bob-secret\n    topicPerms: [Orders=PUB]\n"
    );
    write_rules(b.acl_dir.path(), &with_bob);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = call(&c, send("Orders", "b1"), Some(&bob)).await;
        if r.response_code() == ResponseCode::SUCCESS {
            break;
        }
        assert!(Instant::now() < deadline, "bob never admitted: {r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Bob's defaults are DENY: nothing but Orders.
    let r = call(&c, send("Elsewhere", "b2"), Some(&bob)).await;
    assert_refused(&r, "No default permission for topic:Elsewhere");
    b.broker.stop().await;
}

#[tokio::test]
async fn missing_or_bad_files_stop_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let open = |acl: PathBuf| {
        let store = dir.path().join("store");
        async move {
            let mut s = ferromq_broker::Settings::default();
            s.broker.broker_ip1 = "127.0.0.1".to_owned();
            s.broker.acl_enable = true;
            s.broker.acl_file_path = acl.display().to_string();
            s.store = ferromq_store::StoreConfig::with_root(&store);
            ferromq_broker::open(s)
                .await
                .map(|_| ())
                .unwrap_err()
                .to_string()
        }
    };
    let missing = dir.path().join("nope.yml");
    let e = open(missing.clone()).await;
    assert!(e.contains(&missing.display().to_string()), "{e}");
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "accounts:\n  - accessKey: alice-key\n    secretKey: alice-secret\n    topicPerms: [Orders=WRITE]\n").unwrap();
    let e = open(bad).await;
    assert!(e.contains("topicPerms") && e.contains("WRITE"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_client_core_producer_and_consumer() {
    let (ns, _ns_stop, _ns_dir) = namesrv().await;
    let b = start(RULES, &ns).await;
    let c = b.broker.client().await;
    assert_eq!(
        call(&c, create_topic_request("Orders", 1), Some(&admin()))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    let config = |instance: &str, credentials: Option<Credentials>| ClientConfig {
        credentials,
        ..ClientConfig::new(ns.clone(), Some(instance.to_owned()))
    };
    // The route appears once the broker registers the new topic.
    let producer = Producer::start(ProducerOptions {
        client: config("alice-p", Some(alice())),
        group: "alice-producers".to_owned(),
        retry_times: 0,
        ..ProducerOptions::default()
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match producer.send(Message::new("Orders", "hello")).await {
            Ok(_) => break,
            Err(e) => assert!(Instant::now() < deadline, "send: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let consumer = PullConsumer::start(PullConsumerOptions {
        client: config("alice-c", Some(alice())),
        group: "readers".to_owned(),
        consume_from: ConsumeFrom::FirstOffset,
        auto_commit: false,
        ..PullConsumerOptions::default()
    })
    .await
    .unwrap();
    consumer
        .subscribe("Orders", FilterExpression::all())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while got.is_empty() {
        assert!(Instant::now() < deadline, "nothing consumed");
        got = consumer.poll(Duration::from_millis(500)).await.unwrap();
    }
    assert_eq!(got[0].body(), &Bytes::from_static(b"hello"));
    consumer.shutdown().await;

    // The same producer code with the wrong secret, or none, is refused.
    for (name, credentials) in [
        ("wrong", Some(Credentials::new("alice-key", "guess-guess"))),
        ("none", None),
    ] {
        let p = Producer::start(ProducerOptions {
            client: config(name, credentials),
            group: format!("{name}-producers"),
            retry_times: 0,
            ..ProducerOptions::default()
        })
        .await
        .unwrap();
        let e = p.send(Message::new("Orders", "no")).await.unwrap_err();
        assert_eq!(e.response_code(), Some(ResponseCode::SYSTEM_ERROR), "{e}");
        assert!(e.remark().unwrap_or_default().starts_with(EXCEPTION), "{e}");
        p.shutdown().await;
    }
    producer.shutdown().await;
    b.broker.stop().await;
}

/// A slave copies its master's tables with the admin codes Apache's `SlaveSynchronize` uses; the
/// master admits them from the address of a connected HA slave, and from nowhere else unsigned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_syncs_tables_from_a_master_with_acl() {
    let (ns, ns_stop, _ns_dir) = namesrv().await;
    let ha = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let acl_dir = tempfile::tempdir().unwrap();
    let path = write_rules(acl_dir.path(), RULES);
    let ns_for_master = ns.clone();
    let master = TestBroker::start(move |s| {
        s.broker.acl_enable = true;
        s.broker.acl_file_path = path.display().to_string();
        s.broker.ha_listen_port = ha;
        s.broker.broker_ip2 = "127.0.0.1".to_owned();
        s.broker.namesrv_addr = ns_for_master;
    })
    .await;
    let mc = master.client().await;
    let get_all = || RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG);
    // No slave yet: the table is refused to an unsigned client.
    assert_refused(
        &call(&mc, get_all(), None).await,
        "No accessKey is configured",
    );
    let created = call(&mc, create_topic_request("Replicated", 2), Some(&admin())).await;
    assert_eq!(created.response_code(), ResponseCode::SUCCESS);

    let ns_for_slave = ns.clone();
    let slave = TestBroker::start(move |s| {
        s.broker.broker_role = ferromq_broker::config::BrokerRole::Slave;
        s.broker.broker_id = 1;
        s.broker.ha_master_address = format!("127.0.0.1:{ha}");
        s.broker.namesrv_addr = ns_for_slave;
    })
    .await;
    let sc = slave.client().await;
    // The slave's first sync may race its HA connection; it tries again every 10 s.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let r = call(&sc, get_all(), None).await;
        if String::from_utf8_lossy(&r.body).contains("\"Replicated\"") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slave never synced the master's topics"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    slave.stop().await;
    master.stop().await;
    let _ = ns_stop.send(());
}

/// `mqbroker -c <dir>/broker.conf` with `aclEnable=true` reads `<dir>/plain_acl.yml` (when
/// ROCKETMQ_HOME is not set), and does not start without it.
#[tokio::test]
async fn mqbroker_reads_the_file_beside_its_config() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "brokerName=acl-bin\nbrokerIP1=127.0.0.1\nbindAddress=127.0.0.1\nlistenPort={port}\n\
             storePathRootDir={}\nmapedFileSizeCommitLog=4194304\naclEnable=true\n",
            dir.path().join("store").display()
        ),
    )
    .unwrap();
    let mqbroker = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mqbroker"));
        cmd.args(["-c", conf.to_str().unwrap()])
            .env_remove("ROCKETMQ_HOME")
            .env_remove("NAMESRV_ADDR");
        cmd
    };
    let out = mqbroker().output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = dir.path().join("plain_acl.yml");
    assert!(stderr.contains(&expected.display().to_string()), "{stderr}");

    write_rules(dir.path(), RULES);
    /// Kills the broker however the test ends.
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Running(
        mqbroker()
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let result = async {
        assert!(line.contains("boot success"), "{line}");
        let c = Connection::connect(
            &format!("127.0.0.1:{port}"),
            std::sync::Arc::new(ferromq_remoting::IgnoreRequests),
            ferromq_remoting::ConnectionConfig::default(),
        )
        .await
        .unwrap();
        let r = call(&c, send("Orders", "m"), None).await;
        assert_refused(&r, "No accessKey is configured");
        let r = call(&c, create_topic_request("Orders", 1), Some(&admin())).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{r:?}");
    };
    tokio::time::timeout(T, result)
        .await
        .expect("the broker answered in time");
    drop(child);
}

/// Apache's ACL 1.0 admin codes through `client-core`'s `Admin` signed by an admin: an account is
/// created, updated, used, deleted; global white addresses replaced; the version advances with each
/// edit; the file is rewritten (and still parses) and applied without waiting for the poll. A
/// non-admin gets Apache's refusal, bad input the failure code with a reason, and the file is not
/// touched by a refused edit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_codes_edit_the_file() {
    use ferromq_client::{AclAccount, Admin};
    let b = start(RULES, "").await;
    let addr = b.broker.addr.clone();
    let c = b.broker.client().await;
    assert_eq!(
        call(&c, create_topic_request("Orders", 1), Some(&admin()))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    // One instance name per identity: clients of one instance name share a connection.
    let admin_client = |credentials: Credentials| {
        let instance = format!("acl-{}", credentials.access_key);
        Admin::new(&ClientConfig {
            credentials: Some(credentials),
            ..ClientConfig::new("127.0.0.1:1".to_owned(), Some(instance))
        })
        .unwrap()
    };
    let ops = admin_client(admin());
    let v0 = ops.acl_version(&addr).await.unwrap();
    assert_eq!(v0.broker_addr, addr);
    assert_eq!(v0.cluster_name, "DefaultCluster");
    assert_eq!(v0.counter, 0);
    let file = b.acl_dir.path().join("plain_acl.yml");
    assert_eq!(
        v0.file_versions
            .get(&file.display().to_string())
            .map(|v| v.0),
        Some(0)
    );
    // The file holds secrets: a rewrite keeps its permissions.
    #[cfg(unix)]
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();

    // A new account may send to Orders at once (no poll wait), and nowhere else.
    let carol = Credentials::new("carol-key", "carol-secret");
    let mut account = AclAccount {
        access_key: "carol-key".to_owned(),
        secret_key: Some("carol-secret".to_owned()),
        topic_perms: Some(vec!["Orders=PUB".to_owned()]),
        ..AclAccount::default()
    };
    ops.update_acl_account(&addr, &account).await.unwrap();
    let r = call(&c, send("Orders", "c0"), Some(&carol)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{r:?}");
    let r = call(&c, send("Elsewhere", "c1"), Some(&carol)).await;
    assert_refused(&r, "No default permission for topic:Elsewhere");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("carol-key") && text.contains("alice-key"),
        "{text}"
    );
    assert_eq!(ops.acl_version(&addr).await.unwrap().counter, 1);

    // An update keeps what it does not name, changes what it does.
    account.topic_perms = None;
    account.default_topic_perm = Some("PUB".to_owned());
    ops.update_acl_account(&addr, &account).await.unwrap();
    let r = call(&c, send("Elsewhere", "c2"), Some(&carol)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{r:?}");
    let all = ops.acl_config(&addr).await.unwrap();
    let listed = all
        .plain_access_configs
        .iter()
        .find(|a| a.access_key == "carol-key")
        .unwrap();
    assert_eq!(
        listed.topic_perms.as_deref(),
        Some(&["Orders=PUB".to_owned()][..])
    );
    assert_eq!(listed.default_topic_perm.as_deref(), Some("PUB"));
    assert_eq!(all.plain_access_configs.len(), 3);

    // A non-admin's attempts: tests/tests/hostile_security.rs.
    let before = std::fs::read_to_string(&file).unwrap();
    // Bad input: the failure code and a reason; the file is untouched.
    for (account, needle) in [
        (
            AclAccount {
                access_key: "short".to_owned(),
                secret_key: Some("long-enough".to_owned()),
                ..AclAccount::default()
            },
            "longer than 6",
        ),
        (
            AclAccount {
                access_key: "dave-key".to_owned(),
                secret_key: Some("dave-secret".to_owned()),
                topic_perms: Some(vec!["Orders=WRITE".to_owned()]),
                ..AclAccount::default()
            },
            "Parse resource permission error",
        ),
        (
            AclAccount {
                access_key: "dave-key".to_owned(),
                secret_key: Some("dave-secret".to_owned()),
                white_remote_address: Some("10.0.0".to_owned()),
                ..AclAccount::default()
            },
            "whiteRemoteAddress",
        ),
    ] {
        let e = ops.update_acl_account(&addr, &account).await.unwrap_err();
        assert_eq!(e.response_code(), Some(ResponseCode(209)), "{e}");
        assert!(e.remark().unwrap_or_default().contains(needle), "{e}");
    }
    let e = ops
        .delete_acl_account(&addr, "nobody-key")
        .await
        .unwrap_err();
    assert_eq!(e.response_code(), Some(ResponseCode(210)), "{e}");
    let e = ops
        .update_acl_global_white_addrs(&addr, &["10.0.0".to_owned()], None)
        .await
        .unwrap_err();
    assert_eq!(e.response_code(), Some(ResponseCode(211)), "{e}");
    let e = ops
        .update_acl_global_white_addrs(&addr, &["*".to_owned()], Some("/etc/passwd"))
        .await
        .unwrap_err();
    assert_eq!(e.response_code(), Some(ResponseCode(211)), "{e}");
    assert!(
        e.remark().unwrap_or_default().contains("not an ACL file"),
        "{e}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);

    // Global white addresses: unsigned requests from them pass; then none again.
    let unsigned = call(&c, send("Orders", "u0"), None).await;
    assert_refused(&unsigned, "No accessKey is configured");
    ops.update_acl_global_white_addrs(
        &addr,
        &["127.0.0.1".to_owned()],
        Some(&file.display().to_string()),
    )
    .await
    .unwrap();
    let r = call(&c, send("Orders", "u1"), None).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{r:?}");
    ops.update_acl_global_white_addrs(&addr, &[], None)
        .await
        .unwrap();
    let r = call(&c, send("Orders", "u2"), None).await;
    assert_refused(&r, "No accessKey is configured");

    // Delete: refused at once; the version counted every edit.
    ops.delete_acl_account(&addr, "carol-key").await.unwrap();
    let r = call(&c, send("Orders", "c3"), Some(&carol)).await;
    assert_refused(&r, "No acl config for carol-key");
    let v = ops.acl_version(&addr).await.unwrap();
    assert_eq!(v.counter, 5, "{v:?}");
    assert!(v.timestamp >= v0.timestamp);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("carol") && text.contains("dataVersion"),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
    ops.shutdown().await;
    b.broker.stop().await;
}

/// Without `aclEnable` the admin codes answer as Apache's: "The broker does not enable acl."
#[tokio::test]
async fn admin_codes_without_acl() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    for (code, expected) in [
        (RequestCode::UPDATE_AND_CREATE_ACL_CONFIG, ResponseCode(209)),
        (RequestCode::DELETE_ACL_CONFIG, ResponseCode(210)),
        (
            RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
            ResponseCode(211),
        ),
        (
            RequestCode::GET_BROKER_CLUSTER_ACL_INFO,
            ResponseCode::SYSTEM_ERROR,
        ),
        (
            RequestCode::GET_BROKER_CLUSTER_ACL_CONFIG,
            ResponseCode::SYSTEM_ERROR,
        ),
    ] {
        let r = call(&c, RemotingCommand::request(code), None).await;
        assert_eq!(r.response_code(), expected, "{code:?}");
        assert_eq!(r.remark.as_deref(), Some("The broker does not enable acl."));
    }
    broker.stop().await;
}
