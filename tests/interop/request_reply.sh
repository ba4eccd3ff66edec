#!/usr/bin/env bash
# Request-reply across languages (docs/request-reply.md, tests/interop/README.md): requesters
# and responders of different bindings through one real FerroMQ name server and broker, started
# with scripts/local-cluster.sh. For each pair (the lines at the end): a fresh topic made with
# mqadmin updateTopic, the responder started and waited for until it prints `ready`, the
# requester run to completion, then the responder stopped (standard input closed, or SIGTERM)
# and required to exit 0.
#
#   bash tests/interop/request_reply.sh
#
# Needs the Python package in bindings/python/.venv (bash bindings/python/ci.sh; or
# FERROMQ_PY_VENV=<venv>), the Node addon in bindings/node (bash bindings/node/ci.sh), node and
# gcc (the C requester is built here against the binding's static library).
# The servers and mqadmin come from FERROMQ_BIN_DIR, else they are built (debug) in
# $CARGO_TARGET_DIR (default target/). Settings: COUNT (200 requests), CONCURRENCY (16 in
# flight), TIMEOUT_MS (10000 per request), READY_TIMEOUT (60 s for a responder to be ready).
# Exits non-zero if any pair fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
me="request_reply.sh"
die() { echo "$me: $*" >&2; exit 1; }
step() { printf '\n== interop: %s\n' "$*" >&2; }

COUNT="${COUNT:-200}"
CONCURRENCY="${CONCURRENCY:-16}"
TIMEOUT_MS="${TIMEOUT_MS:-10000}"
READY_TIMEOUT="${READY_TIMEOUT:-60}"
venv="${FERROMQ_PY_VENV:-$root/bindings/python/.venv}"
PY="$venv/bin/python"

# --- the programs: each runs with the contract's options appended --------------------------
# (A responder is started as a coprocess: its function must `exec` the program.)
requester_py() { exec "$PY" "$here/requester.py" "$@"; }
responder_py() { exec "$PY" "$here/responder.py" "$@"; }
responder_js() { exec node "$here/responder.js" "$@"; }
requester_c() { exec "$work/requester_c" "$@"; }

# --- prerequisites --------------------------------------------------------------------------
[ -x "$PY" ] && "$PY" -c 'import ferromq' 2>/dev/null ||
    die "no ferromq Python package in $venv (run: bash bindings/python/ci.sh)"
command -v node >/dev/null || die "node not found"
node -e "require('$root/bindings/node')" 2>/dev/null ||
    die "the Node addon is not built in bindings/node (run: bash bindings/node/ci.sh)"
if [ -n "${FERROMQ_BIN_DIR:-}" ]; then
    bin="$FERROMQ_BIN_DIR"
else
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
    step "build the servers and mqadmin (debug)"
    (cd "$root" && cargo build --quiet -p ferromq-namesrv -p ferromq-broker -p ferromq-tools)
    bin="$CARGO_TARGET_DIR/debug"
fi
[ -x "$bin/mqadmin" ] || die "no mqadmin in $bin"

# The C requester, linked statically against the binding's library (bindings/c/ci.sh builds it;
# else it is built here, debug).
work="$(mktemp -d "${TMPDIR:-/tmp}/ferromq-interop.XXXXXX")"
trap 'rm -rf "$work"' EXIT
c_lib="${CARGO_TARGET_DIR:-$root/target}/debug/libferromq_c.a"
if [ ! -f "$c_lib" ]; then
    step "build libferromq (debug)"
    (cd "$root" && cargo build --quiet -p ferromq-c)
fi
command -v gcc >/dev/null || die "gcc not found (the C requester)"
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o "$work/requester_c" \
    "$here/requester.c" -I"$root/bindings/c/include" "$c_lib" -lpthread -ldl -lm ||
    die "could not build tests/interop/requester.c"

# --- the cluster ----------------------------------------------------------------------------
FERROMQ_CLUSTER_DIR=""
responder_pid=""
cleanup() {
    if [ -n "$responder_pid" ] && kill -0 "$responder_pid" 2>/dev/null; then
        kill -KILL "$responder_pid" 2>/dev/null || true
    fi
    if [ -n "$FERROMQ_CLUSTER_DIR" ]; then
        bash "$root/scripts/local-cluster.sh" stop "$FERROMQ_CLUSTER_DIR" || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "start a name server and a broker"
eval "$(bash "$root/scripts/local-cluster.sh" start --bin-dir "$bin" \
    --broker-config autoCreateSubscriptionGroup=true)"
namesrv="$FERROMQ_NAMESRV"

# make_topic TOPIC: creates TOPIC (4 queues) and waits until the name server routes it.
make_topic() {
    local topic="$1" deadline=$((SECONDS + 30))
    "$bin/mqadmin" updateTopic -n "$namesrv" -c DefaultCluster -t "$topic" -r 4 -w 4 >/dev/null
    until "$bin/mqadmin" topicRoute -n "$namesrv" -t "$topic" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || die "no route of $topic within 30 s"
        sleep 0.1
    done
}

# stop_responder PID HOW: stops the responder by closing its standard input (`stdin`) or with
# SIGTERM (`term`); SIGKILL if it is still running 30 s later. Returns its exit status.
stop_responder() {
    local pid="$1" how="$2" deadline status=0
    if [ "$how" = term ]; then
        kill -TERM "$pid" 2>/dev/null || true
    else
        eval "exec ${responder_in}>&-"
    fi
    deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "$me: the responder did not stop within 30 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" || status=$?
    eval "exec ${responder_in}>&-" 2>/dev/null || true
    return "$status"
}

failed=()
pairs=0
# pair NAME REQUESTER RESPONDER [stdin|term]: runs one requester against one responder.
pair() {
    local name="$1" requester="$2" responder="$3" how="${4:-stdin}" line="" status=0 ok=1
    pairs=$((pairs + 1))
    local topic="InteropRpc_${pairs}_$$" group="interop_responder_${pairs}_$$"
    step "$name ($COUNT requests, $CONCURRENCY in flight)"
    make_topic "$topic"
    coproc RESPONDER { "$responder" --namesrv "$namesrv" --topic "$topic" --group "$group"; }
    responder_pid="$RESPONDER_PID"
    local responder_out="${RESPONDER[0]}"
    responder_in="${RESPONDER[1]}"
    if ! read -r -t "$READY_TIMEOUT" -u "$responder_out" line || [ "$line" != ready ]; then
        echo "$me: $name: the responder did not print 'ready' within ${READY_TIMEOUT} s (got '$line')" >&2
        ok=0
    fi
    if [ "$ok" = 1 ]; then
        ("$requester" --namesrv "$namesrv" --topic "$topic" --count "$COUNT" \
            --concurrency "$CONCURRENCY" --timeout-ms "$TIMEOUT_MS") || status=$?
        [ "$status" = 0 ] || { echo "$me: $name: the requester exited with $status" >&2; ok=0; }
    fi
    status=0
    stop_responder "$responder_pid" "$how" || status=$?
    responder_pid=""
    [ "$status" = 0 ] || { echo "$me: $name: the responder exited with $status" >&2; ok=0; }
    [ "$ok" = 1 ] || failed+=("$name")
}

# --- the pairs (add one per line) -----------------------------------------------------------
pair "Python requester <-> Node responder" requester_py responder_js
pair "Python requester <-> Python responder (stopped with SIGTERM)" requester_py responder_py term
pair "C requester <-> Python responder" requester_c responder_py

if [ ${#failed[@]} -gt 0 ]; then
    printf '%s: FAILED: %s\n' "$me" "${failed[@]}" >&2
    exit 1
fi
echo "$me: all $pairs pairs passed" >&2
