//! Broker settings: Apache's `BrokerConfig` / `NettyServerConfig` keys (docs/architecture.md,
//! "Configuration").
//!
//! One properties file configures both the broker ([`BrokerConfig`]) and its store
//! ([`StoreConfig`]), as Apache applies one file to every config object. Values are trimmed, a
//! key neither knows is reported, and a bad value stops start-up naming the key.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};

use ferromq_common::settings::{LoadReport, SettingError, SettingValue};
use ferromq_store::StoreConfig;

/// A broker's role in replication (`brokerRole`, Apache's names; docs/protocol.md,
/// "Replication").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerRole {
    /// `ASYNC_MASTER` (the default): a master; slaves copy its commitlog in the background.
    AsyncMaster,
    /// `SYNC_MASTER`: a master whose sends are acknowledged once a slave has the message too
    /// (FLUSH_SLAVE_TIMEOUT after `slaveTimeout`, SLAVE_NOT_AVAILABLE without a slave in sync).
    SyncMaster,
    /// `SLAVE`: copies its master's commitlog, serves reads, refuses writes, and runs none of
    /// the master's services (delay levels, timers, transaction check-backs).
    Slave,
}

impl BrokerRole {
    /// Whether this broker takes writes.
    pub fn is_master(self) -> bool {
        self != BrokerRole::Slave
    }
}

impl SettingValue for BrokerRole {
    const EXPECTED: &'static str = "ASYNC_MASTER, SYNC_MASTER or SLAVE";
    fn parse_setting(s: &str) -> Option<Self> {
        match s {
            "ASYNC_MASTER" => Some(BrokerRole::AsyncMaster),
            "SYNC_MASTER" => Some(BrokerRole::SyncMaster),
            "SLAVE" => Some(BrokerRole::Slave),
            _ => None,
        }
    }
    fn render_setting(&self) -> String {
        match self {
            BrokerRole::AsyncMaster => "ASYNC_MASTER",
            BrokerRole::SyncMaster => "SYNC_MASTER",
            BrokerRole::Slave => "SLAVE",
        }
        .to_owned()
    }
}

/// Keys UPDATE_BROKER_CONFIG never changes, whatever they are: Apache's `configBlackList`
/// (`brokerConfigPath`, `rocketmqHome`, `configBlackList`) and every key naming a path, a
/// port, an address or the broker's identity, so no admin request can point the broker at a
/// file, a command or another network (the CVE-2023-33246 / -37582 class).
pub const CONFIG_BLACKLIST: &[&str] = &[
    "brokerConfigPath",
    "rocketmqHome",
    "configBlackList",
    "brokerClusterName",
    "brokerName",
    "brokerId",
    "brokerRole",
    "brokerIP1",
    "brokerIP2",
    "listenPort",
    "haListenPort",
    "haMasterAddress",
    "bindAddress",
    "webSocketListenPort",
    "grpcServerPort",
    "webSocketBindAddress",
    "webSocketAllowedOrigins",
    "metricsExporterType",
    "metricsPromExporterHost",
    "metricsPromExporterPort",
    "logDir",
    "storePathRootDir",
    "storePathCommitLog",
    "storePathConsumeQueue",
    "storePathIndex",
    "aclFilePath",
    "enableControllerMode",
    "controllerAddr",
    "storePathEpochFile",
    "storePathBrokerIdentity",
];

pub use ferromq_common::settings::MetricsExporterType;

/// The address other hosts reach this one at: the local side of a route to a public address
/// (no packet is sent), else loopback.
fn local_ip() -> String {
    UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|()| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .to_string()
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "DEFAULT_BROKER".to_owned())
}

ferromq_remoting::server_settings! {
    [transport, server_tls, client_tls]
    /// Broker settings under Apache's key names.
    pub struct BrokerConfig {
        /// `brokerClusterName` (DefaultCluster).
        broker_cluster_name: String = "DefaultCluster".to_owned(), "brokerClusterName", false;
        /// `brokerName` (the host name).
        broker_name: String = host_name(), "brokerName", false;
        /// `brokerId`: 0 for a master.
        broker_id: i64 = 0, "brokerId", false;
        /// `namesrvAddr`: `;`-separated name servers (or the NAMESRV_ADDR environment variable).
        namesrv_addr: String = std::env::var("NAMESRV_ADDR").unwrap_or_default(), "namesrvAddr", true;
        /// `listenPort` (10911); the broker also listens on listenPort - 2 (Apache's fast port).
        listen_port: u16 = 10911, "listenPort", false;
        /// `webSocketListenPort` (FerroMQ only): a port serving the same requests over
        /// WebSocket, for browser clients; 0 (the default) turns it off. Registered in the name
        /// servers' KV config (namespace `FERROMQ_WEBSOCKET`, key = the broker address).
        web_socket_listen_port: u16 = 0, "webSocketListenPort", false;
        /// `grpcServerPort` (Apache's proxy key): when set, `mqbroker` serves the 5.x gRPC
        /// `MessagingService` on this port (the proxy in "local" mode, docs/grpc.md); 0 (the
        /// default) turns it off.
        grpc_server_port: u16 = 0, "grpcServerPort", false;
        /// `minInvisibleTimeMillsForRecv` (Apache's proxy key, 10 s): the shortest invisible
        /// duration a gRPC receive may ask for.
        min_invisible_time_mills_for_recv: i64 = 10_000, "minInvisibleTimeMillsForRecv", true;
        /// `brokerIP1`: the address registered and stamped into message ids.
        broker_ip1: String = local_ip(), "brokerIP1", false;
        /// `brokerIP2`: the HA address.
        broker_ip2: String = local_ip(), "brokerIP2", false;
        /// `haListenPort` (listenPort + 1 when 0).
        ha_listen_port: u16 = 0, "haListenPort", false;
        /// `brokerRole` (`ASYNC_MASTER`): see [`BrokerRole`].
        broker_role: BrokerRole = BrokerRole::AsyncMaster, "brokerRole", false;
        /// `haMasterAddress`: a slave's master HA address (`host:port`); empty (the default)
        /// to learn it from the name servers' registration answer, as Apache's slaves do.
        ha_master_address: String = String::new(), "haMasterAddress", false;
        /// `haSendHeartbeatInterval` (5000 ms): a slave reports its offset at least this often;
        /// a master with nothing to send sends an empty frame this often.
        ha_send_heartbeat_interval: u64 = 5000, "haSendHeartbeatInterval", true;
        /// `haHousekeepingInterval` (20000 ms): an HA connection silent this long is closed.
        ha_housekeeping_interval: u64 = 20_000, "haHousekeepingInterval", true;
        /// `haTransferBatchSize` (32768): most commitlog bytes in one HA frame.
        ha_transfer_batch_size: usize = 32 * 1024, "haTransferBatchSize", true;
        /// `haMaxGapNotInSync` (256 MiB): a slave further behind than this is not in sync, and a
        /// SYNC_MASTER answers SLAVE_NOT_AVAILABLE rather than wait for it.
        ha_max_gap_not_in_sync: u64 = 256 * 1024 * 1024, "haMaxGapNotInSync", true;
        /// `slaveTimeout` (3000 ms): how long a SYNC_MASTER send waits for a slave's ack before
        /// answering FLUSH_SLAVE_TIMEOUT.
        slave_timeout: u64 = 3000, "slaveTimeout", true;
        /// `inSyncReplicas` (1): copies, the master's included, a SYNC_MASTER send waits for.
        /// Unlike Apache 5.x (where 1 makes SYNC_MASTER asynchronous), a SYNC_MASTER always
        /// waits for at least one slave: `max(inSyncReplicas - 1, 1)` slave acks.
        in_sync_replicas: u32 = 1, "inSyncReplicas", true;

        // ---- Controller mode (Apache 5.x RIP-44; docs/controller.md, "Brokers in controller
        // mode"). Checked together at start-up (`crate::replicas::check_settings`). ----
        /// `enableControllerMode` (false): the controllers (`controllerAddr`) assign this broker's
        /// id and decide whether it is the master of its set; `brokerRole` and `brokerId` are then
        /// only where it starts (a slave until the controllers say otherwise).
        enable_controller_mode: bool = false, "enableControllerMode", false;
        /// `controllerAddr`: `;`-separated controller addresses (`host:port`).
        controller_addr: String = String::new(), "controllerAddr", false;
        /// `fetchControllerAddrByDnsLookup` (false): accepted; FerroMQ resolves every
        /// `controllerAddr` host name when it connects, so there is nothing more to look up.
        fetch_controller_addr_by_dns_lookup: bool = false, "fetchControllerAddrByDnsLookup", false;
        /// `syncBrokerMetadataPeriod` (5000 ms): how often the broker asks the controller for its
        /// set's master and sync state set (a missed NOTIFY_BROKER_ROLE_CHANGED is caught up).
        sync_broker_metadata_period: u64 = 5000, "syncBrokerMetadataPeriod", true;
        /// `checkSyncStateSetPeriod` (5000 ms): how often a master shrinks its sync state set of
        /// slaves that fell behind.
        check_sync_state_set_period: u64 = 5000, "checkSyncStateSetPeriod", true;
        /// `syncControllerMetadataPeriod` (10000 ms): how often the broker looks for the
        /// controller leader again.
        sync_controller_metadata_period: u64 = 10_000, "syncControllerMetadataPeriod", true;
        /// `controllerHeartBeatTimeoutMills` (10000 ms): the heartbeat timeout the broker asks
        /// the controllers to apply to it.
        controller_heart_beat_timeout_mills: u64 = 10_000, "controllerHeartBeatTimeoutMills", true;
        /// `brokerHeartbeatInterval` (1000 ms): how often the broker heartbeats to the controllers.
        broker_heartbeat_interval: u64 = 1000, "brokerHeartbeatInterval", true;
        /// `brokerElectionPriority` (Integer.MAX_VALUE): lower wins a tied election.
        broker_election_priority: i32 = i32::MAX, "brokerElectionPriority", true;
        /// `allAckInSyncStateSet` (false): in controller mode a send is acknowledged only once
        /// every member of the sync state set has it.
        all_ack_in_sync_state_set: bool = false, "allAckInSyncStateSet", true;
        /// `minInSyncReplicas` (1): with `allAckInSyncStateSet`, a sync state set smaller than
        /// this refuses sends (IN_SYNC_REPLICAS_NOT_ENOUGH).
        min_in_sync_replicas: u32 = 1, "minInSyncReplicas", true;
        /// `haMaxTimeSlaveNotCatchup` (15000 ms): a slave of the sync state set that has not
        /// caught up with the master for this long is removed from it.
        ha_max_time_slave_not_catchup: u64 = 15_000, "haMaxTimeSlaveNotCatchup", true;
        /// `storePathEpochFile`: the epoch file; empty (the default) =
        /// `<storePathRootDir>/epochFileCheckpoint`, as Apache.
        store_path_epoch_file: String = String::new(), "storePathEpochFile", false;
        /// `storePathBrokerIdentity`: the file holding the id the controllers gave this broker;
        /// empty (the default) = `<storePathRootDir>/brokerIdentity`, as Apache.
        store_path_broker_identity: String = String::new(), "storePathBrokerIdentity", false;
        /// `syncFromLastFile` (false): a new replica in controller mode asks its master for the
        /// last commitlog file only, not the whole log.
        sync_from_last_file: bool = false, "syncFromLastFile", false;
        /// `enableDLegerCommitLog` (false): Apache's DLedger commitlog, which FerroMQ does not
        /// have; accepted only as false with `enableControllerMode` (the two exclude each other).
        enable_dleger_commit_log: bool = false, "enableDLegerCommitLog", false;
        /// `brokerPermission` (6 = read + write).
        broker_permission: i32 = 6, "brokerPermission", true;
        /// `autoCreateTopicEnable` (true): unknown topics are created from `TBW102` on send.
        auto_create_topic_enable: bool = true, "autoCreateTopicEnable", true;
        /// `autoCreateSubscriptionGroup` (true).
        auto_create_subscription_group: bool = true, "autoCreateSubscriptionGroup", true;
        /// `defaultTopicQueueNums` (8): queues of `TBW102` (a run-time change resizes it).
        default_topic_queue_nums: i32 = 8, "defaultTopicQueueNums", true;
        /// `registerNameServerPeriod` ms (30000, clamped to 10-60 s).
        register_name_server_period: u64 = 30_000, "registerNameServerPeriod", true;
        /// `regionId` (DefaultRegion), returned in send responses.
        region_id: String = "DefaultRegion".to_owned(), "regionId", true;
        /// `traceOn` (true), returned in send responses.
        trace_on: bool = true, "traceOn", true;
        /// `recallMessageEnable` (false, as Apache): RECALL_MESSAGE is served; off, it is
        /// refused with NO_PERMISSION (send answers carry recall handles either way).
        recall_message_enable: bool = false, "recallMessageEnable", true;
        /// `allowRecallWhenBrokerNotWriteable` (true): RECALL_MESSAGE is served while
        /// `brokerPermission` forbids writes.
        allow_recall_when_broker_not_writeable: bool = true, "allowRecallWhenBrokerNotWriteable", true;
        /// `traceTopicEnable` (false): create the message trace topic (`msgTraceTopicName`,
        /// one queue) at start-up, as Apache's `TopicConfigManager` does (docs/message-trace.md).
        trace_topic_enable: bool = false, "traceTopicEnable", false;
        /// `msgTraceTopicName` (`RMQ_SYS_TRACE_TOPIC`): the trace topic `traceTopicEnable`
        /// creates; must be a legal topic name.
        msg_trace_topic_name: String = "RMQ_SYS_TRACE_TOPIC".to_owned(), "msgTraceTopicName", false;
        /// `storeReplyMessageEnable` (true): a request-reply reply is stored in the reply topic
        /// as well as pushed to its requester.
        store_reply_message_enable: bool = true, "storeReplyMessageEnable", true;
        /// `longPollingEnable` (true).
        long_polling_enable: bool = true, "longPollingEnable", true;
        /// `slaveReadEnable` (false): pull answers may send consumers to a slave
        /// (`suggestWhichBrokerId`): one far behind to the group's `whichBrokerWhenConsumeSlowly`,
        /// others to its `brokerId`. Off, they are always sent to the master. FerroMQ's slaves
        /// serve pulls either way (Apache 5.x's refuse them when this is off).
        slave_read_enable: bool = false, "slaveReadEnable", true;
        /// `offsetCheckInSlave` (false): whether a slave corrects a pull's offset when its queue
        /// does not hold it (too small, too large, no such queue). Off, a slave answers with
        /// the offset the consumer asked for: a slave behind its master must not move consumers
        /// back.
        offset_check_in_slave: bool = false, "offsetCheckInSlave", true;
        /// `shortPollingTimeMills` (1000): hold time when long polling is off.
        short_polling_time_mills: u64 = 1000, "shortPollingTimeMills", true;
        /// `notifyConsumerIdsChangedEnable` (true).
        notify_consumer_ids_changed_enable: bool = true, "notifyConsumerIdsChangedEnable", true;
        /// `channelExpiredTimeout` ms (120000): clients silent this long are dropped.
        channel_expired_timeout: u64 = 120_000, "channelExpiredTimeout", true;
        /// `flushConsumerOffsetInterval` ms (5000).
        flush_consumer_offset_interval: u64 = 5000, "flushConsumerOffsetInterval", true;
        /// `enablePropertyFilter` (false): SQL92 subscriptions.
        enable_property_filter: bool = false, "enablePropertyFilter", true;
        /// `transactionTimeOut` ms (6000; note Apache's capital O): half messages younger than
        /// this are not checked back.
        transaction_time_out: u64 = 6000, "transactionTimeOut", true;
        /// `transactionCheckMax` (15): check-backs before a half message is discarded.
        transaction_check_max: i32 = 15, "transactionCheckMax", true;
        /// `transactionCheckInterval` ms (30000): how often half messages are checked.
        transaction_check_interval: u64 = 30_000, "transactionCheckInterval", true;
        /// `rejectTransactionMessage` (false).
        reject_transaction_message: bool = false, "rejectTransactionMessage", true;
        /// `maxTopicQueueNums` (FerroMQ, 1024): the most read or write queues a topic may have;
        /// UPDATE_AND_CREATE_TOPIC asking for more is refused with INVALID_PARAMETER (clients
        /// build one object per queue, and the route carries them all).
        max_topic_queue_nums: i32 = 1024, "maxTopicQueueNums", true;
        /// `topicAutoCreateMaxPerSecond` (FerroMQ, 100): topics created by sends to unknown
        /// topics (`autoCreateTopicEnable`), per second; past it such sends get SYSTEM_BUSY.
        topic_auto_create_max_per_second: u32 = 100, "topicAutoCreateMaxPerSecond", true;
        /// `subscriptionGroupAutoCreateMaxPerSecond` (FerroMQ, 100): groups created by heartbeats,
        /// pulls and send-backs of unknown groups (`autoCreateSubscriptionGroup`), per second;
        /// past it those requests are refused with SYSTEM_BUSY.
        subscription_group_auto_create_max_per_second: u32 = 100, "subscriptionGroupAutoCreateMaxPerSecond", true;
        /// `heartbeatMaxGroups` (FerroMQ, 1024): consumer plus producer groups in one heartbeat;
        /// a larger heartbeat is refused with SYSTEM_ERROR.
        heartbeat_max_groups: usize = 1024, "heartbeatMaxGroups", true;
        /// `compressedRegister` (false): send REGISTER_BROKER bodies zlib-compressed. FerroMQ
        /// also compresses any body over 1 MiB, so a broker with many topics stays under the
        /// name servers' frame limit (the compressed form drops `order` and `topicSysFlag`,
        /// which the name server does not keep either).
        compressed_register: bool = false, "compressedRegister", true;
        /// `heartbeatMaxSubscriptions` (FerroMQ, 1024): subscriptions of one consumer group in a
        /// heartbeat; a larger heartbeat is refused with SYSTEM_ERROR.
        heartbeat_max_subscriptions: usize = 1024, "heartbeatMaxSubscriptions", true;

        // ---- POP consumption (docs/pop.md). ----
        /// `reviveQueueNum` (8): revive queue ids handed out round robin in POP handles.
        revive_queue_num: i32 = 8, "reviveQueueNum", true;
        /// `reviveInterval` ms (1000): how often the revive task looks for expired pops (it
        /// also wakes when the earliest one is due).
        revive_interval: u64 = 1000, "reviveInterval", true;
        /// `popFromRetryProbability` (20): percent of pops that read the pop retry topic first.
        pop_from_retry_probability: i32 = 20, "popFromRetryProbability", true;
        /// `enableRetryTopicV2` (false): revived messages go to `%RETRY%group+topic` instead of
        /// `%RETRY%group_topic`.
        enable_retry_topic_v2: bool = false, "enableRetryTopicV2", true;
        /// `retrieveMessageFromPopRetryTopicV1` (true): with v2 on, still read the v1 topic.
        retrieve_message_from_pop_retry_topic_v1: bool = true, "retrieveMessageFromPopRetryTopicV1", true;
        /// `maxPopPollingSize` (100000): pops parked for long polling at most; past it POLLING_FULL.
        max_pop_polling_size: usize = 100_000, "maxPopPollingSize", true;
        /// `serverLoadBalancerEnable` (true): QUERY_ASSIGNMENT allocates queues among the
        /// group's consumers; off, every consumer gets every queue.
        server_load_balancer_enable: bool = true, "serverLoadBalancerEnable", true;
        /// `defaultMessageRequestMode` (PULL): the mode QUERY_ASSIGNMENT hands out for a
        /// (topic, group) without one set by SET_MESSAGE_REQUEST_MODE; `POP` switches every
        /// group's Java push consumers (with `clientRebalance=false`) to POP.
        default_message_request_mode: String = "PULL".to_owned(), "defaultMessageRequestMode", true;
        /// `defaultPopShareQueueNum` (-1): the POP share number with the default POP mode
        /// (-1: every consumer pops every queue).
        default_pop_share_queue_num: i32 = -1, "defaultPopShareQueueNum", true;

        // ---- ACL 1.0 (docs/security.md). ----
        /// `aclEnable` (false): check every request on the remoting ports against the ACL file
        /// (accounts, signatures, topic and group permissions), as Apache's `PlainAccessValidator`.
        /// A missing or invalid file then stops start-up.
        acl_enable: bool = false, "aclEnable", false;
        /// `aclFilePath` (FerroMQ only): the ACL file; empty (the default) =
        /// `$ROCKETMQ_HOME/conf/plain_acl.yml` when `rocketmqHome` / ROCKETMQ_HOME is set, else
        /// `plain_acl.yml` beside the config file given with `-c`; the `*.yml` files of the
        /// `acl/` directory beside it are read too. Read again when they change.
        acl_file_path: String = String::new(), "aclFilePath", false;
        /// `brokerConfigPath`: the config file the broker was started with (`mqbroker -c` sets
        /// it), where the ACL file is looked for by default.
        broker_config_path: String = String::new(), "brokerConfigPath", false;

        // ---- ACL 2.0 (Apache 5.3's `AuthConfig` keys; docs/security.md, "ACL 2.0"). ----
        /// `authenticationEnabled` (false): every request must be signed by a known, enabled
        /// user (whitelisted codes aside).
        authentication_enabled: bool = false, "authenticationEnabled", false;
        /// `authenticationProvider`: empty or Apache's `DefaultAuthenticationProvider` class
        /// name (also `default`); anything else stops start-up.
        authentication_provider: String = String::new(), "authenticationProvider", false;
        /// `authenticationMetadataProvider`: empty or Apache's
        /// `LocalAuthenticationMetadataProvider` (also `local`): users in
        /// `<storePathRootDir>/config/users.json`.
        authentication_metadata_provider: String = String::new(), "authenticationMetadataProvider", false;
        /// `authenticationStrategy`: empty or Apache's stateless / stateful strategy class;
        /// FerroMQ checks every request either way.
        authentication_strategy: String = String::new(), "authenticationStrategy", false;
        /// `authenticationWhitelist`: comma-separated request codes that skip authentication.
        authentication_whitelist: String = String::new(), "authenticationWhitelist", false;
        /// `initAuthenticationUser`: `{"username":"..","password":".."}`, a super user created
        /// at start when it does not exist.
        init_authentication_user: String = String::new(), "initAuthenticationUser", false;
        /// `innerClientAuthenticationCredentials`: `{"accessKey":"..","secretKey":".."}`, a
        /// super user created at start when missing, and the credentials the broker signs its
        /// own requests with (a slave copying its master's tables).
        inner_client_authentication_credentials: String = String::new(), "innerClientAuthenticationCredentials", false;
        /// `authorizationEnabled` (false): every request's resources are checked against the
        /// user's ACL (super users pass).
        authorization_enabled: bool = false, "authorizationEnabled", false;
        /// `authorizationProvider`: empty or Apache's `DefaultAuthorizationProvider` (also
        /// `default`).
        authorization_provider: String = String::new(), "authorizationProvider", false;
        /// `authorizationMetadataProvider`: empty or Apache's
        /// `LocalAuthorizationMetadataProvider` (also `local`): ACLs in
        /// `<storePathRootDir>/config/acls.json`.
        authorization_metadata_provider: String = String::new(), "authorizationMetadataProvider", false;
        /// `authorizationStrategy`: as `authenticationStrategy`.
        authorization_strategy: String = String::new(), "authorizationStrategy", false;
        /// `authorizationWhitelist`: comma-separated request codes that skip authorization.
        authorization_whitelist: String = String::new(), "authorizationWhitelist", false;
        /// `migrateAuthFromV1Enabled` (false): at start, the accounts of `plain_acl.yml` become
        /// users and ACLs (accounts whose user exists are left alone).
        migrate_auth_from_v1_enabled: bool = false, "migrateAuthFromV1Enabled", false;
        /// Apache's cache sizes and times (`userCacheMaxNum` ...): accepted, no effect (FerroMQ
        /// keeps every user and ACL in memory).
        user_cache_max_num: u64 = 1000, "userCacheMaxNum", false;
        /// Accepted, no effect (see `userCacheMaxNum`).
        user_cache_expired_second: u64 = 600, "userCacheExpiredSecond", false;
        /// Accepted, no effect (see `userCacheMaxNum`).
        user_cache_refresh_second: u64 = 60, "userCacheRefreshSecond", false;
        /// Accepted, no effect (see `userCacheMaxNum`).
        acl_cache_max_num: u64 = 1000, "aclCacheMaxNum", false;
        /// Accepted, no effect (see `userCacheMaxNum`).
        acl_cache_expired_second: u64 = 600, "aclCacheExpiredSecond", false;
        /// Accepted, no effect (see `userCacheMaxNum`).
        acl_cache_refresh_second: u64 = 60, "aclCacheRefreshSecond", false;
        /// Accepted, no effect (see `userCacheMaxNum`).
        stateful_authentication_cache_max_num: u64 = 10_000, "statefulAuthenticationCacheMaxNum", false;
        /// Accepted, no effect (see `userCacheMaxNum`).
        stateful_authentication_cache_expired_second: u64 = 60, "statefulAuthenticationCacheExpiredSecond", false;
        /// Accepted, no effect (see `userCacheMaxNum`).
        stateful_authorization_cache_max_num: u64 = 10_000, "statefulAuthorizationCacheMaxNum", false;
        /// Accepted, no effect (see `userCacheMaxNum`).
        stateful_authorization_cache_expired_second: u64 = 60, "statefulAuthorizationCacheExpiredSecond", false;

        // ---- Metrics (docs/architecture.md, "Metrics"). ----
        /// `metricsExporterType` (DISABLE): `PROM` serves Prometheus text format.
        metrics_exporter_type: MetricsExporterType = MetricsExporterType::Disable, "metricsExporterType", false;
        /// `metricsPromExporterHost`: the metrics listener's address; empty (the default) =
        /// `brokerIP1`, as Apache.
        metrics_prom_exporter_host: String = String::new(), "metricsPromExporterHost", false;
        /// `metricsPromExporterPort` (5557).
        metrics_prom_exporter_port: u16 = 5557, "metricsPromExporterPort", false;
        /// `metricsMaxSeries` (FerroMQ only, 1000): most topics (and, separately, topic and group
        /// pairs) given series of their own; the rest are summed under `topic="_other_"`, so a
        /// client creating topics cannot grow the scrape without bound.
        metrics_max_series: usize = 1000, "metricsMaxSeries", true;

        // ---- Logs (docs/architecture.md, "Logs"). ----
        /// `logFormat` (FerroMQ, `text`): `json` writes one JSON object per line; the
        /// `FERROMQ_LOG_FORMAT` environment variable wins when set.
        log_format: String = "text".to_owned(), "logFormat", false;
        /// `logDir` (FerroMQ, empty = standard error): the directory of `broker.log`, rolled at
        /// midnight UTC (`~/logs/rocketmqlogs` is Apache's place).
        log_dir: String = String::new(), "logDir", false;
        /// `logMaxFiles` (FerroMQ, 7): rolled log files kept.
        log_max_files: usize = 7, "logMaxFiles", false;
        /// `serverChannelMaxIdleTimeSeconds` (120).
        server_channel_max_idle_time_seconds: u64 = 120, "serverChannelMaxIdleTimeSeconds", false;
        /// `sendMessageThreadPoolNums` (accepted, no effect: tokio schedules sends).
        send_message_thread_pool_nums: i32 = 4, "sendMessageThreadPoolNums", true;
        /// `pullMessageThreadPoolNums` (accepted, no effect).
        pull_message_thread_pool_nums: i32 = 20, "pullMessageThreadPoolNums", true;
        /// `sendThreadPoolQueueCapacity`: requests in flight per connection before SYSTEM_BUSY.
        send_thread_pool_queue_capacity: i32 = 10_000, "sendThreadPoolQueueCapacity", false;
        /// `rocketmqHome` (accepted).
        rocketmq_home: String = std::env::var("ROCKETMQ_HOME").unwrap_or_default(), "rocketmqHome", false;

        // ---- Transport: listeners, connection limits and backpressure. ----
        // `serverChannelMaxIdleTimeSeconds` (above) closes a connection that has received no
        // complete frame for that long while nothing is in flight, and cuts a frame that takes
        // that long to arrive. The WebSocket, connection-limit and write-buffer keys, and the
        // TLS keys (Apache's `TlsSystemConfig`, docs/tls.md, read from this file and then from
        // `tls.config.file`), are the ones every server shares: `server_settings!` appends them.

        /// `bindAddress` (Apache's `NettyServerConfig`, `0.0.0.0`): the address the remoting
        /// port (`listenPort`) and the fast port (`listenPort - 2`) listen on.
        bind_address: String = "0.0.0.0".to_owned(), "bindAddress", false;
    }
}

/// Keys Apache removed long ago that old sample configs still carry; accepted and ignored.
const IGNORED_LEGACY_KEYS: &[&str] = &[
    "storePathConsumeQueue",
    "storePathIndex",
    "storeCheckpoint",
    "abortFile",
    "checkTransactionMessageEnable",
];

impl BrokerConfig {
    /// The address clients use: `brokerIP1:listenPort`.
    pub fn broker_addr(&self) -> String {
        format!("{}:{}", self.broker_ip1, self.listen_port)
    }

    /// The HA port: `haListenPort`, or `listenPort + 1` when it is 0.
    pub fn ha_port(&self) -> u16 {
        match self.ha_listen_port {
            0 => self.listen_port.saturating_add(1),
            port => port,
        }
    }

    /// The HA address: `brokerIP2:haListenPort`.
    pub fn ha_addr(&self) -> String {
        format!("{}:{}", self.broker_ip2, self.ha_port())
    }

    /// The name servers.
    pub fn namesrv_addrs(&self) -> Vec<String> {
        self.namesrv_addr
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// Everything a broker is configured with.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Broker keys.
    pub broker: BrokerConfig,
    /// Store keys.
    pub store: StoreConfig,
}

impl Settings {
    /// Applies properties text to both configs. Keys neither knows are reported; Apache's long
    /// removed keys are accepted and ignored (also reported, as renamed to nothing).
    pub fn apply_properties(&mut self, text: &str) -> Result<LoadReport, SettingError> {
        let mut report = LoadReport::default();
        for (k, v) in ferromq_common::java_properties::parse(text) {
            let key = k.trim();
            if let Some(canonical) = self.broker.set_key(key, &v)? {
                if canonical != key {
                    report.renamed_keys.push((k.clone(), canonical));
                }
                continue;
            }
            match self.store.set_key(key, &v)? {
                Some(canonical) if canonical != key => {
                    report.renamed_keys.push((k.clone(), canonical))
                }
                Some(_) => {}
                None if IGNORED_LEGACY_KEYS.contains(&key) => {
                    report.renamed_keys.push((k.clone(), "(ignored)"))
                }
                None => report.unknown_keys.push(k.clone()),
            }
        }
        // Apache: a master is always id 0 (in controller mode the controllers assign ids).
        if self.broker.broker_role != BrokerRole::Slave && !self.broker.enable_controller_mode {
            self.broker.broker_id = 0;
        }
        Ok(report)
    }

    /// Every setting as properties text (`mqbroker -p`).
    pub fn to_properties(&self) -> String {
        let mut text = self.broker.to_properties();
        text.push_str(&self.store.to_properties());
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_configures_broker_and_store() {
        let mut s = Settings::default();
        let report = s
            .apply_properties(
                "brokerClusterName=C1\nbrokerName = broker-a \nlistenPort=20911\nbrokerRole=ASYNC_MASTER\n\
                 brokerId=3\nflushDiskType=SYNC_FLUSH\nmapedFileSizeCommitLog=1048576\nstorePathIndex=/x\n\
                 bogusKey=1\nnamesrvAddr=127.0.0.1:9876;127.0.0.2:9876\n",
            )
            .expect("valid");
        assert_eq!(
            (
                s.broker.broker_name.as_str(),
                s.broker.listen_port,
                s.broker.broker_id
            ),
            ("broker-a", 20911, 0)
        );
        assert_eq!(
            s.store.flush_disk_type,
            ferromq_store::FlushDiskType::SyncFlush
        );
        assert_eq!(s.store.mapped_file_size_commit_log, 1_048_576);
        assert_eq!(report.unknown_keys, ["bogusKey"]);
        assert_eq!(report.renamed_keys.len(), 2);
        assert_eq!(
            s.broker.namesrv_addrs(),
            ["127.0.0.1:9876", "127.0.0.2:9876"]
        );
        let err = Settings::default()
            .apply_properties("autoCreateTopicEnable=ture\n")
            .expect_err("bad");
        assert!(err.to_string().contains("autoCreateTopicEnable"));
    }

    #[test]
    fn transport_keys() {
        let defaults = Settings::default();
        let b = &defaults.broker;
        assert_eq!(
            (b.bind_address.as_str(), b.web_socket_bind_address()),
            ("0.0.0.0", "0.0.0.0")
        );
        assert_eq!(b.server_max_connections, 10_000);
        assert_eq!(
            (
                b.write_buffer_high_water_mark,
                b.write_buffer_low_water_mark
            ),
            (0, 0)
        );
        assert!(b.web_socket_allowed_origins.is_empty());
        let mut s = Settings::default();
        let report = s
            .apply_properties(
                "bindAddress=127.0.0.1\nserverMaxConnections=5\nwriteBufferHighWaterMark=1048576\n\
                 writeBufferLowWaterMark=524288\nwebSocketAllowedOrigins=https://a.example, https://b.example\n",
            )
            .expect("valid");
        assert!(report.unknown_keys.is_empty());
        let b = &s.broker;
        assert_eq!(
            (b.bind_address.as_str(), b.web_socket_bind_address()),
            ("127.0.0.1", "127.0.0.1")
        );
        assert_eq!(b.server_max_connections, 5);
        assert_eq!(
            (
                b.write_buffer_high_water_mark,
                b.write_buffer_low_water_mark
            ),
            (1 << 20, 1 << 19)
        );
        assert_eq!(
            b.web_socket_allowed_origins,
            "https://a.example, https://b.example"
        );
        s.apply_properties("webSocketBindAddress=::1\n")
            .expect("valid");
        assert_eq!(s.broker.web_socket_bind_address(), "::1");
        assert!(Settings::default()
            .apply_properties("serverMaxConnections=-1\n")
            .is_err());
    }
}
