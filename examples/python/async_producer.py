"""asyncio: many sends in flight at once with `send_async`, then a oneway send.

    FERROMQ_NAMESRV=127.0.0.1:9876 python examples/python/async_producer.py [topic]
"""

import asyncio
import os
import sys

import ferromq

NAMESRV = os.environ.get("FERROMQ_NAMESRV", "127.0.0.1:9876")
TOPIC = sys.argv[1] if len(sys.argv) > 1 else "AsyncTopic"


async def main() -> int:
    with ferromq.Producer(NAMESRV, group="async-producer") as producer:
        results = await asyncio.gather(
            *(producer.send_async(ferromq.Message(TOPIC, f"async {i}")) for i in range(20))
        )
        ok = sum(r.status == ferromq.SendStatus.SEND_OK for r in results)
        print(f"{ok} of {len(results)} async sends OK")
        producer.send_oneway(ferromq.Message(TOPIC, "fire and forget"))
    return 0 if ok == len(results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
