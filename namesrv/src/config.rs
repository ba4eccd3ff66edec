//! Name server configuration: Apache's `NamesrvConfig` and `NettyServerConfig` keys.
//!
//! Read from a properties file (`mqnamesrv -c namesrv.properties`); values are trimmed; an
//! unknown key is reported as a warning and a bad value stops start-up with the key named.
//! At run time (UPDATE_NAMESRV_CONFIG) only the keys marked runtime-safe may change: nothing that
//! names a path or a port can be changed remotely (Apache's CVE-2023-37582 came from that).

use std::path::PathBuf;

pub use ferromq_common::settings::{LoadReport, MetricsExporterType, SettingError as ConfigError};

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

ferromq_remoting::server_settings! {
    [transport, server_tls]
    /// Name server settings (Apache key names in the docs of each field).
    pub struct NamesrvConfig {
    /// `listenPort`: the TCP port (Apache default 9876).
    listen_port: u16 = 9876, "listenPort", false;
    /// `webSocketListenPort` (FerroMQ only): a port serving the same requests over WebSocket,
    /// for browser clients; 0 (the default) turns it off.
    web_socket_listen_port: u16 = 0, "webSocketListenPort", false;
    /// `rocketmqHome`: install directory (informational).
    rocketmq_home: String = std::env::var("ROCKETMQ_HOME").unwrap_or_default(), "rocketmqHome", false;
    /// `kvConfigPath`: where KV config is persisted (`~/namesrv/kvConfig.json`).
    kv_config_path: PathBuf = home().join("namesrv").join("kvConfig.json"), "kvConfigPath", false;
    /// `configStorePath`: where runtime config updates are persisted.
    config_store_path: PathBuf = home().join("namesrv").join("namesrv.properties"), "configStorePath", false;
    /// `kvConfigMaxEntries` (FerroMQ, 10000): most KV pairs the name server keeps;
    /// PUT_KV_CONFIG of a new pair past it is refused with SYSTEM_ERROR.
    kv_config_max_entries: usize = 10_000, "kvConfigMaxEntries", false;
    /// `kvConfigMaxValueLength` (FerroMQ, 4096): longest KV value in bytes.
    kv_config_max_value_length: usize = 4096, "kvConfigMaxValueLength", false;
    /// `metricsExporterType` (DISABLE): `PROM` serves Prometheus text format at `/metrics`
    /// (FerroMQ only: Apache's name server exports no metrics).
    metrics_exporter_type: MetricsExporterType = MetricsExporterType::Disable, "metricsExporterType", false;
    /// `metricsPromExporterHost`: the metrics listener's address; empty (the default) =
    /// `bindAddress`.
    metrics_prom_exporter_host: String = String::new(), "metricsPromExporterHost", false;
    /// `metricsPromExporterPort` (5558: a broker on the same host has 5557).
    metrics_prom_exporter_port: u16 = 5558, "metricsPromExporterPort", false;
    /// `logFormat` (FerroMQ, `text`): `json` writes one JSON object per line; the
    /// `FERROMQ_LOG_FORMAT` environment variable wins when set.
    log_format: String = "text".to_owned(), "logFormat", false;
    /// `logDir` (FerroMQ, empty = standard error): the directory of `namesrv.log`, rolled at
    /// midnight UTC (`~/logs/rocketmqlogs` is Apache's place).
    log_dir: String = String::new(), "logDir", false;
    /// `logMaxFiles` (FerroMQ, 7): rolled log files kept.
    log_max_files: usize = 7, "logMaxFiles", false;
    /// `productEnvName`.
    product_env_name: String = "center".to_owned(), "productEnvName", false;
    /// `clusterTest`.
    cluster_test: bool = false, "clusterTest", true;
    /// `orderMessageEnable`: put `orderTopicConf` from KV config into routes.
    order_message_enable: bool = false, "orderMessageEnable", true;
    /// `returnOrderTopicConfigToBroker`: answer registrations with the ORDER_TOPIC_CONFIG table.
    return_order_topic_config_to_broker: bool = true, "returnOrderTopicConfigToBroker", true;
    /// `clientRequestThreadPoolNums` (accepted; tokio schedules requests).
    client_request_thread_pool_nums: i32 = 8, "clientRequestThreadPoolNums", false;
    /// `defaultThreadPoolNums` (accepted; tokio schedules requests).
    default_thread_pool_nums: i32 = 16, "defaultThreadPoolNums", false;
    /// `clientRequestThreadPoolQueueCapacity`: requests in flight per connection before
    /// SYSTEM_BUSY.
    client_request_thread_pool_queue_capacity: i32 = 50000, "clientRequestThreadPoolQueueCapacity", false;
    /// `defaultThreadPoolQueueCapacity` (accepted).
    default_thread_pool_queue_capacity: i32 = 10000, "defaultThreadPoolQueueCapacity", false;
    /// `scanNotActiveBrokerInterval` in ms: how often expired brokers are removed (5000).
    scan_not_active_broker_interval: u64 = 5000, "scanNotActiveBrokerInterval", true;
    /// `unRegisterBrokerQueueCapacity` (accepted).
    un_register_broker_queue_capacity: i32 = 3000, "unRegisterBrokerQueueCapacity", false;
    /// `supportActingMaster` (accepted; acting master is not implemented).
    support_acting_master: bool = false, "supportActingMaster", false;
    /// `enableAllTopicList`: allow GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
    enable_all_topic_list: bool = true, "enableAllTopicList", true;
    /// `enableTopicList`: allow GET_TOPICS_BY_CLUSTER and the unit topic lists.
    enable_topic_list: bool = true, "enableTopicList", true;
    /// `notifyMinBrokerIdChanged` (accepted).
    notify_min_broker_id_changed: bool = false, "notifyMinBrokerIdChanged", true;
    /// `notifyMinBrokerIdChangeTimeoutMillis` (accepted).
    notify_min_broker_id_change_timeout_millis: i64 = 3000, "notifyMinBrokerIdChangeTimeoutMillis", true;
    /// `enableControllerInNamesrv`: also run a controller (docs/controller.md) in `mqnamesrv`,
    /// on its own port, from the controller keys of the same file.
    enable_controller_in_namesrv: bool = false, "enableControllerInNamesrv", false;
    /// `needWaitForService`: answer route queries "not ready" right after start.
    need_wait_for_service: bool = false, "needWaitForService", true;
    /// `waitSecondsForService`: how long "not ready" lasts (45).
    wait_seconds_for_service: i32 = 45, "waitSecondsForService", true;
    /// `deleteTopicWithBrokerRegistration`: a master's registration replaces its topic set.
    delete_topic_with_broker_registration: bool = false, "deleteTopicWithBrokerRegistration", true;
    /// `configBlackList`: Apache's deny list, accepted for compatibility; FerroMQ allows only
    /// the runtime-safe keys whatever it says.
    config_black_list: String = "configBlackList;configStorePath;kvConfigPath".to_owned(), "configBlackList", false;
    /// `writeAllowList` (FerroMQ only; Apache's name server checks nothing): address rules,
    /// separated by `;`, of the clients that may register and unregister brokers and change KV
    /// config, the name server's config, brokers' write permission and topics; others are refused
    /// with NO_PERMISSION. Blank (the default): everyone may. Reads stay open. Read at start-up.
    write_allow_list: String = String::new(), "writeAllowList", false;
    /// `serverChannelMaxIdleTimeSeconds`: idle connections close after this (120).
    server_channel_max_idle_time_seconds: u64 = 120, "serverChannelMaxIdleTimeSeconds", false;
    /// `serverWorkerThreads` (accepted).
    server_worker_threads: i32 = 8, "serverWorkerThreads", false;
    /// `serverSelectorThreads` (accepted).
    server_selector_threads: i32 = 3, "serverSelectorThreads", false;
    /// `serverSocketSndBufSize` (accepted).
    server_socket_snd_buf_size: i32 = 0, "serverSocketSndBufSize", false;
    /// `serverSocketRcvBufSize` (accepted).
    server_socket_rcv_buf_size: i32 = 0, "serverSocketRcvBufSize", false;
    /// `bindAddress`: the address to listen on (`0.0.0.0`).
    bind_address: String = "0.0.0.0".to_owned(), "bindAddress", false;
    /// `frameMaxLength`: largest accepted frame in bytes (16 MiB), FerroMQ's name for Java's
    /// `com.rocketmq.remoting.frameMaxLength` system property.
    frame_max_length: u32 = 16 * 1024 * 1024, "frameMaxLength", false;
    // `serverChannelMaxIdleTimeSeconds` closes a connection that has received no complete frame
    // for that long while nothing is in flight, and cuts a frame that takes that long to arrive.
    // The WebSocket, connection-limit and write-buffer keys, and the TLS keys (Apache's
    // `TlsSystemConfig`, docs/tls.md, read from this file and then from `tls.config.file`), are
    // the ones every server shares: `server_settings!` appends them.
}
}

impl NamesrvConfig {
    /// Builds a config from properties text: defaults, then each key in the text.
    pub fn from_properties(text: &str) -> Result<(NamesrvConfig, LoadReport), ConfigError> {
        let mut config = NamesrvConfig::default();
        let report = config.apply_properties(text)?;
        Ok((config, report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_apache_keys_trims_and_reports_unknown() {
        let (c, report) = NamesrvConfig::from_properties(
            "listenPort = 19876 \norderMessageEnable=TRUE\nnoSuchKey=1\n",
        )
        .expect("valid");
        assert_eq!(c.listen_port, 19876);
        assert!(c.order_message_enable);
        assert_eq!(report.unknown_keys, vec!["noSuchKey".to_owned()]);
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = NamesrvConfig::from_properties("listenPort=abc\n").expect_err("bad port");
        assert_eq!(
            err.to_string(),
            "invalid value \"abc\" for `listenPort`: expected a number (u16)"
        );
        assert!(NamesrvConfig::from_properties("enableAllTopicList=yes\n").is_err());
    }

    #[test]
    fn runtime_updates_only_touch_safe_keys() {
        let mut c = NamesrvConfig::default();
        let ok = vec![("orderMessageEnable".to_owned(), "true".to_owned())];
        c.update_at_runtime(&ok).expect("safe key");
        assert!(c.order_message_enable);
        for key in [
            "kvConfigPath",
            "configStorePath",
            "configBlackList",
            "listenPort",
            "rocketmqHome",
            "bogus",
        ] {
            let before = c.clone();
            let bad = vec![
                ("enableAllTopicList".to_owned(), "false".to_owned()),
                (key.to_owned(), "/tmp/x".to_owned()),
            ];
            assert_eq!(
                c.update_at_runtime(&bad),
                Err(ConfigError::NotRuntimeUpdatable {
                    key: key.to_owned()
                })
            );
            assert!(c == before, "a rejected update changes nothing");
        }
    }

    #[test]
    fn transport_keys() {
        let c = NamesrvConfig::default();
        assert_eq!(
            (c.bind_address.as_str(), c.web_socket_bind_address()),
            ("0.0.0.0", "0.0.0.0")
        );
        assert_eq!(c.server_max_connections, 10_000);
        assert_eq!(
            (
                c.write_buffer_high_water_mark,
                c.write_buffer_low_water_mark
            ),
            (0, 0)
        );
        let (c, report) = NamesrvConfig::from_properties(
            "bindAddress=127.0.0.1\nwebSocketBindAddress=0.0.0.0\nserverMaxConnections=0\n\
             writeBufferHighWaterMark=131072\nwebSocketAllowedOrigins=http://h.example\n",
        )
        .expect("valid");
        assert!(report.unknown_keys.is_empty());
        assert_eq!(
            (c.bind_address.as_str(), c.web_socket_bind_address()),
            ("127.0.0.1", "0.0.0.0")
        );
        assert_eq!(c.server_max_connections, 0);
        assert_eq!(c.write_buffer_high_water_mark, 128 * 1024);
        assert_eq!(c.web_socket_allowed_origins, "http://h.example");
        let mut c = NamesrvConfig::default();
        for key in [
            "bindAddress",
            "webSocketAllowedOrigins",
            "serverMaxConnections",
        ] {
            let update = vec![(key.to_owned(), "1".to_owned())];
            assert!(
                c.update_at_runtime(&update).is_err(),
                "{key} is not runtime-safe"
            );
        }
    }

    #[test]
    fn properties_round_trip() {
        let c = NamesrvConfig {
            listen_port: 1234,
            ..NamesrvConfig::default()
        };
        let (back, report) =
            NamesrvConfig::from_properties(&c.to_properties()).expect("own output");
        assert!(report.unknown_keys.is_empty());
        assert!(back == c);
    }
}
