//! ACL 1.0 commands of Apache's 4.9.x `mqadmin` (docs/security.md, "Editing the file remotely"):
//! `updateAclConfig`, `deleteAclConfig` (alias `deleteAccessConfig`), `updateGlobalWhiteAddr`
//! and `clusterAclConfigVersion`, with Apache's flags and lines, and 4.8-4.9.0's
//! `getAccessConfigSubCommand` (every account, secrets included).
//!
//! The broker takes them from admin accounts only, so the requests are signed: with
//! `--adminAccessKey` / `--adminSecretKey` (FerroMQ's flags), else with the `accessKey` /
//! `secretKey` of `$ROCKETMQ_HOME/conf/tools.yml`, the file Apache's `mqadmin` reads.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use chrono::TimeZone as _;
use clap::{ArgGroup, Args};
use ferromq_client::{AclAccount, Admin, ClientConfig, Credentials};

use crate::common::{brokers_of, cluster_info, print_out, Failure, Namesrv, Outcome};

/// The signing flags every ACL command takes.
#[derive(Args, Debug, Clone)]
pub(crate) struct Signer {
    /// The admin account signing the request (FerroMQ's flag; default: `accessKey` of
    /// `$ROCKETMQ_HOME/conf/tools.yml`).
    #[arg(long = "adminAccessKey", requires = "admin_secret_key")]
    admin_access_key: Option<String>,
    /// Its secret key.
    #[arg(long = "adminSecretKey", requires = "admin_access_key")]
    admin_secret_key: Option<String>,
}

/// `-n`: these commands take Apache's `-a/--accessKey` and `-s/--secretKey` for the account
/// they edit, so the signing keys are `--adminAccessKey` / `--adminSecretKey` (or `tools.yml`).
#[derive(Args, Debug, Clone)]
pub(crate) struct AclNamesrv {
    /// Name servers, `host:port;host:port`.
    #[arg(short = 'n', long = "namesrvAddr", env = "NAMESRV_ADDR")]
    namesrv: String,
}

impl AclNamesrv {
    /// As the other commands' name-server flags, signing aside.
    fn common(&self) -> Namesrv {
        Namesrv {
            namesrv: self.namesrv.clone(),
            access_key: None,
            secret_key: None,
        }
    }
}

/// The admin client, signed as `signer` says, else as `$ROCKETMQ_HOME/conf/tools.yml` says.
fn connect(ns: &AclNamesrv, signer: &Signer) -> Result<Admin, Failure> {
    let credentials = match (&signer.admin_access_key, &signer.admin_secret_key) {
        (Some(a), Some(s)) => Some(Credentials::new(a.clone(), s.clone())),
        _ => crate::credentials::credentials(&ns.common())?,
    };
    Admin::new(&ClientConfig {
        credentials,
        ..ClientConfig::new(ns.namesrv.as_str(), Some("mqadmin-acl".to_owned()))
    })
    .map_err(Failure::at(&ns.namesrv))
}

/// `-b` or `-c`, as every ACL command has them.
#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("target").required(true).args(["broker", "cluster"])))]
pub(crate) struct Target {
    /// Broker address.
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    /// Every broker of this cluster (masters only for `clusterAclConfigVersion`).
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

/// The addresses `target` names: `-b`, or the brokers of `-c` (masters and slaves, or masters
/// only).
async fn addrs(
    admin: &Admin,
    ns: &Namesrv,
    target: &Target,
    masters_only: bool,
) -> Result<Vec<String>, Failure> {
    if let Some(b) = &target.broker {
        return Ok(vec![b.trim().to_owned()]);
    }
    let cluster = target.cluster.as_deref().unwrap_or_default().trim();
    let info = cluster_info(admin, ns).await?;
    let mut out = BTreeSet::new();
    for group in brokers_of(&info, cluster)? {
        if masters_only {
            out.extend(group.master_addr().map(str::to_owned));
        } else {
            out.extend(group.broker_addrs.values().cloned());
        }
    }
    Ok(out.into_iter().collect())
}

/// `updateAclConfig` flags (Apache's `UpdateAccessConfigSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct UpdateAclConfigArgs {
    #[command(flatten)]
    ns: AclNamesrv,
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    signer: Signer,
    /// The account's access key.
    #[arg(short = 'a', long = "accessKey")]
    access_key: String,
    /// The account's secret key.
    #[arg(short = 's', long = "secretKey")]
    secret_key: String,
    /// An address rule admitting the account without a signature.
    #[arg(short = 'w', long = "whiteRemoteAddress")]
    white: Option<String>,
    /// Default topic permission (DENY, PUB, SUB, PUB|SUB).
    #[arg(short = 'i', long = "defaultTopicPerm")]
    default_topic_perm: Option<String>,
    /// Default group permission.
    #[arg(short = 'u', long = "defaultGroupPerm")]
    default_group_perm: Option<String>,
    /// `topicA=DENY,topicB=SUB`.
    #[arg(short = 't', long = "topicPerms")]
    topic_perms: Option<String>,
    /// `groupA=DENY,groupB=SUB`.
    #[arg(short = 'g', long = "groupPerms")]
    group_perms: Option<String>,
    /// Admin flag, `true` or `false`.
    #[arg(short = 'm', long = "admin")]
    admin: Option<String>,
}

fn list(s: &Option<String>) -> Option<Vec<String>> {
    s.as_ref()
        .map(|s| s.trim().split(',').map(str::to_owned).collect())
}

pub(crate) async fn update_acl_config(args: UpdateAclConfigArgs) -> Outcome {
    let admin = connect(&args.ns, &args.signer)?;
    let account = AclAccount {
        access_key: args.access_key.trim().to_owned(),
        secret_key: Some(args.secret_key.trim().to_owned()),
        white_remote_address: args.white.as_deref().map(|s| s.trim().to_owned()),
        admin: args
            .admin
            .as_deref()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("true")),
        default_topic_perm: args
            .default_topic_perm
            .as_deref()
            .map(|s| s.trim().to_owned()),
        default_group_perm: args
            .default_group_perm
            .as_deref()
            .map(|s| s.trim().to_owned()),
        topic_perms: list(&args.topic_perms),
        group_perms: list(&args.group_perms),
    };
    for addr in addrs(&admin, &args.ns.common(), &args.target, false).await? {
        admin
            .update_acl_account(&addr, &account)
            .await
            .map_err(Failure::at(&addr))?;
        print_out(&format!(
            "create or update plain access config to {addr} success.\n"
        ));
    }
    Ok(())
}

/// `deleteAclConfig` flags (Apache's `DeleteAccessConfigSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct DeleteAclConfigArgs {
    #[command(flatten)]
    ns: AclNamesrv,
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    signer: Signer,
    /// The account to delete.
    #[arg(short = 'a', long = "accessKey")]
    access_key: String,
}

pub(crate) async fn delete_acl_config(args: DeleteAclConfigArgs) -> Outcome {
    let admin = connect(&args.ns, &args.signer)?;
    let key = args.access_key.trim();
    for addr in addrs(&admin, &args.ns.common(), &args.target, false).await? {
        admin
            .delete_acl_account(&addr, key)
            .await
            .map_err(Failure::at(&addr))?;
        print_out(&format!(
            "delete plain access config account from {addr} success.\n"
        ));
    }
    print_out(&format!("account's accesskey is:{key}"));
    Ok(())
}

/// `updateGlobalWhiteAddr` flags (Apache's `UpdateGlobalWhiteAddrSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct UpdateGlobalWhiteAddrArgs {
    #[command(flatten)]
    ns: AclNamesrv,
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    signer: Signer,
    /// `10.10.103.*,192.168.0.*`.
    #[arg(short = 'g', long = "globalWhiteRemoteAddresses")]
    addrs: String,
    /// The ACL file to change (default: the broker's main file).
    #[arg(short = 'p', long = "aclFileFullPath")]
    file: Option<String>,
}

pub(crate) async fn update_global_white_addr(args: UpdateGlobalWhiteAddrArgs) -> Outcome {
    let admin = connect(&args.ns, &args.signer)?;
    let white: Vec<String> = args
        .addrs
        .trim()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let file = args.file.as_deref().map(str::trim);
    for addr in addrs(&admin, &args.ns.common(), &args.target, false).await? {
        admin
            .update_acl_global_white_addrs(&addr, &white, file)
            .await
            .map_err(Failure::at(&addr))?;
        print_out(&format!(
            "update global white remote addresses to {addr} success.\n"
        ));
    }
    Ok(())
}

/// `clusterAclConfigVersion` flags (Apache's `ClusterAclConfigVersionListSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct ClusterAclConfigVersionArgs {
    #[command(flatten)]
    ns: AclNamesrv,
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    signer: Signer,
}

pub(crate) async fn cluster_acl_config_version(args: ClusterAclConfigVersionArgs) -> Outcome {
    let admin = connect(&args.ns, &args.signer)?;
    let mut text = String::new();
    if args.target.cluster.is_some() {
        let _ = writeln!(
            text,
            "{:<16}  {:<22}  {:<22}  {:<20}  {:<22}  {:<22}",
            "#Cluster Name",
            "#Broker Name",
            "#Broker Addr",
            "#AclFilePath",
            "#AclConfigVersionNum",
            "#AclLastUpdateTime"
        );
    }
    for addr in addrs(&admin, &args.ns.common(), &args.target, true).await? {
        let v = admin.acl_version(&addr).await.map_err(Failure::at(&addr))?;
        for (path, (counter, timestamp)) in &v.file_versions {
            let time = chrono::Local
                .timestamp_millis_opt(*timestamp)
                .single()
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default();
            let _ = writeln!(
                text,
                "{:<16}  {:<22}  {:<22}  {:<20}  {:<22}  {:<22}",
                v.cluster_name, v.broker_name, v.broker_addr, path, counter, time
            );
        }
    }
    text.push_str(if args.target.cluster.is_some() {
        "get cluster's plain access config version success.\n"
    } else {
        "get broker's plain access config version success.\n"
    });
    print_out(&text);
    Ok(())
}

/// `getAccessConfigSubCommand` flags (Apache 4.8-4.9.0's `GetAccessConfigSubCommand`; later
/// Apache brokers do not answer it, FerroMQ's do).
#[derive(Args, Debug)]
pub(crate) struct GetAccessConfigArgs {
    #[command(flatten)]
    ns: AclNamesrv,
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    signer: Signer,
}

/// Java's `List.toString`: `[a, b]`.
fn java_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

pub(crate) async fn get_access_config(args: GetAccessConfigArgs) -> Outcome {
    let admin = connect(&args.ns, &args.signer)?;
    let mut text = String::new();
    for addr in addrs(&admin, &args.ns.common(), &args.target, true).await? {
        let config = admin.acl_config(&addr).await.map_err(Failure::at(&addr))?;
        let _ = write!(
            text,
            "\n{:<20}: {}\n\naccounts:\n",
            "globalWhiteRemoteAddresses",
            java_list(&config.global_white_addrs)
        );
        for a in &config.plain_access_configs {
            let opt = |v: &Option<String>| v.clone().unwrap_or_default();
            let lst = |v: &Option<Vec<String>>| v.as_deref().map(java_list).unwrap_or_default();
            // The fields of Apache's `PlainAccessConfig`, in its declaration order.
            for (name, value) in [
                ("accessKey", a.access_key.clone()),
                ("secretKey", opt(&a.secret_key)),
                ("whiteRemoteAddress", opt(&a.white_remote_address)),
                ("admin", a.admin.to_string()),
                ("defaultTopicPerm", opt(&a.default_topic_perm)),
                ("defaultGroupPerm", opt(&a.default_group_perm)),
                ("topicPerms", lst(&a.topic_perms)),
                ("groupPerms", lst(&a.group_perms)),
            ] {
                let _ = writeln!(text, "{:<1} {:<18}: {}", "", name, value);
            }
            text.push('\n');
        }
    }
    print_out(&text);
    Ok(())
}
