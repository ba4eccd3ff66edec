#!/usr/bin/env bash
# Checks the artifacts scripts/package.sh wrote, as a user would use them, outside the checkout's
# build (docs/packaging.md, "CI"):
#   1. the server tarball, unpacked in a temp dir: bin/mqnamesrv and bin/mqbroker -c conf/broker.conf
#      started as in Apache (copies of the shipped configs with only the ports changed, HOME in
#      the temp dir so the default ~/store lands there), a message sent with
#      `bin/mqadmin sendMessage` and read back with `bin/mqadmin consumeMessage`;
#   2. the C tarball, unpacked: its examples/ quickstart built with make through pkg-config
#      (PKG_CONFIG_PATH into the unpacked tree only), run against the tarball's own servers
#      started by its bin/ferromq-local-cluster;
#   3. bindings/python/test-package.sh and bindings/node/test-package.sh (the wheels and the npm
#      tarball, installed where no Rust toolchain is on PATH).
#
#   bash scripts/test-package.sh [DIST_DIR]     # default dist/
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dist="$(cd "${1:-$root/dist}" && pwd)"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
platform="$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m)"
server_tgz="$dist/ferromq-$version-$platform.tar.gz"
c_tgz="$dist/ferromq-c-$version-$platform.tar.gz"
for f in "$server_tgz" "$c_tgz"; do
  [ -f "$f" ] || { echo "test-package: $f missing; run scripts/package.sh first" >&2; exit 1; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/ferromq-test-package.XXXXXX")"
pids=()
cluster_dir=""
cleanup() {
  local i
  [ -n "$cluster_dir" ] && "$c/bin/ferromq-local-cluster" stop "$cluster_dir" 2>/dev/null || true
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  if [ "${FERROMQ_KEEP_CI_DIR:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
step() { printf '\n== package: %s\n' "$*"; }
fail() { echo "test-package: $*" >&2; exit 1; }

# poll SECONDS WHAT CMD...: CMD every 0.1 s until it succeeds; fails after SECONDS.
poll() {
  local deadline=$((SECONDS + $1)) what="$2"
  shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$what: not within the deadline"
    sleep 0.1
  done
}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A port p below the ephemeral range with p-2 .. p+1 free (a broker's fast, VIP and HA ports).
free_port() {
  local p
  for _ in $(seq 500); do
    p=$((12000 + (RANDOM % 18000)))
    port_free $((p - 2)) && port_free $((p - 1)) && port_free "$p" && port_free $((p + 1)) && { echo "$p"; return; }
  done
  fail "no free port"
}

step "server tarball: $(basename "$server_tgz")"
tar -C "$work" -xzf "$server_tgz"
srv="$work/ferromq-$version-$platform"
for b in mqnamesrv mqbroker mqcontroller mqproxy mqadmin mqbench mqdashboard ferromq-local-cluster; do
  [ -x "$srv/bin/$b" ] || fail "bin/$b missing from the server tarball"
done
for f in broker.conf namesrv.properties plain_acl.yml rmq-proxy.json 2m-noslave 2m-2s-async 2m-2s-sync controller; do
  [ -e "$srv/conf/$f" ] || fail "conf/$f missing from the server tarball"
done
[ -s "$srv/README" ] || fail "README missing from the server tarball"
for b in mqnamesrv mqbroker mqcontroller mqproxy mqadmin mqbench mqdashboard; do
  if readelf -S "$srv/bin/$b" | grep -q '\.symtab'; then fail "bin/$b is not stripped"; fi
done

# As in Apache: bin/mqnamesrv and bin/mqbroker -c conf/broker.conf, in the unpacked directory;
# the shipped configs with only the ports changed (later keys win), HOME in the temp dir.
ns_port="$(free_port)"
broker_port="$(free_port)"
ns="127.0.0.1:$ns_port"
export HOME="$work/home"
mkdir -p "$HOME"
cd "$srv"
{ cat conf/namesrv.properties; echo "listenPort=$ns_port"; } >conf/namesrv-test.properties
{ cat conf/broker.conf; echo "listenPort=$broker_port"; } >conf/broker-test.conf
RUST_LOG=warn bin/mqnamesrv -c conf/namesrv-test.properties >"$work/namesrv.log" 2>&1 &
pids+=($!)
poll 60 "mqnamesrv boot" grep -q "boot success" "$work/namesrv.log"
RUST_LOG=warn bin/mqbroker -c conf/broker-test.conf -n "$ns" >"$work/broker.log" 2>&1 &
pids+=($!)
listed() { kill -0 "${pids[1]}" || { cat "$work/broker.log" >&2; fail "mqbroker exited"; }; bin/mqadmin clusterList -n "$ns" 2>/dev/null | grep -qF "127.0.0.1:$broker_port"; }
poll 60 "mqbroker listed by the name server" listed
echo "mqnamesrv on $ns, mqbroker on 127.0.0.1:$broker_port (store in $HOME/store)"

body="package-test-$$-$RANDOM"
bin/mqadmin sendMessage -n "$ns" -t PackageTest -p "$body" -k "key-$$" | tee "$work/send.out"
grep -q "SEND_OK" "$work/send.out" || fail "sendMessage did not answer SEND_OK"
# The stored message reaches its consume queue asynchronously (as in Apache): read until it is
# there, with a deadline.
consumed() {
  bin/mqadmin consumeMessage -n "$ns" -t PackageTest -c 10 >"$work/consume.out" 2>&1 || {
    cat "$work/consume.out" >&2
    fail "consumeMessage failed"
  }
  grep -qF "$body" "$work/consume.out"
}
poll 30 "consumeMessage printing the body sent" consumed
echo "consumeMessage returned the message sent"
[ -d "$HOME/store/commitlog" ] || fail "the broker's store is not in ~/store (conf/broker.conf's default)"
cd "$root"

step "C tarball: $(basename "$c_tgz")"
tar -C "$work" -xzf "$c_tgz"
c="$work/ferromq-c-$version-$platform"
for f in include/ferromq.h lib/libferromq.so lib/libferromq.a lib/pkgconfig/ferromq.pc \
  bin/mqnamesrv bin/mqbroker bin/mqadmin bin/ferromq-local-cluster share/ferromq/examples/quickstart.c; do
  [ -e "$c/$f" ] || fail "$f missing from the C tarball"
done
export PKG_CONFIG_PATH="$c/lib/pkgconfig"
[ "$(pkg-config --modversion ferromq)" = "$version" ] || fail "pkg-config: version is not $version"
[ "$(cd "$(pkg-config --variable=libdir ferromq)" && pwd)" = "$c/lib" ] ||
  fail "pkg-config's libdir $(pkg-config --variable=libdir ferromq) is not the unpacked lib/"
cp -r "$c/share/ferromq/examples" "$work/c-example"
make -s -C "$work/c-example" quickstart
if ldd "$work/c-example/quickstart" | grep libferromq | grep -vqF "$c/lib/"; then
  fail "quickstart does not link the unpacked libferromq"
fi
# The tarball's own servers, by its own launcher (FERROMQ_BIN_DIR cleared: bundled first anyway).
eval "$(env -u FERROMQ_BIN_DIR "$c/bin/ferromq-local-cluster" start --dir "$work/c-cluster")"
cluster_dir="$FERROMQ_CLUSTER_DIR"
"$work/c-example/quickstart" "$FERROMQ_NAMESRV" "PackageC_$$" 4
"$c/bin/ferromq-local-cluster" stop "$cluster_dir"
cluster_dir=""
[ ! -e "$work/c-cluster" ] || fail "ferromq-local-cluster stop left $work/c-cluster"

for lang in python node; do
  step "$lang package (bindings/$lang/test-package.sh)"
  bash "$root/bindings/$lang/test-package.sh" "$dist"
done
echo
echo "package: all artifacts checked"
