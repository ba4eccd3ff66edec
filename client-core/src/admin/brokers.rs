//! Brokers: runtime info, replication status, config, and statistics.

use std::collections::BTreeMap;

use ferromq_protocol::body::{BrokerStatsData, HaRuntimeInfo, KVTable};
use ferromq_protocol::header::admin::ViewBrokerStatsDataRequestHeader;
use ferromq_protocol::{RemotingCommand, RequestCode};

use crate::error::{Error, ErrorKind, Result};

use super::Admin;

impl Admin {
    /// A broker's runtime figures (GET_BROKER_RUNTIME_INFO): `putTps`, `commitLogMaxOffset`,
    /// `brokerVersionDesc`, ... as the broker names them.
    pub async fn broker_runtime_info(&self, broker_addr: &str) -> Result<BTreeMap<String, String>> {
        let request = RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO);
        let response = self
            .broker_call("broker runtime info", broker_addr, request)
            .await?;
        let table = KVTable::decode(&response.body)
            .map_err(|e| Error::protocol("broker runtime info", e))?;
        Ok(table.table.into_iter().collect())
    }

    /// A broker's replication state (GET_BROKER_HA_STATUS, what `mqadmin haStatus` prints): a
    /// master's slaves with their lag, or a slave's link to its master.
    pub async fn broker_ha_status(&self, broker_addr: &str) -> Result<HaRuntimeInfo> {
        let request = RemotingCommand::request(RequestCode::GET_BROKER_HA_STATUS);
        let response = self
            .broker_call("broker HA status", broker_addr, request)
            .await?;
        HaRuntimeInfo::decode(&response.body).map_err(|e| Error::protocol("broker HA status", e))
    }

    /// A broker's settings (GET_BROKER_CONFIG 26, `mqadmin getBrokerConfig`), in the order the
    /// broker lists them; secrets are never sent.
    pub async fn broker_config(&self, broker_addr: &str) -> Result<Vec<(String, String)>> {
        let request = RemotingCommand::request(RequestCode::GET_BROKER_CONFIG);
        let response = self
            .broker_call("broker config", broker_addr, request)
            .await?;
        let text = std::str::from_utf8(&response.body).map_err(|_| {
            Error::new(
                ErrorKind::Protocol,
                "broker config",
                "the config is not UTF-8",
            )
        })?;
        Ok(ferromq_common::java_properties::parse(text))
    }

    /// Changes one setting of a broker at run time (UPDATE_BROKER_CONFIG 25,
    /// `mqadmin updateBrokerConfig`). The broker refuses keys that are unsafe to change live.
    pub async fn update_broker_config(
        &self,
        broker_addr: &str,
        key: &str,
        value: &str,
    ) -> Result<()> {
        let body = ferromq_common::java_properties::to_string([(key, value)]);
        let request = RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG)
            .with_body(body.into_bytes());
        self.broker_call("update broker config", broker_addr, request)
            .await?;
        Ok(())
    }

    /// One broker statistic of one key over the last minute, hour and day
    /// (VIEW_BROKER_STATS_DATA 315, `mqadmin statsAll`): `TOPIC_PUT_NUMS` / `TOPIC_PUT_SIZE`
    /// keyed by topic, `GROUP_GET_NUMS` / `GROUP_GET_SIZE` by `topic@group`.
    pub async fn broker_stats_at(
        &self,
        broker_addr: &str,
        stats_name: &str,
        stats_key: &str,
    ) -> Result<BrokerStatsData> {
        let header = ViewBrokerStatsDataRequestHeader {
            stats_name: stats_name.to_owned(),
            stats_key: stats_key.to_owned(),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::VIEW_BROKER_STATS_DATA, &header);
        let response = self
            .broker_call("broker stats", broker_addr, request)
            .await?;
        BrokerStatsData::decode(&response.body).map_err(|e| Error::protocol("broker stats", e))
    }
}
