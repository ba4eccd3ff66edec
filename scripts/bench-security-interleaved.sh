#!/usr/bin/env bash
# What ACL and TLS cost, measured so that other load on the machine hits every configuration
# alike: the four configurations of bench-security.sh (plain, acl, tls, acl+tls) run side by
# side, each its own name server and broker, started first and left to finish pre-faulting their
# commitlogs; then ROUNDS rounds of short mqbench runs (1 KiB sends), in an order that rotates
# every round. Per run: TPS, the CPU time each sent message cost the broker (/proc) and the
# client (/usr/bin/time), and, when `perf` is installed, the system calls and context switches
# per message of each (`perf stat` software events: counts that do not depend on the load).
# The table gives the median over the rounds.
#
#   cargo build --release -p ferromq-namesrv -p ferromq-broker -p ferromq-tools
#   bash scripts/bench-security-interleaved.sh               # 5 s per run, 3 rounds
#   SECS=10 ROUNDS=5 MODES="sync:1 sync:16 async:1 async:16" bash scripts/bench-security-interleaved.sh
#
# Four brokers each map a commitlog file and pre-fault the next one: 8 GiB of disk with the
# default 1 GiB files. COMMITLOG_FILE_SIZE=536870912 halves that on a tight disk (a broker stops
# taking messages at diskSpaceWarningLevelRatio, 90 % used).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-target}/release"
secs="${SECS:-5}"
rounds="${ROUNDS:-3}"
modes="${MODES:-sync:1 async:16}"
work="$(mktemp -d)"
results="$work/results.jsonl"
: >"$results"
have_perf=no
if command -v perf >/dev/null && perf stat -e raw_syscalls:sys_enter -o /dev/null true 2>/dev/null; then
    have_perf=yes
fi

. scripts/bench-lib.sh
declare -A NS PID CLIENT
dirs=()
cleanup() {
    for d in "${dirs[@]}"; do bash scripts/local-cluster.sh stop "$d" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The same certificates and ACL file as bench-security.sh.
tls="$work/tls"
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bench-ca" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$tls/san.ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
    -CAcreateserial -days 2 -extfile "$tls/san.ext" -out "$tls/server.pem" 2>/dev/null
acl_file="$work/plain_acl.yml"
printf 'accounts:\n  - accessKey: bench-key\n    secretKey: bench-secret-0123456789\n    admin: true\n' \
    >"$acl_file"

setups=(plain acl tls acl+tls)
for s in "${setups[@]}"; do
    args=()
    client=()
    case "$s" in *acl*)
        args+=(--broker-config aclEnable=true --broker-config "aclFilePath=$acl_file")
        client+=(--access-key bench-key --secret-key bench-secret-0123456789) ;;
    esac
    case "$s" in *tls*)
        for line in "tls.server.mode=enforcing" "tls.server.certPath=$tls/server.pem" \
            "tls.server.keyPath=$tls/server.key" "tls.config.file=$work/no-tls.properties"; do
            args+=(--namesrv-config "$line" --broker-config "$line")
        done
        args+=(--broker-config tls.enable=true --broker-config "tls.client.trustCertPath=$tls/ca.pem")
        client+=(--tls-ca "$tls/ca.pem") ;;
    esac
    bench_cluster_start "$bin" --broker-config "brokerName=sec-${s/+/-}" \
        --broker-config "mappedFileSizeCommitLog=${COMMITLOG_FILE_SIZE:-1073741824}" "${args[@]}"
    dirs+=("$FERROMQ_CLUSTER_DIR")
    NS[$s]="$FERROMQ_NAMESRV"
    PID[$s]="$(cat "$(ls "$FERROMQ_CLUSTER_DIR"/broker-*.pid | head -n 1)")"
    FERROMQ_CLUSTER_DIR=""
    CLIENT[$s]="${client[*]}"
    ready=no
    for _ in $(seq 1 30); do
        # shellcheck disable=SC2086
        if "$bin/mqbench" producer -n "${NS[$s]}" -t SecBench -w 1 -s 1024 --duration 1 --json \
            ${CLIENT[$s]} 2>/dev/null | grep '"kind":"summary"' | grep -q '"failures":0'; then
            ready=yes
            break
        fi
    done
    [ "$ready" = yes ] || { echo "$s: no successful send within 30 tries" >&2; exit 1; }
done
# Until the brokers are idle: their first sends made them allocate the next commitlog file ahead
# and pre-fault it (a start-up cost, not a per-message one). 60 s at most.
hz="$(getconf CLK_TCK)"
for _ in $(seq 1 30); do
    before=0
    for s in "${setups[@]}"; do before=$((before + $(cpu_ticks "${PID[$s]}"))); done
    sleep 2
    after=0
    for s in "${setups[@]}"; do after=$((after + $(cpu_ticks "${PID[$s]}"))); done
    [ $((after - before)) -lt $((hz / 5)) ] && break
done

# counts <perf stat -x, output>: [system calls, context switches]
counts() {
    awk -F, '/sys_enter/ { s = $1 } /context-switches/ { c = $1 } END { printf "[%d,%d]", s, c }' "$1"
}

for r in $(seq 1 "$rounds"); do
    for m in $modes; do
        mode="${m%%:*}"
        t="${m##*:}"
        for i in 0 1 2 3; do
            s="${setups[$(((i + r) % 4))]}"
            echo "== round $r: $s / $mode / $t threads ($secs s)" >&2
            perf_client=()
            if [ "$have_perf" = yes ]; then
                perf stat -x, -e raw_syscalls:sys_enter,context-switches -p "${PID[$s]}" \
                    -o "$work/broker-perf" -- sleep "$((secs + 1))" &
                perf_pid=$!
                perf_client=(perf stat -x, -e raw_syscalls:sys_enter,context-switches -o "$work/client-perf")
            fi
            before="$(cpu_ticks "${PID[$s]}")"
            # shellcheck disable=SC2086
            line="$("${perf_client[@]}" /usr/bin/time -f '%U %S' -o "$work/client-cpu" \
                "$bin/mqbench" producer -n "${NS[$s]}" -t SecBench -w "$t" -s 1024 \
                --duration "$secs" --mode "$mode" --json ${CLIENT[$s]} |
                grep '"kind":"summary"' | tail -n 1)" || true
            after="$(cpu_ticks "${PID[$s]}")"
            extra=""
            if [ "$have_perf" = yes ]; then
                wait "$perf_pid" || true
            fi
            if [ -z "$line" ]; then
                echo "round $r: $s / $mode / $t threads: mqbench failed, run left out" >&2
                continue
            fi
            if [ "$have_perf" = yes ]; then
                extra=",\"broker_counts\":$(counts "$work/broker-perf"),\"client_counts\":$(counts "$work/client-perf")"
            fi
            broker_s="$(awk -v a="$after" -v b="$before" -v hz="$hz" 'BEGIN { printf "%.3f", (a - b) / hz }')"
            client_s="$(awk '{ printf "%.3f", $1 + $2 }' "$work/client-cpu")"
            echo "{\"round\":$r,\"setup\":\"$s\",\"mode\":\"$mode\",\"threads\":$t,\"broker_cpu_s\":$broker_s,\"client_cpu_s\":$client_s$extra,\"load\":$(cut -d' ' -f1 /proc/loadavg),\"result\":$line}" |
                tee -a "$results"
        done
    done
done

echo
python3 - "$results" <<'PY'
import json, statistics as st, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
keys = sorted({(r["mode"], r["threads"]) for r in rows}, reverse=True)
loads = [r["load"] for r in rows]
print(f"medians over n runs without failed sends; 1-minute load average {min(loads):.1f}..{max(loads):.1f}")
print(f"{'setup':8} {'mode':5} {'thr':>3} {'n':>2} {'TPS':>7} {'cpu us/msg broker + client':>27} {'vs plain':>8}"
      f" {'syscalls/msg b, c':>18} {'switches/msg b, c':>18}")
for mode, t in keys:
    base = None
    for s in ["plain", "acl", "tls", "acl+tls"]:
        # Runs with failed sends (a full disk, say) measure something else: left out.
        rs = [r for r in rows if (r["setup"], r["mode"], r["threads"]) == (s, mode, t)
              and r["result"]["failures"] == 0]
        if not rs:
            continue
        per = lambda f: st.median(f(r) / max(r["result"]["ok"], 1) for r in rs)
        tps = st.median(r["result"]["tps"] for r in rs)
        b = per(lambda r: r["broker_cpu_s"] * 1e6)
        c = per(lambda r: r["client_cpu_s"] * 1e6)
        base = base or b + c
        counts = ""
        if "broker_counts" in rs[0]:
            counts = (f" {per(lambda r: r['broker_counts'][0]):8.2f}, {per(lambda r: r['client_counts'][0]):6.2f}"
                      f"  {per(lambda r: r['broker_counts'][1]):8.2f}, {per(lambda r: r['client_counts'][1]):6.2f}")
        print(f"{s:8} {mode:5} {t:3} {len(rs):2} {tps:7.0f} {b:12.1f} + {c:5.1f} = {b + c:5.1f} {(b + c) / base - 1:+8.1%}{counts}")
PY
