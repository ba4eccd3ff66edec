/* ACL and TLS refusals against servers started with FMQ_SECURE=1 (tests/servers.sh: TLS
 * enforcing on both servers, ACL 1.0 on the broker): a wrong secret key is refused by the
 * broker (FMQ_ERR_BROKER, response code 1, Apache's AclException remark); a plaintext client of
 * the enforcing ports gets an error, not a hang; the right credentials over TLS send; bad
 * settings are refused by the setters. Usage: security   (FMQ_NAMESRV, FMQ_TLS_CA,
 * FMQ_ACCESS_KEY, FMQ_SECRET_KEY set) */
#include "common.h"

static fmq_producer *producer_new(const char *access_key, const char *secret_key, bool tls) {
    char group[96];
    unique(group, sizeof group, "SecurityP");
    fmq_producer *p = NULL;
    CHECK_OK(fmq_producer_new(namesrv(), group, &p));
    if (access_key) CHECK_OK(fmq_producer_set_credentials(p, access_key, secret_key, NULL));
    if (tls) CHECK_OK(fmq_producer_set_tls(p, test_tls()));
    CHECK_OK(fmq_producer_set_retry_times(p, 0));
    return p;
}

/* Sends one message with P, which must fail with EXPECTED; returns how long it took. */
static double send_fails(fmq_producer *p, const char *topic, fmq_result expected) {
    fmq_message *m = NULL;
    CHECK_OK(fmq_message_new(topic, (const uint8_t *)"x", 1, &m));
    fmq_send_result r;
    double t = now_s();
    fmq_result got = fmq_producer_send(p, m, &r);
    double took = now_s() - t;
    fmq_message_free(m);
    if (got != expected)
        FAIL("send -> %s (wanted %s): %s", fmq_result_name(got), fmq_result_name(expected), fmq_error_message());
    return took;
}

static void wrong_secret_is_refused_by_the_broker(const char *topic) {
    fmq_producer *p = producer_new(test_access_key(), "not-the-secret-key", true);
    CHECK_OK(fmq_producer_start(p));
    send_fails(p, topic, FMQ_ERR_BROKER);
    const char *msg = fmq_error_message();
    CHECK(fmq_error_response_code() == 1, "SYSTEM_ERROR (1) expected, got %d: %s", (int)fmq_error_response_code(), msg);
    CHECK(strstr(msg, "AclException") != NULL, "the AclException remark expected: %s", msg);
    CHECK_OK(fmq_producer_shutdown(p));
    fmq_producer_free(p);
    printf("ok - wrong secret: %s\n", msg);
}

static void unsigned_requests_are_refused(const char *topic) {
    fmq_producer *p = producer_new(NULL, NULL, true);
    CHECK_OK(fmq_producer_start(p));
    send_fails(p, topic, FMQ_ERR_BROKER);
    CHECK(strstr(fmq_error_message(), "AclException") != NULL, "%s", fmq_error_message());
    fmq_producer_free(p);
    printf("ok - no credentials refused\n");
}

static void plaintext_to_enforcing_ports_fails_promptly(const char *topic) {
    fmq_producer *p = producer_new(test_access_key(), test_secret_key(), false);
    CHECK_OK(fmq_producer_start(p));
    /* The name server closes the plaintext connection: no route, an error (not a hang). */
    fmq_message *m = NULL;
    CHECK_OK(fmq_message_new(topic, (const uint8_t *)"x", 1, &m));
    fmq_send_result r;
    double t = now_s();
    fmq_result got = fmq_producer_send(p, m, &r);
    double took = now_s() - t;
    fmq_message_free(m);
    CHECK(got != FMQ_OK, "a plaintext send to enforcing servers succeeded");
    CHECK(strlen(fmq_error_message()) > 0, "an error has a message");
    printf("ok - plaintext client: %s after %.1f s: %s\n", fmq_result_name(got), took, fmq_error_message());
    fmq_producer_free(p);
    /* The admin calls (settings of their own) fail the same way without TLS. */
    CHECK_OK(fmq_admin_set_tls(NULL));
    int32_t w = 0;
    got = fmq_admin_topic_write_queues(namesrv(), topic, &w);
    CHECK(got != FMQ_OK, "a plaintext admin call to an enforcing name server succeeded");
    printf("ok - plaintext admin: %s: %s\n", fmq_result_name(got), fmq_error_message());
    CHECK_OK(fmq_admin_set_tls(test_tls()));
}

static void right_credentials_over_tls_send(const char *topic) {
    fmq_producer *p = producer_new(test_access_key(), test_secret_key(), true);
    CHECK_OK(fmq_producer_start(p));
    fmq_message *m = NULL;
    CHECK_OK(fmq_message_new(topic, (const uint8_t *)"x", 1, &m));
    fmq_send_result r;
    CHECK_OK(fmq_producer_send(p, m, &r));
    CHECK(r.status == FMQ_SEND_OK, "status %d", (int)r.status);
    fmq_message_free(m);
    fmq_producer_free(p);
    printf("ok - signed send over TLS\n");
}

static void bad_settings_are_refused(void) {
    fmq_producer *p = NULL;
    CHECK_OK(fmq_producer_new(namesrv(), "SecurityBad", &p));
    CHECK_ERR(fmq_producer_set_credentials(p, "ak-only", NULL, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_set_credentials(p, "", "secret", NULL), FMQ_ERR_INVALID_ARGUMENT);
    fmq_tls_options tls = {0};
    tls.ca_file = "/nonexistent/ca.pem";
    CHECK_ERR(fmq_producer_set_tls(p, &tls), FMQ_ERR_INVALID_ARGUMENT);
    memset(&tls, 0, sizeof tls);
    tls.cert_file = test_tls()->ca_file; /* a certificate without its key */
    CHECK_ERR(fmq_producer_set_tls(p, &tls), FMQ_ERR_INVALID_ARGUMENT);
    memset(&tls, 0, sizeof tls);
    tls.flags = 0x80;
    CHECK_ERR(fmq_producer_set_tls(p, &tls), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_OK(fmq_producer_set_credentials(p, NULL, NULL, NULL)); /* clears */
    CHECK_OK(fmq_producer_set_tls(p, NULL));                      /* plaintext again */
    fmq_producer_free(p);
    printf("ok - bad settings refused\n");
}

int main(void) {
    if (!test_tls() || !test_access_key()) FAIL("run with servers from FMQ_SECURE=1 (bindings/c/ci.sh)");
    char topic[96];
    make_topic(topic, sizeof topic, "Security", 2); /* signed admin calls over TLS */
    bad_settings_are_refused();
    right_credentials_over_tls_send(topic);
    wrong_secret_is_refused_by_the_broker(topic);
    unsigned_requests_are_refused(topic);
    plaintext_to_enforcing_ports_fails_promptly(topic);
    return 0;
}
