#!/usr/bin/env bash
# Starts or stops a local Apache RocketMQ 5.3.3 name server + broker from the Maven Central jars
# (tests/compat/apache), to run FerroMQ's client, mqbench or the official clients against the
# real thing.
#
#   tests/compat/apache-cluster.sh start [DIR]   # prints NAMESRV=127.0.0.1:<port> when both are up
#   tests/compat/apache-cluster.sh stop  [DIR]
#
# DIR holds the config, store, logs and pid files (default tests/compat/.cache/apache-cluster).
# Environment: NAMESRV_PORT (19876), BROKER_PORT (19911; the broker also uses BROKER_PORT - 2 and
# + 1), HEAP (1g), and FLUSH (ASYNC_FLUSH or SYNC_FLUSH). The broker runs with
# enablePropertyFilter=true and autoCreateTopicEnable=true. Needs java (17) and mvn on PATH; the
# first start fetches the jars (about 30 s).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cmd="${1:-}"
dir="${2:-$here/.cache/apache-cluster}"
namesrv_port="${NAMESRV_PORT:-19876}"
broker_port="${BROKER_PORT:-19911}"
heap="${HEAP:-1g}"
flush="${FLUSH:-ASYNC_FLUSH}"

usage() {
    sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 2
}

wait_port() { # name port pidfile
    local deadline=$((SECONDS + 90))
    until (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; do
        if ! kill -0 "$(cat "$3")" 2>/dev/null; then
            echo "apache-cluster: $1 exited; see $dir/$1.out" >&2
            tail -n 30 "$dir/$1.out" >&2 || true
            exit 1
        fi
        if ((SECONDS > deadline)); then
            echo "apache-cluster: $1 did not open port $2 within 90 s; see $dir/$1.out" >&2
            exit 1
        fi
        sleep 0.2
    done
}

stop_one() { # name
    local pidfile="$dir/$1.pid"
    if [[ -f "$pidfile" ]]; then
        local pid
        pid="$(cat "$pidfile")"
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid"
            for _ in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
    fi
}

case "$cmd" in
start)
    command -v java >/dev/null || { echo "apache-cluster: java not found on PATH" >&2; exit 1; }
    command -v mvn >/dev/null || { echo "apache-cluster: mvn not found on PATH" >&2; exit 1; }
    deps="$here/apache/target/dependency"
    if ! ls "$deps"/rocketmq-broker-*.jar >/dev/null 2>&1; then
        echo "apache-cluster: fetching the Apache RocketMQ jars (Maven)..." >&2
        mvn -q -B -f "$here/pom.xml" compile dependency:copy-dependencies -DincludeScope=runtime >&2
    fi
    mkdir -p "$dir/home" "$dir/store"
    stop_one broker
    stop_one namesrv
    cat >"$dir/namesrv.properties" <<EOF
listenPort=$namesrv_port
EOF
    cat >"$dir/broker.properties" <<EOF
brokerClusterName=DefaultCluster
brokerName=apache-broker-a
brokerId=0
brokerIP1=127.0.0.1
listenPort=$broker_port
namesrvAddr=127.0.0.1:$namesrv_port
storePathRootDir=$dir/store
storePathCommitLog=$dir/store/commitlog
flushDiskType=$flush
autoCreateTopicEnable=true
enablePropertyFilter=true
EOF
    start_jvm() { # name main conf
        ROCKETMQ_HOME="$dir/home" nohup java "-Xms$heap" "-Xmx$heap" -XX:+UseG1GC \
            "-Duser.home=$dir/home" -cp "$deps/*" "$2" -c "$3" >"$dir/$1.out" 2>&1 &
        echo $! >"$dir/$1.pid"
    }
    start_jvm namesrv org.apache.rocketmq.namesrv.NamesrvStartup "$dir/namesrv.properties"
    wait_port namesrv "$namesrv_port" "$dir/namesrv.pid"
    start_jvm broker org.apache.rocketmq.broker.BrokerStartup "$dir/broker.properties"
    wait_port broker "$broker_port" "$dir/broker.pid"
    echo "apache-cluster: name server 127.0.0.1:$namesrv_port, broker 127.0.0.1:$broker_port, data in $dir" >&2
    echo "NAMESRV=127.0.0.1:$namesrv_port"
    ;;
stop)
    stop_one broker
    stop_one namesrv
    echo "apache-cluster: stopped" >&2
    ;;
*)
    usage
    ;;
esac
