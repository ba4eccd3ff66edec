"""Run by test-package.sh in a fresh venv: a LocalCluster from the installed servers, one message
sent and consumed. Prints the cluster's start-to-ready time."""

from __future__ import annotations

import threading
import time

import ferromq
from common import create_topic
from ferromq.testing import LocalCluster

t0 = time.monotonic()
with LocalCluster() as cluster:
    ready = time.monotonic() - t0
    assert cluster.binaries["source"] == "bundled", cluster.binaries
    print(f"LocalCluster ready in {ready:.2f} s on {cluster.namesrv_addr} ({cluster.binaries['broker']})")
    topic = "PackageSmoke"
    create_topic(cluster.namesrv_addr, topic, 2)
    got: list[bytes] = []
    done = threading.Event()

    def listener(m: ferromq.MessageView) -> bool:
        got.append(m.body)
        done.set()
        return True

    with ferromq.Producer(cluster.namesrv_addr, "package-smoke-pg") as p:
        r = p.send(ferromq.Message(topic, b"hello from the wheel"))
        assert r.status == ferromq.SendStatus.SEND_OK, r.status
    with ferromq.PushConsumer(
        cluster.namesrv_addr, "package-smoke-cg", topic, listener=listener,
        consume_from=ferromq.ConsumeFrom.FIRST_OFFSET,
    ):
        assert done.wait(60), "the message was not consumed within 60 s"
    assert got == [b"hello from the wheel"], got
print("send/consume through the bundled servers: ok")
