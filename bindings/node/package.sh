#!/usr/bin/env bash
# Builds the npm tarball of the Node package: the addon, the committed JavaScript and typings,
# and the servers (mqnamesrv, mqbroker, mqadmin, mqbench) under bin/<platform>/, stripped.
#
#   bash bindings/node/package.sh DIST_DIR BIN_DIR
#
# DIST_DIR  where `npm pack` writes ferromq-<version>.tgz (created if missing)
# BIN_DIR   a cargo output directory holding the four servers, e.g. target/release; build them
#           first: cargo build --release -p ferromq-namesrv -p ferromq-broker -p ferromq-tools
#
# FERROMQ_NODE_PROFILE=release (default) or debug: the cargo profile of the addon.
# The package is assembled in a temporary directory, so the working tree is left alone.
set -euo pipefail

usage() { echo "usage: $0 DIST_DIR BIN_DIR (FERROMQ_NODE_PROFILE=release|debug)" >&2; exit 2; }
[ $# -eq 2 ] || usage
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
dist=$(cd "$1" && pwd)
[ -d "$2" ] || { echo "package.sh: BIN_DIR $2 is not a directory" >&2; exit 2; }
bin_dir=$(cd "$2" && pwd)
profile="${FERROMQ_NODE_PROFILE:-release}"
case "$profile" in
  release) release=(--release) ;;
  debug) release=() ;;
  *) echo "package.sh: FERROMQ_NODE_PROFILE must be release or debug, not '$profile'" >&2; exit 2 ;;
esac
servers=(mqnamesrv mqbroker mqadmin mqbench)
for s in "${servers[@]}"; do
  [ -x "$bin_dir/$s" ] || {
    echo "package.sh: $bin_dir/$s not found; build the servers first" \
      "(cargo build [--release] -p ferromq-namesrv -p ferromq-broker -p ferromq-tools)" >&2
    exit 1
  }
done
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
command -v node >/dev/null || { echo "package.sh: node not found (Node.js 18+ is needed)" >&2; exit 1; }
command -v strip >/dev/null || { echo "package.sh: strip not found (binutils)" >&2; exit 1; }

cd "$here"
step() { printf '\n== node package: %s\n' "$*"; }

if [ ! -x node_modules/.bin/napi ]; then
  step "npm install (the napi CLI)"
  npm install --no-audit --no-fund --loglevel=error
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/ferromq-node-package.XXXXXX")
trap 'rm -rf "$stage"' EXIT

step "build the addon ($profile)"
# The napi CLI always passes --target; with CARGO_BUILD_TARGET set to the host triple the
# addon shares target/<triple>/ with bindings/node/ci.sh. The generated index.js/index.d.ts
# land in the stage's scratch dir and are not used: the committed ones are (test/dts.test.js
# keeps them current).
CARGO_BUILD_TARGET=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_BUILD_TARGET
npx napi build --platform "${release[@]}" --no-const-enum --runtime-string-enum \
  --output-dir "$stage/scratch" -- --locked

step "assemble"
platform=$(node -p "require('./platform.js').platformName()")
pkg="$stage/package"
mkdir -p "$pkg/bin/$platform"
cp package.json README.md index.js index.d.ts install.js platform.js testing.js testing.d.ts "$pkg/"
[ -f ../../LICENSE ] && cp ../../LICENSE "$pkg/"
cp bin/*.js "$pkg/bin/"
cp "$stage"/scratch/*.node "$pkg/"
strip --strip-unneeded "$pkg"/*.node
for s in "${servers[@]}"; do
  cp "$bin_dir/$s" "$pkg/bin/$platform/$s"
  strip --strip-all "$pkg/bin/$platform/$s"
done
ls -l "$pkg"/*.node "$pkg/bin/$platform"

step "npm pack"
# --ignore-scripts: nothing of the package runs at pack time (there is no prepack anyway).
name=$(cd "$pkg" && npm pack --ignore-scripts --pack-destination "$dist" --loglevel=error | tail -n 1)
tarball="$dist/$name"
echo "wrote $tarball ($(du -k "$tarball" | cut -f1) KiB; $(du -sk "$pkg" | cut -f1) KiB unpacked)"
