# shellcheck shell=bash
# Starts the real mqnamesrv and mqbroker on free loopback ports with their data in a temp
# directory, through scripts/local-cluster.sh (the launcher the C tarball ships as
# bin/ferromq-local-cluster). Source it, then:
#   start_servers BIN_DIR DATA_DIR   # exports FMQ_NAMESRV=127.0.0.1:<port>
#   stop_servers
# With FMQ_SECURE=1, both servers serve TLS only (tls.server.mode=enforcing, a certificate for
# 127.0.0.1 from a CA made here with the openssl CLI) and the broker checks ACL 1.0 (one admin
# account); start_servers then also exports FMQ_TLS_CA (the CA's PEM file), FMQ_ACCESS_KEY and
# FMQ_SECRET_KEY, which the test programs pick up (tests/common.h).

_LOCAL_CLUSTER="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/scripts/local-cluster.sh"
_CLUSTER_DIR=""

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

start_servers() {
    local bin="$1" data="$2" line args=()
    mkdir -p "$data"
    # The broker the scenarios expect: its name, and delay level 2 of 5 s (the delayed
    # scenario) with the others 1 s so retries come back fast.
    args=(--bin-dir "$bin" --dir "$data/cluster"
        --broker-config brokerName=c-broker-a
        --broker-config "messageDelayLevel=1s 5s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s"
        --broker-config enablePropertyFilter=true
        --broker-config transactionCheckInterval=1000
        --broker-config transactionTimeOut=1000
        --broker-config autoCreateTopicEnable=true
        --broker-config autoCreateSubscriptionGroup=true
        --broker-config mappedFileSizeCommitLog=16777216)
    if [ "${FMQ_SECURE:-}" = 1 ]; then
        _secure_files "$data" || return 1
        while IFS= read -r line; do
            args+=(--namesrv-config "$line" --broker-config "$line")
        done < <(_secure_keys "$data")
        args+=(--broker-config tls.enable=true --broker-config "tls.client.trustCertPath=$data/ca.pem"
            --broker-config aclEnable=true --broker-config "aclFilePath=$data/plain_acl.yml")
    fi
    local out
    out="$(bash "$_LOCAL_CLUSTER" start "${args[@]}")" || return 1
    _CLUSTER_DIR="$(sed -n 's/^FERROMQ_CLUSTER_DIR=//p' <<<"$out")"
    FMQ_NAMESRV="$(sed -n 's/^FERROMQ_NAMESRV=//p' <<<"$out")"
    export FMQ_NAMESRV
    if [ "${FMQ_SECURE:-}" = 1 ]; then
        export FMQ_TLS_CA="$data/ca.pem" FMQ_ACCESS_KEY=ferromq-c-test FMQ_SECRET_KEY=ferromq-c-secret-0042
    fi
}

stop_servers() {
    if [ -n "$_CLUSTER_DIR" ]; then
        bash "$_LOCAL_CLUSTER" stop "$_CLUSTER_DIR"
        _CLUSTER_DIR=""
    fi
}
