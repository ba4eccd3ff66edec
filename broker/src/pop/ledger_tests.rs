//! Tests of the pop ledger: replay, torn tails, group commit, compaction, orderly batches.
#![allow(clippy::unwrap_used)]
use super::*;

fn pop(o: Vec<i64>, pt: i64) -> Record {
    Record::Pop {
        g: "g".into(),
        t: "T".into(),
        q: 0,
        pt,
        it: 1000,
        rq: 1,
        n: o.iter().max().map_or(0, |m| m + 1),
        o,
    }
}

#[test]
fn replay_compacts_and_cuts_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    {
        let l = Ledger::open(dir.path()).unwrap();
        l.append(&[pop(vec![0, 1, 2], 10)]).unwrap();
        l.append(&[Record::Ack {
            g: "g".into(),
            t: "T".into(),
            q: 0,
            o: 1,
            pt: 10,
        }])
        .unwrap();
        // A stale handle (other pop time) changes nothing.
        l.append(&[Record::Ack {
            g: "g".into(),
            t: "T".into(),
            q: 0,
            o: 2,
            pt: 9,
        }])
        .unwrap();
    }
    // A torn frame at the end.
    let path = dir.path().join("ledger");
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&[200, 0, 0, 0, 1, 2]).unwrap();
    drop(f);
    let l = Ledger::open(dir.path()).unwrap();
    let s = l.state();
    let mut offs: Vec<i64> = s.inflight.keys().map(|k| k.offset).collect();
    offs.sort_unstable();
    assert_eq!(offs, vec![0, 2]);
    assert_eq!(s.offsets[&("g".into(), "T".into(), 0)], 3);
    assert_eq!(s.due.len(), 2);
}

#[test]
fn concurrent_appends_share_syncs_and_all_apply() {
    let dir = tempfile::tempdir().unwrap();
    let l = std::sync::Arc::new(Ledger::open(dir.path()).unwrap());
    let started = std::time::Instant::now();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let l = l.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    l.append(&[Record::Pop {
                        g: format!("g{t}"),
                        t: "T".into(),
                        q: 0,
                        pt: 1,
                        it: 1000,
                        rq: 0,
                        o: vec![i],
                        n: i + 1,
                    }])
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    eprintln!("400 appends by 8 threads in {:?}", started.elapsed());
    assert_eq!(l.state().inflight.len(), 400);
    drop(l);
    let l = Ledger::open(dir.path()).unwrap();
    assert_eq!(l.state().inflight.len(), 400);
    assert_eq!(l.state().offsets[&("g3".into(), "T".into(), 0)], 50);
}

#[test]
fn compaction_while_running_keeps_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    l.compact_at
        .store(4096, std::sync::atomic::Ordering::Relaxed);
    for i in 0..300 {
        l.append(&[pop(vec![i], 10)]).unwrap();
        if i % 3 != 0 {
            l.append(&[Record::Ack {
                g: "g".into(),
                t: "T".into(),
                q: 0,
                o: i,
                pt: 10,
            }])
            .unwrap();
        }
    }
    let size = std::fs::metadata(dir.path().join("ledger")).unwrap().len();
    assert_eq!(l.state().inflight.len(), 100);
    drop(l);
    let l = Ledger::open(dir.path()).unwrap();
    assert_eq!(l.state().inflight.len(), 100);
    assert!(l.state().inflight.keys().all(|k| k.offset % 3 == 0));
    assert_eq!(l.state().offsets[&("g".into(), "T".into(), 0)], 300);
    // 300 pops and 200 acks are about 60 KiB of records; compaction kept the file small.
    assert!(size < 30_000, "{size}");
}

#[test]
fn orderly_batches_survive_replay_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let key = ("g".to_owned(), "T".to_owned(), 0);
    {
        let l = Ledger::open(dir.path()).unwrap();
        l.append(&[Record::OrderPop {
            g: "g".into(),
            t: "T".into(),
            q: 0,
            pt: 100,
            it: 1000,
            a: Some("x".into()),
            o: vec![5, 6, 7],
            c: vec![(5, 2)],
            n: 5,
        }])
        .unwrap();
        for (o, pt) in [(5, 100), (6, 99)] {
            l.append(&[Record::OrderAck {
                g: "g".into(),
                t: "T".into(),
                q: 0,
                o,
                pt,
            }])
            .unwrap();
        }
        l.append(&[Record::OrderChange {
            g: "g".into(),
            t: "T".into(),
            q: 0,
            o: 7,
            pt: 100,
            at: 5000,
        }])
        .unwrap();
        assert_eq!(l.state().offsets[&key], 6, "first unacked");
    }
    for _ in 0..2 {
        // Replay, then replay of the compacted file.
        let l = Ledger::open(dir.path()).unwrap();
        let s = l.state();
        let b = &s.orders[&key];
        assert_eq!(b.acked.iter().copied().collect::<Vec<_>>(), vec![5]);
        assert_eq!(b.visible_at[&7], 5000);
        assert_eq!(b.counts[&5], 2);
        assert!(b.blocks(Some("y"), 1050));
        assert!(
            !b.blocks(Some("x"), 1050),
            "the same attempt is never blocked"
        );
        assert!(!b.blocks(None, 6000));
        assert_eq!(s.offsets[&key], 6);
    }
}
