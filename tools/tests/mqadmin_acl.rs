//! `updateAclConfig`, `deleteAclConfig`, `updateGlobalWhiteAddr` and `clusterAclConfigVersion`
//! against a real broker with `aclEnable=true`: Apache's lines, the file as they leave it, the
//! version counting each edit, signing from the flags or from `$ROCKETMQ_HOME/conf/tools.yml`,
//! and the broker's refusals as exit lines.

mod support;

use std::process::Command;
use std::time::Duration;

use ferromq_tests::{FerroBroker, FerroNamesrv};
use support::Run;

const SIGNER: [&str; 4] = [
    "--adminAccessKey",
    "ops-admin",
    "--adminSecretKey",
    "ops-admin-secret",
];

/// Runs `mqadmin args` with `ROCKETMQ_HOME` set to `home` (or unset).
fn run_in(home: Option<&std::path::Path>, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mqadmin"));
    cmd.args(args).env_remove("NAMESRV_ADDR");
    match home {
        Some(h) => cmd.env("ROCKETMQ_HOME", h),
        None => cmd.env_remove("ROCKETMQ_HOME"),
    };
    let out = cmd.output().expect("run mqadmin");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(args: &[&str]) -> String {
    let r = run_in(None, args);
    assert_eq!(r.code, Some(0), "mqadmin {args:?}: {}", r.stderr);
    r.stdout
}

#[test]
fn acl_commands_edit_the_brokers_file() {
    let dir = tempfile::tempdir().expect("dir");
    let acl = dir.path().join("plain_acl.yml");
    std::fs::write(
        &acl,
        "accounts:\n  - {accessKey: ops-admin, secretKey: ops-admin-secret, admin: true}\n",
    )
    .expect("write");
    let namesrv = FerroNamesrv::start();
    let acl_path = acl.display().to_string();
    let broker = FerroBroker::start(namesrv.addr(), move |s| {
        s.broker.acl_enable = true;
        s.broker.acl_file_path = acl_path;
    });
    ferromq_tests::net::wait_until("registration", Duration::from_secs(30), || {
        let info = ferromq_tests::remoting::broker_cluster_info(namesrv.addr())
            .map_err(|e| e.to_string())?;
        Ok(info.body_text().contains(broker.addr()))
    })
    .expect("the broker registers");
    let (ns, addr) = (namesrv.addr(), broker.addr());
    let file = || std::fs::read_to_string(&acl).expect("read");

    let mut update = vec![
        "updateAclConfig",
        "-n",
        ns,
        "-b",
        addr,
        "-a",
        "user-key1",
        "-s",
        "user-secret1",
        "-t",
        "Orders=PUB,Audit=DENY",
        "-i",
        "SUB",
        "-m",
        "false",
    ];
    update.extend(SIGNER);
    let out = ok(&update);
    assert_eq!(
        out,
        format!("create or update plain access config to {addr} success.\n")
    );
    assert!(
        file().contains("user-key1") && file().contains("Audit=DENY"),
        "{}",
        file()
    );

    // Unsigned (no flags, no tools.yml): the broker's refusal as the exit line.
    let r = run_in(None, &update[..update.len() - 4]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "{addr} 1 org.apache.rocketmq.acl.common.AclException: No accessKey is configured"
        )),
        "{r:?}"
    );

    let mut white = vec![
        "updateGlobalWhiteAddr",
        "-n",
        ns,
        "-c",
        "DefaultCluster",
        "-g",
        "10.1.1.*,10.2.2.2",
    ];
    white.extend(SIGNER);
    assert_eq!(
        ok(&white),
        format!("update global white remote addresses to {addr} success.\n")
    );
    assert!(
        file().contains("10.1.1.*") && file().contains("10.2.2.2"),
        "{}",
        file()
    );

    // The version, signed from Apache's tools.yml this time.
    let home = tempfile::tempdir().expect("home");
    std::fs::create_dir_all(home.path().join("conf")).expect("conf");
    std::fs::write(
        home.path().join("conf/tools.yml"),
        "accessKey: ops-admin\nsecretKey: ops-admin-secret\n",
    )
    .expect("tools.yml");
    let r = run_in(
        Some(home.path()),
        &["clusterAclConfigVersion", "-n", ns, "-c", "DefaultCluster"],
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].starts_with("#Cluster Name"), "{}", r.stdout);
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        row[..5],
        [
            "DefaultCluster",
            "ferro-broker-a",
            addr,
            acl.to_str().expect("utf-8"),
            "2"
        ],
        "{}",
        r.stdout
    );
    assert_eq!(
        lines.last().copied(),
        Some("get cluster's plain access config version success.")
    );

    // Every account, Apache 4.9.0's layout.
    let mut get = vec!["getAccessConfigSubCommand", "-n", ns, "-b", addr];
    get.extend(SIGNER);
    let out = ok(&get);
    assert!(
        out.contains("globalWhiteRemoteAddresses: [10.1.1.*, 10.2.2.2]"),
        "{out}"
    );
    assert!(out.contains("  accessKey         : user-key1\n"), "{out}");
    assert!(
        out.contains("  topicPerms        : [Orders=PUB, Audit=DENY]\n"),
        "{out}"
    );
    assert!(out.contains("  admin             : true\n"), "{out}");

    let mut delete = vec!["deleteAclConfig", "-n", ns, "-b", addr, "-a", "user-key1"];
    delete.extend(SIGNER);
    assert_eq!(
        ok(&delete),
        format!(
            "delete plain access config account from {addr} success.\naccount's accesskey is:user-key1"
        )
    );
    assert!(!file().contains("user-key1"), "{}", file());
    // Again, by Apache's alias: nothing to delete.
    delete[0] = "deleteAccessConfig";
    let r = run_in(None, &delete);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains(&format!("{addr} 210 ")), "{r:?}");
}
