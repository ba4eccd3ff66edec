#!/usr/bin/env bash
# Installs the npm tarball that package.sh wrote into a fresh project, as a user would, with no
# Rust toolchain on PATH and no FERROMQ_BIN_DIR: runs a LocalCluster send/consume under
# `node --test` (package-test/) with the bundled servers, `npx mqnamesrv -h`, and
# `npx mqnamesrv` + `npx mqbroker -c broker.conf` until the broker registers, then SIGTERM.
# Prints the tarball's size and the install time.
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

step "npx mqnamesrv -c ... and the mqbroker command with -c broker.conf; SIGTERM stops both"
# Ports from the kernel (bound and released at once); the servers' own bind error says it if
# another process took one meanwhile.
read -r ns_port broker_port < <(node -e '
  const net = require("node:net")
  const take = () => new Promise((r) => { const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)) }) })
  ;(async () => { const a = await take(); let b; do { b = await take() } while (Math.abs(b - a) < 4); console.log(a, b) })()')
printf 'listenPort=%s\nkvConfigPath=%s/kv.json\nconfigStorePath=%s/ns.properties.store\n' \
  "$ns_port" "$work" "$work" >namesrv.properties
printf 'brokerClusterName=DefaultCluster\nbrokerName=package-test\nlistenPort=%s\nnamesrvAddr=127.0.0.1:%s\nbrokerIP1=127.0.0.1\nstorePathRootDir=%s/store\nmappedFileSizeCommitLog=16777216\n' \
  "$broker_port" "$ns_port" "$work" >broker.conf
# npx does not pass a SIGTERM sent to it alone on to its child; in a terminal Ctrl-C reaches the
# whole process group. So npx runs in its own group here and the group gets the signal. The
# broker runs through the `bin` script itself (node_modules/.bin/mqbroker, as npm scripts run
# it), which gets the signal alone and must pass it on.
setsid npx --no-install mqnamesrv -c namesrv.properties >namesrv.log 2>&1 &
ns_pid=$!
node_modules/.bin/mqbroker -c broker.conf >broker.log 2>&1 &
broker_pid=$!
stop_all() { kill -TERM "$broker_pid" 2>/dev/null || true; kill -TERM -- "-$ns_pid" 2>/dev/null || true; }
listed=
for _ in $(seq 1 300); do
  if npx --no-install mqadmin clusterList -n "127.0.0.1:$ns_port" 2>/dev/null | grep -q package-test; then listed=1; break; fi
  sleep 0.1
done
if [ -z "$listed" ]; then
  echo "test-package.sh: the broker did not register within 30 s" >&2
  tail -n 20 namesrv.log broker.log >&2
  stop_all
  exit 1
fi
npx --no-install mqadmin clusterList -n "127.0.0.1:$ns_port"
kill -TERM "$broker_pid"
broker_rc=0
wait "$broker_pid" || broker_rc=$?
kill -TERM -- "-$ns_pid"
ns_rc=0
wait "$ns_pid" || ns_rc=$?
echo "after SIGTERM: the mqbroker command exited $broker_rc, npx mqnamesrv $ns_rc"
listens() { node -e 'const s = require("node:net").connect(+process.argv[1], "127.0.0.1", () => process.exit(0)); s.on("error", () => process.exit(1))' "$1"; }
if [ "$broker_rc" != 0 ] || listens "$broker_port"; then
  echo "test-package.sh: the broker did not stop cleanly through its bin script (exit $broker_rc)" >&2
  tail -n 20 broker.log >&2
  exit 1
fi
for _ in $(seq 1 100); do listens "$ns_port" || break; sleep 0.1; done
if listens "$ns_port"; then
  echo "test-package.sh: the name server still listens after SIGTERM to its process group" >&2
  exit 1
fi

step "measured"
echo "tarball: $(basename "$tarball") $(du -k "$tarball" | cut -f1) KiB"
echo "installed: $(du -sk node_modules/ferromq | cut -f1) KiB (node_modules/ferromq)"
echo "install time: ${install_ms} ms"
