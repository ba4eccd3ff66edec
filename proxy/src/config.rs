//! The proxy's settings, under Apache's `rmq-proxy.json` key names.

use std::path::Path;

use serde::Deserialize;

/// Where messages go: Apache's two proxy modes share one code path here (docs/grpc.md, "Modes").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Standalone `mqproxy`: routes come from the name servers and queues are reached through
    /// the proxy's own address (the access point the client used).
    Cluster,
    /// Inside a broker: the same remoting client, pointed at the broker's own name servers and
    /// port; routes name each broker's host with the gRPC port.
    Local,
}

/// `rmq-proxy.json` (the keys FerroMQ reads; others are ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProxyConfig {
    /// Name servers, `;`-separated (`namesrvAddr`).
    pub namesrv_addr: String,
    /// gRPC listening port (`grpcServerPort`, 8081).
    pub grpc_server_port: u16,
    /// Cluster the proxy serves (`rocketMQClusterName`); informational.
    #[serde(rename = "rocketMQClusterName")]
    pub rocketmq_cluster_name: String,
    /// Largest message body, bytes (`maxMessageSize`, 4 MiB).
    pub max_message_size: usize,
    /// Most user properties per message (`userPropertyMaxNum`, 128).
    pub user_property_max_num: usize,
    /// Total bytes of user properties, tag and keys (`maxUserPropertySize`, 16 KiB).
    pub max_user_property_size: usize,
    /// Longest message group, bytes (`maxMessageGroupSize`, 64).
    pub max_message_group_size: usize,
    /// Farthest delivery time ahead, ms (`maxDelayTimeMills`, one day).
    pub max_delay_time_mills: i64,
    /// Tell producers to check a message's type against the topic's (`enableTopicMessageTypeCheck`).
    pub enable_topic_message_type_check: bool,
    /// Longest long polling of a receive, ms (`grpcClientConsumerMaxLongPollingTimeoutMillis`).
    pub grpc_client_consumer_max_long_polling_timeout_millis: i64,
    /// Batch size given to consumers (`grpcClientConsumerLongPollingBatchSize`).
    pub grpc_client_consumer_long_polling_batch_size: i32,
    /// Shortest invisible duration of a receive, ms (`minInvisibleTimeMillsForRecv`, 10 s).
    pub min_invisible_time_mills_for_recv: i64,
    /// TLS beside plaintext on the gRPC port (Apache's permissive mode; FerroMQ key
    /// `grpcTlsEnable`, default true).
    #[serde(rename = "grpcTlsEnable")]
    pub tls_enable: bool,
    /// PEM certificate chain of the gRPC port (`tlsCertPath`); none: self-signed.
    pub tls_cert_path: Option<String>,
    /// PEM private key of the gRPC port (`tlsKeyPath`).
    pub tls_key_path: Option<String>,
    /// Timeout of one remoting request to a broker or name server, ms.
    pub remoting_timeout_millis: u64,
    /// Sign the proxy's requests to brokers (Apache's `enableAclRpcHookForClusterMode`), with
    /// `innerClientAuthenticationCredentials`.
    pub enable_acl_rpc_hook_for_cluster_mode: bool,
    /// `{"accessKey":"...","secretKey":"..."}`, as a JSON text or object (Apache's `AuthConfig`
    /// key): what the proxy signs its requests with in cluster mode.
    pub inner_client_authentication_credentials: serde_json::Value,
    /// ACL 2.0 authentication of gRPC clients (Apache's `AuthConfig` key): not available in
    /// cluster mode yet; `mqproxy` refuses to start with it.
    pub authentication_enabled: bool,
    /// ACL 2.0 authorization of gRPC clients: as `authenticationEnabled`.
    pub authorization_enabled: bool,
    /// ACL 1.0 of gRPC clients (Apache 5.0-5.3.2's `enableACL`): as `authenticationEnabled`.
    #[serde(rename = "enableACL")]
    pub enable_acl: bool,
    /// Renew the invisible time of `auto_renew` receives (`enableProxyAutoRenew`, true).
    pub enable_proxy_auto_renew: bool,
    /// Invisible time of an `auto_renew` receive and of each renewal, ms
    /// (`defaultInvisibleTimeMills`, 60 s).
    pub default_invisible_time_mills: i64,
    /// Renew when the invisible time ends within this, ms (`renewAheadTimeMillis`, 10 s).
    pub renew_ahead_time_millis: i64,
    /// Stop renewing a message after this in total, ms (`renewMaxTimeMillis`, 3 h).
    pub renew_max_time_millis: i64,
    /// How often renewals are looked for, ms (`renewSchedulePeriodMillis`, 5 s).
    pub renew_schedule_period_millis: i64,
    /// Failed renewals in a row before giving up on a message (`maxRenewRetryTimes`, 3).
    pub max_renew_retry_times: u32,
    /// Invisible time left to the renewed messages of a client that leaves, ms
    /// (`invisibleTimeMillisWhenClear`, 1 s).
    pub invisible_time_millis_when_clear: i64,
    /// How long a gRPC client may take to answer an operator's command relayed by a broker, s
    /// (`grpcProxyRelayRequestTimeoutInSeconds`; Apache 5, FerroMQ 2: see `relay`).
    pub grpc_proxy_relay_request_timeout_in_seconds: u64,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            namesrv_addr: "127.0.0.1:9876".to_owned(),
            grpc_server_port: 8081,
            rocketmq_cluster_name: "DefaultCluster".to_owned(),
            max_message_size: 4 * 1024 * 1024,
            user_property_max_num: 128,
            max_user_property_size: 16 * 1024,
            max_message_group_size: 64,
            max_delay_time_mills: 24 * 3600 * 1000,
            enable_topic_message_type_check: true,
            grpc_client_consumer_max_long_polling_timeout_millis: 20_000,
            grpc_client_consumer_long_polling_batch_size: 32,
            min_invisible_time_mills_for_recv: 10_000,
            tls_enable: true,
            tls_cert_path: None,
            tls_key_path: None,
            remoting_timeout_millis: 3_000,
            enable_acl_rpc_hook_for_cluster_mode: false,
            inner_client_authentication_credentials: serde_json::Value::Null,
            authentication_enabled: false,
            authorization_enabled: false,
            enable_acl: false,
            enable_proxy_auto_renew: true,
            default_invisible_time_mills: 60_000,
            renew_ahead_time_millis: 10_000,
            renew_max_time_millis: 3 * 3600 * 1000,
            renew_schedule_period_millis: 5_000,
            max_renew_retry_times: 3,
            invisible_time_millis_when_clear: 1_000,
            grpc_proxy_relay_request_timeout_in_seconds: 2,
        }
    }
}

impl ProxyConfig {
    /// Reads a `rmq-proxy.json` file.
    pub fn load(path: &Path) -> Result<ProxyConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        ProxyConfig::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses the JSON text of a `rmq-proxy.json`.
    pub fn parse(text: &str) -> Result<ProxyConfig, String> {
        let config: ProxyConfig =
            serde_json::from_str(text).map_err(|e| format!("invalid proxy config: {e}"))?;
        if config.namesrv_addr.trim().is_empty() {
            return Err("namesrvAddr is empty".to_owned());
        }
        Ok(config)
    }

    /// What the standalone proxy (cluster mode) signs its remoting requests with: Apache's
    /// `innerClientAuthenticationCredentials` when `enableAclRpcHookForClusterMode` is on.
    /// `Err` for a combination that cannot work: checks of gRPC clients asked for (mqproxy
    /// cannot check them yet: run the endpoint in the broker with `grpcServerPort`), or signing
    /// asked for without credentials.
    pub fn cluster_signer(&self) -> Result<Option<crate::auth::Signer>, String> {
        for (on, key) in [
            (self.authentication_enabled, "authenticationEnabled"),
            (self.authorization_enabled, "authorizationEnabled"),
            (self.enable_acl, "enableACL"),
        ] {
            if on {
                return Err(format!(
                    "{key}: mqproxy cannot check gRPC clients' credentials yet (it holds no users \
                     or ACL); serve the gRPC endpoint from the broker (grpcServerPort), which \
                     checks them with the broker's own rules (docs/grpc.md, \"ACL\")"
                ));
            }
        }
        if !self.enable_acl_rpc_hook_for_cluster_mode {
            return Ok(None);
        }
        let v = &self.inner_client_authentication_credentials;
        let parsed = match v {
            serde_json::Value::String(text) if !text.trim().is_empty() => {
                serde_json::from_str::<serde_json::Value>(text).ok()
            }
            serde_json::Value::Object(_) => Some(v.clone()),
            _ => None,
        };
        let field = |k: &str| {
            parsed
                .as_ref()
                .and_then(|p| p.get(k))
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        match (field("accessKey"), field("secretKey")) {
            (Some(ak), Some(sk)) => Ok(Some(crate::auth::Signer::new(&ak, &sk))),
            _ => Err(
                "enableAclRpcHookForClusterMode needs innerClientAuthenticationCredentials \
                 {\"accessKey\":\"...\",\"secretKey\":\"...\"}"
                    .to_owned(),
            ),
        }
    }

    /// The name servers as a list.
    pub fn namesrvs(&self) -> Vec<String> {
        self.namesrv_addr
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_apache_keys_and_keeps_defaults() {
        let c = ProxyConfig::parse(
            r#"{"rocketMQClusterName":"C1","namesrvAddr":"a:1;b:2","grpcServerPort":18081,"other":1}"#,
        )
        .expect("parse");
        assert_eq!(c.rocketmq_cluster_name, "C1");
        assert_eq!(c.namesrvs(), vec!["a:1", "b:2"]);
        assert_eq!(c.grpc_server_port, 18081);
        assert_eq!(c.max_message_size, 4 * 1024 * 1024);
        assert!(ProxyConfig::parse(r#"{"namesrvAddr":""}"#).is_err());
        assert!(ProxyConfig::parse("{").is_err());
    }

    #[test]
    fn cluster_mode_credentials() {
        let c = ProxyConfig::parse(
            r#"{"enableAclRpcHookForClusterMode":true,
                "innerClientAuthenticationCredentials":"{\"accessKey\":\"proxy\",\"secretKey\":\"sk1234567\"}"}"#,
        )
        .expect("parse");
        assert_eq!(
            c.cluster_signer().expect("ok").expect("signs").access_key(),
            "proxy"
        );
        let object = ProxyConfig::parse(
            r#"{"enableAclRpcHookForClusterMode":true,
                "innerClientAuthenticationCredentials":{"accessKey":"p","secretKey":"s"}}"#,
        )
        .expect("parse");
        assert!(object.cluster_signer().expect("ok").is_some());
        let missing =
            ProxyConfig::parse(r#"{"enableAclRpcHookForClusterMode":true}"#).expect("parse");
        assert!(missing.cluster_signer().is_err());
        assert!(ProxyConfig::default()
            .cluster_signer()
            .expect("ok")
            .is_none());
        let checks = ProxyConfig::parse(r#"{"authenticationEnabled":true}"#).expect("parse");
        let e = checks.cluster_signer().expect_err("refused");
        assert!(e.starts_with("authenticationEnabled"), "{e}");
    }
}
