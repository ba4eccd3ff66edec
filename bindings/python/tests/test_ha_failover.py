"""Failover to a slave with the real server processes (a `LocalCluster` with a slave): a
SYNC_MASTER and its SLAVE of one broker name. The master is killed (`kill -9`) after the
producer's messages were acknowledged; a push consumer that starts afterwards reads every one
of them from the slave, and one that was running moves from the dead master to the slave. The
master restarts on its port and data, and the slave holds what is sent after that too."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ferromq
from conftest import Collector, wait_until
from ferromq.testing import LocalCluster
from helpers import Cluster, bin_dir

N = 20
QUEUES = 4


class HaPair(Cluster):
    """The master (`master_addr`) and slave (`slave_addr`) of broker group 0 of a LocalCluster
    started with `slaves=True`."""

    def __init__(self, local: LocalCluster) -> None:
        super().__init__(local)
        self.master_addr = local.broker(0).addr
        self.slave_addr = local.slave(0).addr

    def kill_master(self) -> None:
        """`kill -9` the master; returns once the name server dropped it from the route."""
        self.local.broker(0).kill()
        wait_until("the master leaving the route", lambda: not self.registered(self.master_addr))

    def restart_master(self) -> None:
        """Starts the master again on its port and data (LocalCluster returns once it is listed);
        returns once its slave is connected to it again."""
        self.local.broker(0).restart()
        self.wait_slave_connected()

    def wait_slave_connected(self) -> None:
        def connected() -> bool:
            try:
                return self.admin.broker_runtime_info(self.master_addr).get("haSlaveCount") == "1"
            except ferromq.FerroMQError:
                return False

        wait_until("the slave connected to its master", connected)

    def resync_slave(self) -> None:
        """Restarts the slave, which fetches the master's tables (topics included) as soon as it
        learns the master; returns once its log says so and it is connected again."""
        slave = self.local.slave(0)
        slave.restart()

        def synced() -> bool:
            logs = sorted(slave.dir.glob("*.log"), key=lambda p: int(p.stem) if p.stem.isdigit() else -1)
            return bool(logs) and "tables synced from the master" in Path(logs[-1]).read_text(errors="replace")

        wait_until("the slave to sync the master's tables (its log at info level)", synced)
        self.wait_slave_connected()


@pytest.fixture
def ha():
    topic = f"HaFailover_{os.getpid()}"
    with LocalCluster(slaves=True, broker_config=["haSendHeartbeatInterval=200"], bin_dir=bin_dir()) as local:
        pair = HaPair(local)
        try:
            pair.wait_slave_connected()
            pair.admin.create_topic(topic, queue_nums=QUEUES)
            # A slave serves only topics it has from its master (fetched every 10 s): a restart
            # fetches them at once.
            pair.resync_slave()
            yield pair, topic
        finally:
            pair.close()


def send(pair: HaPair, topic: str, prefix: str, n: int) -> set[str]:
    """Sends `n` keyed messages with a new producer; every one must be acknowledged (a
    SYNC_MASTER acknowledges what its slave has too). Their keys."""
    keys = {f"{prefix}{i}" for i in range(n)}
    with ferromq.Producer(pair.namesrv, pair.name("pg")) as producer:
        for key in sorted(keys):
            result = producer.send(ferromq.Message(topic, key.encode(), keys=key))
            assert result.status == ferromq.SendStatus.SEND_OK, (key, result.status)
            assert result.queue.broker_name == pair.broker_name
    return keys


def consumer(pair: HaPair, topic: str, listener: Collector) -> ferromq.PushConsumer:
    return ferromq.PushConsumer(
        pair.namesrv,
        pair.name("cg"),
        topic,
        listener=listener,
        consume_from=ferromq.ConsumeFrom.FIRST_OFFSET,
    )


def keys_of(got: Collector) -> set[str]:
    return {k for m in got.snapshot() for k in m.keys}


def commit_log_end(pair: HaPair, addr: str) -> int:
    return int(pair.admin.broker_runtime_info(addr)["commitLogMaxOffset"])


def test_consumers_read_every_acknowledged_message_from_the_slave_after_kill_9(ha):
    pair, topic = ha

    def routed() -> bool:
        try:
            return any(q["read_queue_nums"] == QUEUES for q in pair.admin.topic_route(topic))
        except ferromq.FerroMQError:
            return False

    wait_until(f"route of {topic}", routed)
    before = send(pair, topic, "before-", N)
    running = Collector()
    with consumer(pair, topic, running):
        wait_until("the running consumer to read the master", lambda: keys_of(running) == before)

        pair.kill_master()
        # The broker name keeps its queues, served by the slave alone.
        assert any(q["broker_name"] == pair.broker_name for q in pair.admin.topic_route(topic))
        late = Collector()
        with consumer(pair, topic, late):
            wait_until("every acknowledged message from the slave", lambda: keys_of(late) == before)

            slave_end = commit_log_end(pair, pair.slave_addr)
            pair.restart_master()
            after = send(pair, topic, "after-", N)
            # Both consumers still read from the slave (their routes may not list the master
            # again yet) or from the master: either way, everything arrives.
            wait_until("the new messages (late consumer)", lambda: keys_of(late) == before | after)
            wait_until("the new messages (running consumer)", lambda: keys_of(running) == before | after)

    def caught_up() -> bool:
        master, slave = commit_log_end(pair, pair.master_addr), commit_log_end(pair, pair.slave_addr)
        return master == slave > slave_end

    wait_until("the slave caught up with the restarted master", caught_up)
