//! The servers' Prometheus endpoint: `GET /metrics` answers the text a render function
//! returns.
//!
//! A minimal HTTP/1.1 server for one resource, built for scrapers and safe against anything
//! else that connects: a request head larger than 8 KiB or slower than 5 s is dropped, at most
//! 16 connections are served at once, and every answer closes its connection.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Renders the scrape (Prometheus text format).
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// Largest request head read.
const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once.
const MAX_CONNECTIONS: usize = 16;

/// Serves scrapes on `listener` until `stop` completes.
pub fn spawn(
    listener: TcpListener,
    render: Render,
    stop: impl Future<Output = ()> + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        tokio::pin!(stop);
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut stop => return,
            };
            let Ok((stream, _)) = accepted else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            // Over the limit the connection is closed unanswered.
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                continue;
            };
            let render = render.clone();
            tokio::spawn(async move {
                let _ = serve(&render, stream).await;
                drop(slot);
            });
        }
    })
}

/// Answers one request and closes.
async fn serve(render: &Render, mut stream: TcpStream) -> std::io::Result<()> {
    let Some(head) = read_head(&mut stream).await else {
        return respond(&mut stream, "400 Bad Request", "bad request\n").await;
    };
    let request_line = head.lines().next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next(), parts.next());
    let path = target.map(|t| t.split('?').next().unwrap_or(t));
    match (method, path) {
        (Some("GET"), Some("/metrics")) => {
            let body = render();
            respond(&mut stream, "200 OK", &body).await
        }
        (Some("GET"), _) => {
            respond(&mut stream, "404 Not Found", "not found: try /metrics\n").await
        }
        _ => respond(&mut stream, "405 Method Not Allowed", "GET only\n").await,
    }
}

/// The request head (up to the blank line), or `None` when it is too large, too slow, not
/// text or cut short.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let read = async {
        let mut chunk = [0u8; 1024];
        loop {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                buf.truncate(end);
                return String::from_utf8(std::mem::take(&mut buf)).ok();
            }
            if buf.len() > MAX_HEAD {
                return None;
            }
        }
    };
    tokio::time::timeout(HEAD_TIMEOUT, read)
        .await
        .ok()
        .flatten()
}

async fn respond(stream: &mut TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}
