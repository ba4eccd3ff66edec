#!/usr/bin/env bash
# Builds the Python wheels into DIST_DIR:
#   ferromq-<v>-cp39-abi3-manylinux_*.whl         the client (extension + ferromq.testing + pytest plugin)
#   ferromq_server-<v>-py3-none-manylinux_*.whl   the servers, installed by `pip install 'ferromq[server]'`
# The servers are copied from BIN_DIR (a cargo output directory such as target/debug or
# target/dist, holding mqnamesrv, mqbroker, mqadmin and mqbench) and stripped.
#
#   bash bindings/python/package.sh DIST_DIR BIN_DIR
#
# FERROMQ_PY_PROFILE: cargo profile of the extension (default release; dev builds faster).
# CARGO_TARGET_DIR: where maturin builds (default <repo>/target). PYTHON: the interpreter that
# runs maturin (a private venv with maturin 1.16 is made in FERROMQ_PY_VENV, default
# bindings/python/.venv, the one ci.sh uses).
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 DIST_DIR BIN_DIR" >&2
    exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mkdir -p "$1"
dist="$(cd "$1" && pwd)"
bin_dir="$(cd "$2" 2>/dev/null && pwd)" || { echo "package.sh: BIN_DIR $2 does not exist" >&2; exit 1; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
profile="${FERROMQ_PY_PROFILE:-release}"
programs=(mqnamesrv mqbroker mqadmin mqbench)

missing=()
for p in "${programs[@]}"; do
    [ -x "$bin_dir/$p" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "package.sh: $bin_dir lacks ${missing[*]}; build them first, e.g." >&2
    echo "  cargo build -p ferromq-namesrv -p ferromq-broker -p ferromq-tools --bins [--profile dist]" >&2
    exit 1
fi

# One version for both wheels, and the client's `server` extra pins it.
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/Cargo.toml" | head -1)"
if ! grep -q "\"ferromq-server==$version\"" "$here/pyproject.toml"; then
    echo "package.sh: pyproject.toml's server extra must pin ferromq-server==$version (the crate's version)" >&2
    exit 1
fi

venv="${FERROMQ_PY_VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check maturin==1.16.0

# Stale wheels of this version would be picked up by `pip install --find-links`.
rm -f "$dist"/ferromq-"$version"-*.whl "$dist"/ferromq_server-"$version"-*.whl

echo "== ferromq wheel (extension profile: $profile)"
(cd "$here" && "$venv/bin/maturin" build --quiet --profile "$profile" --strip --out "$dist" \
    --interpreter "$venv/bin/python")

echo "== ferromq-server wheel (servers from $bin_dir, stripped)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
for p in "${programs[@]}"; do
    strip --strip-all -o "$stage/$p" "$bin_dir/$p"
    chmod 755 "$stage/$p"
done
"$venv/bin/python" "$here/server/build_wheel.py" "$dist" "$stage" "$version" >/dev/null

echo "== sizes"
(cd "$stage" && for p in "${programs[@]}"; do printf '  %-10s %6s KiB (stripped)\n' "$p" $(( $(stat -c %s "$p") / 1024 )); done)
for w in "$dist"/ferromq-"$version"-*.whl "$dist"/ferromq_server-"$version"-*.whl; do
    printf '  %s %s KiB\n' "$(basename "$w")" $(( $(stat -c %s "$w") / 1024 ))
done
