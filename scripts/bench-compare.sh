#!/usr/bin/env bash
# FerroMQ against Apache RocketMQ 5.3.3 on this machine, in one run: what each broker sustains
# and what each message costs it. 1 KiB messages; per broker (FerroMQ's, then Apache's from the
# Maven jars via tests/compat/apache-cluster.sh), each broker with its data in a temporary dir:
#
#   send      mqbench sync with 1, 16 and 64 threads, async with 1024 sends in flight, and the
#             loopback ping-pong of the same frame sizes (`mqbench pingpong`, no broker,
#             blocking and `--spin`)
#   batch     mqbench `--batch 32`: async (32 batches in flight) and sync with 16 threads
#   java      the official Java client's BenchProducer: sync 1, 16, 64 threads, and async
#   consume   a backlog of BACKLOG messages (1,000,000), then drained by `mqbench consumer` and
#             by the Java client's push consumer (BenchConsumer), each a new group from the start
#   syncflush the broker restarted with SYNC_FLUSH: mqbench sync with 16 and 64 threads
#
# Each run reports TPS and latency, and the cost: broker CPU seconds (user + system, from
# /proc/<pid>/stat) per million messages, the client's CPU per million (/usr/bin/time; a Java
# client's includes its JVM's start), the broker's anonymous RSS at the end (RssAnon: not the
# mapped commitlog), and, with `perf`, the broker's system calls per message and messages per
# flush system call (msync / fdatasync / fsync: one per group commit under SYNC_FLUSH). On a
# machine whose cores the client and the broker share, or one busy with other work, CPU per
# message is the steadier figure. Prints one JSON line per run, a table, and FerroMQ / Apache
# ratios.
#
#   bash scripts/bench-compare.sh                          # 20 s per run (about 15 minutes)
#   SECONDS_PER_RUN=10 RUNS="send batch" BROKERS=ferromq bash scripts/bench-compare.sh
#   BACKLOG=200000 RUNS=consume bash scripts/bench-compare.sh
#
# Needs java (17) and mvn for the Apache broker and the Java client; skips those runs without
# them. RESULTS=file keeps the JSON lines.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
command -v cargo >/dev/null || bash scripts/setup.sh >/dev/null

secs="${SECONDS_PER_RUN:-20}"
backlog="${BACKLOG:-1000000}"
runs=" ${RUNS:-send batch java consume syncflush} "
brokers="${BROKERS:-ferromq apache}"
warmup="${WARMUP_SECONDS:-5}"
bin="${CARGO_TARGET_DIR:-target}/release"
work="$(mktemp -d)"
results="${RESULTS:-$work/results.jsonl}"
: >"$results"
cargo build --release --locked -p ferromq-namesrv -p ferromq-broker -p ferromq-tools >&2

have_java=0
if command -v java >/dev/null && command -v mvn >/dev/null; then
    have_java=1
    mvn -q -B -f tests/compat/pom.xml compile dependency:copy-dependencies -DincludeScope=runtime >&2
fi
java_cp="tests/compat/java/target/classes:tests/compat/java/target/dependency/*"
java_opts=(-Xmx512m -cp "$java_cp")

have_perf=no
perf_events="raw_syscalls:sys_enter,context-switches,syscalls:sys_enter_msync,syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync"
if command -v perf >/dev/null && perf stat -e "$perf_events" -o /dev/null true 2>/dev/null; then
    have_perf=yes
else
    echo "bench-compare: no perf: no system call or flush counts (apt-get install linux-perf)" >&2
fi

. scripts/bench-lib.sh
apache_dir="$work/apache"
cleanup() {
    bench_cluster_stop
    tests/compat/apache-cluster.sh stop "$apache_dir" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
hz="$(getconf CLK_TCK)"

# The broker under test: its name and pid, and the name server's address.
broker=""
broker_pid=""
ns=""

# measure <client: mqbench|java> <label> <command...>: one run with its cost, a JSON line
# appended to the results.
measure() {
    local client="$1" label="$2"
    shift 2
    echo "== $broker / $client / $label" >&2
    # Not what the previous run left running (the pre-fault of a new commitlog file, a JVM's
    # collections) in this run's figures.
    wait_idle "$broker_pid"
    local perf_pid="" before after line
    if [ "$have_perf" = yes ]; then
        perf stat -x, -e "$perf_events" -p "$broker_pid" -o "$work/perf.out" &
        perf_pid=$!
        sleep 0.3 # attached
    fi
    before="$(cpu_ticks "$broker_pid")"
    line="$(/usr/bin/time -f '%U %S' -o "$work/client-cpu" "$@" 2>"$work/client.err" |
        { grep -E '"kind":"summary"|^RESULT ' || true; } | tail -n 1 | sed 's/^RESULT //')"
    after="$(cpu_ticks "$broker_pid")"
    local counts='{}'
    if [ -n "$perf_pid" ]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
        counts="$(awk -F, '$1 ~ /^[0-9]/ { gsub(/.*:/, "", $3); printf "%s\"%s\":%s", (n++ ? "," : "{"), $3, $1 }
            END { if (!n) printf "{"; printf "}" }' "$work/perf.out")"
    fi
    if [ -z "$line" ]; then
        echo "$broker / $client / $label: no result; left out. Its errors:" >&2
        tail -n 5 "$work/client.err" >&2
        return 0
    fi
    local broker_s client_s
    broker_s="$(awk -v a="$after" -v b="$before" -v hz="$hz" 'BEGIN { printf "%.3f", (a - b) / hz }')"
    client_s="$(awk '{ printf "%.3f", $1 + $2 }' "$work/client-cpu")"
    echo "{\"broker\":\"$broker\",\"client\":\"$client\",\"run\":\"$label\",\"broker_cpu_s\":$broker_s,\"client_cpu_s\":$client_s,\"rss_anon_kb\":$(rss_anon_kb "$broker_pid"),\"broker_counts\":$counts,\"load\":$(cut -d' ' -f1 /proc/loadavg),\"result\":$line}" |
        tee -a "$results"
}

# The runs of one broker (ASYNC_FLUSH).
suite() {
    local topic="BenchCompare$RANDOM"
    # Warm-up (not measured): the route, the topic, the first commitlog file, Java's JIT.
    "$bin/mqbench" producer -n "$ns" -t "$topic" -s 1024 --duration "$warmup" --mode async --json >/dev/null
    wait_idle "$broker_pid"
    if [[ "$runs" == *" send "* ]]; then
        for t in 1 16 64; do
            measure mqbench "sync-$t" "$bin/mqbench" producer -n "$ns" -t "$topic" -w "$t" -s 1024 \
                --duration "$secs" --mode sync --json
        done
        measure mqbench async "$bin/mqbench" producer -n "$ns" -t "$topic" -s 1024 \
            --duration "$secs" --mode async --inflight 1024 --json
        # The loopback limit a sync-1 round trip is held against (no broker involved; run in
        # each broker's sitting so it sees the same load). Its broker CPU is the idle broker's.
        # Blocking sockets pay two thread wake-ups per round trip, which on a VM with halting
        # idle processors cost more than the loopback itself; the spinning variant pays none
        # and is the real ceiling (docs/performance.md, "The loopback limit").
        measure mqbench pingpong "$bin/mqbench" pingpong --duration "$secs" --json
        measure mqbench pingpong-spin "$bin/mqbench" pingpong --spin --duration "$secs" --json
    fi
    if [[ "$runs" == *" batch "* ]]; then
        # 32 batches of 32 in flight: as many messages as the async run's 1024 sends.
        measure mqbench async-b32 "$bin/mqbench" producer -n "$ns" -t "$topic" -s 1024 \
            --duration "$secs" --mode async --batch 32 --inflight 32 --json
        measure mqbench sync16-b32 "$bin/mqbench" producer -n "$ns" -t "$topic" -w 16 -s 1024 \
            --duration "$secs" --mode sync --batch 32 --json
    fi
    if [[ "$runs" == *" java "* ]] && [ "$have_java" = 1 ]; then
        for t in 1 16 64; do
            measure java "sync-$t" java "${java_opts[@]}" org.ferromq.compat.BenchProducer "$ns" "$topic" \
                --threads "$t" --size 1024 --seconds "$secs" --mode sync
        done
        measure java async java "${java_opts[@]}" org.ferromq.compat.BenchProducer "$ns" "$topic" \
            --size 1024 --seconds "$secs" --mode async --inflight 1024
    fi
    if [[ "$runs" == *" consume "* ]]; then
        local backlog_topic="BenchBacklog$RANDOM"
        measure mqbench backlog "$bin/mqbench" producer -n "$ns" -t "$backlog_topic" -s 1024 \
            --mode async --batch 32 --inflight 32 --messages "$backlog" --duration 600 --json
        wait_idle "$broker_pid"
        measure mqbench consume "$bin/mqbench" consumer -n "$ns" -t "$backlog_topic" \
            -g "bench_consume_$RANDOM" --from-first --messages "$backlog" --duration 600 --json
        if [ "$have_java" = 1 ]; then
            measure java consume java "${java_opts[@]}" org.ferromq.compat.BenchConsumer "$ns" \
                "$backlog_topic" "bench_java_consume_$RANDOM" --messages "$backlog" --seconds 600
        fi
    fi
}

# The SYNC_FLUSH runs of one broker.
syncflush_suite() {
    local topic="BenchSyncFlush$RANDOM"
    "$bin/mqbench" producer -n "$ns" -t "$topic" -s 1024 -w 16 --duration "$warmup" --json >/dev/null
    wait_idle "$broker_pid"
    for t in 16 64; do
        measure mqbench "sflush-$t" "$bin/mqbench" producer -n "$ns" -t "$topic" -w "$t" -s 1024 \
            --duration "$secs" --mode sync --json
    done
}

ferromq_start() { # flushDiskType
    bench_cluster_start "$bin" --broker-config brokerName=ferro-a --broker-config "flushDiskType=$1"
    ns="$FERROMQ_NAMESRV"
    broker_pid="$(cat "$(ls "$FERROMQ_CLUSTER_DIR"/broker-*.pid | head -n 1)")"
    broker=ferromq
}

apache_start() { # flushDiskType
    rm -rf "$apache_dir"
    FLUSH="$1" NAMESRV_PORT=19876 BROKER_PORT=19911 tests/compat/apache-cluster.sh start "$apache_dir" >&2
    wait_registered 19876
    ns=127.0.0.1:19876
    broker_pid="$(cat "$apache_dir/broker.pid")"
    broker=apache
}

apache_stop() {
    tests/compat/apache-cluster.sh stop "$apache_dir" >&2
    rm -rf "$apache_dir"
}

for b in $brokers; do
    case "$b" in
    ferromq)
        ferromq_start ASYNC_FLUSH
        suite
        bench_cluster_stop
        if [[ "$runs" == *" syncflush "* ]]; then
            ferromq_start SYNC_FLUSH
            syncflush_suite
            bench_cluster_stop
        fi
        ;;
    apache)
        if [ "$have_java" != 1 ]; then
            echo "bench-compare: no java or mvn: no Apache runs" >&2
            continue
        fi
        apache_start ASYNC_FLUSH
        suite
        apache_stop
        if [[ "$runs" == *" syncflush "* ]]; then
            apache_start SYNC_FLUSH
            syncflush_suite
            apache_stop
        fi
        ;;
    *) echo "BROKERS: unknown broker $b (ferromq, apache)" >&2; exit 2 ;;
    esac
done

echo
python3 scripts/bench-table.py "$results"
