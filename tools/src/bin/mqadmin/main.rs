//! `mqadmin`: FerroMQ's operator tool, command names, flags and output as Apache RocketMQ's
//! `mqadmin`, so scripts that parse Apache's output keep working.
//!
//! ```text
//! mqadmin clusterList -n 127.0.0.1:9876 [-c DefaultCluster]
//! mqadmin topicStatus -n 127.0.0.1:9876 -t TopicTest
//! mqadmin help updateTopic
//! ```
//!
//! Listing commands also take `--json` (FerroMQ's addition). Exit codes: 0 done, 1 a server
//! refused (`mqadmin: <server> <code> <reason>` on stderr) or could not be reached, 2 a bad
//! command line (usage on stderr). Each area is one module:
//!
//! - `cluster`: clusterList, haStatus
//! - `broker`: brokerStatus, getBrokerConfig, updateBrokerConfig
//! - `topic`: topicList, topicRoute, topicStatus, updateTopic, deleteTopic
//! - `route`: topicClusterList, updateTopicPerm, allocateMQ, updateOrderConf
//! - `group`: updateSubGroup, deleteSubGroup, consumerProgress, consumerConnection,
//!   producerConnection
//! - `status`: consumerStatus
//! - `namesrv`: getNamesrvConfig, updateNamesrvConfig, updateKvConfig, deleteKvConfig,
//!   wipeWritePerm, addWritePerm
//! - `message`: queryMsgById, queryMsgByKey, queryMsgByUniqueKey, sendMessage
//! - `trace`: queryMsgTraceById
//! - `track`: the MessageTrack lines after a message view
//! - `consume`: consumeMessage
//! - `probe`: queryMsgByOffset, checkMsgSendRT
//! - `print`: printMsg, printMsgByQueue
//! - `rt`: clusterRT
//! - `offset`: cloneGroupOffset, resetOffsetByTime, statsAll
//! - `auth`: createUser, updateUser, deleteUser, getUser, listUser, createAcl, updateAcl,
//!   deleteAcl, getAcl, listAcl (ACL 2.0)
//! - `controller`: getControllerMetaData, getSyncStateSet, getBrokerEpoch, getControllerConfig,
//!   updateControllerConfig, electMaster, cleanBrokerMetadata (controller mode)
//! - `acl`: updateAclConfig, deleteAclConfig, updateGlobalWhiteAddr, clusterAclConfigVersion,
//!   getAccessConfigSubCommand (ACL 1.0)
//!
//! Requests are signed when `--accessKey` / `--secretKey` or `$ROCKETMQ_HOME/conf/tools.yml`
//! give credentials (`credentials`).
//!
//! `common` has what they share, `time` the local-time layouts of Apache's tools. Apache's own `mqadmin` works against FerroMQ's servers too.

mod acl;
mod auth;
mod broker;
mod cluster;
mod common;
mod consume;
mod controller;
mod credentials;
mod group;
mod java;
mod message;
mod namesrv;
mod offset;
mod print;
mod probe;
mod route;
mod rt;
mod status;
mod time;
mod topic;
mod trace;
mod track;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "mqadmin", version, about = "FerroMQ / RocketMQ admin tool")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the brokers of every cluster (or of one).
    #[command(name = "clusterList")]
    ClusterList(cluster::ClusterListArgs),
    /// Replication status of a broker, or of every master of a cluster.
    #[command(name = "haStatus")]
    HaStatus(cluster::HaStatusArgs),
    /// Fetch broker runtime status data.
    #[command(name = "brokerStatus")]
    BrokerStatus(broker::BrokerStatusArgs),
    /// Get broker config by cluster or special broker.
    #[command(name = "getBrokerConfig")]
    GetBrokerConfig(broker::GetBrokerConfigArgs),
    /// Update broker's config.
    #[command(name = "updateBrokerConfig")]
    UpdateBrokerConfig(broker::UpdateBrokerConfigArgs),
    /// Fetch all topic list from name server.
    #[command(name = "topicList")]
    TopicList(topic::TopicListArgs),
    /// Examine topic route info.
    #[command(name = "topicRoute")]
    TopicRoute(topic::TopicRouteArgs),
    /// Examine topic Status info.
    #[command(name = "topicStatus")]
    TopicStatus(topic::TopicStatusArgs),
    /// Update or create topic.
    #[command(name = "updateTopic")]
    UpdateTopic(topic::UpdateTopicArgs),
    /// Get cluster info for topic.
    #[command(name = "topicClusterList")]
    TopicClusterList(route::TopicClusterListArgs),
    /// Update topic perm.
    #[command(name = "updateTopicPerm")]
    UpdateTopicPerm(route::UpdateTopicPermArgs),
    /// Query Message by offset.
    #[command(name = "queryMsgByOffset")]
    QueryMsgByOffset(probe::QueryMsgByOffsetArgs),
    /// Check message send response time.
    #[command(name = "checkMsgSendRT")]
    CheckMsgSendRt(probe::CheckMsgSendRtArgs),
    /// Print Message Detail.
    #[command(name = "printMsg")]
    PrintMsg(print::PrintMsgArgs),
    /// Print Message Detail by queueId.
    #[command(name = "printMsgByQueue")]
    PrintMsgByQueue(print::PrintMsgByQueueArgs),
    /// List All clusters Message Send RT.
    #[command(name = "clusterRT")]
    ClusterRt(rt::ClusterRtArgs),
    /// Allocate MQ.
    #[command(name = "allocateMQ")]
    AllocateMq(route::AllocateMqArgs),
    /// Create or update or delete order conf.
    #[command(name = "updateOrderConf")]
    UpdateOrderConf(route::UpdateOrderConfArgs),
    /// Delete topic from broker and NameServer.
    #[command(name = "deleteTopic")]
    DeleteTopic(topic::DeleteTopicArgs),
    /// Update or create subscription group.
    #[command(name = "updateSubGroup")]
    UpdateSubGroup(group::UpdateSubGroupArgs),
    /// Delete subscription group from broker.
    #[command(name = "deleteSubGroup")]
    DeleteSubGroup(group::DeleteSubGroupArgs),
    /// Query consumer's progress, speed.
    #[command(name = "consumerProgress")]
    ConsumerProgress(group::ConsumerProgressArgs),
    /// Query consumer's socket connection, client version and subscription.
    #[command(name = "consumerConnection")]
    ConsumerConnection(group::ConsumerConnectionArgs),
    /// Query consumer's internal data structure.
    #[command(name = "consumerStatus")]
    ConsumerStatus(status::ConsumerStatusArgs),
    /// Query producer's socket connection and client version.
    #[command(name = "producerConnection")]
    ProducerConnection(group::ProducerConnectionArgs),
    /// Get configs of name server.
    #[command(name = "getNamesrvConfig")]
    GetNamesrvConfig(namesrv::GetNamesrvConfigArgs),
    /// Update configs of name server.
    #[command(name = "updateNamesrvConfig")]
    UpdateNamesrvConfig(namesrv::UpdateNamesrvConfigArgs),
    /// Create or update KV config.
    #[command(name = "updateKvConfig")]
    UpdateKvConfig(namesrv::UpdateKvConfigArgs),
    /// Delete KV config.
    #[command(name = "deleteKvConfig")]
    DeleteKvConfig(namesrv::DeleteKvConfigArgs),
    /// Wipe write perm of broker in all name server you defined in the -n param.
    #[command(name = "wipeWritePerm")]
    WipeWritePerm(namesrv::WritePermArgs),
    /// Add write perm of broker in all name server you defined in the -n param.
    #[command(name = "addWritePerm")]
    AddWritePerm(namesrv::WritePermArgs),
    /// Query Message by Id.
    #[command(name = "queryMsgById")]
    QueryMsgById(message::QueryMsgByIdArgs),
    /// Query Message by Key.
    #[command(name = "queryMsgByKey")]
    QueryMsgByKey(message::QueryMsgByKeyArgs),
    /// Query Message by Unique key.
    #[command(name = "queryMsgByUniqueKey")]
    QueryMsgByUniqueKey(message::QueryMsgByUniqueKeyArgs),
    /// Query a message trace.
    #[command(name = "queryMsgTraceById", alias = "QueryMsgTraceById")]
    QueryMsgTraceById(trace::QueryMsgTraceByIdArgs),
    /// Send a message.
    #[command(name = "sendMessage")]
    SendMessage(message::SendMessageArgs),
    /// Consume message.
    #[command(name = "consumeMessage")]
    ConsumeMessage(consume::ConsumeMessageArgs),
    /// Clone offset from other group.
    #[command(name = "cloneGroupOffset")]
    CloneGroupOffset(offset::CloneGroupOffsetArgs),
    /// Reset consumer offset by timestamp(without client restart).
    #[command(name = "resetOffsetByTime")]
    ResetOffsetByTime(offset::ResetOffsetByTimeArgs),
    /// Topic and Consumer tps stats.
    #[command(name = "statsAll")]
    StatsAll(offset::StatsAllArgs),
    /// Create user to cluster.
    #[command(name = "createUser")]
    CreateUser(auth::CreateUserArgs),
    /// Update user to cluster.
    #[command(name = "updateUser")]
    UpdateUser(auth::UpdateUserArgs),
    /// Delete user from cluster.
    #[command(name = "deleteUser")]
    DeleteUser(auth::DeleteUserArgs),
    /// Get user from cluster.
    #[command(name = "getUser")]
    GetUser(auth::GetUserArgs),
    /// List user from cluster.
    #[command(name = "listUser")]
    ListUser(auth::ListUserArgs),
    /// Create acl to cluster.
    #[command(name = "createAcl")]
    CreateAcl(auth::AclArgs),
    /// Update acl to cluster.
    #[command(name = "updateAcl")]
    UpdateAcl(auth::AclArgs),
    /// Delete acl from cluster.
    #[command(name = "deleteAcl")]
    DeleteAcl(auth::DeleteAclArgs),
    /// Get acl from cluster.
    #[command(name = "getAcl")]
    GetAcl(auth::GetAclArgs),
    /// List acl from cluster.
    #[command(name = "listAcl")]
    ListAcl(auth::ListAclArgs),
    /// Update acl config yaml file in broker.
    #[command(name = "updateAclConfig")]
    UpdateAclConfig(acl::UpdateAclConfigArgs),
    /// Delete Acl Config Account in broker.
    #[command(name = "deleteAclConfig", alias = "deleteAccessConfig")]
    DeleteAclConfig(acl::DeleteAclConfigArgs),
    /// Update global white address for acl Config File in broker.
    #[command(name = "updateGlobalWhiteAddr")]
    UpdateGlobalWhiteAddr(acl::UpdateGlobalWhiteAddrArgs),
    /// List all of acl config version information in cluster.
    #[command(name = "clusterAclConfigVersion")]
    ClusterAclConfigVersion(acl::ClusterAclConfigVersionArgs),
    /// List all of acl config information in cluster.
    #[command(name = "getAccessConfigSubCommand")]
    GetAccessConfig(acl::GetAccessConfigArgs),
    /// Get controller cluster's metadata.
    #[command(name = "getControllerMetaData")]
    GetControllerMetaData(controller::GetControllerMetaDataArgs),
    /// Fetch syncStateSet for target brokers.
    #[command(name = "getSyncStateSet")]
    GetSyncStateSet(controller::GetSyncStateSetArgs),
    /// Fetch broker epoch entries.
    #[command(name = "getBrokerEpoch")]
    GetBrokerEpoch(controller::GetBrokerEpochArgs),
    /// Get controller config.
    #[command(name = "getControllerConfig")]
    GetControllerConfig(controller::GetControllerConfigArgs),
    /// Update controller config.
    #[command(name = "updateControllerConfig")]
    UpdateControllerConfig(controller::UpdateControllerConfigArgs),
    /// Re-elect the specified broker as master.
    #[command(name = "electMaster")]
    ElectMaster(controller::ElectMasterArgs),
    /// Clean metadata of broker on controller.
    #[command(name = "cleanBrokerMetadata")]
    CleanBrokerMetadata(controller::CleanBrokerMetadataArgs),
}

/// Apache's few two-letter short options (`-bn` of electMaster and cleanBrokerMetadata), which
/// clap cannot declare, spelled as their long forms.
fn apache_args(args: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    args.map(|a| if a == "-bn" { "--brokerName".into() } else { a })
        .collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(apache_args(std::env::args_os()));
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mqadmin: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::ClusterList(args) => cluster::cluster_list(args).await,
            Command::HaStatus(args) => cluster::ha_status(args).await,
            Command::BrokerStatus(args) => broker::broker_status(args).await,
            Command::GetBrokerConfig(args) => broker::get_broker_config(args).await,
            Command::UpdateBrokerConfig(args) => broker::update_broker_config(args).await,
            Command::TopicList(args) => topic::topic_list(args).await,
            Command::TopicRoute(args) => topic::topic_route(args).await,
            Command::TopicStatus(args) => topic::topic_status(args).await,
            Command::UpdateTopic(args) => topic::update_topic(args).await,
            Command::DeleteTopic(args) => topic::delete_topic(args).await,
            Command::TopicClusterList(args) => route::topic_cluster_list(args).await,
            Command::UpdateTopicPerm(args) => route::update_topic_perm(args).await,
            Command::AllocateMq(args) => route::allocate_mq(args).await,
            Command::QueryMsgByOffset(args) => probe::query_msg_by_offset(args).await,
            Command::CheckMsgSendRt(args) => probe::check_msg_send_rt(args).await,
            Command::PrintMsg(args) => print::print_msg(args).await,
            Command::PrintMsgByQueue(args) => print::print_msg_by_queue(args).await,
            Command::ClusterRt(args) => rt::cluster_rt(args).await,
            Command::UpdateOrderConf(args) => route::update_order_conf(args).await,
            Command::UpdateSubGroup(args) => group::update_sub_group(args).await,
            Command::DeleteSubGroup(args) => group::delete_sub_group(args).await,
            Command::ConsumerProgress(args) => group::consumer_progress(args).await,
            Command::ConsumerConnection(args) => group::consumer_connection(args).await,
            Command::ConsumerStatus(args) => status::consumer_status(args).await,
            Command::ProducerConnection(args) => group::producer_connection(args).await,
            Command::GetNamesrvConfig(args) => namesrv::get_namesrv_config(args).await,
            Command::UpdateNamesrvConfig(args) => namesrv::update_namesrv_config(args).await,
            Command::UpdateKvConfig(args) => namesrv::update_kv_config(args).await,
            Command::DeleteKvConfig(args) => namesrv::delete_kv_config(args).await,
            Command::WipeWritePerm(args) => namesrv::write_perm(args, false).await,
            Command::AddWritePerm(args) => namesrv::write_perm(args, true).await,
            Command::QueryMsgById(args) => message::query_msg_by_id(args).await,
            Command::QueryMsgByKey(args) => message::query_msg_by_key(args).await,
            Command::QueryMsgTraceById(args) => trace::query_msg_trace_by_id(args).await,
            Command::QueryMsgByUniqueKey(args) => message::query_msg_by_unique_key(args).await,
            Command::SendMessage(args) => message::send_message(args).await,
            Command::ConsumeMessage(args) => consume::consume_message(args).await,
            Command::CloneGroupOffset(args) => offset::clone_group_offset(args).await,
            Command::ResetOffsetByTime(args) => offset::reset_offset_by_time(args).await,
            Command::StatsAll(args) => offset::stats_all(args).await,
            Command::CreateUser(args) => auth::create_user(args).await,
            Command::UpdateUser(args) => auth::update_user(args).await,
            Command::DeleteUser(args) => auth::delete_user(args).await,
            Command::GetUser(args) => auth::get_user(args).await,
            Command::ListUser(args) => auth::list_user(args).await,
            Command::CreateAcl(args) => auth::create_acl(args).await,
            Command::UpdateAcl(args) => auth::update_acl(args).await,
            Command::DeleteAcl(args) => auth::delete_acl(args).await,
            Command::GetAcl(args) => auth::get_acl(args).await,
            Command::ListAcl(args) => auth::list_acl(args).await,
            Command::UpdateAclConfig(args) => acl::update_acl_config(args).await,
            Command::DeleteAclConfig(args) => acl::delete_acl_config(args).await,
            Command::UpdateGlobalWhiteAddr(args) => acl::update_global_white_addr(args).await,
            Command::ClusterAclConfigVersion(args) => acl::cluster_acl_config_version(args).await,
            Command::GetAccessConfig(args) => acl::get_access_config(args).await,
            Command::GetControllerMetaData(args) => {
                controller::get_controller_meta_data(args).await
            }
            Command::GetSyncStateSet(args) => controller::get_sync_state_set(args).await,
            Command::GetBrokerEpoch(args) => controller::get_broker_epoch(args).await,
            Command::GetControllerConfig(args) => controller::get_controller_config(args).await,
            Command::UpdateControllerConfig(args) => {
                controller::update_controller_config(args).await
            }
            Command::ElectMaster(args) => controller::elect_master(args).await,
            Command::CleanBrokerMetadata(args) => controller::clean_broker_metadata(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqadmin: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// clap's own checks of every command's flags (unique names and letters, valid groups):
    /// otherwise a clash shows only when that command runs.
    #[test]
    fn every_command_has_consistent_flags() {
        Cli::command().debug_assert();
    }

    #[test]
    fn apaches_bn_is_the_broker_name() {
        use clap::Parser;
        let args = [
            "mqadmin",
            "electMaster",
            "-a",
            "h:1",
            "-b",
            "2",
            "-bn",
            "b",
            "-c",
            "c",
        ];
        let cli = Cli::try_parse_from(super::apache_args(args.iter().map(Into::into)))
            .expect("Apache's flags parse");
        assert!(
            matches!(cli.command, super::Command::ElectMaster(ref a) if format!("{a:?}").contains("broker_name: \"b\"")),
            "{cli:?}"
        );
    }
}
