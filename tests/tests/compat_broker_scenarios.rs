//! The docs/scenarios.md scenarios with the official clients against FerroMQ's name server and
//! broker (in-process, free ports): Java `rocketmq-client` 5.3.3 (`BrokerScenarios`), 4.9.8
//! (`ProduceConsume`) and Go `rocketmq-client-go/v2` v2.1.2 (`compat-go`).
//!
//! Every test starts its own name server and broker (well under a second) and uses a fresh topic
//! and fresh groups named after it (with a run id). The client programs check every delivered
//! message (body, key, tag, user properties) and print one `OK: <scenario>: <summary>` line whose
//! numbers are compared here exactly.
//!
//! Needs `java` (17) and `mvn` (Java scenarios) and `go` (Go scenarios) on PATH; prints
//! `SKIPPED: ...` and passes otherwise (set `FERROMQ_COMPAT_REQUIRED=1` to fail instead).
//!
//! ```text
//! cargo test -p ferromq-tests --test compat_broker_scenarios -- --nocapture
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferromq_tests::clients::{
    go_broker_scenario, java49_produce_consume, java_broker_scenario, ClientRun,
};
use ferromq_tests::{require_tools, FerroBroker, FerroNamesrv};

const JAVA: &[&str] = &["java", "mvn"];
const GO: &[&str] = &["go"];

/// Kill timeout of one scenario program (it gives up 15 s earlier and reports).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

/// A FerroMQ name server and a broker registered with it.
struct Cluster {
    namesrv: FerroNamesrv,
    broker: FerroBroker,
}

impl Cluster {
    fn start() -> Cluster {
        Cluster::start_with(|_| {})
    }

    /// A cluster whose broker settings `tweak` adjusts first.
    fn start_with(tweak: impl FnOnce(&mut ferromq_broker::Settings)) -> Cluster {
        let namesrv = FerroNamesrv::start();
        let broker = FerroBroker::start(namesrv.addr(), tweak);
        ferromq_tests::net::wait_until("broker registration", Duration::from_secs(30), || {
            let info = ferromq_tests::remoting::broker_cluster_info(namesrv.addr())
                .map_err(|e| e.to_string())?;
            Ok(info.body_text().contains(broker.addr()))
        })
        .expect("the broker registers with the name server");
        Cluster { namesrv, broker }
    }

    fn namesrv(&self) -> &str {
        self.namesrv.addr()
    }

    /// Checks that `run` succeeded and printed `want` (or, with `Match::Prefix`, a line starting
    /// with it); prints where the broker's data is when it did not.
    fn check(&self, run: &ClientRun, want: Match<'_>) {
        if !run.success() {
            eprintln!(
                "FerroMQ broker {} (data in {})",
                self.broker.addr(),
                self.broker.dir().display()
            );
        }
        run.assert_success();
        let found = run.output.lines().any(|line| match want {
            Match::Line(w) => line.trim_end() == w,
            Match::Prefix(w) => line.starts_with(w),
        });
        assert!(
            found,
            "{}: no line {want:?} in output:\n{}",
            run.name, run.output
        );
        let ok = run
            .output
            .lines()
            .find(|l| l.starts_with("OK:"))
            .unwrap_or("");
        eprintln!("{}: {ok} ({:.1?})", run.name, run.elapsed);
    }
}

#[derive(Debug, Clone, Copy)]
enum Match<'a> {
    Line(&'a str),
    Prefix(&'a str),
}

/// `<Scenario>_<pid>_<counter><nanos>`: unique per run and per test; groups are named after it.
fn topic(scenario: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let nanos = START.get_or_init(Instant::now).elapsed().as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{scenario}_{}_{n}x{nanos}", std::process::id())
}

fn java(cluster: &Cluster, scenario: &str, n: usize) -> ClientRun {
    let topic = topic(&format!("Java{}", scenario.replace('-', "")));
    java_broker_scenario(scenario, cluster.namesrv(), &topic, n, SCENARIO_TIMEOUT)
}

fn go(cluster: &Cluster, scenario: &str, n: usize) -> ClientRun {
    let topic = topic(&format!("Go{}", scenario.replace('-', "")));
    go_broker_scenario(
        scenario,
        cluster.namesrv(),
        cluster.broker.addr(),
        &topic,
        n,
        SCENARIO_TIMEOUT,
    )
}

/// async-oneway: n async sends (all callbacks SEND_OK) and n oneway sends; all 2n consumed.
#[test]
fn java_async_and_oneway_sends_are_all_consumed() {
    if !require_tools("java_async_and_oneway_sends_are_all_consumed", JAVA) {
        return;
    }
    let cluster = Cluster::start();
    let run = java(&cluster, "async-oneway", 16);
    cluster.check(
        &run,
        Match::Line("OK: async-oneway: 16 async SEND_OK, 32 of 32 consumed intact"),
    );
}

/// batch: one batch of n; all consumed, message i at offset first+i of the queue the send
/// result named.
#[test]
fn java_batch_lands_contiguously_in_one_queue() {
    if !require_tools("java_batch_lands_contiguously_in_one_queue", JAVA) {
        return;
    }
    let cluster = Cluster::start();
    let run = java(&cluster, "batch", 16);
    cluster.check(
        &run,
        Match::Line("OK: batch: 16 consumed; offsets 0..15 contiguous in one queue"),
    );
}

/// Two members of a clustering group share the 4 queues (both receive some, together exactly
/// all); after one shuts down the other takes its queues and receives all later messages, none
/// of the earlier ones again.
#[test]
fn java_group_of_two_shares_queues_and_rebalances_when_one_leaves() {
    if !require_tools(
        "java_group_of_two_shares_queues_and_rebalances_when_one_leaves",
        JAVA,
    ) {
        return;
    }
    let cluster = Cluster::start();
    let run = java(&cluster, "group", 16);
    cluster.check(&run, Match::Prefix("OK: group: first 16 split "));
    assert!(
        run.output.contains(", after a left b received all 16"),
        "{}",
        run.output
    );
}

/// pull: lite pull consumer, assign + poll reads all n once; seek back re-reads; a commit
/// survives a restart of the consumer.
#[test]
fn java_lite_pull_assign_poll_seek_commit() {
    if !require_tools("java_lite_pull_assign_poll_seek_commit", JAVA) {
        return;
    }
    let cluster = Cluster::start();
    let run = java(&cluster, "lite-pull", 20);
    cluster.check(
        &run,
        Match::Line(
            "OK: lite-pull: polled 20 once, re-read 8 after seek, committed 3/1 survived \
             restart, 16 read after restart",
        ),
    );
}

/// tag-filter (Java): tags A, B, C; subscribe `A || C`: exactly A and C arrive.
#[test]
fn java_tag_filter_delivers_exactly_the_subscribed_tags() {
    if !require_tools("java_tag_filter_delivers_exactly_the_subscribed_tags", JAVA) {
        return;
    }
    let cluster = Cluster::start();
    let run = java(&cluster, "tag-filter", 5);
    cluster.check(
        &run,
        Match::Line("OK: tag-filter: received {A=5, C=6} of A/B/C x5 (+1 C sentinel)"),
    );
}

/// tag-filter (Go): the same with the Go client (topic created with UPDATE_AND_CREATE_TOPIC).
#[test]
fn go_tag_filter_delivers_exactly_the_subscribed_tags() {
    if !require_tools("go_tag_filter_delivers_exactly_the_subscribed_tags", GO) {
        return;
    }
    let cluster = Cluster::start();
    let run = go(&cluster, "tag-filter", 5);
    cluster.check(
        &run,
        Match::Line("OK: tag-filter: received A=5 B=0 C=6 of A/B/C x5 (+1 C sentinel)"),
    );
}

/// retry-dlq: a listener that always answers RECONSUME_LATER with maxReconsumeTimes 2 sees the
/// message with reconsumeTimes 0, 1, 2; then it is the one message in `%DLQ%<group>`.
///
/// Retries go through delay levels 3 and 4 (10 s and 30 s by default); the broker here runs with
/// 1 s levels (`messageDelayLevel`, an operator setting Apache has too) so the scenario takes
/// seconds and its deadline is never a race against the default schedule.
#[test]
fn java_retry_then_dlq() {
    if !require_tools("java_retry_then_dlq", JAVA) {
        return;
    }
    let cluster = Cluster::start_with(|settings| {
        settings.store.message_delay_level = vec!["1s"; 18].join(" ");
    });
    let run = java(&cluster, "retry-dlq", 1);
    cluster.check(
        &run,
        Match::Line(
            "OK: retry-dlq: deliveries with reconsumeTimes [0, 1, 2], then 1 message in %DLQ%",
        ),
    );
}

/// retry-dlq for an orderly consumer: an orderly listener that always suspends, with
/// maxReconsumeTimes 2, sees the message with reconsumeTimes 0, 1, 2 (local redeliveries); the
/// client then sends it to `%RETRY%<group>` while holding the queue lock, and the broker puts it
/// in `%DLQ%<group>` (Apache's rule for groups with live queue locks).
#[test]
fn java_orderly_retry_then_dlq() {
    if !require_tools("java_orderly_retry_then_dlq", JAVA) {
        return;
    }
    let cluster = Cluster::start();
    let run = java(&cluster, "orderly-dlq", 1);
    cluster.check(
        &run,
        Match::Line(
            "OK: orderly-dlq: deliveries with reconsumeTimes [0, 1, 2], then 1 message in %DLQ%",
        ),
    );
}

/// retry-dlq, the client's own path (what it does when CONSUMER_SEND_MSG_BACK fails): a
/// SEND_MESSAGE to `%RETRY%<group>` with reconsumeTimes 2 and maxReconsumeTimes 2 is stored there
/// and consumed; one with reconsumeTimes 3 goes to `%DLQ%<group>`.
#[test]
fn java_retry_topic_send_over_max_reconsume_times_goes_to_dlq() {
    if !require_tools(
        "java_retry_topic_send_over_max_reconsume_times_goes_to_dlq",
        JAVA,
    ) {
        return;
    }
    let cluster = Cluster::start();
    let run = java(&cluster, "retry-send-dlq", 1);
    cluster.check(
        &run,
        Match::Line(
            "OK: retry-send-dlq: reconsumeTimes 2 consumed from %RETRY%, reconsumeTimes 3 in %DLQ%",
        ),
    );
}

/// queryMessage by key finds exactly the messages with that key (one key on two messages);
/// viewMessage by offsetMsgId and by msgId returns each message intact.
#[test]
fn java_query_by_key_and_view_by_id() {
    if !require_tools("java_query_by_key_and_view_by_id", JAVA) {
        return;
    }
    let cluster = Cluster::start();
    let run = java(&cluster, "query-view", 6);
    cluster.check(
        &run,
        Match::Line(
            "OK: query-view: 7 keys queried (6 x1, 1 x2), 8 viewed by offsetMsgId and msgId",
        ),
    );
}

/// quickstart with the 4.9.8 Java client: createTopic, n sync sends, a push consumer gets all.
#[test]
fn java_4_9_8_quickstart_produce_consume() {
    if !require_tools("java_4_9_8_quickstart_produce_consume", JAVA) {
        return;
    }
    let cluster = Cluster::start();
    let run = java49_produce_consume(cluster.namesrv(), &topic("Java498"), 16);
    cluster.check(&run, Match::Line("OK: received all 16 messages intact"));
}

/// Go: async sends with callbacks consumed by a push consumer group of two members (once the
/// queues have settled two per member), each message exactly once, both members receiving some.
#[test]
fn go_async_sends_consumed_by_a_group_of_two() {
    if !require_tools("go_async_sends_consumed_by_a_group_of_two", GO) {
        return;
    }
    let cluster = Cluster::start();
    let run = go(&cluster, "async-group", 16);
    // The Go producer goes round-robin: 4 per queue, 2 queues per member once settled.
    cluster.check(
        &run,
        Match::Line(
            "OK: async-group: 16 async sends SEND_OK, all 16 consumed once by the group of two \
             (a=8, b=8)",
        ),
    );
}
