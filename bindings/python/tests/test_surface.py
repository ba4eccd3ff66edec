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
