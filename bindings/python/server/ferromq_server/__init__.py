"""The FerroMQ servers for Python environments: `mqnamesrv`, `mqbroker`, `mqadmin` and
`mqbench`, native programs in `BIN_DIR`, run by the console commands of the same names
(`pip install 'ferromq[server]'`). `ferromq.testing.LocalCluster` runs these first.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

__all__ = ["BIN_DIR", "PROGRAMS", "path"]

BIN_DIR = Path(__file__).resolve().parent / "bin"
PROGRAMS = ("mqnamesrv", "mqbroker", "mqadmin", "mqbench")


def path(program: str) -> Path:
    """The path of one of `PROGRAMS`."""
    if program not in PROGRAMS:
        raise ValueError(f"unknown FerroMQ program {program!r}; one of {', '.join(PROGRAMS)}")
    return BIN_DIR / program


def _exec(program: str) -> NoReturn:
    exe = path(program)
    try:
        os.execv(exe, [str(exe), *sys.argv[1:]])
    except OSError as e:
        sys.exit(f"{program}: cannot run {exe}: {e}")


def mqnamesrv() -> NoReturn:
    """Console command `mqnamesrv`."""
    _exec("mqnamesrv")


def mqbroker() -> NoReturn:
    """Console command `mqbroker`."""
    _exec("mqbroker")


def mqadmin() -> NoReturn:
    """Console command `mqadmin`."""
    _exec("mqadmin")


def mqbench() -> NoReturn:
    """Console command `mqbench`."""
    _exec("mqbench")
