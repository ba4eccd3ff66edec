"""Run by test-package.sh with the installed package's pytest plugin: the `ferromq_cluster`
fixture, from a plain `pytest` run with no conftest."""

from __future__ import annotations

import time

import ferromq
from common import create_topic


def test_fixture_gives_a_running_cluster_of_the_bundled_servers(ferromq_cluster):
    assert ferromq_cluster.running
    assert ferromq_cluster.binaries["source"] == "bundled"
    admin = ferromq.Admin(ferromq_cluster.namesrv_addr)
    try:
        info = admin.cluster_info()
    finally:
        admin.shutdown()
    assert ferromq_cluster.broker(0).addr in info["DefaultCluster"]["broker-a"].values()


def test_the_fixture_cluster_serves_a_round_trip(ferromq_cluster):
    namesrv = ferromq_cluster.namesrv_addr
    create_topic(namesrv, "FixtureTopic", 1)
    with ferromq.Producer(namesrv, "fixture-pg") as p:
        assert p.send(ferromq.Message("FixtureTopic", b"via the fixture")).status == ferromq.SendStatus.SEND_OK
    with ferromq.PullConsumer(namesrv, "fixture-cg", consume_from=ferromq.ConsumeFrom.FIRST_OFFSET) as c:
        c.subscribe("FixtureTopic")
        got: list[bytes] = []
        deadline = time.monotonic() + 30
        while not got and time.monotonic() < deadline:
            got += [m.body for m in c.poll(timeout=1.0)]
    assert got == [b"via the fixture"]
