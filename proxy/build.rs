//! Builds the gRPC code of `apache.rocketmq.v2` from Apache's published `.proto` files.
//!
//! The protos are not copied into this repository (docs/grpc.md, "Where the API definitions come
//! from"): they come from the npm package `rocketmq-client-nodejs@1.0.8`, which ships
//! `proto/apache/rocketmq/v2/{definition,service,admin}.proto`. `npm pack` fetches it through the
//! user's own npm configuration (registry, proxy, cache). An offline builder points
//! `FERROMQ_PROTO_DIR` at a directory holding `apache/rocketmq/v2/*.proto` instead. Either way
//! each file's SHA-256 must match the hash pinned below, so a changed package cannot silently
//! change the wire API. `protox` (pure Rust) compiles them; no `protoc` is needed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const PACKAGE: &str = "rocketmq-client-nodejs@1.0.8";
const TARBALL: &str = "rocketmq-client-nodejs-1.0.8.tgz";
const ENV_DIR: &str = "FERROMQ_PROTO_DIR";

/// The three files and their SHA-256 in `rocketmq-client-nodejs@1.0.8`.
const PROTOS: [(&str, &str); 3] = [
    (
        "apache/rocketmq/v2/definition.proto",
        "3c95946d758cb0b321d5810a60de43224e6709529af329de1d46be6c76690bf9",
    ),
    (
        "apache/rocketmq/v2/service.proto",
        "414f26ecb211ee2e817ed4dda39dd7aadc100789b93cb89b58ed6c45dc5f74ec",
    ),
    (
        "apache/rocketmq/v2/admin.proto",
        "90eebffaa6be4050b6677257f68ddba962592fc0245ee4ecb3b098a44e82e7d8",
    ),
];

type BoxError = Box<dyn std::error::Error>;

fn main() -> Result<(), BoxError> {
    println!("cargo:rerun-if-env-changed={ENV_DIR}");
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let root = match std::env::var_os(ENV_DIR) {
        Some(dir) => PathBuf::from(dir),
        None => fetch_package(&out)?,
    };
    for (file, want) in PROTOS {
        let path = root.join(file);
        let bytes = fs::read(&path).map_err(|e| {
            format!(
                "cannot read {}: {e}; set {ENV_DIR} to a directory holding apache/rocketmq/v2/*.proto \
                 from {PACKAGE}",
                path.display()
            )
        })?;
        let got = hex(&Sha256::digest(&bytes));
        if got != want {
            return Err(format!(
                "{} has SHA-256 {got}, expected {want} (the file of {PACKAGE}); \
                 the API definitions changed. Point {ENV_DIR} at the files of {PACKAGE}",
                path.display()
            )
            .into());
        }
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let files: Vec<&str> = PROTOS.iter().map(|(f, _)| *f).collect();
    let descriptors = protox::compile(&files, [&root])?;
    tonic_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}

/// Runs `npm pack` into `out` (once) and unpacks the three protos; returns their root.
fn fetch_package(out: &Path) -> Result<PathBuf, BoxError> {
    let root = out.join("npm-proto");
    let tarball = out.join(TARBALL);
    if !tarball.exists() {
        let status = Command::new("npm")
            .args(["pack", PACKAGE, "--silent", "--pack-destination"])
            .arg(out)
            .status()
            .map_err(|e| {
                format!("cannot run `npm pack {PACKAGE}` ({e}); install npm or set {ENV_DIR}")
            })?;
        if !status.success() || !tarball.exists() {
            return Err(format!(
                "`npm pack {PACKAGE}` failed ({status}); check the npm registry or set {ENV_DIR}"
            )
            .into());
        }
    }
    let gz = flate2::read::GzDecoder::new(fs::File::open(&tarball)?);
    let mut archive = tar::Archive::new(gz);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        for (file, _) in PROTOS {
            if name == format!("package/proto/{file}") {
                let dest = root.join(file);
                if let Some(parent) = dest.parent() {
                    fs::create_dir_all(parent)?;
                }
                entry.unpack(&dest)?;
            }
        }
    }
    Ok(root)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
