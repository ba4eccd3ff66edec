#!/usr/bin/env python3
"""Request-reply requester in Python (tests/interop/README.md).

    requester.py --namesrv ADDR --topic T [--count N] [--concurrency C] [--timeout-ms T]

Sends N requests with distinct bodies to topic T, C of them in flight at any time (asyncio,
`Producer.request_async`), and checks that each reply's body is `pong:<its body>`. Prints one
summary line on standard output:

    requests=N ok=N failed=0 concurrency=C p50_ms=... p99_ms=... throughput_rps=... elapsed_s=...

(round-trip latency of each request from the call to its reply; throughput over the whole
run). Failures are logged on standard error. Exits 0 only if every reply was right.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import sys
import time

import ferromq

log = logging.getLogger("requester.py")


def percentile(sorted_values: list[float], p: float) -> float:
    """The nearest-rank percentile of ascending values (NaN for none)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


async def run(producer: ferromq.Producer, args: argparse.Namespace) -> tuple[list[float], int]:
    """Sends the requests; returns the round-trip times (ms) of the right replies and the number
    of failures."""
    run_id = f"{os.getpid()}-{time.time_ns()}"
    next_index = iter(range(args.count))
    latencies: list[float] = []
    failures = 0

    async def worker() -> None:
        nonlocal failures
        for i in next_index:
            body = f"req-{run_id}-{i}".encode()
            began = time.perf_counter()
            try:
                reply = await producer.request_async(ferromq.Message(args.topic, body), timeout_ms=args.timeout_ms)
            except ferromq.FerroMQError as e:
                failures += 1
                log.error("request %d failed: %s (%s)", i, e, e.code)
                continue
            took = (time.perf_counter() - began) * 1000
            if reply.body != b"pong:" + body:
                failures += 1
                log.error("request %d: reply %r, expected %r", i, reply.body, b"pong:" + body)
                continue
            latencies.append(took)

    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    return latencies, failures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--namesrv", required=True, help="name server address, host:port")
    ap.add_argument("--topic", required=True, help="the topic a responder answers on")
    ap.add_argument("--count", type=int, default=200, help="requests to send (200)")
    ap.add_argument("--concurrency", type=int, default=16, help="requests in flight (16)")
    ap.add_argument("--timeout-ms", type=int, default=10000, help="timeout of each request, ms (10000)")
    ap.add_argument("--group", default=None, help="the producer group (a fresh one by default)")
    args = ap.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(name)s: %(message)s")
    if args.count < 1 or args.concurrency < 1 or args.timeout_ms < 1:
        ap.error("--count, --concurrency and --timeout-ms must be at least 1")

    group = args.group or f"interop-requester-{os.getpid()}"
    with ferromq.Producer(args.namesrv, group) as producer:
        began = time.perf_counter()
        latencies, failures = asyncio.run(run(producer, args))
        elapsed = time.perf_counter() - began
    latencies.sort()
    ok = len(latencies)
    print(
        f"requests={args.count} ok={ok} failed={failures} concurrency={args.concurrency} "
        f"p50_ms={percentile(latencies, 50):.2f} p99_ms={percentile(latencies, 99):.2f} "
        f"throughput_rps={ok / elapsed:.1f} elapsed_s={elapsed:.2f}",
        flush=True,
    )
    return 0 if ok == args.count and failures == 0 else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ferromq.FerroMQError as e:
        log.error("%s", e)
        sys.exit(1)
