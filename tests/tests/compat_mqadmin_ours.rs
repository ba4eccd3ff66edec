//! Issue 15: our `mqadmin` (`tools/src/bin/mqadmin`) against Apache RocketMQ 5.3.3's own name
//! server and broker, side by side with Apache's `mqadmin` on the same cluster.
//!
//! One Apache cluster for the whole file: a name server, a master and its slave (for
//! `haStatus`). The Java `AdminFixture` creates a 4-queue topic, sends [`MESSAGES`] keyed
//! messages and keeps a push consumer online. Then:
//!
//! 1. Every listing command runs with both tools (ours, then at once Apache's; six commands at
//!    a time, as each of Apache's is a JVM start), and [`compare_layouts`] asks for the same
//!    header lines, the same rows with the same column count, and the same labelled lines,
//!    without comparing values that differ between two runs (times, TPS, file names); the
//!    topic, group, broker and message rows must be in both. `topicRoute` prints the same JSON
//!    up to quoting and indentation, `allocateMQ` the same text.
//! 2. Our changing commands run against Apache's servers, and each effect is read back from
//!    Apache's servers (wire requests) or Apache's `mqadmin`.
//!
//! Known differences are listed in [`PENDING`] with the reason: they still run and must still differ (printed as `PENDING: ...`); once one
//! matches, the test fails until it is taken off the list.
//!
//! Needs `java` (17) and `mvn`; prints `SKIPPED: ...` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead). Our `mqadmin` binary comes from the target
//! directory (built on demand, see `ferro_mqadmin_path`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferromq_tests::listing::{columns, compare_layouts};
use ferromq_tests::mqadmin::{
    apache_mqadmin, count_received, ferro_mqadmin, ferro_mqadmin_path, AdminFixture,
};
use ferromq_tests::net::wait_until;
use ferromq_tests::process::{tail_of_text, ProgramRun, TAIL_LINES};
use ferromq_tests::remoting::{request, topic_route};
use ferromq_tests::{require_tools, ApacheBroker, ApacheNamesrv, BrokerOptions};

const TOOLS: &[&str] = &["java", "mvn"];
const CLUSTER: &str = "DefaultCluster";
const BROKER: &str = "apache-ours-a";
const TOPIC: &str = "OursAdminTopic";
const GROUP: &str = "OursAdminGroup";
const MESSAGES: usize = 16;
/// Apache `mqadmin` runs at once (each a JVM, mostly waiting on the network).
const PARALLEL: usize = 6;
const T: Duration = Duration::from_secs(5);

/// Differences between the two tools' output that are known and owned elsewhere: command (the
/// case name, its arguments joined by spaces) and why. Such a case must still differ.
const PENDING: &[(&str, &str)] = &[];

/// How two outputs of a case are compared.
#[derive(Debug, Clone, Copy)]
enum Compare {
    /// [`compare_layouts`], with the case's must-have rows / labels.
    Layout,
    /// The same JSON text up to whitespace and quotes (Apache's fastjson writes bare integer
    /// keys, `{0:"addr"}`, ours valid JSON).
    JsonText,
    /// The same text, trailing blanks aside.
    Exact,
    /// The same text once every run of digits is one `0` and every run of blanks one space:
    /// the same lines and words, numbers and times written the same way (`haStatus` of a
    /// slave, whose lines are all `#Key<TAB>value`).
    Shape,
}

/// One command run by both tools.
struct Case {
    /// Printed and matched against [`PENDING`]: the arguments, ids replaced by placeholders.
    name: String,
    args: Vec<String>,
    compare: Compare,
    /// Columns or labels both outputs must have ([`Compare::Layout`]).
    must: Vec<String>,
    /// Rows with this first column are left out of both outputs.
    skip_rows: Vec<String>,
}

impl Case {
    fn new(args: &[&str], compare: Compare) -> Case {
        Case {
            name: args.join(" "),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            compare,
            must: Vec::new(),
            skip_rows: Vec::new(),
        }
    }

    /// A [`Compare::Layout`] case.
    fn layout(args: &[&str], must: &[&str]) -> Case {
        Case {
            must: must.iter().map(|m| (*m).to_owned()).collect(),
            ..Case::new(args, Compare::Layout)
        }
    }

    /// Without the rows whose first column is `first`.
    fn skip_rows(self, first: &str) -> Case {
        Case {
            skip_rows: vec![first.to_owned()],
            ..self
        }
    }

    /// Printed as `name` (ids in the arguments change from run to run).
    fn named(self, name: &str) -> Case {
        Case {
            name: name.to_owned(),
            ..self
        }
    }
}

/// Apache's `MQAdminStartup` exits 0 even when a command fails: a failure prints
/// `... command failed` or a stack trace.
fn apache_failed(run: &ProgramRun) -> bool {
    !run.success()
        || run.output.contains("command failed")
        || run.output.lines().any(|l| l.starts_with("\tat "))
}

/// One case's runs: ours (when asked for) and Apache's.
type Runs = (Option<ProgramRun>, ProgramRun);

/// Runs every case, [`PARALLEL`] at a time: ours, then at once Apache's (so both see the
/// cluster in the same state; with `ours` false, Apache's only). Runs in case order, `(ours,
/// apache)`.
fn run_cases(namesrv: &str, cases: &[Case], ours: bool) -> Vec<Runs> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Runs>>> = Mutex::new((0..cases.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
                let our_run = ours.then(|| ferro_mqadmin(namesrv, &args));
                let run = apache_mqadmin(namesrv, &args);
                results.lock().expect("results")[i] = Some((our_run, run));
            });
        }
    });
    results
        .into_inner()
        .expect("results")
        .into_iter()
        .map(|r| r.expect("every case ran"))
        .collect()
}

/// Runs every case with both tools ([`run_cases`]) and compares their outputs; a case on
/// [`PENDING`] must differ. Returns the failures.
fn compare_cases(namesrv: &str, cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    for (case, (ours, apache)) in cases.iter().zip(run_cases(namesrv, cases, true)) {
        let ours = ours.expect("ours ran");
        let result = compare(case, &apache, &ours);
        match (PENDING.iter().find(|(c, _)| *c == case.name), result) {
            (None, Ok(())) => eprintln!("SAME: {}", case.name),
            (None, Err(why)) => failures.push(format!("{}: {why}", case.name)),
            (Some((_, why)), Err(_)) => eprintln!("PENDING: {}: {why}", case.name),
            (Some((_, why)), Ok(())) => failures.push(format!(
                "{}: the same now: take it off PENDING ({why})",
                case.name
            )),
        }
    }
    failures
}

/// Our `mqadmin`; panics unless it exited 0. The output.
#[track_caller]
fn ours_ok(namesrv: &str, args: &[&str]) -> String {
    let run = ferro_mqadmin(namesrv, args);
    run.assert_success();
    run.output
}

/// Whether `text` without blanks and quotes is the same.
fn same_json_text(a: &str, b: &str) -> bool {
    let strip = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '"')
            .collect::<String>()
    };
    strip(a) == strip(b)
}

/// `text` with every run of digits made one `0` and every run of blanks one space.
fn shape(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars() {
        let c = match c {
            '0'..='9' => '0',
            c if c.is_whitespace() && c != '\n' => ' ',
            c => c,
        };
        if !(matches!(c, '0' | ' ') && out.ends_with(c)) {
            out.push(c);
        }
    }
    out
}

/// Compares one case's outputs.
fn compare(case: &Case, apache: &ProgramRun, ours: &ProgramRun) -> Result<(), String> {
    if apache_failed(apache) {
        return Err(format!(
            "Apache's mqadmin failed:\n{}",
            tail_of_text(&apache.output, TAIL_LINES)
        ));
    }
    if !ours.success() {
        return Err(format!(
            "ours failed ({:?}):\n{}",
            ours.status,
            tail_of_text(&ours.output, TAIL_LINES)
        ));
    }
    let result = match case.compare {
        Compare::Layout => {
            let must: Vec<&str> = case.must.iter().map(String::as_str).collect();
            let kept = |out: &str| {
                out.lines()
                    .filter(|l| {
                        columns(l)
                            .first()
                            .is_none_or(|c| !case.skip_rows.contains(c))
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            compare_layouts(&kept(&apache.output), &kept(&ours.output), &must)
        }
        Compare::JsonText if same_json_text(&apache.output, &ours.output) => Ok(()),
        Compare::Exact if apache.output.trim_end() == ours.output.trim_end() => Ok(()),
        Compare::Shape if shape(&apache.output) == shape(&ours.output) => Ok(()),
        Compare::JsonText | Compare::Exact | Compare::Shape => Err("the outputs differ".to_owned()),
    };
    result.map_err(|why| {
        format!(
            "{why}\n--- apache ---\n{}\n--- ours ---\n{}",
            tail_of_text(&apache.output, 40),
            tail_of_text(&ours.output, 40)
        )
    })
}

/// GET_KV_CONFIG (101) from the name server: the value, or `None` for QUERY_NOT_FOUND.
fn kv_value(namesrv: &str, namespace: &str, key: &str) -> Option<String> {
    let r = request(
        namesrv,
        101,
        &[("namespace", namespace), ("key", key)],
        &[],
        T,
    )
    .expect("GET_KV_CONFIG");
    match r.code {
        0 => r.header["extFields"]["value"].as_str().map(str::to_owned),
        22 => None,
        other => panic!("GET_KV_CONFIG answered {other}: {:?}", r.remark()),
    }
}

/// The `perm` of `topic`'s queue data in the name server's route.
fn route_perm(namesrv: &str, topic: &str) -> i64 {
    let r = topic_route(namesrv, topic).expect("GET_ROUTEINFO_BY_TOPIC");
    assert_eq!(r.code, 0, "route of {topic}: {:?}", r.remark());
    let text = r.body_text();
    let at = text.find("\"perm\":").expect("perm in the route") + 7;
    text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("perm number")
}

/// QUERY_CONSUMER_OFFSET (14) of `group` on one queue; `None` when the broker has none.
fn consumer_offset(broker: &str, group: &str, topic: &str, queue: i32) -> Option<i64> {
    let q = queue.to_string();
    let r = request(
        broker,
        14,
        &[("consumerGroup", group), ("topic", topic), ("queueId", &q)],
        &[],
        T,
    )
    .expect("QUERY_CONSUMER_OFFSET");
    (r.code == 0).then(|| {
        r.header["extFields"]["offset"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("offset")
    })
}

/// The broker's subscription groups (GET_ALL_SUBSCRIPTIONGROUP_CONFIG, 201), as JSON text.
fn subscription_groups(broker: &str) -> String {
    let r = request(broker, 201, &[], &[], T).expect("GET_ALL_SUBSCRIPTIONGROUP_CONFIG");
    assert_eq!(r.code, 0, "{:?}", r.remark());
    r.body_text()
}

#[test]
fn our_mqadmin_against_apaches_servers_prints_what_apaches_prints() {
    if !require_tools("compat_mqadmin_ours", TOOLS) {
        return;
    }
    let started = Instant::now();
    let _ = ferro_mqadmin_path();
    let namesrv = ApacheNamesrv::start();
    let ns = namesrv.addr().to_owned();
    let mut broker = ApacheBroker::start(
        &ns,
        BrokerOptions {
            broker_name: BROKER.to_owned(),
            // wipeWritePerm must not be undone by a re-registration while it is checked.
            extra_config: vec![
                ("registerNameServerPeriod".into(), "60000".into()),
                // A pull that finds nothing is answered after 1 s rather than held for 15 s, so
                // the consumer commits its (empty) retry queue's offset at once.
                ("longPollingEnable".into(), "false".into()),
            ],
            ..BrokerOptions::default()
        },
    );
    broker.wait_registered(&ns, Duration::from_secs(90));
    let addr = broker.addr().to_owned();
    // A slave for haStatus, started while the fixture runs.
    let slave_ns = ns.clone();
    let slave = std::thread::spawn(move || {
        let mut slave = ApacheBroker::start(
            &slave_ns,
            BrokerOptions {
                broker_name: BROKER.to_owned(),
                heap: "256m".to_owned(),
                extra_config: vec![
                    ("brokerId".into(), "1".into()),
                    ("brokerRole".into(), "SLAVE".into()),
                ],
                ..BrokerOptions::default()
            },
        );
        slave.wait_registered(&slave_ns, Duration::from_secs(90));
        slave
    });
    eprintln!("Apache servers up after {:.1?}", started.elapsed());
    // The group and its retry topic exist before the consumer starts, so that it takes its retry
    // queue at once rather than after its next route poll (30 s) and rebalance (20 s).
    let retry = format!("%RETRY%{GROUP}");
    ours_ok(&ns, &["updateSubGroup", "-c", CLUSTER, "-g", GROUP]);
    ours_ok(
        &ns,
        &[
            "updateTopic",
            "-c",
            CLUSTER,
            "-t",
            &retry,
            "-r",
            "1",
            "-w",
            "1",
        ],
    );
    let mut fixture = AdminFixture::start(&ns, TOPIC, GROUP, MESSAGES, Duration::from_secs(600));
    fixture.wait_for("every message consumed", Duration::from_secs(60), |out| {
        count_received(out) >= MESSAGES
    });
    let sent = fixture.sent();
    assert_eq!(sent.len(), MESSAGES, "{}", fixture.output());
    let client_id = fixture.consumer_client_id();
    eprintln!("fixture sent and consumed after {:.1?}", started.elapsed());
    // Settled: every queue's offset committed, the retry queue's too (consumerProgress lists it
    // from then on), and the consumer holds the retry queue (consumerStatus lists it).
    let retry_row = format!("{retry} ");
    wait_until(
        "the consumer to commit and rebalance",
        Duration::from_secs(60),
        || {
            let committed = (0..4)
                .all(|q| consumer_offset(&addr, GROUP, TOPIC, q) == Some((MESSAGES / 4) as i64))
                && consumer_offset(&addr, GROUP, &retry, 0).is_some();
            Ok(committed
                && ferro_mqadmin(&ns, &["consumerStatus", "-g", GROUP, "-i", &client_id])
                    .output
                    .lines()
                    .any(|l| l.starts_with(&retry_row)))
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", fixture.output()));
    eprintln!("consumer settled after {:.1?}", started.elapsed());
    let slave = slave.join().expect("the slave starts");
    let slave_addr = slave.addr().to_owned();
    wait_until("the slave to connect", Duration::from_secs(60), || {
        Ok(ferro_mqadmin(&ns, &["haStatus", "-b", &addr])
            .output
            .lines()
            .any(|l| l == "#SlaveNum\t1"))
    })
    .expect("the slave connects to the master");
    eprintln!("slave connected after {:.1?}", started.elapsed());

    // 1. Listing commands, both tools.
    let m = &sent[3];
    let (qid, offset) = (m.queue_id.to_string(), m.queue_offset.to_string());
    let pg = format!("{GROUP}_pg");
    let cid = client_id.as_str();
    let addr_version = format!("{addr} brokerVersionDesc");
    let cases = vec![
        Case::layout(&["clusterList"], &[CLUSTER, BROKER, "true", "false"]),
        Case::layout(&["clusterList", "-m"], &[CLUSTER, BROKER]),
        Case::layout(&["clusterList", "-c", CLUSTER], &[BROKER]),
        Case::layout(&["brokerStatus", "-b", &addr], &["brokerVersionDesc"]),
        Case::layout(&["brokerStatus", "-c", CLUSTER], &[&addr_version]),
        Case::layout(&["getBrokerConfig", "-b", &addr], &["brokerName"]),
        Case::layout(&["getBrokerConfig", "-c", CLUSTER], &["brokerName"]),
        Case::layout(&["topicList"], &[TOPIC]),
        Case::layout(&["topicList", "-c"], &[TOPIC, GROUP]),
        Case::new(&["topicRoute", "-t", TOPIC], Compare::JsonText),
        Case::layout(&["topicRoute", "-t", TOPIC, "-l"], &[BROKER, "Total:"]),
        Case::layout(&["topicStatus", "-t", TOPIC], &[BROKER, "Topic Put TPS"]),
        Case::layout(
            &["topicStatus", "-t", TOPIC, "-c", CLUSTER],
            &[BROKER, "Topic Put TPS"],
        ),
        Case::layout(&["topicClusterList", "-t", TOPIC], &[CLUSTER]),
        Case::layout(&["statsAll"], &[TOPIC, GROUP]),
        Case::layout(&["statsAll", "-t", TOPIC], &[TOPIC, GROUP]),
        // TOOLS_CONSUMER is the tools' own group: online or not depends on which tool runs.
        Case::layout(&["consumerProgress"], &[GROUP, "CLUSTERING"]).skip_rows("TOOLS_CONSUMER"),
        Case::layout(&["consumerProgress", "-g", GROUP], &[TOPIC, BROKER]),
        Case::layout(
            &["consumerConnection", "-g", GROUP],
            &[cid, TOPIC, "ConsumeType"],
        ),
        Case::layout(&["producerConnection", "-g", &pg, "-t", TOPIC], &[]),
        Case::layout(&["consumerStatus", "-g", GROUP], &[cid, "Rebalance OK"]),
        Case::layout(
            &["consumerStatus", "-g", GROUP, "-b", &addr],
            &[cid, "Rebalance OK"],
        ),
        Case::layout(
            &["consumerStatus", "-g", GROUP, "-i", cid],
            &[TOPIC, BROKER],
        )
        .named("consumerStatus -g OursAdminGroup -i <clientId>"),
        Case::layout(&["getNamesrvConfig"], &["kvConfigPath"]),
        Case::layout(&["queryMsgByKey", "-t", TOPIC, "-k", "AK-3"], &[&m.msg_id]),
        Case::layout(
            &["queryMsgById", "-t", TOPIC, "-i", &m.offset_msg_id],
            &["Topic", "Keys"],
        )
        .named("queryMsgById -t OursAdminTopic -i <offsetMsgId>"),
        Case::layout(
            &["queryMsgByUniqueKey", "-t", TOPIC, "-i", &m.msg_id],
            &["Topic", "Keys"],
        )
        .named("queryMsgByUniqueKey -t OursAdminTopic -i <msgId>"),
        Case::layout(
            &[
                "queryMsgByOffset",
                "-t",
                TOPIC,
                "-b",
                BROKER,
                "-i",
                &qid,
                "-o",
                &offset,
            ],
            &["OffsetID", "Topic"],
        )
        .named("queryMsgByOffset -t OursAdminTopic -b apache-ours-a -i <qid> -o <offset>"),
        Case::new(
            &[
                "allocateMQ",
                "-t",
                TOPIC,
                "-i",
                "10.0.0.1@a,10.0.0.2@b,10.0.0.3@c",
            ],
            Compare::Exact,
        ),
        Case::layout(&["haStatus", "-b", &addr], &[]),
        Case::new(&["haStatus", "-b", &slave_addr], Compare::Shape).named("haStatus -b <slave>"),
        Case::layout(&["haStatus", "-c", CLUSTER], &[]),
    ];
    // The message views first: Apache's queryMsgByOffset pulls as group TOOLS_CONSUMER, which
    // the broker then lists (topicList, consumerProgress, ...); ours pulls as that group too.
    let (views, listings): (Vec<Case>, Vec<Case>) = cases
        .into_iter()
        .partition(|c| c.args[0].starts_with("queryMsg"));
    let total = views.len() + listings.len();
    let mut failures = compare_cases(&ns, &views);
    failures.extend(compare_cases(&ns, &listings));
    eprintln!(
        "{total} listing commands run by both after {:.1?}",
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {total} listing commands differ:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );

    // 2. Our changing commands against Apache's servers, each effect read back from them.
    changing_commands(&ns, &addr, &mut fixture);
    eprintln!("done after {:.1?}", started.elapsed());
}

/// Our updateTopic, deleteTopic, updateSubGroup, deleteSubGroup, updateBrokerConfig,
/// sendMessage, consumeMessage, cloneGroupOffset, resetOffsetByTime, updateKvConfig,
/// deleteKvConfig, wipeWritePerm and addWritePerm against Apache's servers.
fn changing_commands(ns: &str, addr: &str, fixture: &mut AdminFixture) {
    let new_topic = "OursCreatedTopic";
    let gone_topic = "OursDeletedTopic";
    let new_group = "OursCreatedGroup";
    let gone_group = "OursDeletedGroup";

    let args = ["-c", CLUSTER, "-r", "3", "-w", "3"];
    for t in [new_topic, gone_topic] {
        let out = ours_ok(ns, &[&["updateTopic", "-t", t][..], &args].concat());
        assert!(out.contains("success"), "{out}");
    }
    let out = ours_ok(ns, &["deleteTopic", "-c", CLUSTER, "-t", gone_topic]);
    assert!(out.contains("success"), "{out}");
    for g in [new_group, gone_group] {
        let out = ours_ok(ns, &["updateSubGroup", "-c", CLUSTER, "-g", g]);
        assert!(out.contains("success"), "{out}");
    }
    let out = ours_ok(ns, &["deleteSubGroup", "-c", CLUSTER, "-g", gone_group]);
    assert!(out.contains("success"), "{out}");
    let groups = subscription_groups(addr);
    assert!(groups.contains(&format!("\"{new_group}\"")), "{groups}");
    assert!(!groups.contains(&format!("\"{gone_group}\"")), "{groups}");
    eprintln!("PASS: updateSubGroup, deleteSubGroup");

    ours_ok(
        ns,
        &[
            "updateBrokerConfig",
            "-b",
            addr,
            "-k",
            "maxMessageSize",
            "-v",
            "4000000",
        ],
    );

    let out = ours_ok(
        ns,
        &[
            "sendMessage",
            "-t",
            new_topic,
            "-p",
            "hello-from-ours",
            "-k",
            "OURS-KEY",
        ],
    );
    assert!(out.contains("SEND_OK"), "{out}");
    let out = ours_ok(ns, &["consumeMessage", "-t", new_topic, "-c", "5"]);
    assert!(out.contains("BODY: hello-from-ours"), "{out}");
    eprintln!("PASS: sendMessage, consumeMessage");

    // cloneGroupOffset: the new group gets the fixture group's offsets.
    ours_ok(
        ns,
        &[
            "cloneGroupOffset",
            "-s",
            GROUP,
            "-d",
            new_group,
            "-t",
            TOPIC,
        ],
    );
    for q in 0..4 {
        let from = consumer_offset(addr, GROUP, TOPIC, q);
        assert!(from.is_some_and(|o| o > 0), "{GROUP} queue {q}: {from:?}");
        assert_eq!(
            consumer_offset(addr, new_group, TOPIC, q),
            from,
            "queue {q}"
        );
    }
    eprintln!("PASS: cloneGroupOffset");

    // resetOffsetByTime to the beginning: the live consumer receives every message again.
    let before = fixture.received();
    ours_ok(
        ns,
        &["resetOffsetByTime", "-g", GROUP, "-t", TOPIC, "-s", "0"],
    );
    fixture.wait_for(
        "every message again after resetOffsetByTime",
        Duration::from_secs(60),
        |out| count_received(out) >= before + MESSAGES,
    );
    eprintln!("PASS: resetOffsetByTime");

    ours_ok(
        ns,
        &[
            "updateKvConfig",
            "-s",
            "ORDER_TOPIC_CONFIG",
            "-k",
            "OursKvKey",
            "-v",
            "ours-value",
        ],
    );
    assert_eq!(
        kv_value(ns, "ORDER_TOPIC_CONFIG", "OursKvKey").as_deref(),
        Some("ours-value")
    );
    ours_ok(
        ns,
        &[
            "deleteKvConfig",
            "-s",
            "ORDER_TOPIC_CONFIG",
            "-k",
            "OursKvKey",
        ],
    );
    assert_eq!(kv_value(ns, "ORDER_TOPIC_CONFIG", "OursKvKey"), None);
    eprintln!("PASS: updateKvConfig, deleteKvConfig");

    assert_eq!(route_perm(ns, TOPIC), 6);
    let out = ours_ok(ns, &["wipeWritePerm", "-b", BROKER]);
    assert!(out.contains("OK"), "{out}");
    assert_eq!(route_perm(ns, TOPIC), 4, "read only after wipeWritePerm");
    let out = ours_ok(ns, &["addWritePerm", "-b", BROKER]);
    assert!(out.contains("OK"), "{out}");
    assert_eq!(route_perm(ns, TOPIC), 6, "writable after addWritePerm");
    eprintln!("PASS: wipeWritePerm, addWritePerm");

    // What Apache's own tool sees of the rest: the topics, the config, the sent message.
    let checks: Vec<Case> = vec![
        Case::new(&["topicList"], Compare::Exact),
        Case::new(&["topicRoute", "-t", new_topic], Compare::Exact),
        Case::new(&["getBrokerConfig", "-b", addr], Compare::Exact),
        Case::new(
            &["queryMsgByKey", "-t", new_topic, "-k", "OURS-KEY"],
            Compare::Exact,
        ),
    ];
    let runs: Vec<ProgramRun> = run_cases(ns, &checks, false)
        .into_iter()
        .map(|(_, apache)| apache)
        .collect();
    for run in &runs {
        assert!(
            !apache_failed(run),
            "{}:\n{}",
            run.name,
            tail_of_text(&run.output, TAIL_LINES)
        );
    }
    let topics: Vec<&str> = runs[0].output.lines().map(str::trim).collect();
    assert!(topics.contains(&new_topic), "{}", runs[0].output);
    assert!(!topics.contains(&gone_topic), "{}", runs[0].output);
    let route = &runs[1].output;
    assert!(
        route.contains("\"writeQueueNums\":3") && route.contains("\"readQueueNums\":3"),
        "{route}"
    );
    eprintln!("PASS: updateTopic, deleteTopic");
    let config = &runs[2].output;
    assert!(
        config
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["maxMessageSize", "=", "4000000"]),
        "{config}"
    );
    eprintln!("PASS: updateBrokerConfig");
    let found = &runs[3].output;
    assert_eq!(
        found.lines().filter(|l| !l.starts_with('#')).count(),
        1,
        "the message sent by ours, found by key: {found}"
    );
    eprintln!("PASS: sendMessage (found by Apache's queryMsgByKey)");
}
