"""Quickstart: send a few messages with a tag, keys and a property, then consume them with a
push consumer.

    FERROMQ_NAMESRV=127.0.0.1:9876 python examples/python/quickstart.py [topic]
"""

import os
import sys
import threading

import ferromq

NAMESRV = os.environ.get("FERROMQ_NAMESRV", "127.0.0.1:9876")
TOPIC = sys.argv[1] if len(sys.argv) > 1 else "QuickstartTopic"
COUNT = 5


def main() -> int:
    with ferromq.Producer(NAMESRV, group="quickstart-producer") as producer:
        for i in range(COUNT):
            message = ferromq.Message(
                TOPIC, f"Hello FerroMQ {i}".encode(), tag="TagA", keys=f"key-{i}", properties={"index": str(i)}
            )
            result = producer.send(message)
            print(f"sent {result.msg_id} to queue {result.queue.queue_id} at offset {result.queue_offset}")

    received = []
    done = threading.Event()

    def listener(message: ferromq.MessageView) -> ferromq.ConsumeResult:
        print(f"received {message.body.decode()} tag={message.tag} keys={message.keys} "
              f"index={message.property('index')}")
        received.append(message)
        if len(received) >= COUNT:
            done.set()
        return ferromq.ConsumeResult.SUCCESS

    with ferromq.PushConsumer(
        NAMESRV,
        "quickstart-consumer",
        TOPIC,
        "TagA",
        listener=listener,
        consume_from=ferromq.ConsumeFrom.FIRST_OFFSET,
    ):
        if not done.wait(timeout=30):
            print(f"only {len(received)} of {COUNT} messages arrived", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
