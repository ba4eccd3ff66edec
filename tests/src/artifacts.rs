//! The Apache jars and the official-client programs under `tests/compat/`, built once per run.
//!
//! One Maven run (`tests/compat/pom.xml`) resolves the Apache name server + broker jars
//! (`apache/target/dependency`), compiles the Java client programs against `rocketmq-client` 5.3.3
//! only (`java/target/classes` + `java/target/dependency`) and `ProduceConsume` again against
//! `rocketmq-client` 4.9.8 (`java49/target/...`), the gRPC programs against the 5.x SDK
//! `rocketmq-client-java` (`grpc-java/target/...`) and resolves Apache's proxy
//! (`proxy/target/dependency`). It is skipped when a stamp in
//! `tests/compat/.cache/` shows the poms and sources unchanged since the last successful build.
//! The Go program is built with `go build` into `tests/compat/.cache/go/` (Go's build cache makes
//! repeated builds cheap). A file lock serialises builds across test processes.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::process::{run_bounded, tail_of_text, TAIL_LINES};

/// Upper bound for one Maven or Go build (a cold Maven cache downloads ~150 jars).
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// `tests/compat/`.
pub fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("compat")
}

/// `tests/compat/.cache/` (git-ignored), created on demand.
pub fn cache_dir() -> PathBuf {
    let dir = compat_dir().join(".cache");
    fs::create_dir_all(&dir).expect("create tests/compat/.cache");
    dir
}

/// Holds an exclusive lock on a file in the cache dir for the guard's lifetime.
#[derive(Debug)]
struct CacheLock(File);

impl CacheLock {
    fn acquire(name: &str) -> Self {
        let path = cache_dir().join(name);
        let file = File::create(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        file.lock()
            .unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
        Self(file)
    }
}

impl Drop for CacheLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Classpaths produced by the Maven build.
#[derive(Debug)]
pub struct JavaArtifacts {
    /// Java client programs + `rocketmq-client` 5.3.3 and its dependencies.
    pub client_classpath: String,
    /// `ProduceConsume` + `rocketmq-client` 4.9.8 and its dependencies.
    pub client49_classpath: String,
    /// Apache RocketMQ 5.3.3 name server + broker and their dependencies.
    pub server_classpath: String,
    /// Apache RocketMQ 5.3.3 `mqadmin` (`rocketmq-tools`) and its dependencies, after the
    /// compat classes (for [`crate::mqadmin::MQADMIN_MAIN`]).
    pub tools_classpath: String,
    /// Apache RocketMQ 4.9.8 `mqadmin` (the ACL 1.0 commands) and its dependencies, after the
    /// compat classes.
    pub tools49_classpath: String,
    /// The gRPC programs (`tests/compat/grpc-java`) + `rocketmq-client-java` (the 5.x SDK).
    pub grpc_client_classpath: String,
    /// Apache RocketMQ 5.3.3 proxy (`rocketmq-proxy`, the broker included, for local mode).
    pub proxy_classpath: String,
}

impl JavaArtifacts {
    /// Builds (at most once per process, and only when inputs changed) and returns the
    /// classpaths. Panics with Maven's output if the build fails.
    pub fn get() -> &'static JavaArtifacts {
        static ARTIFACTS: OnceLock<JavaArtifacts> = OnceLock::new();
        ARTIFACTS.get_or_init(build_java)
    }
}

fn build_java() -> JavaArtifacts {
    let compat = compat_dir();
    let _lock = CacheLock::acquire("maven.lock");
    let client_classes = compat.join("java/target/classes");
    let client_deps = compat.join("java/target/dependency");
    let client49_classes = compat.join("java49/target/classes");
    let client49_deps = compat.join("java49/target/dependency");
    let server_deps = compat.join("apache/target/dependency");
    let tools_deps = compat.join("tools/target/dependency");
    let tools49_deps = compat.join("tools49/target/dependency");
    let grpc_classes = compat.join("grpc-java/target/classes");
    let grpc_deps = compat.join("grpc-java/target/dependency");
    let proxy_deps = compat.join("proxy/target/dependency");
    let stamp_path = cache_dir().join("maven.stamp");
    let fingerprint = format!("{:016x}", fingerprint_java_inputs(&compat));
    let up_to_date = fs::read_to_string(&stamp_path).is_ok_and(|s| s.trim() == fingerprint)
        && client_classes
            .join("org/ferromq/compat/ProduceConsume.class")
            .is_file()
        && client49_classes
            .join("org/ferromq/compat/ProduceConsume.class")
            .is_file()
        && has_jar(&client_deps, "rocketmq-client-")
        && has_jar(&client49_deps, "rocketmq-client-4.9.8")
        && has_jar(&server_deps, "rocketmq-broker-")
        && has_jar(&tools_deps, "rocketmq-tools-")
        && has_jar(&tools49_deps, "rocketmq-tools-4.9.8")
        && grpc_classes
            .join("org/ferromq/grpc/GrpcScenarios.class")
            .is_file()
        && has_jar(&grpc_deps, "rocketmq-client-java-")
        && has_jar(&proxy_deps, "rocketmq-proxy-");
    if !up_to_date {
        let _ = fs::remove_file(&stamp_path);
        let mut cmd = Command::new("mvn");
        cmd.args(["-q", "-B", "-f"])
            .arg(compat.join("pom.xml"))
            .args([
                "compile",
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
            ]);
        let log = cache_dir().join("maven.log");
        let _ = fs::remove_file(&log);
        eprintln!("building Java compat programs and fetching Apache RocketMQ jars (Maven)...");
        let run = run_bounded("mvn (tests/compat/pom.xml)", cmd, &log, BUILD_TIMEOUT)
            .unwrap_or_else(|e| panic!("cannot run mvn: {e}"));
        run.assert_success();
        eprintln!("Maven build done in {:.1?}", run.elapsed);
        fs::write(&stamp_path, &fingerprint).expect("write maven.stamp");
    }
    JavaArtifacts {
        client_classpath: format!("{}:{}/*", client_classes.display(), client_deps.display()),
        client49_classpath: format!(
            "{}:{}/*",
            client49_classes.display(),
            client49_deps.display()
        ),
        server_classpath: format!("{}/*", server_deps.display()),
        tools_classpath: format!("{}:{}/*", client_classes.display(), tools_deps.display()),
        tools49_classpath: format!("{}:{}/*", client_classes.display(), tools49_deps.display()),
        grpc_client_classpath: format!("{}:{}/*", grpc_classes.display(), grpc_deps.display()),
        proxy_classpath: format!("{}/*", proxy_deps.display()),
    }
}

fn has_jar(dir: &Path, prefix: &str) -> bool {
    fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(prefix))
    })
}

/// FNV-1a over the paths and contents of every pom and Java source (sorted).
fn fingerprint_java_inputs(compat: &Path) -> u64 {
    let mut files = vec![
        compat.join("pom.xml"),
        compat.join("java/pom.xml"),
        compat.join("java49/pom.xml"),
        compat.join("apache/pom.xml"),
        compat.join("tools/pom.xml"),
        compat.join("tools49/pom.xml"),
        compat.join("grpc-java/pom.xml"),
        compat.join("proxy/pom.xml"),
    ];
    collect_files(&compat.join("java/src"), &mut files);
    collect_files(&compat.join("grpc-java/src"), &mut files);
    files.sort();
    let mut hash = Fnv::new();
    for file in files {
        hash.write(file.to_string_lossy().as_bytes());
        hash.write(&fs::read(&file).unwrap_or_default());
    }
    hash.0
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[derive(Debug)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        // Separator so ("ab","c") and ("a","bc") differ.
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3) ^ 0xff;
    }
}

/// A Go client program: `tests/compat/go` (`rocketmq-client-go/v2` v2.1.2, remoting) or
/// `tests/compat/go-grpc` (`rocketmq-clients/golang/v5`, the 5.x gRPC SDK).
#[derive(Debug)]
pub struct GoProgram {
    /// Path of the built binary.
    pub binary: PathBuf,
}

impl GoProgram {
    /// Builds `tests/compat/go` once per process (`go build`, module cache and build cache make
    /// this fast after the first time). Panics with the compiler output if the build fails.
    pub fn get() -> &'static GoProgram {
        static PROGRAM: OnceLock<GoProgram> = OnceLock::new();
        PROGRAM.get_or_init(|| build_go("go", "compat-go"))
    }

    /// Builds `tests/compat/go-grpc` (the gRPC SDK program) once per process.
    pub fn grpc() -> &'static GoProgram {
        static PROGRAM: OnceLock<GoProgram> = OnceLock::new();
        PROGRAM.get_or_init(|| build_go("go-grpc", "compat-go-grpc"))
    }
}

/// `go build` of `tests/compat/<dir>` into `tests/compat/.cache/<dir>/<name>`.
fn build_go(dir: &str, name: &str) -> GoProgram {
    let _lock = CacheLock::acquire("go.lock");
    let out_dir = cache_dir().join(dir);
    fs::create_dir_all(&out_dir).unwrap_or_else(|e| panic!("create .cache/{dir}: {e}"));
    let binary = out_dir.join(name);
    let mut cmd = Command::new("go");
    cmd.current_dir(compat_dir().join(dir))
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=readonly")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".");
    let log = out_dir.join("build.log");
    let _ = fs::remove_file(&log);
    let what = format!("go build (tests/compat/{dir})");
    let run = run_bounded(&what, cmd, &log, BUILD_TIMEOUT)
        .unwrap_or_else(|e| panic!("cannot run go: {e}"));
    if !run.success() || !binary.is_file() {
        panic!(
            "go build of tests/compat/{dir} failed ({:?}):\n{}",
            run.status,
            tail_of_text(&run.output, TAIL_LINES)
        );
    }
    GoProgram { binary }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_separates_fields() {
        let mut a = Fnv::new();
        a.write(b"ab");
        a.write(b"c");
        let mut b = Fnv::new();
        b.write(b"a");
        b.write(b"bc");
        assert_ne!(a.0, b.0);
    }

    #[test]
    fn compat_inputs_exist() {
        let compat = compat_dir();
        for f in [
            "pom.xml",
            "java/pom.xml",
            "java49/pom.xml",
            "apache/pom.xml",
            "tools/pom.xml",
            "tools49/pom.xml",
            "grpc-java/pom.xml",
            "proxy/pom.xml",
            "go/go.mod",
            "go/go.sum",
            "go-grpc/go.mod",
            "go-grpc/go.sum",
        ] {
            assert!(compat.join(f).is_file(), "missing tests/compat/{f}");
        }
    }
}
