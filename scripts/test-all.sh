#!/usr/bin/env bash
# Builds everything and runs every check and test, in every language the project has so far:
# Rust (the workspace), Java and Go (official clients in the compat tests), Python, Node.js, C and
# WebAssembly (the bindings).
# This is the README's test command; .ci/run calls it and nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

# On CI a missing java/mvn/go is a failure, not a skip.
if [ "${CI:-}" = "true" ]; then
  export FERROMQ_COMPAT_REQUIRED="${FERROMQ_COMPAT_REQUIRED:-1}"
  # A fresh clone builds once: incremental caches only cost time and disk there.
  export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
fi

# Each step's time is printed when the next one starts, and the total at the end, so a slow CI
# run shows where its minutes went.
current=""; current_started=$SECONDS
step() {
  [ -n "$current" ] && printf '== %s: %d s\n' "$current" $((SECONDS - current_started))
  current="$*"; current_started=$SECONDS
  printf '\n== %s\n' "$*"
}

step "format";        cargo fmt --all -- --check
step "clippy";        cargo clippy --workspace --all-targets --locked -- -D warnings
step "rustdoc";       RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
step "wasm32 check";  cargo check -p ferromq-protocol -p ferromq-client --target wasm32-unknown-unknown --locked
step "fuzz targets";  cargo check --manifest-path fuzz/Cargo.toml --locked
# Everything: unit tests, wire-level server tests, golden vectors, and the official Java and Go
# clients with a real Apache broker against FerroMQ's name server.
step "tests";         cargo test --workspace --locked
# The Python package: its own venv (maturin, pytest), the stub check and the scenario suite
# against real servers; after the Rust tests, which built the Java programs its interop test uses.
step "python";        bash bindings/python/ci.sh
# The Node.js package: npm dev dependencies, the addon, the index.d.ts check and its suite.
step "node";          bash bindings/node/ci.sh
# The C library: install into a temporary prefix, gcc through pkg-config, the examples with make
# and CMake, the scenario suite natively and under valgrind memcheck.
step "c";             bash bindings/c/ci.sh
# Request-reply across languages (tests/interop/README.md): requesters of one binding, responders
# of another, through one real broker; uses what the python, node and c steps built.
step "interop";       bash tests/interop/request_reply.sh
# The WebAssembly package: clippy for wasm32, the build (wasm-bindgen, wasm-opt), the scenarios in
# Node over WebSocket, and headless Chromium with the C -> browser and browser -> Java interop.
step "wasm";          bash bindings/wasm/ci.sh
# The web console in headless Chromium (installed by the wasm step): each page, a topic made and a
# message sent from the page, found by key with its markup body shown as text, a lag chart.
step "dashboard ui";  bash dashboard/ui-test/ci.sh
# The artifacts users install (docs/packaging.md): the server and C tarballs (and the wheel and
# npm tarball), packaged from the debug builds above, unpacked and run outside the checkout.
step "packages";      FERROMQ_DIST_PROFILE=dev bash scripts/package.sh
bash scripts/test-package.sh
step "done"
printf "== all steps (set-up included): %d s\n" "$SECONDS"
