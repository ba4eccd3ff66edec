#!/usr/bin/env bash
# The bindings beside the Rust client, in one run on one FerroMQ name server + broker (release
# builds, ASYNC_FLUSH, data in a temporary directory): 1 KiB sends per second from one Rust
# (mqbench), one Python, one Node.js and one C process, sync (one sender) and async, and
# consume throughput through a listener. The clients run one after the other, in ROUNDS rounds
# (2 by default) whose order alternates (Rust, Python, Node, C, then C, Node, Python, Rust), so
# that the load of other work on the machine falls on all of them alike; the end prints each
# figure with its ratio to Rust's in the same round and the load average of that round.
# With RSS_CHECK=1, the Python RSS check (100,000 messages through a listener) runs last.
#
#   bash scripts/bench-bindings.sh           # SECONDS_PER_RUN=8, ROUNDS=2 by default
#
# Run bindings/python/ci.sh and bindings/node/ci.sh once first (venv, npm packages). Honours
# CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
root="$PWD"
secs="${SECONDS_PER_RUN:-8}"
rounds="${ROUNDS:-2}"
tgt="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TARGET_DIR="$tgt"
work="$(mktemp -d)"
venv="$root/bindings/python/.venv"
[ -x "$venv/bin/python" ] || { echo "run bindings/python/ci.sh first" >&2; exit 1; }
[ -d bindings/node/node_modules ] || { echo "run bindings/node/ci.sh first" >&2; exit 1; }
command -v gcc >/dev/null || { echo "gcc is needed for the C benchmark" >&2; exit 1; }

echo "== release builds (servers, mqbench, libferromq, Python extension, Node addon)" >&2
cargo build --release --locked -p ferromq-namesrv -p ferromq-broker -p ferromq-tools -p ferromq-c >&2
(cd bindings/python && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" maturin develop --release --quiet) >&2
host="$(rustc -vV | sed -n 's/^host: //p')"
(cd bindings/node && CARGO_BUILD_TARGET="$host" npx napi build --platform --release --no-const-enum \
    --runtime-string-enum -- --locked) >&2
# libferromq_c.so carries the soname libferromq.so (its installed name), and target/release's own
# libferromq.so is the Python extension: link through a directory of its own.
mkdir -p "$work/lib"
ln -s "$tgt/release/libferromq_c.so" "$work/lib/libferromq.so"
gcc -std=c11 -D_GNU_SOURCE -O2 -I bindings/c/include -o "$work/bench-c" bindings/c/bench.c \
    -L "$work/lib" -lferromq -Wl,-rpath,"$work/lib" -lpthread

cleanup() {
    bench_cluster_stop
    rm -rf "$work"
}
trap cleanup EXIT
. scripts/bench-lib.sh
bench_cluster_start "$tgt/release" --broker-config brokerName=bench-a
ns="$FERROMQ_NAMESRV"

run_rust() {
    local topic="BenchRust_$1"
    "$tgt/release/mqbench" producer -n "$ns" -t "$topic" -w 1 -s 1024 --duration "$secs" --mode sync | tail -n 1
    "$tgt/release/mqbench" producer -n "$ns" -t "$topic" -s 1024 --duration "$secs" --mode async --inflight 256 | tail -n 1
    "$tgt/release/mqbench" consumer -n "$ns" -t "$topic" -g "bench_rust_c_$1" --from-first --duration "$secs" | tail -n 1
}
run_python() { (cd bindings/python && "$venv/bin/python" bench.py --namesrv "$ns" --seconds "$secs"); }
run_node() { (cd bindings/node && FERROMQ_NAMESRV="$ns" node bench.js --seconds "$secs" --window 256); }
run_c() { "$work/bench-c" "$ns" "$secs" 256; }

for round in $(seq 1 "$rounds"); do
    order=(rust python node c)
    [ $((round % 2)) = 0 ] && order=(c node python rust)
    for client in "${order[@]}"; do
        echo "== round $round: $client"
        "run_$client" "$round" | tee "$work/$round-$client.out"
    done
    cut -d' ' -f1-3 /proc/loadavg >"$work/$round-load"
done

echo
echo "== summary: msg/s, and the ratio to Rust's in the same round"
python3 - "$work" "$rounds" <<'PY'
import re, sys
work, rounds = sys.argv[1], int(sys.argv[2])
patterns = {
    "rust": [("sync", r"producer summary: TPS (\d+)"), ("async", None), ("consume", r"consumer summary: TPS (\d+)")],
    "python": [("sync", r"sync  sends:\s+(\d+)"), ("async", r"async sends:\s+(\d+)"), ("consume", r"consume\s+:\s+(\d+)")],
    "node": [("sync", r"sync send:\s+(\d+)"), ("sendSync", r"sendSync:\s+(\d+)"), ("async", r"async send:\s+(\d+)"), ("consume", r"consume:\s+(\d+)")],
    "c": [("sync", r"sync  sends:\s+(\d+)"), ("async", r"async sends:\s+(\d+)"), ("consume", r"consume\s+:\s+(\d+)")],
}
for r in range(1, rounds + 1):
    figures = {}
    for client, pats in patterns.items():
        text = open(f"{work}/{r}-{client}.out").read()
        if client == "rust":
            tps = re.findall(r"producer summary: TPS (\d+)", text)
            figures[("rust", "sync")], figures[("rust", "async")] = int(tps[0]), int(tps[1])
            figures[("rust", "consume")] = int(re.search(pats[2][1], text).group(1))
            continue
        for run, pat in pats:
            m = re.search(pat, text)
            figures[(client, run)] = int(m.group(1)) if m else None
    load = open(f"{work}/{r}-load").read().strip()
    print(f"round {r} (load average {load}):")
    for client in ("rust", "python", "node", "c"):
        cells = []
        for run, _ in patterns[client]:
            v = figures[(client, run)]
            base = figures[("rust", "async" if run == "async" else "consume" if run == "consume" else "sync")]
            ratio = "" if client == "rust" or v is None else f" ({100 * v / base:.0f} %)"
            cells.append(f"{run} {v if v is not None else '?'}{ratio}")
        print(f"  {client:7} " + ", ".join(cells))
PY

if [ "${RSS_CHECK:-0}" = 1 ]; then
    echo "== Python RSS check"
    (cd bindings/python && "$venv/bin/python" bench.py --namesrv "$ns" --seconds 1 --rss)
fi
