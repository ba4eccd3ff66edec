#!/usr/bin/env bash
# Builds the release artifacts into dist/ (docs/packaging.md):
#   dist/ferromq-<version>-linux-x86_64.tar.gz     servers: bin/ (stripped), conf/, README
#   dist/ferromq-c-<version>-linux-x86_64.tar.gz   C library: include/, lib/ (.so, .a, pkgconfig), bin/ servers
#
#   dist/ the Python wheel and the npm tarball, by bindings/python/package.sh and
#         bindings/node/package.sh (each given dist/ and the directory of the built servers)
#
#   bash scripts/package.sh                 # the `dist` profile (Cargo.toml)
#   FERROMQ_DIST_PROFILE=release bash scripts/package.sh
#   FERROMQ_DIST_PROFILE=dev bash scripts/package.sh   # CI: reuses target/debug, C library and
#                                                      # bindings in debug too
# scripts/test-package.sh checks what this writes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

profile="${FERROMQ_DIST_PROFILE:-dist}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
arch="$(uname -m)"
os="$(uname -s | tr '[:upper:]' '[:lower:]')"
servers=(mqnamesrv mqbroker mqcontroller mqproxy mqadmin mqbench mqdashboard)
dist="$root/dist"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

step() { printf '== %s\n' "$*"; }

step "build the servers and tools (profile $profile, --locked)"
if [ "$profile" = dev ]; then
  # Exactly the tests' build (`cargo test --workspace`, scripts/test-all.sh), which links every
  # server binary into target/debug (each of their packages has integration tests): after it this
  # compiles nothing. A narrower `cargo build -p ...` would unify dependency features differently
  # (no dev-dependencies) and rebuild much of the tree.
  cargo test --workspace --locked --no-run
else
  cargo build --locked --profile "$profile" \
    -p ferromq-namesrv -p ferromq-broker -p ferromq-controller -p ferromq-proxy -p ferromq-tools \
    -p ferromq-dashboard --bins
fi
# `cargo build --profile release` writes to target/release, any other profile to target/<name>.
out="$target_dir/$profile"
# The C library and the bindings know fewer profiles: release for `dist` and `release`, debug
# for `dev` (CI, where the tests have built everything in debug already).
c_profile=release
if [ "$profile" = dev ]; then
  out="$target_dir/debug"
  c_profile=debug
  export FERROMQ_PY_PROFILE="${FERROMQ_PY_PROFILE:-dev}" FERROMQ_NODE_PROFILE="${FERROMQ_NODE_PROFILE:-debug}"
fi

mkdir -p "$dist"

# --- the server tarball ---------------------------------------------------------------------
name="ferromq-$version-$os-$arch"
srv="$stage/$name"
mkdir -p "$srv/bin" "$srv/conf"
for b in "${servers[@]}"; do
  install -m 755 "$out/$b" "$srv/bin/$b"
  strip "$srv/bin/$b"
done
# The shell LocalCluster: namesrv + broker on free ports in a temp dir (docs/packaging.md).
install -m 755 scripts/local-cluster.sh "$srv/bin/ferromq-local-cluster"
# Apache's layouts: broker.conf, namesrv.properties, plain_acl.yml, 2m-noslave/, 2m-2s-*/.
cp conf/broker.conf conf/namesrv.properties conf/plain_acl.yml conf/rmq-proxy.json "$srv/conf/"
cp -r conf/2m-noslave conf/2m-2s-async conf/2m-2s-sync conf/controller "$srv/conf/"
cat > "$srv/README" <<EOF
FerroMQ $version ($os $arch): Apache RocketMQ-compatible servers, built in Rust.

  bin/mqnamesrv                           the name server (port 9876)
  bin/mqbroker -c conf/broker.conf        a broker registered with 127.0.0.1:9876
  bin/mqcontroller -c conf/controller/controller-n0.properties
                                          a controller of controller mode (automatic failover)
  bin/mqproxy -pc conf/rmq-proxy.json     the RocketMQ 5.x gRPC endpoint for a whole cluster
  bin/mqadmin                             the operator CLI (Apache's command names)
  bin/mqbench                             the end-to-end benchmark
  bin/mqdashboard                         the web console
  bin/ferromq-local-cluster               a throw-away name server + broker for tests

Start as with Apache RocketMQ:

  bin/mqnamesrv &
  bin/mqbroker -c conf/broker.conf &
  bin/mqadmin sendMessage -n 127.0.0.1:9876 -t TestTopic -p hello
  bin/mqadmin consumeMessage -n 127.0.0.1:9876 -t TestTopic

conf/ has Apache's layouts: broker.conf, namesrv.properties, plain_acl.yml (ACL 1.0),
2m-noslave/, 2m-2s-async/ and 2m-2s-sync/ (two masters, with or without slaves),
controller/ (three controllers, two broker sets of three replicas) and rmq-proxy.json.
The store goes to storePathRootDir (default ~/store); logs to standard error unless logDir is set.
For a test: eval "\$(bin/ferromq-local-cluster start)" starts a name server and a broker on
free ports in a temporary directory and sets FERROMQ_NAMESRV; bin/ferromq-local-cluster stop
stops them (or: bin/ferromq-local-cluster run -- COMMAND).
Each binary prints its options with -h. Documentation: https://github.com/ferromq/ferromq
EOF
tar -C "$stage" -czf "$dist/$name.tar.gz" "$name"

# --- the C tarball --------------------------------------------------------------------------
# bindings/c/install.sh knows `release` and `debug` only.
cname="ferromq-c-$version-$os-$arch"
c="$stage/$cname"
step "build and install the C library ($c_profile) into the C tarball"
FERROMQ_PROFILE="$c_profile" bash bindings/c/install.sh "$c" >/dev/null
strip --strip-unneeded "$c/lib/libferromq.so"
# Debug sections out of the archive too (about 120 MB to 40 MB); its symbols stay for linking.
strip --strip-debug "$c/lib/libferromq.a"
# Relocatable: the .pc file finds the unpacked tree from its own place (pkg-config's pcfiledir).
sed -i 's|^prefix=.*|prefix=${pcfiledir}/../..|' "$c/lib/pkgconfig/ferromq.pc"
mkdir -p "$c/bin"
for b in mqnamesrv mqbroker mqadmin ferromq-local-cluster; do
  cp "$srv/bin/$b" "$c/bin/$b"
done
# The quickstart with its Makefile and CMakeLists.txt (both find the library with pkg-config).
mkdir -p "$c/share/ferromq"
cp -r examples/c "$c/share/ferromq/examples"
rm -rf "$c/share/ferromq/examples/quickstart" "$c/share/ferromq/examples/build"
tar -C "$stage" -czf "$dist/$cname.tar.gz" "$cname"

# --- the Python wheels and the npm tarball (each binding's own script) ----------------------
for lang in python node; do
  step "the $lang package (bindings/$lang/package.sh)"
  bash "bindings/$lang/package.sh" "$dist" "$out"
done

step "sizes"
for b in "${servers[@]}"; do
  printf '  %-14s %8d bytes (stripped)\n' "$b" "$(stat -c %s "$srv/bin/$b")"
done
for f in "$dist"/*; do
  if [ -f "$f" ]; then printf '  %-48s %9d bytes\n' "$(basename "$f")" "$(stat -c %s "$f")"; fi
done
