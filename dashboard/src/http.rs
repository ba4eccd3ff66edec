//! The console's HTTP/1.1 server: small, closed after every answer, and careful with what
//! untrusted peers send.
//!
//! Limits: a request head of at most 16 KiB, sent within 10 s; a body of at most 64 KiB (given
//! by `Content-Length`; chunked bodies are refused); at most 32 connections served at once.
//! Every answer carries a strict Content-Security-Policy (scripts and styles from this origin
//! only, no frames), `nosniff` and `no-referrer`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Largest request head (request line and headers).
const MAX_HEAD: usize = 16 * 1024;
/// Largest request body.
pub(crate) const MAX_BODY: usize = 64 * 1024;
/// Time a client has to send its whole request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 32;

const SECURITY_HEADERS: &str = "Content-Security-Policy: default-src 'none'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
frame-ancestors 'none'\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\
X-Frame-Options: DENY\r\n";

/// A parsed request.
#[derive(Debug, Default)]
pub(crate) struct Request {
    /// `GET`, `POST`, ...
    pub(crate) method: String,
    /// The path, percent-decoded, without the query.
    pub(crate) path: String,
    /// The query's pairs, percent-decoded, in order.
    pub(crate) query: Vec<(String, String)>,
    /// Header names in lower case, with their values.
    pub(crate) headers: Vec<(String, String)>,
    /// The body.
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of query parameter `name`.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// A JSON answer.
    pub(crate) fn json(status: u16, value: &serde_json::Value) -> Response {
        Response {
            status,
            content_type: "application/json; charset=utf-8",
            body: value.to_string().into_bytes(),
        }
    }

    /// `{"error": message}` with `status`.
    pub(crate) fn error(status: u16, message: impl Into<String>) -> Response {
        Response::json(status, &serde_json::json!({ "error": message.into() }))
    }

    fn encode(&self) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            411 => "Length Required",
            413 => "Content Too Large",
            415 => "Unsupported Media Type",
            431 => "Request Header Fields Too Large",
            502 => "Bad Gateway",
            _ => "Error",
        };
        let mut out = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
             Cache-Control: no-store\r\nConnection: close\r\n{SECURITY_HEADERS}\r\n",
            self.status,
            self.content_type,
            self.body.len()
        )
        .into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

/// Answers requests with `handler` on `listener` until `stop` completes.
pub(crate) async fn serve<H, F>(
    listener: TcpListener,
    handler: H,
    stop: impl Future<Output = ()> + Send,
) where
    H: Fn(Request, SocketAddr) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send,
{
    let handler = Arc::new(handler);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "dashboard accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let _permit = permit;
            connection(stream, peer, &*handler).await;
        });
    }
}

async fn connection<H, F>(mut stream: TcpStream, peer: SocketAddr, handler: &H)
where
    H: Fn(Request, SocketAddr) -> F,
    F: Future<Output = Response>,
{
    let response = match tokio::time::timeout(REQUEST_TIMEOUT, read_request(&mut stream)).await {
        Err(_) => Response::error(408, "the request took too long"),
        Ok(Err(refusal)) => refusal,
        Ok(Ok(request)) => handler(request, peer).await,
    };
    let _ = tokio::time::timeout(REQUEST_TIMEOUT, stream.write_all(&response.encode())).await;
    let _ = stream.shutdown().await;
}

/// Reads one request, or the answer refusing it.
async fn read_request(stream: &mut TcpStream) -> Result<Request, Response> {
    let mut buf = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(Response::error(431, "request head over 16 KiB"));
        }
        let mut chunk = [0u8; 4096];
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|_| Response::error(400, "read failed"))?;
        if n == 0 {
            return Err(Response::error(400, "connection closed mid-request"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if head_end > MAX_HEAD {
        return Err(Response::error(431, "request head over 16 KiB"));
    }
    let mut request = parse_head(&buf[..head_end])?;
    if request.header("transfer-encoding").is_some() {
        return Err(Response::error(411, "chunked bodies are not accepted"));
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| Response::error(400, "bad Content-Length"))?,
    };
    if length > MAX_BODY {
        return Err(Response::error(413, "request body over 64 KiB"));
    }
    let mut body = buf[head_end + 4..].to_vec();
    body.truncate(length);
    while body.len() < length {
        let mut chunk = vec![0u8; (length - body.len()).min(16 * 1024)];
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|_| Response::error(400, "read failed"))?;
        if n == 0 {
            return Err(Response::error(400, "connection closed mid-body"));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    request.body = body;
    Ok(request)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses the request line and headers.
fn parse_head(head: &[u8]) -> Result<Request, Response> {
    let bad = || Response::error(400, "malformed request head");
    let text = std::str::from_utf8(head).map_err(|_| bad())?;
    let mut lines = text.split("\r\n");
    let mut first = lines.next().ok_or_else(bad)?.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (first.next(), first.next(), first.next(), first.next())
    else {
        return Err(bad());
    };
    if !version.starts_with("HTTP/1.") || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad());
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if !path.starts_with('/') {
        return Err(bad());
    }
    let mut request = Request {
        method: method.to_owned(),
        path: percent_decode(path, false).ok_or_else(bad)?,
        ..Request::default()
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        request.query.push((
            percent_decode(k, true).ok_or_else(bad)?,
            percent_decode(v, true).ok_or_else(bad)?,
        ));
    }
    for line in lines {
        let (name, value) = line.split_once(':').ok_or_else(bad)?;
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(bad());
        }
        request
            .headers
            .push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    Ok(request)
}

/// `%XX` escapes (and `+` as a space in queries); `None` for a bad escape or invalid UTF-8.
pub(crate) fn percent_decode(text: &str, plus_is_space: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse_with_decoded_queries() {
        let r = parse_head(
            b"GET /api/topic?name=%25RETRY%25g&q=a+b HTTP/1.1\r\nHost: 127.0.0.1:8082\r\nX-Y: z",
        )
        .expect("parses");
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/api/topic");
        assert_eq!(r.param("name"), Some("%RETRY%g"));
        assert_eq!(r.param("q"), Some("a b"));
        assert_eq!(r.header("host"), Some("127.0.0.1:8082"));
        assert_eq!(r.header("x-y"), Some("z"));
    }

    #[test]
    fn malformed_heads_are_refused() {
        for head in [
            &b"GET /x"[..],
            b"GET x HTTP/1.1",
            b"GET /x HTTP/2 extra",
            b"get /x HTTP/1.1",
            b"GET /x HTTP/1.1\r\nno colon here",
            b"GET /x HTTP/1.1\r\nBad Name: v",
            b"GET /%zz HTTP/1.1",
            b"GET /%ff HTTP/1.1",
            b"\xff\xfe",
        ] {
            let refused = parse_head(head).expect_err("refused");
            assert_eq!(refused.status, 400, "{head:?}");
        }
    }

    #[test]
    fn answers_carry_the_security_headers() {
        let text = String::from_utf8(Response::error(404, "no such page").encode()).expect("utf8");
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(text.contains("Content-Security-Policy: default-src 'none'; script-src 'self'"));
        assert!(text.contains("X-Content-Type-Options: nosniff"));
        assert!(text.ends_with("{\"error\":\"no such page\"}"));
    }
}
