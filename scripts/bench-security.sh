#!/usr/bin/env bash
# What ACL and TLS cost, on this machine: mqbench (1 KiB sends, sync and async, 1 and 16
# threads) against one name server and one broker run plain, with ACL 1.0 on (every request
# signed and checked), with TLS enforcing on both servers, and with both. Prints one JSON line
# per run and a table with each run's TPS relative to the plain one, and the CPU time each sent
# message cost the broker and the client (from /proc and /usr/bin/time): on a machine where the
# client and the broker share the cores, or one busy with other work, CPU per message is the
# steadier figure; TPS is the one users see.
#
#   bash scripts/bench-security.sh                 # 15 s per run (16 runs: about 5 minutes)
#   SECONDS_PER_RUN=60 bash scripts/bench-security.sh
#   SETUPS="acl plain" bash scripts/bench-security.sh    # some configurations, in this order
#
# The certificates (a throw-away CA and a server certificate for 127.0.0.1) are made with
# openssl in a temporary directory, like the ACL file.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

secs="${SECONDS_PER_RUN:-15}"
work="$(mktemp -d)"
results="$work/results.jsonl"
: >"$results"
cargo build --release --locked -p ferromq-namesrv -p ferromq-broker -p ferromq-tools >&2
bin="${CARGO_TARGET_DIR:-target}/release"

cleanup() {
    bench_cluster_stop
    rm -rf "$work"
}
trap cleanup EXIT

. scripts/bench-lib.sh

# A CA and a server certificate for 127.0.0.1 signed by it.
tls="$work/tls"
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bench-ca" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$tls/san.ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
    -CAcreateserial -days 2 -extfile "$tls/san.ext" -out "$tls/server.pem" 2>/dev/null
tls_keys=(
    "tls.server.mode=enforcing"
    "tls.server.certPath=$tls/server.pem"
    "tls.server.keyPath=$tls/server.key"
    "tls.config.file=$work/no-tls.properties"
)

acl_file="$work/plain_acl.yml"
printf 'accounts:\n  - accessKey: bench-key\n    secretKey: bench-secret-0123456789\n    admin: true\n' \
    >"$acl_file"

# setup <name> <acl: yes|no> <tls: yes|no>: one configuration, then its runs.
setup() {
    local name="$1" acl="$2" tls_on="$3"
    local args=()
    if [ "$acl" = yes ]; then
        args+=(--broker-config aclEnable=true --broker-config "aclFilePath=$acl_file")
    fi
    if [ "$tls_on" = yes ]; then
        for line in "${tls_keys[@]}"; do args+=(--namesrv-config "$line" --broker-config "$line"); done
        args+=(--broker-config tls.enable=true --broker-config "tls.client.trustCertPath=$tls/ca.pem")
    fi
    # A name server and a broker on free ports (scripts/local-cluster.sh via bench-lib.sh); it
    # returns once the name server lists the broker.
    bench_cluster_start "$bin" --broker-config brokerName=sec-bench "${args[@]}"
    local ns="$FERROMQ_NAMESRV"
    local broker_pid
    broker_pid="$(cat "$(ls "$FERROMQ_CLUSTER_DIR"/broker-*.pid | head -n 1)")"
    local client=()
    [ "$acl" = yes ] && client+=(--access-key bench-key --secret-key bench-secret-0123456789)
    [ "$tls_on" = yes ] && client+=(--tls-ca "$tls/ca.pem")
    # One-second warm-ups until sends succeed (the topic is created by the first).
    local ready=no
    for _ in $(seq 1 30); do
        if "$bin/mqbench" producer -n "$ns" -t "SecBench" -w 1 -s 1024 --duration 1 --json \
            "${client[@]}" 2>/dev/null | grep '"kind":"summary"' | grep -q '"failures":0'; then
            ready=yes
            break
        fi
    done
    [ "$ready" = yes ] || { echo "$name: no successful send within 30 tries" >&2; exit 1; }
    # The first send made the broker create its first commitlog file and pre-fault the next one
    # (1 GiB of page cache zeroed): a start-up cost that would land in the first run.
    wait_idle "$broker_pid"
    for mode in sync async; do
        for t in 1 16; do
            echo "== $name / $mode / $t threads ($secs s)" >&2
            local line before after
            before="$(cpu_ticks "$broker_pid")"
            line="$(/usr/bin/time -f '%U %S' -o "$work/client-cpu" "$bin/mqbench" producer \
                -n "$ns" -t "SecBench" -w "$t" -s 1024 --duration "$secs" --mode "$mode" \
                --json "${client[@]}" | grep '"kind":"summary"' | tail -n 1)"
            after="$(cpu_ticks "$broker_pid")"
            local broker_s client_s
            broker_s="$(awk -v a="$after" -v b="$before" -v hz="$(getconf CLK_TCK)" \
                'BEGIN { printf "%.3f", (a - b) / hz }')"
            client_s="$(awk '{ printf "%.3f", $1 + $2 }' "$work/client-cpu")"
            echo "{\"setup\":\"$name\",\"mode\":\"$mode\",\"threads\":$t,\"broker_cpu_s\":$broker_s,\"client_cpu_s\":$client_s,\"result\":$line}" |
                tee -a "$results"
        done
    done
    bench_cluster_stop
}

# SETUPS picks and orders the configurations (default: all four, plain first). Each run writes
# a few GB; what the kernel still has to write back from one configuration slows the next, so
# compare orders (e.g. SETUPS="acl plain") before reading much into a few percent.
for s in ${SETUPS:-plain acl tls acl+tls}; do
    case "$s" in
        plain) setup plain no no ;;
        acl) setup acl yes no ;;
        tls) setup tls no yes ;;
        acl+tls) setup acl+tls yes yes ;;
        *) echo "SETUPS: unknown configuration $s (plain, acl, tls, acl+tls)" >&2; exit 2 ;;
    esac
done

echo
python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def cpu_us(r):
    """CPU microseconds per sent message: broker, client, both."""
    sent = max(r["result"]["ok"], 1)
    b, c = r["broker_cpu_s"] * 1e6 / sent, r["client_cpu_s"] * 1e6 / sent
    return b, c, b + c
base = {(r["mode"], r["threads"]): r for r in rows if r["setup"] == "plain"}
print(f"{'setup':9} {'mode':5} {'threads':>7} {'TPS':>9} {'vs plain':>9} {'p99 ms':>8} {'fail':>5}"
      f" {'cpu us/msg broker+client':>25} {'vs plain':>9}")
for r in rows:
    x = r["result"]
    p = base.get((r["mode"], r["threads"]))
    rel = x["tps"] / p["result"]["tps"] - 1 if p else 0
    b, c, total = cpu_us(r)
    cpu_rel = total / cpu_us(p)[2] - 1 if p else 0
    print(f"{r['setup']:9} {r['mode']:5} {r['threads']:7} {x['tps']:9.0f} {rel:+9.1%} "
          f"{x['p99_ms']:8.2f} {x['failures']:5} {b:11.1f} + {c:5.1f} = {total:5.1f} {cpu_rel:+9.1%}")
EOF
