//! `mqbench pingpong`: this machine's loopback request/response limit, the yardstick of a sync
//! send with one thread (docs/performance.md). One connection over 127.0.0.1, one request in
//! flight: the client writes a frame of `request_len` bytes (a 4-byte length, then filler) and
//! reads the server's frame of `response_len` bytes, again and again. Blocking sockets on two
//! plain threads, TCP_NODELAY, nothing parsed: what is left is the kernel's loopback round trip
//! and two wake-ups, the least any broker's round trip can cost.
//!
//! With `spin`, both ends keep their sockets non-blocking and poll them in a loop instead of
//! sleeping in `recv`: no thread ever parks, so no wake-up is paid. On a virtual machine whose
//! idle processors halt, a blocking round trip costs mostly the two wake-ups (an interrupt to
//! another processor and back), and a server that never parks beats it; the spinning ping-pong
//! is the kernel's own loopback cost and the true ceiling, at the price of two busy cores.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use super::run::{run, StopFlag, Timing};
use super::{Reporter, Stats, Summary};

/// The ping-pong's settings.
#[derive(Debug, Clone, Copy)]
pub struct PingPongBench {
    /// Bytes of each request frame, length prefix included (at least 4).
    pub request_len: usize,
    /// Bytes of each response frame, length prefix included (at least 4).
    pub response_len: usize,
    /// Poll non-blocking sockets instead of sleeping in `recv` (no wake-ups).
    pub spin: bool,
    /// How long and how often.
    pub timing: Timing,
}

fn frame(len: usize) -> Vec<u8> {
    let len = len.max(4);
    let mut f = vec![b'x'; len];
    f[..4].copy_from_slice(&((len - 4) as u32).to_be_bytes());
    f
}

/// Fills `buf` from the socket, polling while it would block (a non-blocking socket) and
/// blocking otherwise; false when the peer closed before the first byte.
fn fill(s: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut done = 0;
    while done < buf.len() {
        match s.read(&mut buf[done..]) {
            Ok(0) if done == 0 => return Ok(false),
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::hint::spin_loop(),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Writes all of `data`, polling while the socket would block.
fn send(s: &mut TcpStream, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        match s.write(data) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::hint::spin_loop(),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads one length-prefixed frame into `buf`; false when the peer closed.
fn read_frame(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut len = [0u8; 4];
    if !fill(s, &mut len)? {
        return Ok(false);
    }
    buf.resize(u32::from_be_bytes(len) as usize, 0);
    if !fill(s, buf)? {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(true)
}

impl PingPongBench {
    /// Runs the ping-pong; its summary's TPS is round trips per second.
    pub async fn run(&self, reporter: &Reporter) -> std::io::Result<Summary> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let response = frame(self.response_len);
        let spin = self.spin;
        let server = std::thread::spawn(move || -> std::io::Result<()> {
            let (mut s, _) = listener.accept()?;
            s.set_nodelay(true)?;
            s.set_nonblocking(spin)?;
            let mut buf = Vec::new();
            while read_frame(&mut s, &mut buf)? {
                send(&mut s, &response)?;
            }
            Ok(())
        });
        let mut client = TcpStream::connect(addr)?;
        client.set_nodelay(true)?;
        client.set_nonblocking(spin)?;
        let request = frame(self.request_len);
        let stats = Arc::new(Stats::default());
        let stop = StopFlag::default();
        let worker = {
            let (stats, stop) = (stats.clone(), stop.clone());
            async move {
                let _ = tokio::task::spawn_blocking(move || {
                    let mut buf = Vec::new();
                    while !stop.is_raised() {
                        let started = Instant::now();
                        let ok = send(&mut client, &request).is_ok()
                            && matches!(read_frame(&mut client, &mut buf), Ok(true));
                        stats.record(ok, 1, started.elapsed());
                        if !ok {
                            break;
                        }
                    }
                    // Closing the client ends the server's loop.
                })
                .await;
            }
        };
        let summary = run(stats, reporter, self.timing, stop, worker).await;
        server
            .join()
            .map_err(|_| std::io::Error::other("the ping-pong server panicked"))??;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn bounce(spin: bool) -> Summary {
        let bench = PingPongBench {
            request_len: 1400,
            response_len: 300,
            spin,
            timing: Timing {
                duration: Duration::from_millis(300),
                interval: Duration::from_secs(10),
                drain: Duration::from_secs(5),
                messages: Some(200),
            },
        };
        bench
            .run(&Reporter::new("pingpong", "round trip", true))
            .await
            .expect("the ping-pong ran")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn both_kinds_of_ping_pong_bounce_whole_frames() {
        for spin in [false, true] {
            let s = bounce(spin).await;
            assert!(s.ok > 0, "spin={spin}: no round trip completed");
            assert_eq!(s.failures, 0, "spin={spin}: a round trip failed");
        }
    }

    #[test]
    fn frames_carry_their_length() {
        let f = frame(10);
        assert_eq!(f.len(), 10);
        assert_eq!(u32::from_be_bytes(f[..4].try_into().expect("4 bytes")), 6);
        assert_eq!(frame(0).len(), 4);
    }
}
