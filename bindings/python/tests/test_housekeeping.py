"""docs/scenarios.md, "consume-timeout" and "shutdown", against the real servers (the session's
plaintext cluster: every delay level but 2 is 1 s, so a message sent back comes again within a
second or two). The listeners block on a threading.Event, which releases the GIL: the
client's other threads (the expiry check, the pulls, shutdown) keep running meanwhile.
Client-core/tests/housekeeping.rs asserts the same in Rust."""

from __future__ import annotations

import threading

import ferromq
from conftest import Collector, wait_until

# The longest a test listener blocks when the test failed before opening its gate, so a failed
# test does not leave a client thread blocked until the end of the session.
GATE_LIMIT = 60


def _one_queue_topic(cluster, prefix: str, body: str) -> tuple[str, ferromq.SendResult]:
    topic = cluster.topic(prefix, queues=1)
    with ferromq.Producer(cluster.namesrv, cluster.name("pg"), **cluster.opts) as producer:
        sent = producer.send(ferromq.Message(topic, body))
    return topic, sent


def _committed(cluster, group: str, topic: str) -> int:
    """The group's committed offset of queue 0 of `topic` on the broker, -1 while it has none."""
    try:
        rows = cluster.admin.consumer_progress(group, topic)
    except ferromq.FerroMQError:
        return -1
    return next((r["consumer_offset"] for r in rows if r["topic"] == topic and r["queue_id"] == 0), -1)


def _consumer(cluster, group: str, topic: str, listener, **kwargs) -> ferromq.PushConsumer:
    return ferromq.PushConsumer(
        cluster.namesrv,
        group,
        topic,
        listener=listener,
        consume_from=ferromq.ConsumeFrom.FIRST_OFFSET,
        **kwargs,
        **cluster.opts,
    )


def test_consume_timeout(cluster):
    """A listener call stuck far longer than consume_timeout: while it is still stuck, the
    message comes again with reconsume_times 1 and the queue's committed offset moves past it;
    the stuck call's late answer changes nothing (one redelivery only)."""
    topic, sent = _one_queue_topic(cluster, "Expire", "stuck")
    group = cluster.name("cg_expire")
    gate = threading.Event()
    first_returned = threading.Event()
    lock = threading.Lock()
    again: list[ferromq.MessageView] = []

    def listener(m: ferromq.MessageView):
        if m.reconsume_times == 0:
            gate.wait(GATE_LIMIT)
            first_returned.set()
        else:
            with lock:
                again.append(m)
        return ferromq.ConsumeResult.SUCCESS

    consumer = _consumer(cluster, group, topic, listener, consume_timeout=1)
    with consumer:
        try:
            wait_until("the redelivery", lambda: len(again) >= 1)
            with lock:
                m = again[0]
            assert (m.body, m.msg_id, m.reconsume_times) == (b"stuck", sent.msg_id, 1)
            # The queue's offset moves past the stuck message while its call still runs (the
            # offset is committed every 5 s).
            wait_until("the offset to pass the stuck message", lambda: _committed(cluster, group, topic) >= 1)
            assert not first_returned.is_set(), "the first call is still stuck"
        finally:
            gate.set()
        wait_until("the stuck call to end", first_returned.is_set)
    with lock:
        assert len(again) == 1, [(x.msg_id, x.reconsume_times) for x in again]


def test_shutdown_commits_a_call_that_ends_within_the_bound(cluster):
    """shutdown() waits for a listener call that ends 1 s after shutdown began (the bound is
    30 s) and commits its offset before it returns."""
    topic, _ = _one_queue_topic(cluster, "ShutdownWait", "slow")
    group = cluster.name("cg_shutdown_wait")
    gate = threading.Event()
    entered, finished = threading.Event(), threading.Event()

    def listener(_m: ferromq.MessageView):
        entered.set()
        gate.wait(GATE_LIMIT)
        finished.set()
        return True

    consumer = _consumer(cluster, group, topic, listener, await_termination=30)
    consumer.start()
    try:
        wait_until("the listener call", entered.is_set)
        opener = threading.Timer(1.0, gate.set)
        opener.start()
        consumer.shutdown()
        assert finished.is_set(), "shutdown waited for the call"
        assert _committed(cluster, group, topic) == 1
    finally:
        gate.set()
        consumer.shutdown()


def test_shutdown_abandons_a_call_outliving_the_bound(cluster):
    """A call still running when await_termination (0.3 s) is over is abandoned: shutdown
    returns without committing its offset, the next member of the group gets the message, and
    the abandoned call's late answer commits nothing."""
    topic, sent = _one_queue_topic(cluster, "ShutdownAbandon", "abandoned")
    group = cluster.name("cg_shutdown_abandon")
    gate = threading.Event()
    entered, finished = threading.Event(), threading.Event()

    def stuck(_m: ferromq.MessageView):
        entered.set()
        gate.wait(GATE_LIMIT)
        finished.set()
        return True

    first = _consumer(cluster, group, topic, stuck, await_termination=0.3, instance_name=f"{group}-first")
    first.start()
    try:
        wait_until("the listener call", entered.is_set)
        first.shutdown()
        assert not finished.is_set(), "the call is still running"
        assert _committed(cluster, group, topic) < 1
        got = Collector()
        with _consumer(cluster, group, topic, got, instance_name=f"{group}-second"):
            wait_until("the redelivery to the next member", lambda: len(got) >= 1)
            (m,) = got.snapshot()
            assert (m.msg_id, m.body) == (sent.msg_id, b"abandoned")
            # The abandoned call ends now; its answer commits nothing of its own.
            gate.set()
            wait_until("the abandoned call to end", finished.is_set)
        assert _committed(cluster, group, topic) == 1
        assert len(got) == 1
    finally:
        gate.set()
        first.shutdown()
