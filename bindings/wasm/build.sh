#!/usr/bin/env bash
# Builds the npm package `ferromq-wasm` into bindings/wasm/pkg/ (not committed):
#   pkg/web/   ES module for browsers (`--target web`: `await init()` before use)
#   pkg/node/  CommonJS for Node (`--target nodejs`: loads synchronously; give it a global
#              WebSocket, e.g. `globalThis.WebSocket = require('ws')`)
#   pkg/package.json  `exports` picks node/ under Node and web/ elsewhere.
# Needs wasm-bindgen-cli 0.2.130 (scripts/setup.sh installs it) and, for the size pass,
# wasm-opt from the npm dev dependency binaryen@132 (`npm install` here); without wasm-opt the
# package is built unoptimised, with a warning.
#
#   bash bindings/wasm/build.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
# One target directory for the whole repository.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

want=0.2.130
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "build.sh: wasm-bindgen $want is needed (found '${have:-none}'); run scripts/setup.sh" >&2
  exit 1
fi

echo "== cargo build --target wasm32-unknown-unknown --release"
(cd "$here" && cargo build --locked --release --target wasm32-unknown-unknown)
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/ferromq_wasm.wasm"

rm -rf "$here/pkg"
mkdir -p "$here/pkg"
echo "== wasm-bindgen (web, node)"
wasm-bindgen --target web --out-dir "$here/pkg/web" "$wasm"
wasm-bindgen --target nodejs --out-dir "$here/pkg/node" "$wasm"

wasm_opt="$here/node_modules/.bin/wasm-opt"
raw=$(stat -c %s "$here/pkg/web/ferromq_wasm_bg.wasm")
if [ -x "$wasm_opt" ]; then
  echo "== wasm-opt -Oz"
  for dir in web node; do
    f="$here/pkg/$dir/ferromq_wasm_bg.wasm"
    "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue -o "$f.opt" "$f"
    mv "$f.opt" "$f"
  done
else
  echo "build.sh: warning: $wasm_opt not found (npm install in bindings/wasm); not optimised" >&2
fi
opt=$(stat -c %s "$here/pkg/web/ferromq_wasm_bg.wasm")
echo "ferromq_wasm_bg.wasm: $raw bytes from wasm-bindgen, $opt bytes after wasm-opt"
printf '%s\n%s\n' "$raw" "$opt" > "$here/pkg/sizes.txt"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/Cargo.toml" | head -1)
cat > "$here/pkg/package.json" <<EOF
{
  "name": "ferromq-wasm",
  "version": "$version",
  "description": "FerroMQ client for browsers and Node over WebSocket (the Rust client core compiled to WebAssembly)",
  "license": "Apache-2.0",
  "repository": "https://github.com/ferromq/ferromq",
  "files": ["web", "node"],
  "engines": { "node": ">=20.19" },
  "main": "node/ferromq_wasm.js",
  "module": "web/ferromq_wasm.js",
  "browser": "web/ferromq_wasm.js",
  "types": "web/ferromq_wasm.d.ts",
  "exports": {
    ".": {
      "node": "./node/ferromq_wasm.js",
      "default": "./web/ferromq_wasm.js"
    },
    "./web": "./web/ferromq_wasm.js",
    "./node": "./node/ferromq_wasm.js"
  }
}
EOF
cp "$here/README.md" "$here/pkg/README.md" 2>/dev/null || true
echo "== pkg/ ready"
