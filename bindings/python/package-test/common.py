"""Helpers of the package tests (plain Python: no test-suite code is installed with the wheel)."""

from __future__ import annotations

import time

import ferromq


def create_topic(namesrv: str, topic: str, queues: int) -> None:
    """Creates `topic` and waits (30 s at most) until its route lists the queues."""
    admin = ferromq.Admin(namesrv)
    try:
        admin.create_topic(topic, queue_nums=queues)
        deadline = time.monotonic() + 30
        while True:
            try:
                if any(q["write_queue_nums"] == queues for q in admin.topic_route(topic)):
                    return
            except ferromq.FerroMQError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"no route of {topic} after 30 s")
            time.sleep(0.05)
    finally:
        admin.shutdown()
