//! GET_CONSUME_STATS's `pullOffset` (Apache 5.x, `mqadmin consumerProgress` #Inflight): the
//! broker remembers where each group will pull next, so messages pulled but not committed show
//! as in flight until the group commits them, whether by UPDATE_CONSUMER_OFFSET or riding on a
//! pull.
#![allow(clippy::unwrap_used)]

use ferromq_protocol::body::{ConsumeStats, ConsumeStatsList, OffsetWrapper};
use ferromq_protocol::header::admin::{
    GetConsumeStatsInBrokerHeader, GetConsumeStatsRequestHeader,
};
use ferromq_protocol::header::offset::UpdateConsumerOffsetRequestHeader;
use ferromq_protocol::header::pull::PullMessageRequestHeader;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::Connection;

mod support;
use support::*;

const TOPIC: &str = "Inflight";
const GROUP: &str = "InflightGroup";

/// Queue id to its progress.
async fn progress(c: &Connection) -> Vec<(i32, OffsetWrapper)> {
    let h = GetConsumeStatsRequestHeader {
        consumer_group: GROUP.into(),
        topic: Some(TOPIC.into()),
        ..Default::default()
    };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::GET_CONSUME_STATS, &h),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert!(
        text.contains("\"pullOffset\":"),
        "Apache's field name: {text}"
    );
    let stats = ConsumeStats::decode(&r.body).unwrap();
    stats
        .offset_table
        .into_iter()
        .map(|(mq, w)| (mq.queue_id, w))
        .collect()
}

async fn commit(c: &Connection, queue_id: i32, offset: i64) {
    let h = UpdateConsumerOffsetRequestHeader {
        consumer_group: GROUP.into(),
        topic: TOPIC.into(),
        queue_id,
        commit_offset: offset,
        ..Default::default()
    };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, &h),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
}

/// (consumer offset, pull offset, in flight) of queue `q`.
fn queue(p: &[(i32, OffsetWrapper)], q: i32) -> (i64, i64, i64) {
    let w = &p.iter().find(|(id, _)| *id == q).unwrap().1;
    (
        w.consumer_offset,
        w.pull_offset,
        w.pull_offset - w.consumer_offset,
    )
}

#[tokio::test]
async fn pulled_and_uncommitted_messages_are_in_flight_until_committed() {
    let broker = TestBroker::start(|_| {}).await;
    let c = broker.client().await;
    let created = c.request(create_topic_request(TOPIC, 2), T).await.unwrap();
    assert_eq!(created.response_code(), ResponseCode::SUCCESS);
    for i in 0..5 {
        c.request(
            send_request(TOPIC, 0, format!("m{i}").as_bytes(), "T", "k"),
            T,
        )
        .await
        .unwrap();
    }
    wait_max_offset(&c, TOPIC, 0, 5).await;
    subscribe(&c, GROUP, TOPIC, "*").await;

    // Nothing pulled: the pull offset is the committed one.
    let p = progress(&c).await;
    assert_eq!(queue(&p, 0), (0, 0, 0));

    // A pull without a commit: all five in flight; the untouched queue has none.
    let r = c
        .request(pull_request(GROUP, TOPIC, 0, 0, 0), T)
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    assert_eq!(messages(&r.body).len(), 5);
    let p = progress(&c).await;
    assert_eq!(queue(&p, 0), (0, 5, 5));
    assert_eq!(queue(&p, 1), (0, 0, 0));

    // A partial commit leaves three in flight, which the broker-wide stats add up too.
    commit(&c, 0, 2).await;
    assert_eq!(queue(&progress(&c).await, 0), (2, 5, 3));
    let h = GetConsumeStatsInBrokerHeader { is_order: false };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::GET_BROKER_CONSUME_STATS, &h),
            T,
        )
        .await
        .unwrap();
    let list = ConsumeStatsList::decode(&r.body).unwrap();
    assert_eq!(list.total_inflight_diff, 3, "{list:?}");
    assert_eq!(list.total_diff, 3, "{list:?}");

    // The commit riding on the next pull (the commit flag, as push consumers send it) brings
    // the queue back to nothing in flight; that pull found nothing and the pull offset stays.
    let h = PullMessageRequestHeader {
        consumer_group: GROUP.to_owned(),
        topic: TOPIC.to_owned(),
        queue_id: 0,
        queue_offset: 5,
        max_msg_nums: 32,
        sys_flag: 1,
        commit_offset: 5,
        sub_version: 1,
        ..Default::default()
    };
    let r = c
        .request(
            RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &h),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::PULL_NOT_FOUND);
    assert_eq!(queue(&progress(&c).await, 0), (5, 5, 0));

    // A commit moved back below the pull offset shows the pulled ones in flight again.
    commit(&c, 0, 1).await;
    assert_eq!(queue(&progress(&c).await, 0), (1, 5, 4));
    broker.stop().await;
}
