"""Credentials and TLS: send one message to a broker with ACL 1.0 on, over TLS, and read it
back with a pull consumer. The account and the certificate files come from the environment:

    FERROMQ_NAMESRV=10.0.0.5:9876 FERROMQ_ACCESS_KEY=app-orders FERROMQ_SECRET_KEY=... \\
    FERROMQ_TLS_CA=ca.pem [FERROMQ_TLS_CERT=app.pem FERROMQ_TLS_KEY=app.key] \\
        python examples/python/secure.py [topic]

FERROMQ_TLS_CERT / FERROMQ_TLS_KEY are needed only by servers that require client
certificates (`tls.server.need.client.auth=require`).
"""

import os
import sys

import ferromq

NAMESRV = os.environ.get("FERROMQ_NAMESRV", "127.0.0.1:9876")
TOPIC = sys.argv[1] if len(sys.argv) > 1 else "SecureTopic"


def main() -> int:
    credentials = (os.environ["FERROMQ_ACCESS_KEY"], os.environ["FERROMQ_SECRET_KEY"])
    tls = ferromq.TlsConfig(
        os.environ.get("FERROMQ_TLS_CA"),  # None: the system's trusted roots
        cert_file=os.environ.get("FERROMQ_TLS_CERT"),
        key_file=os.environ.get("FERROMQ_TLS_KEY"),
    )
    security = {"credentials": credentials, "tls": tls}

    with ferromq.Producer(NAMESRV, "secure-producer", **security) as producer:
        sent = producer.send(ferromq.Message(TOPIC, b"signed and encrypted"))
        print(f"sent {sent.msg_id} over TLS as {credentials[0]}")

    with ferromq.PullConsumer(
        NAMESRV, "secure-consumer", consume_from=ferromq.ConsumeFrom.FIRST_OFFSET, iter_timeout=5, **security
    ) as consumer:
        consumer.subscribe(TOPIC, "*")
        for message in consumer:
            print(f"received {message.body.decode()}")
            if message.msg_id == sent.msg_id:
                return 0
    print("the message did not come back", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
