//! Child processes that are always stopped: [`ChildGuard`] and bounded program runs.

use std::fs::{self, File};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::net::POLL_INTERVAL;

/// How many lines of a log [`ChildGuard::log_tail`] returns by default in panic messages.
pub const TAIL_LINES: usize = 60;

/// A spawned child process that runs in its own process group, with stdout and stderr written to
/// a log file. Dropping the guard kills the whole group with `SIGKILL` and reaps the child, so
/// nothing outlives a test, even when it panics.
#[derive(Debug)]
pub struct ChildGuard {
    name: String,
    child: Child,
    log: PathBuf,
    exited: Option<ExitStatus>,
}

impl ChildGuard {
    /// Spawns `cmd` as the leader of a new process group, stdin closed, stdout and stderr
    /// appended to `log`. `name` is used in messages.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> io::Result<Self> {
        let out = File::options().create(true).append(true).open(log)?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = cmd
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("spawn {name} ({cmd:?}): {e}")))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
            exited: None,
        })
    }

    /// The name given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The child's process id (also its process group id).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The file that receives the child's stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of the child's output.
    pub fn log_tail(&self, lines: usize) -> String {
        tail_of_file(&self.log, lines)
    }

    /// `Some(status)` once the child has exited (it is reaped then), `None` while it runs.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exited = Some(status);
            }
        }
        self.exited
    }

    /// `Ok(())` while the child runs; an error with its exit status and output tail otherwise.
    /// Meant for [`crate::net::wait_until`] conditions of servers.
    pub fn ensure_running(&mut self) -> Result<(), String> {
        match self.try_status() {
            None => Ok(()),
            Some(status) => Err(format!(
                "{} exited early with {status}; last output ({}):\n{}",
                self.name,
                self.log.display(),
                self.log_tail(TAIL_LINES)
            )),
        }
    }

    /// Waits up to `timeout` for the child to exit; `None` if it is still running then.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Asks the child to stop (`SIGTERM` to the child itself, so a JVM runs its shutdown hooks)
    /// and waits up to `timeout` for it to exit. Returns its exit status, or `None` if it is still
    /// running at the deadline (it is left running; [`ChildGuard::kill`] or dropping the guard
    /// stops it). Returns the status at once if the child has already exited.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.try_status() {
            return Some(status);
        }
        if let Some(pid) = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            // ESRCH means it exited meanwhile; the wait below reaps it.
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        self.wait_timeout(timeout)
    }

    /// Kills the child's process group (`SIGKILL`) and reaps the child. Idempotent.
    pub fn kill(&mut self) {
        if self.exited.is_some() {
            return;
        }
        if let Some(pid) = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            // The group may already be gone (ESRCH); nothing else can be done about errors here.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
        if let Ok(status) = self.child.wait() {
            self.exited = Some(status);
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `lines` lines of a text file (lossy UTF-8), or a note when it cannot be read.
pub fn tail_of_file(path: &Path, lines: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => tail_of_text(&String::from_utf8_lossy(&bytes), lines),
        Err(e) => format!("<cannot read {}: {e}>", path.display()),
    }
}

/// The last `lines` lines of `text`.
pub fn tail_of_text(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The result of running a program to completion with [`run_bounded`].
#[derive(Debug)]
pub struct ProgramRun {
    /// What ran, for messages.
    pub name: String,
    /// Exit status; `None` when the program was killed at the timeout.
    pub status: Option<ExitStatus>,
    /// Combined stdout and stderr.
    pub output: String,
    /// Wall time until exit or kill.
    pub elapsed: Duration,
}

impl ProgramRun {
    /// Whether the program exited with status 0 before the timeout.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Panics with the exit status (or timeout) and the output tail unless the run succeeded.
    #[track_caller]
    pub fn assert_success(&self) {
        if !self.success() {
            let how = match self.status {
                Some(status) => format!("exited with {status}"),
                None => format!("was killed after {:?} (timeout)", self.elapsed),
            };
            panic!(
                "{} {how}; last output:\n{}",
                self.name,
                tail_of_text(&self.output, TAIL_LINES)
            );
        }
    }
}

/// Runs `cmd` to completion with stdout and stderr captured in `log`, killing its process group
/// if it is still running after `timeout`.
pub fn run_bounded(
    name: &str,
    cmd: Command,
    log: &Path,
    timeout: Duration,
) -> io::Result<ProgramRun> {
    let start = Instant::now();
    let mut guard = ChildGuard::spawn(name, cmd, log)?;
    let status = guard.wait_timeout(timeout);
    guard.kill();
    let elapsed = start.elapsed();
    let output = String::from_utf8_lossy(&fs::read(log)?).into_owned();
    Ok(ProgramRun {
        name: name.to_owned(),
        status,
        output,
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        cmd
    }

    #[test]
    fn bounded_run_captures_output_and_status() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("out.log");
        let run = run_bounded(
            "echo",
            sh("echo hi; echo err >&2; exit 3"),
            &log,
            Duration::from_secs(20),
        )
        .expect("run");
        assert_eq!(run.status.and_then(|s| s.code()), Some(3));
        assert!(!run.success());
        assert!(
            run.output.contains("hi") && run.output.contains("err"),
            "{}",
            run.output
        );
    }

    #[test]
    fn bounded_run_kills_at_timeout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("out.log");
        let run =
            run_bounded("sleeper", sh("sleep 30"), &log, Duration::from_millis(300)).expect("run");
        assert!(run.status.is_none());
        assert!(run.elapsed < Duration::from_secs(10));
    }

    #[test]
    fn terminate_lets_the_child_handle_sigterm() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("out.log");
        // The shell traps TERM, prints and exits 7: a graceful shutdown.
        let mut guard = ChildGuard::spawn(
            "trapper",
            sh("trap 'echo bye; exit 7' TERM; echo ready; while :; do sleep 0.05; done"),
            &log,
        )
        .expect("spawn");
        crate::net::wait_until("trap installed", Duration::from_secs(10), || {
            guard.ensure_running()?;
            Ok(fs::read_to_string(&log).is_ok_and(|s| s.contains("ready")))
        })
        .expect("child started");
        let status = guard
            .terminate(Duration::from_secs(10))
            .expect("exits on SIGTERM");
        assert_eq!(status.code(), Some(7));
        assert!(guard.log_tail(5).contains("bye"));
        // Idempotent once exited.
        assert_eq!(guard.terminate(Duration::ZERO), Some(status));
    }

    #[test]
    fn terminate_times_out_when_sigterm_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("out.log");
        let mut guard = ChildGuard::spawn(
            "stubborn",
            sh("trap '' TERM; echo ready; while :; do sleep 0.05; done"),
            &log,
        )
        .expect("spawn");
        crate::net::wait_until("trap installed", Duration::from_secs(10), || {
            guard.ensure_running()?;
            Ok(fs::read_to_string(&log).is_ok_and(|s| s.contains("ready")))
        })
        .expect("child started");
        assert!(guard.terminate(Duration::from_millis(300)).is_none());
        guard.kill();
        assert!(guard.try_status().is_some());
    }

    #[test]
    fn dropping_the_guard_kills_the_process_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("out.log");
        // The grandchild writes its pid, then both sleep.
        let mut guard =
            ChildGuard::spawn("tree", sh("sleep 30 & echo $! ; wait"), &log).expect("spawn");
        crate::net::wait_until("grandchild pid", Duration::from_secs(10), || {
            guard.ensure_running()?;
            Ok(fs::read_to_string(&log).is_ok_and(|s| s.trim().parse::<u32>().is_ok()))
        })
        .expect("grandchild started");
        let grandchild: u32 = fs::read_to_string(&log)
            .expect("log")
            .trim()
            .parse()
            .expect("pid");
        drop(guard);
        crate::net::wait_until("grandchild to die", Duration::from_secs(10), || {
            // A killed grandchild is reparented and reaped by init; until then it is a zombie.
            let stat = fs::read_to_string(format!("/proc/{grandchild}/stat")).unwrap_or_default();
            Ok(stat.is_empty() || stat.contains(") Z "))
        })
        .expect("grandchild killed with the group");
    }
}
