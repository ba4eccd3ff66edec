"""Threads, the GIL, listener failures and fork()."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import ferromq
from conftest import Collector, wait_until


def test_blocking_calls_release_the_gil(cluster):
    topic = cluster.topic("Gil")
    with ferromq.PullConsumer(cluster.namesrv, cluster.name("cg")) as c:
        c.assign(c.fetch_queues(topic))
        t = threading.Thread(target=c.poll, args=(1.5,))
        started = time.monotonic()
        t.start()
        spins = 0
        while t.is_alive():
            spins += 1
        t.join()
    # The main thread ran Python all along while the other thread waited in poll().
    assert time.monotonic() - started >= 1.4
    assert spins > 10_000


def test_listener_results_and_exceptions(cluster, caplog):
    """False, RECONSUME_LATER, an exception and a bad return value (an unknown string, a
    float) each mean a redelivery, logged on the `ferromq` logger when unusable; True, None
    and SUCCESS mean consumed."""
    topic = cluster.topic("ListenerResults")
    answers = {
        b"false": False,
        b"later": ferromq.ConsumeResult.RECONSUME_LATER,
        b"raise": RuntimeError("boom (expected by the test)"),
        b"bad": "not a result",
        b"float": 1.5,
    }
    seen: dict[bytes, list[int]] = {}
    lock = threading.Lock()

    def listener(m: ferromq.MessageView):
        with lock:
            seen.setdefault(m.body, []).append(m.reconsume_times)
        if m.reconsume_times > 0 or m.body not in answers:
            return {b"true": True, b"none": None}.get(m.body, ferromq.ConsumeResult.SUCCESS)
        a = answers[m.body]
        if isinstance(a, Exception):
            raise a
        return a

    bodies = [b"true", b"none", b"success", *answers]
    with ferromq.Producer(cluster.namesrv, cluster.name("pg")) as p:
        for b in bodies:
            p.send(ferromq.Message(topic, b))
    with caplog.at_level(logging.ERROR, logger="ferromq"):
        with ferromq.PushConsumer(
            cluster.namesrv,
            cluster.name("cg"),
            topic,
            listener=listener,
            consume_from=ferromq.ConsumeFrom.FIRST_OFFSET,
        ):
            wait_until("redeliveries", lambda: all(len(seen.get(b, [])) >= 2 for b in answers), timeout=60)
            wait_until("consumed", lambda: all(b in seen for b in bodies))
    for b in (b"true", b"none", b"success"):
        assert seen[b] == [0], b
    for b in answers:
        assert seen[b][:2] == [0, 1], b
    logged = "\n".join(r.getMessage() + str(r.exc_info) for r in caplog.records)
    assert "boom (expected by the test)" in logged
    assert '"not a result" is not a consume result' in logged
    assert "not float" in logged


def test_listeners_that_wait_still_run_concurrently(cluster):
    """Listener calls are combined per GIL acquisition, but a call that waits with the GIL
    released (here time.sleep) does not hold up the others: they run on their own threads, up
    to consume_threads at once, and each message is acknowledged on its own."""
    topic = cluster.topic("WaitingListeners")
    running = 0
    most = 0
    seen: list[bytes] = []
    lock = threading.Lock()

    def listener(m: ferromq.MessageView) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.5)
        with lock:
            running -= 1
            seen.append(m.body)
        return True

    bodies = [f"m{i}".encode() for i in range(8)]
    with ferromq.Producer(cluster.namesrv, cluster.name("pg")) as p:
        for b in bodies:
            p.send(ferromq.Message(topic, b))
    with ferromq.PushConsumer(
        cluster.namesrv,
        cluster.name("cg"),
        topic,
        listener=listener,
        consume_from=ferromq.ConsumeFrom.FIRST_OFFSET,
        consume_threads=8,
    ):
        wait_until("every message consumed", lambda: len(seen) >= len(bodies), timeout=60)
    assert sorted(seen) == sorted(bodies)  # each once: no batch was redelivered
    assert most >= 2, f"at most {most} listener call(s) ran at once"


# Python 3.12+ warns about fork() in a process with threads: that is what this test is about.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_fork_child_gets_a_fresh_runtime(cluster):
    topic = cluster.topic("Fork")
    got = Collector()
    with ferromq.Producer(cluster.namesrv, cluster.name("pg")) as parent_producer:
        parent_producer.send(ferromq.Message(topic, b"parent"))
        pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            code = 1
            try:
                try:
                    parent_producer.send(ferromq.Message(topic, b"wrong"))
                    code = 2
                except ferromq.IllegalStateError:
                    with ferromq.Producer(cluster.namesrv, "fork-child-pg") as p:
                        ok = p.send(ferromq.Message(topic, b"child")).status == ferromq.SendStatus.SEND_OK
                        code = 0 if ok else 3
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The parent's producer still works after the fork.
        parent_producer.send(ferromq.Message(topic, b"parent again"))
    with ferromq.PushConsumer(
        cluster.namesrv, cluster.name("cg"), topic, listener=got, consume_from=ferromq.ConsumeFrom.FIRST_OFFSET
    ):
        wait_until("all three", lambda: len(got) >= 3)
    assert sorted(got.bodies()) == [b"child", b"parent", b"parent again"]


def _child(code: str, cluster, topic: str) -> subprocess.Popen:
    # faulthandler: a child that hangs is made to print where every thread is (see _finish).
    return subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-c", code, cluster.namesrv, topic],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(p: subprocess.Popen, timeout: float) -> tuple[str, str]:
    """The child's output once it exits; if it is still running after `timeout` seconds, it is
    aborted (SIGABRT: faulthandler prints every thread's Python stack) and the test fails with
    that output."""
    try:
        return p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGABRT)
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        pytest.fail(f"the child did not exit within {timeout} s; stdout: {out!r}\nstderr:\n{err}")


INTERRUPTED_POLL = r"""
import sys, time, ferromq
c = ferromq.PullConsumer(sys.argv[1], "interrupt-cg")
c.start()
c.assign(c.fetch_queues(sys.argv[2]))
started = time.monotonic()
try:
    print("polling", flush=True)
    c.poll(60)
    print("returned", flush=True)
except KeyboardInterrupt:
    print(f"interrupted after {time.monotonic() - started:.1f}", flush=True)
"""


def test_ctrl_c_interrupts_a_blocking_call(cluster):
    topic = cluster.topic("Interrupt")
    p = _child(INTERRUPTED_POLL, cluster, topic)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "polling"
    time.sleep(0.3)  # most likely inside poll() by now; caught either way
    p.send_signal(signal.SIGINT)
    out, err = _finish(p, 30)
    assert p.returncode == 0, err
    assert out.startswith("interrupted after"), out
    assert float(out.split()[-1]) < 30


EXIT_WITHOUT_SHUTDOWN = r"""
import sys, time, ferromq
ns, topic = sys.argv[1], sys.argv[2]
p = ferromq.Producer(ns, "exit-pg")
p.start()
for i in range(100):
    p.send(ferromq.Message(topic, b"x"))
def slow(m):
    time.sleep(0.01)
    return True
c = ferromq.PushConsumer(ns, "exit-cg", topic, listener=slow, consume_from=ferromq.ConsumeFrom.FIRST_OFFSET)
c.start()
time.sleep(0.3)
print("leaving with listener calls in flight", flush=True)
"""


def test_exit_without_shutdown_does_not_hang(cluster):
    topic = cluster.topic("Exit")
    p = _child(EXIT_WITHOUT_SHUTDOWN, cluster, topic)
    out, err = _finish(p, 60)
    assert p.returncode == 0, err
    assert "leaving" in out
