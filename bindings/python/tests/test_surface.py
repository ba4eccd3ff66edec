"""The functions that mirror the client core's surface: push consumer batch size and
allocation, the admin client, a Python queue selector. Against the real servers."""

from __future__ import annotations

import pytest

import ferromq
from conftest import Collector, wait_until


def test_allocation_and_batch_size_are_checked_by_the_core():
    with pytest.raises(ferromq.InvalidArgumentError, match='"random" is not an allocation strategy'):
        ferromq.PushConsumer("127.0.0.1:9876", "g", "T", listener=print, allocation="random")
    with pytest.raises(ferromq.InvalidArgumentError, match="consume batch size"):
        ferromq.PushConsumer("127.0.0.1:9876", "g", "T", listener=print, consume_batch_size=0)
    # Any case and separators, and Java's names.
    for name in ["averagely", "averagelyByCircle", "consistentHash", "AVG_BY_CIRCLE", "consistent-hash"]:
        ferromq.PushConsumer("127.0.0.1:9876", "g", "T", listener=print, allocation=name).shutdown()


def test_consume_batch_size_and_allocation_deliver_every_message_once(cluster):
    topic = cluster.topic("Batch", queues=2)
    n = 8
    with ferromq.Producer(cluster.namesrv, cluster.name("pg")) as producer:
        for i in range(n):
            producer.send(ferromq.Message(topic, f"b{i}".encode()), sharding_key="one")
    seen = Collector()
    with ferromq.PushConsumer(
        cluster.namesrv,
        cluster.name("cg"),
        topic,
        listener=seen,
        consume_from=ferromq.ConsumeFrom.FIRST_OFFSET,
        consume_batch_size=4,
        allocation="averagelyByCircle",
    ) as consumer:
        wait_until("every message", lambda: len(seen) >= n, timeout=30)
        wait_until(
            "both queues assigned",
            lambda: len([q for q in consumer.assigned_queues() if q.topic == topic]) == 2,
            timeout=30,
        )
    assert sorted(seen.bodies()) == sorted(f"b{i}".encode() for i in range(n))


def test_admin_surface(cluster):
    admin = cluster.admin
    info = admin.cluster_info()
    assert info["DefaultCluster"][cluster.broker_name][0] == cluster.broker

    runtime = admin.broker_runtime_info(cluster.broker)
    assert "commitLogMaxOffset" in runtime and all(isinstance(v, str) for v in runtime.values())

    topic = cluster.topic("Admin", queues=2)
    queue1 = ferromq.MessageQueue(topic, cluster.broker_name, 1)
    with ferromq.Producer(cluster.namesrv, cluster.name("pg")) as producer:
        sent = producer.send(ferromq.Message(topic, b"admin", keys=["order-7"]), queue=queue1)

    def stats_show_the_message() -> bool:
        stats = admin.topic_stats(topic)
        return len(stats) == 2 and stats[1]["max_offset"] == 1

    wait_until("the topic stats", stats_show_the_message)
    stats = admin.topic_stats(topic)
    assert [(s["topic"], s["broker_name"], s["queue_id"], s["min_offset"], s["max_offset"]) for s in stats] == [
        (topic, cluster.broker_name, 0, 0, 0),
        (topic, cluster.broker_name, 1, 0, 1),
    ]

    group = cluster.name("cg")
    seen = Collector()
    with ferromq.PushConsumer(
        cluster.namesrv, group, topic, listener=seen, consume_from=ferromq.ConsumeFrom.FIRST_OFFSET
    ):
        wait_until("the admin message", lambda: len(seen) >= 1, timeout=30)

    def progress_is_committed() -> bool:
        try:
            progress = admin.consumer_progress(group, topic)
        except ferromq.FerroMQError:
            return False
        q1 = [p for p in progress if p["queue_id"] == 1]
        return bool(q1) and q1[0]["consumer_offset"] == 1 and q1[0]["broker_offset"] == 1

    wait_until("the consumer progress", progress_is_committed)

    viewed = admin.view_by_offset_id(sent.offset_msg_id)
    assert viewed.body == b"admin"
    assert viewed.msg_id == sent.msg_id
    wait_until("the key index", lambda: len(admin.query_by_key(topic, "order-7")) == 1)
    assert admin.query_by_key(topic, "no-such-key", max=4) == []

    admin.delete_topic(topic)
    with pytest.raises(ferromq.TopicNotFoundError):
        admin.topic_route(topic)


def test_send_with_selector_sends_to_the_queue_it_picks(cluster):
    topic = cluster.topic("Selector", queues=4)
    counts: list[int] = []
    with ferromq.Producer(cluster.namesrv, cluster.name("pg")) as producer:
        for i in range(4):

            def pick(message: ferromq.Message, queue_count: int, i: int = i) -> int:
                counts.append(queue_count)
                assert message.body == f"s{i}".encode()
                assert message.tag == "S"
                return queue_count - 1 - i

            r = producer.send_with_selector(ferromq.Message(topic, f"s{i}", tag="S"), pick)
            assert r.queue.queue_id == 3 - i
    assert counts == [4, 4, 4, 4]


def test_a_failing_selector_is_invalid_argument_and_nothing_is_sent(cluster):
    topic = cluster.topic("SelectorBad", queues=2)

    def raises(_message: ferromq.Message, _count: int) -> int:
        raise ValueError("no queue for you")

    with ferromq.Producer(cluster.namesrv, cluster.name("pg")) as producer:
        with pytest.raises(ferromq.InvalidArgumentError, match="queue selector raised ValueError: no queue for you"):
            producer.send_with_selector(ferromq.Message(topic, b"x"), raises)
        for bad in [2, -1, 0.5, "0", None, True]:
            with pytest.raises(ferromq.InvalidArgumentError, match="queue selector answered"):
                producer.send_with_selector(ferromq.Message(topic, b"x"), lambda _m, _n, bad=bad: bad)
        with pytest.raises(ferromq.InvalidArgumentError, match="callable"):
            producer.send_with_selector(ferromq.Message(topic, b"x"), 0)  # type: ignore[arg-type]
        # Nothing was stored: the first message of each queue is at offset 0.
        for queue_id in [0, 1]:
            r = producer.send_with_selector(ferromq.Message(topic, b"ok"), lambda _m, _n, q=queue_id: q)
            assert (r.queue.queue_id, r.queue_offset) == (queue_id, 0)
