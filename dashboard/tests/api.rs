//! mqdashboard's JSON API against a real name server and broker: what each page reads, the
//! writes it makes, and the refusals that keep a browser's other tabs from using it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ferromq_client::ClientConfig;
use ferromq_dashboard::{serve, DashboardConfig};
use ferromq_tests::ferro::{FerroBroker, FerroNamesrv};
use ferromq_tests::net::wait_until;
use serde_json::{json, Value};

/// A console on a free loopback port, stopped on drop.
struct Console {
    addr: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Console {
    fn start(namesrv: &str, read_only: bool) -> Console {
        let config = DashboardConfig {
            client: ClientConfig {
                namesrv_addr: namesrv.to_owned(),
                instance_name: format!("dashboard-test-{read_only}"),
                ..ClientConfig::default()
            },
            read_only,
            allowed_hosts: Vec::new(),
        };
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr").to_string())
                    .expect("send addr");
                serve(listener, config, async move {
                    let _ = stop_rx.await;
                })
                .await
                .expect("console runs");
            });
        });
        Console {
            addr: addr_rx.recv().expect("console started"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// One raw request; the answer's status, head and body.
    fn raw(&self, request: &[u8]) -> (u16, String, Vec<u8>) {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        s.write_all(request).expect("write");
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).expect("read");
        let split = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("head end");
        let head = String::from_utf8_lossy(&answer[..split]).into_owned();
        let status = head[9..12].parse().expect("status");
        (status, head, answer[split + 4..].to_vec())
    }

    fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        let (status, _, body) = self.raw(req.as_bytes());
        (status, serde_json::from_slice(&body).expect("JSON answer"))
    }

    fn get(&self, path: &str) -> Value {
        let (status, v) = self.call("GET", path, &[], "");
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    }

    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_as(path, body, &[])
    }

    /// A write with the page's headers and `extra` ones (the operator's credentials).
    fn post_as(&self, path: &str, body: &Value, extra: &[(&str, &str)]) -> (u16, Value) {
        let token = self.get("/api/session")["csrfToken"]
            .as_str()
            .expect("token")
            .to_owned();
        let origin = format!("http://{}", self.addr);
        let mut headers = vec![
            ("Content-Type", "application/json"),
            ("X-CSRF-Token", token.as_str()),
            ("Origin", origin.as_str()),
        ];
        headers.extend_from_slice(extra);
        self.call("POST", path, &headers, &body.to_string())
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn servers() -> (FerroNamesrv, FerroBroker) {
    servers_with(|_| {})
}

fn servers_with(
    tweak: impl FnOnce(&mut ferromq_broker::Settings) + Send + 'static,
) -> (FerroNamesrv, FerroBroker) {
    let namesrv = FerroNamesrv::start();
    let broker = FerroBroker::start(namesrv.addr(), |s| {
        s.broker.broker_name = "dash-broker".to_owned();
        tweak(s);
    });
    wait_until("registration", Duration::from_secs(30), || {
        let info = ferromq_tests::remoting::broker_cluster_info(namesrv.addr())
            .map_err(|e| e.to_string())?;
        Ok(info.body_text().contains(broker.addr()))
    })
    .expect("the broker registers");
    (namesrv, broker)
}

#[test]
fn pages_read_the_cluster_and_writes_reach_it() {
    let (namesrv, broker) = servers();
    let console = Console::start(namesrv.addr(), false);

    let session = console.get("/api/session");
    assert_eq!(session["readOnly"], false);
    assert_eq!(session["csrfToken"].as_str().map(str::len), Some(32));

    let cluster = console.get("/api/cluster");
    let b = &cluster["clusters"][0]["brokers"][0];
    assert_eq!(b["brokerName"], "dash-broker", "{cluster}");
    assert_eq!(b["addr"], broker.addr());
    assert_eq!(b["role"], "MASTER");
    assert_eq!(b["version"], "V5_3_3");

    // A topic made from the page appears in the list with its queues.
    let topic = "DashTopic";
    let (status, v) = console.post("/api/topic/update", &json!({ "name": topic, "queues": 4 }));
    assert_eq!(status, 200, "{v}");
    wait_until("the new topic's route", Duration::from_secs(30), || {
        let (status, v) = console.call("GET", &format!("/api/topic?name={topic}"), &[], "");
        Ok(status == 200 && v["queues"].as_array().is_some_and(|q| q.len() == 4))
    })
    .expect("the topic has 4 queues");
    let list = console.get("/api/topics?q=Dash");
    assert_eq!(list["topics"], json!([{ "name": topic, "kind": "normal" }]));

    // A body that is markup travels as data and is found by key, by id and by time.
    let hostile = "<script>alert(1)</script>";
    let (status, sent) = console.post(
        "/api/topic/send",
        &json!({ "topic": topic, "tag": "TagA", "keys": "order-1", "body": hostile }),
    );
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["status"], "SEND_OK");
    let msg_id = sent["msgId"].as_str().expect("msgId").to_owned();
    let mut found = Value::Null;
    wait_until("the key index", Duration::from_secs(30), || {
        found = console.get(&format!("/api/messages/by-key?topic={topic}&key=order-1"));
        Ok(found["messages"].as_array().is_some_and(|m| !m.is_empty()))
    })
    .expect("found by key");
    let m = &found["messages"][0];
    assert_eq!(m["bodyText"], hostile);
    assert_eq!(m["bodyHex"], hex(hostile.as_bytes()));
    assert_eq!(m["tag"], "TagA");
    assert_eq!(m["msgId"], msg_id.as_str());
    let by_id = console.get(&format!("/api/messages/by-id?topic={topic}&id={msg_id}"));
    assert_eq!(by_id["messages"][0]["bodyText"], hostile);
    let offset_id = m["offsetMsgId"].as_str().expect("offset id");
    let by_offset_id = console.get(&format!("/api/messages/by-id?topic={topic}&id={offset_id}"));
    assert_eq!(by_offset_id["messages"][0]["msgId"], msg_id.as_str());
    let now = m["storeTimestamp"].as_i64().expect("store time");
    let by_time = console.get(&format!(
        "/api/messages/by-time?topic={topic}&begin={}&end={}",
        now - 1000,
        now + 1000
    ));
    assert_eq!(
        by_time["messages"].as_array().map(Vec::len),
        Some(1),
        "{by_time}"
    );
    let before = console.get(&format!(
        "/api/messages/by-time?topic={topic}&begin=0&end={}",
        now - 60_000
    ));
    assert_eq!(before["messages"], json!([]));

    // A group's lag per queue, and a reset by time that moves it. The group has consumed
    // everything (its offsets committed at each queue's end, as a consumer would).
    let group = "DashGroup";
    commit_at_end(namesrv.addr(), broker.addr(), group, topic);
    let g = console.get(&format!("/api/group?name={group}"));
    assert_eq!(g["totalLag"], 0, "{g}");
    assert_eq!(g["queues"].as_array().map(Vec::len), Some(4), "{g}");
    let (status, v) = console.post(
        "/api/group/reset-offset",
        &json!({ "group": group, "topic": topic, "timestamp": 0 }),
    );
    assert_eq!(status, 200, "{v}");
    let g = console.get(&format!("/api/group?name={group}"));
    assert_eq!(g["totalLag"], 1, "{g}");
    assert_eq!(
        g["queues"].as_array().map(|q| q
            .iter()
            .map(|q| q["lag"].as_i64().unwrap_or(-1))
            .sum::<i64>()),
        Some(1)
    );
    let groups = console.get("/api/groups?q=Dash");
    assert_eq!(groups["groups"][0]["name"], group, "{groups}");

    // The deleted topic leaves the list.
    let (status, v) = console.post("/api/topic/delete", &json!({ "name": topic }));
    assert_eq!(status, 200, "{v}");
    wait_until("the topic goes", Duration::from_secs(30), || {
        Ok(console.get("/api/topics?q=Dash")["topics"] == json!([]))
    })
    .expect("deleted");
}

/// Commits `group`'s offset of every queue of `topic` at the queue's end.
fn commit_at_end(namesrv: &str, broker: &str, group: &str, topic: &str) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let admin = ferromq_client::Admin::new(&ClientConfig {
            namesrv_addr: namesrv.to_owned(),
            instance_name: "dashboard-test-committer".to_owned(),
            ..ClientConfig::default()
        })
        .expect("admin");
        for (mq, o) in admin.topic_stats(topic).await.expect("topic stats") {
            admin
                .update_consumer_offset_at(broker, group, &mq, o.max_offset)
                .await
                .expect("commit");
        }
        admin.shutdown().await;
    });
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn writes_without_the_token_or_from_other_origins_are_refused() {
    let (namesrv, _broker) = servers();
    let console = Console::start(namesrv.addr(), false);
    let token = console.get("/api/session")["csrfToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let body = json!({ "name": "NeverMade" }).to_string();
    let cases: [(&[(&str, &str)], u16); 4] = [
        (&[("Content-Type", "application/json")], 403),
        (
            &[
                ("Content-Type", "application/json"),
                ("X-CSRF-Token", "0123"),
            ],
            403,
        ),
        (
            &[("Content-Type", "text/plain"), ("X-CSRF-Token", &token)],
            415,
        ),
        (
            &[
                ("Content-Type", "application/json"),
                ("X-CSRF-Token", &token),
                ("Origin", "http://evil.example"),
            ],
            403,
        ),
    ];
    for (headers, expected) in cases {
        let (status, v) = console.call("POST", "/api/topic/update", headers, &body);
        assert_eq!(status, expected, "{headers:?}: {v}");
        assert!(v["error"].is_string());
    }
    // A page on another name that resolves to 127.0.0.1 (DNS rebinding) is not served.
    let (status, _, _) = console.raw(b"GET /api/session HTTP/1.1\r\nHost: evil.example\r\n\r\n");
    assert_eq!(status, 403);
    let (status, _, _) = console.raw(b"GET /api/session HTTP/1.1\r\nHost: localhost:1\r\n\r\n");
    assert_eq!(status, 200);
    assert_eq!(console.get("/api/topics?q=NeverMade")["topics"], json!([]));

    let read_only = Console::start(namesrv.addr(), true);
    assert_eq!(read_only.get("/api/session")["readOnly"], true);
    let (status, v) = read_only.post("/api/topic/update", &json!({ "name": "NeverMade" }));
    assert_eq!(status, 403, "{v}");
}

#[test]
fn bad_requests_get_clear_answers() {
    let (namesrv, _broker) = servers();
    let console = Console::start(namesrv.addr(), false);
    let host = format!("Host: {}\r\n", console.addr);
    for (request, expected) in [
        (format!("GET /api/nothing HTTP/1.1\r\n{host}\r\n"), 404),
        (format!("DELETE /api/topics HTTP/1.1\r\n{host}\r\n"), 405),
        ("GET /api/session HTTP/1.1\r\n\r\n".to_owned(), 400),
        ("BREW /coffee\r\n\r\n".to_owned(), 400),
        (format!("GET /api/topic HTTP/1.1\r\n{host}\r\n"), 400),
        (
            format!("GET /api/topic?name=a%2Fb HTTP/1.1\r\n{host}\r\n"),
            400,
        ),
        (
            format!("GET /api/messages/by-id?topic=T&id=<x> HTTP/1.1\r\n{host}\r\n"),
            400,
        ),
        (
            format!("POST /api/topic/send HTTP/1.1\r\n{host}Content-Length: 999999\r\n\r\n"),
            413,
        ),
        (
            format!("POST /api/topic/send HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n"),
            411,
        ),
        (
            format!("GET /{} HTTP/1.1\r\n{host}\r\n", "a".repeat(20_000)),
            431,
        ),
    ] {
        let (status, _, body) = console.raw(request.as_bytes());
        assert_eq!(status, expected, "{request:.80}");
        let v: Value = serde_json::from_slice(&body).expect("JSON error");
        assert!(v["error"].is_string(), "{v}");
    }
    // The page and its assets, with the policy that keeps data from running as script.
    let (status, head, body) = console.raw(format!("GET / HTTP/1.1\r\n{host}\r\n").as_bytes());
    assert_eq!(status, 200);
    assert!(head.contains("Content-Type: text/html"));
    assert!(head.contains("Content-Security-Policy: default-src 'none'; script-src 'self'"));
    assert!(String::from_utf8_lossy(&body).contains("/app.js"));
    let (status, head, body) =
        console.raw(format!("GET /app.js HTTP/1.1\r\n{host}\r\n").as_bytes());
    assert_eq!(status, 200);
    assert!(head.contains("text/javascript"));
    assert!(!String::from_utf8_lossy(&body).contains("innerHTML ="));
}

/// Under ACL, a change is made with the operator's credentials from the page: without them (and
/// without the console's own) the cluster refuses it; with a wrong secret too; with the admin
/// account's it is made.
#[test]
fn changes_on_an_acl_cluster_are_signed_with_the_operators_credentials() {
    let dir = tempfile::tempdir().expect("temp dir");
    let acl = dir.path().join("plain_acl.yml");
    std::fs::write(
        &acl,
        "accounts:\n  - accessKey: dash-admin\n    secretKey: dash-admin-secret\n    admin: true\n",
    )
    .expect("ACL file");
    let acl_path = acl.display().to_string();
    let (namesrv, _broker) = servers_with(move |s| {
        s.broker.acl_enable = true;
        s.broker.acl_file_path = acl_path;
    });
    let console = Console::start(namesrv.addr(), false);
    let topic = json!({ "name": "SignedTopic", "queues": 2 });
    let (status, v) = console.post("/api/topic/update", &topic);
    assert_eq!(status, 502, "{v}");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("No accessKey")),
        "{v}"
    );
    let (status, v) = console.post_as(
        "/api/topic/update",
        &topic,
        &[
            ("X-Access-Key", "dash-admin"),
            ("X-Secret-Key", "wrong-secret"),
        ],
    );
    assert_eq!(status, 502, "{v}");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("Check signature failed")),
        "{v}"
    );
    let (status, v) = console.post_as(
        "/api/topic/update",
        &topic,
        &[("X-Access-Key", "dash-admin")],
    );
    assert_eq!(status, 400, "{v}");
    let (status, v) = console.post_as(
        "/api/topic/update",
        &topic,
        &[
            ("X-Access-Key", "dash-admin"),
            ("X-Secret-Key", "dash-admin-secret"),
        ],
    );
    assert_eq!(status, 200, "{v}");
    let (status, v) = console.post_as(
        "/api/topic/send",
        &json!({ "topic": "SignedTopic", "body": "signed" }),
        &[
            ("X-Access-Key", "dash-admin"),
            ("X-Secret-Key", "dash-admin-secret"),
        ],
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "SEND_OK");
}

/// Message trace: a send traced by the client core shows up in the message page's trace view
/// (`/api/messages/trace`), from the trace topic the broker made (`traceTopicEnable`).
#[test]
fn a_traced_send_shows_in_the_trace_view() {
    let (namesrv, _broker) = servers_with(|s| s.broker.trace_topic_enable = true);
    let console = Console::start(namesrv.addr(), true);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let msg_id = rt.block_on(async {
        let producer = ferromq_client::Producer::start(ferromq_client::ProducerOptions {
            client: ClientConfig {
                namesrv_addr: namesrv.addr().to_owned(),
                ..ClientConfig::default()
            },
            group: "dash_trace_pg".to_owned(),
            enable_msg_trace: true,
            ..ferromq_client::ProducerOptions::default()
        })
        .await
        .expect("producer");
        let sent = producer
            .send(ferromq_client::Message::new("DashTraced", "x").with_keys(["k-1"]))
            .await
            .expect("send");
        producer.shutdown().await;
        sent.msg_id
    });
    let mut found = Value::Null;
    wait_until("the trace record", Duration::from_secs(30), || {
        found = console.get(&format!("/api/messages/trace?id={msg_id}"));
        Ok(found["traces"].as_array().is_some_and(|t| !t.is_empty()))
    })
    .unwrap_or_else(|e| panic!("{e}: {found}"));
    assert_eq!(found["traceTopic"], "RMQ_SYS_TRACE_TOPIC");
    let t = &found["traces"][0];
    assert_eq!(t["type"], "Pub", "{found}");
    assert_eq!(t["group"], "dash_trace_pg");
    assert_eq!(t["topic"], "DashTraced");
    assert_eq!(t["keys"], "k-1");
    assert_eq!(t["success"], true);
    // Bad input gets a clear answer.
    let (status, v) = console.call("GET", "/api/messages/trace?id=zz", &[], "");
    assert_eq!(status, 400, "{v}");
    let (status, v) = console.call(
        "GET",
        &format!("/api/messages/trace?id={msg_id}&traceTopic=a/b"),
        &[],
        "",
    );
    assert_eq!(status, 400, "{v}");
}
