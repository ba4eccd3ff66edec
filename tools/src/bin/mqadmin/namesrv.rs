//! `getNamesrvConfig`, `updateNamesrvConfig`, `updateKvConfig`, `deleteKvConfig`,
//! `wipeWritePerm` and `addWritePerm`: each name server of `-n` in turn, as Apache does.

use std::fmt::Write as _;

use clap::Args;
use ferromq_client::Admin;

use crate::common::{connect, print_json, print_out, Failure, Json, Namesrv, Outcome};

/// `getNamesrvConfig` flags (Apache's `GetNamesrvConfigCommand`).
#[derive(Args, Debug)]
pub(crate) struct GetNamesrvConfigArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    out: Json,
}

/// `updateNamesrvConfig` flags (Apache's `UpdateNamesrvConfigCommand`).
#[derive(Args, Debug)]
pub(crate) struct UpdateNamesrvConfigArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Setting name.
    #[arg(short = 'k', long = "key")]
    key: String,
    /// New value.
    #[arg(short = 'v', long = "value")]
    value: String,
}

/// `updateKvConfig` flags (Apache's `UpdateKvConfigCommand`).
#[derive(Args, Debug)]
pub(crate) struct UpdateKvConfigArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Namespace.
    #[arg(short = 's', long = "namespace")]
    namespace: String,
    /// Key.
    #[arg(short = 'k', long = "key")]
    key: String,
    /// Value.
    #[arg(short = 'v', long = "value")]
    value: String,
}

/// `deleteKvConfig` flags (Apache's `DeleteKvConfigCommand`).
#[derive(Args, Debug)]
pub(crate) struct DeleteKvConfigArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Namespace.
    #[arg(short = 's', long = "namespace")]
    namespace: String,
    /// Key.
    #[arg(short = 'k', long = "key")]
    key: String,
}

/// `wipeWritePerm` / `addWritePerm` flags (Apache's `WipeWritePermSubCommand`,
/// `AddWritePermSubCommand`).
#[derive(Args, Debug)]
pub(crate) struct WritePermArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Broker name.
    #[arg(short = 'b', long = "brokerName")]
    broker_name: String,
}

/// The name servers of `-n`, one by one.
fn namesrv_addrs(ns: &Namesrv) -> Vec<String> {
    ns.namesrv
        .split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An admin client that talks to the name server `addr` alone.
fn connect_to(ns: &Namesrv, addr: &str) -> Result<Admin, Failure> {
    connect(&Namesrv {
        namesrv: addr.to_owned(),
        ..ns.clone()
    })
}

/// Each name server's settings under `============<addr>============`, one `%-50s=  %s` line
/// per setting.
pub(crate) async fn get_namesrv_config(args: GetNamesrvConfigArgs) -> Outcome {
    let mut out = String::new();
    let mut json = serde_json::Map::new();
    for addr in namesrv_addrs(&args.ns) {
        let admin = connect_to(&args.ns, &addr)?;
        let config = admin.namesrv_config().await;
        admin.shutdown().await;
        let config = config.map_err(Failure::at(&addr))?;
        let _ = writeln!(out, "============{addr}============");
        for (k, v) in &config {
            let _ = writeln!(out, "{k:<50}=  {v}");
        }
        json.insert(
            addr,
            serde_json::Value::Object(
                config
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect(),
            ),
        );
    }
    if args.out.json {
        print_json(&serde_json::Value::Object(json));
    } else {
        print_out(&out);
    }
    Ok(())
}

/// UPDATE_NAMESRV_CONFIG on each name server, then Apache's two lines.
pub(crate) async fn update_namesrv_config(args: UpdateNamesrvConfigArgs) -> Outcome {
    let (key, value) = (args.key.trim(), args.value.trim());
    let addrs = namesrv_addrs(&args.ns);
    for addr in &addrs {
        let admin = connect_to(&args.ns, addr)?;
        let r = admin.update_namesrv_config(key, value).await;
        admin.shutdown().await;
        r.map_err(Failure::at(addr))?;
    }
    print_out(&format!(
        "update name server config success![{}]\n{key} : {value}\n",
        addrs.join(", ")
    ));
    Ok(())
}

/// PUT_KV_CONFIG on each name server.
pub(crate) async fn update_kv_config(args: UpdateKvConfigArgs) -> Outcome {
    let (ns, k, v) = (args.namespace.trim(), args.key.trim(), args.value.trim());
    for addr in namesrv_addrs(&args.ns) {
        let admin = connect_to(&args.ns, &addr)?;
        let r = admin.put_kv_config(ns, k, v).await;
        admin.shutdown().await;
        r.map_err(Failure::at(&addr))?;
    }
    print_out("create or update kv config to namespace success.\n");
    Ok(())
}

/// DELETE_KV_CONFIG on each name server.
pub(crate) async fn delete_kv_config(args: DeleteKvConfigArgs) -> Outcome {
    let (ns, k) = (args.namespace.trim(), args.key.trim());
    for addr in namesrv_addrs(&args.ns) {
        let admin = connect_to(&args.ns, &addr)?;
        let r = admin.delete_kv_config(ns, k).await;
        admin.shutdown().await;
        r.map_err(Failure::at(&addr))?;
    }
    print_out("delete kv config from namespace success.\n");
    Ok(())
}

/// WIPE_WRITE_PERM_OF_BROKER (`add == false`) or ADD_WRITE_PERM_OF_BROKER on each name
/// server: `<verb> write perm of broker[<name>] in name server[<addr>] OK, <topics>`, or
/// `... Failed` and on to the next name server (exit 1 at the end).
pub(crate) async fn write_perm(args: WritePermArgs, add: bool) -> Outcome {
    let name = args.broker_name.trim();
    let verb = if add { "add" } else { "wipe" };
    let mut failed = None;
    for addr in namesrv_addrs(&args.ns) {
        let admin = connect_to(&args.ns, &addr)?;
        let result = if add {
            admin.add_write_perm(name).await
        } else {
            admin.wipe_write_perm(name).await
        };
        admin.shutdown().await;
        match result {
            Ok(n) => print_out(&format!(
                "{verb} write perm of broker[{name}] in name server[{addr}] OK, {n}\n"
            )),
            Err(e) => {
                print_out(&format!(
                    "{verb} write perm of broker[{name}] in name server[{addr}] Failed\n"
                ));
                let f = Failure::at(&addr)(e);
                eprintln!("mqadmin: {f}");
                failed = Some(f);
            }
        }
    }
    failed.map_or(Ok(()), Err)
}
