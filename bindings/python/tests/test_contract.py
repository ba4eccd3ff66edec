"""The client core's contract as Python sees it (the same in every FerroMQ binding): what a
listener's answer means, the lifecycle of an object, and the option rules."""

from __future__ import annotations

import asyncio
import threading

import pytest

import ferromq
from conftest import wait_until

RETRY_ANSWERS = [False, ferromq.ConsumeResult.RECONSUME_LATER, "reconsumeLater", "RECONSUME_LATER", 42]


@pytest.mark.parametrize("retry", RETRY_ANSWERS, ids=lambda a: repr(a))
def test_retry_answers_redeliver_the_message(cluster, retry):
    topic = cluster.topic("Answer")
    attempts: list[int] = []
    lock = threading.Lock()

    def listener(message: ferromq.MessageView):
        with lock:
            attempts.append(message.reconsume_times)
            first = len(attempts) == 1
        # The retry answer once, then a success answer of another kind.
        return retry if first else "success"

    with ferromq.Producer(cluster.namesrv, cluster.name("pg")) as producer:
        producer.send(ferromq.Message(topic, b"answer"))
    with ferromq.PushConsumer(
        cluster.namesrv,
        cluster.name("cg"),
        topic,
        listener=listener,
        consume_from=ferromq.ConsumeFrom.FIRST_OFFSET,
    ):
        wait_until("redelivery", lambda: len(attempts) >= 2, timeout=30)
    assert attempts[:2] == [0, 1]


def test_an_object_starts_once_and_shuts_down_for_good(cluster):
    p = ferromq.Producer(cluster.namesrv, cluster.name("pg"))
    topic = cluster.topic("Lifecycle")
    with pytest.raises(ferromq.IllegalStateError, match="not started"):
        p.send(ferromq.Message(topic, b"x"))
    p.start()
    with pytest.raises(ferromq.IllegalStateError, match="already started"):
        p.start()
    p.send(ferromq.Message(topic, b"x"))
    p.shutdown()
    p.shutdown()  # a second shutdown does nothing
    with pytest.raises(ferromq.IllegalStateError, match="cannot be started again"):
        p.start()
    with pytest.raises(ferromq.IllegalStateError, match="cannot be started again"):
        with p:
            pass
    with pytest.raises(ferromq.IllegalStateError, match="shut down"):
        p.send(ferromq.Message(topic, b"x"))

    # Shut down before it was ever started: also final; iteration just ends.
    c = ferromq.PullConsumer(cluster.namesrv, cluster.name("cg"))
    c.shutdown()
    with pytest.raises(ferromq.IllegalStateError, match="cannot be started again"):
        c.start()
    assert list(c) == []

    async def restart_async():
        async with ferromq.PullConsumer(cluster.namesrv, cluster.name("cg")) as pc:
            pass
        with pytest.raises(ferromq.IllegalStateError, match="cannot be started again"):
            async with pc:
                pass

    asyncio.run(asyncio.wait_for(restart_async(), 30))

    admin = ferromq.Admin(cluster.namesrv)
    admin.shutdown()
    with pytest.raises(ferromq.IllegalStateError, match="shut down"):
        admin.cluster_info()


def test_option_rules_are_the_cores():
    with pytest.raises(ferromq.InvalidArgumentError, match="not both"):
        ferromq.PushConsumer("127.0.0.1:9876", "g", "T", "A", sql="a > 1", listener=print)
    with pytest.raises(ferromq.InvalidArgumentError, match="consume threads"):
        ferromq.PushConsumer("127.0.0.1:9876", "g", "T", listener=print, consume_threads=0)
    with pytest.raises(ferromq.InvalidArgumentError, match="group is empty"):
        ferromq.PullConsumer("127.0.0.1:9876", "")
    with pytest.raises(ferromq.InvalidArgumentError, match="timestamp"):
        ferromq.PushConsumer(
            "127.0.0.1:9876", "g", "T", listener=print, consume_from=ferromq.ConsumeFrom.TIMESTAMP
        )


def test_housekeeping_options_are_passed_to_the_core():
    c = ferromq.PushConsumer(
        "127.0.0.1:9876",
        "g",
        "T",
        listener=print,
        consume_timeout=0.5,
        suspend_current_queue_time=0.01,
        await_termination=0,
        pull_threshold_for_queue=5,
        pull_threshold_size_for_queue=1 << 20,
        pull_threshold_for_topic=40,
        pull_threshold_size_for_topic=8 << 20,
    )
    c.shutdown()
    refused = [
        ({"consume_timeout": 0}, "consume timeout must be more than zero"),
        ({"consume_timeout": -1.0}, "consume_timeout must be a number of seconds"),
        ({"suspend_current_queue_time": 31}, "from 10 ms to 30 s"),
        ({"await_termination": float("nan")}, "await_termination must be a number of seconds"),
        ({"pull_threshold_for_queue": 0}, "pull thresholds"),
        ({"pull_threshold_for_topic": 0}, "pull thresholds"),
        ({"pull_threshold_size_for_topic": 0}, "pull size thresholds"),
    ]
    for kwargs, message in refused:
        with pytest.raises(ferromq.InvalidArgumentError, match=message):
            ferromq.PushConsumer("127.0.0.1:9876", "g", "T", listener=print, **kwargs)


def test_consume_from_text_is_read_by_the_core():
    c = ferromq.PullConsumer("127.0.0.1:9876", "g", consume_from="CONSUME_FROM_FIRST_OFFSET")
    c.shutdown()
    with pytest.raises(ferromq.InvalidArgumentError, match='"sideways" is not a consume-from position'):
        ferromq.PushConsumer("127.0.0.1:9876", "g", "T", listener=print, consume_from="sideways")
    with pytest.raises(ferromq.InvalidArgumentError, match="needs the consume timestamp"):
        ferromq.PullConsumer("127.0.0.1:9876", "g", consume_from="timestamp")
