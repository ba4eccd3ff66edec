# Starts the real mqnamesrv and mqbroker on free loopback ports with their data in a temp
# directory (as bindings/python/tests/servers.py does). Source it, then:
#   start_servers BIN_DIR DATA_DIR   # exports FMQ_NAMESRV=127.0.0.1:<port>
#   stop_servers
# With FMQ_SECURE=1, both servers serve TLS only (tls.server.mode=enforcing, a certificate for
# 127.0.0.1 from a CA made here with the openssl CLI) and the broker checks ACL 1.0 (one admin
# account); start_servers then also exports FMQ_TLS_CA (the CA's PEM file), FMQ_ACCESS_KEY and
# FMQ_SECRET_KEY, which the test programs pick up (tests/common.h).

_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A free port p with p-2 and p+1 free too (the broker's VIP and HA ports).
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 40000))
        if _port_free "$p" && _port_free $((p - 2)) && _port_free $((p + 1)); then
            echo "$p"
            return 0
        fi
    done
    echo "no free port" >&2
    return 1
}

_SERVER_PIDS=()

# _secure_files DATA_DIR: the CA, the servers' certificate and the ACL file.
_secure_files() {
    local data="$1"
    command -v openssl >/dev/null || { echo "FMQ_SECURE=1 needs the openssl CLI" >&2; return 1; }
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=ferromq-test-ca -keyout "$data/ca.key" -out "$data/ca.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
        -keyout "$data/server.key" -out "$data/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$data/server.ext"
    openssl x509 -req -in "$data/server.csr" -CA "$data/ca.pem" -CAkey "$data/ca.key" \
        -CAcreateserial -days 2 -extfile "$data/server.ext" -out "$data/server.pem" 2>/dev/null
    cat >"$data/plain_acl.yml" <<ACL
accounts:
  - accessKey: ferromq-c-test
    secretKey: ferromq-c-secret-0042
    admin: true
ACL
}

# The tls.* keys of an enforcing server (and of the broker's own connections).
_secure_keys() {
    local data="$1"
    cat <<CONF
tls.server.mode=enforcing
tls.server.certPath=$data/server.pem
tls.server.keyPath=$data/server.key
tls.config.file=$data/no-tls.properties
CONF
}

# wait_boot LOG PID: waits for "boot success" in LOG.
_wait_boot() {
    local log="$1" pid="$2"
    for _ in $(seq 600); do
        grep -q "boot success" "$log" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || { echo "server exited:" >&2; tail -n 50 "$log" "$log.err" >&2; return 1; }
        sleep 0.1
    done
    echo "server did not boot in 60 s" >&2
    tail -n 50 "$log" "$log.err" >&2
    return 1
}

# The server processes are started up to three times: a port can be taken between the check
# and the bind.
start_servers() {
    local bin="$1" data="$2"
    mkdir -p "$data"
    local ns_port broker_port attempt secure=""
    if [ "${FMQ_SECURE:-}" = 1 ]; then
        _secure_files "$data" || return 1
        secure="$(_secure_keys "$data")"
    fi
    for attempt in 1 2 3; do
        ns_port=$(free_port)
        cat >"$data/namesrv.properties" <<CONF
listenPort=$ns_port
kvConfigPath=$data/kvConfig.json
configStorePath=$data/namesrv-store.properties
$secure
CONF
        RUST_LOG="${RUST_LOG:-warn}" "$bin/mqnamesrv" -c "$data/namesrv.properties" \
            >"$data/namesrv.log" 2>"$data/namesrv.log.err" &
        _SERVER_PIDS+=($!)
        _wait_boot "$data/namesrv.log" $! && break
        [ "$attempt" = 3 ] && return 1
        echo "the name server did not start; trying other ports" >&2
    done
    for attempt in 1 2 3; do
        broker_port=$(free_port)
        # Delay level 2 is 5 s (the delayed scenario); the others 1 s so retries come back fast.
        cat >"$data/broker.properties" <<CONF
brokerClusterName=DefaultCluster
brokerName=c-broker-a
brokerId=0
listenPort=$broker_port
namesrvAddr=127.0.0.1:$ns_port
brokerIP1=127.0.0.1
brokerIP2=127.0.0.1
storePathRootDir=$data/store
mappedFileSizeCommitLog=16777216
maxHashSlotNum=50000
maxIndexNum=200000
enablePropertyFilter=true
messageDelayLevel=1s 5s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s
transactionCheckInterval=1000
transactionTimeOut=1000
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
CONF
        if [ -n "$secure" ]; then
            cat >>"$data/broker.properties" <<CONF
$secure
tls.enable=true
tls.client.trustCertPath=$data/ca.pem
aclEnable=true
aclFilePath=$data/plain_acl.yml
CONF
        fi
        RUST_LOG="${RUST_LOG:-warn}" "$bin/mqbroker" -c "$data/broker.properties" \
            >"$data/broker.log" 2>"$data/broker.log.err" &
        _SERVER_PIDS+=($!)
        _wait_boot "$data/broker.log" $! && break
        [ "$attempt" = 3 ] && return 1
        echo "the broker did not start; trying other ports" >&2
        rm -rf "$data/store"
    done
    export FMQ_NAMESRV="127.0.0.1:$ns_port"
    if [ -n "$secure" ]; then
        export FMQ_TLS_CA="$data/ca.pem" FMQ_ACCESS_KEY=ferromq-c-test FMQ_SECRET_KEY=ferromq-c-secret-0042
    fi
}

stop_servers() {
    local i
    for ((i = ${#_SERVER_PIDS[@]} - 1; i >= 0; i--)); do
        kill "${_SERVER_PIDS[$i]}" 2>/dev/null || true
        wait "${_SERVER_PIDS[$i]}" 2>/dev/null || true
    done
    _SERVER_PIDS=()

# _secure_files DATA_DIR: the CA, the servers' certificate and the ACL file.
_secure_files() {
    local data="$1"
    command -v openssl >/dev/null || { echo "FMQ_SECURE=1 needs the openssl CLI" >&2; return 1; }
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=ferromq-test-ca -keyout "$data/ca.key" -out "$data/ca.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
        -keyout "$data/server.key" -out "$data/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$data/server.ext"
    openssl x509 -req -in "$data/server.csr" -CA "$data/ca.pem" -CAkey "$data/ca.key" \
        -CAcreateserial -days 2 -extfile "$data/server.ext" -out "$data/server.pem" 2>/dev/null
    cat >"$data/plain_acl.yml" <<ACL
accounts:
  - accessKey: ferromq-c-test
    secretKey: ferromq-c-secret-0042
    admin: true
ACL
}

# The tls.* keys of an enforcing server (and of the broker's own connections).
_secure_keys() {
    local data="$1"
    cat <<CONF
tls.server.mode=enforcing
tls.server.certPath=$data/server.pem
tls.server.keyPath=$data/server.key
tls.config.file=$data/no-tls.properties
CONF
}
}
