//! Controller mode: the requests of `mqadmin`'s controller commands (Apache's
//! `MQClientAPIImpl` sends the same ones). Reads of the quorum's state and changes go to the
//! leader, found through the controller named; configs are per controller.

use std::time::{SystemTime, UNIX_EPOCH};

use ferromq_protocol::body::{BrokerReplicasInfo, ElectMasterResponseBody, EpochEntryCache};
use ferromq_protocol::header::{
    CleanControllerBrokerDataRequestHeader, ElectMasterRequestHeader, ElectMasterResponseHeader,
    GetMetaDataResponseHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode};

use crate::error::{Error, ErrorKind, Result};

use super::Admin;

/// What CLEAN_BROKER_DATA removes (`mqadmin cleanBrokerMetadata`).
#[derive(Debug, Clone, Default)]
pub struct CleanBrokerData {
    /// Cluster name (Apache requires it unless `clean_living_broker`).
    pub cluster: Option<String>,
    /// The broker set.
    pub broker_name: String,
    /// `;`-separated broker ids; `None` = the whole set.
    pub broker_ids: Option<String>,
    /// Remove brokers even while they heartbeat.
    pub clean_living_broker: bool,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn utf8(op: &'static str, body: &[u8]) -> Result<String> {
    String::from_utf8(body.to_vec())
        .map_err(|_| Error::new(ErrorKind::Protocol, op, "the answer is not UTF-8"))
}

impl Admin {
    /// A controller's view of its quorum (CONTROLLER_GET_METADATA_INFO 1005): group, leader id
    /// and address, peers. Every controller answers it.
    pub async fn controller_metadata(&self, controller: &str) -> Result<GetMetaDataResponseHeader> {
        let request = RemotingCommand::request(RequestCode::CONTROLLER_GET_METADATA_INFO);
        let response = self
            .broker_call("controller metadata", controller, request)
            .await?;
        response
            .header::<GetMetaDataResponseHeader>()
            .map_err(|e| Error::protocol("controller metadata", e))
    }

    /// The leader's address, as `controller` knows it; an error while there is none.
    pub async fn controller_leader(&self, controller: &str) -> Result<String> {
        let meta = self.controller_metadata(controller).await?;
        meta.controller_leader_address
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::IllegalState,
                    "controller leader",
                    format!("controller {controller} knows no leader"),
                )
            })
    }

    /// The replicas and sync state sets of `broker_names` (CONTROLLER_GET_SYNC_STATE_DATA 1006),
    /// read from the leader.
    pub async fn sync_state_data(
        &self,
        controller: &str,
        broker_names: &[String],
    ) -> Result<BrokerReplicasInfo> {
        let leader = self.controller_leader(controller).await?;
        let body = ferromq_protocol::json::to_string(&broker_names).into_bytes();
        let request =
            RemotingCommand::request(RequestCode::CONTROLLER_GET_SYNC_STATE_DATA).with_body(body);
        let response = self
            .broker_call("sync state data", &leader, request)
            .await?;
        BrokerReplicasInfo::decode(&response.body)
            .map_err(|e| Error::protocol("sync state data", e))
    }

    /// One controller's settings (GET_CONTROLLER_CONFIG 1010), in the order it lists them.
    pub async fn controller_config(&self, controller: &str) -> Result<Vec<(String, String)>> {
        let request = RemotingCommand::request(RequestCode::GET_CONTROLLER_CONFIG);
        let response = self
            .broker_call("controller config", controller, request)
            .await?;
        let text = utf8("controller config", &response.body)?;
        Ok(ferromq_common::java_properties::parse(&text))
    }

    /// Changes one run-time setting of one controller (UPDATE_CONTROLLER_CONFIG 1009).
    pub async fn update_controller_config(
        &self,
        controller: &str,
        key: &str,
        value: &str,
    ) -> Result<()> {
        let body = ferromq_common::java_properties::to_string([(key, value)]);
        let request = RemotingCommand::request(RequestCode::UPDATE_CONTROLLER_CONFIG)
            .with_body(body.into_bytes());
        self.broker_call("update controller config", controller, request)
            .await?;
        Ok(())
    }

    /// Makes `broker_id` the master of `broker_name` (CONTROLLER_ELECT_MASTER 1002 with
    /// `designateElect=true`, sent to the leader); the answer names the new master and epochs.
    pub async fn elect_master(
        &self,
        controller: &str,
        cluster: &str,
        broker_name: &str,
        broker_id: i64,
    ) -> Result<(ElectMasterResponseHeader, ElectMasterResponseBody)> {
        let leader = self.controller_leader(controller).await?;
        let header = ElectMasterRequestHeader {
            cluster_name: Some(cluster.to_owned()),
            broker_name: Some(broker_name.to_owned()),
            broker_id: Some(broker_id),
            designate_elect: Some(true),
            invoke_time: Some(now_ms()),
        };
        let request =
            RemotingCommand::request(RequestCode::CONTROLLER_ELECT_MASTER).with_header(&header);
        let response = self.broker_call("elect master", &leader, request).await?;
        let header = response
            .header::<ElectMasterResponseHeader>()
            .map_err(|e| Error::protocol("elect master", e))?;
        let body = if response.body.is_empty() {
            ElectMasterResponseBody::default()
        } else {
            ElectMasterResponseBody::decode(&response.body)
                .map_err(|e| Error::protocol("elect master", e))?
        };
        Ok((header, body))
    }

    /// Removes replicas (or a whole broker set) from the controllers' records
    /// (CLEAN_BROKER_DATA 1011, sent to the leader).
    pub async fn clean_broker_data(&self, controller: &str, what: &CleanBrokerData) -> Result<()> {
        let leader = self.controller_leader(controller).await?;
        let header = CleanControllerBrokerDataRequestHeader {
            cluster_name: what.cluster.clone(),
            broker_name: Some(what.broker_name.clone()),
            broker_controller_ids_to_clean: what.broker_ids.clone(),
            is_clean_living_broker: Some(what.clean_living_broker),
            invoke_time: Some(now_ms()),
        };
        let request = RemotingCommand::request(RequestCode::CLEAN_BROKER_DATA).with_header(&header);
        self.broker_call("clean broker data", &leader, request)
            .await?;
        Ok(())
    }

    /// A broker's epochs and log end (GET_BROKER_EPOCH_CACHE 1007; brokers in controller mode
    /// only).
    pub async fn broker_epoch_cache(&self, broker_addr: &str) -> Result<EpochEntryCache> {
        let request = RemotingCommand::request(RequestCode::GET_BROKER_EPOCH_CACHE);
        let response = self
            .broker_call("broker epoch cache", broker_addr, request)
            .await?;
        EpochEntryCache::decode(&response.body)
            .map_err(|e| Error::protocol("broker epoch cache", e))
    }
}
