#!/usr/bin/env python3
"""Request-reply responder in Python (tests/interop/README.md).

    responder.py --namesrv ADDR --topic T --group G [--ready-timeout S]

Starts a producer and a push consumer of group G on topic T (from the first offset) and answers
every request with `pong:<body>`. Prints the single line `ready` on standard output once the
consumer holds queues of T, then runs until SIGTERM (or SIGINT) or until standard input closes,
and shuts down. Logs go to standard error. Exits non-zero when it could not start, or when a
reply could not be sent.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time

import ferromq

log = logging.getLogger("responder.py")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--namesrv", required=True, help="name server address, host:port")
    ap.add_argument("--topic", required=True, help="the topic the requests come on")
    ap.add_argument("--group", required=True, help="the consumer group (the producer's is <group>-replier)")
    ap.add_argument("--ready-timeout", type=float, default=60.0, help="seconds to wait for queues (60)")
    args = ap.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(name)s: %(message)s")

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def watch_stdin() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, name="stdin", daemon=True).start()

    lock = threading.Lock()
    counts = {"answered": 0, "failed": 0}
    replier = ferromq.Producer(args.namesrv, f"{args.group}-replier")

    def answer(request: ferromq.MessageView) -> None:
        try:
            replier.send_reply(ferromq.Message.reply_to(request, b"pong:" + request.body))
        except ferromq.FerroMQError as e:
            log.error("reply to %s not sent: %s", request.msg_id, e)
            with lock:
                counts["failed"] += 1
            return
        with lock:
            counts["answered"] += 1

    consumer = ferromq.PushConsumer(
        args.namesrv, args.group, args.topic, listener=answer, consume_from=ferromq.ConsumeFrom.FIRST_OFFSET
    )
    replier.start()
    try:
        consumer.start()
        try:
            deadline = time.monotonic() + args.ready_timeout
            while not any(q.topic == args.topic for q in consumer.assigned_queues()):
                if stop.is_set():
                    log.error("stopped before any queue of %s was assigned", args.topic)
                    return 1
                if time.monotonic() > deadline:
                    log.error("no queue of %s assigned within %s s", args.topic, args.ready_timeout)
                    return 1
                time.sleep(0.05)
            print("ready", flush=True)
            # (A bounded wait, so that the signal handler runs promptly.)
            while not stop.wait(0.2):
                pass
        finally:
            consumer.shutdown()
    finally:
        replier.shutdown()
    log.info("answered %d requests, %d replies failed", counts["answered"], counts["failed"])
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ferromq.FerroMQError as e:
        log.error("%s", e)
        sys.exit(1)
