"""The examples in examples/python run against the test servers (so they never rot);
secure.py against the servers with ACL and TLS, with the application account and the test
certificates in its environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ACL_APP

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "python"


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_example(request, script):
    env = dict(os.environ)
    if script == "secure.py":
        cluster = request.getfixturevalue("secure_cluster")
        env.update(
            FERROMQ_ACCESS_KEY=ACL_APP[0],
            FERROMQ_SECRET_KEY=ACL_APP[1],
            FERROMQ_TLS_CA=str(cluster.pki.ca),
            FERROMQ_TLS_CERT=str(cluster.pki.client),
            FERROMQ_TLS_KEY=str(cluster.pki.client_key),
        )
    else:
        cluster = request.getfixturevalue("cluster")
    env["FERROMQ_NAMESRV"] = cluster.namesrv
    topic = cluster.topic(f"Example_{Path(script).stem}")
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / script), topic],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"{script} failed:\n{run.stdout}\n{run.stderr}"
