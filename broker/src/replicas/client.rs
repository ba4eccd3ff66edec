//! The broker's connections to its controllers (`controllerAddr`): which one leads (asked with
//! CONTROLLER_GET_METADATA_INFO, and learned again from CONTROLLER_NOT_LEADER answers), requests
//! to the leader, and heartbeats to every controller (each keeps its own liveness table).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::header::GetMetaDataResponseHeader;
use ferromq_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, ConnectionConfig, IgnoreRequests};

const TIMEOUT: Duration = Duration::from_secs(3);
/// How long a controller that could not be reached is skipped by heartbeats, so one
/// unreachable controller does not delay the heartbeats to the others past their timeout.
const SKIP_UNREACHABLE: Duration = Duration::from_secs(2);

/// Connections to the controllers and the leader last seen.
#[derive(Debug)]
pub(crate) struct Controllers {
    addrs: Vec<String>,
    conns: HashMap<String, Connection>,
    leader: Option<String>,
    unreachable: HashMap<String, tokio::time::Instant>,
    /// Connection settings: TLS with `tls.enable=true`.
    dial: ConnectionConfig,
}

impl Controllers {
    pub(crate) fn new(addrs: Vec<String>, dial: ConnectionConfig) -> Controllers {
        Controllers {
            dial,
            addrs,
            conns: HashMap::new(),
            leader: None,
            unreachable: HashMap::new(),
        }
    }

    async fn conn(&mut self, addr: &str) -> Result<Connection, String> {
        if let Some(c) = self.conns.get(addr).filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let c = tokio::time::timeout(
            TIMEOUT,
            Connection::connect(addr, Arc::new(IgnoreRequests), self.dial.clone()),
        )
        .await
        .map_err(|_| format!("controller {addr}: connect timed out"))?
        .map_err(|e| format!("controller {addr}: {e}"))?;
        self.conns.insert(addr.to_owned(), c.clone());
        Ok(c)
    }

    /// The leader's address, asking the controllers when it is not known.
    pub(crate) async fn leader(&mut self) -> Result<String, String> {
        if let Some(l) = &self.leader {
            return Ok(l.clone());
        }
        let mut why = Vec::new();
        for addr in self.addrs.clone() {
            let answer = match self.conn(&addr).await {
                Ok(c) => c
                    .request(
                        RemotingCommand::request(RequestCode::CONTROLLER_GET_METADATA_INFO),
                        TIMEOUT,
                    )
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            let answer = match answer {
                Ok(a) if a.response_code() == ResponseCode::SUCCESS => a,
                Ok(a) => {
                    why.push(format!("{addr}: code {} {:?}", a.code, a.remark));
                    continue;
                }
                Err(e) => {
                    self.conns.remove(&addr);
                    why.push(format!("{addr}: {e}"));
                    continue;
                }
            };
            let Ok(h) = GetMetaDataResponseHeader::read_ext(&answer.ext_fields) else {
                continue;
            };
            let leader = if h.is_leader == Some(true) {
                Some(addr.clone())
            } else {
                h.controller_leader_address.filter(|a| !a.is_empty())
            };
            if let Some(l) = leader {
                self.leader = Some(l.clone());
                return Ok(l);
            }
            why.push(format!("{addr}: no leader known"));
        }
        Err(format!("no controller leader: {}", why.join("; ")))
    }

    /// Sends a request to the leader, finding it again after CONTROLLER_NOT_LEADER or a
    /// broken connection (three tries).
    pub(crate) async fn call(
        &mut self,
        request: impl Fn() -> RemotingCommand,
    ) -> Result<RemotingCommand, String> {
        let mut last = String::new();
        for _ in 0..3 {
            let leader = self.leader().await?;
            let conn = match self.conn(&leader).await {
                Ok(c) => c,
                Err(e) => {
                    self.leader = None;
                    last = e;
                    continue;
                }
            };
            match conn.request(request(), TIMEOUT).await {
                Ok(r) if r.response_code() == ResponseCode::CONTROLLER_NOT_LEADER => {
                    self.leader = None;
                    last = format!("{leader}: not the leader");
                }
                Ok(r) => return Ok(r),
                Err(e) => {
                    self.conns.remove(&leader);
                    self.leader = None;
                    last = format!("{leader}: {e}");
                }
            }
        }
        Err(last)
    }

    /// Sends `request` (oneway) to every controller, reconnecting where needed.
    pub(crate) async fn oneway_to_all(&mut self, request: impl Fn() -> RemotingCommand) {
        let now = tokio::time::Instant::now();
        self.unreachable.retain(|_, until| *until > now);
        for addr in self.addrs.clone() {
            if self.unreachable.contains_key(&addr) {
                continue;
            }
            match self.conn(&addr).await {
                Ok(c) => {
                    if c.request_oneway(request()).await.is_err() {
                        self.conns.remove(&addr);
                    }
                }
                Err(e) => {
                    self.unreachable
                        .insert(addr.clone(), now + SKIP_UNREACHABLE);
                    tracing::debug!(controller = %addr, error = %e, "heartbeat not sent");
                }
            }
        }
    }
}

/// A request with a header.
pub(crate) fn request<H: CommandHeader>(code: RequestCode, h: &H) -> RemotingCommand {
    RemotingCommand::request_with_header(code, h)
}
