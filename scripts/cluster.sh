#!/usr/bin/env bash
# Runs one of the classic RocketMQ layouts on this machine, from conf/<layout>/:
#   scripts/cluster.sh 2m-noslave|2m-2s-async|2m-2s-sync|controller [start|stop|status]
# start: builds the servers (release), starts two name servers (127.0.0.1:9876 and :9886) and
# every broker of the layout, with data and logs under .data/<layout>/, waits until both name
# servers list every broker, and prints the cluster as `mqadmin clusterList` does. Each broker
# serves Prometheus metrics on 127.0.0.1:5557, 5558, ... in start order; the name servers on
# 127.0.0.1:5571 and 5572.
# stop: stops the brokers (slaves first), then the name servers. status: prints the cluster.
# controller (docs/controller.md): one name server (127.0.0.1:9876), the three controllers of
# conf/controller/ (127.0.0.1:9878, :9868, :9858), then the six brokers (broker-a and broker-b,
# three replicas each) in controller mode; start waits until both broker sets have a master and
# prints the cluster and the sync state sets (`mqadmin getSyncStateSet`), as status does.
set -euo pipefail
cd "$(dirname "$0")/.."
layout="${1:-}"
action="${2:-start}"
case "$layout" in
  2m-noslave|2m-2s-async|2m-2s-sync|controller) ;;
  *) echo "usage: scripts/cluster.sh 2m-noslave|2m-2s-async|2m-2s-sync|controller [start|stop|status]" >&2; exit 2 ;;
esac
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
data="$PWD/.data/$layout"
# CLUSTER_PROFILE=dev runs a debug build instead (quicker to build, for a try-out).
profile="${CLUSTER_PROFILE:-release}"
case "$profile" in
  release) build_flags=(--release); bin="${CARGO_TARGET_DIR:-$PWD/target}/release" ;;
  dev) build_flags=(); bin="${CARGO_TARGET_DIR:-$PWD/target}/debug" ;;
  *) echo "CLUSTER_PROFILE must be release or dev, not $profile" >&2; exit 2 ;;
esac
namesrvs="127.0.0.1:9876;127.0.0.1:9886"
namesrv_count=2
controllers=""
if [ "$layout" = controller ]; then
  # The example brokers register with one name server.
  namesrvs="127.0.0.1:9876"
  namesrv_count=1
  controllers="127.0.0.1:9878;127.0.0.1:9868;127.0.0.1:9858"
fi

# The brokers of the layout, masters first.
brokers() {
  local f
  for f in conf/"$layout"/*.properties; do
    case "$f" in *-s.properties|*/controller-*.properties) ;; *) basename "$f" .properties ;; esac
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

# The controllers of the layout (none but in `controller`).
controller_names() {
  local f
  for f in conf/"$layout"/controller-*.properties; do
    [ -e "$f" ] && basename "$f" .properties
  done
  return 0
}

status() {
  "$bin/mqadmin" clusterList -n "$namesrvs"
  if [ -n "$controllers" ]; then
    "$bin/mqadmin" getSyncStateSet -a "$controllers" -c DefaultCluster -n "$namesrvs"
  fi
}

# Lines `#MasterBrokerId<TAB><id>` of the sync state sets: one per broker set with a master.
masters() {
  "$bin/mqadmin" getSyncStateSet -a "$controllers" -c DefaultCluster -n "$namesrvs" 2>/dev/null \
    | grep -cE '^#MasterBrokerId'$'\t''[0-9]+$' || true
}

case "$action" in
  start)
    packages=(-p ferromq-namesrv -p ferromq-broker -p ferromq-tools)
    [ -n "$controllers" ] && packages+=(-p ferromq-controller)
    cargo build "${build_flags[@]}" --locked "${packages[@]}"
    mkdir -p "$data"
    for i in $(seq 1 "$namesrv_count"); do
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
    for c in $(controller_names); do
      mkdir -p "$data/$c"
      {
        cat "conf/$layout/$c.properties"
        echo "controllerStorePath=$data/$c/store"
      } >"$data/$c/controller.properties"
      start_one "$c" "$bin/mqcontroller" -c "$data/$c/controller.properties"
    done
    for c in $(controller_names); do
      port=$(sed -n "s/^controllerDLegerSelfId=//p" "conf/$layout/$c.properties")
      port=$(sed -n "s/^controllerDLegerPeers=.*$port-127\.0\.0\.1:\([0-9]*\).*/\1/p" "conf/$layout/$c.properties")
      wait_port "$port" "$c"
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
      seen2="$want"
      [ "$namesrv_count" -ge 2 ] && seen2=$("$bin/mqadmin" clusterList -n "127.0.0.1:9886" 2>/dev/null | grep -c '^DefaultCluster' || true)
      [ "$seen" -ge "$want" ] && [ "$seen2" -ge "$want" ] && break
      sleep 0.1
    done
    if [ -n "$controllers" ]; then
      # Both broker sets have a master (the first replica to ask is elected).
      for _ in $(seq 1 600); do
        [ "$(masters)" -ge 2 ] && break
        sleep 0.1
      done
      [ "$(masters)" -ge 2 ] || { echo "the broker sets have no masters after 60 s; see $data/*.log" >&2; status; exit 1; }
    fi
    status
    echo "data and logs in $data; stop with: scripts/cluster.sh $layout stop"
    ;;
  stop)
    for b in $(brokers | tac); do stop_one "$b"; done
    for c in $(controller_names | tac); do stop_one "$c"; done
    for i in $(seq "$namesrv_count" -1 1); do stop_one "namesrv-$i"; done
    ;;
  status)
    status
    ;;
  *)
    echo "unknown action $action (start, stop or status)" >&2
    exit 2
    ;;
esac
