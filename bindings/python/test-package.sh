#!/usr/bin/env bash
# Tests the wheels package.sh wrote into DIST_DIR as a user gets them: in a fresh venv, with no
# Rust toolchain on PATH and FERROMQ_BIN_DIR unset, installs `ferromq[server]` from DIST_DIR
# only (timed), runs `mqbroker -h`, a LocalCluster send/consume (package-test/smoke.py) and a
# pytest file using the plugin's `ferromq_cluster` fixture (package-test/test_fixture.py).
#
#   bash bindings/python/test-package.sh DIST_DIR
#
# PYTHON: the interpreter of the venv (default python3). PYTEST_SPEC: pytest to install
# (default pytest==9.2.0; pytest 9 needs Python 3.10+).
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DIST_DIR" >&2
    exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dist="$(cd "$1" && pwd)"
python="$(command -v "${PYTHON:-python3}")"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/Cargo.toml" | head -1)"
ls "$dist"/ferromq-"$version"-*.whl "$dist"/ferromq_server-"$version"-*.whl >/dev/null || {
    echo "test-package.sh: no ferromq $version wheels in $dist (run package.sh first)" >&2
    exit 1
}

# No Rust: drop ~/.cargo/bin and every PATH entry holding cargo or rustc.
clean_path=""
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
    case "$d" in "" | *.cargo/bin* | *rustup*) continue ;; esac
    if [ -e "$d/cargo" ] || [ -e "$d/rustc" ]; then continue; fi
    clean_path="${clean_path:+$clean_path:}$d"
done
export PATH="$clean_path"
unset FERROMQ_BIN_DIR CARGO_TARGET_DIR RUSTUP_HOME CARGO_HOME VIRTUAL_ENV
if command -v cargo >/dev/null || command -v rustc >/dev/null; then
    echo "test-package.sh: cargo/rustc still on PATH" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here"/package-test/*.py "$work/"
"$python" -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check "${PYTEST_SPEC:-pytest==9.2.0}"

echo "== pip install 'ferromq[server]' from $dist only"
start=$(date +%s%N)
"$py" -m pip install --quiet --disable-pip-version-check --no-index --find-links "$dist" "ferromq[server]==$version"
end=$(date +%s%N)
echo "   installed in $(( (end - start) / 1000000 )) ms"

cd "$work"
echo "== mqbroker -h (console command of ferromq-server)"
"$work/venv/bin/mqbroker" -h >"$work/mqbroker-h.txt"
head -3 "$work/mqbroker-h.txt"
for p in mqnamesrv mqadmin mqbench; do
    "$work/venv/bin/$p" -h >/dev/null
done

echo "== LocalCluster send/consume"
"$py" smoke.py

echo "== pytest with the ferromq_cluster fixture (plugin from the installed package)"
"$py" -m pytest -q -p no:cacheprovider test_fixture.py
echo "test-package.sh: ok"
