//! `consumerProgress -s true` (which consumer holds each queue) against a real broker, with a
//! consumer that reports its queues the way Apache's clients do (`mqTable` in its running
//! info), and `updateSubGroup --attributes`.

mod support;

use std::io::Write as _;
use std::net::TcpStream;
use std::time::Duration;

use ferromq_client::{Admin, ClientConfig};
use ferromq_protocol::body::MessageQueue;
use ferromq_tests::remoting::{decode_frame, encode_request, read_frame};
use support::{cluster, ok, run};

const WAIT: Duration = Duration::from_secs(30);

/// GET_CONSUMER_RUNNING_INFO, HEARTBEAT.
const RUNNING_INFO: i64 = 307;
const HEARTBEAT: i32 = 34;

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// A response frame (flag 1) with a JSON header.
fn response_frame(opaque: i64, body: &[u8]) -> Vec<u8> {
    let header = serde_json::json!({
        "code": 0, "extFields": {}, "flag": 1, "language": "JAVA", "opaque": opaque,
        "serializeTypeCurrentRPC": "JSON", "version": 473,
    });
    let header = serde_json::to_vec(&header).expect("JSON");
    let mut frame = Vec::new();
    let len = u32::try_from(4 + header.len() + body.len()).expect("small");
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&u32::try_from(header.len()).expect("small").to_be_bytes());
    frame.extend_from_slice(&header);
    frame.extend_from_slice(body);
    frame
}

/// A consumer of `group` on `topic` whose client id is `client_id`, holding queue 1 of
/// `broker`: it heartbeats once, then answers running-info requests with that queue in
/// `mqTable` (fastjson's bean-keyed map), until the broker closes the connection.
fn fake_consumer(addr: &str, client_id: &str, group: &str, topic: &str, broker: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let heartbeat = serde_json::json!({
        "clientID": client_id,
        "consumerDataSet": [{
            "groupName": group, "consumeType": "CONSUME_PASSIVELY",
            "messageModel": "CLUSTERING", "consumeFromWhere": "CONSUME_FROM_LAST_OFFSET",
            "subscriptionDataSet": [{
                "classFilterMode": false, "codeSet": [], "expressionType": "TAG",
                "subString": "*", "subVersion": 1, "tagsSet": [], "topic": topic,
            }],
            "unitMode": false,
        }],
        "producerDataSet": [],
    });
    let body = serde_json::to_vec(&heartbeat).expect("JSON");
    stream
        .write_all(&encode_request(HEARTBEAT, 473, 1, &[], &body))
        .expect("heartbeat");
    let mut reader = stream.try_clone().expect("clone");
    let info = format!(
        r#"{{"mqTable":{{{{"brokerName":"{broker}","queueId":1,"topic":"{topic}"}}:{{"commitOffset":0,"droped":false}}}},"properties":{{"consumeType":"CONSUME_PASSIVELY"}},"statusTable":{{}},"subscriptionSet":[]}}"#
    );
    std::thread::spawn(move || {
        while let Ok(frame) = read_frame(&mut reader) {
            let Ok(msg) = decode_frame(&frame) else {
                break;
            };
            let flag = msg.header["flag"].as_i64().unwrap_or(0);
            if flag & 1 == 0 && msg.code == RUNNING_INFO {
                let opaque = msg.header["opaque"].as_i64().unwrap_or(0);
                if reader
                    .write_all(&response_frame(opaque, info.as_bytes()))
                    .is_err()
                {
                    break;
                }
            }
        }
    });
    stream
}

#[test]
fn progress_names_the_consumer_of_each_queue_and_groups_take_attributes() {
    let (ns, broker) = cluster("broker-i");
    let ns = ns.addr();
    ok(&[
        "updateTopic",
        "-n",
        ns,
        "-c",
        "DefaultCluster",
        "-t",
        "IpTopic",
        "-r",
        "2",
        "-w",
        "2",
    ]);
    // The group has offsets on both queues.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let admin = Admin::new(&ClientConfig::new(ns, Some("ip".to_owned()))).expect("admin");
        for q in 0..2 {
            admin
                .update_consumer_offset_at(
                    broker.addr(),
                    "cgip",
                    &MessageQueue::new("IpTopic", "broker-i", q),
                    0,
                )
                .await
                .expect("offset");
        }
        admin.shutdown().await;
    });
    let _consumer = fake_consumer(
        broker.addr(),
        "127.0.0.9@fake",
        "cgip",
        "IpTopic",
        "broker-i",
    );
    ferromq_tests::net::wait_until("the consumer is online", WAIT, || {
        Ok(run(&["consumerConnection", "-n", ns, "-g", "cgip"]).code == Some(0))
    })
    .expect("online");

    let progress = ["consumerProgress", "-n", ns, "-g", "cgip", "-t", "IpTopic"];
    let with_ip = ok(&[&progress[..], &["-s", "true"]].concat());
    let lines: Vec<&str> = with_ip.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} {:<20} {:<20}#LastTime",
            "#Topic",
            "#Broker Name",
            "#QID",
            "#Broker Offset",
            "#Consumer Offset",
            "#Client IP",
            "#Diff",
            "#Inflight"
        )
    );
    assert_eq!(
        words(lines[1])[..6],
        ["IpTopic", "broker-i", "0", "0", "0", "N/A"],
        "{with_ip}"
    );
    assert_eq!(
        words(lines[2])[..6],
        ["IpTopic", "broker-i", "1", "0", "0", "127.0.0.9"],
        "{with_ip}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&[&progress[..], &["-s", "true", "--json"]].concat()))
            .expect("JSON");
    assert_eq!(json["queues"][1]["clientIp"], "127.0.0.9", "{json}");
    assert_eq!(json["queues"][0]["clientIp"], serde_json::Value::Null);
    // Without -s (or with anything but true), no column.
    for extra in [&[][..], &["-s", "false"][..]] {
        let plain = ok(&[&progress[..], extra].concat());
        assert!(!plain.contains("#Client IP"), "{plain}");
        assert!(!plain.contains("127.0.0.9"), "{plain}");
    }

    // updateSubGroup --attributes: Apache's `+key=value,-key` list, sent with the group.
    let created = ok(&[
        "updateSubGroup",
        "-n",
        ns,
        "-b",
        broker.addr(),
        "-g",
        "cgattr",
        "--attributes",
        "+lag.limit=10,-old",
    ]);
    assert!(
        created.ends_with(
            ", groupSysFlag=0, consumeTimeoutMinute=15, subscriptionDataSet=null, attributes={-old=, +lag.limit=10}}\n"
        ),
        "{created}"
    );
    let stored = rt
        .block_on(async {
            let admin = Admin::new(&ClientConfig::new(ns, Some("ip".to_owned())))?;
            let g = admin.subscription_group_at(broker.addr(), "cgattr").await;
            admin.shutdown().await;
            g
        })
        .expect("the group");
    assert_eq!(stored["attributes"]["+lag.limit"], "10", "{stored}");
    for bad in ["lag.limit=10", "old", "+a=1,+a=2"] {
        let r = run(&[
            "updateSubGroup",
            "-n",
            ns,
            "-b",
            broker.addr(),
            "-g",
            "cgattr",
            "--attributes",
            bad,
        ]);
        assert_eq!(r.code, Some(1), "{bad}: {r:?}");
        assert!(
            r.stderr.contains("attribute") || r.stderr.contains("duplication"),
            "{r:?}"
        );
    }
}
