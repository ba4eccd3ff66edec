//! A failing disk under SYNC_FLUSH, through the store's I/O fault seam: the send whose sync
//! failed is answered with an error, never SEND_OK (Apache answers SEND_OK there,
//! apache/rocketmq#2706); later sends are refused with a reason; reads go on; runtime info says
//! why.
#![allow(clippy::unwrap_used)]

use ferromq_protocol::body::KVTable;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_store::fault::inject::{fail_nth, IoOp};
use ferromq_store::FlushDiskType;

mod support;
use support::*;

#[tokio::test]
async fn a_failed_sync_is_never_acknowledged_and_stops_writes() {
    let broker = TestBroker::start(|s| s.store.flush_disk_type = FlushDiskType::SyncFlush).await;
    let c = broker.client().await;
    let resp = c
        .request(send_request("Disk", 0, b"safe", "T", "k1"), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);

    let first_file = broker.root().join("commitlog").join(format!("{:020}", 0));
    assert!(first_file.exists());
    let rule = fail_nth(&first_file, IoOp::Sync, 1);
    let resp = c
        .request(send_request("Disk", 0, b"lost?", "T", "k2"), T)
        .await
        .unwrap();
    assert!(rule.fired());
    assert_eq!(resp.response_code(), ResponseCode::SYSTEM_ERROR);
    let remark = resp.remark.unwrap();
    assert!(remark.contains("store fault"), "{remark}");
    // Linux reports a failed writeback once; the next sync would "succeed". Still refused.
    drop(rule);
    let resp = c
        .request(send_request("Disk", 0, b"later", "T", "k3"), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SERVICE_NOT_AVAILABLE);
    assert!(resp.remark.unwrap().contains("until restart"));

    let info = c
        .request(
            RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO),
            T,
        )
        .await
        .unwrap();
    let table = KVTable::decode(&info.body).unwrap().table;
    assert!(!table["storeFault"].is_empty(), "{table:?}");

    // Reads go on: the acknowledged message is indexed and served, the failed one never is.
    wait_max_offset(&c, "Disk", 0, 1).await;
    subscribe(&c, "G", "Disk", "*").await;
    let resp = c
        .request(pull_request("G", "Disk", 0, 0, 0), T)
        .await
        .unwrap();
    assert_eq!(resp.response_code(), ResponseCode::SUCCESS);
    assert_eq!(&messages(&resp.body)[0].body[..], b"safe");
    broker.stop().await;
}
