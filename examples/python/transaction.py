"""Transactional messages: the local transaction decides commit or rollback; undecided ones are
answered when the broker checks back.

    FERROMQ_NAMESRV=127.0.0.1:9876 python examples/python/transaction.py [topic]
"""

import os
import sys

import ferromq

NAMESRV = os.environ.get("FERROMQ_NAMESRV", "127.0.0.1:9876")
TOPIC = sys.argv[1] if len(sys.argv) > 1 else "TransactionTopic"


def execute(message: ferromq.Message, transaction_id: str) -> ferromq.TransactionState:
    """The local transaction: commit orders, roll back everything else."""
    if message.tag == "order":
        return ferromq.TransactionState.COMMIT
    return ferromq.TransactionState.ROLLBACK


def check(message: ferromq.MessageView) -> ferromq.TransactionState:
    """The broker asks about an undecided transaction."""
    return ferromq.TransactionState.COMMIT


def main() -> int:
    with ferromq.TransactionProducer(NAMESRV, "transaction-example", execute, check) as producer:
        committed = producer.send(ferromq.Message(TOPIC, "paid", tag="order"))
        rolled_back = producer.send(ferromq.Message(TOPIC, "abandoned", tag="cart"))
        print(f"{committed.send_result.msg_id}: {committed.state}")
        print(f"{rolled_back.send_result.msg_id}: {rolled_back.state}")
    ok = committed.state == ferromq.TransactionState.COMMIT and rolled_back.state == ferromq.TransactionState.ROLLBACK
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
