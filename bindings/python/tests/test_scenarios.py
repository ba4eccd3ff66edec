"""The shared scenario list (docs/scenarios.md) against the real servers: once in plaintext,
once against servers with ACL 1.0 and enforcing mutual TLS, every client passing the
application account's credentials and the TLS settings (`cluster.opts`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import ferromq
from conftest import Collector, wait_until

N = 10


@pytest.fixture(scope="module", params=["plain", "acl+tls"])
def cluster(request):
    """Each scenario runs against the plain cluster, then against the secure one (both are
    started once per session)."""
    return request.getfixturevalue("plain_cluster" if request.param == "plain" else "secure_cluster")


def consumer(cluster, group, topic, listener, **kwargs) -> ferromq.PushConsumer:
    kwargs.setdefault("consume_from", ferromq.ConsumeFrom.FIRST_OFFSET)
    return ferromq.PushConsumer(cluster.namesrv, group, topic, listener=listener, **kwargs, **cluster.opts)


def test_quickstart(cluster):
    topic = cluster.topic("Quickstart")
    got = Collector()
    with ferromq.Producer(cluster.namesrv, cluster.name("pg"), **cluster.opts) as producer:
        results = [
            producer.send(
                ferromq.Message(topic, f"hello {i}".encode(), tag="TagA", keys=f"key-{i}", properties={"seq": str(i)})
            )
            for i in range(N)
        ]
    assert [r.status for r in results] == [ferromq.SendStatus.SEND_OK] * N
    assert len({r.msg_id for r in results}) == N
    with consumer(cluster, cluster.name("cg"), topic, got):
        wait_until("all consumed", lambda: len(got) >= N)
    by_seq = {m.properties["seq"]: m for m in got.snapshot()}
    assert sorted(by_seq, key=int) == [str(i) for i in range(N)]
    for i in range(N):
        m = by_seq[str(i)]
        assert m.topic == topic
        assert m.body == f"hello {i}".encode()
        assert m.tag == "TagA"
        assert m.keys == [f"key-{i}"]
        assert m.property("seq") == str(i)
        assert m.reconsume_times == 0
    assert {m.msg_id for m in got.snapshot()} == {r.msg_id for r in results}


def test_async_and_oneway(cluster):
    topic = cluster.topic("AsyncOneway")
    got = Collector()
    producer = ferromq.Producer(cluster.namesrv, cluster.name("pg"), **cluster.opts)

    async def send_all():
        async with producer as p:
            assert p is producer
            results = await asyncio.gather(*(p.send_async(ferromq.Message(topic, f"async {i}")) for i in range(N)))
        with pytest.raises(ferromq.IllegalStateError):
            producer.send_async(ferromq.Message(topic, b"after the end"))
        return results

    results = asyncio.run(send_all())
    # A shut-down producer cannot be started again (the core's lifecycle): a new one sends.
    with pytest.raises(ferromq.IllegalStateError):
        producer.start()
    producer = ferromq.Producer(cluster.namesrv, cluster.name("pg"), **cluster.opts)
    with producer:
        assert [r.status for r in results] == [ferromq.SendStatus.SEND_OK] * N
        for i in range(N):
            assert producer.send_oneway(ferromq.Message(topic, f"oneway {i}")) is None
    with consumer(cluster, cluster.name("cg"), topic, got):
        wait_until("2N consumed", lambda: len(got) >= 2 * N)
    expected = {f"async {i}".encode() for i in range(N)} | {f"oneway {i}".encode() for i in range(N)}
    assert sorted(got.bodies()) == sorted(expected)


def test_send_async_error_is_raised_by_await(cluster):
    with ferromq.Producer(cluster.namesrv, cluster.name("pg"), **cluster.opts) as producer:

        async def bad():
            await producer.send_async(ferromq.Message("bad topic name!", b"x"))

        with pytest.raises(ferromq.InvalidArgumentError):
            asyncio.run(bad())


def test_batch(cluster):
    topic = cluster.topic("Batch")
    got = Collector()
    with ferromq.Producer(cluster.namesrv, cluster.name("pg"), **cluster.opts) as producer:
        results = producer.send_batch([ferromq.Message(topic, f"batch {i}", keys=f"b{i}") for i in range(N)])
    assert len(results) == 1
    assert results[0].status == ferromq.SendStatus.SEND_OK
    with consumer(cluster, cluster.name("cg"), topic, got):
        wait_until("batch consumed", lambda: len(got) >= N)
    msgs = sorted(got.snapshot(), key=lambda m: m.queue_offset)
    assert [m.body for m in msgs] == [f"batch {i}".encode() for i in range(N)]
    assert {m.queue_id for m in msgs} == {results[0].queue.queue_id}
    first = results[0].queue_offset
    assert [m.queue_offset for m in msgs] == list(range(first, first + N))


def test_ordered_across_a_rebalance(cluster):
    topic = cluster.topic("Ordered")
    group = cluster.name("cg")
    keys = ["order-1", "order-2", "order-3"]
    per_key = 20
    log: list[tuple[str, int]] = []
    lock = threading.Lock()

    def record(m: ferromq.MessageView):
        key, seq = m.body.decode().split(":")
        with lock:
            log.append((key, int(seq)))
        return True

    def member(i):
        return consumer(cluster, group, topic, record, orderly=True, instance_name=f"{group}-{i}")

    queue_of: dict[str, set] = {k: set() for k in keys}
    members = [member(1)]
    members[0].start()
    with ferromq.Producer(cluster.namesrv, cluster.name("pg"), **cluster.opts) as producer:

        def send(seqs):
            for seq in seqs:
                for key in keys:
                    r = producer.send(ferromq.Message(topic, f"{key}:{seq}"), sharding_key=key)
                    queue_of[key].add(r.queue)

        send(range(per_key // 2))
        wait_until("some consumed", lambda: len(log) > 0)
        # Mid-stream two more members join: queues move while messages flow.
        members += [member(2), member(3)]
        for m in members[1:]:
            m.start()
        send(range(per_key // 2, per_key))
        wait_until("everything", lambda: len(log) >= len(keys) * per_key)
    for m in members:
        m.shutdown()
    assert all(len(q) == 1 for q in queue_of.values()), queue_of
    for key in keys:
        assert [s for k, s in log if k == key] == list(range(per_key)), key


def test_delayed(cluster):
    topic = cluster.topic("Delayed")
    got = Collector()
    with consumer(cluster, cluster.name("cg"), topic, got):
        with ferromq.Producer(cluster.namesrv, cluster.name("pg"), **cluster.opts) as producer:
            sent = time.time()
            producer.send(ferromq.Message(topic, "later", delay_level=2))
        wait_until("delayed message", lambda: len(got) >= 1, timeout=20)
    elapsed = got.times[0] - sent
    assert got.bodies() == [b"later"]
    assert 4.9 <= elapsed <= 7.5, elapsed


def test_timer(cluster):
    topic = cluster.topic("Timer")
    got = Collector()
    with consumer(cluster, cluster.name("cg"), topic, got):
        with ferromq.Producer(cluster.namesrv, cluster.name("pg"), **cluster.opts) as producer:
            sent = time.time()
            producer.send(ferromq.Message(topic, "at", deliver_time_ms=int(sent * 1000) + 3000))
        wait_until("timer message", lambda: len(got) >= 1, timeout=20)
    elapsed = got.times[0] - sent
    assert got.bodies() == [b"at"]
    assert 2.9 <= elapsed <= 5.5, elapsed


def test_transaction_commit_rollback_check_back(cluster):
    topic = cluster.topic("Transaction")
    got = Collector()
    checked: list[bytes] = []
    answers = {
        b"commit": ferromq.TransactionState.COMMIT,
        b"rollback": ferromq.TransactionState.ROLLBACK,
        b"unknown": ferromq.TransactionState.UNKNOWN,
    }

    def execute(message: ferromq.Message, transaction_id: str):
        assert transaction_id
        return answers[message.body]

    def check(message: ferromq.MessageView):
        checked.append(message.body)
        return ferromq.TransactionState.COMMIT

    with ferromq.TransactionProducer(cluster.namesrv, cluster.name("tg"), execute, check, **cluster.opts) as producer:
        results = {body: producer.send(ferromq.Message(topic, body)) for body in answers}
        for body, state in answers.items():
            assert results[body].state == state
            assert results[body].send_result.status == ferromq.SendStatus.SEND_OK
            assert results[body].send_result.transaction_id
        assert producer.metrics()["sends"] == len(answers)
        with consumer(cluster, cluster.name("cg"), topic, got):
            wait_until("committed two", lambda: len(got) >= 2, timeout=40)
            # The rolled-back one must never come: give it the time of several check rounds.
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                assert len(got) == 2
                time.sleep(0.1)
    assert sorted(got.bodies()) == [b"commit", b"unknown"]
    assert b"unknown" in checked
    assert b"rollback" not in checked


def _filtered(cluster, topic, sends, **subscription):
    """Sends `sends` (a list of Message kwargs) then a matching sentinel to a one-queue topic;
    returns the bodies the subscribed consumer got before the sentinel."""
    got = Collector()
    with ferromq.Producer(cluster.namesrv, cluster.name("pg"), **cluster.opts) as producer:
        for kwargs in sends:
            producer.send(ferromq.Message(topic, **kwargs))
    with consumer(cluster, cluster.name("cg"), topic, got, **subscription):
        wait_until("sentinel", lambda: b"end" in got.bodies())
    # One queue: everything before the sentinel was pulled (and filtered) before it.
    return sorted(b for b in got.bodies() if b != b"end")


def test_tag_filter(cluster):
    topic = cluster.topic("TagFilter", queues=1)
    sends = [dict(body=f"{tag}{i}", tag=tag) for i in range(3) for tag in "ABC"] + [dict(body="end", tag="C")]
    got = _filtered(cluster, topic, sends, expression="A || C")
    assert got == sorted(f"{tag}{i}".encode() for i in range(3) for tag in "AC")


def test_sql_filter(cluster):
    topic = cluster.topic("SqlFilter", queues=1)
    sends = [
        dict(body=f"a={a}", properties={"a": str(a), "b": "x" if a % 2 == 0 else "y"}) for a in range(1, 11)
    ] + [dict(body="end", properties={"a": "100", "b": "x"})]
    got = _filtered(cluster, topic, sends, sql="a > 5 AND b = 'x'")
    assert got == sorted(f"a={a}".encode() for a in (6, 8, 10))


def test_broadcast(cluster, tmp_path):
    topic = cluster.topic("Broadcast")
    group = cluster.name("cg")
    members = [Collector(), Collector()]
    consumers = [
        consumer(
            cluster,
            group,
            topic,
            got,
            broadcasting=True,
            instance_name=f"{group}-{i}",
            offset_store_dir=str(tmp_path / f"m{i}"),
        )
        for i, got in enumerate(members)
    ]
    for c in consumers:
        c.start()
    try:
        with ferromq.Producer(cluster.namesrv, cluster.name("pg"), **cluster.opts) as producer:
            for i in range(N):
                producer.send(ferromq.Message(topic, f"all {i}"))
        for got in members:
            wait_until("every member gets all", lambda: len(got) >= N)
    finally:
        for c in consumers:
            c.shutdown()
    for got in members:
        assert sorted(got.bodies()) == sorted(f"all {i}".encode() for i in range(N))


def test_retry_then_dlq(cluster):
    topic = cluster.topic("Retry")
    group = cluster.name("cg")
    attempts: list[int] = []

    def failing(message: ferromq.MessageView):
        attempts.append(message.reconsume_times)
        raise RuntimeError("listener failure (expected by the test)")

    with ferromq.Producer(cluster.namesrv, cluster.name("pg"), **cluster.opts) as producer:
        sent = producer.send(ferromq.Message(topic, "poison", keys="poison-key"))
    with consumer(cluster, group, topic, failing, max_reconsume_times=2):
        wait_until("redeliveries", lambda: len(attempts) >= 3, timeout=60)
        dlq = f"%DLQ%{group}"
        with ferromq.PullConsumer(cluster.namesrv, cluster.name("dlq-reader"), consume_from=ferromq.ConsumeFrom.FIRST_OFFSET, **cluster.opts) as reader:

            def dlq_routed() -> bool:
                try:
                    return bool(reader.fetch_queues(dlq))
                except ferromq.FerroMQError:
                    return False

            wait_until("DLQ topic", dlq_routed, timeout=60)
            reader.assign(reader.fetch_queues(dlq))
            dead: list[ferromq.MessageView] = []
            wait_until("dead letter", lambda: dead.extend(reader.poll(0.5)) or len(dead) >= 1, timeout=30)
    assert attempts[:3] == [0, 1, 2]
    assert len(attempts) == 3
    assert [m.msg_id for m in dead] == [sent.msg_id]
    assert dead[0].body == b"poison"
    assert dead[0].keys == ["poison-key"]


def test_pull_consumer(cluster):
    topic = cluster.topic("Pull", queues=2)
    group = cluster.name("cg")
    with ferromq.Producer(cluster.namesrv, cluster.name("pg"), **cluster.opts) as producer:
        for i in range(N):
            producer.send(ferromq.Message(topic, f"pull {i}"))
    with ferromq.PullConsumer(
        cluster.namesrv, group, consume_from=ferromq.ConsumeFrom.FIRST_OFFSET, auto_commit=False, iter_timeout=3, **cluster.opts
    ) as c:
        queues = c.fetch_queues(topic)
        assert len(queues) == 2
        c.assign(queues)
        assert sorted(c.assignment(), key=lambda q: q.queue_id) == sorted(queues, key=lambda q: q.queue_id)
        first = list(c)  # the blocking iterator ends after iter_timeout without messages
        assert sorted(m.body for m in first) == sorted(f"pull {i}".encode() for i in range(N))
        # Seek back on one queue re-reads it.
        q = first[0].queue
        again_expected = sorted(m.body for m in first if m.queue == q)
        c.seek(q, 0)
        again: list[ferromq.MessageView] = []
        wait_until("re-read", lambda: again.extend(c.poll(0.5)) or len(again) >= len(again_expected))
        assert sorted(m.body for m in again) == again_expected
        c.commit()
        committed = {qq: c.committed(qq) for qq in queues}
    ends = {}
    for m in first:
        ends[m.queue] = max(ends.get(m.queue, 0), m.queue_offset + 1)
    assert committed == {qq: ends.get(qq, 0) for qq in queues}
    # A restarted consumer of the group continues after the committed offsets.
    with ferromq.PullConsumer(cluster.namesrv, group, iter_timeout=1.5, **cluster.opts) as c:
        c.assign(c.fetch_queues(topic))
        assert list(c) == []
        assert {qq: c.committed(qq) for qq in queues} == committed


def test_pull_consumer_async_for(cluster):
    topic = cluster.topic("PullAsync")
    with ferromq.Producer(cluster.namesrv, cluster.name("pg"), **cluster.opts) as producer:
        for i in range(N):
            producer.send(ferromq.Message(topic, f"async pull {i}"))

    async def read():
        async with ferromq.PullConsumer(
            cluster.namesrv, cluster.name("cg"), consume_from=ferromq.ConsumeFrom.FIRST_OFFSET, iter_timeout=3, **cluster.opts
        ) as c:
            c.subscribe(topic, "*")
            return [m.body async for m in c]

    got = asyncio.run(read())
    assert sorted(got) == sorted(f"async pull {i}".encode() for i in range(N))


def test_metrics(cluster):
    """Client-side counters: sends and a refused send, then what a consumer consumed and the
    lag of its queues, down to 0."""
    topic = cluster.topic("Metrics")
    with ferromq.Producer(cluster.namesrv, cluster.name("pg"), **cluster.opts) as producer:
        before = producer.metrics()
        assert (before["sends"], before["send_failures"], before["send_latency"]["count"]) == (0, 0, 0)
        for i in range(N):
            producer.send(ferromq.Message(topic, f"m{i}"))
        with pytest.raises(ferromq.InvalidArgumentError):
            producer.send(ferromq.Message("bad/topic", b"x"))
        m = producer.metrics()
    assert (m["sends"], m["messages"], m["send_failures"]) == (N, N, 1)
    latency = m["send_latency"]
    assert latency["count"] == N + 1 == sum(latency["counts"])
    assert len(latency["counts"]) == len(latency["bounds_ms"]) + 1
    assert latency["bounds_ms"] == sorted(latency["bounds_ms"])
    with pytest.raises(ferromq.IllegalStateError):
        producer.metrics()

    got = Collector()
    with consumer(cluster, cluster.name("cg"), topic, got) as c:

        def caught_up() -> bool:
            m = c.metrics()
            held = [q for q in m["queues"] if q["topic"] == topic]
            return m["consumed"] == N and len(held) == 4 and m["total_lag"] == 0

        wait_until("consumed and caught up", caught_up)
        m = c.metrics()
    assert m["consume_failures"] == 0
    assert m["consume_latency"]["count"] == N
    assert m["rebalances"] >= 1
    mine = [q for q in m["queues"] if q["topic"] == topic]
    assert sorted(q["queue_id"] for q in mine) == [0, 1, 2, 3]
    assert sum(q["broker_max_offset"] for q in mine) == N
    assert all(q["lag"] == 0 and q["consumer_offset"] == q["broker_max_offset"] for q in mine)
    assert all(isinstance(q["broker_name"], str) and q["broker_name"] for q in mine)


def test_bad_input(cluster):
    topic = cluster.topic("BadInput")
    with ferromq.Producer(cluster.namesrv, cluster.name("pg"), max_message_size=1024, **cluster.opts) as producer:
        with pytest.raises(ferromq.InvalidArgumentError) as big:
            producer.send(ferromq.Message(topic, b"x" * 2048))
        assert big.value.code == "InvalidArgument"
        assert big.value.retryable is False
        with pytest.raises(ferromq.InvalidArgumentError):
            producer.send(ferromq.Message("illegal topic!", b"x"))
        # The producer keeps working.
        assert producer.send(ferromq.Message(topic, b"fine")).status == ferromq.SendStatus.SEND_OK
    unknown = ferromq.Producer(f"127.0.0.1:{_closed_port()}", cluster.name("pg"), send_timeout=1, request_timeout=1, **cluster.opts)
    with unknown:
        with pytest.raises(ferromq.FerroMQError) as e:
            unknown.send(ferromq.Message(topic, b"x"))
    assert isinstance(e.value, (ferromq.ConnectError, ferromq.RequestTimeoutError)), e.value
    assert e.value.retryable is True


def _responder(cluster, topic: str, replier: ferromq.Producer, arrived: dict) -> ferromq.PushConsumer:
    """A push consumer of `topic` answering every request `pong:<body>` through `replier`,
    noting the queue id of each body in `arrived`; a body starting with `slow` is answered
    after 1.5 s."""

    def answer(request: ferromq.MessageView) -> None:
        arrived[request.body] = request.queue_id
        if request.body.startswith(b"slow"):
            time.sleep(1.5)
        reply = ferromq.Message.reply_to(request, b"pong:" + request.body)
        assert reply.is_reply
        try:
            replier.send_reply(reply)
        except ferromq.FerroMQError:
            # A requester that gave up may refuse; the requests' outcomes are what is checked.
            logging.getLogger(__name__).exception("reply not delivered")

    return consumer(cluster, cluster.name("responder"), topic, answer)


def test_request_reply(cluster):
    """docs/scenarios.md, "request-reply": each request gets exactly its own reply, one at a
    time and 16 in flight (asyncio and threads); a request nobody answers in time raises
    RequestTimeoutError, and its late reply reaches no other request."""
    topic = cluster.topic("Rpc")
    wait = 20000
    with contextlib.ExitStack() as running:
        replier = running.enter_context(ferromq.Producer(cluster.namesrv, cluster.name("replier"), **cluster.opts))
        arrived: dict[bytes, int] = {}
        running.enter_context(_responder(cluster, topic, replier, arrived))
        requester = running.enter_context(ferromq.Producer(cluster.namesrv, cluster.name("requester"), **cluster.opts))
        for i in range(N):
            reply = requester.request(ferromq.Message(topic, f"req-{i}"), timeout_ms=wait)
            assert reply.body == f"pong:req-{i}".encode()
        assert reply.topic.endswith("_REPLY_TOPIC")
        assert reply.property("MSG_TYPE") == "reply"
        assert reply.property("TTL") == str(wait)
        assert reply.property("CORRELATION_ID")

        async def in_flight():
            return await asyncio.gather(
                *(requester.request_async(ferromq.Message(topic, f"async-{i}"), timeout_ms=wait) for i in range(16))
            )

        assert [r.body for r in asyncio.run(in_flight())] == [f"pong:async-{i}".encode() for i in range(16)]
        # The blocking form releases the GIL: 16 threads wait at once.
        with ThreadPoolExecutor(16) as pool:
            bodies = list(pool.map(lambda i: requester.request(ferromq.Message(topic, f"thread-{i}"), timeout_ms=wait).body, range(16)))
        assert bodies == [f"pong:thread-{i}".encode() for i in range(16)]
        queue = ferromq.MessageQueue(topic, cluster.broker_name, 2)
        assert requester.request_to_queue(ferromq.Message(topic, "to-queue"), queue, timeout_ms=wait).body == b"pong:to-queue"
        assert requester.request(ferromq.Message(topic, "keyed"), sharding_key="k", timeout_ms=wait).body == b"pong:keyed"
        picked = requester.request_with_selector(ferromq.Message(topic, "picked"), lambda m, n: n - 1, timeout_ms=wait)
        assert picked.body == b"pong:picked"
        assert (arrived[b"to-queue"], arrived[b"picked"]) == (2, 3)
        requester.request(ferromq.Message(topic, "keyed-again"), sharding_key="k", timeout_ms=wait)
        assert arrived[b"keyed-again"] == arrived[b"keyed"]

        # Answered too late: a timeout after timeout_ms, and the late reply (arriving while the
        # next request waits) is not taken for that request's.
        began = time.monotonic()
        with pytest.raises(ferromq.RequestTimeoutError) as late:
            requester.request(ferromq.Message(topic, "slow-1"), timeout_ms=500)
        assert 0.45 <= time.monotonic() - began < 1.4
        assert late.value.code == "Timeout"
        assert requester.request(ferromq.Message(topic, "slow-2"), timeout_ms=wait).body == b"pong:slow-2"

        # Nobody consumes this topic: a timeout.
        unanswered = cluster.topic("RpcNobody", queues=1)
        with pytest.raises(ferromq.RequestTimeoutError):
            requester.request(ferromq.Message(unanswered, "anyone?"), timeout_ms=1000)

        async def unanswered_async():
            await requester.request_async(ferromq.Message(unanswered, "anyone?"), timeout_ms=500)

        with pytest.raises(ferromq.RequestTimeoutError):
            asyncio.run(unanswered_async())

        # Unusable arguments.
        for bad in (0, -1):
            with pytest.raises(ferromq.InvalidArgumentError, match="timeout"):
                requester.request(ferromq.Message(topic, "x"), timeout_ms=bad)
        with pytest.raises(ferromq.InvalidArgumentError, match="not a reply"):
            requester.send_reply(ferromq.Message(topic, "not a reply"))
        assert not ferromq.Message(topic, "x").is_reply
    with pytest.raises(ferromq.IllegalStateError):
        requester.request(ferromq.Message(topic, "after the end"))


def _namespaced_topic(cluster, name: str) -> None:
    """Creates wire topic `name` (`ns%topic`) and waits for its route."""
    cluster.admin.create_topic(name, queue_nums=2)

    def routed() -> bool:
        try:
            return bool(cluster.admin.topic_route(name))
        except ferromq.FerroMQError:
            return False

    wait_until(f"route of {name}", routed)


def test_namespace(cluster):
    """Two namespaces, the same topic and group names: each side sees only its own messages,
    under the bare topic name; the wire carries `ns%topic`."""
    topic = cluster.name("Ns")
    group = cluster.name("cg")
    spaces = ("tenantA", "tenantB")
    for ns in spaces:
        _namespaced_topic(cluster, f"{ns}%{topic}")
    for ns in spaces:
        with ferromq.Producer(cluster.namesrv, cluster.name("pg"), namespace=ns, **cluster.opts) as producer:
            for i in range(3):
                r = producer.send(ferromq.Message(topic, f"{ns}-{i}"))
                assert r.queue.topic == topic
    got = {ns: Collector() for ns in spaces}
    with contextlib.ExitStack() as running:
        for ns in spaces:
            running.enter_context(consumer(cluster, group, topic, got[ns], namespace=ns))
        for ns in spaces:
            wait_until(f"{ns}'s messages", lambda ns=ns: len(got[ns]) >= 3)
    for ns in spaces:
        messages = got[ns].snapshot()
        assert sorted(m.body for m in messages) == [f"{ns}-{i}".encode() for i in range(3)]
        assert {m.topic for m in messages} == {topic}
        assert {m.queue.topic for m in messages} == {topic}
    with pytest.raises(ferromq.InvalidArgumentError, match="namespace"):
        ferromq.Producer(cluster.namesrv, cluster.name("pg"), namespace="bad%ns", **cluster.opts)
    with pytest.raises(ferromq.InvalidArgumentError, match="namespace"):
        ferromq.PullConsumer(cluster.namesrv, group, namespace="has space", **cluster.opts)


def _closed_port() -> int:
    from conftest import free_port

    return free_port()
