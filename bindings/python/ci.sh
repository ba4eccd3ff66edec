#!/usr/bin/env bash
# Builds the `ferromq` Python package into a private venv and runs its checks: the stub check
# and the pytest suite against real FerroMQ servers (built here in debug, started by the
# package's own ferromq.testing.LocalCluster through its pytest plugin). The wheels and their
# install-and-run test are package.sh and test-package.sh. Non-interactive;
# run from anywhere: `bash bindings/python/ci.sh`. Extra arguments go to pytest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# One target directory for the servers and the extension module.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
venv="${FERROMQ_PY_VENV:-$here/.venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
# pytest 9 needs Python 3.10+; PYTEST_SPEC=pytest==8.4.2 runs the suite on 3.9.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check maturin==1.16.0 "${PYTEST_SPEC:-pytest==9.2.0}"

echo "== servers (debug)"
(cd "$root" && cargo build --quiet -p ferromq-namesrv -p ferromq-broker)

echo "== ferromq extension (maturin develop, debug)"
(cd "$here" && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" maturin develop --quiet)
"$venv/bin/python" -c "import ferromq, sys; print('ferromq', ferromq.__version__, 'on Python', sys.version.split()[0])"

echo "== rustfmt and clippy (the crate is outside the root workspace)"
(cd "$here" && cargo fmt --check)
(cd "$here" && PYO3_PYTHON="$venv/bin/python" cargo clippy --quiet --all-targets -- -D warnings)

echo "== pytest (stub check, error mapping, scenarios, examples)"
cd "$here"
FERROMQ_TARGET_DIR="$CARGO_TARGET_DIR" "$venv/bin/python" -m pytest -q tests "$@"
