"""The examples in examples/python run against the test servers (so they never rot)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "python"


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_example(cluster, script):
    topic = cluster.topic(f"Example_{Path(script).stem}")
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / script), topic],
        env={**os.environ, "FERROMQ_NAMESRV": cluster.namesrv},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"{script} failed:\n{run.stdout}\n{run.stderr}"
