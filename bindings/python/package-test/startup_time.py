"""LocalCluster start-to-ready time: starts and stops a one-broker cluster N times (default 10)
and prints each time and the median. Not a test (no timing asserts); for the packaging notes.

    python startup_time.py [N]
"""

from __future__ import annotations

import statistics
import sys
import time

from ferromq.testing import LocalCluster

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
times = []
for _ in range(n):
    t0 = time.monotonic()
    cluster = LocalCluster().start()
    times.append(time.monotonic() - t0)
    source = cluster.binaries["source"]
    cluster.stop()
print("start-to-ready (s):", " ".join(f"{t:.2f}" for t in times))
print(f"median of {n}: {statistics.median(times):.2f} s (servers from {source})")
