#!/usr/bin/env bash
# The C binding's CI, non-interactive on a fresh machine (Debian; installs gcc, make, cmake,
# pkg-config and valgrind with apt-get when they are missing):
#   1. builds the servers, mqadmin and libferromq (debug), runs the crate's Rust tests (the
#      committed ferromq.h equals a fresh cbindgen run; every error kind maps to its own code);
#   2. installs header, .so, .a and ferromq.pc into a temp prefix (install.sh);
#   3. builds the tests with gcc and examples/c with make and with CMake, all through
#      `pkg-config ferromq` against that prefix (one test also links libferromq.a statically);
#   4. starts mqnamesrv + mqbroker on free ports (tests/servers.sh, through
#      scripts/local-cluster.sh), runs tests/api, every scenario of
#      tests/scenarios and the parity runner tests/parity (its output must equal
#      tests/parity/expected.txt exactly) natively and then under valgrind memcheck (any error
#      or definitely lost block fails), and runs both example builds;
#   5. restarts the servers with TLS enforcing and ACL 1.0 on (tests/servers.sh, FMQ_SECURE=1)
#      and runs every scenario once more natively with credentials over TLS, plus
#      tests/security (wrong secret, unsigned and plaintext clients refused).
# Exits non-zero on any failure.
#
#   bash bindings/c/ci.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

step() { printf '\n== c: %s\n' "$*"; }

missing=()
for tool in gcc make cmake pkg-config valgrind; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    step "apt-get install ${missing[*]}"
    [ "$(id -u)" = 0 ] || { echo "ci.sh: missing ${missing[*]} (install them or run as root)" >&2; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]/gcc/build-essential}" >/dev/null
fi

step "build the servers, mqadmin and libferromq (debug)"
(cd "$root" && cargo build --locked -p ferromq-namesrv -p ferromq-broker -p ferromq-tools -p ferromq-c)

step "Rust tests of the binding (header up to date, error mapping)"
(cd "$root" && cargo test --locked -p ferromq-c --quiet)

work="$(mktemp -d "${TMPDIR:-/tmp}/ferromq-c-ci.XXXXXX")"
prefix="$work/prefix"
bin="$work/bin"
mkdir -p "$bin"
source "$here/tests/servers.sh"
cleanup() {
    stop_servers
    if [ "${FERROMQ_KEEP_CI_DIR:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

step "install into $prefix"
bash "$here/install.sh" "$prefix"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pkg-config --exists ferromq
ferromq_cflags="$(pkg-config --cflags ferromq)"
ferromq_libs="$(pkg-config --libs ferromq)"
libdir="$(pkg-config --variable=libdir ferromq)"

step "build the tests (gcc, pkg-config)"
cflags=(-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1)
for t in api scenarios parity security; do
    # shellcheck disable=SC2086
    gcc "${cflags[@]}" $ferromq_cflags -o "$bin/$t" "$here/tests/$t.c" $ferromq_libs -Wl,-rpath,"$libdir" -lpthread
done
# The benchmark is built (not run) so that it never rots.
# shellcheck disable=SC2086
gcc "${cflags[@]}" $ferromq_cflags -o "$bin/bench" "$here/bench.c" $ferromq_libs -Wl,-rpath,"$libdir" -lpthread
# The same API test linked statically against libferromq.a (Libs.private gives the rest).
# shellcheck disable=SC2086
gcc "${cflags[@]}" $ferromq_cflags -o "$bin/api-static" "$here/tests/api.c" \
    "$libdir/libferromq.a" $(pkg-config --static --libs-only-l ferromq | sed 's/-lferromq//') -lpthread
if ldd "$bin/api-static" | grep -q libferromq; then
    echo "api-static links libferromq dynamically" >&2
    exit 1
fi

step "build examples/c with make and with CMake"
cp -r "$root/examples/c" "$work/example-make"
make -s -C "$work/example-make" quickstart
cmake -S "$root/examples/c" -B "$work/example-cmake" -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$work/example-cmake" >/dev/null

step "start mqnamesrv and mqbroker"
start_servers "$CARGO_TARGET_DIR/debug" "$work/servers"
echo "name server at $FMQ_NAMESRV"

scenarios=(quickstart async-oneway batch ordered delayed timer transaction tag-filter sql-filter broadcast retry-dlq pull bad-input
    pull-control selector admin push-options request-reply namespace message-trace consume-timeout shutdown)
vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite
    --suppressions="$here/tests/valgrind.supp")
passed=0
failed=0
names=()
pids=()
logs=()

# launch NAME LOG CMD...: runs CMD in the background (the tests are independent: fresh
# topics and groups), remembered for collect.
launch() {
    local name="$1" log="$2"
    shift 2
    (cd "$work" && TMPDIR="$work" timeout 300 "$@") >"$log" 2>&1 &
    names+=("$name")
    pids+=($!)
    logs+=("$log")
}

collect() {
    local i
    for i in "${!pids[@]}"; do
        if wait "${pids[$i]}"; then
            echo "ok - ${names[$i]}"
            passed=$((passed + 1))
        else
            echo "not ok - ${names[$i]}"
            sed 's/^/    /' "${logs[$i]}" | tail -40
            failed=$((failed + 1))
        fi
    done
    names=()
    pids=()
    logs=()
}

# The parity runner's command line for launch: runs CMD... and diffs its output with
# tests/parity/expected.txt (exact text; any difference fails).
parity=(bash -c 'out="$(mktemp)" && "${@:2}" >"$out" && diff -u "$1" "$out"' parity "$root/tests/parity/expected.txt")

step "tests (native)"
start=$SECONDS
launch api "$work/api.log" "$bin/api"
launch api-static "$work/api-static.log" "$bin/api-static"
launch parity "$work/parity.log" "${parity[@]}" "$bin/parity"
for s in "${scenarios[@]}"; do
    launch "$s" "$work/$s.log" "$bin/scenarios" "$s"
done
launch "example quickstart (make)" "$work/ex-make.log" "$work/example-make/quickstart" "$FMQ_NAMESRV" "QuickstartMake_$$" 4
launch "example quickstart (cmake)" "$work/ex-cmake.log" "$work/example-cmake/quickstart" "$FMQ_NAMESRV" "QuickstartCmake_$$" 4
collect
echo "native: $((SECONDS - start)) s"

step "tests under valgrind memcheck"
# In batches of four: valgrind runs each program many times slower, and fourteen at once on
# two cores starve the timing-sensitive scenarios (check-backs, delays).
start=$SECONDS
launch "valgrind api" "$work/vg-api.log" "${vg[@]}" "$bin/api"
launch "valgrind parity" "$work/vg-parity.log" "${parity[@]}" "${vg[@]}" "$bin/parity"
for s in "${scenarios[@]}"; do
    launch "valgrind $s" "$work/vg-$s.log" "${vg[@]}" "$bin/scenarios" "$s"
    [ "${#pids[@]}" -ge 4 ] && collect
done
collect
echo "valgrind: $((SECONDS - start)) s"

step "tests with TLS enforcing and ACL 1.0 (native)"
stop_servers
FMQ_SECURE=1 start_servers "$CARGO_TARGET_DIR/debug" "$work/secure-servers"
echo "name server at $FMQ_NAMESRV (TLS only, broker with aclEnable=true)"
start=$SECONDS
launch "secure: security" "$work/secure-security.log" "$bin/security"
for s in "${scenarios[@]}"; do
    launch "secure: $s" "$work/secure-$s.log" "$bin/scenarios" "$s"
done
collect
echo "secure: $((SECONDS - start)) s"

echo
echo "c: $passed passed, $failed failed"
[ "$failed" = 0 ]
