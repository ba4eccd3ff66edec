"""What the suite needs around `ferromq.testing.LocalCluster` (the package's own launcher, used
through the `ferromq_cluster` fixture and directly): where the checkout's servers are, the
broker settings of the scenarios, certificates made by the `openssl` command for the servers
with ACL 1.0 and enforcing mutual TLS, a `Cluster` view with an admin client and fresh topic
names, and polling with deadlines."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

import ferromq
from ferromq.testing import LocalCluster

ROOT = Path(__file__).resolve().parents[3]
TARGET = Path(os.environ.get("FERROMQ_TARGET_DIR", ROOT / "target"))

# Delay level 2 is 5 s (the delayed scenario); every other level is 1 s, so retries
# (levels 3, 4, ...) come back quickly.
DELAY_LEVELS = " ".join(["1s", "5s"] + ["1s"] * 16)

# The brokers' settings for the scenarios (written after LocalCluster's own lines).
BROKER_CONFIG = [
    "enablePropertyFilter=true",
    f"messageDelayLevel={DELAY_LEVELS}",
    "transactionCheckInterval=1000",
    "transactionTimeOut=1000",
    "autoCreateTopicEnable=true",
    "autoCreateSubscriptionGroup=true",
]

# The accounts of the secure cluster's plain_acl.yml: an admin (creates topics) and an
# application that may send to and consume every topic and group, but no admin codes.
ACL_ADMIN = ("py-acl-admin", "py-acl-admin-secret")
ACL_APP = ("py-acl-app", "py-acl-app-secret")


def bin_dir(profile: str = "debug") -> Path:
    """The checkout's servers: `FERROMQ_BIN_DIR` when set, else `<target>/<profile>`, built
    first when missing (or always with FERROMQ_BUILD_SERVERS=1)."""
    if os.environ.get("FERROMQ_BIN_DIR"):
        return Path(os.environ["FERROMQ_BIN_DIR"])
    out = TARGET / profile
    if not (out / "mqnamesrv").exists() or not (out / "mqbroker").exists() or os.environ.get("FERROMQ_BUILD_SERVERS"):
        cmd = ["cargo", "build", "--quiet", "-p", "ferromq-namesrv", "-p", "ferromq-broker"]
        if profile == "release":
            cmd.append("--release")
        subprocess.run(cmd, cwd=ROOT, check=True, env={**os.environ, "CARGO_TARGET_DIR": str(TARGET)})
    return out


def free_port() -> int:
    """A loopback port free right now (for "nothing listens here" tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what: str, check: Callable[[], bool], timeout: float = 30.0, interval: float = 0.05) -> None:
    """Polls `check` until it is true; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


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

    def server_conf(self, mode: str = "enforcing") -> list[str]:
        """The `tls.*` keys of a server that serves TLS only (`enforcing`; `permissive` serves
        plaintext too) and requires client certificates for TLS."""
        return [
            f"tls.server.mode={mode}",
            f"tls.server.certPath={self.server}",
            f"tls.server.keyPath={self.server_key}",
            "tls.server.need.client.auth=require",
            f"tls.server.trustCertPath={self.ca}",
        ]

    def client_tls(self) -> ferromq.TlsConfig:
        """What a client needs to reach those servers."""
        return ferromq.TlsConfig(self.ca, cert_file=self.client, key_file=self.client_key)


def secure_options(data: Path) -> tuple[dict, Pki]:
    """LocalCluster options of a broker serving mutual TLS only and checking ACL 1.0 (accounts
    ACL_ADMIN and ACL_APP), and a name server serving mutual TLS and plaintext (`permissive`:
    LocalCluster asks the name server in plaintext whether the brokers are listed); files in
    `data`."""
    pki = Pki(data / "pki")
    acl = data / "plain_acl.yml"
    acl.write_text(
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
    options = {
        "namesrv_config": pki.server_conf("permissive"),
        "broker_config": [
            *BROKER_CONFIG,
            "aclEnable=true",
            f"aclFilePath={acl}",
            *pki.server_conf(),
            # The broker's own connections to the (enforcing, mTLS) name server.
            "tls.enable=true",
            f"tls.client.trustCertPath={pki.ca}",
            f"tls.client.certPath={pki.client}",
            f"tls.client.keyPath={pki.client_key}",
        ],
    }
    return options, pki


class Cluster:
    """A running LocalCluster as the tests use it. `opts` are the security arguments every
    client of a test passes (empty for the plain cluster), `admin` uses the admin account;
    `broker` is the address of broker group 0's master, `broker_name` its name."""

    def __init__(self, local: LocalCluster, opts: dict | None = None, admin_opts: dict | None = None, pki: Pki | None = None) -> None:
        self.local = local
        self.namesrv = local.namesrv_addr
        self.broker = local.broker(0).addr
        self.broker_name = local.broker(0).broker_name
        self.opts = dict(opts or {})
        self.admin = ferromq.Admin(self.namesrv, instance_name=f"pytest-admin-{next(_admins)}", **(admin_opts or {}))
        self.pki = pki
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

    def registered(self, addr: str) -> bool:
        """Whether the name server lists the broker at `addr`."""
        try:
            info = self.admin.cluster_info()
        except ferromq.FerroMQError:
            return False
        return any(addr in addrs.values() for brokers in info.values() for addrs in brokers.values())

    def close(self) -> None:
        self.admin.shutdown()


_admins = itertools.count()
