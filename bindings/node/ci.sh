#!/usr/bin/env bash
# The Node binding's CI, runnable on a fresh machine: installs the npm dev dependencies, builds
# the addon (debug) and the servers in the repository's target directory, checks that the
# committed index.d.ts / index.js match a fresh build, and runs `node --test` against real
# FerroMQ servers.
#
#   bash bindings/node/ci.sh
set -euo pipefail
cd "$(dirname "$0")"
NODE_DIR=$(pwd)
REPO=$(cd ../.. && pwd)
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

step() { printf '\n== node: %s\n' "$*"; }

command -v node >/dev/null || { echo "ci.sh: node not found (Node.js 18+ is needed)" >&2; exit 1; }

step "npm install"
# `npm ci` can fail on registry mirrors that lack optional platform packages; `npm install`
# with the committed lockfile works.
npm install --no-audit --no-fund --loglevel=error

step "build the servers (debug)"
(cd "$REPO" && cargo build --locked -p ferromq-namesrv -p ferromq-broker)

step "build the addon (debug)"
# The napi CLI always passes --target; with CARGO_BUILD_TARGET set to the host triple every
# build of the addon shares target/<triple>/ instead of rebuilding from scratch.
HOST=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_BUILD_TARGET="$HOST"
rm -rf .dts-check
npx napi build --platform --no-const-enum --runtime-string-enum --output-dir .dts-check -- --locked
cp .dts-check/*.node .

step "node --test"
export FERROMQ_FRESH_DTS_DIR="$NODE_DIR/.dts-check"
export FERROMQ_BIN_DIR="${FERROMQ_BIN_DIR:-${CARGO_TARGET_DIR:-$REPO/target}/debug}"
node --test --test-concurrency=1 test/*.test.js
