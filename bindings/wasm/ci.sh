#!/usr/bin/env bash
# The WebAssembly package's CI, runnable on a fresh machine once scripts/setup.sh has run:
# installs its tools (scripts/setup-wasm.sh: wasm-bindgen-cli, Chromium) and the npm dev
# dependencies, checks the crate (rustfmt, clippy and rustdoc for wasm32), builds the servers,
# the C library and the Node addon (debug; its LocalCluster starts the servers) and the package
# (build.sh, release + wasm-opt), and runs `node --test`: the scenarios in Node against real
# FerroMQ servers, the core's contract and the package's surface (test/contract.test.js), the
# parity suite (test/parity.test.js, compared with tests/parity/expected.txt), the transport
# against a scripted peer, the offline helpers, the .d.ts check, and headless Chromium with the
# example page and the C -> browser and browser -> Java interop; then the scenarios again and
# test/security.test.js against servers with TLS enforcing (wss://) and ACL 1.0 on. Run it after
# `cargo test` (which builds the Java compat programs).
#
#   bash bindings/wasm/ci.sh
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
root=$(cd ../.. && pwd)
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
# One target directory for the whole repository (this crate is its own workspace).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

step() { printf '\n== wasm: %s\n' "$*"; }

command -v node >/dev/null || { echo "ci.sh: node not found (Node.js 20.19+ is needed)" >&2; exit 1; }

step "tools (wasm-bindgen-cli, Chromium)"
bash "$root/scripts/setup-wasm.sh"
chromium="${FERROMQ_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  if [ "${FERROMQ_COMPAT_REQUIRED:-}" = "1" ]; then
    echo "ci.sh: $chromium not found (scripts/setup-wasm.sh installs it); required on CI" >&2
    exit 1
  fi
  echo "ci.sh: warning: $chromium not found; the browser tests will say SKIPPED" >&2
fi

step "npm install"
# `npm ci` can fail on registry mirrors that lack optional platform packages; `npm install`
# with the committed lockfile works.
npm install --no-audit --no-fund --loglevel=error

step "rustfmt, clippy and rustdoc (wasm32; the crate is outside the root workspace)"
cargo fmt --check
cargo clippy --locked --target wasm32-unknown-unknown -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --target wasm32-unknown-unknown

step "build the servers, the C library and the Node addon (debug)"
(cd "$root" && cargo build --locked -p ferromq-namesrv -p ferromq-broker -p ferromq-c -p ferromq-node)
# test/cluster.js starts the servers with the Node package's LocalCluster (bindings/node/testing.js);
# its loader takes the addon from NAPI_RS_NATIVE_LIBRARY_PATH (Node loads addons by the .node name).
cp "$CARGO_TARGET_DIR/debug/libferromq_node.so" "$CARGO_TARGET_DIR/debug/ferromq-node-addon.node"
export NAPI_RS_NATIVE_LIBRARY_PATH="$CARGO_TARGET_DIR/debug/ferromq-node-addon.node"

step "build the package"
bash build.sh

step "node --test"
export FERROMQ_BIN_DIR="$CARGO_TARGET_DIR/debug"
node --test --test-concurrency=1 test/*.test.js

step "node --test with TLS enforcing and ACL 1.0 (wss://, credentials)"
# The servers' CA and certificate for 127.0.0.1, made here; Node trusts the CA the documented
# way (NODE_EXTRA_CA_CERTS, read at start-up). test/cluster.js turns both servers to
# tls.server.mode=enforcing and the broker's ACL on; the scenarios run again with credentials
# over wss://, and test/security.test.js checks the refusals.
command -v openssl >/dev/null || { echo "ci.sh: openssl not found (the TLS run needs it)" >&2; exit 1; }
tls_dir="$(mktemp -d "${TMPDIR:-/tmp}/ferromq-wasm-tls.XXXXXX")"
trap 'rm -rf "$tls_dir"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=ferromq-test-ca -keyout "$tls_dir/ca.key" -out "$tls_dir/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -keyout "$tls_dir/server.key" -out "$tls_dir/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tls_dir/server.ext"
openssl x509 -req -in "$tls_dir/server.csr" -CA "$tls_dir/ca.pem" -CAkey "$tls_dir/ca.key" \
  -CAcreateserial -days 2 -extfile "$tls_dir/server.ext" -out "$tls_dir/server.pem" 2>/dev/null
FERROMQ_WASM_TLS_DIR="$tls_dir" NODE_EXTRA_CA_CERTS="$tls_dir/ca.pem" \
  node --test --test-concurrency=1 test/scenarios.test.js test/security.test.js
