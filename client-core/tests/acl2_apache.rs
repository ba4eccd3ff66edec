//! Our client against the real Apache RocketMQ 5.3.3 broker with ACL 2.0 on
//! (`authenticationEnabled`, `authorizationEnabled`, the local metadata providers, an initial
//! super user). The users and ACLs are made with our admin API (`admin::auth`), signed as the
//! super user; then our producer and consumer, signed as a normal user, send and consume where
//! its ACL allows and are refused elsewhere, with Apache's response code and remark in our
//! error. A wrong secret, an unsigned admin and a normal user's admin request are refused too.
//!
//! Needs `java` and `mvn` on PATH; prints `SKIPPED` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

mod common;

use std::time::Duration;

use common::{unique, wait_for};
use ferromq_client::admin::auth::{acl_info, user_info};
use ferromq_client::{
    Admin, ClientConfig, ConsumeFrom, Credentials, Error, ErrorKind, FilterExpression, Message,
    Producer, ProducerOptions, PullConsumer, PullConsumerOptions, SendStatus, TopicOptions,
};
use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::ResponseCode;
use ferromq_tests::{require_tools, ApacheBroker, ApacheNamesrv, BrokerOptions};

const WAIT: Duration = Duration::from_secs(60);
const CLUSTER: &str = "DefaultCluster";
/// Apache's `initAuthenticationUser`, a super user.
const ROOT: (&str, &str) = ("rocketmq", "12345678");
const ALICE: (&str, &str) = ("alice", "alice-secret-1");

/// Apache's broker keys for ACL 2.0 as its docs write them.
fn acl2_broker_options() -> BrokerOptions {
    let kv = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    BrokerOptions {
        broker_name: "acl2-broker".to_owned(),
        extra_config: vec![
            kv("authenticationEnabled", "true"),
            kv(
                "authenticationProvider",
                "org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider",
            ),
            kv(
                "authenticationMetadataProvider",
                "org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider",
            ),
            kv("authorizationEnabled", "true"),
            kv(
                "authorizationProvider",
                "org.apache.rocketmq.auth.authorization.provider.DefaultAuthorizationProvider",
            ),
            kv(
                "authorizationMetadataProvider",
                "org.apache.rocketmq.auth.authorization.provider.LocalAuthorizationMetadataProvider",
            ),
            kv(
                "initAuthenticationUser",
                r#"{"username":"rocketmq","password":"12345678"}"#,
            ),
            kv(
                "innerClientAuthenticationCredentials",
                r#"{"accessKey":"rocketmq","secretKey":"12345678"}"#,
            ),
        ],
        ..BrokerOptions::default()
    }
}

fn config(namesrv: &str, who: Option<(&str, &str)>) -> ClientConfig {
    ClientConfig {
        namesrv_addr: namesrv.to_owned(),
        // One shared client per instance name: each identity gets its own.
        instance_name: unique("acl2-apache"),
        credentials: who.map(|(ak, sk)| Credentials::new(ak, sk)),
        ..ClientConfig::default()
    }
}

/// The broker refused: `ErrorKind::Broker`, Apache's NO_PERMISSION (16, what its auth
/// pipeline answers every authentication and authorization failure with), and a remark
/// containing `needle`.
#[track_caller]
fn assert_refused(what: &str, error: &Error, needle: &str) {
    assert_eq!(error.kind(), ErrorKind::Broker, "{what}: {error}");
    assert_eq!(
        error.response_code(),
        Some(ResponseCode::NO_PERMISSION),
        "{what}: {error}"
    );
    let remark = error.remark().unwrap_or_default();
    assert!(
        remark.contains(needle),
        "{what}: the remark {remark:?} does not contain {needle:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_against_apaches_broker_with_acl2() {
    if !require_tools("acl2_apache", &["java", "mvn"]) {
        return;
    }
    let (namesrv, broker) = tokio::task::spawn_blocking(|| {
        let namesrv = ApacheNamesrv::start();
        let mut broker = ApacheBroker::start(namesrv.addr(), acl2_broker_options());
        broker.wait_registered(namesrv.addr(), Duration::from_secs(90));
        (namesrv, broker)
    })
    .await
    .expect("apache servers");
    let ns = namesrv.addr().to_owned();
    let addr = broker.addr().to_owned();
    let allowed = unique("Acl2Allowed");
    let denied = unique("Acl2Denied");
    let group = unique("acl2_cg");
    let other_group = unique("acl2_other_cg");
    let subject = format!("User:{}", ALICE.0);

    // The super user makes the topics, the user and its ACL (cluster-wide: every broker).
    let root = Admin::new(&config(&ns, Some(ROOT))).expect("admin");
    let options = TopicOptions {
        queue_nums: 2,
        ..TopicOptions::default()
    };
    for topic in [&allowed, &denied] {
        root.create_topic(CLUSTER, topic, &options)
            .await
            .expect("the super user creates topics");
    }
    let user = user_info(ALICE.0, Some(ALICE.1), Some("Normal"), None);
    let done = root.create_user(CLUSTER, &user).await.expect("create user");
    assert_eq!(done, [addr.as_str()]);
    let acl = acl_info(
        &subject,
        &[&format!("Topic:{allowed}"), &format!("Group:{group}")],
        &["Pub", "Sub"],
        &[],
        "Allow",
    );
    root.create_acl(CLUSTER, &acl).await.expect("create acl");
    let deny = acl_info(
        &subject,
        &[&format!("Topic:{denied}")],
        &["Pub"],
        &["127.0.0.1"],
        "Deny",
    );
    root.update_acl(CLUSTER, &deny).await.expect("update acl");

    // What the broker now has, read back with the same API.
    let got = root
        .get_user_at(&addr, ALICE.0)
        .await
        .expect("get user")
        .expect("alice exists");
    assert_eq!(got.username.as_deref(), Some(ALICE.0));
    assert_eq!(got.password.as_deref(), Some(ALICE.1));
    assert_eq!(got.user_type.as_deref(), Some("Normal"));
    assert_eq!(got.user_status.as_deref(), Some("enable"));
    assert_eq!(
        root.get_user(CLUSTER, "nobody").await.expect("get user"),
        None
    );
    let users = root
        .list_users(CLUSTER, Some("alic"))
        .await
        .expect("list users");
    let names: Vec<_> = users.iter().filter_map(|u| u.username.as_deref()).collect();
    assert_eq!(names, [ALICE.0]);
    let all = root.list_users_at(&addr, None).await.expect("list users");
    assert!(
        all.iter()
            .any(|u| u.username.as_deref() == Some(ROOT.0)
                && u.user_type.as_deref() == Some("Super")),
        "{all:?}"
    );
    let got = root
        .get_acl_at(&addr, &subject)
        .await
        .expect("get acl")
        .expect("alice has an acl");
    let entries: Vec<_> = got.policies.iter().flat_map(|p| &p.entries).collect();
    assert_eq!(entries.len(), 3, "{got:?}");
    let deny_entry = entries
        .iter()
        .find(|e| e.resource.as_deref() == Some(&format!("Topic:{denied}")))
        .expect("the deny entry");
    assert_eq!(deny_entry.decision.as_deref(), Some("Deny"));
    assert_eq!(deny_entry.source_ips, ["127.0.0.1"]);
    let listed = root
        .list_acls(CLUSTER, Some(ALICE.0), Some(&denied))
        .await
        .expect("list acls");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].0, addr);
    let listed_entries: Vec<_> = listed[0].1.iter().flat_map(|a| &a.policies).collect();
    assert_eq!(listed_entries[0].entries.len(), 1, "{listed:?}");
    // Apache answers GET_ACL of a subject it does not know with NO_PERMISSION.
    let e = root
        .get_acl(CLUSTER, "User:nobody")
        .await
        .expect_err("an unknown subject");
    assert_eq!(e.kind(), ErrorKind::Broker, "{e}");
    assert_eq!(e.response_code(), Some(ResponseCode::NO_PERMISSION), "{e}");
    assert_eq!(e.remark(), Some("The subject is not exist."), "{e}");

    // Refusals of the admin codes surface as Broker errors with Apache's code and remark.
    let unsigned = Admin::new(&config(&ns, None)).expect("admin");
    let e = unsigned
        .create_user_at(&addr, &user_info("mallory", Some("m-secret-1"), None, None))
        .await
        .expect_err("an unsigned request is refused");
    eprintln!("unsigned create user: {e}");
    assert_refused("unsigned create user", &e, "username cannot be null");
    unsigned.shutdown().await;
    let as_alice = Admin::new(&config(&ns, Some(ALICE))).expect("admin");
    let e = as_alice
        .create_user_at(
            &addr,
            &user_info("mallory", Some("m-secret-1"), Some("Super"), None),
        )
        .await
        .expect_err("a normal user cannot create users");
    eprintln!("alice creates a user: {e}");
    assert_refused(
        "alice creates a user",
        &e,
        &format!("User:alice has no permission to access Cluster:{CLUSTER}"),
    );
    assert_eq!(
        root.get_user_at(&addr, "mallory").await.expect("get user"),
        None,
        "no user was created"
    );

    // Alice sends where she may.
    wait_for("topic routes", WAIT, || async {
        root.topic_route(&allowed).await.is_ok() && root.topic_route(&denied).await.is_ok()
    })
    .await;
    let producer = Producer::start(ProducerOptions {
        client: config(&ns, Some(ALICE)),
        group: unique("acl2_pg"),
        ..ProducerOptions::default()
    })
    .await
    .expect("producer");
    for i in 0..4 {
        let sent = producer
            .send(Message::new(&allowed, format!("acl2 {i}")))
            .await
            .expect("alice sends to her topic");
        assert_eq!(sent.status, SendStatus::Ok);
    }
    // ... and is refused where her ACL says Deny.
    let e = producer
        .send(Message::new(&denied, "must not arrive"))
        .await
        .expect_err("the deny entry refuses the send");
    eprintln!("send to the denied topic: {e}");
    assert_refused("send to the denied topic", &e, "the decision is deny");
    assert!(
        e.remark()
            .unwrap_or_default()
            .contains(&format!("Topic:{denied}")),
        "{e}"
    );
    producer.shutdown().await;

    // Alice consumes her topic as her group.
    let consumer = PullConsumer::start(PullConsumerOptions {
        client: config(&ns, Some(ALICE)),
        group: group.clone(),
        consume_from: ConsumeFrom::FirstOffset,
        ..PullConsumerOptions::default()
    })
    .await
    .expect("consumer");
    consumer
        .subscribe(&allowed, FilterExpression::tag("*"))
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
            .expect("alice polls her topic")
        {
            bodies.push(String::from_utf8_lossy(m.body()).into_owned());
        }
    }
    bodies.sort();
    assert_eq!(bodies, ["acl2 0", "acl2 1", "acl2 2", "acl2 3"]);
    consumer.shutdown().await;

    // A pull as a group her ACL does not name: no policy matches, refused.
    let mq = MessageQueue {
        broker_name: broker.name().to_owned(),
        queue_id: 0,
        topic: allowed.clone(),
    };
    let e = as_alice
        .pull_at(&addr, &other_group, &mq, "*", 0, 8)
        .await
        .expect_err("a group without an ACL entry is refused");
    eprintln!("pull as another group: {e}");
    assert_refused("pull as another group", &e, "no matched policies");
    assert!(
        e.remark()
            .unwrap_or_default()
            .contains(&format!("Group:{other_group}")),
        "{e}"
    );
    assert!(
        as_alice
            .pull_at(&addr, &group, &mq, "*", 0, 8)
            .await
            .is_ok(),
        "her own group may pull"
    );
    as_alice.shutdown().await;

    // A wrong secret is refused before any ACL is looked at.
    let wrong = Producer::start(ProducerOptions {
        client: config(&ns, Some((ALICE.0, "not-her-secret"))),
        group: unique("acl2_pg"),
        ..ProducerOptions::default()
    })
    .await
    .expect("producer");
    let e = wrong
        .send(Message::new(&allowed, "must not arrive"))
        .await
        .expect_err("a wrong secret is refused");
    eprintln!("send with a wrong secret: {e}");
    assert_refused("send with a wrong secret", &e, "check signature failed");
    wrong.shutdown().await;

    // Disabled, then deleted: refused, and gone from the broker.
    root.update_user(CLUSTER, &user_info(ALICE.0, None, None, Some("disable")))
        .await
        .expect("update user");
    let disabled = Producer::start(ProducerOptions {
        client: config(&ns, Some(ALICE)),
        group: unique("acl2_pg"),
        ..ProducerOptions::default()
    })
    .await
    .expect("producer");
    let e = disabled
        .send(Message::new(&allowed, "must not arrive"))
        .await
        .expect_err("a disabled user is refused");
    eprintln!("send as a disabled user: {e}");
    assert_refused("send as a disabled user", &e, "is disabled");
    disabled.shutdown().await;
    root.delete_acl(CLUSTER, &subject, Some(&format!("Topic:{denied}")))
        .await
        .expect("delete one acl entry");
    let left = root
        .get_acl_at(&addr, &subject)
        .await
        .expect("get acl")
        .expect("the other entries stay");
    assert_eq!(
        left.policies.iter().map(|p| p.entries.len()).sum::<usize>(),
        2,
        "{left:?}"
    );
    root.delete_acl(CLUSTER, &subject, None)
        .await
        .expect("delete the acl");
    assert_eq!(
        root.get_acl_at(&addr, &subject).await.expect("get acl"),
        None
    );
    root.delete_user(CLUSTER, ALICE.0)
        .await
        .expect("delete user");
    assert_eq!(
        root.get_user_at(&addr, ALICE.0).await.expect("get user"),
        None
    );
    root.shutdown().await;
    tokio::task::spawn_blocking(move || drop((broker, namesrv)))
        .await
        .expect("servers stop");
}
