"""The real FerroMQ name server and broker as child processes on free ports with temporary data
directories (used by the pytest fixture and by bench.py), and polling with deadlines."""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import ferromq

ROOT = Path(__file__).resolve().parents[3]
TARGET = Path(os.environ.get("FERROMQ_TARGET_DIR", ROOT / "target"))

# Delay level 2 is 5 s (the delayed scenario); every other level is 1 s, so retries
# (levels 3, 4, ...) come back quickly.
DELAY_LEVELS = " ".join(["1s", "5s"] + ["1s"] * 16)


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(neighbours: tuple[int, ...] = ()) -> int:
    """A free loopback port whose `port + d` for each `d` in `neighbours` is free too."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if all(0 < port + d < 65536 and _free(port + d) for d in neighbours):
            return port
    raise RuntimeError("no free port found")


def wait_until(what: str, check: Callable[[], bool], timeout: float = 30.0, interval: float = 0.05) -> None:
    """Polls `check` until it is true; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Server:
    """A server process; its stdout is read in the background, stderr goes to a log file."""

    def __init__(self, binary: Path, conf: Path, log: Path) -> None:
        self.log = log
        self._stderr = open(log, "wb")
        self.proc = subprocess.Popen(
            [str(binary), "-c", str(conf)],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
        )
        self._booted = threading.Event()
        self._lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace")
            self._lines.append(line)
            if "boot success" in line:
                self._booted.set()

    def wait_booted(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self._booted.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.proc.args} did not boot: {''.join(self._lines)}\n{self.log.read_text(errors='replace')[-4000:]}"
                )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()


class Cluster:
    """The running servers and helpers for the tests."""

    def __init__(self, namesrv: str, broker: str) -> None:
        self.namesrv = namesrv
        self.broker = broker
        self.admin = ferromq.Admin(namesrv, instance_name="pytest-admin")
        self._ids = itertools.count()

    def name(self, prefix: str) -> str:
        """A topic or group name unique in this run."""
        return f"{prefix}_{os.getpid()}_{next(self._ids)}"

    def topic(self, prefix: str, queues: int = 4) -> str:
        """Creates a fresh topic with `queues` queues and waits until its route shows them."""
        topic = self.name(prefix)
        self.admin.create_topic(topic, queue_nums=queues)

        def routed() -> bool:
            try:
                return any(q["write_queue_nums"] == queues for q in self.admin.topic_route(topic))
            except ferromq.FerroMQError:
                return False

        wait_until(f"route of {topic}", routed)
        return topic


@contextlib.contextmanager
def running_cluster(data: Path, profile: str = "debug") -> Iterator[Cluster]:
    """Builds (when missing) and starts a name server and a broker with their data in `data`;
    stops them on exit."""
    bin_dir = TARGET / profile
    if not (bin_dir / "mqnamesrv").exists() or not (bin_dir / "mqbroker").exists() or os.environ.get("FERROMQ_BUILD_SERVERS"):
        cmd = ["cargo", "build", "--quiet", "-p", "ferromq-namesrv", "-p", "ferromq-broker"]
        if profile == "release":
            cmd.append("--release")
        subprocess.run(cmd, cwd=ROOT, check=True, env={**os.environ, "CARGO_TARGET_DIR": str(TARGET)})
    ns_port = free_port()
    (data / "namesrv.properties").write_text(
        f"listenPort={ns_port}\nkvConfigPath={data}/kvConfig.json\nconfigStorePath={data}/namesrv-store.properties\n"
    )
    namesrv = Server(bin_dir / "mqnamesrv", data / "namesrv.properties", data / "namesrv.log")
    servers = [namesrv]
    try:
        namesrv.wait_booted()
        broker_port = free_port((-2, 1))
        (data / "broker.properties").write_text(
            "\n".join(
                [
                    "brokerClusterName=DefaultCluster",
                    "brokerName=py-broker-a",
                    "brokerId=0",
                    f"listenPort={broker_port}",
                    f"namesrvAddr=127.0.0.1:{ns_port}",
                    "brokerIP1=127.0.0.1",
                    "brokerIP2=127.0.0.1",
                    f"storePathRootDir={data}/store",
                    "mappedFileSizeCommitLog=16777216",
                    "maxHashSlotNum=50000",
                    "maxIndexNum=200000",
                    "enablePropertyFilter=true",
                    f"messageDelayLevel={DELAY_LEVELS}",
                    "transactionCheckInterval=1000",
                    "transactionTimeOut=1000",
                    "autoCreateTopicEnable=true",
                    "autoCreateSubscriptionGroup=true",
                    "",
                ]
            )
        )
        broker = Server(bin_dir / "mqbroker", data / "broker.properties", data / "broker.log")
        servers.append(broker)
        broker.wait_booted()
        c = Cluster(f"127.0.0.1:{ns_port}", f"127.0.0.1:{broker_port}")

        def registered() -> bool:
            try:
                info = c.admin.cluster_info()
            except ferromq.FerroMQError:
                return False
            return any(c.broker in addrs.values() for brokers in info.values() for addrs in brokers.values())

        wait_until("broker registration", registered)
        try:
            yield c
        finally:
            c.admin.shutdown()
    finally:
        for s in reversed(servers):
            s.stop()
