"""`ferromq.testing.LocalCluster` itself (the Rust LocalCluster through the extension): the
context managers, broker handles (kill, restart, stop), options, and its errors."""

from __future__ import annotations

import asyncio
import os

import pytest

import ferromq
from ferromq.testing import LocalCluster, bundled_bin_dir
from helpers import Cluster, bin_dir, wait_until


def test_with_block_starts_a_listed_broker_and_cleans_up():
    with LocalCluster(bin_dir=bin_dir()) as local:
        assert local.running
        broker = local.broker(0)
        assert broker.broker_name == "broker-a" and broker.broker_id == 0 and broker.running
        assert broker.addr == f"127.0.0.1:{broker.port}"
        assert local.binaries["source"] == "bin_dir argument"
        directory = local.dir
        assert (broker.dir / "broker.properties").is_file()
        c = Cluster(local)
        try:
            assert c.registered(broker.addr)
        finally:
            c.close()
    assert not local.running
    assert not directory.exists()
    with pytest.raises(RuntimeError, match="not started"):
        local.namesrv_addr  # noqa: B018
    with pytest.raises(RuntimeError, match="stopped .*create a new one"):
        local.start()


def test_kill_restart_and_stop_a_broker():
    with LocalCluster(bin_dir=bin_dir(), broker_config=["autoCreateTopicEnable=true"]) as local:
        c = Cluster(local)
        try:
            broker = local.broker(0)
            topic = c.topic("LocalClusterRestart", queues=2)
            with ferromq.Producer(local.namesrv_addr, c.name("pg")) as p:
                assert p.send(ferromq.Message(topic, b"before")).status == ferromq.SendStatus.SEND_OK
            port = broker.port
            broker.kill()
            assert not broker.running
            wait_until("the killed broker leaving the name server", lambda: not c.registered(broker.addr))
            broker.restart()
            assert broker.running and broker.port == port and c.registered(broker.addr)
            # Same store: the topic and its message survived the kill.
            stats = c.admin.topic_stats(topic)
            assert sum(s["max_offset"] for s in stats) == 1
            broker.stop()
            assert not broker.running
            wait_until("the stopped broker leaving the name server", lambda: not c.registered(broker.addr))
        finally:
            c.close()


def test_async_with_and_two_broker_groups():
    async def main() -> tuple[list[str], str]:
        async with LocalCluster(2, bin_dir=bin_dir(), broker_config_for={"broker-b": ["flushIntervalCommitLog=600"]}) as local:
            names = [b.broker_name for b in local.brokers]
            props = (local.broker(1).dir / "broker.properties").read_text()
            return names, props

    names, props = asyncio.run(main())
    assert names == ["broker-a", "broker-b"]
    assert "flushIntervalCommitLog=600" in props.splitlines()


def test_bad_options_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="at least 1"):
        LocalCluster(0, bin_dir=bin_dir()).start()
    with pytest.raises(ValueError, match="key=value"):
        LocalCluster(broker_config=["no equals sign"], bin_dir=bin_dir()).start()
    with pytest.raises(TypeError, match="lists"):
        LocalCluster(broker_config="a=b")
    with pytest.raises(ValueError, match="boot_timeout"):
        LocalCluster(boot_timeout=0, bin_dir=bin_dir()).start()
    with LocalCluster(bin_dir=bin_dir()) as local:
        with pytest.raises(ValueError, match="no broker group 3"):
            local.broker(3)
        with pytest.raises(ValueError, match="no slaves"):
            local.slave(0)
        with pytest.raises(RuntimeError, match="already started"):
            local.start()


def test_missing_servers_say_where_it_looked_and_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("FERROMQ_BIN_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(FileNotFoundError) as e:
        LocalCluster().start()
    text = str(e.value)
    assert "the package's own servers" in text and "ferromq_server" in text
    assert f"FERROMQ_BIN_DIR={tmp_path}: neither" in text
    assert "PATH (1 directories): neither" in text
    assert "pip install 'ferromq[server]'" in text
    with pytest.raises(FileNotFoundError, match="does not exist"):
        LocalCluster(bin_dir=tmp_path).start()


def test_bin_dir_env_is_used_when_nothing_is_bundled(monkeypatch):
    if bundled_bin_dir().is_dir():
        pytest.skip("ferromq-server is installed here: its servers come first")
    monkeypatch.setenv("FERROMQ_BIN_DIR", str(bin_dir()))
    with LocalCluster() as local:
        assert local.binaries["source"] == "FERROMQ_BIN_DIR"
        assert local.binaries["broker"] == os.path.join(str(bin_dir()), "mqbroker")


def test_the_plugin_fixture_is_the_session_cluster(ferromq_cluster, cluster):
    assert ferromq_cluster.running
    assert cluster.namesrv == ferromq_cluster.namesrv_addr
