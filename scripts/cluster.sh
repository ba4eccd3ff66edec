#!/usr/bin/env bash
# Runs one of the classic RocketMQ layouts on this machine, from conf/<layout>/:
#   scripts/cluster.sh 2m-noslave|2m-2s-async|2m-2s-sync [start|stop|status]
# start: builds the servers (release), starts two name servers (127.0.0.1:9876 and :9886) and
# every broker of the layout, with data and logs under .data/<layout>/, waits until both name
# servers list every broker, and prints the cluster as `mqadmin clusterList` does. Each broker
# serves Prometheus metrics on 127.0.0.1:5557, 5558, ... in start order; the name servers on
# 127.0.0.1:5571 and 5572.
# stop: stops the brokers (slaves first), then the name servers. status: prints the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
layout="${1:-}"
action="${2:-start}"
case "$layout" in
  2m-noslave|2m-2s-async|2m-2s-sync) ;;
  *) echo "usage: scripts/cluster.sh 2m-noslave|2m-2s-async|2m-2s-sync [start|stop|status]" >&2; exit 2 ;;
esac
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
data="$PWD/.data/$layout"
bin="$PWD/target/release"
namesrvs="127.0.0.1:9876;127.0.0.1:9886"

# The brokers of the layout, masters first.
brokers() {
  local f
  for f in conf/"$layout"/*.properties; do
    case "$f" in *-s.properties) ;; *) basename "$f" .properties ;; esac
  done
  for f in conf/"$layout"/*-s.properties; do
    [ -e "$f" ] && basename "$f" .properties
  done
  return 0
}

running() { # name
  [ -f "$data/$1.pid" ] && kill -0 "$(cat "$data/$1.pid")" 2>/dev/null
}

wait_port() { # port name
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    running "$2" || { echo "$2 exited; see $data/$2.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "$2 did not open port $1 within 30 s; see $data/$2.log" >&2
  exit 1
}

start_one() { # name command...
  local name="$1"; shift
  if running "$name"; then
    echo "$name already running (pid $(cat "$data/$name.pid"))"
    return
  fi
  nohup "$@" >"$data/$name.log" 2>&1 &
  echo $! >"$data/$name.pid"
}

stop_one() { # name
  running "$1" || { rm -f "$data/$1.pid"; return 0; }
  local pid; pid="$(cat "$data/$1.pid")"
  kill -TERM "$pid"
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { echo "$1 did not stop in 30 s; killing it" >&2; kill -KILL "$pid"; }
  rm -f "$data/$1.pid"
  echo "stopped $1"
}

status() {
  "$bin/mqadmin" clusterList -n "$namesrvs"
}

case "$action" in
  start)
    cargo build --release --locked -p ferromq-namesrv -p ferromq-broker -p ferromq-tools
    mkdir -p "$data"
    for i in 1 2; do
      port=$((9876 + (i - 1) * 10))
      mkdir -p "$data/namesrv-$i"
      {
        cat conf/namesrv.properties
        echo "listenPort=$port"
        echo "webSocketListenPort=0"
        echo "kvConfigPath=$data/namesrv-$i/kvConfig.json"
        echo "configStorePath=$data/namesrv-$i/namesrv.properties"
        echo "metricsExporterType=PROM"
        echo "metricsPromExporterHost=127.0.0.1"
        echo "metricsPromExporterPort=$((5570 + i))"
      } >"$data/namesrv-$i/namesrv.properties"
      start_one "namesrv-$i" "$bin/mqnamesrv" -c "$data/namesrv-$i/namesrv.properties"
      wait_port "$port" "namesrv-$i"
    done
    metrics_port=5557
    for b in $(brokers); do
      mkdir -p "$data/$b"
      {
        cat "conf/$layout/$b.properties"
        echo "storePathRootDir=$data/$b/store"
        # Prometheus metrics, one port per broker from 5557.
        echo "metricsExporterType=PROM"
        echo "metricsPromExporterHost=127.0.0.1"
        echo "metricsPromExporterPort=$metrics_port"
      } >"$data/$b/broker.properties"
      echo "$b metrics: http://127.0.0.1:$metrics_port/metrics"
      metrics_port=$((metrics_port + 1))
      start_one "$b" "$bin/mqbroker" -c "$data/$b/broker.properties"
      wait_port "$(sed -n 's/^listenPort=//p' "conf/$layout/$b.properties")" "$b"
    done
    # Every broker listed by both name servers.
    want=$(brokers | wc -l)
    for _ in $(seq 1 300); do
      seen=$("$bin/mqadmin" clusterList -n "127.0.0.1:9876" 2>/dev/null | grep -c '^DefaultCluster' || true)
      seen2=$("$bin/mqadmin" clusterList -n "127.0.0.1:9886" 2>/dev/null | grep -c '^DefaultCluster' || true)
      [ "$seen" -ge "$want" ] && [ "$seen2" -ge "$want" ] && break
      sleep 0.1
    done
    status
    echo "data and logs in $data; stop with: scripts/cluster.sh $layout stop"
    ;;
  stop)
    for b in $(brokers | tac); do stop_one "$b"; done
    for i in 2 1; do stop_one "namesrv-$i"; done
    ;;
  status)
    status
    ;;
  *)
    echo "unknown action $action (start, stop or status)" >&2
    exit 2
    ;;
esac
