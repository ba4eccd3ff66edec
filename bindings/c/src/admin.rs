//! Admin calls without a handle, each over an admin client of the name servers it is given
//! (the core's `Admin`): the cluster table, topic creation and deletion, routes, queue
//! offsets, a group's progress, and messages by key or by offset id. Tables are handed to a
//! row callback on the calling thread.

use std::ffi::{c_char, c_void};

use ferromq_client::admin::DEFAULT_CLUSTER;
use ferromq_client::{Admin, Error, TopicOptions};
use ferromq_protocol::body::MASTER_ID;

use crate::error::{c_string, fmq_result, guard, guard_value};
use crate::ffi::{check_out, str_arg, write_out};
use crate::message::fmq_message_view;
use crate::options::client_config;
use crate::pull::fmq_poll_callback;
use crate::runtime::{block_on, runtime};

/// Runs `f` with an admin client of `namesrv`, shut down afterwards.
fn with_admin<T>(
    op: &'static str,
    namesrv: &str,
    f: impl AsyncFnOnce(&Admin) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut config = client_config(op, namesrv)?;
    config.instance_name = "ferromq-c-admin".to_owned();
    crate::security::apply_admin(&mut config);
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
        create_topic(op, namesrv, cluster, topic, queues, false)
    })
}

/// The cluster argument: NULL is the default cluster, "DefaultCluster".
fn cluster_arg<'a>(op: &'static str, cluster: *const c_char) -> Result<&'a str, Error> {
    if cluster.is_null() {
        Ok(DEFAULT_CLUSTER)
    } else {
        str_arg(op, "cluster", cluster)
    }
}

fn create_topic(
    op: &'static str,
    namesrv: &str,
    cluster: *const c_char,
    topic: *const c_char,
    queues: i32,
    order: bool,
) -> Result<(), Error> {
    let cluster = cluster_arg(op, cluster)?;
    let topic = str_arg(op, "topic", topic)?;
    if queues <= 0 {
        return Err(Error::invalid(op, "queues must be positive"));
    }
    let options = TopicOptions {
        queue_nums: queues,
        order,
        ..TopicOptions::default()
    };
    with_admin(op, namesrv, async |admin: &Admin| {
        admin.create_topic(cluster, topic, &options).await
    })
}

/// As fmq_admin_create_topic, with the ordered-topic flag `order`. Blocks.
#[no_mangle]
pub extern "C" fn fmq_admin_create_topic_with_order(
    namesrv: *const c_char,
    cluster: *const c_char,
    topic: *const c_char,
    queues: i32,
    order: bool,
) -> fmq_result {
    guard(|| {
        let op = "fmq_admin_create_topic_with_order";
        let namesrv = str_arg(op, "namesrv", namesrv)?;
        create_topic(op, namesrv, cluster, topic, queues, order)
    })
}

/// Deletes `topic` from every master of `cluster` ("DefaultCluster" when NULL) and from the
/// name servers. Blocks.
#[no_mangle]
pub extern "C" fn fmq_admin_delete_topic(
    namesrv: *const c_char,
    cluster: *const c_char,
    topic: *const c_char,
) -> fmq_result {
    guard(|| {
        let op = "fmq_admin_delete_topic";
        let namesrv = str_arg(op, "namesrv", namesrv)?;
        let cluster = cluster_arg(op, cluster)?;
        let topic = str_arg(op, "topic", topic)?;
        with_admin(op, namesrv, async |admin: &Admin| {
            admin.delete_topic(cluster, topic).await
        })
    })
}

/// One broker of the cluster table: its cluster, its name and its master's address (NULL
/// when it has no master). The strings are valid during the call only. Runs on the calling
/// thread, before the admin function returns.
pub type fmq_admin_broker_callback = Option<
    extern "C" fn(
        cluster: *const c_char,
        broker_name: *const c_char,
        master_addr: *const c_char,
        userdata: *mut c_void,
    ),
>;

/// One broker's queues of a topic route: read and write queue counts and the permission bits
/// (2 = write, 4 = read). `broker_name` is valid during the call only. Runs on the calling
/// thread.
pub type fmq_admin_queue_data_callback = Option<
    extern "C" fn(
        broker_name: *const c_char,
        read_queues: i32,
        write_queues: i32,
        perm: i32,
        userdata: *mut c_void,
    ),
>;

/// One queue's offsets. For fmq_admin_topic_stats: `first` = the smallest offset kept, `second`
/// = the next offset to be written, `timestamp` = when the last message was stored. For
/// fmq_admin_consumer_progress: `first` = the broker's offset (next to be written), `second` =
/// the group's consumed offset, `timestamp` = when the group last consumed. `broker_name` is
/// valid during the call only. Runs on the calling thread.
pub type fmq_admin_queue_offsets_callback = Option<
    extern "C" fn(
        broker_name: *const c_char,
        queue_id: i32,
        first: i64,
        second: i64,
        timestamp: i64,
        userdata: *mut c_void,
    ),
>;

fn callback_arg<F>(op: &'static str, f: Option<F>) -> Result<F, Error> {
    f.ok_or_else(|| Error::invalid(op, "the callback is NULL"))
}

/// The name servers' cluster table: `callback` gets one call per broker (ordered by cluster,
/// then broker name). Blocks. On success `*out_count` is the number of brokers.
#[no_mangle]
pub extern "C" fn fmq_admin_cluster_info(
    namesrv: *const c_char,
    callback: fmq_admin_broker_callback,
    userdata: *mut c_void,
    out_count: *mut usize,
) -> fmq_result {
    guard(|| {
        let op = "fmq_admin_cluster_info";
        check_out(op, "out_count", out_count)?;
        let namesrv = str_arg(op, "namesrv", namesrv)?;
        let callback = callback_arg(op, callback)?;
        let info = with_admin(op, namesrv, async |admin: &Admin| {
            admin.cluster_info().await
        })?;
        let mut n = 0;
        for (cluster, brokers) in &info.cluster_addr_table {
            let cluster = c_string(cluster);
            for name in brokers {
                let master = info
                    .broker_addr_table
                    .get(name)
                    .and_then(|b| b.broker_addrs.get(&MASTER_ID))
                    .map(|a| c_string(a));
                let name = c_string(name);
                let master_ptr = master.as_ref().map_or(std::ptr::null(), |a| a.as_ptr());
                guard_value((), || {
                    callback(cluster.as_ptr(), name.as_ptr(), master_ptr, userdata)
                });
                n += 1;
            }
        }
        write_out(out_count, n);
        Ok(())
    })
}

/// The route of `topic`, fresh from the name servers: `callback` gets one call per broker
/// that holds queues of it. Blocks. On success `*out_count` is the number of calls.
/// FMQ_ERR_TOPIC_NOT_FOUND for a topic with no route.
#[no_mangle]
pub extern "C" fn fmq_admin_topic_route(
    namesrv: *const c_char,
    topic: *const c_char,
    callback: fmq_admin_queue_data_callback,
    userdata: *mut c_void,
    out_count: *mut usize,
) -> fmq_result {
    guard(|| {
        let op = "fmq_admin_topic_route";
        check_out(op, "out_count", out_count)?;
        let namesrv = str_arg(op, "namesrv", namesrv)?;
        let topic = str_arg(op, "topic", topic)?;
        let callback = callback_arg(op, callback)?;
        let route = with_admin(op, namesrv, async |admin: &Admin| {
            admin.topic_route(topic).await
        })?;
        for q in &route.queue_datas {
            let name = c_string(&q.broker_name);
            guard_value((), || {
                callback(
                    name.as_ptr(),
                    q.read_queue_nums,
                    q.write_queue_nums,
                    q.perm,
                    userdata,
                )
            });
        }
        write_out(out_count, route.queue_datas.len());
        Ok(())
    })
}

/// The offsets of every queue of `topic` on its brokers: `callback` gets one call per queue
/// (see fmq_admin_queue_offsets_callback: min offset, max offset, last store time), ordered by
/// broker and queue id. Blocks. On success `*out_count` is the number of queues.
#[no_mangle]
pub extern "C" fn fmq_admin_topic_stats(
    namesrv: *const c_char,
    topic: *const c_char,
    callback: fmq_admin_queue_offsets_callback,
    userdata: *mut c_void,
    out_count: *mut usize,
) -> fmq_result {
    guard(|| {
        let op = "fmq_admin_topic_stats";
        check_out(op, "out_count", out_count)?;
        let namesrv = str_arg(op, "namesrv", namesrv)?;
        let topic = str_arg(op, "topic", topic)?;
        let callback = callback_arg(op, callback)?;
        let stats = with_admin(op, namesrv, async |admin: &Admin| {
            admin.topic_stats(topic).await
        })?;
        for (mq, o) in &stats {
            let name = c_string(&mq.broker_name);
            guard_value((), || {
                callback(
                    name.as_ptr(),
                    mq.queue_id,
                    o.min_offset,
                    o.max_offset,
                    o.last_update_timestamp,
                    userdata,
                )
            });
        }
        write_out(out_count, stats.len());
        Ok(())
    })
}

/// Consumer group `group`'s progress on `topic`: `callback` gets one call per queue (see
/// fmq_admin_queue_offsets_callback: broker offset, consumed offset, last consume time).
/// Blocks. On success `*out_count` is the number of queues.
#[no_mangle]
pub extern "C" fn fmq_admin_consumer_progress(
    namesrv: *const c_char,
    group: *const c_char,
    topic: *const c_char,
    callback: fmq_admin_queue_offsets_callback,
    userdata: *mut c_void,
    out_count: *mut usize,
) -> fmq_result {
    guard(|| {
        let op = "fmq_admin_consumer_progress";
        check_out(op, "out_count", out_count)?;
        let namesrv = str_arg(op, "namesrv", namesrv)?;
        let group = str_arg(op, "group", group)?;
        let topic = str_arg(op, "topic", topic)?;
        let callback = callback_arg(op, callback)?;
        let progress = with_admin(op, namesrv, async |admin: &Admin| {
            admin.consumer_progress(group, topic).await
        })?;
        for (mq, o) in &progress {
            let name = c_string(&mq.broker_name);
            guard_value((), || {
                callback(
                    name.as_ptr(),
                    mq.queue_id,
                    o.broker_offset,
                    o.consumer_offset,
                    o.last_timestamp,
                    userdata,
                )
            });
        }
        write_out(out_count, progress.len());
        Ok(())
    })
}

/// The messages of `topic` whose keys include `key`, from every broker's index (at most
/// `max` per broker): `callback` (see fmq_poll_callback) gets each, on this thread. Blocks.
/// On success `*out_count` is the number of messages (0: none found).
#[no_mangle]
pub extern "C" fn fmq_admin_query_by_key(
    namesrv: *const c_char,
    topic: *const c_char,
    key: *const c_char,
    max: i32,
    callback: fmq_poll_callback,
    userdata: *mut c_void,
    out_count: *mut usize,
) -> fmq_result {
    guard(|| {
        let op = "fmq_admin_query_by_key";
        check_out(op, "out_count", out_count)?;
        let namesrv = str_arg(op, "namesrv", namesrv)?;
        let topic = str_arg(op, "topic", topic)?;
        let key = str_arg(op, "key", key)?;
        if max <= 0 {
            return Err(Error::invalid(op, "max must be positive"));
        }
        let callback = callback_arg(op, callback)?;
        let messages = with_admin(op, namesrv, async |admin: &Admin| {
            admin.query_by_key(topic, key, max).await
        })?;
        for m in &messages {
            let view = fmq_message_view::new(m);
            guard_value((), || callback(&view, userdata));
        }
        write_out(out_count, messages.len());
        Ok(())
    })
}

/// The message with the broker's offset message id `offset_msg_id` (fmq_send_result's
/// `offset_msg_id`): `callback` (see fmq_poll_callback) gets it, on this thread. Blocks.
/// FMQ_ERR_INVALID_ARGUMENT for an id that is not one.
#[no_mangle]
pub extern "C" fn fmq_admin_view_message(
    namesrv: *const c_char,
    offset_msg_id: *const c_char,
    callback: fmq_poll_callback,
    userdata: *mut c_void,
) -> fmq_result {
    guard(|| {
        let op = "fmq_admin_view_message";
        let namesrv = str_arg(op, "namesrv", namesrv)?;
        let id = str_arg(op, "offset_msg_id", offset_msg_id)?;
        let callback = callback_arg(op, callback)?;
        let message = with_admin(op, namesrv, async |admin: &Admin| {
            admin.view_by_offset_id(id).await
        })?;
        let view = fmq_message_view::new(&message);
        guard_value((), || callback(&view, userdata));
        Ok(())
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
