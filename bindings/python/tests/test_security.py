"""The `credentials=` and `tls=` options: what they accept and refuse, and what a client sees
when the servers (ACL 1.0, mutual TLS only: the `secure_cluster` fixture) refuse it. The
scenario list itself runs against those servers in test_scenarios.py."""

from __future__ import annotations

import pytest

import ferromq
from helpers import ACL_APP

# Every client object takes the same two options.
CONSTRUCTORS = {
    "Producer": lambda **kw: ferromq.Producer("127.0.0.1:9876", "pg", **kw),
    "TransactionProducer": lambda **kw: ferromq.TransactionProducer(
        "127.0.0.1:9876", "tg", lambda m, t: None, lambda m: None, **kw
    ),
    "PushConsumer": lambda **kw: ferromq.PushConsumer("127.0.0.1:9876", "cg", "t", listener=lambda m: None, **kw),
    "PullConsumer": lambda **kw: ferromq.PullConsumer("127.0.0.1:9876", "cg", **kw),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
@pytest.mark.parametrize(
    "credentials",
    [("ak", "sk"), ["ak", "sk"], ("ak", "sk", "token"), None],
)
def test_credentials_accepted(name, credentials):
    CONSTRUCTORS[name](credentials=credentials, tls=None)


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS) + ["Admin"])
@pytest.mark.parametrize(
    "credentials",
    [("ak",), ("ak", "sk", "token", "extra"), (), "aksk", ("ak", 7), ("", "sk"), ("ak", ""), 42],
)
def test_bad_credentials_raise_invalid_argument(name, credentials):
    make = CONSTRUCTORS.get(name, lambda **kw: ferromq.Admin("127.0.0.1:9876", **kw))
    with pytest.raises(ferromq.InvalidArgumentError) as e:
        make(credentials=credentials)
    assert e.value.code == "InvalidArgument"
    assert "access_key" in str(e.value)


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS) + ["Admin"])
@pytest.mark.parametrize("tls", ["yes", 1, {"ca_file": "x"}])
def test_bad_tls_value_raises_invalid_argument(name, tls):
    make = CONSTRUCTORS.get(name, lambda **kw: ferromq.Admin("127.0.0.1:9876", **kw))
    with pytest.raises(ferromq.InvalidArgumentError, match="TlsConfig"):
        make(tls=tls)


def test_tls_config_fields(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    t = ferromq.TlsConfig(ca, server_name="broker.example", verify_hostname=False)
    assert str(t.ca_file) == str(ca)
    assert t.cert_file is None and t.key_file is None
    assert t.server_name == "broker.example"
    assert t.verify_hostname is False
    assert t.trust_any_server is False
    assert t == ferromq.TlsConfig(str(ca), server_name="broker.example", verify_hostname=False)
    assert t != ferromq.TlsConfig(str(ca))
    assert "broker.example" in repr(t)
    d = ferromq.TlsConfig()
    assert (d.ca_file, d.verify_hostname, d.trust_any_server) == (None, True, False)


def test_tls_config_refuses_missing_files_and_half_pairs(tmp_path):
    with pytest.raises(ferromq.InvalidArgumentError, match="ca_file .*missing.pem"):
        ferromq.TlsConfig(tmp_path / "missing.pem")
    with pytest.raises(ferromq.InvalidArgumentError, match="not a file"):
        ferromq.TlsConfig(tmp_path)
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(ferromq.InvalidArgumentError, match="cert_file and key_file"):
        ferromq.TlsConfig(cert_file=cert)
    with pytest.raises(ferromq.InvalidArgumentError, match="key_file .*nokey"):
        ferromq.TlsConfig(cert_file=cert, key_file=tmp_path / "nokey")
    with pytest.raises(ferromq.InvalidArgumentError, match="server_name"):
        ferromq.TlsConfig(server_name="")


def test_bad_pem_is_reported_by_start(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    producer = ferromq.Producer(
        "127.0.0.1:9876", "pg", instance_name="bad-pem", tls=ferromq.TlsConfig(bad)
    )
    with pytest.raises(ferromq.InvalidArgumentError, match="TLS") as e:
        producer.start()
    assert "bad.pem" in str(e.value)
    with pytest.raises(ferromq.InvalidArgumentError, match="TLS"):
        ferromq.Admin("127.0.0.1:9876", instance_name="bad-pem-admin", tls=ferromq.TlsConfig(bad))


def test_wrong_secret_is_the_brokers_acl_refusal(secure_cluster):
    c = secure_cluster
    topic = c.topic("AclWrongSecret")
    # Its own instance name: clients sharing one share the first one's credentials.
    with ferromq.Producer(
        c.namesrv,
        c.name("pg"),
        instance_name="wrong-secret",
        retry_times=0,
        credentials=(ACL_APP[0], "not-the-secret"),
        tls=c.pki.client_tls(),
    ) as producer:
        with pytest.raises(ferromq.BrokerError) as e:
            producer.send(ferromq.Message(topic, b"refused"))
    assert e.value.code == "Broker"
    assert e.value.response_code == 1  # SYSTEM_ERROR, as Apache's broker answers an AclException
    assert e.value.remark.startswith("org.apache.rocketmq.acl.common.AclException: Check signature failed")
    assert ACL_APP[0] in e.value.remark
    # Nothing was stored.
    assert all(q["max_offset"] == 0 for q in c.admin.topic_stats(topic))


def test_unknown_access_key_and_missing_credentials_are_refused(secure_cluster):
    c = secure_cluster
    topic = c.topic("AclNoKey")
    for i, (credentials, reason) in enumerate(
        [(("nobody-at-all", "whatever-secret"), "No acl config for nobody-at-all"), (None, "No accessKey is configured")]
    ):
        with ferromq.Producer(
            c.namesrv,
            c.name("pg"),
            instance_name=f"acl-refused-{i}",
            retry_times=0,
            credentials=credentials,
            tls=c.pki.client_tls(),
        ) as producer:
            with pytest.raises(ferromq.BrokerError) as e:
                producer.send(ferromq.Message(topic, b"refused"))
        assert e.value.response_code == 1
        assert reason in e.value.remark


def test_security_token_is_sent_and_signed(secure_cluster):
    c = secure_cluster
    topic = c.topic("AclToken")
    with ferromq.Producer(
        c.namesrv,
        c.name("pg"),
        instance_name="with-token",
        credentials=(*ACL_APP, "sts-token"),
        tls=c.pki.client_tls(),
    ) as producer:
        assert producer.send(ferromq.Message(topic, b"signed")).status == ferromq.SendStatus.SEND_OK


def test_plaintext_against_enforcing_tls_fails_fast(secure_cluster):
    c = secure_cluster
    with ferromq.Producer(
        c.namesrv, c.name("pg"), instance_name="no-tls", credentials=ACL_APP, request_timeout=30, send_timeout=30
    ) as producer:
        with pytest.raises(ferromq.FerroMQError) as e:
            producer.send(ferromq.Message("AnyTopic", b"x"))
    # The server closes a plaintext connection at once: a connection error, not the 30 s
    # request timeout running out.
    assert isinstance(e.value, (ferromq.ConnectionClosedError, ferromq.ConnectError)), repr(e.value)


def test_tls_without_a_client_certificate_is_refused(secure_cluster):
    c = secure_cluster
    with ferromq.Producer(
        c.namesrv,
        c.name("pg"),
        instance_name="no-client-cert",
        credentials=ACL_APP,
        tls=ferromq.TlsConfig(c.pki.ca),
        request_timeout=30,
        send_timeout=30,
    ) as producer:
        with pytest.raises(ferromq.FerroMQError) as e:
            producer.send(ferromq.Message("AnyTopic", b"x"))
    assert isinstance(e.value, (ferromq.ConnectionClosedError, ferromq.ConnectError)), repr(e.value)


def test_server_certificate_from_another_ca_is_refused(secure_cluster, tmp_path):
    from helpers import Pki

    other = Pki(tmp_path / "other")
    c = secure_cluster
    with ferromq.Producer(
        c.namesrv,
        c.name("pg"),
        instance_name="other-ca",
        credentials=ACL_APP,
        tls=ferromq.TlsConfig(other.ca, cert_file=c.pki.client, key_file=c.pki.client_key),
    ) as producer:
        with pytest.raises(ferromq.ConnectError) as e:
            producer.send(ferromq.Message("AnyTopic", b"x"))
    assert e.value.retryable is True
