"""The Python side of the Node <-> Python interop test (interop_python.test.js).

    python python_peer.py produce <namesrv> <topic> <n>
    python python_peer.py consume <namesrv> <topic> <n> <group>

produce: n messages with tag TagPy, keys pk-<i> and pkg, properties idx and a non-ASCII note;
one JSON line per send ({"msgId": ...}). consume: a push consumer from the first offset prints
one JSON line per message (msgId, topic, body, tag, keys, properties) until n arrived; exit 1 if
they do not within 60 s.
"""

import json
import sys
import threading

import ferromq


def produce(namesrv: str, topic: str, n: int) -> int:
    with ferromq.Producer(namesrv, group=f"{topic}_py_pg") as producer:
        for i in range(n):
            message = ferromq.Message(
                topic,
                f"from python {i}".encode(),
                tag="TagPy",
                keys=[f"pk-{i}", "pkg"],
                properties={"idx": str(i), "note": f"pü€中-{i}"},
            )
            result = producer.send(message)
            print(json.dumps({"msgId": result.msg_id}), flush=True)
    return 0


def consume(namesrv: str, topic: str, n: int, group: str) -> int:
    lock = threading.Lock()
    got = {}
    done = threading.Event()

    def listener(m: ferromq.MessageView) -> ferromq.ConsumeResult:
        with lock:
            got[m.msg_id] = {
                "msgId": m.msg_id,
                "topic": m.topic,
                "body": m.body.decode(),
                "tag": m.tag,
                "keys": list(m.keys),
                "properties": dict(m.properties),
            }
            if len(got) >= n:
                done.set()
        return ferromq.ConsumeResult.SUCCESS

    with ferromq.PushConsumer(
        namesrv, group, topic, "*", listener=listener, consume_from=ferromq.ConsumeFrom.FIRST_OFFSET
    ):
        if not done.wait(timeout=60):
            print(f"only {len(got)} of {n} messages arrived", file=sys.stderr)
            return 1
    with lock:
        for record in got.values():
            print(json.dumps(record, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "produce":
        sys.exit(produce(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    sys.exit(consume(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]))
