"""pytest fixtures: the real servers for the whole session (see servers.py), plain and with
ACL and TLS, and a listener that collects what it receives."""

from __future__ import annotations

import threading
import time

import pytest

import ferromq
from servers import Cluster, free_port, running_cluster, wait_until  # noqa: F401 (re-exported)


@pytest.fixture(scope="session")
def plain_cluster(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("ferromq")) as c:
        yield c


@pytest.fixture(scope="session")
def cluster(plain_cluster):
    """The plaintext servers (test_scenarios.py runs on the secure ones too)."""
    return plain_cluster


@pytest.fixture(scope="session")
def secure_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A name server and broker serving mutual TLS only, the broker checking ACL 1.0; its
    `opts` are the application account's credentials and the client TLS settings."""
    with running_cluster(tmp_path_factory.mktemp("ferromq-secure"), secure=True) as c:
        yield c


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
