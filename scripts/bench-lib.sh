# Shell helpers of the benchmark scripts (sourced, not run).

# wait_port <port>: until something listens on 127.0.0.1:<port> (30 s at most).
wait_port() {
    for _ in $(seq 1 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "port $1 did not open" >&2
    exit 1
}

# wait_registered <port>: until the name server on <port> lists a broker in DefaultCluster (asks
# GET_BROKER_CLUSTER_INFO, code 106, over the remoting protocol); a broker's first registration
# can take seconds (the Apache one's especially).
wait_registered() {
    python3 - "$1" <<'PY'
import json, socket, struct, sys, time
port = int(sys.argv[1])
header = json.dumps({"code": 106, "flag": 0, "language": "JAVA", "opaque": 1,
                     "serializeTypeCurrentRPC": "JSON", "version": 0}).encode()
deadline = time.time() + 60
while time.time() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(struct.pack(">II", 4 + len(header), len(header)) + header)
            data = b""
            while len(data) < 4 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            if b"DefaultCluster" in data:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit("no broker registered with the name server on port %d within 60 s" % port)
PY
}

# bench_cluster_start BIN_DIR [local-cluster options...]: a name server and one broker on free
# ports in a temp dir (scripts/local-cluster.sh, which returns once the name server lists the
# broker), with a real broker's store sizes (Apache's defaults: 1 GiB commitlog files, 300,000
# entries per consume-queue file, full-size index files) unless an option sets them; exports
# FERROMQ_NAMESRV and FERROMQ_CLUSTER_DIR. bench_cluster_stop stops it.
bench_cluster_start() {
    local bin="$1" out
    shift
    out="$(bash scripts/local-cluster.sh start --bin-dir "$bin" \
        --broker-config mappedFileSizeCommitLog=1073741824 \
        --broker-config mappedFileSizeConsumeQueue=6000000 \
        --broker-config maxHashSlotNum=5000000 --broker-config maxIndexNum=20000000 "$@")"
    FERROMQ_NAMESRV="$(sed -n 's/^FERROMQ_NAMESRV=//p' <<<"$out")"
    FERROMQ_CLUSTER_DIR="$(sed -n 's/^FERROMQ_CLUSTER_DIR=//p' <<<"$out")"
    export FERROMQ_NAMESRV FERROMQ_CLUSTER_DIR
}

bench_cluster_stop() {
    if [ -n "${FERROMQ_CLUSTER_DIR:-}" ]; then
        bash scripts/local-cluster.sh stop "$FERROMQ_CLUSTER_DIR"
        FERROMQ_CLUSTER_DIR=""
    fi
}

# cpu_ticks <pid>: user + system CPU time of a process so far, in clock ticks (getconf CLK_TCK
# a second).
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# rss_anon_kb <pid>: the process's anonymous resident memory in KiB (RssAnon: heap, stacks;
# not the mapped commitlog, which is file-backed page cache).
rss_anon_kb() {
    awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"
}

# wait_idle <pid>: until the process uses under 10 % of a core over 2 s (60 s at most). A broker's
# first sends make it create a commitlog file and pre-fault the next one (a second or more of
# CPU): a start-up cost, not a per-message one.
wait_idle() {
    local hz before after
    hz="$(getconf CLK_TCK)"
    for _ in $(seq 1 30); do
        before="$(cpu_ticks "$1")"
        sleep 2
        after="$(cpu_ticks "$1")"
        [ $((after - before)) -lt $((hz / 5)) ] && return 0
    done
}

# Processes started one by one (bench-ha.sh, bench-controller.sh): bench_spawn records each pid,
# bench_stop_all stops them all.
bench_pids=()

# bench_spawn LOG CMD [ARGS...]: runs CMD in the background with its output in LOG.
bench_spawn() {
    local log="$1"
    shift
    "$@" >"$log" 2>&1 &
    bench_pids+=($!)
}

# bench_stop_all: SIGTERM to every process bench_spawn started, then waits until each is gone.
bench_stop_all() {
    local p
    for p in "${bench_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${bench_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    bench_pids=()
}

# bench_namesrv_start BIN DIR PORT: BIN/mqnamesrv on 127.0.0.1:PORT, its config, KV store and log
# in DIR; returns once the port is open.
bench_namesrv_start() {
    local bin="$1" dir="$2" port="$3"
    mkdir -p "$dir"
    printf 'listenPort=%s\nkvConfigPath=%s\nconfigStorePath=%s\n' "$port" "$dir/kv.json" \
        "$dir/ns.properties" >"$dir/namesrv.properties"
    bench_spawn "$dir/ns.log" "$bin/mqnamesrv" -c "$dir/namesrv.properties"
    wait_port "$port"
}

# bench_broker_start BIN DIR KEY=VALUE...: BIN/mqbroker with these lines as DIR/broker.properties,
# its log in DIR/broker.log (does not wait for it).
bench_broker_start() {
    local bin="$1" dir="$2"
    shift 2
    mkdir -p "$dir"
    printf '%s\n' "$@" >"$dir/broker.properties"
    bench_spawn "$dir/broker.log" "$bin/mqbroker" -c "$dir/broker.properties"
}

# mqbench_summary BIN ARGS...: the summary JSON line of `BIN/mqbench producer ARGS --json`.
mqbench_summary() {
    local bin="$1"
    shift
    "$bin/mqbench" producer "$@" --json | grep '"kind":"summary"' | tail -n 1
}
