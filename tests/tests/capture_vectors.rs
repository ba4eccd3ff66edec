//! Re-creates the golden frames in `protocol/tests/vectors/` from the official clients and a
//! real Apache broker/name server. A developer tool (`scripts/capture-vectors.sh`), ignored in
//! normal runs:
//!
//! ```text
//! cargo test -p ferromq-tests --test capture_vectors -- --ignored --nocapture
//! ```
//!
//! Raw recordings go to `tests/compat/.cache/capture/`; the curated set is copied to
//! `$FERROMQ_VECTORS_DIR` (default `protocol/tests/vectors/`).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferromq_tests::artifacts::cache_dir;
use ferromq_tests::clients::{go_capture, java_capture};
use ferromq_tests::net::wait_until;
use ferromq_tests::recorder::{query_namesrv, Recorder};
use ferromq_tests::remoting::decode_frame;
use ferromq_tests::{require_tools, ApacheBroker, ApacheNamesrv, BrokerOptions};

const CONSUME_WINDOW: Duration = Duration::from_secs(3);

fn raw_files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read capture dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.starts_with(prefix) && name.ends_with(".bin")
        })
        .collect();
    files.sort();
    files
}

/// The first recorded frame of `label` whose code is `code` and whose body satisfies `body_ok`.
fn pick(dir: &Path, label: &str, code: i64, body_ok: impl Fn(&str) -> bool) -> PathBuf {
    raw_files(dir, &format!("{label}-"))
        .into_iter()
        .find(|path| {
            let frame = fs::read(path).expect("read frame");
            decode_frame(&frame).is_ok_and(|r| r.code == code && body_ok(&r.body_text()))
        })
        .unwrap_or_else(|| panic!("no {label} frame with code {code} in {}", dir.display()))
}

fn any(_: &str) -> bool {
    true
}

fn consumer_heartbeat(body: &str) -> bool {
    body.contains("\"subscriptionDataSet\":[{")
}

#[test]
#[ignore = "developer tool: regenerates protocol/tests/vectors (scripts/capture-vectors.sh)"]
fn capture_golden_vectors() {
    if !require_tools("capture_vectors", &["java", "mvn", "go", "python3"]) {
        return;
    }
    let raw = cache_dir().join("capture");
    let _ = fs::remove_dir_all(&raw);
    fs::create_dir_all(&raw).expect("create capture dir");

    {
        let rec = Recorder::start(&raw, "java");
        java_capture(rec.addr(), "CaptureTopic", CONSUME_WINDOW).assert_success();
    }
    {
        let rec = Recorder::start(&raw, "go");
        go_capture(rec.addr(), "CaptureTopic", CONSUME_WINDOW).assert_success();
    }
    {
        let namesrv = ApacheNamesrv::start();
        let rec = Recorder::start(&raw, "broker");
        let both = format!("{};{}", rec.addr(), namesrv.addr());
        let mut broker = ApacheBroker::start(&both, BrokerOptions::default());
        broker.wait_registered(namesrv.addr(), Duration::from_secs(60));
        wait_until(
            "REGISTER_BROKER at the recorder",
            Duration::from_secs(60),
            || {
                Ok(raw_files(&raw, "broker-")
                    .iter()
                    .any(|p| p.to_string_lossy().contains("REGISTER_BROKER")))
            },
        )
        .unwrap_or_else(|e| panic!("{e}\n{}", broker.log_tail()));
        let register = pick(&raw, "broker", 103, any);
        query_namesrv(namesrv.addr(), &raw, Some(&register)).assert_success();
    }

    let out = std::env::var_os("FERROMQ_VECTORS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol/tests/vectors"));
    fs::create_dir_all(&out).expect("create vectors dir");
    let picks = [
        ("java-5.3.3-get-route.bin", pick(&raw, "java", 105, any)),
        ("java-5.3.3-send-v2.bin", pick(&raw, "java", 310, any)),
        ("java-5.3.3-send-batch.bin", pick(&raw, "java", 320, any)),
        (
            "java-5.3.3-heartbeat.bin",
            pick(&raw, "java", 34, consumer_heartbeat),
        ),
        ("java-5.3.3-pull.bin", pick(&raw, "java", 11, any)),
        ("go-2.1.2-get-route.bin", pick(&raw, "go", 105, any)),
        ("go-2.1.2-send-v1.bin", pick(&raw, "go", 10, any)),
        (
            "go-2.1.2-heartbeat.bin",
            pick(&raw, "go", 34, consumer_heartbeat),
        ),
        ("go-2.1.2-pull.bin", pick(&raw, "go", 11, any)),
        ("broker-5.3.3-register.bin", pick(&raw, "broker", 103, any)),
        (
            "apache-namesrv-5.3.3-route-v317.bin",
            raw.join("apache-namesrv-route-v317.bin"),
        ),
        (
            "apache-namesrv-5.3.3-route-v479.bin",
            raw.join("apache-namesrv-route-v479.bin"),
        ),
        (
            "apache-namesrv-5.3.3-cluster-info.bin",
            raw.join("apache-namesrv-cluster-info.bin"),
        ),
        (
            "apache-namesrv-5.3.3-register-response.bin",
            raw.join("apache-namesrv-register-response.bin"),
        ),
    ];
    for (name, src) in picks {
        let frame = fs::read(&src).unwrap_or_else(|e| panic!("read {}: {e}", src.display()));
        let decoded = decode_frame(&frame).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        fs::write(out.join(name), &frame).expect("write vector");
        eprintln!(
            "{name}: code {} ({} bytes) <- {}",
            decoded.code,
            frame.len(),
            src.display()
        );
    }
}
