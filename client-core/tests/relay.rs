//! What an operator's tool does to our consumers through the broker's relay: a reset by time
//! makes a running push consumer rewind and consume again, consumer status reports its offsets,
//! running info describes it, and consume-directly runs its listener on one stored message.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{consumer_options, producer_options, unique, Collected, Servers};
use ferromq_client::{FilterExpression, Message, Producer, PushConsumer};
use ferromq_protocol::body::{GetConsumerStatusBody, ResetOffsetBody};
use ferromq_protocol::header::client::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
    GetConsumerStatusRequestHeader, ResetOffsetRequestHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Connection, ConnectionConfig, IgnoreRequests};

const WAIT: Duration = Duration::from_secs(30);
const T: Duration = Duration::from_secs(15);

async fn admin_call(
    admin: &Connection,
    code: RequestCode,
    header: &impl ferromq_protocol::CommandHeader,
) -> RemotingCommand {
    admin
        .request(RemotingCommand::request_with_header(code, header), T)
        .await
        .expect("admin request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_by_time_rewinds_a_running_consumer_and_status_reports_it() {
    let servers = Servers::start(|_| {}).await;
    let topic = unique("Rewind");
    servers.create_topic(&topic, 2).await;
    let producer = Producer::start(producer_options(&servers, &unique("pg")))
        .await
        .expect("producer");
    let n = 10;
    let mut first_id = String::new();
    for i in 0..n {
        let r = producer
            .send(Message::new(&topic, format!("m-{i}")))
            .await
            .expect("send");
        if i == 0 {
            first_id = r.offset_msg_id.clone();
        }
    }
    let got = Collected::default();
    let group = unique("cg");
    let instance = unique("relay");
    let consumer = PushConsumer::start(
        consumer_options(&servers, &group, &instance),
        [(topic.clone(), FilterExpression::all())],
        got.listener(),
    )
    .await
    .expect("consumer");
    got.wait_for(n, WAIT).await;

    let admin = Connection::connect(
        servers.broker.addr(),
        Arc::new(IgnoreRequests),
        ConnectionConfig::default(),
    )
    .await
    .expect("admin connection");
    let client_id = consumer.client().id().to_owned();

    // Its offsets: every message consumed (offsets reach the broker within the commit period,
    // the client's own table at once).
    let h = GetConsumerStatusRequestHeader {
        topic: topic.clone(),
        group: group.clone(),
        ..Default::default()
    };
    let r = admin_call(
        &admin,
        RequestCode::INVOKE_BROKER_TO_GET_CONSUMER_STATUS,
        &h,
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let status = GetConsumerStatusBody::decode(&r.body).expect("status");
    let offsets = &status.consumer_table[&client_id].0;
    assert_eq!(offsets.values().sum::<i64>(), n as i64, "{offsets:?}");

    // Running info: what the consumer says about itself.
    let h = GetConsumerRunningInfoRequestHeader {
        consumer_group: group.clone(),
        client_id: client_id.clone(),
        jstack_enable: Some(false),
        broker_name: None,
    };
    let r = admin_call(&admin, RequestCode::GET_CONSUMER_RUNNING_INFO, &h).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    assert!(String::from_utf8_lossy(&r.body).contains("CONSUME_PASSIVELY"));

    // Consume directly: the listener runs once more on the first message.
    let h = ConsumeMessageDirectlyResultRequestHeader {
        consumer_group: group.clone(),
        client_id: Some(client_id.clone()),
        msg_id: Some(first_id),
        topic: Some(topic.clone()),
        ..Default::default()
    };
    let r = admin_call(&admin, RequestCode::CONSUME_MESSAGE_DIRECTLY, &h).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    assert!(
        String::from_utf8_lossy(&r.body).contains("CR_SUCCESS"),
        "{:?}",
        String::from_utf8_lossy(&r.body)
    );
    got.wait_for(n + 1, WAIT).await;

    // Reset to the beginning (timestamp 0): every message is consumed again.
    let h = ResetOffsetRequestHeader {
        topic: topic.clone(),
        group: group.clone(),
        timestamp: 0,
        is_force: true,
        ..Default::default()
    };
    // The broker needs the group's offsets first: the consumer commits within its 5 s period.
    let deadline = std::time::Instant::now() + WAIT;
    let r = loop {
        let r = admin_call(&admin, RequestCode::INVOKE_BROKER_TO_RESET_OFFSET, &h).await;
        if r.response_code() == ResponseCode::SUCCESS {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "reset refused: {:?}",
            r.remark
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let table = ResetOffsetBody::decode(&r.body)
        .expect("table")
        .offset_table;
    assert!(table.values().all(|o| *o == 0), "{table:?}");
    got.wait_for(2 * n + 1, WAIT).await;

    admin.close();
    consumer.shutdown().await;
    producer.shutdown().await;
    servers.stop().await;
}
