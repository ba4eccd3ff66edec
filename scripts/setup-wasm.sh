#!/usr/bin/env bash
# Installs what the WebAssembly package (bindings/wasm) needs beyond scripts/setup.sh:
# wasm-bindgen-cli at exactly the crate's wasm-bindgen version (no prebuilt binaries here:
# compiled once, ~4 minutes; no --locked, a pinned dependency is missing from the registry
# mirror), and Chromium for its browser tests. Safe to run again: it does nothing when both are
# there. bindings/wasm/ci.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

wasm_bindgen_version=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' bindings/wasm/Cargo.toml)
if [ -z "$wasm_bindgen_version" ]; then
  echo "setup-wasm: cannot read the pinned wasm-bindgen version from bindings/wasm/Cargo.toml" >&2
  exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wasm_bindgen_version" ]; then
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_version" --force
fi
if [ ! -x /usr/bin/chromium ]; then
  sudo=
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo="sudo -n"; fi
  if ! { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
         $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } </dev/null; then
    # bindings/wasm/ci.sh fails on CI (FERROMQ_COMPAT_REQUIRED=1) without it, skips elsewhere.
    echo "setup-wasm: warning: could not install chromium; the browser tests need it" >&2
  fi
fi
