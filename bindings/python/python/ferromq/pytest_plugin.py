"""The pytest plugin of the `ferromq` package (registered through the `pytest11` entry point,
so it is active wherever ferromq is installed):

- `ferromq_cluster`: a running `ferromq.testing.LocalCluster`, one per test session (starting
  servers takes a second or more, so tests share them; give each test its own topic and group
  names). Use `cluster.namesrv_addr` in clients.
- `ferromq_cluster_options`: the keyword arguments of that cluster (`{}` by default: one
  broker). Override it in a `conftest.py`, session-scoped, to change them:

      @pytest.fixture(scope="session")
      def ferromq_cluster_options():
          return {"brokers": 2, "broker_config": ["autoCreateTopicEnable=false"]}

A test that kills or restarts brokers, or needs a cluster of its own, uses `LocalCluster`
directly (`with LocalCluster() as c:`) in the test or a function-scoped fixture.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator

import pytest

from ferromq.testing import LocalCluster


@pytest.fixture(scope="session")
def ferromq_cluster_options() -> Dict[str, Any]:
    """Keyword arguments of the session's `ferromq_cluster` (override to change them)."""
    return {}


@pytest.fixture(scope="session")
def ferromq_cluster(ferromq_cluster_options: Dict[str, Any]) -> Iterator[LocalCluster]:
    """A name server and broker(s) for the whole test session, stopped at its end."""
    with LocalCluster(**ferromq_cluster_options) as cluster:
        yield cluster
