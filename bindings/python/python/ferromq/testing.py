"""A real FerroMQ cluster for tests: `LocalCluster` starts a name server and brokers (the
`mqnamesrv` and `mqbroker` programs) as child processes on free loopback ports, each with its
properties file, store and log in one fresh temporary directory, and returns once the name
server lists every broker. Leaving the `with` block stops everything and deletes the directory.

    from ferromq.testing import LocalCluster

    with LocalCluster() as cluster:
        with ferromq.Producer(cluster.namesrv_addr, "my-group") as producer:
            ...
        cluster.broker(0).kill()      # SIGKILL, as a crash would
        cluster.broker(0).restart()   # same port and store; back once the name server lists it

It is the Rust `ferromq_client::testing::LocalCluster` (one implementation for every binding);
blocking calls release the GIL, and `async with` starts and stops it in a worker thread.

The programs are looked for, in order: in the `ferromq-server` package (`pip install
'ferromq[server]'`), in the directory `FERROMQ_BIN_DIR` names, then on `PATH`; `bin_dir=` skips
the search. The choice is printed once on standard error. The pytest plugin
(`ferromq.pytest_plugin`) gives a `ferromq_cluster` fixture built on this class.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from types import TracebackType
from typing import Dict, Iterable, List, Mapping, Optional, Tuple, Type, Union

from ferromq._ferromq import _LocalCluster

__all__ = ["LocalCluster", "LocalBroker", "bundled_bin_dir"]

_INSTALL_HINT = (
    "With pip: `pip install 'ferromq[server]'` installs the servers next to the client "
    "(the ferromq-server package)."
)


def bundled_bin_dir() -> Path:
    """The directory of the servers the `ferromq-server` package ships (it may not be
    installed: then the directory where it would be, which does not exist)."""
    try:
        import ferromq_server  # type: ignore[import-not-found]
    except ImportError:
        return Path(__file__).resolve().parent.parent / "ferromq_server" / "bin"
    return Path(ferromq_server.BIN_DIR)


class LocalBroker:
    """One `mqbroker` process of a `LocalCluster` (a master, or with `slaves=True` a slave),
    running or not. Obtained with `LocalCluster.broker(i)` / `LocalCluster.slave(i)`."""

    def __init__(self, cluster: _LocalCluster, index: int, slave: bool) -> None:
        self._cluster = cluster
        self._index = index
        self._slave = slave
        # Validates the index now: an error here rather than at the first use.
        self._cluster.broker_info(index, slave)

    def __repr__(self) -> str:
        role = "slave" if self._slave else "master"
        return f"<LocalBroker {self.broker_name} {role} {self.addr}>"

    @property
    def addr(self) -> str:
        """`127.0.0.1:port`, the address clients and the name server use."""
        return self._cluster.broker_info(self._index, self._slave)[0]

    @property
    def port(self) -> int:
        """`listenPort` (the broker also listens on `port - 2` and, for HA, `port + 1`)."""
        return self._cluster.broker_info(self._index, self._slave)[1]

    @property
    def broker_name(self) -> str:
        """`brokerName` (`broker-a` for group 0, `broker-b`, ...)."""
        return self._cluster.broker_info(self._index, self._slave)[2]

    @property
    def broker_id(self) -> int:
        """`brokerId`: 0 for a master, 1 for its slave."""
        return self._cluster.broker_info(self._index, self._slave)[3]

    @property
    def dir(self) -> Path:
        """The broker's directory: `broker.properties`, `store/`, one log per start."""
        return Path(self._cluster.broker_dir(self._index, self._slave))

    @property
    def store_dir(self) -> Path:
        """`storePathRootDir`."""
        return self.dir / "store"

    @property
    def running(self) -> bool:
        """Whether the process is running."""
        return self._cluster.broker_running(self._index, self._slave)

    def log_tail(self) -> str:
        """The last lines of the current (or last) process's log."""
        return self._cluster.broker_log_tail(self._index, self._slave)

    def kill(self) -> None:
        """Kills the process with SIGKILL (no shutdown, no unregistration: the name server
        notices the closed connection). Nothing if it is not running."""
        self._cluster.broker_kill(self._index, self._slave)

    def stop(self) -> None:
        """Stops the process cleanly (SIGTERM: it unregisters and closes its store), killing it
        after 10 s."""
        self._cluster.broker_stop(self._index, self._slave)

    def restart(self) -> None:
        """Starts the broker again on the same ports with the same store (killing it first if
        it still runs); returns once the name server lists it."""
        self._cluster.broker_restart(self._index, self._slave)


class LocalCluster:
    """A name server and `brokers` broker groups (`broker-a`, `broker-b`, ...), started by
    `with`, `async with` or `start()`, stopped by leaving the block or `stop()`.

    - `slaves`: each master gets a slave (`brokerId=1`); the masters are then SYNC_MASTER.
    - `broker_config`: extra `key=value` lines (Apache's property names) for every broker,
      written after the cluster's own, so they win (`"autoCreateTopicEnable=false"`).
    - `broker_config_for`: lines for one group only, `{"broker-a": ["key=value", ...]}`.
    - `namesrv_config`: extra lines for the name server.
    - `boot_timeout`: seconds each server may take to boot and register.
    - `bin_dir`: the directory with `mqnamesrv` and `mqbroker`, instead of looking for them.
    """

    def __init__(
        self,
        brokers: int = 1,
        *,
        slaves: bool = False,
        broker_config: Iterable[str] = (),
        broker_config_for: Optional[Mapping[str, Iterable[str]]] = None,
        namesrv_config: Iterable[str] = (),
        boot_timeout: float = 60.0,
        bin_dir: Union[str, "os.PathLike[str]", None] = None,
    ) -> None:
        if isinstance(broker_config, str) or isinstance(namesrv_config, str):
            raise TypeError("broker_config and namesrv_config are lists of `key=value` lines")
        self._options: Tuple = (
            int(brokers),
            bool(slaves),
            list(broker_config),
            [(name, line) for name, lines in (broker_config_for or {}).items() for line in lines],
            list(namesrv_config),
            float(boot_timeout),
        )
        self._bin_dir = None if bin_dir is None else Path(bin_dir)
        self._cluster: Optional[_LocalCluster] = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "LocalCluster":
        """Starts the servers; returns once the name server lists every broker (the GIL is
        released meanwhile). Raises FileNotFoundError when the programs are not found (the
        message lists where it looked), RuntimeError when a server does not come up (with the
        tail of its log), ValueError for bad options."""
        if self._cluster is not None:
            state = "already started" if self._cluster.running else "stopped"
            raise RuntimeError(f"LocalCluster: {state} (a cluster starts once; create a new one)")
        bundled = None if self._bin_dir is not None else bundled_bin_dir()
        try:
            self._cluster = _LocalCluster(*self._options, bundled, self._bin_dir)
        except FileNotFoundError as e:
            raise FileNotFoundError(f"{e}\n{_INSTALL_HINT}") from None
        return self

    def stop(self) -> None:
        """Stops every server cleanly (SIGTERM, then SIGKILL after 10 s) and deletes the
        cluster's directory (kept with FERROMQ_KEEP_CLUSTER=1). Nothing when not running."""
        if self._cluster is not None:
            self._cluster.stop()

    @property
    def running(self) -> bool:
        """Whether the cluster was started and not stopped."""
        return self._cluster is not None and self._cluster.running

    def __enter__(self) -> "LocalCluster":
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    async def __aenter__(self) -> "LocalCluster":
        return await asyncio.get_running_loop().run_in_executor(None, self.start)

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.stop)

    def __repr__(self) -> str:
        if not self.running:
            return "<LocalCluster (not running)>"
        return f"<LocalCluster namesrv {self.namesrv_addr}, {len(self.brokers)} broker group(s)>"

    # -- what is running -------------------------------------------------------------------

    def _running(self) -> _LocalCluster:
        if self._cluster is None:
            raise RuntimeError("LocalCluster: not started (use `with`, `async with` or start())")
        return self._cluster

    @property
    def namesrv_addr(self) -> str:
        """The name server's address, `127.0.0.1:port`."""
        return self._running().namesrv_addr

    def broker(self, i: int = 0) -> LocalBroker:
        """The master of broker group `i` (`broker-a` is 0)."""
        return LocalBroker(self._running(), i, False)

    def slave(self, i: int = 0) -> LocalBroker:
        """The slave of broker group `i` (the cluster must have been started with
        `slaves=True`)."""
        return LocalBroker(self._running(), i, True)

    @property
    def brokers(self) -> List[LocalBroker]:
        """Every master, in group order."""
        c = self._running()
        return [LocalBroker(c, i, False) for i in range(c.groups)]

    @property
    def dir(self) -> Path:
        """The cluster's directory: `namesrv/` and one directory per broker."""
        return Path(self._running().dir)

    @property
    def binaries(self) -> Dict[str, str]:
        """`{"namesrv": path, "broker": path, "source": where they were found}`."""
        namesrv, broker, source = self._running().binaries
        return {"namesrv": str(namesrv), "broker": str(broker), "source": source}

    def wait_all_listed(self) -> None:
        """Waits until the name server lists every running broker (after restarts)."""
        self._running().wait_all_listed()
