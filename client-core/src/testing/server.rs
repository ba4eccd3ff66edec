//! A server process with numbered logs, polling with a deadline, and the name server's
//! cluster table over a blocking socket.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferromq_protocol::body::ClusterInfo;
use ferromq_protocol::frame::{self, FrameDecoder};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};

use super::{io_err, Result, POLL, REQUEST_TIMEOUT, TAIL_LINES};

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A server process (or none yet), its directory and its numbered logs.
#[derive(Debug)]
pub(super) struct Server {
    name: String,
    pub(super) dir: PathBuf,
    pub(super) starts: u32,
    child: Option<Child>,
    exited: Option<ExitStatus>,
    pub(super) log: PathBuf,
}

impl Server {
    pub(super) fn new(name: &str, dir: PathBuf) -> Self {
        Self {
            name: name.to_owned(),
            log: dir.join("none.log"),
            dir,
            starts: 0,
            child: None,
            exited: None,
        }
    }

    /// Spawns `cmd` (after killing any previous process), its output in `<n>.log`.
    pub(super) fn spawn(&mut self, mut cmd: Command) -> Result<()> {
        self.kill();
        self.starts += 1;
        self.log = self.dir.join(format!("{}.log", self.starts));
        let out =
            File::create(&self.log).map_err(io_err(format!("create {}", self.log.display())))?;
        let err = out.try_clone().map_err(io_err("clone a log handle"))?;
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .map_err(io_err(format!("start {} ({cmd:?})", self.name)))?;
        self.child = Some(child);
        self.exited = None;
        Ok(())
    }

    pub(super) fn ensure_running(&mut self) -> std::result::Result<(), String> {
        let Some(child) = self.child.as_mut() else {
            return Err(format!("{} is not running", self.name));
        };
        if self.exited.is_none() {
            if let Ok(Some(status)) = child.try_wait() {
                self.exited = Some(status);
            }
        }
        match self.exited {
            None => Ok(()),
            Some(status) => Err(format!("{} exited with {status}", self.name)),
        }
    }

    pub(super) fn log_text(&self) -> String {
        fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    pub(super) fn log_contains(&self, needle: &str) -> bool {
        self.log_text().contains(needle)
    }

    pub(super) fn log_tail(&self) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        format!(
            "--- {} ({}) ---\n{}",
            self.name,
            self.log.display(),
            lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
        )
    }

    /// Whether the process exited because it could not listen on its port.
    pub(super) fn bind_failed(&mut self) -> bool {
        self.ensure_running().is_err()
            && self
                .log_text()
                .lines()
                .any(|l| l.contains("cannot listen") || l.contains("Address already in use"))
    }

    pub(super) fn kill(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if self.exited.is_none() {
                let _ = child.kill();
                if let Ok(status) = child.wait() {
                    self.exited = Some(status);
                }
            }
        }
    }

    /// `SIGTERM` through `kill(1)` (std sends no other signal than SIGKILL), waits up to
    /// `timeout` for the exit, then `SIGKILL`; at once when `kill(1)` cannot be run. Returns
    /// the exit status when the process ended on its own within `timeout` (or had already
    /// ended), `None` when it had to be killed.
    pub(super) fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.ensure_running().is_err() {
            return self.exited;
        }
        let signalled = self.child.as_ref().is_some_and(|child| {
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        let mut ended = None;
        if signalled {
            let deadline = Instant::now() + timeout;
            if wait_until(deadline, || Ok(self.ensure_running().is_err())).is_ok() {
                ended = self.exited;
            }
        }
        self.kill();
        ended
    }
}

/// Polls `check` until it returns `Ok(true)`; an error at once when it returns one, or a timeout
/// error at the deadline.
pub(super) fn wait_until(
    deadline: Instant,
    mut check: impl FnMut() -> std::result::Result<bool, String>,
) -> std::result::Result<(), String> {
    loop {
        if check()? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err("timed out".to_owned());
        }
        std::thread::sleep(POLL);
    }
}

pub(super) fn port_accepts(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .is_ok_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok())
}

/// `GET_BROKER_CLUSTER_INFO` over a blocking socket.
pub(super) fn cluster_info(namesrv: &str) -> std::result::Result<ClusterInfo, String> {
    let addr: SocketAddr = namesrv.parse().map_err(|e| format!("{namesrv}: {e}"))?;
    let mut stream = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT)
        .map_err(|e| format!("connect {namesrv}: {e}"))?;
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let request = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO).with_opaque(1);
    let bytes = frame::encode_to_bytes(&request, SerializeType::Json).map_err(|e| e.to_string())?;
    stream.write_all(&bytes).map_err(|e| format!("send: {e}"))?;
    let decoder = FrameDecoder::default();
    let mut buf = BytesMut::with_capacity(4096);
    let response = loop {
        if let Some(cmd) = decoder.decode(&mut buf).map_err(|e| e.to_string())? {
            break cmd;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed before the answer".to_owned());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if response.response_code() != ResponseCode::SUCCESS {
        return Err(format!(
            "GET_BROKER_CLUSTER_INFO answered {:?} {:?}",
            response.response_code(),
            response.remark
        ));
    }
    ClusterInfo::decode(&response.body).map_err(|e| e.to_string())
}
