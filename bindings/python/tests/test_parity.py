"""The parity suite (tests/parity/README.md) in Python: the ten cases against the real servers,
one `<case> <outcome>` line each, compared with tests/parity/expected.txt, the text every
language's runner must print."""

from __future__ import annotations

import difflib
import threading
import time
from pathlib import Path
from typing import Any, Callable

import ferromq
from conftest import wait_until

EXPECTED = Path(__file__).resolve().parents[3] / "tests" / "parity" / "expected.txt"
WAIT = 30.0
# How long listener_success watches for a delivery that should not come.
QUIET = 1.0


def outcome(action: Callable[[], Any]) -> str:
    """`ok`, or `error=<core error kind>` (the exception's `code`; the class name of an
    exception that is not a FerroMQ error, so that a difference shows)."""
    try:
        action()
    except ferromq.FerroMQError as e:
        return f"error={e.code}"
    except Exception as e:  # noqa: BLE001 (the runner prints what happened)
        return f"error={type(e).__name__}"
    return "ok"


def start_twice(cluster) -> str:
    p = ferromq.Producer(cluster.namesrv, cluster.name("parity_pg"))
    p.start()
    try:
        return outcome(p.start)
    finally:
        p.shutdown()


def start_after_shutdown(cluster) -> str:
    p = ferromq.Producer(cluster.namesrv, cluster.name("parity_pg"))
    p.start()
    p.shutdown()
    return outcome(p.start)


def shutdown_twice(cluster) -> str:
    p = ferromq.Producer(cluster.namesrv, cluster.name("parity_pg"))
    p.start()
    p.shutdown()
    return outcome(p.shutdown)


def push_consumer_options(cluster, expression: str | None = None, **options) -> str:
    """A push consumer of a fresh topic created with `options` and, when creation accepts them,
    started."""

    def create_and_start() -> None:
        c = ferromq.PushConsumer(
            cluster.namesrv,
            cluster.name("parity_cg"),
            cluster.name("parity_T"),
            expression,
            listener=lambda m: None,
            **options,
        )
        try:
            c.start()
        finally:
            c.shutdown()

    return outcome(create_and_start)


def consume_one(cluster, case: str, answer: Callable[[int], Any], done: Callable[[list[int]], bool]):
    """Sends one message to a fresh topic and consumes it with `answer`, which is given the number
    of the delivery (0 for the first); returns the started consumer and the reconsume times of
    the deliveries once `done` holds of them."""
    topic = cluster.topic(f"parity_{case}", queues=1)
    with ferromq.Producer(cluster.namesrv, cluster.name("parity_pg")) as producer:
        producer.send(ferromq.Message(topic, case.encode()))
    seen: list[int] = []
    lock = threading.Lock()

    def listener(message: ferromq.MessageView):
        with lock:
            seen.append(message.reconsume_times)
            delivery = len(seen) - 1
        return answer(delivery)

    consumer = ferromq.PushConsumer(
        cluster.namesrv,
        cluster.name("parity_cg"),
        topic,
        listener=listener,
        consume_from=ferromq.ConsumeFrom.FIRST_OFFSET,
    )
    consumer.start()

    def finished() -> bool:
        with lock:
            return done(list(seen))

    wait_until(case, finished, timeout=WAIT)
    return consumer, seen, lock


def listener_success(cluster) -> str:
    consumer, seen, lock = consume_one(cluster, "listener_success", lambda _: None, lambda s: len(s) >= 1)
    # The one bounded wait of the suite: a redelivery, if any, would come within it.
    time.sleep(QUIET)
    consumer.shutdown()
    with lock:
        return f"deliveries={len(seen)}"


def retried(cluster, case: str, first: Callable[[], Any]) -> str:
    """The first delivery is refused by `first`, the next ones succeed (`None`)."""
    consumer, seen, lock = consume_one(
        cluster, case, lambda delivery: first() if delivery == 0 else None, lambda s: len(s) >= 2
    )
    consumer.shutdown()
    with lock:
        return f"deliveries={len(seen)} reconsume={','.join(map(str, seen))}"


def fail() -> None:
    raise RuntimeError("the listener fails its first delivery (expected by the parity suite)")


def pull_seek(cluster) -> str:
    topic = cluster.topic("parity_pull_seek", queues=4)
    with ferromq.Producer(cluster.namesrv, cluster.name("parity_pg")) as producer:
        for i in range(5):
            producer.send(ferromq.Message(topic, f"m{i}".encode()), sharding_key="parity")
    consumer = ferromq.PullConsumer(
        cluster.namesrv, cluster.name("parity_pull"), consume_from=ferromq.ConsumeFrom.FIRST_OFFSET
    )
    with consumer:
        consumer.assign(consumer.fetch_queues(topic))
        first = poll_until(consumer, 5)
        consumer.seek(first[0].queue, 2)
        again = poll_until(consumer, 3)

    def offsets(ms: list[ferromq.MessageView]) -> str:
        return ",".join(str(m.queue_offset) for m in ms)

    return f"offsets={offsets(first)} after_seek={offsets(again)}"


def poll_until(consumer: ferromq.PullConsumer, n: int) -> list[ferromq.MessageView]:
    got: list[ferromq.MessageView] = []
    deadline = time.monotonic() + WAIT
    while len(got) < n:
        assert time.monotonic() < deadline, f"polled {len(got)} of {n} messages"
        got.extend(consumer.poll(0.5))
    return got


def test_every_case_prints_the_expected_outcome(cluster):
    now = int(time.time() * 1000)
    cases: list[tuple[str, Callable[[], str]]] = [
        ("start_twice", lambda: start_twice(cluster)),
        ("start_after_shutdown", lambda: start_after_shutdown(cluster)),
        ("shutdown_twice", lambda: shutdown_twice(cluster)),
        ("invalid_consume_from", lambda: push_consumer_options(cluster, consume_from="sideways")),
        (
            "timestamp_without_timestamp_start",
            lambda: push_consumer_options(
                cluster, consume_from=ferromq.ConsumeFrom.LAST_OFFSET, consume_timestamp_ms=now
            ),
        ),
        ("tag_and_sql", lambda: push_consumer_options(cluster, expression="TagA", sql="a > 1")),
        ("listener_success", lambda: listener_success(cluster)),
        ("listener_retry", lambda: retried(cluster, "listener_retry", lambda: False)),
        ("listener_throws", lambda: retried(cluster, "listener_throws", fail)),
        ("pull_seek", lambda: pull_seek(cluster)),
    ]
    actual = []
    for case, run in cases:
        line = f"{case} {run()}"
        print(line)
        actual.append(line)
    expected = EXPECTED.read_text().splitlines()
    diff = "\n".join(difflib.unified_diff(expected, actual, "tests/parity/expected.txt", "Python runner", lineterm=""))
    assert actual == expected, f"the Python runner's outcomes differ from tests/parity/expected.txt:\n{diff}"
