//! Apache's ACL 1.0 admin calls (the official Java client 4.9.8's `MQClientAPIImpl`, which
//! Apache's 4.9.x `mqadmin updateAclConfig`, `deleteAclConfig`, `updateGlobalWhiteAddr` and
//! `clusterAclConfigVersion` use, signed by its `AclClientRPCHook`) against FerroMQ's broker with
//! `aclEnable=true` (docs/security.md, "Editing the file remotely"): the broker answers them as
//! Apache's does and rewrites `plain_acl.yml`.
//!
//! Needs `java` (17) and `mvn` on PATH; prints `SKIPPED: ...` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

use ferromq_tests::clients::java49_acl_admin;
use ferromq_tests::{require_tools, FerroBroker};

const ADMIN: (&str, &str) = ("compat-admin", "compat-admin-secret");
const USER: (&str, &str) = ("compat-acl-user", "compat-acl-user-secret");

#[test]
fn java49_acl_admin_calls_edit_the_ferromq_broker_file() {
    if !require_tools("compat_acl_admin", &["java", "mvn"]) {
        return;
    }
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
