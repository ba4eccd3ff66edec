//! `mqbench pingpong`: this machine's loopback request/response limit, the yardstick of a sync
//! send with one thread (docs/performance.md). One connection over 127.0.0.1, one request in
//! flight: the client writes a frame of `request_len` bytes (a 4-byte length, then filler) and
//! reads the server's frame of `response_len` bytes, again and again. Blocking sockets on two
//! plain threads, TCP_NODELAY, nothing parsed: what is left is the kernel's loopback round trip
//! and two wake-ups, the least any broker's round trip can cost.

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
    /// How long and how often.
    pub timing: Timing,
}

fn frame(len: usize) -> Vec<u8> {
    let len = len.max(4);
    let mut f = vec![b'x'; len];
    f[..4].copy_from_slice(&((len - 4) as u32).to_be_bytes());
    f
}

/// Reads one length-prefixed frame into `buf`; false when the peer closed.
fn read_frame(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut len = [0u8; 4];
    if let Err(e) = s.read_exact(&mut len) {
        return match e.kind() {
            std::io::ErrorKind::UnexpectedEof => Ok(false),
            _ => Err(e),
        };
    }
    buf.resize(u32::from_be_bytes(len) as usize, 0);
    s.read_exact(buf)?;
    Ok(true)
}

impl PingPongBench {
    /// Runs the ping-pong; its summary's TPS is round trips per second.
    pub async fn run(&self, reporter: &Reporter) -> std::io::Result<Summary> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let response = frame(self.response_len);
        let server = std::thread::spawn(move || -> std::io::Result<()> {
            let (mut s, _) = listener.accept()?;
            s.set_nodelay(true)?;
            let mut buf = Vec::new();
            while read_frame(&mut s, &mut buf)? {
                s.write_all(&response)?;
            }
            Ok(())
        });
        let mut client = TcpStream::connect(addr)?;
        client.set_nodelay(true)?;
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
                        let ok = client.write_all(&request).is_ok()
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
