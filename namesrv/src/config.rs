//! Name server configuration: Apache's `NamesrvConfig` and `NettyServerConfig` keys.
//!
//! Read from a properties file (`mqnamesrv -c namesrv.properties`); values are trimmed; an
//! unknown key is reported as a warning and a bad value stops start-up with the key named.
//! At run time (UPDATE_NAMESRV_CONFIG) only the keys marked runtime-safe may change: nothing that
//! names a path or a port can be changed remotely (Apache's CVE-2023-37582 came from that).

use std::fmt;
use std::path::PathBuf;

/// A config value that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The value does not parse as the key's type.
    #[error("invalid value {value:?} for `{key}`: expected {expected}")]
    BadValue {
        /// The key.
        key: String,
        /// The offending value.
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
    /// The key may not change while the name server runs.
    #[error("`{key}` cannot be changed at run time")]
    NotRuntimeUpdatable {
        /// The key.
        key: String,
    },
}

trait ConfigValue: Sized {
    const EXPECTED: &'static str;
    fn parse_value(s: &str) -> Option<Self>;
    fn render(&self) -> String;
}

impl ConfigValue for bool {
    const EXPECTED: &'static str = "true or false";
    fn parse_value(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl ConfigValue for $t {
            const EXPECTED: &'static str = concat!("an integer (", stringify!($t), ")");
            fn parse_value(s: &str) -> Option<Self> {
                s.parse().ok()
            }
            fn render(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
int_value!(u16, i32, u32, i64, u64);

impl ConfigValue for String {
    const EXPECTED: &'static str = "text";
    fn parse_value(s: &str) -> Option<Self> {
        Some(s.to_owned())
    }
    fn render(&self) -> String {
        self.clone()
    }
}

impl ConfigValue for PathBuf {
    const EXPECTED: &'static str = "a path";
    fn parse_value(s: &str) -> Option<Self> {
        (!s.is_empty()).then(|| PathBuf::from(s))
    }
    fn render(&self) -> String {
        self.display().to_string()
    }
}

macro_rules! config {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty = $default:expr, $key:literal, $runtime:literal; )*) => {
        /// Name server settings (Apache key names in the docs of each field).
        #[derive(Clone, PartialEq)]
        pub struct NamesrvConfig {
            $( $(#[$doc])* pub $field: $ty, )*
        }

        impl Default for NamesrvConfig {
            fn default() -> Self {
                NamesrvConfig { $( $field: $default, )* }
            }
        }

        impl NamesrvConfig {
            /// Every key this name server understands.
            pub const KEYS: &'static [&'static str] = &[$($key),*];

            /// Keys that UPDATE_NAMESRV_CONFIG may change.
            pub const RUNTIME_KEYS: &'static [&'static str] = &[$( $key, )*];

            /// Sets `key` from text. `Ok(false)` means the key is unknown.
            pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
                let value = value.trim();
                match key.trim() {
                    $( $key => {
                        self.$field = <$ty as ConfigValue>::parse_value(value).ok_or_else(|| {
                            ConfigError::BadValue {
                                key: $key.to_owned(),
                                value: value.to_owned(),
                                expected: <$ty as ConfigValue>::EXPECTED,
                            }
                        })?;
                        Ok(true)
                    } )*
                    _ => Ok(false),
                }
            }

            /// Whether `key` may change at run time.
            pub fn is_runtime_updatable(key: &str) -> bool {
                match key.trim() {
                    $( $key => $runtime, )*
                    _ => false,
                }
            }

            /// Every setting as `(key, value)` text, in a stable order.
            pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
                vec![ $( ($key, ConfigValue::render(&self.$field)), )* ]
            }
        }
    };
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

config! {
    /// `listenPort`: the TCP port (Apache default 9876).
    listen_port: u16 = 9876, "listenPort", false;
    /// `rocketmqHome`: install directory (informational).
    rocketmq_home: String = std::env::var("ROCKETMQ_HOME").unwrap_or_default(), "rocketmqHome", false;
    /// `kvConfigPath`: where KV config is persisted (`~/namesrv/kvConfig.json`).
    kv_config_path: PathBuf = home().join("namesrv").join("kvConfig.json"), "kvConfigPath", false;
    /// `configStorePath`: where runtime config updates are persisted.
    config_store_path: PathBuf = home().join("namesrv").join("namesrv.properties"), "configStorePath", false;
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
    /// `enableControllerInNamesrv` (accepted; the controller is not implemented).
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
}

impl fmt::Debug for NamesrvConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.to_pairs() {
            m.entry(&k, &v);
        }
        m.finish()
    }
}

/// What loading a properties file found besides the settings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// Keys this name server does not know (ignored).
    pub unknown_keys: Vec<String>,
}

impl NamesrvConfig {
    /// Builds a config from properties text: defaults, then each key in the text.
    pub fn from_properties(text: &str) -> Result<(NamesrvConfig, LoadReport), ConfigError> {
        let mut config = NamesrvConfig::default();
        let mut report = LoadReport::default();
        for (k, v) in ferromq_protocol::java_properties::parse(text) {
            if !config.set(&k, &v)? {
                report.unknown_keys.push(k);
            }
        }
        Ok((config, report))
    }

    /// Applies a runtime update (UPDATE_NAMESRV_CONFIG): all keys are checked first, so a
    /// rejected update changes nothing. Unknown keys are rejected too.
    pub fn update_at_runtime(&mut self, pairs: &[(String, String)]) -> Result<(), ConfigError> {
        let mut next = self.clone();
        for (k, v) in pairs {
            if !NamesrvConfig::is_runtime_updatable(k) {
                return Err(ConfigError::NotRuntimeUpdatable { key: k.clone() });
            }
            next.set(k, v)?;
        }
        *self = next;
        Ok(())
    }

    /// The config as properties text (what `-p` prints and GET_NAMESRV_CONFIG returns).
    pub fn to_properties(&self) -> String {
        ferromq_protocol::java_properties::to_string(self.to_pairs())
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
            "invalid value \"abc\" for `listenPort`: expected an integer (u16)"
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
