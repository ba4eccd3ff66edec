"""Lite pull consumer: send ordered messages by sharding key, then read every queue with
`for message in consumer` (ends after `iter_timeout` seconds without messages).

    FERROMQ_NAMESRV=127.0.0.1:9876 python examples/python/pull_consumer.py [topic]
"""

import os
import sys

import ferromq

NAMESRV = os.environ.get("FERROMQ_NAMESRV", "127.0.0.1:9876")
TOPIC = sys.argv[1] if len(sys.argv) > 1 else "PullTopic"


def main() -> int:
    with ferromq.Producer(NAMESRV, group="pull-example-producer") as producer:
        for order in range(3):
            for step in range(3):
                producer.send(ferromq.Message(TOPIC, f"order {order} step {step}"), sharding_key=f"order-{order}")

    seen = 0
    with ferromq.PullConsumer(
        NAMESRV, "pull-example-consumer", consume_from=ferromq.ConsumeFrom.FIRST_OFFSET, iter_timeout=3
    ) as consumer:
        consumer.assign(consumer.fetch_queues(TOPIC))
        for message in consumer:
            print(f"queue {message.queue_id} offset {message.queue_offset}: {message.body.decode()}")
            seen += 1
        consumer.commit()
    return 0 if seen == 9 else 1


if __name__ == "__main__":
    sys.exit(main())
