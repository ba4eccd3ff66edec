#!/usr/bin/env python3
"""The table of scripts/bench-compare.sh, from its JSON lines (one per run):

    python3 scripts/bench-table.py results.jsonl [more.jsonl ...]

Per run: TPS, p99, failures, broker and client CPU seconds per million messages, the broker's
system calls per message and messages per flush system call (when perf counted them), and its
anonymous RSS at the end. Then, for each run that both brokers did, FerroMQ / Apache ratios of
TPS and of broker CPU per message. A run repeated (several files, or RESULTS appended to) is
shown once per line; the ratios use the median of each.
"""

import json
import statistics
import sys

FLUSHES = ("sys_enter_msync", "sys_enter_fdatasync", "sys_enter_fsync")


def messages(result):
    """Messages a run moved: mqbench's `ok`, the Java producer's `sends`, the consumer's
    `messages`."""
    for key in ("ok", "sends", "messages"):
        if key in result:
            return max(int(result[key]), 1)
    return 1


def figures(row):
    x = row["result"]
    n = messages(x)
    counts = row.get("broker_counts") or {}
    flushes = sum(counts.get(k, 0) for k in FLUSHES)
    return {
        "tps": float(x.get("tps", 0)),
        "p99": float(x.get("p99_ms", 0)),
        "fail": int(x.get("failures", 0)),
        "broker_cpu": row["broker_cpu_s"] * 1e6 / n,
        "client_cpu": row["client_cpu_s"] * 1e6 / n,
        "syscalls": counts["sys_enter"] / n if "sys_enter" in counts else None,
        "per_flush": n / flushes if flushes else None,
        "rss_mb": row.get("rss_anon_kb", 0) / 1024,
    }


def opt(value, fmt):
    return format(value, fmt) if value is not None else "-".rjust(len(format(0, fmt)))


def main(paths):
    rows = [json.loads(l) for p in paths for l in open(p) if l.strip()]
    print(
        f"{'broker':8} {'client':7} {'run':11} {'TPS':>9} {'p99 ms':>7} {'fail':>5}"
        f" {'broker CPU':>10} {'client CPU':>10} {'syscalls':>8} {'msg/flush':>9} {'RssAnon':>8}"
    )
    print(f"{'':34}{'':>7}{'':>6} {'s / M msgs':>10} {'s / M msgs':>10} {'per msg':>8} {'':>9} {'MB':>8}")
    by_key = {}
    for r in rows:
        f = figures(r)
        by_key.setdefault((r["client"], r["run"]), {}).setdefault(r["broker"], []).append(f)
        print(
            f"{r['broker']:8} {r['client']:7} {r['run']:11} {f['tps']:9.0f} {f['p99']:7.2f} {f['fail']:5}"
            f" {f['broker_cpu']:10.1f} {f['client_cpu']:10.1f} {opt(f['syscalls'], '8.2f')}"
            f" {opt(f['per_flush'], '9.1f')} {f['rss_mb']:8.0f}"
        )
    # A sync-1 round trip against this machine's loopback limit (the ping-pong of the same
    # frame sizes, measured in the same sitting).
    sync1 = by_key.get(("mqbench", "sync-1"), {})
    for run, what in (("pingpong", "blocking"), ("pingpong-spin", "spinning")):
        ping = by_key.get(("mqbench", run), {})
        for b in sorted(set(ping) & set(sync1)):
            limit = statistics.median(f["tps"] for f in ping[b])
            if limit:
                share = statistics.median(f["tps"] for f in sync1[b]) / limit
                print(f"{b}: mqbench sync-1 is {share:.2f} of the {what} loopback ping-pong ({limit:.0f}/s)")
    pairs = [
        (k, v) for k, v in by_key.items() if "ferromq" in v and "apache" in v and not k[1].startswith("pingpong")
    ]
    if not pairs:
        return
    print()
    print(f"{'client':7} {'run':11} {'TPS ferromq/apache':>19} {'broker CPU/msg ferromq/apache':>30}")
    for (client, run), v in pairs:
        med = {b: {k: statistics.median(f[k] for f in fs) for k in ("tps", "broker_cpu")} for b, fs in v.items()}
        tps = med["ferromq"]["tps"] / med["apache"]["tps"] if med["apache"]["tps"] else float("nan")
        cpu = (
            med["ferromq"]["broker_cpu"] / med["apache"]["broker_cpu"]
            if med["apache"]["broker_cpu"]
            else float("nan")
        )
        print(f"{client:7} {run:11} {tps:19.2f} {cpu:30.2f}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
