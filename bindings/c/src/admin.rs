//! Admin calls without a handle: create a topic, read a topic's route.

use std::ffi::c_char;

use ferromq_client::{Admin, Error, TopicOptions};

use crate::error::{fmq_result, guard};
use crate::ffi::{check_out, str_arg, write_out};
use crate::options::client_config;
use crate::runtime::{block_on, runtime};

/// Runs `f` with an admin client of `namesrv`, shut down afterwards.
fn with_admin<T>(
    op: &'static str,
    namesrv: &str,
    f: impl AsyncFnOnce(&Admin) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut config = client_config(op, namesrv)?;
    config.instance_name = "ferromq-c-admin".to_owned();
    let _entered = runtime()?.enter();
    let admin = Admin::new(&config)?;
    block_on(op, async {
        let r = f(&admin).await;
        admin.shutdown().await;
        r
    })?
}

/// Creates (or updates) `topic` with `queues` read and write queues on every master of
/// `cluster` ("DefaultCluster" when NULL), through the name servers `namesrv`. Blocks.
/// The route may take a moment to show the new queues (see fmq_admin_topic_write_queues).
#[no_mangle]
pub extern "C" fn fmq_admin_create_topic(
    namesrv: *const c_char,
    cluster: *const c_char,
    topic: *const c_char,
    queues: i32,
) -> fmq_result {
    guard(|| {
        let op = "fmq_admin_create_topic";
        let namesrv = str_arg(op, "namesrv", namesrv)?;
        let cluster = if cluster.is_null() {
            "DefaultCluster"
        } else {
            str_arg(op, "cluster", cluster)?
        };
        let topic = str_arg(op, "topic", topic)?;
        if queues <= 0 {
            return Err(Error::invalid(op, "queues must be positive"));
        }
        let options = TopicOptions {
            queue_nums: queues,
            ..TopicOptions::default()
        };
        with_admin(op, namesrv, async |admin: &Admin| {
            admin.create_topic(cluster, topic, &options).await
        })
    })
}

/// The number of writable queues the name servers' route of `topic` shows (summed over
/// its brokers). Blocks. FMQ_ERR_TOPIC_NOT_FOUND for a topic with no route yet.
#[no_mangle]
pub extern "C" fn fmq_admin_topic_write_queues(
    namesrv: *const c_char,
    topic: *const c_char,
    out: *mut i32,
) -> fmq_result {
    guard(|| {
        let op = "fmq_admin_topic_write_queues";
        check_out(op, "out", out)?;
        let namesrv = str_arg(op, "namesrv", namesrv)?;
        let topic = str_arg(op, "topic", topic)?;
        let n = with_admin(op, namesrv, async |admin: &Admin| {
            let route = admin.topic_route(topic).await?;
            Ok(route
                .queue_datas
                .iter()
                .map(|q| q.write_queue_nums)
                .sum::<i32>())
        })?;
        write_out(out, n);
        Ok(())
    })
}
