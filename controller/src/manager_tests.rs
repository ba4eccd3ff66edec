//! Unit tests of the request rules: each builds a state by applying the events the rules emit,
//! as the Raft log would.

use super::*;
use crate::elect::tests::Table;

fn apply_all<H>(state: &mut ReplicasState, out: &Outcome<H>) {
    for e in &out.events {
        state.apply(e);
    }
}

fn join(state: &mut ReplicasState, addr: &str) -> i64 {
    let next = next_broker_id(
        state,
        &GetNextBrokerIdRequestHeader {
            cluster_name: Some("c".into()),
            broker_name: Some("b".into()),
        },
    );
    let id = next.header.next_broker_id.expect("id");
    let applied = apply_broker_id(
        state,
        &ApplyBrokerIdRequestHeader {
            cluster_name: Some("c".into()),
            broker_name: Some("b".into()),
            applied_broker_id: Some(id),
            register_check_code: Some(format!("{addr};1")),
        },
    );
    assert_eq!(applied.code, ResponseCode::SUCCESS, "{:?}", applied.remark);
    apply_all(state, &applied);
    id
}

fn elect_req(broker_id: i64, designate: bool) -> ElectMasterRequestHeader {
    ElectMasterRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: Some("b".into()),
        broker_id: Some(broker_id),
        designate_elect: Some(designate),
        invoke_time: None,
    }
}

fn alive(ids: &[i64]) -> Table {
    Table(ids.iter().map(|&id| (id, (0, 0, 0))).collect())
}

#[test]
fn ids_are_handed_out_in_order_and_checked() {
    let mut s = ReplicasState::default();
    assert_eq!(join(&mut s, "a:1"), 1);
    assert_eq!(join(&mut s, "a:2"), 2);
    // Another broker claiming id 2 is refused; the holder re-applying is accepted.
    let claim = |code: &str| ApplyBrokerIdRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: Some("b".into()),
        applied_broker_id: Some(2),
        register_check_code: Some(code.into()),
    };
    let other = apply_broker_id(&s, &claim("x:9;5"));
    assert_eq!(other.code, ResponseCode::CONTROLLER_BROKER_ID_INVALID);
    assert!(other.events.is_empty());
    assert_eq!(
        apply_broker_id(&s, &claim("a:2;1")).code,
        ResponseCode::SUCCESS
    );
    // A new set takes only id 1.
    let mut h = claim("z:1;1");
    h.broker_name = Some("new".into());
    assert_eq!(
        apply_broker_id(&s, &h).code,
        ResponseCode::CONTROLLER_BROKER_ID_INVALID
    );
}

#[test]
fn first_election_takes_the_asking_replica_then_policy_applies() {
    let mut s = ReplicasState::default();
    join(&mut s, "a:1");
    join(&mut s, "a:2");
    let first = elect_master(&s, &elect_req(2, false), &alive(&[]), false);
    assert_eq!(first.code, ResponseCode::SUCCESS);
    assert_eq!(first.header.master_broker_id, Some(2));
    assert_eq!(first.header.master_address.as_deref(), Some("a:2"));
    assert_eq!(first.header.master_epoch, Some(1));
    apply_all(&mut s, &first);

    // Master 2 alive: it stays.
    let again = elect_master(&s, &elect_req(1, false), &alive(&[1, 2]), false);
    assert_eq!(again.code, ResponseCode::CONTROLLER_MASTER_STILL_EXIST);
    assert!(again.events.is_empty());

    // Master 2 dead, 1 not in the sync state set: no clean candidate.
    let lost = elect_master(&s, &elect_req(-1, false), &alive(&[1]), false);
    assert_eq!(lost.code, ResponseCode::CONTROLLER_MASTER_NOT_AVAILABLE);
    apply_all(&mut s, &lost);
    let set = s.get("b").expect("set");
    assert_eq!((set.master_broker_id, set.master_epoch), (None, 2));

    // Unclean election allowed: replica 1 takes over.
    let unclean = elect_master(&s, &elect_req(-1, false), &alive(&[1]), true);
    assert_eq!(unclean.code, ResponseCode::SUCCESS);
    assert_eq!(unclean.header.master_broker_id, Some(1));
    apply_all(&mut s, &unclean);
    let set = s.get("b").expect("set");
    assert_eq!(set.master_epoch, 3);
    assert_eq!(set.sync_state_set, [1].into_iter().collect());
    let body =
        ElectMasterResponseBody::decode(unclean.body.as_deref().expect("body")).expect("decode");
    assert_eq!(
        body.broker_member_group.expect("group").broker_addrs.len(),
        2
    );
}

#[test]
fn broker_asking_without_candidates_gets_elect_failed_and_no_event() {
    let mut s = ReplicasState::default();
    join(&mut s, "a:1");
    join(&mut s, "a:2");
    let first = elect_master(&s, &elect_req(1, false), &alive(&[]), false);
    apply_all(&mut s, &first);
    let out = elect_master(&s, &elect_req(2, false), &alive(&[2]), false);
    assert_eq!(out.code, ResponseCode::CONTROLLER_ELECT_MASTER_FAILED);
    assert!(out.events.is_empty());
}

#[test]
fn alter_sync_state_set_checks_master_epochs_and_liveness() {
    let mut s = ReplicasState::default();
    join(&mut s, "a:1");
    join(&mut s, "a:2");
    join(&mut s, "a:3");
    let first = elect_master(&s, &elect_req(1, false), &alive(&[]), false);
    apply_all(&mut s, &first);
    let set = s.get("b").expect("set").clone();
    let req = |master: i64, epoch: i32| AlterSyncStateSetRequestHeader {
        broker_name: Some("b".into()),
        master_broker_id: Some(master),
        master_epoch: Some(epoch),
        invoke_time: None,
    };
    let body = |ids: &[i64], epoch: i32| SyncStateSet {
        sync_state_set: ids.iter().copied().collect(),
        sync_state_set_epoch: epoch,
    };
    let live = alive(&[1, 2]);
    let e = set.sync_state_set_epoch;
    let m = set.master_epoch;
    let code = |o: Outcome<AlterSyncStateSetResponseHeader>| o.code;
    assert_eq!(
        code(alter_sync_state_set(
            &s,
            &req(2, m),
            &body(&[1, 2], e),
            &live
        )),
        ResponseCode::CONTROLLER_INVALID_MASTER
    );
    assert_eq!(
        code(alter_sync_state_set(
            &s,
            &req(1, m + 1),
            &body(&[1, 2], e),
            &live
        )),
        ResponseCode::CONTROLLER_FENCED_MASTER_EPOCH
    );
    assert_eq!(
        code(alter_sync_state_set(
            &s,
            &req(1, m),
            &body(&[1, 2], e - 1),
            &live
        )),
        ResponseCode::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH
    );
    assert_eq!(
        code(alter_sync_state_set(
            &s,
            &req(1, m),
            &body(&[1, 9], e),
            &live
        )),
        ResponseCode::CONTROLLER_INVALID_REPLICAS
    );
    assert_eq!(
        code(alter_sync_state_set(
            &s,
            &req(1, m),
            &body(&[1, 3], e),
            &live
        )),
        ResponseCode::CONTROLLER_BROKER_NOT_ALIVE
    );
    assert_eq!(
        code(alter_sync_state_set(&s, &req(1, m), &body(&[2], e), &live)),
        ResponseCode::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED
    );
    let ok = alter_sync_state_set(&s, &req(1, m), &body(&[1, 2], e), &live);
    assert_eq!(ok.code, ResponseCode::SUCCESS);
    assert_eq!(ok.header.new_sync_state_set_epoch, Some(e + 1));
    apply_all(&mut s, &ok);
    assert_eq!(s.get("b").expect("set").sync_state_set_epoch, e + 1);

    // Now master 1 dies: 2 is in sync and alive, so it is elected; 3 never is.
    let out = elect_master(&s, &elect_req(-1, false), &alive(&[2, 3]), false);
    assert_eq!(out.header.master_broker_id, Some(2));
    assert_eq!(
        sets_needing_election(&s, &alive(&[2, 3])),
        vec!["b".to_owned()]
    );
    assert!(
        sets_needing_election(&s, &alive(&[])).is_empty(),
        "nobody alive"
    );
    assert!(
        sets_needing_election(&s, &alive(&[1])).is_empty(),
        "master alive"
    );
}

#[test]
fn register_reports_live_master_and_new_address() {
    let mut s = ReplicasState::default();
    join(&mut s, "a:1");
    join(&mut s, "a:2");
    let first = elect_master(&s, &elect_req(1, false), &alive(&[]), false);
    apply_all(&mut s, &first);
    let req = |addr: &str| RegisterBrokerToControllerRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: Some("b".into()),
        broker_id: Some(2),
        broker_address: Some(addr.into()),
        invoke_time: None,
    };
    let out = register_broker(&s, &req("a:2"), &alive(&[1]));
    assert_eq!(out.header.master_address.as_deref(), Some("a:1"));
    assert!(out.events.is_empty());
    let moved = register_broker(&s, &req("a:22"), &alive(&[]));
    assert_eq!(
        moved.header.master_broker_id, None,
        "dead master not reported"
    );
    apply_all(&mut s, &moved);
    assert_eq!(s.get("b").expect("set").address_of(Some(2)), Some("a:22"));
    let mut unknown = req("a:2");
    unknown.broker_id = Some(7);
    assert_eq!(
        register_broker(&s, &unknown, &alive(&[])).code,
        ResponseCode::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED
    );
}

#[test]
fn clean_refuses_live_brokers_unless_forced() {
    let mut s = ReplicasState::default();
    join(&mut s, "a:1");
    join(&mut s, "a:2");
    let first = elect_master(&s, &elect_req(1, false), &alive(&[]), false);
    apply_all(&mut s, &first);
    let req = |ids: Option<&str>, force: bool| CleanControllerBrokerDataRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: Some("b".into()),
        broker_controller_ids_to_clean: ids.map(str::to_owned),
        is_clean_living_broker: Some(force),
        invoke_time: None,
    };
    let invalid = ResponseCode::CONTROLLER_INVALID_CLEAN_BROKER_METADATA;
    assert_eq!(
        clean_broker_data(&s, &req(None, false), &alive(&[])).code,
        invalid
    );
    assert_eq!(
        clean_broker_data(&s, &req(Some("2"), false), &alive(&[2])).code,
        invalid
    );
    assert_eq!(
        clean_broker_data(&s, &req(Some("x"), false), &alive(&[])).code,
        invalid
    );
    let ok = clean_broker_data(&s, &req(Some("2"), false), &alive(&[1]));
    assert_eq!(ok.code, ResponseCode::SUCCESS);
    apply_all(&mut s, &ok);
    assert_eq!(s.get("b").expect("set").replicas.len(), 1);
    let all = clean_broker_data(&s, &req(None, true), &alive(&[1]));
    apply_all(&mut s, &all);
    assert!(s.get("b").is_none());
}

#[test]
fn sync_state_data_splits_replicas() {
    let mut s = ReplicasState::default();
    join(&mut s, "a:1");
    join(&mut s, "a:2");
    let first = elect_master(&s, &elect_req(1, false), &alive(&[]), false);
    apply_all(&mut s, &first);
    let info = sync_state_data(&s, &["b".into(), "nope".into()], &alive(&[1]));
    let b = &info.replicas_info_table["b"];
    assert_eq!(b.master_broker_id, Some(1));
    assert_eq!(b.in_sync_replicas.len(), 1);
    assert!(b.in_sync_replicas[0].alive);
    assert_eq!(b.not_in_sync_replicas[0].broker_id, 2);
    assert!(!info.replicas_info_table.contains_key("nope"));
}

#[test]
fn stored_strings_are_bounded() {
    let s = ReplicasState::default();
    let h = |name: &str, code: &str| ApplyBrokerIdRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: Some(name.into()),
        applied_broker_id: Some(1),
        register_check_code: Some(code.into()),
    };
    let long = "x".repeat(MAX_NAME_LEN + 1);
    for bad in [
        h(&long, "a:1;1"),
        h("b", &long),
        h("b\n", "a:1;1"),
        h("b", ";1"),
    ] {
        let out = apply_broker_id(&s, &bad);
        assert_eq!(
            out.code,
            ResponseCode::CONTROLLER_INVALID_REQUEST,
            "{bad:?}"
        );
        assert!(out.events.is_empty());
    }
    assert_eq!(
        apply_broker_id(&s, &h("b", "a:1;1")).code,
        ResponseCode::SUCCESS
    );
}
