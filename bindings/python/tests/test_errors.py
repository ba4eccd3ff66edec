"""Every client error kind maps to its exception class, with code, retryable and the cause."""

from __future__ import annotations

import pytest

import ferromq

KINDS = {
    "InvalidArgument": (ferromq.InvalidArgumentError, False),
    "Connect": (ferromq.ConnectError, True),
    "Timeout": (ferromq.RequestTimeoutError, True),
    "ConnectionClosed": (ferromq.ConnectionClosedError, True),
    "TopicNotFound": (ferromq.TopicNotFoundError, False),
    "Broker": (ferromq.BrokerError, False),
    "Protocol": (ferromq.ProtocolError, False),
    "IllegalState": (ferromq.IllegalStateError, False),
    "Io": (ferromq.FerroIOError, False),
}


@pytest.mark.parametrize("code", sorted(KINDS))
def test_every_kind_maps(code):
    cls, retryable = KINDS[code]
    e = ferromq._error_for_code(code)
    assert type(e) is cls
    assert isinstance(e, ferromq.FerroMQError)
    assert e.code == code
    assert e.retryable is retryable
    assert e.operation == "test"
    assert e.response_code is None and e.remark is None
    assert code in str(e)


def test_unknown_code_is_none():
    assert ferromq._error_for_code("NoSuchKind") is None


def test_every_exception_class_is_a_kind():
    classes = {
        getattr(ferromq, n)
        for n in dir(ferromq)
        if isinstance(getattr(ferromq, n), type) and issubclass(getattr(ferromq, n), ferromq.FerroMQError)
    }
    assert classes == {cls for cls, _ in KINDS.values()} | {ferromq.FerroMQError}


def test_cause_is_kept():
    e = ferromq._error_for_code("Io")
    assert isinstance(e.__cause__, FileNotFoundError)
    assert e.__cause__.errno == 2


def test_not_started_is_illegal_state():
    p = ferromq.Producer("127.0.0.1:9876", "never-started")
    with pytest.raises(ferromq.IllegalStateError) as e:
        p.send(ferromq.Message("T", b"x"))
    assert e.value.code == "IllegalState"


def test_bad_sql_is_invalid_argument():
    with pytest.raises(ferromq.InvalidArgumentError):
        ferromq.PushConsumer("127.0.0.1:9876", "g", "T", "A", sql="a > 1", listener=print)
    with pytest.raises(ferromq.InvalidArgumentError):
        ferromq.PushConsumer("127.0.0.1:9876", "g", "T", listener=None)  # type: ignore[arg-type]
