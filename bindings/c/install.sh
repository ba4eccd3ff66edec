#!/usr/bin/env bash
# Builds libferromq and installs it into PREFIX:
#   PREFIX/include/ferromq.h
#   PREFIX/lib/libferromq.so, PREFIX/lib/libferromq.a
#   PREFIX/lib/pkgconfig/ferromq.pc
#
#   bash bindings/c/install.sh PREFIX            # debug build
#   FERROMQ_PROFILE=release bash bindings/c/install.sh PREFIX
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
prefix="${1:?usage: install.sh PREFIX}"
profile="${FERROMQ_PROFILE:-debug}"
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

target_dir="${CARGO_TARGET_DIR:-$root/target}"
flags=()
[ "$profile" = release ] && flags+=(--release)
(cd "$root" && cargo build --quiet --locked -p ferromq-c "${flags[@]}")

mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
prefix="$(cd "$prefix" && pwd)"
install -m 644 "$here/include/ferromq.h" "$prefix/include/ferromq.h"
# Cargo names them libferromq_c (see Cargo.toml); installed under the library's real name.
install -m 755 "$target_dir/$profile/libferromq_c.so" "$prefix/lib/libferromq.so"
install -m 644 "$target_dir/$profile/libferromq_c.a" "$prefix/lib/libferromq.a"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
# What a program linking libferromq.a statically needs besides it (Linux, glibc).
native_static_libs="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" -e "s|@NATIVE_STATIC_LIBS@|$native_static_libs|" \
    "$here/ferromq.pc.in" > "$prefix/lib/pkgconfig/ferromq.pc"
echo "installed libferromq $version ($profile) into $prefix"
