#!/usr/bin/env bash
# The main job on a fresh machine: build FerroMQ and run a local name server (port 9876) and
# broker (port 10911) with their data in .data/. Ctrl-C stops both cleanly.
#   FERROMQ_NAMESRV_PORT / FERROMQ_BROKER_PORT choose other ports. Browser clients reach the name
#   server on ws://127.0.0.1:9877/ and the broker on ws://127.0.0.1:10913/
#   (FERROMQ_NAMESRV_WS_PORT / FERROMQ_BROKER_WS_PORT; webSocketListenPort in the configs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

cargo build --release --locked -p ferromq-namesrv -p ferromq-broker
data="$PWD/.data"
ns_port="${FERROMQ_NAMESRV_PORT:-9876}"
broker_port="${FERROMQ_BROKER_PORT:-10911}"
ns_ws_port="${FERROMQ_NAMESRV_WS_PORT:-9877}"
broker_ws_port="${FERROMQ_BROKER_WS_PORT:-10913}"
mkdir -p "$data/namesrv" "$data/broker"
{
  cat conf/namesrv.properties
  echo "listenPort=$ns_port"
  echo "webSocketListenPort=$ns_ws_port"
  echo "kvConfigPath=$data/namesrv/kvConfig.json"
  echo "configStorePath=$data/namesrv/namesrv.properties"
} > "$data/namesrv/namesrv.properties"
{
  cat conf/broker.conf
  echo "listenPort=$broker_port"
  echo "webSocketListenPort=$broker_ws_port"
  echo "namesrvAddr=127.0.0.1:$ns_port"
  echo "storePathRootDir=$data/broker/store"
} > "$data/broker/broker.properties"

target/release/mqnamesrv -c "$data/namesrv/namesrv.properties" &
ns_pid=$!
trap 'kill -TERM "$ns_pid" 2>/dev/null; wait "$ns_pid" 2>/dev/null' EXIT
echo "mqnamesrv on 127.0.0.1:$ns_port; starting mqbroker on 127.0.0.1:$broker_port (Ctrl-C stops both)"
target/release/mqbroker -c "$data/broker/broker.properties"
