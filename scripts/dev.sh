#!/usr/bin/env bash
# The main job on a fresh machine: build FerroMQ, run a local name server (port 9876) and broker
# (port 10911) with their data in .data/, and run the Rust client's demo against them (sends of
# every kind, a consumer printing what it receives). The servers keep running after the demo;
# Ctrl-C stops both cleanly. FERROMQ_DEMO=0 skips the demo; FERROMQ_STOP_AFTER_DEMO=1 stops the
# servers after it (exit status: the demo's).
#   FERROMQ_NAMESRV_PORT / FERROMQ_BROKER_PORT choose other ports. Browser clients reach the name
#   server on ws://127.0.0.1:9877/ and the broker on ws://127.0.0.1:10913/
#   (FERROMQ_NAMESRV_WS_PORT / FERROMQ_BROKER_WS_PORT; webSocketListenPort in the configs).
#   The broker's Prometheus metrics are on http://127.0.0.1:5557/metrics (FERROMQ_METRICS_PORT),
#   the name server's on http://127.0.0.1:5558/metrics (FERROMQ_NAMESRV_METRICS_PORT).
#   The web console (mqdashboard) is on http://127.0.0.1:8082/ (FERROMQ_DASHBOARD_PORT; 0: none).
#   The RocketMQ 5.x gRPC SDKs reach the broker on 127.0.0.1:8081 (FERROMQ_GRPC_PORT; 0: off;
#   grpcServerPort in the broker config, docs/grpc.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

cargo build --release --locked -p ferromq-namesrv -p ferromq-broker -p ferromq-examples -p ferromq-dashboard
data="$PWD/.data"
ns_port="${FERROMQ_NAMESRV_PORT:-9876}"
broker_port="${FERROMQ_BROKER_PORT:-10911}"
ns_ws_port="${FERROMQ_NAMESRV_WS_PORT:-9877}"
broker_ws_port="${FERROMQ_BROKER_WS_PORT:-10913}"
metrics_port="${FERROMQ_METRICS_PORT:-5557}"
ns_metrics_port="${FERROMQ_NAMESRV_METRICS_PORT:-5558}"
dashboard_port="${FERROMQ_DASHBOARD_PORT:-8082}"
grpc_port="${FERROMQ_GRPC_PORT:-8081}"
mkdir -p "$data/namesrv" "$data/broker"
{
  cat conf/namesrv.properties
  echo "listenPort=$ns_port"
  echo "webSocketListenPort=$ns_ws_port"
  echo "kvConfigPath=$data/namesrv/kvConfig.json"
  echo "configStorePath=$data/namesrv/namesrv.properties"
  echo "metricsExporterType=PROM"
  echo "metricsPromExporterHost=127.0.0.1"
  echo "metricsPromExporterPort=$ns_metrics_port"
} > "$data/namesrv/namesrv.properties"
{
  cat conf/broker.conf
  echo "listenPort=$broker_port"
  echo "webSocketListenPort=$broker_ws_port"
  echo "grpcServerPort=$grpc_port"
  echo "namesrvAddr=127.0.0.1:$ns_port"
  echo "storePathRootDir=$data/broker/store"
  echo "metricsExporterType=PROM"
  echo "metricsPromExporterHost=127.0.0.1"
  echo "metricsPromExporterPort=$metrics_port"
} > "$data/broker/broker.properties"

wait_port() { # port pid name
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "$3 exited; see the output above" >&2; exit 1; }
    sleep 0.1
  done
  echo "$3 did not open port $1 within 30 s" >&2
  exit 1
}

target/release/mqnamesrv -c "$data/namesrv/namesrv.properties" &
ns_pid=$!
broker_pid=
dashboard_pid=
stop() {
  [ -n "$dashboard_pid" ] && kill -INT "$dashboard_pid" 2>/dev/null && wait "$dashboard_pid" 2>/dev/null
  [ -n "$broker_pid" ] && kill -TERM "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
  kill -TERM "$ns_pid" 2>/dev/null
  wait "$ns_pid" 2>/dev/null
}
trap stop EXIT
trap 'exit 0' INT TERM
wait_port "$ns_port" "$ns_pid" mqnamesrv
target/release/mqbroker -c "$data/broker/broker.properties" &
broker_pid=$!
wait_port "$broker_port" "$broker_pid" mqbroker
echo "mqnamesrv on 127.0.0.1:$ns_port, mqbroker on 127.0.0.1:$broker_port (data in $data)"
echo "metrics: http://127.0.0.1:$metrics_port/metrics (broker), http://127.0.0.1:$ns_metrics_port/metrics (name server)"
if [ "$dashboard_port" != 0 ]; then
  target/release/mqdashboard -n "127.0.0.1:$ns_port" -p "$dashboard_port" &
  dashboard_pid=$!
  wait_port "$dashboard_port" "$dashboard_pid" mqdashboard
  echo "console: http://127.0.0.1:$dashboard_port/"
fi
demo_status=0
if [ "${FERROMQ_DEMO:-1}" != 0 ]; then
  target/release/demo "127.0.0.1:$ns_port" || demo_status=$?
fi
if [ "${FERROMQ_STOP_AFTER_DEMO:-0}" = 1 ]; then
  exit "$demo_status"
fi
echo "servers running; Ctrl-C stops both cleanly"
wait "$broker_pid"
