"""API details beyond the scenarios: value types, queue sends, timestamps, consumer queries."""

from __future__ import annotations

import asyncio
import time

import pytest

import ferromq
from conftest import Collector, wait_until


def test_message_fields():
    m = ferromq.Message(
        "T", "text body", tag="A", keys=["k1", "k2"], properties={"p": "v"}, delay_level=3, flag=7
    )
    assert m.topic == "T"
    assert m.body == b"text body"
    assert m.tag == "A"
    assert m.keys == ["k1", "k2"]
    assert m.flag == 7
    assert m.property("p") == "v"
    assert m.properties["DELAY"] == "3"
    assert ferromq.Message("T", b"x", keys="one").keys == ["one"]
    assert ferromq.Message("T", b"x").tag is None
    timer = ferromq.Message("T", b"x", deliver_time_ms=1234, delay_ms=None)
    assert timer.property("TIMER_DELIVER_MS") == "1234"
    with pytest.raises(TypeError):
        ferromq.Message("T", 42)  # type: ignore[arg-type]
    assert "topic='T'" in repr(m) or 'topic="T"' in repr(m)


def test_message_queue_is_a_value():
    a = ferromq.MessageQueue("T", "b", 1)
    assert a == ferromq.MessageQueue("T", "b", 1)
    assert a != ferromq.MessageQueue("T", "b", 2)
    assert len({a, ferromq.MessageQueue("T", "b", 1)}) == 1
    assert (a.topic, a.broker_name, a.queue_id) == ("T", "b", 1)


def test_consume_from_timestamp_needs_a_time():
    with pytest.raises(ferromq.InvalidArgumentError):
        ferromq.PullConsumer("127.0.0.1:9876", "g", consume_from=ferromq.ConsumeFrom.TIMESTAMP)
    with pytest.raises(ferromq.InvalidArgumentError):
        ferromq.PullConsumer("127.0.0.1:9876", "g", consume_timestamp_ms=1)


def test_send_to_queue_and_sharding_key(cluster):
    topic = cluster.topic("Queues")
    with ferromq.Producer(cluster.namesrv, cluster.name("pg")) as p:
        q = ferromq.MessageQueue(topic, cluster.broker_name, 2)
        r = p.send_to_queue(ferromq.Message(topic, b"q2"), q)
        assert r.queue == q
        assert p.send(ferromq.Message(topic, b"q2 again"), queue=q).queue == q
        keyed = {p.send(ferromq.Message(topic, f"k{i}"), sharding_key="same-key").queue for i in range(5)}
        assert len(keyed) == 1
        assert "SendResult(" in repr(r)


def test_push_consumer_from_timestamp_and_queries(cluster):
    topic = cluster.topic("FromTimestamp")
    with ferromq.Producer(cluster.namesrv, cluster.name("pg")) as p:
        p.send(ferromq.Message(topic, b"old"))
        time.sleep(0.05)
        since = int(time.time() * 1000)
        time.sleep(0.05)
        p.send(ferromq.Message(topic, b"new"))
    got = Collector()
    c = ferromq.PushConsumer(
        cluster.namesrv,
        cluster.name("cg"),
        topic,
        "*",
        listener=got,
        consume_from=ferromq.ConsumeFrom.TIMESTAMP,
        consume_timestamp_ms=since,
    )
    with c:
        assert c.group.startswith("cg_")
        # The topic's four queues (and the group's retry queue).
        wait_until("assignment", lambda: len([q for q in c.assigned_queues() if q.topic == topic]) == 4)
        # (Which older messages a timestamp start also yields is the broker's offset search, so
        # "old" may come too, and first: wait for "new" itself.)
        wait_until("new message", lambda: b"new" in got.bodies())
    with pytest.raises(ferromq.IllegalStateError):
        c.assigned_queues()


def test_async_with_push_consumer_and_transaction_producer(cluster):
    topic = cluster.topic("AsyncWith")
    got = Collector()

    async def main():
        async with ferromq.TransactionProducer(
            cluster.namesrv, cluster.name("tg"), lambda m, tid: True, lambda m: True
        ) as tp:
            assert tp.send(ferromq.Message(topic, b"tx")).state == ferromq.TransactionState.COMMIT
        consumer = ferromq.PushConsumer(
            cluster.namesrv, cluster.name("cg"), topic, listener=got, consume_from=ferromq.ConsumeFrom.FIRST_OFFSET
        )
        async with consumer as c:
            assert c is consumer
            while len(got) < 1:
                await asyncio.sleep(0.05)
        with pytest.raises(ferromq.IllegalStateError):
            consumer.assigned_queues()

    asyncio.run(asyncio.wait_for(main(), 30))
    assert got.bodies() == [b"tx"]
