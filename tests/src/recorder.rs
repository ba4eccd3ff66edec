//! `tests/compat/recorder/recorder.py`: a fake name server + broker that records the raw frames
//! official clients and brokers send (golden vectors for `protocol/tests/vectors/`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::artifacts::compat_dir;
use crate::net::{free_port, port_accepts, wait_until};
use crate::process::{run_bounded, ChildGuard, ProgramRun, TAIL_LINES};

/// The recorder script.
pub fn script() -> PathBuf {
    compat_dir().join("recorder/recorder.py")
}

/// A running `recorder.py serve` on a free port of 127.0.0.1. Killed on drop.
#[derive(Debug)]
pub struct Recorder {
    child: ChildGuard,
    addr: String,
}

impl Recorder {
    /// Starts the recorder writing `<outdir>/<label>-<NN>-<CODE_NAME>.bin` for each received
    /// frame, and waits until it accepts connections. Its own output goes to
    /// `<outdir>/<label>-recorder.log`.
    pub fn start(outdir: &Path, label: &str) -> Self {
        let port = free_port();
        let mut cmd = Command::new("python3");
        cmd.arg(script())
            .args([
                "serve",
                "--port",
                &port.to_string(),
                "--label",
                label,
                "--outdir",
            ])
            .arg(outdir);
        let log = outdir.join(format!("{label}-recorder.log"));
        let mut child = ChildGuard::spawn(&format!("recorder {label}"), cmd, &log)
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = format!("127.0.0.1:{port}");
        if let Err(e) = wait_until(
            &format!("recorder on {addr}"),
            Duration::from_secs(30),
            || {
                child.ensure_running()?;
                Ok(port_accepts(&addr))
            },
        ) {
            panic!("{e}\n{}", child.log_tail(TAIL_LINES));
        }
        Self { child, addr }
    }

    /// `"127.0.0.1:port"`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The process guard (e.g. to read the recorder's own log).
    pub fn child(&self) -> &ChildGuard {
        &self.child
    }
}

/// `recorder.py query`: asks the name server at `namesrv` for the `TBW102` route with request
/// versions 317 and 479 and for the cluster info, and (if given) replays a recorded
/// `REGISTER_BROKER` frame, writing the raw responses to `outdir`.
pub fn query_namesrv(namesrv: &str, outdir: &Path, register_frame: Option<&Path>) -> ProgramRun {
    let mut cmd = Command::new("python3");
    cmd.arg(script())
        .args([
            "query",
            "--namesrv",
            namesrv,
            "--topic",
            "TBW102",
            "--outdir",
        ])
        .arg(outdir);
    if let Some(frame) = register_frame {
        cmd.arg("--register-frame").arg(frame);
    }
    run_bounded(
        "recorder query",
        cmd,
        &outdir.join("query.log"),
        Duration::from_secs(90),
    )
    .unwrap_or_else(|e| panic!("cannot run recorder query: {e}"))
}
