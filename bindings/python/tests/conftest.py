"""pytest fixtures: the real servers for the whole session, started by the package's own
`ferromq.testing.LocalCluster` (the plugin's `ferromq_cluster` fixture for the plaintext
servers, a second cluster with ACL and TLS), and a listener that collects what it receives."""

from __future__ import annotations

import threading
import time

import pytest

import ferromq
from ferromq.testing import LocalCluster
from helpers import ACL_ADMIN, ACL_APP, BROKER_CONFIG, Cluster, bin_dir, free_port, secure_options, wait_until  # noqa: F401 (re-exported)


@pytest.fixture(scope="session")
def ferromq_cluster_options():
    """The plugin's `ferromq_cluster`: the checkout's servers with the scenarios' settings."""
    return {"broker_config": BROKER_CONFIG, "bin_dir": bin_dir()}


@pytest.fixture(scope="session")
def plain_cluster(ferromq_cluster: LocalCluster):
    c = Cluster(ferromq_cluster)
    yield c
    c.close()


@pytest.fixture(scope="session")
def cluster(plain_cluster):
    """The plaintext servers (test_scenarios.py runs on the secure ones too)."""
    return plain_cluster


@pytest.fixture(scope="session")
def secure_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A broker serving mutual TLS only and checking ACL 1.0, its name server TLS and plaintext
    (see helpers.secure_options); its `opts` are the application account's credentials and the
    client TLS settings."""
    options, pki = secure_options(tmp_path_factory.mktemp("ferromq-secure"))
    with LocalCluster(**options, bin_dir=bin_dir()) as local:
        c = Cluster(
            local,
            opts={"credentials": ACL_APP, "tls": pki.client_tls()},
            admin_opts={"credentials": ACL_ADMIN, "tls": pki.client_tls()},
            pki=pki,
        )
        yield c
        c.close()


class Collector:
    """What a listener received, thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[ferromq.MessageView] = []
        self.times: list[float] = []

    def __call__(self, message: ferromq.MessageView) -> ferromq.ConsumeResult:
        with self.lock:
            self.messages.append(message)
            self.times.append(time.time())
        return ferromq.ConsumeResult.SUCCESS

    def __len__(self) -> int:
        with self.lock:
            return len(self.messages)

    def snapshot(self) -> list[ferromq.MessageView]:
        with self.lock:
            return list(self.messages)

    def bodies(self) -> list[bytes]:
        return [m.body for m in self.snapshot()]
