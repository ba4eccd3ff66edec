//! The name servers: KV config, their own config, and brokers' write permission.

use ferromq_protocol::header::namesrv::{
    AddWritePermOfBrokerRequestHeader, AddWritePermOfBrokerResponseHeader,
    DeleteKVConfigRequestHeader, GetKVConfigRequestHeader, GetKVConfigResponseHeader,
    PutKVConfigRequestHeader, WipeWritePermOfBrokerRequestHeader,
    WipeWritePermOfBrokerResponseHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::error::{Error, ErrorKind, Result};

use super::Admin;

impl Admin {
    /// Stores `key = value` in a name server KV namespace (PUT_KV_CONFIG 100, `mqadmin
    /// updateKvConfig`; `ORDER_TOPIC_CONFIG` holds order topics' `brokerName:queues` lists).
    pub async fn put_kv_config(&self, namespace: &str, key: &str, value: &str) -> Result<()> {
        let header = PutKVConfigRequestHeader {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
            value: value.to_owned(),
        };
        let request = RemotingCommand::request_with_header(RequestCode::PUT_KV_CONFIG, &header);
        self.namesrv_call("put KV config", request).await?;
        Ok(())
    }

    /// The value of a name server KV item (GET_KV_CONFIG 101); `None` when absent
    /// (QUERY_NOT_FOUND).
    pub async fn kv_config(&self, namespace: &str, key: &str) -> Result<Option<String>> {
        let header = GetKVConfigRequestHeader {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
        };
        let request = RemotingCommand::request_with_header(RequestCode::GET_KV_CONFIG, &header);
        let response = self.client.namesrv_request(request).await?;
        match response.response_code() {
            ResponseCode::SUCCESS => {
                use ferromq_protocol::ext::CommandHeader as _;
                let header = GetKVConfigResponseHeader::read_ext(&response.ext_fields)
                    .map_err(|e| Error::protocol("get KV config", e))?;
                Ok(header.value)
            }
            ResponseCode::QUERY_NOT_FOUND => Ok(None),
            _ => Err(Error::from_response("get KV config", &response)),
        }
    }

    /// Removes a name server KV item (DELETE_KV_CONFIG 102, `mqadmin deleteKvConfig`).
    pub async fn delete_kv_config(&self, namespace: &str, key: &str) -> Result<()> {
        let header = DeleteKVConfigRequestHeader {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
        };
        let request = RemotingCommand::request_with_header(RequestCode::DELETE_KV_CONFIG, &header);
        self.namesrv_call("delete KV config", request).await?;
        Ok(())
    }

    /// The name server's settings (GET_NAMESRV_CONFIG 319, `mqadmin getNamesrvConfig`), from
    /// the first name server that answers (one [`Admin`] per address reaches each).
    pub async fn namesrv_config(&self) -> Result<Vec<(String, String)>> {
        let request = RemotingCommand::request(RequestCode::GET_NAMESRV_CONFIG);
        let response = self.namesrv_call("name server config", request).await?;
        let text = std::str::from_utf8(&response.body).map_err(|_| {
            Error::new(
                ErrorKind::Protocol,
                "name server config",
                "the config is not UTF-8",
            )
        })?;
        Ok(ferromq_common::java_properties::parse(text))
    }

    /// Changes one name server setting at run time (UPDATE_NAMESRV_CONFIG 318, `mqadmin
    /// updateNamesrvConfig`), on the first name server that answers.
    pub async fn update_namesrv_config(&self, key: &str, value: &str) -> Result<()> {
        let body = ferromq_common::java_properties::to_string([(key, value)]);
        let request = RemotingCommand::request(RequestCode::UPDATE_NAMESRV_CONFIG)
            .with_body(body.into_bytes());
        self.namesrv_call("update name server config", request)
            .await?;
        Ok(())
    }

    /// Removes write permission from every topic of `broker_name` in the name server's routes
    /// (WIPE_WRITE_PERM_OF_BROKER 205, `mqadmin wipeWritePerm`); the number of topics changed.
    pub async fn wipe_write_perm(&self, broker_name: &str) -> Result<i32> {
        let header = WipeWritePermOfBrokerRequestHeader {
            broker_name: broker_name.to_owned(),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::WIPE_WRITE_PERM_OF_BROKER, &header);
        let response = self.namesrv_call("wipe write perm", request).await?;
        use ferromq_protocol::ext::CommandHeader as _;
        WipeWritePermOfBrokerResponseHeader::read_ext(&response.ext_fields)
            .map(|h| h.wipe_topic_count)
            .map_err(|e| Error::protocol("wipe write perm", e))
    }

    /// Gives write permission back to every topic of `broker_name` (ADD_WRITE_PERM_OF_BROKER
    /// 327, `mqadmin addWritePerm`); the number of topics changed.
    pub async fn add_write_perm(&self, broker_name: &str) -> Result<i32> {
        let header = AddWritePermOfBrokerRequestHeader {
            broker_name: broker_name.to_owned(),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::ADD_WRITE_PERM_OF_BROKER, &header);
        let response = self.namesrv_call("add write perm", request).await?;
        use ferromq_protocol::ext::CommandHeader as _;
        AddWritePermOfBrokerResponseHeader::read_ext(&response.ext_fields)
            .map(|h| h.add_topic_count)
            .map_err(|e| Error::protocol("add write perm", e))
    }
}
