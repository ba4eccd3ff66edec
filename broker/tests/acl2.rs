//! ACL 2.0 (`authenticationEnabled`, `authorizationEnabled`; docs/security.md, "ACL 2.0") on
//! real brokers: users and ACLs created through the AUTH_* admin codes, signed requests allowed
//! and refused with Apache's NO_PERMISSION answers, super and disabled users, source
//! addresses, the users and ACLs kept across a restart, copied by a slave, migrated from ACL 1.0,
//! and FerroMQ's client with credentials.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_broker::Settings;
use ferromq_client::{
    ClientConfig, ConsumeFrom, Credentials, FilterExpression, Message, Producer, ProducerOptions,
    PullConsumer, PullConsumerOptions,
};
use ferromq_protocol::body::auth::{AclInfo, AclInfoList, UserInfo, UserInfoList};
use ferromq_protocol::header::auth::{
    CreateAclRequestHeader, CreateUserRequestHeader, DeleteAclRequestHeader,
    DeleteUserRequestHeader, GetAclRequestHeader, GetUserRequestHeader, ListAclsRequestHeader,
    ListUsersRequestHeader, UpdateUserRequestHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::Connection;
use tokio::net::TcpListener;

mod support;
use support::*;

const ROOT: (&str, &str) = ("root", "root-secret");

fn root() -> Credentials {
    Credentials::new(ROOT.0, ROOT.1)
}

fn alice() -> Credentials {
    Credentials::new("alice", "alice-secret")
}

fn auth_on(s: &mut Settings) {
    s.broker.authentication_enabled = true;
    s.broker.authorization_enabled = true;
    s.broker.init_authentication_user =
        format!(r#"{{"username":"{}","password":"{}"}}"#, ROOT.0, ROOT.1);
}

async fn call(c: &Connection, req: RemotingCommand, who: Option<&Credentials>) -> RemotingCommand {
    let mut req = req;
    if let Some(credentials) = who {
        credentials.sign(&mut req);
    }
    c.request(req, T).await.unwrap()
}

fn assert_no_permission(resp: &RemotingCommand, message: &str) {
    assert_eq!(
        resp.response_code(),
        ResponseCode::NO_PERMISSION,
        "{resp:?}"
    );
    assert_eq!(resp.remark.as_deref(), Some(message));
}

fn assert_ok(resp: &RemotingCommand) {
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS, "{resp:?}");
}

fn create_user(name: &str, password: &str, user_type: Option<&str>) -> RemotingCommand {
    let body = UserInfo {
        username: Some(name.into()),
        password: Some(password.into()),
        user_type: user_type.map(str::to_owned),
        user_status: None,
    };
    RemotingCommand::request_with_header(
        RequestCode::AUTH_CREATE_USER,
        &CreateUserRequestHeader {
            username: name.into(),
        },
    )
    .with_body(body.encode())
}

fn update_user(name: &str, body: UserInfo) -> RemotingCommand {
    RemotingCommand::request_with_header(
        RequestCode::AUTH_UPDATE_USER,
        &UpdateUserRequestHeader {
            username: name.into(),
        },
    )
    .with_body(body.encode())
}

fn get_user(name: &str) -> RemotingCommand {
    RemotingCommand::request_with_header(
        RequestCode::AUTH_GET_USER,
        &GetUserRequestHeader {
            username: name.into(),
        },
    )
}

/// An ACL body with one entry per `(resource, actions, sourceIps, decision)`.
fn create_acl(user: &str, entries: &[(&str, &str, &str, &str)]) -> RemotingCommand {
    let entries: Vec<String> = entries
        .iter()
        .map(|(resource, actions, ips, decision)| {
            let list = |s: &str| {
                s.split(',')
                    .filter(|x| !x.is_empty())
                    .map(|x| format!("\"{x}\""))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            format!(
                r#"{{"actions":[{}],"decision":"{decision}","resource":"{resource}","sourceIps":[{}]}}"#,
                list(actions),
                list(ips)
            )
        })
        .collect();
    let body = format!(
        r#"{{"policies":[{{"entries":[{}],"policyType":"Custom"}}],"subject":"User:{user}"}}"#,
        entries.join(",")
    );
    RemotingCommand::request_with_header(
        RequestCode::AUTH_CREATE_ACL,
        &CreateAclRequestHeader {
            subject: format!("User:{user}"),
        },
    )
    .with_body(Bytes::from(body))
}

fn get_acl(user: &str) -> RemotingCommand {
    RemotingCommand::request_with_header(
        RequestCode::AUTH_GET_ACL,
        &GetAclRequestHeader {
            subject: format!("User:{user}"),
        },
    )
}

fn send(topic: &str, body: &str) -> RemotingCommand {
    send_request(topic, 0, body.as_bytes(), "TagA", "k")
}

/// Alice: Orders (send, read), group readers, Deny on Secret, `Remote` only from 10/8.
async fn setup_alice(c: &Connection) {
    assert_ok(&call(c, create_topic_request("Orders", 1), Some(&root())).await);
    assert_ok(&call(c, create_user("alice", "alice-secret", None), Some(&root())).await);
    assert_ok(
        &call(
            c,
            create_acl(
                "alice",
                &[
                    ("Topic:Orders", "Pub,Sub,Get", "", "Allow"),
                    ("Topic:Sec*", "All", "", "Allow"),
                    ("Topic:Secret", "Pub", "127.0.0.1", "Deny"),
                    ("Topic:Remote", "Pub", "10.0.0.0/8", "Allow"),
                    ("Group:readers", "Sub,Get,Update", "", "Allow"),
                ],
            ),
            Some(&root()),
        )
        .await,
    );
}

#[tokio::test]
async fn signed_users_within_their_acl_are_served_and_others_refused() {
    let b = TestBroker::start(auth_on).await;
    let c = b.client().await;
    // Nothing unsigned passes, admin codes included.
    assert_no_permission(
        &call(&c, create_user("mallory", "m-secret", Some("Super")), None).await,
        "username cannot be null.",
    );
    setup_alice(&c).await;
    // A consumer of group readers on Orders registers (Sub on both).
    assert_ok(&call(&c, heartbeat("PG", "readers", "Orders"), Some(&alice())).await);
    assert_no_permission(
        &call(&c, heartbeat("PG", "others", "Orders"), Some(&alice())).await,
        "User:alice has no permission to access Group:others from 127.0.0.1, no matched policies.",
    );

    assert_ok(&call(&c, send("Orders", "m0"), Some(&alice())).await);
    assert_no_permission(
        &call(&c, send("Other", "m1"), Some(&alice())).await,
        "User:alice has no permission to access Topic:Other from 127.0.0.1, no matched policies.",
    );
    // The literal Deny beats the prefixed Allow; the prefix allows the rest.
    assert_no_permission(
        &call(&c, send("Secret", "m1"), Some(&alice())).await,
        "User:alice has no permission to access Topic:Secret from 127.0.0.1, the decision is deny.",
    );
    assert_ok(&call(&c, create_topic_request("Second", 1), Some(&root())).await);
    assert_ok(&call(&c, send("Second", "s"), Some(&alice())).await);
    // An entry for other addresses does not match this one.
    assert_no_permission(
        &call(&c, send("Remote", "m1"), Some(&alice())).await,
        "User:alice has no permission to access Topic:Remote from 127.0.0.1, no matched policies.",
    );
    let mut batch = send("Other", "m1");
    batch.code = RequestCode::SEND_BATCH_MESSAGE.0;
    assert_eq!(
        call(&c, batch, Some(&alice())).await.response_code(),
        ResponseCode::NO_PERMISSION
    );
    // Pulls need Sub on the topic and the group (m0 may not be dispatched yet: any answer but
    // a refusal).
    let r = call(
        &c,
        pull_request("readers", "Orders", 0, 0, 0),
        Some(&alice()),
    )
    .await;
    assert_ne!(r.response_code(), ResponseCode::NO_PERMISSION, "{r:?}");
    assert_no_permission(
        &call(
            &c,
            pull_request("others", "Orders", 0, 0, 0),
            Some(&alice()),
        )
        .await,
        "User:alice has no permission to access Group:others from 127.0.0.1, no matched policies.",
    );
    // Admin writes.
    assert_no_permission(
        &call(&c, create_topic_request("New", 1), Some(&alice())).await,
        "User:alice has no permission to access Topic:New from 127.0.0.1, no matched policies.",
    );
    assert_no_permission(
        &call(&c, create_user("bob", "bob-secret", None), Some(&alice())).await,
        "User:alice has no permission to access Cluster:DefaultCluster from 127.0.0.1, no matched policies.",
    );
    // The broker's config is not for her either, and does not show secrets to root.
    let config = || RemotingCommand::request(RequestCode::GET_BROKER_CONFIG);
    assert_eq!(
        call(&c, config(), Some(&alice())).await.response_code(),
        ResponseCode::NO_PERMISSION
    );
    let r = call(&c, config(), Some(&root())).await;
    assert_ok(&r);
    let text = String::from_utf8_lossy(&r.body);
    assert!(text.contains("authenticationEnabled=true"), "{text}");
    assert!(!text.contains(ROOT.1), "{text}");
    let update = RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG)
        .with_body(Bytes::from_static(b"authenticationEnabled=false"));
    assert_eq!(
        call(&c, update, Some(&alice())).await.response_code(),
        ResponseCode::NO_PERMISSION
    );
    // Authentication failures.
    assert_no_permission(
        &call(
            &c,
            send("Orders", "x"),
            Some(&Credentials::new("alice", "guess")),
        )
        .await,
        "check signature failed.",
    );
    assert_no_permission(
        &call(
            &c,
            send("Orders", "x"),
            Some(&Credentials::new("mallory", "x")),
        )
        .await,
        "User:mallory is not found.",
    );
    let mut signed = send("Orders", "pay 10");
    alice().sign(&mut signed);
    let mut replay = send("Orders", "pay 1000000");
    replay.ext_fields = signed.ext_fields.clone();
    assert_no_permission(&call(&c, replay, None).await, "check signature failed.");
    // A disabled user is refused until enabled again.
    let status = |s: &str| UserInfo {
        user_status: Some(s.into()),
        ..UserInfo::default()
    };
    assert_ok(&call(&c, update_user("alice", status("disable")), Some(&root())).await);
    assert_no_permission(
        &call(&c, send("Orders", "x"), Some(&alice())).await,
        "User:alice is disabled.",
    );
    assert_ok(&call(&c, update_user("alice", status("enable")), Some(&root())).await);
    assert_ok(&call(&c, send("Orders", "m2"), Some(&alice())).await);

    // Nothing refused was stored: Orders holds m0 and m2 once both are dispatched.
    let deadline = Instant::now() + T;
    loop {
        let r = call(
            &c,
            pull_request("readers", "Orders", 0, 0, 0),
            Some(&alice()),
        )
        .await;
        let bodies: Vec<_> = messages(&r.body)
            .iter()
            .map(|m| String::from_utf8_lossy(&m.body).into_owned())
            .collect();
        if bodies.len() >= 2 {
            assert_eq!(bodies, ["m0", "m2"]);
            break;
        }
        assert!(Instant::now() < deadline, "pulled {bodies:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.stop().await;
}

#[tokio::test]
async fn admin_codes_answer_as_apache() {
    let b = TestBroker::start(auth_on).await;
    let c = b.client().await;
    setup_alice(&c).await;
    let r = call(
        &c,
        create_user("alice", "again-secret", None),
        Some(&root()),
    )
    .await;
    assert_no_permission(&r, "The user is existed");
    let r = call(&c, create_user("nopw", "", None), Some(&root())).await;
    assert_no_permission(&r, "password can not be blank");
    let r = call(&c, update_user("ghost", UserInfo::default()), Some(&root())).await;
    assert_no_permission(&r, "The user is not exist");
    let r = call(&c, get_user(""), Some(&root())).await;
    assert_eq!(r.response_code(), ResponseCode::INVALID_PARAMETER);
    assert_eq!(r.remark.as_deref(), Some("The username is blank"));
    let r = call(
        &c,
        create_acl("ghost", &[("Topic:t", "Pub", "", "Allow")]),
        Some(&root()),
    )
    .await;
    assert_no_permission(&r, "The subject of User:ghost is not exist.");
    let r = call(
        &c,
        create_acl("alice", &[("Topic:t", "Pub", "1.2.3", "Allow")]),
        Some(&root()),
    )
    .await;
    assert_no_permission(&r, "The source ip is invalid.");

    // Only a super user makes or changes super users; alice may manage users on the cluster.
    assert_ok(
        &call(
            &c,
            create_acl(
                "alice",
                &[("Cluster:DefaultCluster", "Update,Get", "", "Allow")],
            ),
            Some(&root()),
        )
        .await,
    );
    let r = call(
        &c,
        create_user("boss", "boss-secret", Some("Super")),
        Some(&alice()),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR, "{r:?}");
    assert_eq!(
        r.remark.as_deref(),
        Some("The super user can only be create by super user")
    );
    assert_ok(&call(&c, create_user("bob", "bob-secret", None), Some(&alice())).await);
    let r = call(
        &c,
        update_user(
            "root",
            UserInfo {
                password: Some("taken-over".into()),
                ..UserInfo::default()
            },
        ),
        Some(&alice()),
    )
    .await;
    assert_no_permission(&r, "The super user can only be update by super user");

    // Reads: the user with its password, lists filtered by name.
    let r = call(&c, get_user("bob"), Some(&root())).await;
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        r#"{"password":"bob-secret","userStatus":"enable","userType":"Normal","username":"bob"}"#
    );
    let r = call(&c, get_user("nobody"), Some(&root())).await;
    assert_ok(&r);
    assert!(r.body.is_empty());
    let list = |filter: &str| {
        RemotingCommand::request_with_header(
            RequestCode::AUTH_LIST_USER,
            &ListUsersRequestHeader {
                filter: Some(filter.into()),
            },
        )
    };
    let r = call(&c, list("o"), Some(&root())).await;
    let names: Vec<_> = UserInfoList::decode(&r.body)
        .unwrap()
        .0
        .into_iter()
        .filter_map(|u| u.username)
        .collect();
    assert_eq!(names, ["bob", "root"]);

    let r = call(&c, get_acl("alice"), Some(&root())).await;
    let acl = AclInfo::decode(&r.body).unwrap();
    assert_eq!(acl.subject.as_deref(), Some("User:alice"));
    let resources: Vec<_> = acl.policies[0]
        .entries
        .iter()
        .filter_map(|e| e.resource.clone())
        .collect();
    assert_eq!(
        resources,
        [
            "Topic:Orders",
            "Topic:Sec*",
            "Topic:Secret",
            "Topic:Remote",
            "Group:readers",
            "Cluster:DefaultCluster"
        ]
    );
    let list_acls = RemotingCommand::request_with_header(
        RequestCode::AUTH_LIST_ACL,
        &ListAclsRequestHeader {
            subject_filter: None,
            resource_filter: Some("Group".into()),
        },
    );
    let r = call(&c, list_acls, Some(&root())).await;
    let acls = AclInfoList::decode(&r.body).unwrap().0;
    assert_eq!(acls.len(), 1);
    assert_eq!(acls[0].policies[0].entries.len(), 1);

    // Deleting one entry, then the user with its ACL.
    let del = RemotingCommand::request_with_header(
        RequestCode::AUTH_DELETE_ACL,
        &DeleteAclRequestHeader {
            subject: "User:alice".into(),
            policy_type: None,
            resource: Some("Topic:Orders".into()),
        },
    );
    assert_ok(&call(&c, del, Some(&root())).await);
    assert_no_permission(
        &call(&c, send("Orders", "x"), Some(&alice())).await,
        "User:alice has no permission to access Topic:Orders from 127.0.0.1, no matched policies.",
    );
    let del_user = |name: &str| {
        RemotingCommand::request_with_header(
            RequestCode::AUTH_DELETE_USER,
            &DeleteUserRequestHeader {
                username: name.into(),
            },
        )
    };
    assert_ok(&call(&c, del_user("alice"), Some(&root())).await);
    assert_ok(&call(&c, del_user("alice"), Some(&root())).await);
    let r = call(&c, get_acl("alice"), Some(&root())).await;
    assert_no_permission(&r, "The subject is not exist.");
    assert_no_permission(
        &call(&c, send("Orders", "x"), Some(&alice())).await,
        "User:alice is not found.",
    );
    b.stop().await;
}

/// A broker whose store lives in `root`, so that it can be started again on the same files.
async fn broker_in(
    root: PathBuf,
    tweak: impl FnOnce(&mut Settings) + Send + 'static,
) -> TestBroker {
    TestBroker::start(move |s| {
        auth_on(s);
        s.store.store_path_root_dir = root;
        tweak(s);
    })
    .await
}

#[tokio::test]
async fn users_and_acls_survive_a_restart_and_a_torn_file() {
    let dir = tempfile::tempdir().unwrap();
    {
        let b = broker_in(dir.path().to_path_buf(), |_| {}).await;
        let c = b.client().await;
        setup_alice(&c).await;
        b.stop().await;
    }
    let users = dir.path().join("config").join("users.json");
    assert!(std::fs::read_to_string(&users).unwrap().contains("alice"));
    {
        let b = broker_in(dir.path().to_path_buf(), |_| {}).await;
        let c = b.client().await;
        assert_ok(&call(&c, send("Orders", "after restart"), Some(&alice())).await);
        assert_no_permission(
            &call(&c, send("Secret", "x"), Some(&alice())).await,
            "User:alice has no permission to access Topic:Secret from 127.0.0.1, the decision is deny.",
        );
        // One more write leaves the previous file as users.json.bak.
        assert_ok(
            &call(
                &c,
                create_user("carol", "carol-secret", None),
                Some(&root()),
            )
            .await,
        );
        b.stop().await;
    }
    // A torn users.json is read from its backup (alice is there, carol came after).
    std::fs::write(&users, b"[{\"username\":\"al").unwrap();
    {
        let b = broker_in(dir.path().to_path_buf(), |_| {}).await;
        let c = b.client().await;
        assert_ok(&call(&c, send("Orders", "from bak"), Some(&alice())).await);
        b.stop().await;
    }
    // Both torn: the broker does not start, and says which file.
    std::fs::write(&users, b"{").unwrap();
    std::fs::write(dir.path().join("config").join("users.json.bak"), b"{").unwrap();
    let mut settings = Settings::default();
    auth_on(&mut settings);
    settings.broker.broker_ip1 = "127.0.0.1".into();
    settings.store = ferromq_store::StoreConfig::with_root(dir.path());
    let e = ferromq_broker::open(settings)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("users.json"), "{e}");
}

#[tokio::test]
async fn unknown_providers_and_bad_json_stop_start_up() {
    for (tweak, key) in [
        (
            (|s: &mut Settings| s.broker.authentication_provider = "com.acme.Auth".into())
                as fn(&mut Settings),
            "authenticationProvider",
        ),
        (
            |s: &mut Settings| s.broker.authorization_metadata_provider = "redis".into(),
            "authorizationMetadataProvider",
        ),
        (
            |s: &mut Settings| s.broker.inner_client_authentication_credentials = "{".into(),
            "innerClientAuthenticationCredentials",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::default();
        settings.broker.broker_ip1 = "127.0.0.1".into();
        settings.store = ferromq_store::StoreConfig::with_root(dir.path());
        tweak(&mut settings);
        let e = ferromq_broker::open(settings)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains(key), "{e}");
    }
    // Apache's class names are accepted.
    let b = TestBroker::start(|s| {
        auth_on(s);
        s.broker.authentication_provider =
            "org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider".into();
        s.broker.authorization_metadata_provider =
            "org.apache.rocketmq.auth.authorization.provider.LocalAuthorizationMetadataProvider"
                .into();
    })
    .await;
    b.stop().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_core_producer_and_consumer_with_credentials() {
    let (ns, _ns_stop, _ns_dir) = namesrv().await;
    let ns_for_broker = ns.clone();
    let b = TestBroker::start(move |s| {
        auth_on(s);
        s.broker.namesrv_addr = ns_for_broker;
    })
    .await;
    let c = b.client().await;
    setup_alice(&c).await;
    assert_ok(&call(&c, create_topic_request("Secret", 1), Some(&root())).await);
    let config = |instance: &str, credentials: Option<Credentials>| ClientConfig {
        credentials,
        ..ClientConfig::new(ns.clone(), Some(instance.to_owned()))
    };
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
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let e = producer
            .send(Message::new("Secret", "no"))
            .await
            .unwrap_err();
        if e.response_code() == Some(ResponseCode::NO_PERMISSION) {
            assert!(
                e.remark()
                    .unwrap_or_default()
                    .contains("the decision is deny"),
                "{e}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "send to Secret: {e}");
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
    let p = Producer::start(ProducerOptions {
        client: config("wrong", Some(Credentials::new("alice", "guess-guess"))),
        group: "wrong-producers".to_owned(),
        retry_times: 0,
        ..ProducerOptions::default()
    })
    .await
    .unwrap();
    let e = p.send(Message::new("Orders", "no")).await.unwrap_err();
    assert_eq!(e.response_code(), Some(ResponseCode::NO_PERMISSION), "{e}");
    assert_eq!(e.remark(), Some("check signature failed."));
    p.shutdown().await;
    producer.shutdown().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_copies_its_masters_users_and_acls() {
    let ha = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let inner = r#"{"accessKey":"inner-broker","secretKey":"inner-secret"}"#;
    let (ns, ns_stop, _ns_dir) = namesrv().await;
    let ns_for_master = ns.clone();
    let master = TestBroker::start(move |s| {
        auth_on(s);
        s.broker.namesrv_addr = ns_for_master;
        s.broker.inner_client_authentication_credentials = inner.into();
        s.broker.ha_listen_port = ha;
        s.broker.broker_ip2 = "127.0.0.1".to_owned();
    })
    .await;
    let mc = master.client().await;
    setup_alice(&mc).await;
    let slave = TestBroker::start(move |s| {
        s.broker.namesrv_addr = ns;
        s.broker.authentication_enabled = true;
        s.broker.authorization_enabled = true;
        s.broker.inner_client_authentication_credentials = inner.into();
        s.broker.broker_role = ferromq_broker::config::BrokerRole::Slave;
        s.broker.broker_id = 1;
        s.broker.ha_master_address = format!("127.0.0.1:{ha}");
    })
    .await;
    let sc = slave.client().await;
    // The master's root signs the slave's requests once copied; the sync runs every 10 s.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let r = call(&sc, get_acl("alice"), Some(&root())).await;
        if String::from_utf8_lossy(&r.body).contains("Topic:Secret") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slave never copied the ACLs: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The copy decides on the slave as on the master: alice reads Orders there.
    let r = call(
        &sc,
        pull_request("readers", "Orders", 0, 0, 0),
        Some(&alice()),
    )
    .await;
    assert_ne!(r.response_code(), ResponseCode::NO_PERMISSION, "{r:?}");
    let r = call(
        &sc,
        pull_request("others", "Orders", 0, 0, 0),
        Some(&alice()),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::NO_PERMISSION, "{r:?}");
    // A user deleted on the master goes from the slave too.
    let del = RemotingCommand::request_with_header(
        RequestCode::AUTH_DELETE_USER,
        &DeleteUserRequestHeader {
            username: "alice".into(),
        },
    );
    assert_ok(&call(&mc, del, Some(&root())).await);
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let r = call(&sc, get_user("alice"), Some(&root())).await;
        if r.response_code() == ResponseCode::SUCCESS && r.body.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "the slave kept alice: {r:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    slave.stop().await;
    master.stop().await;
    let _ = ns_stop.send(());
}

#[tokio::test]
async fn acl_1_accounts_migrate_and_both_versions_must_pass() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain_acl.yml");
    std::fs::write(
        &file,
        "accounts:\n  - accessKey: app-orders\n    secretKey: orders-secret\n    \
         defaultTopicPerm: DENY\n    defaultGroupPerm: SUB\n    topicPerms: [Orders=PUB|SUB]\n  \
         - accessKey: ops-admin\n    secretKey: admin-secret\n    admin: true\n",
    )
    .unwrap();
    let path = file.display().to_string();
    let b = TestBroker::start(move |s| {
        auth_on(s);
        s.broker.migrate_auth_from_v1_enabled = true;
        s.broker.acl_enable = true;
        s.broker.acl_file_path = path;
    })
    .await;
    let c = b.client().await;
    let app = Credentials::new("app-orders", "orders-secret");
    let ops = Credentials::new("ops-admin", "admin-secret");
    assert_ok(&call(&c, create_topic_request("Orders", 1), Some(&ops)).await);
    assert_ok(&call(&c, send("Orders", "m"), Some(&app)).await);
    let r = call(&c, get_user("ops-admin"), Some(&ops)).await;
    assert!(
        String::from_utf8_lossy(&r.body).contains(r#""userType":"Super""#),
        "{r:?}"
    );
    // Refused by both: ACL 2.0's answer is the one given.
    assert_no_permission(
        &call(&c, send("Other", "m"), Some(&app)).await,
        "User:app-orders has no permission to access Topic:Other from 127.0.0.1, the decision is deny.",
    );
    // root is an ACL 2.0 super user but no ACL 1.0 account: ACL 1.0 refuses it.
    let r = call(&c, send("Orders", "m"), Some(&root())).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR, "{r:?}");
    assert_eq!(
        r.remark.as_deref(),
        Some("org.apache.rocketmq.acl.common.AclException: No acl config for root")
    );
    b.stop().await;
}
