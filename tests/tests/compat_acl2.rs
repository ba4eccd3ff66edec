//! ACL 2.0 with Apache's own programs against FerroMQ's broker (docs/security.md, "ACL 2.0"):
//!
//! - the official Java client (5.3.3, `AclClientRPCHook`) signed as a super user creates topics,
//!   signed as a normal user sends and consumes within its ACL, and its send to a topic it may
//!   only read is refused with NO_PERMISSION and Apache's remark;
//! - Apache 5.3.3's `mqadmin` runs createUser, getUser, listUser, createAcl, getAcl, listAcl,
//!   deleteAcl and deleteUser against FerroMQ's broker and against Apache's 5.3.3 broker, and
//!   prints the same lines for both (broker addresses aside). The harness gives `mqadmin` no
//!   credentials, so both brokers run with the checks off (the admin codes work either way).
//!
//! - the official Go client (v2.1.2, `WithCredentials`) signed as a normal user sends and
//!   consumes within its ACL; its send to a topic it may only read and a send with a wrong
//!   secret are refused.
//!
//! Needs `java` (17) and `mvn` on PATH (and `go` for the Go test); prints `SKIPPED: ...` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

use std::time::Duration;

use ferromq_protocol::RequestCode;
use ferromq_tests::apache::{ApacheBroker, ApacheNamesrv, BrokerOptions};
use ferromq_tests::clients::{go_acl_round_trip, java_acl2_round_trip};
use ferromq_tests::mqadmin::apache_mqadmin;
use ferromq_tests::remoting::{create_topic_signed, signed_request, topic_route};
use ferromq_tests::{require_tools, FerroBroker, FerroNamesrv};

const ADMIN: (&str, &str) = ("compat-root", "compat-root-secret");
const USER: (&str, &str) = ("compat-user", "compat-user-secret");

/// A name server and a broker with ACL 2.0 on, the super user `ADMIN` and a user `USER` who may
/// send to and consume `topic`, only consume `denied`, and consume as the groups `groups`
/// (a pattern such as `acl_cg_*`).
fn acl2_servers(topic: &str, denied: &str, groups: &str) -> (FerroNamesrv, FerroBroker) {
    let namesrv = FerroNamesrv::start();
    let broker = FerroBroker::start(namesrv.addr(), |s| {
        s.broker.authentication_enabled = true;
        s.broker.authorization_enabled = true;
        s.broker.init_authentication_user =
            format!(r#"{{"username":"{}","password":"{}"}}"#, ADMIN.0, ADMIN.1);
    });
    ferromq_tests::net::wait_until("broker registration", Duration::from_secs(30), || {
        let info = ferromq_tests::remoting::broker_cluster_info(namesrv.addr())
            .map_err(|e| e.to_string())?;
        Ok(info.body_text().contains(broker.addr()))
    })
    .expect("the broker registers with the name server");
    signed_request(
        broker.addr(),
        ADMIN,
        RequestCode::AUTH_CREATE_USER,
        &[("username", USER.0)],
        &format!(r#"{{"password":"{}","username":"{}"}}"#, USER.1, USER.0),
    );
    let acl = format!(
        r#"{{"policies":[{{"entries":[
            {{"actions":["Pub","Sub","Get"],"decision":"Allow","resource":"Topic:{topic}"}},
            {{"actions":["Sub","Get"],"decision":"Allow","resource":"Topic:{denied}"}},
            {{"actions":["Sub","Get","Update"],"decision":"Allow","resource":"Group:{groups}"}}
        ]}}],"subject":"User:{}"}}"#,
        USER.0
    );
    signed_request(
        broker.addr(),
        ADMIN,
        RequestCode::AUTH_CREATE_ACL,
        &[("subject", &format!("User:{}", USER.0))],
        &acl,
    );
    (namesrv, broker)
}

#[test]
fn java_acl_client_against_ferromq_acl2() {
    if !require_tools("compat_acl2", &["java", "mvn"]) {
        return;
    }
    let suffix = std::process::id();
    let topic = format!("Acl2Java_{suffix}");
    let denied = format!("Acl2JavaDenied_{suffix}");
    let (namesrv, _broker) = acl2_servers(&topic, &denied, "acl_cg_*");
    let run = java_acl2_round_trip(
        namesrv.addr(),
        &topic,
        &denied,
        16,
        ADMIN,
        USER,
        16,
        &format!("User:{} has no permission to access Topic:{denied}", USER.0),
    );
    run.assert_success();
    assert!(
        run.output
            .contains("OK: acl: sent and received 16, denied topic refused"),
        "{}",
        run.output
    );
}

/// The lines of an `mqadmin` run that carry its result: `... success.` lines and the table
/// rows, with the broker's address replaced.
fn result_lines(output: &str, addr: &str) -> Vec<String> {
    output
        .lines()
        .map(|l| l.replace(addr, "<broker>"))
        .filter(|l| {
            l.contains(" success.")
                || l.starts_with('#')
                || l.starts_with("compat")
                || l.starts_with("User:")
                || l.contains("command failed")
                || l.contains("Exception")
        })
        .map(|l| l.trim_end().to_owned())
        .collect()
}

/// The `mqadmin` steps, each with the text its output must show.
fn steps(addr: &str) -> Vec<(Vec<String>, &'static str)> {
    let a = |args: &[&str]| -> Vec<String> {
        args.iter()
            .map(|s| (*s).to_owned())
            .chain(["-b".to_owned(), addr.to_owned()])
            .collect()
    };
    vec![
        (
            a(&[
                "createUser",
                "-u",
                "compat-alice",
                "-p",
                "alice-pw-1",
                "-t",
                "Normal",
            ]),
            "create user to",
        ),
        (
            a(&["createUser", "-u", "compat-bob", "-p", "bob-pw-1"]),
            "create user to",
        ),
        (a(&["getUser", "-u", "compat-alice"]), "alice-pw-1"),
        (a(&["listUser", "-f", "compat"]), "compat-bob"),
        (
            a(&[
                "createAcl",
                "-s",
                "User:compat-alice",
                "-r",
                "Topic:orders,Group:readers*",
                "-a",
                "Pub,Sub",
                "-d",
                "Allow",
                "-i",
                "10.0.0.0/8",
            ]),
            "create acl to",
        ),
        (a(&["getAcl", "-s", "User:compat-alice"]), "Topic:orders"),
        (a(&["listAcl", "-s", "compat"]), "Group:readers*"),
        (
            a(&["deleteAcl", "-s", "User:compat-alice", "-r", "Topic:orders"]),
            "delete acl to",
        ),
        (a(&["getAcl", "-s", "User:compat-alice"]), "Group:readers*"),
        (a(&["deleteUser", "-u", "compat-bob"]), "delete user to"),
        (a(&["listUser", "-f", "compat"]), "compat-alice"),
    ]
}

/// Runs the steps against the broker at `addr`; each step's result lines.
fn run_steps(namesrv: &str, addr: &str) -> Vec<Vec<String>> {
    steps(addr)
        .into_iter()
        .map(|(args, expect)| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let run = apache_mqadmin(namesrv, &args);
            run.assert_success();
            assert!(
                run.output.contains(expect) && !run.output.contains("command failed"),
                "mqadmin {args:?} against {addr}:\n{}",
                run.output
            );
            let lines = result_lines(&run.output, addr);
            eprintln!("mqadmin {}: {lines:?}", args[0]);
            lines
        })
        .collect()
}

#[test]
fn apache_mqadmin_manages_users_and_acls_as_on_apache() {
    if !require_tools("compat_acl2", &["java", "mvn"]) {
        return;
    }
    let namesrv = FerroNamesrv::start();
    let broker = FerroBroker::start(namesrv.addr(), |_| {});
    let ours = run_steps(namesrv.addr(), broker.addr());
    drop(broker);

    let apache_ns = ApacheNamesrv::start();
    let mut apache = ApacheBroker::start(
        apache_ns.addr(),
        BrokerOptions {
            extra_config: vec![
                (
                    "authenticationMetadataProvider".to_owned(),
                    "org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider"
                        .to_owned(),
                ),
                (
                    "authorizationMetadataProvider".to_owned(),
                    "org.apache.rocketmq.auth.authorization.provider.LocalAuthorizationMetadataProvider"
                        .to_owned(),
                ),
            ],
            ..BrokerOptions::default()
        },
    );
    apache.wait_registered(apache_ns.addr(), Duration::from_secs(60));
    let theirs = run_steps(apache_ns.addr(), apache.addr());
    for (i, ((args, _), (o, t))) in steps("<broker>")
        .iter()
        .zip(ours.iter().zip(theirs.iter()))
        .enumerate()
    {
        assert_eq!(
            o, t,
            "step {i} (mqadmin {args:?}) differs: ours vs Apache's"
        );
    }
}

#[test]
fn go_acl_client_against_ferromq_acl2() {
    if !require_tools("compat_acl2 (go)", &["go"]) {
        return;
    }
    let suffix = std::process::id();
    let topic = format!("Acl2Go_{suffix}");
    let denied = format!("Acl2GoDenied_{suffix}");
    let (namesrv, broker) = acl2_servers(&topic, &denied, "go_acl_cg_*");
    for t in [&topic, &denied] {
        create_topic_signed(broker.addr(), ADMIN, t);
    }
    wait_for_routes(namesrv.addr(), &[&topic, &denied]);
    let group = format!("go_acl_cg_{suffix}");
    let run = go_acl_round_trip(namesrv.addr(), &topic, &denied, &group, USER, 8);
    run.assert_success();
    assert!(
        run.output
            .contains("OK: acl: sent and received 8, denied topic refused, wrong secret refused"),
        "{}",
        run.output
    );
    assert!(
        run.output
            .contains("wrong secret refused: CODE: 16, DESC: check signature failed."),
        "NO_PERMISSION with Apache's remark: {}",
        run.output
    );
}

/// Waits until the name server serves a route for each topic.
fn wait_for_routes(namesrv: &str, topics: &[&str]) {
    for t in topics {
        ferromq_tests::net::wait_until("the topic's route", Duration::from_secs(30), || {
            Ok(topic_route(namesrv, t).map_err(|e| e.to_string())?.code == 0)
        })
        .expect("route");
    }
}
