//! Apache's ACL 1.0 admin calls against FerroMQ's broker with `aclEnable=true` (docs/security.md,
//! "Editing the file remotely"): the official Java client 4.9.8's `MQClientAPIImpl` calls signed by
//! its `AclClientRPCHook`, and Apache 4.9.8's own `mqadmin updateAclConfig`, `deleteAclConfig`,
//! `updateGlobalWhiteAddr` and `clusterAclConfigVersion` (signed from its `tools.yml`; 5.3.3's
//! `mqadmin` no longer has them). The broker answers them as Apache's does and rewrites
//! `plain_acl.yml`.
//!
//! Needs `java` (17) and `mvn` on PATH; prints `SKIPPED: ...` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

use std::path::{Path, PathBuf};
use std::time::Duration;

use ferromq_tests::clients::java49_acl_admin;
use ferromq_tests::mqadmin::apache_mqadmin49_signed;
use ferromq_tests::{require_tools, FerroBroker, FerroNamesrv};

const ADMIN: (&str, &str) = ("compat-admin", "compat-admin-secret");
const USER: (&str, &str) = ("compat-acl-user", "compat-acl-user-secret");

#[test]
fn java49_acl_admin_calls_edit_the_ferromq_broker_file() {
    if !require_tools("compat_acl_admin", &["java", "mvn"]) {
        return;
    }
    let (_dir, acl) = admin_only_file();
    let acl_path = acl.display().to_string();
    let broker = FerroBroker::start("", move |s| {
        s.broker.acl_enable = true;
        s.broker.acl_file_path = acl_path;
    });
    let run = java49_acl_admin(broker.addr(), ADMIN, USER, "10.10.10.*");
    run.assert_success();
    assert!(
        run.output.contains("OK: acl-admin: counter 0 -> 3"),
        "{}",
        run.output
    );
    // The file as the calls left it: the global white address, the admin, not the user.
    let text = std::fs::read_to_string(&acl).expect("read the ACL file");
    assert!(text.contains("10.10.10.*"), "{text}");
    assert!(text.contains(ADMIN.0), "{text}");
    assert!(!text.contains(USER.0), "{text}");
    assert!(text.contains("dataVersion"), "{text}");
}

/// An admin-only ACL file in a temp dir.
fn admin_only_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let acl = dir.path().join("plain_acl.yml");
    std::fs::write(
        &acl,
        format!(
            "accounts:\n  - accessKey: {}\n    secretKey: {}\n    admin: true\n",
            ADMIN.0, ADMIN.1
        ),
    )
    .expect("write the ACL file");
    (dir, acl)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).expect("read the ACL file")
}

#[test]
fn apache_mqadmin_49_acl_commands_against_the_ferromq_broker() {
    if !require_tools("compat_acl_admin", &["java", "mvn"]) {
        return;
    }
    let (_dir, acl) = admin_only_file();
    let namesrv = FerroNamesrv::start();
    let acl_path = acl.display().to_string();
    let broker = FerroBroker::start(namesrv.addr(), move |s| {
        s.broker.acl_enable = true;
        s.broker.acl_file_path = acl_path;
    });
    ferromq_tests::net::wait_until("broker registration", Duration::from_secs(30), || {
        let info = ferromq_tests::remoting::broker_cluster_info(namesrv.addr())
            .map_err(|e| e.to_string())?;
        Ok(info.body_text().contains(broker.addr()))
    })
    .expect("the broker registers with the name server");
    let (ns, addr) = (namesrv.addr(), broker.addr());
    let expect = |args: &[&str], signer: (&str, &str), line: &str| {
        let run = apache_mqadmin49_signed(ns, args, signer);
        assert!(run.output.contains(line), "{}: {}", run.name, run.output);
        run.output
    };

    expect(
        &[
            "updateAclConfig",
            "-b",
            addr,
            "-a",
            USER.0,
            "-s",
            USER.1,
            "-t",
            "Orders=PUB",
            "-i",
            "SUB",
            "-m",
            "false",
        ],
        ADMIN,
        &format!("create or update plain access config to {addr} success."),
    );
    assert!(
        read(&acl).contains(USER.0) && read(&acl).contains("Orders=PUB"),
        "{}",
        read(&acl)
    );

    // The user is not an admin: the broker's refusal, in Apache's tool's stack trace.
    expect(
        &[
            "updateAclConfig",
            "-b",
            addr,
            "-a",
            USER.0,
            "-s",
            USER.1,
            "-m",
            "true",
        ],
        USER,
        "Need admin permission for request code=50",
    );

    expect(
        &["updateGlobalWhiteAddr", "-b", addr, "-g", "10.9.9.*"],
        ADMIN,
        &format!("update global white remote addresses to {addr} success."),
    );
    assert!(read(&acl).contains("10.9.9.*"), "{}", read(&acl));

    let out = expect(
        &["clusterAclConfigVersion", "-c", "DefaultCluster"],
        ADMIN,
        "get cluster's plain access config version success.",
    );
    let row = out
        .lines()
        .find(|l| l.contains(acl.to_str().expect("utf-8")))
        .unwrap_or_else(|| panic!("no row for the file: {out}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cols[..3],
        ["DefaultCluster", "ferro-broker-a", addr],
        "{row}"
    );
    assert_eq!(cols[4], "2", "two edits: {row}");

    expect(
        &["deleteAclConfig", "-b", addr, "-a", USER.0],
        ADMIN,
        &format!("delete plain access config account from {addr} success."),
    );
    assert!(!read(&acl).contains(USER.0), "{}", read(&acl));
}
