#!/usr/bin/env bash
# mqdashboard in headless Chromium: builds the servers, mqdashboard and mqbench (debug), installs
# playwright-core (npm) and runs ui.test.js against a real name server and broker. Chromium is
# the Debian package scripts/setup-wasm.sh installs (FERROMQ_CHROMIUM overrides its path);
# without it the test is skipped, except on CI (FERROMQ_COMPAT_REQUIRED=1) where it fails.
# Screenshots of every page are kept in the temporary directory the test prints.
#
#   bash dashboard/ui-test/ci.sh
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export FERROMQ_BIN_DIR="${FERROMQ_BIN_DIR:-$CARGO_TARGET_DIR/debug}"

command -v node >/dev/null || { echo "ci.sh: node not found" >&2; exit 1; }
chromium="${FERROMQ_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  if [ "${FERROMQ_COMPAT_REQUIRED:-}" = "1" ]; then
    echo "ci.sh: $chromium not found (scripts/setup-wasm.sh installs it); required on CI" >&2
    exit 1
  fi
  echo "ci.sh: warning: $chromium not found; the dashboard browser test is SKIPPED" >&2
  exit 0
fi

echo "== dashboard ui: build (debug)"
(cd "$root" && cargo build --quiet --locked -p ferromq-namesrv -p ferromq-broker -p ferromq-dashboard -p ferromq-tools)
echo "== dashboard ui: npm install"
npm install --no-audit --no-fund --loglevel=error
echo "== dashboard ui: headless Chromium"
node --test --test-concurrency=1 ui.test.js
