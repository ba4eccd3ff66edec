"""Failover to a slave with the real server processes (servers.py `running_ha_pair`): a
SYNC_MASTER and its SLAVE of one broker name. The master is killed (`kill -9`) after the
producer's messages were acknowledged; a push consumer that starts afterwards reads every one
of them from the slave, and one that was running moves from the dead master to the slave. The
master restarts on its port and data, and the slave holds what is sent after that too."""

from __future__ import annotations

import os

import pytest

import ferromq
from conftest import Collector, wait_until
from servers import HaPair, running_ha_pair

N = 20
QUEUES = 4


@pytest.fixture
def ha(tmp_path):
    topic = f"HaFailover_{os.getpid()}"
    with running_ha_pair(tmp_path, topics=[topic], queues=QUEUES) as pair:
        yield pair, topic


def send(pair: HaPair, topic: str, prefix: str, n: int) -> set[str]:
    """Sends `n` keyed messages with a new producer; every one must be acknowledged (a
    SYNC_MASTER acknowledges what its slave has too). Their keys."""
    keys = {f"{prefix}{i}" for i in range(n)}
    with ferromq.Producer(pair.namesrv, pair.name("pg")) as producer:
        for key in sorted(keys):
            result = producer.send(ferromq.Message(topic, key.encode(), keys=key))
            assert result.status == ferromq.SendStatus.SEND_OK, (key, result.status)
            assert result.queue.broker_name == HaPair.broker_name
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
        assert any(q["broker_name"] == HaPair.broker_name for q in pair.admin.topic_route(topic))
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
