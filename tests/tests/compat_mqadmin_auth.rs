//! Issue 16: our `mqadmin`'s ACL 2.0 commands (createUser, updateUser, deleteUser, getUser,
//! listUser, createAcl, updateAcl, deleteAcl, getAcl, listAcl) against Apache RocketMQ 5.3.3's
//! broker with authentication and authorization on, side by side with Apache's `mqadmin`.
//!
//! Both tools sign as the broker's initial super user from `conf/tools.yml` under the
//! RocketMQ home, as operators run Apache's (`rocketmq.home.dir` for Apache's, `ROCKETMQ_HOME`
//! for ours). Each step runs a command with both tools: a change on two twin names (ours
//! changes `ours_*`, Apache's `apache_*`, so both make the same change), a read on the same
//! names, so the broker is in the same state for both; the commands of one step run at once, so
//! a step holds only commands that do not depend on each other. The outputs must be the same text
//! (trailing blanks aside). Then the failures: a refusal carries the broker's remark in both
//! tools' output, and our tool without credentials is refused.
//!
//! Needs `java` (17) and `mvn`; prints `SKIPPED: ...` and passes otherwise (set
//! `FERROMQ_COMPAT_REQUIRED=1` to fail instead).

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferromq_tests::artifacts::JavaArtifacts;
use ferromq_tests::mqadmin::{ferro_mqadmin_path, MQADMIN_TIMEOUT};
use ferromq_tests::process::{run_bounded, tail_of_text, ProgramRun, TAIL_LINES};
use ferromq_tests::{require_tools, ApacheBroker, ApacheNamesrv, BrokerOptions};

const TOOLS: &[&str] = &["java", "mvn"];
const CLUSTER: &str = "DefaultCluster";
/// Apache mqadmin runs at once (each a JVM).
const PARALLEL: usize = 4;
/// The super user Apache's broker creates at start-up (`initAuthenticationUser`).
const ROOT: (&str, &str) = ("rocketmq", "12345678");

/// Apache's broker keys for ACL 2.0, as its docs write them.
fn acl2_broker_options() -> BrokerOptions {
    let kv = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    BrokerOptions {
        broker_name: "acl2-admin-a".to_owned(),
        heap: "384m".to_owned(),
        extra_config: vec![
            kv("authenticationEnabled", "true"),
            kv(
                "authenticationMetadataProvider",
                "org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider",
            ),
            kv("authorizationEnabled", "true"),
            kv(
                "authorizationMetadataProvider",
                "org.apache.rocketmq.auth.authorization.provider.LocalAuthorizationMetadataProvider",
            ),
            kv(
                "initAuthenticationUser",
                &format!(r#"{{"username":"{}","password":"{}"}}"#, ROOT.0, ROOT.1),
            ),
            kv(
                "innerClientAuthenticationCredentials",
                &format!(r#"{{"accessKey":"{}","secretKey":"{}"}}"#, ROOT.0, ROOT.1),
            ),
        ],
        ..BrokerOptions::default()
    }
}

/// A RocketMQ home whose `conf/tools.yml` names the super user (as Apache ships the file,
/// the secret a YAML number).
fn tools_home() -> tempfile::TempDir {
    let home = tempfile::Builder::new()
        .prefix("mqadmin-auth-home-")
        .tempdir()
        .expect("tempdir");
    std::fs::create_dir_all(home.path().join("conf")).expect("conf dir");
    std::fs::write(
        home.path().join("conf/tools.yml"),
        format!(
            "# the tools' credentials\naccessKey: {}\nsecretKey: {}\n",
            ROOT.0, ROOT.1
        ),
    )
    .expect("write tools.yml");
    home
}

/// Apache's `mqadmin <args> -n <namesrv>` with `rocketmq.home.dir` = `home` (where it reads
/// `conf/tools.yml`), in a fresh working directory.
fn apache(home: &Path, namesrv: &str, args: &[String]) -> ProgramRun {
    let jars = JavaArtifacts::get();
    let dir = tempfile::Builder::new()
        .prefix("mqadmin-")
        .tempdir()
        .expect("tempdir");
    let mut cmd = Command::new("java");
    cmd.current_dir(dir.path())
        .env("HOME", dir.path())
        .env_remove("ROCKETMQ_HOME")
        .env_remove("NAMESRV_ADDR")
        .args([
            "-Xms32m",
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
        ])
        .arg(format!("-Duser.home={}", dir.path().display()))
        .arg(format!("-Drocketmq.home.dir={}", home.display()))
        .arg(format!(
            "-Drocketmq.client.logRoot={}",
            dir.path().join("logs").display()
        ))
        .arg("-cp")
        .arg(&jars.tools_classpath)
        .arg(ferromq_tests::mqadmin::MQADMIN_MAIN)
        .args(args)
        .args(["-n", namesrv]);
    let name = format!("mqadmin {}", args.join(" "));
    run_bounded(&name, cmd, &dir.path().join("out.log"), MQADMIN_TIMEOUT)
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"))
}

/// Our `mqadmin <args> -n <namesrv>` with `ROCKETMQ_HOME` = `home` (`None`: unset).
fn ours(home: Option<&Path>, namesrv: &str, args: &[String]) -> ProgramRun {
    let dir = tempfile::Builder::new()
        .prefix("ferro-mqadmin-")
        .tempdir()
        .expect("tempdir");
    let mut cmd = Command::new(ferro_mqadmin_path());
    cmd.current_dir(dir.path())
        .env_remove("NAMESRV_ADDR")
        .env_remove("ROCKETMQ_HOME")
        .args(args)
        .args(["-n", namesrv]);
    if let Some(home) = home {
        cmd.env("ROCKETMQ_HOME", home);
    }
    let name = format!("ferromq mqadmin {}", args.join(" "));
    run_bounded(&name, cmd, &dir.path().join("out.log"), MQADMIN_TIMEOUT)
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"))
}

/// Apache's `MQAdminStartup` exits 0 even when a command fails: a failure prints `... command
/// failed` or a stack trace.
fn apache_failed(run: &ProgramRun) -> bool {
    !run.success()
        || run.output.contains("command failed")
        || run.output.lines().any(|l| l.starts_with("\tat "))
}

/// One command run by both tools: ours with `ours`, Apache's with `apache` (the same but for
/// the twin names of a change).
struct Case {
    ours: Vec<String>,
    apache: Vec<String>,
}

/// `args` with `{who}` made `ours` for ours and `apache` for Apache's.
fn twin(args: &[&str]) -> Case {
    let with = |who: &str| args.iter().map(|a| a.replace("{who}", who)).collect();
    Case {
        ours: with("ours"),
        apache: with("apache"),
    }
}

/// `args`, the same for both tools.
fn same(args: &[&str]) -> Case {
    twin(args)
}

struct Env<'a> {
    home: &'a Path,
    ns: &'a str,
}

/// Runs every case with both tools, [`PARALLEL`] at a time, and compares the outputs: both
/// succeed and print the same text. Returns the failures; prints `SAME:` for the others.
fn compare(env: &Env<'_>, cases: &[Case]) -> Vec<String> {
    let next = AtomicUsize::new(0);
    let runs: Mutex<Vec<Option<(ProgramRun, ProgramRun)>>> =
        Mutex::new((0..cases.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let (a, b) = std::thread::scope(|s2| {
                    let a = s2.spawn(|| ours(Some(env.home), env.ns, &case.ours));
                    let b = apache(env.home, env.ns, &case.apache);
                    (a.join().expect("ours ran"), b)
                });
                runs.lock().expect("runs")[i] = Some((a, b));
            });
        }
    });
    let mut failures = Vec::new();
    for (case, run) in cases.iter().zip(runs.into_inner().expect("runs")) {
        let (o, a) = run.expect("every case ran");
        let name = case.ours.join(" ");
        let why = if apache_failed(&a) {
            Some("Apache's mqadmin failed")
        } else if !o.success() {
            Some("ours failed")
        } else if o.output.trim_end() != a.output.trim_end() {
            Some("the outputs differ")
        } else {
            None
        };
        match why {
            None => eprintln!("SAME: {name}\n{}", o.output.trim_end()),
            Some(why) => failures.push(format!(
                "{name}: {why}\n--- apache ---\n{}\n--- ours ---\n{}",
                tail_of_text(&a.output, TAIL_LINES),
                tail_of_text(&o.output, TAIL_LINES)
            )),
        }
    }
    failures
}

/// [`compare`], panicking on any failure.
#[track_caller]
fn expect_same(env: &Env<'_>, step: &str, cases: &[Case]) {
    let failures = compare(env, cases);
    assert!(
        failures.is_empty(),
        "{step}: {} of {} commands differ:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn our_auth_commands_print_what_apaches_print() {
    if !require_tools("compat_mqadmin_auth", TOOLS) {
        return;
    }
    let started = Instant::now();
    let _ = ferro_mqadmin_path();
    let namesrv = ApacheNamesrv::start();
    let ns = namesrv.addr().to_owned();
    let mut broker = ApacheBroker::start(&ns, acl2_broker_options());
    broker.wait_registered(&ns, Duration::from_secs(90));
    let addr = broker.addr().to_owned();
    let home = tools_home();
    let env = Env {
        home: home.path(),
        ns: &ns,
    };
    eprintln!("Apache servers up after {:.1?}", started.elapsed());

    // Users: created on one broker and on the cluster, read by both tools.
    expect_same(
        &env,
        "create users",
        &[
            twin(&[
                "createUser",
                "-b",
                &addr,
                "-u",
                "{who}_u1",
                "-p",
                "secret-1",
            ]),
            twin(&[
                "createUser",
                "-c",
                CLUSTER,
                "-u",
                "{who}_u2",
                "-p",
                "secret-2",
                "-t",
                "Super",
            ]),
        ],
    );
    expect_same(
        &env,
        "read users",
        &[
            same(&["getUser", "-b", &addr, "-u", "ours_u1"]),
            same(&["getUser", "-c", CLUSTER, "-u", "apache_u2"]),
            same(&["getUser", "-b", &addr, "-u", "nobody"]),
            same(&["listUser", "-b", &addr]),
            same(&["listUser", "-c", CLUSTER]),
            same(&["listUser", "-b", &addr, "-f", "u2"]),
        ],
    );
    expect_same(
        &env,
        "update users",
        &[
            twin(&["updateUser", "-b", &addr, "-u", "{who}_u1", "-s", "disable"]),
            twin(&[
                "updateUser",
                "-c",
                CLUSTER,
                "-u",
                "{who}_u2",
                "-t",
                "Normal",
            ]),
        ],
    );
    expect_same(
        &env,
        "update users again",
        &[twin(&[
            "updateUser",
            "-b",
            &addr,
            "-u",
            "{who}_u2",
            "-p",
            "secret-3",
        ])],
    );
    expect_same(
        &env,
        "read updated users",
        &[
            same(&["listUser", "-b", &addr, "-f", "_u"]),
            same(&["getUser", "-c", CLUSTER, "-u", "ours_u2"]),
        ],
    );
    eprintln!("users done after {:.1?}", started.elapsed());

    // ACLs: created, read, updated, deleted entry by entry.
    expect_same(
        &env,
        "create acls",
        &[
            twin(&[
                "createAcl",
                "-b",
                &addr,
                "-s",
                "User:{who}_u1",
                "-r",
                "Topic:orders, Group:billing",
                "-a",
                "Pub,Sub",
                "-d",
                "Allow",
            ]),
            twin(&[
                "createAcl",
                "-c",
                CLUSTER,
                "-s",
                "User:{who}_u2",
                "-r",
                "Topic:audit*",
                "-a",
                "Sub",
                "-i",
                "127.0.0.1,10.0.0.0/8",
                "-d",
                "Deny",
            ]),
        ],
    );
    expect_same(
        &env,
        "read acls",
        &[
            same(&["getAcl", "-b", &addr, "-s", "User:ours_u1"]),
            same(&["getAcl", "-c", CLUSTER, "-s", "User:apache_u2"]),
            same(&["listAcl", "-b", &addr]),
            same(&["listAcl", "-c", CLUSTER, "-s", "u1"]),
            same(&["listAcl", "-b", &addr, "-r", "audit"]),
        ],
    );
    expect_same(
        &env,
        "update acls",
        &[twin(&[
            "updateAcl",
            "-b",
            &addr,
            "-s",
            "User:{who}_u1",
            "-r",
            "Topic:orders,Topic:refunds",
            "-a",
            "Pub",
            "-d",
            "Deny",
            "-i",
            "192.168.0.0/16",
        ])],
    );
    expect_same(
        &env,
        "delete an acl entry",
        &[twin(&[
            "deleteAcl",
            "-c",
            CLUSTER,
            "-s",
            "User:{who}_u1",
            "-r",
            "Group:billing",
        ])],
    );
    expect_same(
        &env,
        "read changed acls",
        &[
            same(&["getAcl", "-b", &addr, "-s", "User:apache_u1"]),
            same(&["listAcl", "-c", CLUSTER]),
        ],
    );
    // One after the other: Apache's broker refuses an ACL change of a user that is gone.
    expect_same(
        &env,
        "delete an acl",
        &[twin(&["deleteAcl", "-b", &addr, "-s", "User:{who}_u2"])],
    );
    expect_same(
        &env,
        "delete a user",
        &[twin(&["deleteUser", "-c", CLUSTER, "-u", "{who}_u2"])],
    );
    expect_same(
        &env,
        "read what is left",
        &[
            same(&["listAcl", "-b", &addr]),
            same(&["listUser", "-b", &addr]),
        ],
    );
    eprintln!("acls done after {:.1?}", started.elapsed());

    // A refusal: both show the broker's remark; ours exits 1 with `<addr> <code> <remark>`
    // (NO_PERMISSION, 16, for every auth failure of Apache's broker).
    let dup: Vec<String> = ["createUser", "-b", &addr, "-u", "ours_u1", "-p", "x-secret"]
        .map(str::to_owned)
        .to_vec();
    let (o, a) = (
        ours(Some(home.path()), &ns, &dup),
        apache(home.path(), &ns, &dup),
    );
    assert!(apache_failed(&a), "{}", a.output);
    assert!(a.output.contains("The user is existed"), "{}", a.output);
    assert_eq!(o.status.and_then(|s| s.code()), Some(1), "{}", o.output);
    assert!(
        o.output.contains(&format!("mqadmin: {addr} 16 "))
            && o.output.contains("The user is existed"),
        "{}",
        o.output
    );
    // Without credentials the broker refuses ours, as it refuses Apache's.
    let list: Vec<String> = ["listUser", "-b", &addr].map(str::to_owned).to_vec();
    let o = ours(None, &ns, &list);
    assert_eq!(o.status.and_then(|s| s.code()), Some(1), "{}", o.output);
    assert!(
        o.output
            .contains(&format!("mqadmin: {addr} 16 username cannot be null")),
        "{}",
        o.output
    );
    // The flags instead of tools.yml.
    let mut flagged = list.clone();
    flagged.extend(["--accessKey", ROOT.0, "--secretKey", ROOT.1].map(str::to_owned));
    let o = ours(None, &ns, &flagged);
    o.assert_success();
    assert!(o.output.contains("ours_u1"), "{}", o.output);
    eprintln!("done after {:.1?}", started.elapsed());
}
