"""A small benchmark of the Python client (not part of CI).

    .venv/bin/python bench.py [--namesrv HOST:PORT] [--seconds 10] [--rss]
    .venv/bin/python bench.py --request 16 [--seconds 10]

Measures 1 KiB sends per second from this one process, sync (one thread) and async (asyncio,
`--window` sends in flight), then consume throughput through a push-consumer listener. With
`--rss`, 100,000 messages go through a listener while the process RSS is sampled; the check
passes when RSS stays flat (grows less than `--rss-slack` MiB after the first 20,000).
With `--request N`, it measures request-reply instead: N asyncio requesters, each with one
`request_async` in flight, against a Python responder (a push consumer answering with
`Message.reply_to`), 128-byte bodies; it prints round trips per second and the p50 / p99 / max
round-trip latency.
Without `--namesrv` it starts its own servers (target/release when built, else debug).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))

import ferromq  # noqa: E402
from ferromq.testing import LocalCluster  # noqa: E402
from helpers import BROKER_CONFIG, TARGET, bin_dir  # noqa: E402

BODY = b"x" * 1024


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def create_topic(namesrv: str, topic: str) -> None:
    with ferromq.Admin(namesrv) as admin:
        admin.create_topic(topic, queue_nums=8)
        deadline = time.monotonic() + 30
        while not any(q["write_queue_nums"] == 8 for q in _route(admin, topic)):
            if time.monotonic() > deadline:
                raise SystemExit(f"no route for {topic}")
            time.sleep(0.05)


def _route(admin: ferromq.Admin, topic: str):
    try:
        return admin.topic_route(topic)
    except ferromq.FerroMQError:
        return []


def bench_sync(producer: ferromq.Producer, topic: str, seconds: float) -> int:
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        producer.send(ferromq.Message(topic, BODY))
        n += 1
    return n


async def bench_async(producer: ferromq.Producer, topic: str, seconds: float, window: int, total: int | None = None) -> int:
    n = 0
    pending: set[asyncio.Future] = set()
    end = time.monotonic() + seconds
    while (total is None and time.monotonic() < end) or (total is not None and n < total):
        while len(pending) < window and (total is None or n + len(pending) < total):
            pending.add(producer.send_async(ferromq.Message(topic, BODY)))
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for f in done:
            f.result()
        n += len(done)
    if pending:
        done, _ = await asyncio.wait(pending)
        for f in done:
            f.result()
        n += len(done)
    return n


def consume(namesrv: str, topic: str, expected: int, samples: list[tuple[int, float]] | None = None) -> float:
    count = 0
    lock = threading.Lock()
    done = threading.Event()
    times: list[float] = []

    def listener(m: ferromq.MessageView) -> bool:
        nonlocal count
        with lock:
            count += 1
            if count == 1:
                times.append(time.monotonic())
            if samples is not None and count % 10_000 == 0:
                samples.append((count, rss_mib()))
            if count >= expected:
                times.append(time.monotonic())
                done.set()
        return True

    with ferromq.PushConsumer(
        namesrv, f"bench-cg-{os.getpid()}-{topic}", topic, listener=listener, consume_from=ferromq.ConsumeFrom.FIRST_OFFSET
    ):
        if not done.wait(600):
            raise SystemExit(f"consumed only {count} of {expected}")
    return expected / max(times[1] - times[0], 1e-9)


async def bench_request(producer: ferromq.Producer, topic: str, seconds: float, concurrency: int) -> list[float]:
    """Round-trip latencies (seconds) of `concurrency` requesters, each one request in flight."""
    latencies: list[float] = []
    end = time.monotonic() + seconds
    body = b"r" * 128

    async def requester() -> None:
        while time.monotonic() < end:
            start = time.monotonic()
            reply = await producer.request_async(ferromq.Message(topic, body), timeout_ms=3000)
            latencies.append(time.monotonic() - start)
            if reply.body != body:
                raise SystemExit("a reply carried another request's body")

    await asyncio.gather(*(requester() for _ in range(concurrency)))
    return latencies


def run_request(namesrv: str, args: argparse.Namespace) -> int:
    topic = f"PyBenchRpc_{os.getpid()}"
    create_topic(namesrv, topic)
    with ferromq.Producer(namesrv, f"bench-responder-pg-{os.getpid()}") as responder:

        def answer(m: ferromq.MessageView) -> bool:
            responder.send_reply(ferromq.Message.reply_to(m, m.body))
            return True

        with ferromq.PushConsumer(
            namesrv,
            f"bench-responder-cg-{os.getpid()}",
            topic,
            listener=answer,
            consume_from=ferromq.ConsumeFrom.LAST_OFFSET,
            consume_threads=max(args.request, 1),
        ), ferromq.Producer(namesrv, f"bench-requester-pg-{os.getpid()}") as requester:
            # Warm up until the responder answers: routes, connections, rebalance.
            deadline = time.monotonic() + 60
            while True:
                try:
                    requester.request(ferromq.Message(topic, b"warm-up"), timeout_ms=1000)
                    break
                except ferromq.RequestTimeoutError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the responder never answered")
            latencies = asyncio.run(bench_request(requester, topic, args.seconds, args.request))
    latencies.sort()
    n = len(latencies)
    pct = lambda q: latencies[min(n - 1, int(q * n))] * 1000  # noqa: E731
    print(
        f"request-reply: {n / args.seconds:10.0f} round trips/s ({args.request} requesters, 128 B), "
        f"p50 {pct(0.5):.2f} ms, p99 {pct(0.99):.2f} ms, max {latencies[-1] * 1000:.2f} ms"
    )
    return 0


def run(namesrv: str, args: argparse.Namespace) -> int:
    if args.request:
        return run_request(namesrv, args)
    topic = f"PyBench_{os.getpid()}"
    create_topic(namesrv, topic)
    with ferromq.Producer(namesrv, f"bench-pg-{os.getpid()}") as producer:
        producer.send(ferromq.Message(topic, BODY))  # warm up: route and connection
        sync_n = bench_sync(producer, topic, args.seconds)
        print(f"sync  sends: {sync_n / args.seconds:10.0f} msg/s (1 KiB, one thread)")
        async_n = asyncio.run(bench_async(producer, topic, args.seconds, args.window))
        print(f"async sends: {async_n / args.seconds:10.0f} msg/s (1 KiB, {args.window} in flight)")
    total = 1 + sync_n + async_n
    rate = consume(namesrv, topic, total)
    print(f"consume    : {rate:10.0f} msg/s through a Python listener ({total} messages)")
    if not args.rss:
        return 0
    topic = f"PyBenchRss_{os.getpid()}"
    create_topic(namesrv, topic)
    with ferromq.Producer(namesrv, f"bench-rss-pg-{os.getpid()}") as producer:
        asyncio.run(bench_async(producer, topic, 0, args.window, total=args.rss_messages))
    samples: list[tuple[int, float]] = []
    consume(namesrv, topic, args.rss_messages, samples)
    print("rss (MiB) after n consumed: " + ", ".join(f"{n}: {r:.1f}" for n, r in samples))
    base = next((r for n, r in samples if n >= 20_000), samples[0][1])
    growth = max(r for _, r in samples) - base
    flat = growth < args.rss_slack
    print(f"rss growth after 20,000: {growth:.1f} MiB -> {'flat' if flat else 'GROWING'}")
    return 0 if flat else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--namesrv", default=os.environ.get("FERROMQ_NAMESRV"))
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--window", type=int, default=256)
    p.add_argument("--rss", action="store_true")
    p.add_argument("--rss-messages", type=int, default=100_000)
    p.add_argument("--rss-slack", type=float, default=16.0)
    p.add_argument("--request", type=int, default=0, metavar="N", help="request-reply with N requesters")
    args = p.parse_args()
    if args.namesrv:
        return run(args.namesrv, args)
    profile = "release" if (TARGET / "release" / "mqbroker").exists() else "debug"
    print(f"starting {profile} servers")
    with LocalCluster(broker_config=BROKER_CONFIG, bin_dir=bin_dir(profile)) as c:
        return run(c.namesrv_addr, args)


if __name__ == "__main__":
    sys.exit(main())
