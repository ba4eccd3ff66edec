#!/usr/bin/env bash
# A real FerroMQ name server and broker(s) for a test, on free loopback ports, with their
# configs, stores and logs in one temporary directory. The shell (and C) counterpart of
# ferromq_client::testing::LocalCluster; the C tarball and the server tarball ship it as
# bin/ferromq-local-cluster (docs/packaging.md, "LocalCluster for C and shell").
#
#   ferromq-local-cluster start [OPTIONS]      # prints FERROMQ_NAMESRV=... and FERROMQ_CLUSTER_DIR=...
#   ferromq-local-cluster stop [DIR]           # DIR defaults to $FERROMQ_CLUSTER_DIR (exported)
#   ferromq-local-cluster run [OPTIONS] -- COMMAND [ARGS...]
#
#   eval "$(ferromq-local-cluster start)"      # sets both variables in this shell
#   ./my_test "$FERROMQ_NAMESRV"
#   ferromq-local-cluster stop "$FERROMQ_CLUSTER_DIR"
#
# start returns once the name server has accepted every broker's registration (the broker's log
# of the answer, or mqadmin clusterList listing it).
# run starts a cluster, runs COMMAND with FERROMQ_NAMESRV and FERROMQ_CLUSTER_DIR in its
# environment, stops the cluster and exits with COMMAND's status.
#
# Options:
#   --brokers N              broker groups broker-a, broker-b, ... (default 1)
#   --broker-config LINE     a properties line (Apache's keys) for every broker, after the
#                            cluster's own lines so it wins; repeatable
#   --namesrv-config LINE    a properties line for the name server; repeatable
#   --dir DIR                use DIR (created; must be empty) instead of a new temporary one
#   --bin-dir DIR            take mqnamesrv and mqbroker (and mqadmin) from DIR
#   --mqadmin PATH           the mqadmin that checks registrations (default: beside the
#                            servers, else on PATH, else the broker's log is read instead)
#   --timeout SECONDS        how long each server may take to be ready (default 60)
#
# mqnamesrv and mqbroker come from --bin-dir, else the directory of this script when it has them
# (the tarballs' bin/), else $FERROMQ_BIN_DIR, else PATH; the choice is printed on standard
# error. stop sends SIGTERM (brokers first), SIGKILL after 30 s, then deletes the directory
# unless FERROMQ_KEEP_CLUSTER=1.
set -euo pipefail

me="$(basename "$0")"
die() { echo "$me: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }

# --- binaries -------------------------------------------------------------------------------
_has_servers() { [ -x "$1/mqnamesrv" ] && [ -x "$1/mqbroker" ]; }

# find_bin: sets NAMESRV, BROKER and ADMIN (empty when there is no mqadmin); says where they
# came from.
find_bin() {
    local self_dir looked=() n b
    self_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    if [ -n "$bin_dir" ]; then
        _has_servers "$bin_dir" || die "--bin-dir $bin_dir has no mqnamesrv or no mqbroker"
        _found "$bin_dir" "--bin-dir"
    elif _has_servers "$self_dir"; then
        _found "$self_dir" "bundled"
    elif [ -n "${FERROMQ_BIN_DIR:-}" ] && _has_servers "$FERROMQ_BIN_DIR"; then
        _found "$FERROMQ_BIN_DIR" "FERROMQ_BIN_DIR"
    else
        n="$(command -v mqnamesrv || true)" b="$(command -v mqbroker || true)"
        if [ -n "$n" ] && [ -n "$b" ]; then
            NAMESRV="$n" BROKER="$b" ADMIN=""
            echo "$me: servers from PATH ($n, $b)" >&2
        else
            looked+=("next to $me ($self_dir)")
            if [ -n "${FERROMQ_BIN_DIR:-}" ]; then
                looked+=("FERROMQ_BIN_DIR=$FERROMQ_BIN_DIR")
            else
                looked+=("FERROMQ_BIN_DIR (not set)")
            fi
            looked+=("PATH")
            {
                echo "$me: mqnamesrv and mqbroker not found. Looked at:"
                printf '  - %s\n' "${looked[@]}"
                echo "Unpack the FerroMQ server tarball and set FERROMQ_BIN_DIR=<its bin/ directory>,"
                echo "or build them in a checkout (cargo build -p ferromq-namesrv -p ferromq-broker"
                echo "-p ferromq-tools) and pass --bin-dir target/debug, or put them on PATH."
            } >&2
            exit 1
        fi
    fi
    if [ -n "$admin" ]; then
        [ -x "$admin" ] || die "--mqadmin $admin is not an executable"
        ADMIN="$admin"
    elif [ -z "$ADMIN" ]; then
        ADMIN="$(command -v mqadmin || true)"
    fi
    [ -n "$ADMIN" ] || echo "$me: no mqadmin beside the servers or on PATH; readiness is the" \
        "broker's own log of its registration" >&2
}

# _found DIR HOW: the servers of DIR, and its mqadmin if it has one.
_found() {
    NAMESRV="$1/mqnamesrv" BROKER="$1/mqbroker" ADMIN=""
    [ -x "$1/mqadmin" ] && ADMIN="$1/mqadmin"
    echo "$me: servers from $1 ($2)" >&2
}

# --- ports ----------------------------------------------------------------------------------
_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port N: prints p such that p .. p+N-1 are free, below the kernel's ephemeral range (no
# outgoing connection can take one between this check and the bind).
free_port() {
    local n="$1" low=10002 high p i ok
    high="$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
    high=$((high - n - 1))
    for _ in $(seq 500); do
        p=$((low + (RANDOM * 32768 + RANDOM) % (high - low)))
        ok=1
        for ((i = 0; i < n; i++)); do _port_free $((p + i)) || { ok=0; break; }; done
        [ "$ok" = 1 ] && { echo "$p"; return 0; }
    done
    die "no free ports between $low and $high"
}

# --- servers --------------------------------------------------------------------------------
# spawn NAME CONF BIN: starts BIN -c CONF detached, output in DIR/NAME.log, pid in DIR/NAME.pid.
# The broker's successful registrations are logged too (debug, one target): the readiness check
# for a TLS-only name server, which mqadmin cannot reach.
spawn() {
    local name="$1" conf="$2" bin="$3" log="${RUST_LOG:-warn}"
    [ "$name" = namesrv ] || log="$log,ferromq_broker::services::register=debug"
    RUST_LOG="$log" nohup "$bin" -c "$conf" </dev/null >"$dir/$name.log" 2>&1 &
    echo $! >"$dir/$name.pid"
}

_alive() { kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

# wait_for NAME WHAT CMD...: polls CMD every 0.1 s until it succeeds, NAME exits or the deadline.
# Returns 1 if NAME exited (the caller decides whether to retry), dies on the deadline.
wait_for() {
    local name="$1" what="$2" deadline=$((SECONDS + timeout))
    shift 2
    until "$@"; do
        if ! _alive "$name"; then return 1; fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            tail -n 40 "$dir/$name.log" >&2
            die "$name: $what not within ${timeout} s (log above)"
        fi
        sleep 0.1
    done
}

_booted() { grep -q "boot success" "$dir/$1.log" 2>/dev/null; }
_bind_failed() { grep -qE "cannot listen|Address already in use|address in use" "$dir/$1.log" 2>/dev/null; }
# _listed NAME ADDR: the name server lists ADDR, or NAME logged that the name server accepted its
# registration (the log first: cheap, and the only way for a TLS-only name server).
_listed() {
    grep -q "services::register.*registered" "$dir/$1.log" 2>/dev/null ||
        { [ -n "$ADMIN" ] && "$ADMIN" clusterList -n "$namesrv_addr" 2>/dev/null | grep -qF "$2"; }
}

# start_server NAME BIN CONF_WRITER: writes the config for a fresh port (CONF_WRITER PORT) and
# starts it; up to three tries when another process takes the port first.
start_server() {
    local name="$1" bin="$2" writer="$3" ports="$4" attempt p
    for attempt in 1 2 3; do
        p="$(free_port "$ports")"
        [ "$ports" -gt 1 ] && p=$((p + 2)) # a broker's p-2 (fast port), p-1 and p+1 (HA)
        "$writer" "$p" >"$dir/$name.properties"
        spawn "$name" "$dir/$name.properties" "$bin"
        if wait_for "$name" "boot" _booted "$name"; then
            port="$p"
            return 0
        fi
        if _bind_failed "$name" && [ "$attempt" -lt 3 ]; then
            echo "$me: $name could not bind port $p; trying another" >&2
            rm -rf "$dir/$name-store"
            continue
        fi
        tail -n 40 "$dir/$name.log" >&2
        die "$name exited during start-up (log above)"
    done
}

namesrv_conf() {
    printf '%s\n' "listenPort=$1" "webSocketListenPort=0" \
        "kvConfigPath=$dir/namesrv-kvConfig.json" "configStorePath=$dir/namesrv-store.properties"
    printf '%s\n' "${namesrv_lines[@]}"
}

current_broker=""
broker_conf() {
    printf '%s\n' "brokerClusterName=DefaultCluster" "brokerName=$current_broker" "brokerId=0" \
        "brokerRole=ASYNC_MASTER" "flushDiskType=ASYNC_FLUSH" "listenPort=$1" \
        "namesrvAddr=$namesrv_addr" "brokerIP1=127.0.0.1" "brokerIP2=127.0.0.1" \
        "bindAddress=127.0.0.1" "storePathRootDir=$dir/$current_broker-store" \
        "mappedFileSizeCommitLog=33554432" "mappedFileSizeConsumeQueue=600000" \
        "maxHashSlotNum=50000" "maxIndexNum=200000" "flushConsumerOffsetInterval=1000"
    printf '%s\n' "${broker_lines[@]}"
}

# stop_dir DIR: SIGTERM to each server of DIR (brokers first), SIGKILL after 30 s; removes DIR.
stop_dir() {
    dir="$1"
    [ -d "$dir" ] || die "stop: no cluster directory $dir"
    [ -f "$dir/namesrv.pid" ] || die "stop: $dir is not a cluster directory (no namesrv.pid)"
    local f pid name deadline
    for f in $(ls "$dir"/broker-*.pid 2>/dev/null) "$dir/namesrv.pid"; do
        [ -f "$f" ] || continue
        pid="$(cat "$f")"
        name="$(basename "$f" .pid)"
        # Only a process started from this directory's config (the pid may have been reused).
        if grep -qF "$dir/$name.properties" "/proc/$pid/cmdline" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            deadline=$((SECONDS + 30))
            while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
            if kill -0 "$pid" 2>/dev/null; then
                echo "$me: $name did not stop in 30 s; killing it" >&2
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
        rm -f "$f"
    done
    if [ "${FERROMQ_KEEP_CLUSTER:-}" = 1 ]; then
        echo "$me: kept $dir" >&2
    else
        rm -rf "$dir"
    fi
}

start_cluster() {
    find_bin
    if [ -n "$dir" ]; then
        mkdir -p "$dir"
        [ -z "$(ls -A "$dir")" ] || die "--dir $dir is not empty"
        dir="$(cd "$dir" && pwd)"
    else
        dir="$(mktemp -d "${TMPDIR:-/tmp}/ferromq-local-cluster.XXXXXX")"
    fi
    # A failed start leaves nothing running (and no directory).
    started=0
    trap '[ "$started" = 1 ] || stop_dir "$dir" >/dev/null 2>&1 || true' EXIT
    local port i
    start_server namesrv "$NAMESRV" namesrv_conf 1
    namesrv_addr="127.0.0.1:$port"
    for ((i = 0; i < brokers; i++)); do
        current_broker="broker-$(printf "\\x$(printf %x $((97 + i)))")"
        start_server "$current_broker" "$BROKER" broker_conf 4
        wait_for "$current_broker" "registration with the name server" _listed "$current_broker" "127.0.0.1:$port" ||
            { tail -n 40 "$dir/$current_broker.log" >&2; die "$current_broker exited (log above)"; }
    done
    started=1
    echo "$namesrv_addr" >"$dir/namesrv.addr"
}

# --- command line ---------------------------------------------------------------------------
[ $# -ge 1 ] || usage
action="$1"
shift
brokers=1 dir="" bin_dir="" admin="" timeout=60 namesrv_addr=""
broker_lines=("") namesrv_lines=("") # a leading empty line each: bash < 4.4 and set -u
if [ "$action" = start ] || [ "$action" = run ]; then
    while [ $# -gt 0 ]; do
        case "$1" in
            --brokers) brokers="${2:?--brokers needs a number}"; shift 2 ;;
            --broker-config) broker_lines+=("${2:?--broker-config needs a key=value line}"); shift 2 ;;
            --namesrv-config) namesrv_lines+=("${2:?--namesrv-config needs a key=value line}"); shift 2 ;;
            --dir) dir="${2:?--dir needs a directory}"; shift 2 ;;
            --bin-dir) bin_dir="${2:?--bin-dir needs a directory}"; shift 2 ;;
            --mqadmin) admin="${2:?--mqadmin needs a path}"; shift 2 ;;
            --timeout) timeout="${2:?--timeout needs seconds}"; shift 2 ;;
            --) shift; break ;;
            -h|--help) usage ;;
            *) die "unknown option $1 (see $me -h)" ;;
        esac
    done
    [[ "$brokers" =~ ^[1-9][0-9]?$ ]] && [ "$brokers" -le 26 ] || die "--brokers must be 1 to 26, not $brokers"
    [[ "$timeout" =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a whole number of seconds, not $timeout"
    for l in "${broker_lines[@]}" "${namesrv_lines[@]}"; do
        [ -z "$l" ] || [[ "$l" == *=* ]] || die "a config line must be key=value, not '$l'"
    done
fi

case "$action" in
    start)
        [ $# -eq 0 ] || die "start takes no command (use run ... -- COMMAND)"
        start_cluster
        # KEY=value lines, the value quoted for the shell only when it has to be (eval).
        printf 'FERROMQ_NAMESRV=%s\nFERROMQ_CLUSTER_DIR=%q\n' "$namesrv_addr" "$dir"
        ;;
    run)
        [ $# -ge 1 ] || die "run needs a command after --"
        start_cluster
        trap 'stop_dir "$dir"' EXIT
        trap 'exit 130' INT TERM
        echo "$me: name server at $namesrv_addr ($dir)" >&2
        status=0
        FERROMQ_NAMESRV="$namesrv_addr" FERROMQ_CLUSTER_DIR="$dir" "$@" || status=$?
        exit "$status"
        ;;
    stop)
        target="${1:-${FERROMQ_CLUSTER_DIR:-}}"
        [ -n "$target" ] || die "stop needs the cluster directory (or FERROMQ_CLUSTER_DIR)"
        stop_dir "$target"
        ;;
    -h|--help|help) usage ;;
    *) die "unknown command $action (start, stop or run)" ;;
esac
