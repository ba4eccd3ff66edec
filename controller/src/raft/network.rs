//! Raft RPCs between controllers, on the controller port.
//!
//! Each RPC is a remoting request (the same frames as every RocketMQ request) with a private
//! request code ([`RAFT_APPEND_ENTRIES`], [`RAFT_VOTE`], [`RAFT_INSTALL_SNAPSHOT`], in a range
//! Apache does not use) and the openraft request as a JSON body. The answer is a SUCCESS
//! response whose JSON body is openraft's `Result` (the remote Raft's answer or its error);
//! any other response code means the peer could not take the RPC. One connection per peer is
//! dialed on first use and re-dialed after an error. Snapshots go in chunks
//! (`InstallSnapshotRequest`), which openraft drives.

use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, ConnectionConfig, IgnoreRequests, RemotingError};
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Node, NodeId, TypeConfig};

/// `AppendEntries` (FerroMQ private code).
pub const RAFT_APPEND_ENTRIES: RequestCode = RequestCode(61_001);
/// `RequestVote` (FerroMQ private code).
pub const RAFT_VOTE: RequestCode = RequestCode(61_002);
/// `InstallSnapshot`, one chunk (FerroMQ private code).
pub const RAFT_INSTALL_SNAPSHOT: RequestCode = RequestCode(61_003);

/// Dials the other controllers.
#[derive(Clone, Debug, Default)]
pub struct Network {
    config: Arc<ConnectionConfig>,
}

impl Network {
    /// A network whose connections use `config` (frame limit, TLS...).
    pub fn new(config: ConnectionConfig) -> Network {
        Network {
            config: Arc::new(config),
        }
    }
}

/// The RPC client for one peer.
#[derive(Debug)]
pub struct PeerClient {
    target: NodeId,
    addr: String,
    config: Arc<ConnectionConfig>,
    conn: Option<Connection>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> PeerClient {
        PeerClient {
            target,
            addr: node.addr.clone(),
            config: self.config.clone(),
            conn: None,
        }
    }
}

impl Drop for PeerClient {
    fn drop(&mut self) {
        // Replication to this peer stopped (shutdown, leadership lost): free the socket now
        // rather than at the idle timeout.
        if let Some(conn) = self.conn.take() {
            conn.close();
        }
    }
}

/// Why an RPC did not get the remote Raft's answer.
enum CallError {
    /// The peer could not be reached (dial failed, connection closed): back off.
    Unreachable(RemotingError),
    /// Something else went wrong on the way (timeout, bad answer).
    Network(std::io::Error),
}

impl PeerClient {
    async fn call<Req, Resp>(
        &mut self,
        code: RequestCode,
        req: &Req,
        timeout: Duration,
    ) -> Result<Resp, CallError>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
    {
        let body = serde_json::to_vec(req).map_err(|e| CallError::Network(e.into()))?;
        let conn = match &self.conn {
            Some(c) if !c.is_closed() => c.clone(),
            _ => {
                let dial = Connection::connect(
                    &self.addr,
                    Arc::new(IgnoreRequests),
                    (*self.config).clone(),
                );
                let c = match tokio::time::timeout(timeout, dial).await {
                    Ok(Ok(c)) => c,
                    Ok(Err(e)) => return Err(CallError::Unreachable(e)),
                    Err(_) => return Err(CallError::Unreachable(RemotingError::Timeout(timeout))),
                };
                self.conn = Some(c.clone());
                c
            }
        };
        let request = RemotingCommand::request(code).with_body(body);
        let response = match conn.request(request, timeout).await {
            Ok(r) => r,
            Err(e) => {
                self.conn = None;
                conn.close();
                return Err(match e {
                    RemotingError::Timeout(_) => CallError::Network(std::io::Error::other(e)),
                    other => CallError::Unreachable(other),
                });
            }
        };
        if response.code != ResponseCode::SUCCESS.0 {
            return Err(CallError::Network(std::io::Error::other(format!(
                "controller {} answered {}: {}",
                self.addr,
                ResponseCode(response.code),
                response.remark.unwrap_or_default()
            ))));
        }
        serde_json::from_slice(&response.body).map_err(|e| CallError::Network(e.into()))
    }

    /// Makes one RPC and sorts its failures as openraft wants them.
    async fn rpc<Req, Resp, E>(
        &mut self,
        code: RequestCode,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, Node, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        match self
            .call::<Req, Result<Resp, RaftError<NodeId, E>>>(code, req, option.hard_ttl())
            .await
        {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(remote)) => Err(RPCError::RemoteError(RemoteError::new(self.target, remote))),
            Err(CallError::Unreachable(e)) => Err(RPCError::Unreachable(Unreachable::new(&e))),
            Err(CallError::Network(e)) => Err(RPCError::Network(NetworkError::new(&e))),
        }
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.rpc(RAFT_APPEND_ENTRIES, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, Node, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.rpc(RAFT_INSTALL_SNAPSHOT, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.rpc(RAFT_VOTE, &rpc, &option).await
    }
}

/// Serves one Raft RPC arriving on the controller port: the SUCCESS response carrying the
/// remote Raft's `Result` as JSON, or SYSTEM_ERROR for a body that is not the RPC.
pub async fn serve_rpc(raft: &super::Raft, request: &RemotingCommand) -> RemotingCommand {
    fn answer<T: Serialize>(result: &T) -> RemotingCommand {
        match serde_json::to_vec(result) {
            Ok(body) => RemotingCommand::response(ResponseCode::SUCCESS, None).with_body(body),
            Err(e) => RemotingCommand::response(ResponseCode::SYSTEM_ERROR, Some(e.to_string())),
        }
    }
    fn bad(e: serde_json::Error) -> RemotingCommand {
        RemotingCommand::response(
            ResponseCode::SYSTEM_ERROR,
            Some(format!("bad Raft request body: {e}")),
        )
    }
    let body = &request.body[..];
    match RequestCode(request.code) {
        RAFT_APPEND_ENTRIES => match serde_json::from_slice(body) {
            Ok(req) => answer(&raft.append_entries(req).await),
            Err(e) => bad(e),
        },
        RAFT_VOTE => match serde_json::from_slice(body) {
            Ok(req) => answer(&raft.vote(req).await),
            Err(e) => bad(e),
        },
        RAFT_INSTALL_SNAPSHOT => match serde_json::from_slice(body) {
            Ok(req) => answer(&raft.install_snapshot(req).await),
            Err(e) => bad(e),
        },
        other => RemotingCommand::response(
            ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
            Some(format!(" request type {} not supported", other.0)),
        ),
    }
}

/// Whether `code` is one of the Raft RPCs.
pub fn is_raft_rpc(code: i32) -> bool {
    matches!(
        RequestCode(code),
        RAFT_APPEND_ENTRIES | RAFT_VOTE | RAFT_INSTALL_SNAPSHOT
    )
}
