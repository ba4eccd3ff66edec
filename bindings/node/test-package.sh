#!/usr/bin/env bash
# Installs the npm tarball that package.sh wrote into a fresh project, as a user would, with no
# Rust toolchain on PATH and no FERROMQ_BIN_DIR: runs a LocalCluster send/consume under
# `node --test` (package-test/) with the bundled servers, and `npx mqnamesrv -h`. Prints the
# tarball's size and the install time.
#
#   bash bindings/node/test-package.sh DIST_DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIST_DIR (holding the ferromq-<version>.tgz of package.sh)" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
dist=$(cd "$1" && pwd)
shopt -s nullglob
tarballs=("$dist"/ferromq-[0-9]*.tgz)
[ ${#tarballs[@]} -eq 1 ] || { echo "test-package.sh: expected one ferromq-<version>.tgz in $dist, found ${#tarballs[@]}" >&2; exit 1; }
tarball=${tarballs[0]}

# No Rust: drop every PATH entry that has cargo or rustc (~/.cargo/bin, rustup shims).
clean_path=
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -n "$d" ] || continue
  if [ -e "$d/cargo" ] || [ -e "$d/rustc" ]; then continue; fi
  clean_path="${clean_path:+$clean_path:}$d"
done
export PATH="$clean_path"
unset FERROMQ_BIN_DIR CARGO_TARGET_DIR CARGO_BUILD_TARGET
if command -v cargo >/dev/null || command -v rustc >/dev/null; then
  echo "test-package.sh: cargo/rustc still on PATH" >&2
  exit 1
fi
command -v node >/dev/null || { echo "test-package.sh: node not found" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ferromq-node-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
step() { printf '\n== node package test: %s\n' "$*"; }

step "npm install $(basename "$tarball") (in $work)"
npm init -y >/dev/null
start=$(date +%s%N)
npm install --no-audit --no-fund --loglevel=error "$tarball"
end=$(date +%s%N)
install_ms=$(( (end - start) / 1000000 ))

step "LocalCluster send/consume under node --test"
cp "$here/package-test/local_cluster.test.js" .
node --test local_cluster.test.js

step "npx mqnamesrv -h"
out=$(npx --no-install mqnamesrv -h)
echo "$out" | head -n 5
grep -q -- '-c' <<<"$out" || { echo "test-package.sh: mqnamesrv -h printed no usage" >&2; exit 1; }
npx --no-install mqbroker -h >/dev/null
npx --no-install mqadmin --help >/dev/null

step "measured"
echo "tarball: $(basename "$tarball") $(du -k "$tarball" | cut -f1) KiB"
echo "installed: $(du -sk node_modules/ferromq | cut -f1) KiB (node_modules/ferromq)"
echo "install time: ${install_ms} ms"
