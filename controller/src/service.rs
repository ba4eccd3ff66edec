//! The controller port: Apache's controller request codes, answered with Apache's headers and
//! bodies, and the Raft RPCs between controllers ([`crate::raft::network`]).
//!
//! GET_METADATA_INFO, GET/UPDATE_CONTROLLER_CONFIG and BROKER_HEARTBEAT are answered by any
//! controller; everything else by the leader only, others answering CONTROLLER_NOT_LEADER with
//! the leader's id and address in the remark (as Apache, brokers then ask GET_METADATA_INFO).

use ferromq_protocol::body::SyncStateSet;
use ferromq_protocol::header::{
    AlterSyncStateSetRequestHeader, ApplyBrokerIdRequestHeader, BrokerHeartbeatRequestHeader,
    CleanControllerBrokerDataRequestHeader, ElectMasterRequestHeader, GetMetaDataResponseHeader,
    GetNextBrokerIdRequestHeader, GetReplicaInfoRequestHeader,
    RegisterBrokerToControllerRequestHeader,
};
use ferromq_protocol::{CommandHeader, ProtocolError, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, Handler};

use crate::heartbeat::{BrokerKey, Heartbeat};
use crate::manager::{self, Outcome};
use crate::node::{fail, Controller};
use crate::raft::network::{is_raft_rpc, serve_rpc};

fn bad_header(e: ProtocolError) -> RemotingCommand {
    fail(
        ResponseCode::SYSTEM_ERROR,
        format!("bad request header: {e}"),
    )
}

fn respond<H: CommandHeader>(outcome: Outcome<H>) -> RemotingCommand {
    let mut resp =
        RemotingCommand::response(outcome.code, outcome.remark).with_header(&outcome.header);
    if let Some(body) = outcome.body {
        resp = resp.with_body(body);
    }
    resp
}

fn respond_plain(outcome: Outcome<()>) -> RemotingCommand {
    let mut resp = RemotingCommand::response(outcome.code, outcome.remark);
    if let Some(body) = outcome.body {
        resp = resp.with_body(body);
    }
    resp
}

fn either(r: Result<RemotingCommand, RemotingCommand>) -> RemotingCommand {
    r.unwrap_or_else(|e| e)
}

impl Controller {
    /// Answers one controller request.
    pub async fn dispatch(
        &self,
        conn: Option<&Connection>,
        req: &RemotingCommand,
    ) -> RemotingCommand {
        if is_raft_rpc(req.code) {
            if let Some(conn) = conn {
                if !self.is_peer_ip(conn.peer_addr().ip()) {
                    self.log_refused_raft(conn.peer_addr(), req.code);
                    return fail(
                        ResponseCode::NO_PERMISSION,
                        "Raft requests are accepted from the controller peers only",
                    );
                }
            }
            return serve_rpc(self.raft(), req).await;
        }
        macro_rules! header {
            ($t:ty) => {
                match <$t>::read_ext(&req.ext_fields) {
                    Ok(h) => h,
                    Err(e) => return bad_header(e),
                }
            };
        }
        match RequestCode(req.code) {
            RequestCode::CONTROLLER_GET_METADATA_INFO => self.metadata(),
            RequestCode::GET_CONTROLLER_CONFIG => {
                RemotingCommand::response(ResponseCode::SUCCESS, None)
                    .with_body(self.config().to_properties().into_bytes())
            }
            RequestCode::UPDATE_CONTROLLER_CONFIG => self.update_config_request(req),
            RequestCode::BROKER_HEARTBEAT => {
                let h = header!(BrokerHeartbeatRequestHeader);
                let Some(broker_id) = h.broker_id else {
                    return fail(
                        ResponseCode::CONTROLLER_INVALID_REQUEST,
                        "Heart beat with empty brokerId",
                    );
                };
                let key = BrokerKey {
                    cluster_name: h.cluster_name,
                    broker_name: h.broker_name,
                    broker_id,
                };
                let hb = Heartbeat {
                    broker_addr: h.broker_addr,
                    timeout_millis: h.heartbeat_timeout_millis,
                    epoch: h.epoch,
                    max_offset: h.max_offset,
                    confirm_offset: h.confirm_offset,
                    election_priority: h.election_priority,
                };
                self.on_heartbeat(key, &hb, conn.map(Connection::id));
                fail(ResponseCode::SUCCESS, "Heart beat success")
            }
            RequestCode::CONTROLLER_GET_NEXT_BROKER_ID => {
                let h = header!(GetNextBrokerIdRequestHeader);
                either(
                    self.read(|s, _| respond(manager::next_broker_id(s, &h)))
                        .await,
                )
            }
            RequestCode::CONTROLLER_GET_REPLICA_INFO => {
                let h = header!(GetReplicaInfoRequestHeader);
                either(
                    self.read(|s, _| respond(manager::replica_info(s, &h)))
                        .await,
                )
            }
            RequestCode::CONTROLLER_GET_SYNC_STATE_DATA => {
                // A JSON list of broker names; Java answers an empty SUCCESS without one.
                let names: Vec<String> = match serde_json::from_slice(&req.body) {
                    Ok(n) => n,
                    Err(_) if req.body.is_empty() => Vec::new(),
                    Err(e) => {
                        return fail(
                            ResponseCode::SYSTEM_ERROR,
                            format!("body is not a JSON list of broker names: {e}"),
                        )
                    }
                };
                if names.is_empty() {
                    return RemotingCommand::response(ResponseCode::SUCCESS, None);
                }
                either(
                    self.read(|s, live| {
                        RemotingCommand::response(ResponseCode::SUCCESS, None)
                            .with_body(manager::sync_state_data(s, &names, live).encode())
                    })
                    .await,
                )
            }
            RequestCode::CONTROLLER_APPLY_BROKER_ID => {
                let h = header!(ApplyBrokerIdRequestHeader);
                either(
                    self.write(|s, _, _| manager::apply_broker_id(s, &h))
                        .await
                        .map(respond),
                )
            }
            RequestCode::CONTROLLER_REGISTER_BROKER => {
                let h = header!(RegisterBrokerToControllerRequestHeader);
                either(
                    self.write(|s, live, _| manager::register_broker(s, &h, live))
                        .await
                        .map(respond),
                )
            }
            RequestCode::CONTROLLER_ALTER_SYNC_STATE_SET => {
                let h = header!(AlterSyncStateSetRequestHeader);
                let body = match SyncStateSet::decode(&req.body) {
                    Ok(b) => b,
                    Err(e) => {
                        return fail(
                            ResponseCode::SYSTEM_ERROR,
                            format!("body is not a SyncStateSet: {e}"),
                        )
                    }
                };
                either(
                    self.write(|s, live, _| manager::alter_sync_state_set(s, &h, &body, live))
                        .await
                        .map(respond),
                )
            }
            RequestCode::CONTROLLER_ELECT_MASTER => {
                let h = header!(ElectMasterRequestHeader);
                let result = self
                    .write(|s, live, c| {
                        manager::elect_master(s, &h, live, c.enable_elect_unclean_master)
                    })
                    .await;
                match result {
                    Ok(outcome) => {
                        if outcome.code == ResponseCode::SUCCESS {
                            if let Some(name) = h.broker_name.as_deref() {
                                self.notify_role_changed(name, &outcome);
                            }
                        }
                        respond(outcome)
                    }
                    Err(resp) => resp,
                }
            }
            RequestCode::CLEAN_BROKER_DATA => {
                let h = header!(CleanControllerBrokerDataRequestHeader);
                either(
                    self.write(|s, live, _| manager::clean_broker_data(s, &h, live))
                        .await
                        .map(respond_plain),
                )
            }
            other => fail(
                ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                format!(" request type {} not supported", other.0),
            ),
        }
    }

    /// GET_METADATA_INFO: the group, the leader as this controller knows it, the peers.
    fn metadata(&self) -> RemotingCommand {
        let leader = self.leader();
        let header = GetMetaDataResponseHeader {
            group: Some(self.peers().group.clone()),
            controller_leader_id: leader.map(|l| l.id.clone()),
            controller_leader_address: leader.map(|l| l.addr.clone()),
            is_leader: Some(self.is_leader()),
            peers: Some(self.peers().describe()),
        };
        RemotingCommand::response(ResponseCode::SUCCESS, None).with_header(&header)
    }

    /// UPDATE_CONTROLLER_CONFIG: properties text; only the runtime-safe keys (never a path or
    /// a peer) may change, on this controller only (as Apache).
    fn update_config_request(&self, req: &RemotingCommand) -> RemotingCommand {
        let Ok(text) = std::str::from_utf8(&req.body) else {
            return fail(
                ResponseCode::SYSTEM_ERROR,
                "string2Properties error: body is not UTF-8",
            );
        };
        let pairs = ferromq_common::java_properties::parse(text);
        match self.update_config(&pairs) {
            Ok(()) => {
                let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
                tracing::info!(?keys, "controller config updated");
                RemotingCommand::response(ResponseCode::SUCCESS, None)
            }
            Err(crate::config::ConfigError::NotRuntimeUpdatable { key }) => fail(
                ResponseCode::NO_PERMISSION,
                format!(
                    "Can not update config in black list. `{key}` cannot be changed at run time"
                ),
            ),
            Err(e) => fail(ResponseCode::SYSTEM_ERROR, e.to_string()),
        }
    }
}

impl Handler for Controller {
    async fn handle(&self, conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        Some(self.dispatch(Some(conn), &request).await)
    }

    fn on_close(&self, conn: &Connection) {
        self.on_connection_closed(conn.id());
    }
}
