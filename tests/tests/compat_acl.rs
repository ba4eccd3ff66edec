//! ACL 1.0 with the official Java client (5.3.3, `AclClientRPCHook`) against FerroMQ's broker
//! with `aclEnable=true` (docs/security.md): the admin account creates topics, a user account
//! sends and consumes on its topic, and its send to a topic it may only read is refused.
//!
//! The official Go client (v2.1.2, `WithCredentials`) does the same as the user account, and a
//! send with a wrong secret is refused.
//!
//! Needs `java` (17) and `mvn` on PATH (`go` for the Go test); prints `SKIPPED: ...` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

use ferromq_tests::clients::{go_acl_round_trip, java_acl_round_trip};
use ferromq_tests::remoting::{create_topic_signed, topic_route};
use ferromq_tests::{require_tools, FerroBroker, FerroNamesrv};

const ADMIN: (&str, &str) = ("compat-admin", "compat-admin-secret");
const USER: (&str, &str) = ("compat-user", "compat-user-secret");

/// A name server and a broker with `aclEnable=true` and a file where the admin account may do
/// anything and the user account may send to and consume `topic`, only consume `denied`, and
/// consume as any group. The temporary directory holds the file.
fn acl_servers(topic: &str, denied: &str) -> (tempfile::TempDir, FerroNamesrv, FerroBroker) {
    let dir = tempfile::tempdir().expect("temp dir");
    let acl = dir.path().join("plain_acl.yml");
    std::fs::write(
        &acl,
        format!(
            "accounts:\n\
             \x20 - accessKey: {}\n    secretKey: {}\n    admin: true\n\
             \x20 - accessKey: {}\n    secretKey: {}\n    defaultTopicPerm: DENY\n    defaultGroupPerm: SUB\n\
             \x20   topicPerms:\n      - {topic}=PUB|SUB\n      - {denied}=SUB\n",
            ADMIN.0, ADMIN.1, USER.0, USER.1
        ),
    )
    .expect("write the ACL file");
    let namesrv = FerroNamesrv::start();
    let acl_path = acl.display().to_string();
    let broker = FerroBroker::start(namesrv.addr(), move |s| {
        s.broker.acl_enable = true;
        s.broker.acl_file_path = acl_path;
    });
    (dir, namesrv, broker)
}

#[test]
fn java_acl_client_against_ferromq_broker() {
    if !require_tools("compat_acl", &["java", "mvn"]) {
        return;
    }
    let suffix = std::process::id();
    let topic = format!("AclJava_{suffix}");
    let denied = format!("AclJavaDenied_{suffix}");
    let (_dir, namesrv, broker) = acl_servers(&topic, &denied);
    ferromq_tests::net::wait_until(
        "broker registration",
        std::time::Duration::from_secs(30),
        || {
            let info = ferromq_tests::remoting::broker_cluster_info(namesrv.addr())
                .map_err(|e| e.to_string())?;
            Ok(info.body_text().contains(broker.addr()))
        },
    )
    .expect("the broker registers with the name server");
    let run = java_acl_round_trip(namesrv.addr(), &topic, &denied, 16, ADMIN, USER);
    run.assert_success();
    assert!(
        run.output
            .contains("OK: acl: sent and received 16, denied topic refused"),
        "{}",
        run.output
    );
}

#[test]
fn go_acl_client_against_ferromq_broker() {
    if !require_tools("compat_acl (go)", &["go"]) {
        return;
    }
    let suffix = std::process::id();
    let topic = format!("AclGo_{suffix}");
    let denied = format!("AclGoDenied_{suffix}");
    let (_dir, namesrv, broker) = acl_servers(&topic, &denied);
    for t in [&topic, &denied] {
        create_topic_signed(broker.addr(), ADMIN, t);
        ferromq_tests::net::wait_until(
            "the topic's route",
            std::time::Duration::from_secs(30),
            || {
                Ok(topic_route(namesrv.addr(), t)
                    .map_err(|e| e.to_string())?
                    .code
                    == 0)
            },
        )
        .expect("route");
    }
    let group = format!("go_acl_cg_{suffix}");
    let run = go_acl_round_trip(namesrv.addr(), &topic, &denied, &group, USER, 8);
    run.assert_success();
    assert!(
        run.output
            .contains("OK: acl: sent and received 8, denied topic refused, wrong secret refused"),
        "{}",
        run.output
    );
    // ACL 1.0 refusals are SYSTEM_ERROR (1) with the AclException remark, as Apache's.
    assert!(
        run.output.contains(
            "CODE: 1, DESC: org.apache.rocketmq.acl.common.AclException: Check signature failed"
        ),
        "{}",
        run.output
    );
}
