#!/usr/bin/env bash
# The main job on a fresh machine: build FerroMQ and run a local name server on port 9876 with
# its data in .data/namesrv. Stop it with Ctrl-C.
#   FERROMQ_NAMESRV_PORT=9877 scripts/dev.sh   # another port
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

cargo build --release --locked -p ferromq-namesrv
data="$PWD/.data/namesrv"
mkdir -p "$data"
{
  cat conf/namesrv.properties
  echo "listenPort=${FERROMQ_NAMESRV_PORT:-9876}"
  echo "kvConfigPath=$data/kvConfig.json"
  echo "configStorePath=$data/namesrv.properties"
} > "$data/namesrv.properties"
echo "Starting mqnamesrv with $data/namesrv.properties (Ctrl-C to stop)"
exec target/release/mqnamesrv -c "$data/namesrv.properties"
