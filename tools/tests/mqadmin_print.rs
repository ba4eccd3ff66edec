//! `printMsg`, `printMsgByQueue` and `clusterRT` against a real name server and broker, and
//! times printed and read in the zone of the process (`TZ`), as Apache's tools do.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{cluster, ok, run, Run};

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Runs `mqadmin args` with `TZ` set to `tz`; it must succeed.
fn ok_tz(tz: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mqadmin"))
        .args(args)
        .env_remove("NAMESRV_ADDR")
        .env("TZ", tz)
        .output()
        .expect("run mqadmin");
    let r = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(r.code, Some(0), "mqadmin {args:?}: {}", r.stderr);
    r.stdout
}

/// The value of `label` in `%-20s %s` lines.
fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(label).map(str::trim_start))
        .unwrap_or_else(|| panic!("no {label} in {text}"))
}

/// The bodies of the `MSGID: … BODY: <body>` lines.
fn bodies(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with("MSGID: "))
        .filter_map(|l| l.rsplit_once(" BODY: ").map(|(_, b)| b))
        .collect()
}

/// Sends `body` with `tag` to queue `queue` of PrintTopic; its client message id.
fn send(ns: &str, body: &str, tag: &str, queue: &str) -> String {
    let sent = ok(&[
        "sendMessage",
        "-n",
        ns,
        "-t",
        "PrintTopic",
        "-p",
        body,
        "-c",
        tag,
        "-b",
        "broker-p",
        "-i",
        queue,
    ]);
    let row = sent.lines().nth(1).map(words).unwrap_or_default();
    assert_eq!(row.get(2), Some(&"SEND_OK"), "{sent}");
    row[3].to_owned()
}

#[test]
fn stored_messages_are_printed_per_queue_and_send_times_per_broker() {
    let (ns, _broker) = cluster("broker-p");
    let ns = ns.addr();
    ok(&[
        "updateTopic",
        "-n",
        ns,
        "-c",
        "DefaultCluster",
        "-t",
        "PrintTopic",
        "-r",
        "2",
        "-w",
        "2",
    ]);
    ferromq_tests::net::wait_until("the route", Duration::from_secs(30), || {
        Ok(run(&["topicRoute", "-n", ns, "-t", "PrintTopic"]).code == Some(0))
    })
    .expect("routed");
    let alpha = send(ns, "alpha", "TagA", "0");
    let beta = send(ns, "beta", "TagB", "0");
    send(ns, "gamma", "TagA", "1");

    // printMsg: each queue's range, its messages in Apache's MessageExt layout, a rule. The
    // consume queues are written behind the commit log: poll until all three are there.
    let mut all = String::new();
    ferromq_tests::net::wait_until("3 messages", Duration::from_secs(30), || {
        all = ok(&["printMsg", "-n", ns, "-t", "PrintTopic"]);
        Ok(bodies(&all).len() == 3)
    })
    .unwrap_or_else(|e| panic!("{e}: {all}"));
    // Queues in the order Java's HashSet of them iterates (Apache's): queue 1 first here.
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(
        lines[0],
        "minOffset=0, maxOffset=1, MessageQueue [topic=PrintTopic, brokerName=broker-p, queueId=1]",
        "{all}"
    );
    assert_eq!(lines[2], "-".repeat(56));
    assert_eq!(
        lines[3],
        "minOffset=0, maxOffset=2, MessageQueue [topic=PrintTopic, brokerName=broker-p, queueId=0]",
        "{all}"
    );
    let first = lines[4];
    assert!(
        first.starts_with(&format!(
            "MSGID: {alpha} MessageExt [brokerName=broker-p, queueId=0, storeSize="
        )),
        "{all}"
    );
    assert!(
        first.contains(", queueOffset=0, sysFlag=0, bornTimestamp="),
        "{all}"
    );
    // Properties in the order of Java's HashMap, the pull's MIN_OFFSET / MAX_OFFSET added.
    assert!(
        first.contains(&format!(
            "toString()=Message{{topic='PrintTopic', flag=0, properties={{MSG_REGION=DefaultRegion, CLUSTER=DefaultCluster, UNIQ_KEY={alpha}, MIN_OFFSET=0, TAGS=TagA, WAIT=true, TRACE_ON=true, MAX_OFFSET=2}}"
        )),
        "{all}"
    );
    assert!(
        first.ends_with("body=[97, 108, 112, 104, 97], transactionId='null'}] BODY: alpha"),
        "{all}"
    );
    assert!(lines[5].starts_with(&format!("MSGID: {beta} ")), "{all}");
    assert_eq!(lines[6], "-".repeat(56));
    assert_eq!(bodies(&all), ["gamma", "alpha", "beta"], "{all}");
    assert_eq!(lines.len(), 7, "{all}");

    // -s: only TagA; -d false: no bodies; -c: the charset of the body.
    let tag_a = ok(&["printMsg", "-n", ns, "-t", "PrintTopic", "-s", "TagA"]);
    assert_eq!(bodies(&tag_a), ["gamma", "alpha"], "{tag_a}");
    let no_body = ok(&["printMsg", "-n", ns, "-t", "PrintTopic", "-d", "false"]);
    assert_eq!(bodies(&no_body), ["NOT PRINT BODY"; 3], "{no_body}");
    let latin1 = ok(&["printMsg", "-n", ns, "-t", "PrintTopic", "-c", "ISO-8859-1"]);
    assert_eq!(bodies(&latin1), ["gamma", "alpha", "beta"], "{latin1}");
    let gbk = run(&["printMsg", "-n", ns, "-t", "PrintTopic", "-c", "GBK"]);
    assert_eq!(gbk.code, Some(1), "{gbk:?}");
    assert!(
        gbk.stderr.contains("unsupported charset GBK"),
        "{}",
        gbk.stderr
    );

    // Times are the process's zone: beta's store time in UTC+8 and in UTC are 8 hours apart,
    // and read back in its zone it selects beta onwards (-b) or nothing before it (-e).
    let china = ok_tz(
        "CST-8",
        &[
            "queryMsgByUniqueKey",
            "-n",
            ns,
            "-t",
            "PrintTopic",
            "-i",
            &beta,
        ],
    );
    let utc = ok_tz(
        "UTC0",
        &[
            "queryMsgByUniqueKey",
            "-n",
            ns,
            "-t",
            "PrintTopic",
            "-i",
            &beta,
        ],
    );
    let (china, utc) = (
        field(&china, "Store Timestamp:"),
        field(&utc, "Store Timestamp:"),
    );
    let hour = |t: &str| t[11..13].parse::<u32>().expect("hour");
    assert_eq!((hour(utc) + 8) % 24, hour(china), "{utc} / {china}");
    assert_eq!(china[13..], utc[13..]);
    let china_date = china.replacen(' ', "#", 1).replacen(',', ":", 1);
    let since = ok_tz(
        "CST-8",
        &["printMsg", "-n", ns, "-t", "PrintTopic", "-b", &china_date],
    );
    assert!(
        since.contains("minOffset=1, maxOffset=2, MessageQueue [topic=PrintTopic, brokerName=broker-p, queueId=0]"),
        "{since}"
    );
    assert_eq!(bodies(&since), ["gamma", "beta"], "{since}");
    // The same wall-clock text read as UTC is 8 hours later: past every message.
    let later = ok_tz(
        "UTC0",
        &["printMsg", "-n", ns, "-t", "PrintTopic", "-b", &china_date],
    );
    assert!(bodies(&later).is_empty(), "{later}");
    let before = ok(&["printMsg", "-n", ns, "-t", "PrintTopic", "-e", "0"]);
    assert!(bodies(&before).is_empty(), "{before}");

    // printMsgByQueue: nothing but the counts unless asked.
    let q = [
        "printMsgByQueue",
        "-n",
        ns,
        "-t",
        "PrintTopic",
        "-a",
        "broker-p",
        "-i",
        "0",
    ];
    assert_eq!(ok(&q), "");
    let printed = ok(&[&q[..], &["-p", "true"]].concat());
    assert_eq!(bodies(&printed), ["NOT PRINT BODY"; 2], "{printed}");
    assert!(
        printed.starts_with(&format!(
            "MSGID: {alpha} MessageExt [brokerName=broker-p, queueId=0, "
        )),
        "{printed}"
    );
    let with_body = ok(&[&q[..], &["-p", "true", "-d", "true"]].concat());
    assert_eq!(bodies(&with_body), ["alpha", "beta"], "{with_body}");
    send(ns, "delta", "TagB", "0");
    let mut counted = String::new();
    ferromq_tests::net::wait_until("delta", Duration::from_secs(30), || {
        counted = ok(&[&q[..], &["-f", "true"]].concat());
        Ok(counted
            == format!(
                "Tag: {:<30} Count: 2\nTag: {:<30} Count: 1\n",
                "TagB", "TagA"
            ))
    })
    .unwrap_or_else(|e| panic!("{e}: {counted}"));
    let tag_b = ok(&[&q[..], &["-f", "true", "-s", "TagB"]].concat());
    assert_eq!(tag_b, format!("Tag: {:<30} Count: 2\n", "TagB"));
    let none = run(&[
        "printMsgByQueue",
        "-n",
        ns,
        "-t",
        "PrintTopic",
        "-a",
        "nobroker",
        "-i",
        "0",
    ]);
    assert_eq!(none.code, Some(1), "{none:?}");

    // clusterRT: one row per broker of every cluster, or Apache's log lines (GMT+8 times).
    let rt = ok(&[
        "clusterRT",
        "-n",
        ns,
        "-a",
        "3",
        "-s",
        "16",
        "--rounds",
        "1",
    ]);
    let lines: Vec<&str> = rt.lines().collect();
    assert_eq!(
        words(lines[0]),
        [
            "#Cluster",
            "Name",
            "#Broker",
            "Name",
            "#RT",
            "#successCount",
            "#failCount"
        ]
    );
    let row = words(lines[1]);
    assert_eq!(row.len(), 5, "{rt}");
    assert_eq!(
        [row[0], row[1], row[3], row[4]],
        ["DefaultCluster", "broker-p", "3", "0"],
        "{rt}"
    );
    assert!(row[2].parse::<f64>().is_ok_and(|v| v >= 0.0), "{rt}");
    assert_eq!(&lines[1][..26], format!("{:<24}  ", "DefaultCluster"));
    assert_eq!(lines.len(), 2, "{rt}");
    let log = ok(&[
        "clusterRT",
        "-n",
        ns,
        "-a",
        "2",
        "-c",
        "DefaultCluster",
        "-p",
        "true",
        "-m",
        "room1",
        "--rounds",
        "2",
        "-i",
        "0",
    ]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    for line in lines {
        let parts: Vec<&str> = line.split('|').collect();
        assert_eq!(parts.len(), 5, "{log}");
        assert_eq!(parts[0].len(), 19, "yyyy-MM-dd HH:mm:ss: {log}");
        assert_eq!(
            parts[1..4],
            ["room1", "DefaultCluster", "broker-p"],
            "{log}"
        );
        assert!(parts[4].parse::<u64>().is_ok(), "{log}");
    }
    let unknown = run(&[
        "clusterRT",
        "-n",
        ns,
        "-c",
        "NoSuchCluster",
        "--rounds",
        "1",
    ]);
    assert_eq!(unknown.code, Some(1), "{unknown:?}");
    assert!(
        unknown
            .stdout
            .ends_with("cluster [NoSuchCluster] not exist\n"),
        "{unknown:?}"
    );

    // The sends of clusterRT went to the broker's own topic.
    let own = ok(&[
        "printMsgByQueue",
        "-n",
        ns,
        "-t",
        "broker-p",
        "-a",
        "broker-p",
        "-i",
        "0",
        "-p",
        "true",
        "-d",
        "true",
    ]);
    assert!(
        bodies(&own)
            .iter()
            .all(|b| *b == "a".repeat(16) || *b == "a".repeat(128)),
        "{own}"
    );
}

#[test]
fn help_names_the_flags_of_the_new_commands() {
    for (cmd, flags) in [
        (
            "printMsg",
            &[
                "--topic",
                "--charsetName",
                "--subExpression",
                "--beginTimestamp",
                "--endTimestamp",
                "--printBody",
                "--lmqParentTopic",
            ][..],
        ),
        (
            "printMsgByQueue",
            &[
                "--topic",
                "--brokerName",
                "--queueId",
                "--charsetName",
                "--subExpression",
                "--printMsg",
                "--printBody",
                "--calculate",
            ][..],
        ),
        (
            "clusterRT",
            &[
                "--amount",
                "--size",
                "--cluster",
                "--printLog",
                "--machineRoom",
                "--interval",
                "--rounds",
            ][..],
        ),
    ] {
        let help = ok(&["help", cmd]);
        for flag in flags {
            assert!(help.contains(flag), "{flag} in {help}");
        }
    }
    // Required flags are required.
    assert_eq!(
        run(&["printMsgByQueue", "-n", "127.0.0.1:1", "-t", "T"]).code,
        Some(2)
    );
}
