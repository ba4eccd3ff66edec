"""docs/scenarios.md, "message-trace", against the real servers (plaintext, then ACL and mutual
TLS as in test_scenarios.py): traced producers, a traced transaction producer and traced push
consumers write records to RMQ_SYS_TRACE_TOPIC; the tests query that topic by message id
through the admin client and decode the records themselves, as docs/message-trace.md describes
the format. client-core/tests/trace.rs checks the same in Rust."""

from __future__ import annotations

import contextlib

import pytest

import ferromq
from conftest import Collector, wait_until

TRACE_TOPIC = "RMQ_SYS_TRACE_TOPIC"


@pytest.fixture(scope="module", params=["plain", "acl+tls"])
def cluster(request):
    """Each test runs against the plain cluster, then against the secure one."""
    return request.getfixturevalue("plain_cluster" if request.param == "plain" else "secure_cluster")


def _consumer(cluster, group, topic, listener, **kwargs) -> ferromq.PushConsumer:
    return ferromq.PushConsumer(
        cluster.namesrv,
        group,
        topic,
        listener=listener,
        consume_from=ferromq.ConsumeFrom.FIRST_OFFSET,
        **kwargs,
        **cluster.opts,
    )


def _trace_records(cluster, msg_id: str) -> list[list[str]]:
    """The records about `msg_id` in the trace topic, each a list of fields (the type first):
    records end with \\u0002, fields are separated by \\u0001. Empty while the trace topic or
    its index entries do not exist yet."""
    try:
        found = cluster.admin.query_by_key(TRACE_TOPIC, msg_id, max=64)
    except ferromq.FerroMQError:
        return []
    records = []
    for m in found:
        for record in m.body.decode().split("\u0002"):
            fields = record.split("\u0001")
            if len(fields) > 1 and msg_id in fields:
                records.append(fields)
    return records


def _types(records: list[list[str]]) -> list[str]:
    return [r[0] for r in records]


def _wait_records(cluster, msg_id: str, *, ends: int = 0, **counts: int) -> dict[str, list[list[str]]]:
    """Waits until the records of `msg_id` hold exactly `counts` of each type (`Pub=1, ...`)
    and at least `ends` EndTransaction records (none when 0); returns them by type."""

    def complete() -> bool:
        types = _types(_trace_records(cluster, msg_id))
        n = types.count("EndTransaction")
        return all(types.count(t) == c for t, c in counts.items()) and (n >= ends if ends else n == 0)

    wait_until(f"the trace records of {msg_id}: {counts}, {ends} EndTransaction", complete)
    by_type: dict[str, list[list[str]]] = {"EndTransaction": []}
    for r in _trace_records(cluster, msg_id):
        by_type.setdefault(r[0], []).append(r)
    return by_type


def _check_consumed(records: dict[str, list[list[str]]], group: str, msg_id: str, keys: str) -> None:
    """One SubBefore/SubAfter pair of `group` sharing a request id, for a first delivery that
    succeeded."""
    (before,) = records["SubBefore"]
    (after,) = records["SubAfter"]
    # SubBefore: timestamp, regionId, group, requestId, msgId, retryTimes, keys.
    assert before[3] == group
    assert before[4], "a request id"
    assert before[5:8] == [msg_id, "0", keys]
    # SubAfter: requestId, msgId, costTime, success, keys, contextCode, timestamp, group.
    assert after[1:3] == [before[4], msg_id]
    assert (after[4], after[5], after[6]) == ("true", keys, "0")
    assert after[8] == group


def test_message_trace(cluster):
    """The core: one traced send with a tag and two keys, consumed by a traced push consumer:
    a Pub record and a SubBefore/SubAfter pair with one request id."""
    topic = cluster.topic("Traced", queues=2)
    pg, cg = cluster.name("trace_pg"), cluster.name("trace_cg")
    got = Collector()
    with ferromq.Producer(cluster.namesrv, pg, enable_msg_trace=True, **cluster.opts) as producer:
        sent = producer.send(ferromq.Message(topic, b"traced", tag="TagT", keys=["order-1", "order-2"]))
        with _consumer(cluster, cg, topic, got, enable_msg_trace=True):
            wait_until("the traced message", lambda: len(got) >= 1)
            records = _wait_records(cluster, sent.msg_id, Pub=1, SubBefore=1, SubAfter=1)
    assert got.snapshot()[0].msg_id == sent.msg_id
    # Pub: timestamp, regionId, group, topic, msgId, tags, keys, storeHost, bodyLength,
    # costTime, msgType, offsetMsgId, success.
    (pub,) = records["Pub"]
    assert pub[3:8] == [pg, topic, sent.msg_id, "TagT", "order-1 order-2"]
    assert pub[8] == cluster.broker
    assert pub[9] == "6"
    assert pub[11] == "0"  # a normal message
    assert pub[12] == sent.offset_msg_id
    assert pub[13] == "true"
    _check_consumed(records, cg, sent.msg_id, "order-1 order-2")


def test_message_trace_batch(cluster):
    """A traced batch of 3: each message has its own Pub record (its id, offsetMsgId, tag,
    keys and size) and its own SubBefore/SubAfter pair."""
    topic = cluster.topic("TracedBatch", queues=1)
    pg, cg = cluster.name("trace_batch_pg"), cluster.name("trace_batch_cg")
    got = Collector()
    with ferromq.Producer(cluster.namesrv, pg, enable_msg_trace=True, **cluster.opts) as producer:
        (result,) = producer.send_batch(
            [ferromq.Message(topic, f"batched {i}", tag=f"T{i}", keys=f"batch-key-{i}") for i in range(3)]
        )
        ids, offset_ids = result.msg_id.split(","), result.offset_msg_id.split(",")
        assert (len(set(ids)), len(set(offset_ids))) == (3, 3)
        with _consumer(cluster, cg, topic, got, enable_msg_trace=True):
            wait_until("the batch", lambda: len(got) >= 3)
            traced = [_wait_records(cluster, msg_id, Pub=1, SubBefore=1, SubAfter=1) for msg_id in ids]
    assert sorted(m.msg_id for m in got.snapshot()) == sorted(ids)
    for i, (msg_id, offset_id, records) in enumerate(zip(ids, offset_ids, traced)):
        (pub,) = records["Pub"]
        assert pub[3:8] == [pg, topic, msg_id, f"T{i}", f"batch-key-{i}"]
        assert pub[9] == str(len(f"batched {i}"))
        assert (pub[11], pub[12], pub[13]) == ("0", offset_id, "true")
        _check_consumed(records, cg, msg_id, f"batch-key-{i}")


def test_message_trace_transaction(cluster):
    """A traced transaction left unknown and committed on the broker's check-back: a Pub record
    of the half message, an EndTransaction record of the local UNKNOW and one of the check-back's
    COMMIT_MESSAGE with fromTransactionCheck=true; the committed message's consumption is traced
    too."""
    topic = cluster.topic("TracedTx", queues=1)
    pg, cg = cluster.name("trace_tx_pg"), cluster.name("trace_tx_cg")
    got = Collector()
    checked: list[bytes] = []

    def check(m: ferromq.MessageView):
        checked.append(m.body)
        return ferromq.TransactionState.COMMIT

    with ferromq.TransactionProducer(
        cluster.namesrv, pg, lambda m, tid: None, check, enable_msg_trace=True, **cluster.opts
    ) as producer:
        sent = producer.send(ferromq.Message(topic, b"checked", keys="check-1"))
        assert sent.state == ferromq.TransactionState.UNKNOWN
        msg_id = sent.send_result.msg_id
        with _consumer(cluster, cg, topic, got, enable_msg_trace=True):
            wait_until("the committed message", lambda: len(got) >= 1, timeout=40)
            # The producer runs until the check-back's record is written.
            records = _wait_records(cluster, msg_id, ends=2, Pub=1, SubBefore=1, SubAfter=1)
    assert set(checked) == {b"checked"}
    assert got.snapshot()[0].msg_id == msg_id
    (pub,) = records["Pub"]
    assert pub[3:6] == [pg, topic, msg_id]
    assert pub[11] == "1"  # a transaction half message
    # EndTransaction: timestamp, regionId, group, topic, msgId, tags, keys, storeHost, msgType,
    # transactionId, transactionState, fromTransactionCheck.
    # One for the local decision, one per check-back (a slow answer may be asked for again).
    ends = records["EndTransaction"]
    (local,) = [r for r in ends if r[12] == "false"]
    checked_back = [r for r in ends if r[12] != "false"]
    assert local[11] == "UNKNOW"
    assert {(r[11], r[12]) for r in checked_back} == {("COMMIT_MESSAGE", "true")}
    for end in ends:
        assert end[3:9] == [pg, topic, msg_id, "null", "check-1", cluster.broker]
        assert end[9] == "2"  # Java writes every end as a transaction commit type
        assert end[10] == sent.send_result.transaction_id
    _check_consumed(records, cg, msg_id, "check-1")


def test_message_trace_namespace(cluster):
    """A traced producer and consumer with a namespace: the records name the bare topic and
    groups and are in the bare RMQ_SYS_TRACE_TOPIC, not in `<namespace>%RMQ_SYS_TRACE_TOPIC`."""
    ns = "tenantT"
    topic = cluster.name("TracedNs")
    pg, cg = cluster.name("trace_ns_pg"), cluster.name("trace_ns_cg")
    wire = f"{ns}%{topic}"
    cluster.admin.create_topic(wire, queue_nums=1)

    def routed(name: str) -> bool:
        try:
            return bool(cluster.admin.topic_route(name))
        except ferromq.FerroMQError:
            return False

    wait_until(f"route of {wire}", lambda: routed(wire))
    got = Collector()
    with contextlib.ExitStack() as running:
        producer = running.enter_context(
            ferromq.Producer(cluster.namesrv, pg, namespace=ns, enable_msg_trace=True, **cluster.opts)
        )
        sent = producer.send(ferromq.Message(topic, b"in a namespace", keys="ns-key"))
        assert sent.queue.topic == topic
        running.enter_context(_consumer(cluster, cg, topic, got, namespace=ns, enable_msg_trace=True))
        wait_until("the namespaced message", lambda: len(got) >= 1)
        records = _wait_records(cluster, sent.msg_id, Pub=1, SubBefore=1, SubAfter=1)
    (pub,) = records["Pub"]
    assert pub[3:8] == [pg, topic, sent.msg_id, "null", "ns-key"]
    _check_consumed(records, cg, sent.msg_id, "ns-key")
    assert not routed(f"{ns}%{TRACE_TOPIC}"), "nothing was written to the namespaced trace topic"


def test_an_illegal_trace_topic_is_refused_at_start(cluster):
    """`trace_topic` reaches the core from every traced class: an illegal one fails start()."""
    made = [
        lambda: ferromq.Producer(cluster.namesrv, cluster.name("pg"), enable_msg_trace=True, trace_topic="bad/topic", **cluster.opts),
        lambda: ferromq.TransactionProducer(
            cluster.namesrv, cluster.name("tg"), lambda m, tid: True, lambda m: True,
            enable_msg_trace=True, trace_topic="bad/topic", **cluster.opts,
        ),
        lambda: _consumer(cluster, cluster.name("cg"), "AnyTopic", print, enable_msg_trace=True, trace_topic="bad/topic"),
    ]
    for make in made:
        with pytest.raises(ferromq.InvalidArgumentError, match="trace topic"):
            make().start()
