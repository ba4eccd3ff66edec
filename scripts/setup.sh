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

# The WebAssembly package's tools (wasm-bindgen-cli, Chromium) are installed by
# scripts/setup-wasm.sh, which bindings/wasm/ci.sh runs: the main job does not need them.
