#!/usr/bin/env bash
# Installs what FerroMQ's build and tests need on a fresh machine of this project's kind
# (Rust by rustup, Java 17 + Maven, Go, Python 3 already there). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
command -v rustup >/dev/null || { echo "setup: rustup not found; install Rust with rustup first" >&2; exit 1; }

# The pinned toolchain with its components and the wasm target (auto-install is off here, so a
# rust-toolchain.toml alone installs nothing).
toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
rustup toolchain install "$toolchain" --profile minimal --component rustfmt,clippy \
  --target wasm32-unknown-unknown --no-self-update

# The compatibility tests fetch Apache RocketMQ jars through Maven and the Go client through the
# Go module proxy themselves; here we only check that the tools are there.
for tool in java mvn go python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "setup: warning: $tool not found; the tests that need it will say SKIPPED" >&2
  fi
done

# The WebAssembly package (bindings/wasm): wasm-bindgen-cli at exactly the crate's wasm-bindgen
# version (no prebuilt binaries here: compiled once, ~4 minutes; no --locked, a pinned
# dependency is missing from the registry mirror), and Chromium for its browser tests.
wasm_bindgen_version=0.2.130
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wasm_bindgen_version" ]; then
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_version" --force
fi
if [ ! -x /usr/bin/chromium ]; then
  sudo=
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo="sudo -n"; fi
  if ! { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
         $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } </dev/null; then
    # bindings/wasm/ci.sh fails on CI (FERROMQ_COMPAT_REQUIRED=1) without it, skips elsewhere.
    echo "setup: warning: could not install chromium; the WebAssembly browser tests need it" >&2
  fi
fi
