"""The real FerroMQ name server and broker as child processes on free ports with temporary data
directories (used by the pytest fixture and by bench.py), the same pair with ACL 1.0 and
enforcing mutual TLS (certificates made by the `openssl` command at test time), a master/slave
pair of one broker name whose processes can be killed and restarted (the HA tests), and polling
with deadlines."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence

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
        self.binary = binary
        self.conf = conf
        self.log = log
        # Appended to: a restarted server keeps its earlier log.
        self._stderr = open(log, "ab")
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

    def kill(self) -> None:
        """`kill -9`: no shutdown runs; the data directory keeps what the process left."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()

    def restarted(self) -> "Server":
        """The same binary and config (so the same port and data directory) in a new process,
        booted."""
        server = Server(self.binary, self.conf, self.log)
        server.wait_booted()
        return server


# The accounts of the secure cluster's plain_acl.yml: an admin (creates topics) and an
# application that may send to and consume every topic and group, but no admin codes.
ACL_ADMIN = ("py-acl-admin", "py-acl-admin-secret")
ACL_APP = ("py-acl-app", "py-acl-app-secret")


class Pki:
    """PEM files made with the `openssl` command: a CA (`ca`), a certificate for 127.0.0.1 and
    localhost (`server`, `server_key`) that the servers serve, and a client certificate
    (`client`, `client_key`) for mutual TLS, all signed by the CA."""

    def __init__(self, directory: Path) -> None:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise RuntimeError("the `openssl` command is needed to make the test certificates")
        directory.mkdir(parents=True, exist_ok=True)
        self.ca, ca_key = directory / "ca.pem", directory / "ca.key"
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        run = lambda *args: subprocess.run([openssl, *args], check=True, capture_output=True)  # noqa: E731
        run("req", "-x509", *ec, "-days", "2", "-subj", "/CN=ferromq-test-ca",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", str(ca_key), "-out", str(self.ca))
        ext = directory / "leaf.cnf"
        ext.write_text(
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n"
        )
        issued = []
        for serial, name in enumerate(("server", "client"), start=2):
            cert, key, csr = directory / f"{name}.pem", directory / f"{name}.key", directory / f"{name}.csr"
            run("req", "-new", *ec, "-subj", f"/CN=ferromq-test-{name}", "-keyout", str(key), "-out", str(csr))
            run("x509", "-req", "-in", str(csr), "-CA", str(self.ca), "-CAkey", str(ca_key), "-set_serial", str(serial),
                "-days", "2", "-extfile", str(ext), "-out", str(cert))
            issued.append((cert, key))
        (self.server, self.server_key), (self.client, self.client_key) = issued

    def server_conf(self) -> list[str]:
        """The `tls.*` keys of a server that serves TLS only and requires client certificates."""
        return [
            "tls.server.mode=enforcing",
            f"tls.server.certPath={self.server}",
            f"tls.server.keyPath={self.server_key}",
            "tls.server.need.client.auth=require",
            f"tls.server.trustCertPath={self.ca}",
        ]

    def client_tls(self) -> ferromq.TlsConfig:
        """What a client needs to reach those servers."""
        return ferromq.TlsConfig(self.ca, cert_file=self.client, key_file=self.client_key)


class Cluster:
    """The running servers and helpers for the tests. `opts` are the security arguments every
    client of a test passes (empty for the plain cluster), `admin` uses the admin account."""

    def __init__(self, namesrv: str, broker: str, opts: dict | None = None, admin_opts: dict | None = None) -> None:
        self.namesrv = namesrv
        self.broker = broker
        self.opts = dict(opts or {})
        self.admin = ferromq.Admin(namesrv, instance_name="pytest-admin", **(admin_opts or {}))
        self.pki: Pki | None = None
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


def _binaries(profile: str) -> Path:
    """The directory of `mqnamesrv` and `mqbroker`, built first when missing."""
    bin_dir = TARGET / profile
    if not (bin_dir / "mqnamesrv").exists() or not (bin_dir / "mqbroker").exists() or os.environ.get("FERROMQ_BUILD_SERVERS"):
        cmd = ["cargo", "build", "--quiet", "-p", "ferromq-namesrv", "-p", "ferromq-broker"]
        if profile == "release":
            cmd.append("--release")
        subprocess.run(cmd, cwd=ROOT, check=True, env={**os.environ, "CARGO_TARGET_DIR": str(TARGET)})
    return bin_dir


def _start_namesrv(data: Path, bin_dir: Path, extra: Sequence[str] = ()) -> tuple[Server, int]:
    """A name server with its files in `data` (and `extra` properties), and its port (not yet
    booted)."""
    ns_port = free_port()
    (data / "namesrv.properties").write_text(
        "\n".join(
            [
                f"listenPort={ns_port}",
                f"kvConfigPath={data}/kvConfig.json",
                f"configStorePath={data}/namesrv-store.properties",
                *extra,
                "",
            ]
        )
    )
    return Server(bin_dir / "mqnamesrv", data / "namesrv.properties", data / "namesrv.log"), ns_port


def _broker_conf(
    path: Path, store: Path, name: str, port: int, ns_port: int, broker_id: int = 0, extra: Sequence[str] = ()
) -> None:
    """Writes the properties of a broker of the test cluster."""
    path.write_text(
        "\n".join(
            [
                "brokerClusterName=DefaultCluster",
                f"brokerName={name}",
                f"brokerId={broker_id}",
                f"listenPort={port}",
                f"namesrvAddr=127.0.0.1:{ns_port}",
                "brokerIP1=127.0.0.1",
                "brokerIP2=127.0.0.1",
                f"storePathRootDir={store}",
                "mappedFileSizeCommitLog=16777216",
                "maxHashSlotNum=50000",
                "maxIndexNum=200000",
                "enablePropertyFilter=true",
                f"messageDelayLevel={DELAY_LEVELS}",
                "transactionCheckInterval=1000",
                "transactionTimeOut=1000",
                "autoCreateTopicEnable=true",
                "autoCreateSubscriptionGroup=true",
                *extra,
                "",
            ]
        )
    )


def _registered(admin: ferromq.Admin, addr: str) -> bool:
    """Whether the name servers list the broker at `addr`."""
    try:
        info = admin.cluster_info()
    except ferromq.FerroMQError:
        return False
    return any(addr in addrs.values() for brokers in info.values() for addrs in brokers.values())


def _acl_file(path: Path) -> None:
    path.write_text(
        f"""accounts:
  - accessKey: {ACL_ADMIN[0]}
    secretKey: {ACL_ADMIN[1]}
    admin: true
  - accessKey: {ACL_APP[0]}
    secretKey: {ACL_APP[1]}
    admin: false
    defaultTopicPerm: PUB|SUB
    defaultGroupPerm: PUB|SUB
"""
    )


@contextlib.contextmanager
def running_cluster(data: Path, profile: str = "debug", secure: bool = False) -> Iterator[Cluster]:
    """Builds (when missing) and starts a name server and a broker with their data in `data`;
    stops them on exit. `secure`: both serve mutual TLS only and the broker checks ACL 1.0
    (accounts ACL_ADMIN and ACL_APP); the cluster's `pki` has the certificates."""
    bin_dir = _binaries(profile)
    ns_extra: list[str] = []
    broker_extra: list[str] = []
    opts: dict = {}
    admin_opts: dict = {}
    pki = None
    if secure:
        pki = Pki(data / "pki")
        ns_extra = pki.server_conf()
        _acl_file(data / "plain_acl.yml")
        broker_extra = [
            "aclEnable=true",
            f"aclFilePath={data / 'plain_acl.yml'}",
            *pki.server_conf(),
            # The broker's own connections to the (enforcing, mTLS) name server.
            "tls.enable=true",
            f"tls.client.trustCertPath={pki.ca}",
            f"tls.client.certPath={pki.client}",
            f"tls.client.keyPath={pki.client_key}",
        ]
        opts = {"credentials": ACL_APP, "tls": pki.client_tls()}
        admin_opts = {"credentials": ACL_ADMIN, "tls": pki.client_tls()}
    namesrv, ns_port = _start_namesrv(data, bin_dir, ns_extra)
    servers = [namesrv]
    try:
        namesrv.wait_booted()
        broker_port = free_port((-2, 1))
        _broker_conf(data / "broker.properties", data / "store", "py-broker-a", broker_port, ns_port, extra=broker_extra)
        broker = Server(bin_dir / "mqbroker", data / "broker.properties", data / "broker.log")
        servers.append(broker)
        broker.wait_booted()
        c = Cluster(f"127.0.0.1:{ns_port}", f"127.0.0.1:{broker_port}", opts, admin_opts)
        c.pki = pki
        wait_until("broker registration", lambda: _registered(c.admin, c.broker))
        try:
            yield c
        finally:
            c.admin.shutdown()
    finally:
        for s in reversed(servers):
            s.stop()


class HaPair(Cluster):
    """A SYNC_MASTER (`broker`, `master_addr`) and its SLAVE (brokerId 1, `slave_addr`) of the
    broker name `broker_name`, each with its own port and data directory."""

    broker_name = "py-ha-a"

    def __init__(self, namesrv: str, master: Server, master_addr: str, slave: Server, slave_addr: str) -> None:
        super().__init__(namesrv, master_addr)
        self.master = master
        self.master_addr = master_addr
        self.slave = slave
        self.slave_addr = slave_addr

    def kill_master(self) -> None:
        """`kill -9` the master; returns once the name servers dropped it from the route."""
        self.master.kill()
        wait_until("the master leaving the route", lambda: not _registered(self.admin, self.master_addr))

    def restart_master(self) -> None:
        """Starts the master again on its port and data; returns once it is registered and its
        slave is connected to it again."""
        self.master = self.master.restarted()
        wait_until("the master's registration", lambda: _registered(self.admin, self.master_addr))
        self.wait_slave_connected()

    def wait_slave_connected(self) -> None:
        def connected() -> bool:
            try:
                return self.admin.broker_runtime_info(self.master_addr).get("haSlaveCount") == "1"
            except ferromq.FerroMQError:
                return False

        wait_until("the slave connected to its master", connected)


@contextlib.contextmanager
def running_ha_pair(data: Path, topics: Sequence[str] = (), queues: int = 4, profile: str = "debug") -> Iterator[HaPair]:
    """A name server, a SYNC_MASTER with `topics` (`queues` queues each) and then its SLAVE
    (which takes the master's topics when it connects), data in `data`; stopped on exit."""
    bin_dir = _binaries(profile)
    namesrv, ns_port = _start_namesrv(data, bin_dir)
    servers = [namesrv]
    admin = None
    try:
        namesrv.wait_booted()
        ns = f"127.0.0.1:{ns_port}"
        admin = ferromq.Admin(ns, instance_name="pytest-ha-admin")
        ha = ["brokerRole=SYNC_MASTER", "haSendHeartbeatInterval=200"]
        master_port = free_port((-2, 1))
        master_addr = f"127.0.0.1:{master_port}"
        _broker_conf(data / "master.properties", data / "master", HaPair.broker_name, master_port, ns_port, 0, ha)
        master = Server(bin_dir / "mqbroker", data / "master.properties", data / "master.log")
        servers.append(master)
        master.wait_booted()
        wait_until("the master's registration", lambda: _registered(admin, master_addr))
        for topic in topics:
            admin.create_topic(topic, queue_nums=queues)
        # The slave learns its master from the name servers, so it starts after the master
        # registered; it takes the master's topics at once.
        slave_port = free_port((-2, 1))
        slave_addr = f"127.0.0.1:{slave_port}"
        slave_conf = ["brokerRole=SLAVE", "haSendHeartbeatInterval=200"]
        _broker_conf(data / "slave.properties", data / "slave", HaPair.broker_name, slave_port, ns_port, 1, slave_conf)
        slave = Server(bin_dir / "mqbroker", data / "slave.properties", data / "slave.log")
        servers.append(slave)
        slave.wait_booted()
        wait_until("the slave's registration", lambda: _registered(admin, slave_addr))
        pair = HaPair(ns, master, master_addr, slave, slave_addr)
        try:
            pair.wait_slave_connected()
            yield pair
        finally:
            pair.admin.shutdown()
            # The restarted master is a new process.
            servers[1] = pair.master
    finally:
        if admin is not None:
            admin.shutdown()
        for s in reversed(servers):
            s.stop()
