"""Writes the `ferromq-server` wheel: the `ferromq_server` package (this directory's
ferromq_server/) with the native servers in `ferromq_server/bin/` and one console command per
program. Standard library only (no build backend needed: the wheel holds no code to compile).

    python3 build_wheel.py OUT_DIR BIN_DIR VERSION

BIN_DIR holds the (already stripped) programs. The platform tag is `manylinux_2_N_<arch>`, N
the newest glibc symbol version the programs use (at least 17), so pip installs the wheel only
where they can run; the Python tag is `py3-none` (the programs do not load Python).
"""

from __future__ import annotations

import base64
import hashlib
import io
import platform
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROGRAMS = ("mqnamesrv", "mqbroker", "mqadmin", "mqbench")
NAME = "ferromq_server"

METADATA = """\
Metadata-Version: 2.1
Name: ferromq-server
Version: {version}
Summary: The FerroMQ servers (mqnamesrv, mqbroker, mqadmin, mqbench) for Python environments
License: Apache-2.0
Requires-Python: >=3.9
Classifier: Programming Language :: Rust
Classifier: Operating System :: POSIX :: Linux
Description-Content-Type: text/markdown

The FerroMQ name server, broker, admin tool and benchmark as native programs, with console
commands of the same names. Installed by `pip install 'ferromq[server]'`; the `ferromq`
client's `ferromq.testing.LocalCluster` runs these servers.
"""

WHEEL = """\
Wheel-Version: 1.0
Generator: ferromq build_wheel.py
Root-Is-Purelib: false
Tag: {tag}
"""


def glibc_minor(paths: list[Path]) -> int:
    """The newest `GLIBC_2.N` symbol version referenced by the programs (17 at least)."""
    newest = 17
    for p in paths:
        for m in re.finditer(rb"GLIBC_2\.(\d+)", p.read_bytes()):
            newest = max(newest, int(m.group(1)))
    return newest


def digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def main(out_dir: Path, bin_dir: Path, version: str) -> Path:
    if not re.fullmatch(r"\d+\.\d+\.\d+([.-]?[A-Za-z0-9.]+)?", version):
        raise SystemExit(f"build_wheel.py: bad version {version!r}")
    programs = [bin_dir / p for p in PROGRAMS]
    missing = [str(p) for p in programs if not p.is_file()]
    if missing:
        raise SystemExit(f"build_wheel.py: missing programs: {', '.join(missing)}")
    arch = platform.machine()
    tag = f"py3-none-manylinux_2_{glibc_minor(programs)}_{arch}"
    dist_info = f"{NAME}-{version}.dist-info"
    files: list[tuple[str, bytes, int]] = [
        (f"{NAME}/__init__.py", (HERE / NAME / "__init__.py").read_bytes(), 0o644),
        *[(f"{NAME}/bin/{p.name}", p.read_bytes(), 0o755) for p in programs],
        (f"{dist_info}/METADATA", METADATA.format(version=version).encode(), 0o644),
        (f"{dist_info}/WHEEL", WHEEL.format(tag=tag).encode(), 0o644),
        (
            f"{dist_info}/entry_points.txt",
            ("[console_scripts]\n" + "".join(f"{p} = {NAME}:{p}\n" for p in PROGRAMS)).encode(),
            0o644,
        ),
    ]
    record = io.StringIO()
    for name, data, _ in files:
        record.write(f"{name},{digest(data)},{len(data)}\n")
    record.write(f"{dist_info}/RECORD,,\n")
    files.append((f"{dist_info}/RECORD", record.getvalue().encode(), 0o644))

    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"{NAME}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data, mode in files:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return wheel


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    print(main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]))
