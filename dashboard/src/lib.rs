//! `mqdashboard`: a web console for FerroMQ and Apache RocketMQ clusters.
//!
//! One process serves a single-page console (HTML, CSS and JavaScript embedded in the binary)
//! and a JSON API under `/api/` that it calls. Everything goes through `ferromq-client`'s admin
//! client and producer, so the console works against any cluster those reach, Apache's
//! included. The API is documented in `dashboard/README.md`.
//!
//! Security, since the console shows data that clients wrote (topic names, properties, bodies):
//!
//! - it binds to `127.0.0.1` unless told otherwise, and while bound to a loopback address it
//!   answers only requests whose `Host` names a loopback address (a DNS-rebinding page cannot
//!   reach it);
//! - the page builds every element with `textContent`, never HTML from data, under a
//!   Content-Security-Policy that allows scripts from this origin only;
//! - state-changing calls are `POST` with a JSON body, a per-process CSRF token in the
//!   `X-CSRF-Token` header (read from `GET /api/session`, which other origins cannot read), and
//!   an `Origin`, when the browser sends one, equal to the console's own;
//! - `--read-only` refuses every write; the cluster's ACL applies to the console's requests,
//!   which carry the credentials it was started with.

mod api;
mod assets;
mod http;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use ferromq_client::{Admin, ClientConfig};
use tokio::net::TcpListener;
use tokio::sync::OnceCell;

pub use api::TEST_MESSAGE_GROUP;

/// What the console needs to run.
#[derive(Debug, Clone)]
pub struct DashboardConfig {
    /// The cluster's client settings: name servers, credentials, TLS.
    pub client: ClientConfig,
    /// Refuse every write (topic changes, sends, offset resets, resends).
    pub read_only: bool,
    /// Extra `Host` values to accept besides the bound address (for a reverse proxy, or a
    /// console bound to a non-loopback address and reached by a DNS name). When bound to a
    /// non-loopback address with none given, any `Host` is accepted.
    pub allowed_hosts: Vec<String>,
}

/// The console's shared state.
pub(crate) struct State {
    pub(crate) config: DashboardConfig,
    pub(crate) admin: Admin,
    pub(crate) producer: OnceCell<ferromq_client::Producer>,
    pub(crate) csrf_token: String,
    pub(crate) bound: SocketAddr,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

/// Errors starting the console.
#[derive(Debug)]
pub enum StartError {
    /// The admin client could not be made (bad name server list, TLS files).
    Client(ferromq_client::Error),
    /// No randomness for the CSRF token.
    Random(std::io::Error),
    /// The listener's address could not be read.
    Listener(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Client(e) => write!(f, "client: {e}"),
            StartError::Random(e) => write!(f, "reading /dev/urandom for the CSRF token: {e}"),
            StartError::Listener(e) => write!(f, "listener: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Serves the console on `listener` until `stop` completes.
pub async fn serve(
    listener: TcpListener,
    config: DashboardConfig,
    stop: impl Future<Output = ()> + Send,
) -> Result<(), StartError> {
    let bound = listener.local_addr().map_err(StartError::Listener)?;
    let admin = Admin::new(&config.client).map_err(StartError::Client)?;
    let state = Arc::new(State {
        config,
        admin,
        producer: OnceCell::new(),
        csrf_token: random_token().map_err(StartError::Random)?,
        bound,
    });
    let handler_state = state.clone();
    http::serve(
        listener,
        move |request, _peer| {
            let state = handler_state.clone();
            async move { route(&state, request).await }
        },
        stop,
    )
    .await;
    if let Some(producer) = state.producer.get() {
        producer.shutdown().await;
    }
    state.admin.shutdown().await;
    Ok(())
}

/// 128 random bits, hex.
fn random_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

async fn route(state: &State, request: http::Request) -> http::Response {
    if let Err(refusal) = check_host(state, &request) {
        return refusal;
    }
    let path = request.path.as_str();
    if let Some(asset) = assets::find(path) {
        if request.method != "GET" && request.method != "HEAD" {
            return http::Response::error(405, "GET only");
        }
        return http::Response {
            status: 200,
            content_type: asset.content_type,
            body: asset.body.to_vec(),
        };
    }
    if !path.starts_with("/api/") {
        return http::Response::error(404, "no such page");
    }
    match request.method.as_str() {
        "GET" => api::get(state, &request).await,
        "POST" => {
            if let Err(refusal) = check_write(state, &request) {
                return refusal;
            }
            api::post(state, &request).await
        }
        _ => http::Response::error(405, "GET or POST only"),
    }
}

/// While bound to loopback, only loopback `Host`s (or the configured ones) are served.
fn check_host(state: &State, request: &http::Request) -> Result<(), http::Response> {
    let Some(host) = request.header("host") else {
        return Err(http::Response::error(400, "no Host header"));
    };
    let allowed = &state.config.allowed_hosts;
    if allowed.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Ok(());
    }
    if !state.bound.ip().is_loopback() {
        return if allowed.is_empty() {
            Ok(())
        } else {
            Err(http::Response::error(403, "this Host is not served"))
        };
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let loopback = name.eq_ignore_ascii_case("localhost")
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(http::Response::error(
            403,
            "this console serves loopback Host names only (see --allowed-host)",
        ))
    }
}

/// The checks every `POST` passes: writes allowed, JSON body, CSRF token, same origin.
fn check_write(state: &State, request: &http::Request) -> Result<(), http::Response> {
    if state.config.read_only {
        return Err(http::Response::error(
            403,
            "the console was started --read-only",
        ));
    }
    let json = request.header("content-type").is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|t| t.trim() == "application/json")
    });
    if !json {
        return Err(http::Response::error(
            415,
            "writes take an application/json body",
        ));
    }
    let token_ok = request.header("x-csrf-token").is_some_and(|t| {
        ferromq_protocol::acl::constant_time_eq(t.as_bytes(), state.csrf_token.as_bytes())
    });
    if !token_ok {
        return Err(http::Response::error(
            403,
            "missing or wrong X-CSRF-Token (GET /api/session gives it)",
        ));
    }
    if let (Some(origin), Some(host)) = (request.header("origin"), request.header("host")) {
        let origin_host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .unwrap_or(origin);
        if !origin_host.eq_ignore_ascii_case(host) {
            return Err(http::Response::error(403, "cross-origin write refused"));
        }
    }
    Ok(())
}
