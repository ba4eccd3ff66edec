"""Interop with the official Java client (5.3.3) through the FerroMQ servers: Python producer to
a Java lite pull consumer, Java producer to a Python push consumer, keys, tags and properties
intact. Uses the Java programs of tests/compat (StoreConsume, StoreProduce) once they are built
(by the Rust compat tests, or `mvn -q -B -f tests/compat/pom.xml compile
dependency:copy-dependencies -DincludeScope=runtime`); skipped otherwise, unless
FERROMQ_COMPAT_REQUIRED=1 makes that a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zlib

import pytest

import ferromq
from conftest import Collector, wait_until
from helpers import ROOT

JAVA = ROOT / "tests" / "compat" / "java" / "target"


def classpath() -> str:
    classes, deps = JAVA / "classes", JAVA / "dependency"
    if (
        shutil.which("java")
        and (classes / "org" / "ferromq" / "compat" / "StoreConsume.class").is_file()
        and any(deps.glob("rocketmq-client-*.jar"))
    ):
        return f"{classes}:{deps}/*"
    reason = "the Java compat programs are not built (tests/compat/java/target)"
    if os.environ.get("FERROMQ_COMPAT_REQUIRED") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def java(main: str, *args: str) -> str:
    cp = classpath()
    with tempfile.TemporaryDirectory(prefix="java-client-") as home:
        run = subprocess.run(
            [
                "java",
                "-Xms64m",
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                f"-Duser.home={home}",
                f"-Drocketmq.client.logRoot={home}/logs",
                "-Dcompat.timeoutMs=60000",
                "-cp",
                cp,
                f"org.ferromq.compat.{main}",
                *args,
            ],
            env={**os.environ, "HOME": home},
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=90,
        )
    assert run.returncode == 0, f"{main} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run.stdout


def test_python_producer_to_java_consumer(cluster):
    classpath()
    topic = cluster.topic("InteropPyToJava")
    sent = {}
    with ferromq.Producer(cluster.namesrv, cluster.name("pg")) as p:
        for i in range(8):
            # Every 4th body is above the compression threshold.
            body = (f"{i}:" * 3000 if i % 4 == 0 else f"small-{i}").encode()
            r = p.send(
                ferromq.Message(topic, body, tag=f"T{i % 3}", keys=f"PK-{i}", properties={"idx": str(i), "note": "nü€中"})
            )
            sent[r.msg_id] = (i, body)
    out = java("StoreConsume", cluster.namesrv, topic, str(len(sent)), "PK-5")
    got = {}
    for line in out.splitlines():
        if line.startswith("RECV\t"):
            fields = dict(f.split("=", 1) for f in line.split("\t")[1:] if "=" in f)
            got[fields["msgId"]] = fields
    assert set(got) == set(sent)
    for msg_id, (i, body) in sent.items():
        f = got[msg_id]
        assert f["len"] == str(len(body))
        assert f["crc"] == str(zlib.crc32(body) & 0x7FFFFFFF)
        assert f["p.TAGS"] == f"T{i % 3}"
        assert f["p.KEYS"] == f"PK-{i}"
        assert f["p.idx"] == str(i)
        assert f["p.note"] == "nü€中"
    query = next(line for line in out.splitlines() if line.startswith("QUERY\tPK-5\t"))
    five = next(m for m, (i, _) in sent.items() if i == 5)
    assert five in query


def test_java_producer_to_python_consumer(cluster):
    classpath()
    topic = cluster.name("InteropJavaToPy")
    n = 8
    out = java("StoreProduce", cluster.namesrv, topic, str(n))
    sent = {line.split("\t")[5] for line in out.splitlines() if line.startswith("SENT\t")}
    assert len(sent) == n
    got = Collector()
    with ferromq.PushConsumer(
        cluster.namesrv, cluster.name("cg"), topic, listener=got, consume_from=ferromq.ConsumeFrom.FIRST_OFFSET
    ):
        wait_until("Java's messages", lambda: len(got) >= n)
    messages = got.snapshot()
    assert {m.msg_id for m in messages} == sent
    for m in messages:
        i = int(m.property("idx"))
        assert len(m.body) == int(m.property("size"))
        assert m.property("note") == f"n\u00fc\u20ac\u4e2d-{i}"
        assert any(k.startswith("SK-") for k in m.keys)
        assert m.tag
