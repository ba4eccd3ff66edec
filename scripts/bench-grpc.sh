#!/usr/bin/env bash
# gRPC throughput (issue 21): the official Java 5.x SDK (rocketmq-client-java, the programs of
# tests/compat/grpc-java) against FerroMQ's broker with its gRPC endpoint on (local mode:
# `grpcServerPort` in the broker config, release build) and against Apache RocketMQ 5.3.3's
# proxy in local mode (`ProxyStartup -pm local`, the broker in the same JVM, Maven Central jars)
# with an Apache name server, one after the other in the same run on this machine.
#
# Per server, 1 KiB bodies, each run on a topic of its own (8 queues):
#   sync    synchronous sends, one at a time, for SECONDS_PER_RUN
#   async   async sends with 256 in flight, for SECONDS_PER_RUN
#   drain   a simple consumer (4 threads, batches of 32) receives and async-acks the async run's
#           whole backlog
# Each prints TPS and the server's CPU (user + system from /proc/<pid>/stat: FerroMQ's broker
# with the endpoint inside it; Apache's one proxy + broker JVM; the name servers are left out)
# per million messages, like scripts/bench-compare.sh. The client JVM runs on the same cores:
# on a 2-core machine the TPS is bounded by what the client leaves over, so the CPU per message
# is the steadier figure. The load average at each run is printed with it.
#
#   bash scripts/bench-grpc.sh                       # 20 s per run, about 5 minutes
#   SECONDS_PER_RUN=10 SERVERS=ferromq bash scripts/bench-grpc.sh
#   BIN_DIR=path/to/release bash scripts/bench-grpc.sh   # these mqnamesrv/mqbroker, no build
#
# Needs java (17) and mvn. RESULTS=file keeps the JSON lines.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

secs="${SECONDS_PER_RUN:-20}"
servers="${SERVERS:-ferromq apache}"
inflight="${INFLIGHT:-256}"
bin="${BIN_DIR:-${CARGO_TARGET_DIR:-target}/release}"
work="$(mktemp -d)"
results="${RESULTS:-$work/results.jsonl}"
: >"$results"
command -v java >/dev/null && command -v mvn >/dev/null ||
    { echo "bench-grpc: needs java and mvn" >&2; exit 2; }
if [ -z "${BIN_DIR:-}" ]; then
    cargo build --release --locked -p ferromq-namesrv -p ferromq-broker >&2
fi
mvn -q -B -f tests/compat/pom.xml compile dependency:copy-dependencies -DincludeScope=runtime >&2
client_cp="tests/compat/grpc-java/target/classes:tests/compat/grpc-java/target/dependency/*"

. scripts/bench-lib.sh
hz="$(getconf CLK_TCK)"
apache_pids=()
cleanup() {
    bench_cluster_stop
    for pid in "${apache_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# create_topic <broker port> <name server port> <topic>: UPDATE_AND_CREATE_TOPIC (code 17, 8
# queues, a NORMAL 5.x topic) on the broker, then waits until the name server routes it.
create_topic() {
    python3 - "$@" <<'PY'
import json, socket, struct, sys, time
broker, namesrv, topic = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def call(port, code, fields):
    header = json.dumps({"code": code, "flag": 0, "language": "JAVA", "opaque": 1,
                         "serializeTypeCurrentRPC": "JSON", "version": 479,
                         "extFields": fields}).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(struct.pack(">II", 4 + len(header), len(header)) + header)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    hlen = struct.unpack(">I", data[4:8])[0] & 0xFFFFFF
    return json.loads(data[8:8 + hlen])["code"]
code = call(broker, 17, {"topic": topic, "defaultTopic": "TBW102", "readQueueNums": "8",
                         "writeQueueNums": "8", "perm": "6", "topicFilterType": "SINGLE_TAG",
                         "topicSysFlag": "0", "order": "false",
                         "attributes": "+message.type=NORMAL"})
if code != 0:
    sys.exit("create topic %s: code %d" % (topic, code))
deadline = time.time() + 30
while call(namesrv, 105, {"topic": topic}) != 0:
    if time.time() > deadline:
        sys.exit("no route of %s within 30 s" % topic)
    time.sleep(0.2)
PY
}

# wait_jvm_port <port> <pid>: until the JVM <pid> listens on <port> (120 s at most: a JVM's start
# on a loaded machine takes longer than wait_port's 30 s).
wait_jvm_port() {
    for _ in $(seq 1 600); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { echo "bench-grpc: process $2 exited before port $1 opened" >&2; exit 1; }
        sleep 0.2
    done
    echo "bench-grpc: port $1 did not open within 120 s" >&2
    exit 1
}

server=""
server_pid=""
endpoint=""
broker_port=""
namesrv_port=""

# measure <label> <GrpcTools args...>: one client run with the server's CPU; a JSON line
# appended to the results. Sets $last_sent from a send run.
last_sent=0
measure() {
    local label="$1" before after line cpu
    shift
    echo "== $server / $label" >&2
    wait_idle "$server_pid"
    before="$(cpu_ticks "$server_pid")"
    java -Xmx512m -cp "$client_cp" -Dcompat.timeoutMs=600000 org.ferromq.grpc.GrpcTools "$@" \
        >"$work/client.out" 2>&1 || {
        echo "$server / $label failed:" >&2
        tail -n 20 "$work/client.out" >&2
        return 1
    }
    after="$(cpu_ticks "$server_pid")"
    line="$(grep '^RESULT ' "$work/client.out" | tail -n 1 | sed 's/^RESULT //')"
    local messages tps
    messages="$(tr ' ' '\n' <<<"$line" | sed -n 's/^\(sent\|received\)=//p')"
    tps="$(tr ' ' '\n' <<<"$line" | sed -n 's/^\(send_tps\|receive_ack_tps\)=//p')"
    [[ "$label" == drain ]] || last_sent="$messages"
    cpu="$(awk -v a="$after" -v b="$before" -v hz="$hz" -v n="$messages" \
        'BEGIN { printf "%.1f", (a - b) / hz / n * 1e6 }')"
    echo "{\"server\":\"$server\",\"run\":\"$label\",\"messages\":$messages,\"tps\":$tps,\"server_cpu_s_per_million\":$cpu,\"load\":$(cut -d' ' -f1 /proc/loadavg)}" |
        tee -a "$results"
}

suite() {
    local t="BenchGrpc$RANDOM"
    for topic in "${t}_warm" "${t}_sync" "${t}_async"; do
        create_topic "$broker_port" "$namesrv_port" "$topic"
    done
    # Warm-up (not recorded): the connections, the first commitlog file, the JITs.
    java -Xmx512m -cp "$client_cp" org.ferromq.grpc.GrpcTools bench-send "$endpoint" "${t}_warm" 5 1024 \
        "$inflight" >/dev/null 2>&1 || true
    measure sync bench-send "$endpoint" "${t}_sync" "$secs" 1024 0
    measure async bench-send "$endpoint" "${t}_async" "$secs" 1024 "$inflight"
    measure drain bench-drain "$endpoint" "${t}_async" "${t}_g" "$last_sent"
}

ferromq_run() {
    local grpc_port="${FERROMQ_GRPC_PORT:-28081}"
    bench_cluster_start "$bin" --broker-config brokerName=ferro-a \
        --broker-config "grpcServerPort=$grpc_port"
    namesrv_port="${FERROMQ_NAMESRV##*:}"
    broker_port="$(sed -n 's/^listenPort=//p' "$(ls "$FERROMQ_CLUSTER_DIR"/broker-*.properties | head -n 1)" | tail -n 1)"
    server_pid="$(cat "$(ls "$FERROMQ_CLUSTER_DIR"/broker-*.pid | head -n 1)")"
    endpoint="127.0.0.1:$grpc_port"
    wait_port "$grpc_port"
    server=ferromq
    suite
    bench_cluster_stop
}

apache_run() {
    local deps=tests/compat/apache/target/dependency proxy_deps=tests/compat/proxy/target/dependency
    local dir="$work/apache"
    namesrv_port="${APACHE_NAMESRV_PORT:-29876}"
    broker_port="${APACHE_BROKER_PORT:-29911}"
    local grpc_port="${APACHE_GRPC_PORT:-29081}"
    mkdir -p "$dir/home/conf" "$dir/store"
    echo "listenPort=$namesrv_port" >"$dir/namesrv.conf"
    cat >"$dir/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=apache-a
brokerId=0
brokerIP1=127.0.0.1
listenPort=$broker_port
namesrvAddr=127.0.0.1:$namesrv_port
storePathRootDir=$dir/store
storePathCommitLog=$dir/store/commitlog
flushDiskType=ASYNC_FLUSH
EOF
    echo "{\"namesrvAddr\":\"127.0.0.1:$namesrv_port\",\"grpcServerPort\":$grpc_port,\"remotingListenPort\":$((grpc_port + 1))}" \
        >"$dir/rmq-proxy.json"
    ROCKETMQ_HOME="$dir/home" java -Xms512m -Xmx512m -XX:+UseG1GC "-Duser.home=$dir/home" -cp "$deps/*" \
        org.apache.rocketmq.namesrv.NamesrvStartup -c "$dir/namesrv.conf" >"$dir/namesrv.out" 2>&1 &
    apache_pids+=($!)
    wait_jvm_port "$namesrv_port" "$!"
    ROCKETMQ_HOME="$dir/home" RMQ_PROXY_HOME="$dir/home" java -Xms1g -Xmx1g -XX:+UseG1GC \
        "-Duser.home=$dir/home" -cp "$proxy_deps/*" org.apache.rocketmq.proxy.ProxyStartup \
        -pm local -bc "$dir/broker.conf" -pc "$dir/rmq-proxy.json" -n "127.0.0.1:$namesrv_port" \
        >"$dir/proxy.out" 2>&1 &
    server_pid=$!
    apache_pids+=("$server_pid")
    wait_jvm_port "$grpc_port" "$server_pid"
    wait_jvm_port "$broker_port" "$server_pid"
    wait_registered "$namesrv_port"
    endpoint="127.0.0.1:$grpc_port"
    server=apache
    suite
    for pid in "${apache_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    apache_pids=()
}

for s in $servers; do
    case "$s" in
    ferromq) ferromq_run ;;
    apache) apache_run ;;
    *) echo "SERVERS: unknown server $s (ferromq, apache)" >&2; exit 2 ;;
    esac
done

echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| server | run | messages | msg/s | server CPU s per million | load |")
print("|---|---|---|---|---|---|")
for r in rows:
    print("| %s | %s | %d | %.0f | %.1f | %.1f |" % (r["server"], r["run"], r["messages"], r["tps"],
                                                  r["server_cpu_s_per_million"], r["load"]))
PY
