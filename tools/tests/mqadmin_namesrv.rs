//! `getNamesrvConfig`, `updateNamesrvConfig`, `updateKvConfig`, `deleteKvConfig`,
//! `wipeWritePerm` and `addWritePerm` against a real name server and broker.

mod support;

use ferromq_client::{Admin, ClientConfig};
use support::{cluster, ok};

/// The value of `key` in `%-50s=  %s` lines.
fn value_of<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once("=  ")?;
        (k.trim_end() == key).then_some(v)
    })
}

fn route_perm(ns: &str, topic: &str) -> serde_json::Value {
    let route: serde_json::Value =
        serde_json::from_str(&ok(&["topicRoute", "-n", ns, "-t", topic])).expect("JSON");
    route["queueDatas"][0]["perm"].clone()
}

#[test]
fn name_server_config_kv_and_write_perm() {
    let (ns, _broker) = cluster("broker-n");
    let ns = ns.addr();

    let config = ok(&["getNamesrvConfig", "-n", ns]);
    assert_eq!(
        config.lines().next(),
        Some(format!("============{ns}============").as_str())
    );
    assert_eq!(
        value_of(&config, "orderMessageEnable"),
        Some("false"),
        "{config}"
    );
    let updated = ok(&[
        "updateNamesrvConfig",
        "-n",
        ns,
        "-k",
        "orderMessageEnable",
        "-v",
        "true",
    ]);
    assert_eq!(
        updated,
        format!("update name server config success![{ns}]\norderMessageEnable : true\n")
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["getNamesrvConfig", "-n", ns, "--json"])).expect("JSON");
    assert_eq!(json[ns]["orderMessageEnable"], "true", "{json}");

    // KV items, checked through the admin client.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let admin = rt
        .block_on(async { Admin::new(&ClientConfig::new(ns, Some("check".to_owned()))) })
        .expect("admin");
    assert_eq!(
        ok(&[
            "updateKvConfig",
            "-n",
            ns,
            "-s",
            "ORDER_TOPIC_CONFIG",
            "-k",
            "KvTopic",
            "-v",
            "broker-n:4"
        ]),
        "create or update kv config to namespace success.\n"
    );
    assert_eq!(
        rt.block_on(admin.kv_config("ORDER_TOPIC_CONFIG", "KvTopic"))
            .expect("get"),
        Some("broker-n:4".to_owned())
    );
    assert_eq!(
        ok(&[
            "deleteKvConfig",
            "-n",
            ns,
            "-s",
            "ORDER_TOPIC_CONFIG",
            "-k",
            "KvTopic"
        ]),
        "delete kv config from namespace success.\n"
    );
    assert_eq!(
        rt.block_on(admin.kv_config("ORDER_TOPIC_CONFIG", "KvTopic"))
            .expect("get"),
        None
    );
    rt.block_on(admin.shutdown());

    // Write permission of the broker's topics in the name server's routes.
    ok(&[
        "updateTopic",
        "-n",
        ns,
        "-c",
        "DefaultCluster",
        "-t",
        "PermTopic",
    ]);
    ferromq_tests::net::wait_until("the route", std::time::Duration::from_secs(30), || {
        Ok(support::run(&["topicRoute", "-n", ns, "-t", "PermTopic"]).code == Some(0))
    })
    .expect("the topic is routed");
    assert_eq!(route_perm(ns, "PermTopic"), 6);
    let wiped = ok(&["wipeWritePerm", "-n", ns, "-b", "broker-n"]);
    let prefix = format!("wipe write perm of broker[broker-n] in name server[{ns}] OK, ");
    let count: i32 = wiped
        .trim_end()
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{wiped}"))
        .parse()
        .expect("a topic count");
    assert!(count >= 1, "{wiped}");
    assert_eq!(route_perm(ns, "PermTopic"), 4, "read only");
    let added = ok(&["addWritePerm", "-n", ns, "-b", "broker-n"]);
    assert_eq!(
        added,
        format!("add write perm of broker[broker-n] in name server[{ns}] OK, {count}\n")
    );
    assert_eq!(route_perm(ns, "PermTopic"), 6);

    // A name server that cannot be reached: the Failed line, exit 1.
    let r = support::run(&["wipeWritePerm", "-n", "127.0.0.1:1", "-b", "broker-n"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(
        r.stdout,
        "wipe write perm of broker[broker-n] in name server[127.0.0.1:1] Failed\n"
    );
    assert!(r.stderr.starts_with("mqadmin: 127.0.0.1:1"), "{}", r.stderr);
}
