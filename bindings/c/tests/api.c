/* The API's contract without servers: NULL checks, outputs untouched on failure, error codes
 * and messages, lifecycle errors, message accessors. Usage: api */
#include "common.h"

static void on_message(const fmq_message_view *m, void *userdata) {
    (void)m;
    (void)userdata;
}

static int32_t pick_first(const fmq_message *m, int32_t queue_count, void *userdata) {
    (void)m;
    (void)queue_count;
    (void)userdata;
    return 0;
}

static void on_broker(const char *cluster, const char *broker, const char *addr, void *userdata) {
    (void)cluster;
    (void)broker;
    (void)addr;
    (void)userdata;
}

static void on_offsets(const char *broker, int32_t queue_id, int64_t a, int64_t b, int64_t t, void *userdata) {
    (void)broker;
    (void)queue_id;
    (void)a;
    (void)b;
    (void)t;
    (void)userdata;
}

static int32_t listener(const fmq_message_view *m, void *userdata) {
    (void)m;
    (void)userdata;
    return FMQ_CONSUME_SUCCESS;
}

int main(void) {
    /* Result names are stable. */
    CHECK(strcmp(fmq_result_name(FMQ_OK), "FMQ_OK") == 0, "name");
    CHECK(strcmp(fmq_result_name(FMQ_ERR_TIMEOUT), "FMQ_ERR_TIMEOUT") == 0, "name");
    CHECK(strcmp(fmq_result_name(12345), "FMQ_ERR_UNKNOWN") == 0, "name");
    CHECK(strcmp(fmq_error_message(), "") == 0, "no error yet");
    /* Kind names are the core's. */
    CHECK(strcmp(fmq_error_kind_name(FMQ_ERR_ILLEGAL_STATE), "IllegalState") == 0, "kind");
    CHECK(strcmp(fmq_error_kind_name(FMQ_ERR_INVALID_ARGUMENT), "InvalidArgument") == 0, "kind");
    CHECK(strcmp(fmq_error_kind_name(FMQ_OK), "Ok") == 0, "kind");
    CHECK(strcmp(fmq_error_kind_name(-3), "Unknown") == 0, "kind");

    /* Messages: NULL checks, outputs written only on success, accessors. */
    fmq_message *m = (fmq_message *)0x1;
    CHECK_ERR(fmq_message_new(NULL, NULL, 0, &m), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(m == (fmq_message *)0x1, "out untouched");
    CHECK(strstr(fmq_error_message(), "topic is NULL") != NULL, "%s", fmq_error_message());
    CHECK_ERR(fmq_message_new("T", NULL, 3, &m), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_message_new("T", NULL, 0, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_message_new("\xff\xfe", NULL, 0, &m), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(strstr(fmq_error_message(), "UTF-8") != NULL, "%s", fmq_error_message());
    m = NULL;
    CHECK_OK(fmq_message_new("TopicTest", (const uint8_t *)"hello", 5, &m));
    CHECK(m != NULL, "message made");
    CHECK_OK(fmq_message_set_tag(m, "TagA"));
    CHECK_OK(fmq_message_set_keys(m, "k1 k2"));
    CHECK_OK(fmq_message_set_property(m, "a", "1"));
    CHECK_OK(fmq_message_set_delay_level(m, 3));
    CHECK_OK(fmq_message_set_deliver_time(m, 1700000000000LL));
    CHECK_ERR(fmq_message_set_tag(m, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_message_set_tag(NULL, "x"), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_message_set_property(m, "", "v"), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_message_set_delay_level(m, -1), FMQ_ERR_INVALID_ARGUMENT);
    size_t len = 0;
    const uint8_t *body = fmq_message_body(m, &len);
    CHECK(len == 5 && memcmp(body, "hello", 5) == 0, "body");
    CHECK(fmq_message_body(NULL, &len) == NULL, "NULL message");
    CHECK(strcmp(fmq_message_topic(m), "TopicTest") == 0, "topic");
    CHECK(strcmp(fmq_message_tag(m), "TagA") == 0, "tag");
    CHECK(strcmp(fmq_message_property(m, "KEYS"), "k1 k2") == 0, "keys: %s", fmq_message_property(m, "KEYS"));
    CHECK(strcmp(fmq_message_property(m, "a"), "1") == 0, "property");
    CHECK(fmq_message_property(m, "missing") == NULL, "absent property");
    CHECK(fmq_message_topic(NULL) == NULL && fmq_message_property(m, NULL) == NULL, "NULL arguments");
    fmq_message_free(NULL);

    /* View accessors tolerate NULL. */
    CHECK(fmq_message_view_topic(NULL) == NULL && fmq_message_view_queue_id(NULL) == -1, "NULL view");
    CHECK(fmq_message_view_queue_offset(NULL) == -1 && fmq_message_view_body(NULL, &len) == NULL, "NULL view");

    /* Producer lifecycle without a server: settings before start, sends after. */
    fmq_producer *p = NULL;
    CHECK_ERR(fmq_producer_new(NULL, "g", &p), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_new("127.0.0.1:9876", "", &p), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_new("", "g", &p), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(p == NULL, "out untouched");
    CHECK_OK(fmq_producer_new("127.0.0.1:9876", "api_group", &p));
    CHECK_OK(fmq_producer_set_send_timeout(p, 500));
    CHECK_ERR(fmq_producer_set_send_timeout(p, 0), FMQ_ERR_INVALID_ARGUMENT);
    fmq_send_result r;
    memset(&r, 0x5a, sizeof r);
    CHECK_ERR(fmq_producer_send(p, m, &r), FMQ_ERR_ILLEGAL_STATE);
    CHECK(strstr(fmq_error_message(), "not started") != NULL, "%s", fmq_error_message());
    CHECK(((unsigned char *)&r)[0] == 0x5a, "out untouched");
    CHECK_ERR(fmq_producer_send(NULL, m, &r), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_send(p, m, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_send_async(p, m, NULL, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_send_batch(p, NULL, 0, &r), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_send_with_selector(p, m, NULL, NULL, &r), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_send_with_selector(p, m, pick_first, NULL, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_send_with_selector(p, m, pick_first, NULL, &r), FMQ_ERR_ILLEGAL_STATE);
    CHECK(((unsigned char *)&r)[0] == 0x5a, "out untouched");
    /* Request-reply before start and with bad arguments; the reply is written only on success. */
    fmq_message_view *reply = (fmq_message_view *)0x1;
    CHECK_ERR(fmq_producer_request(p, m, 1000, &reply), FMQ_ERR_ILLEGAL_STATE);
    CHECK(reply == (fmq_message_view *)0x1, "reply untouched");
    CHECK_ERR(fmq_producer_request(p, m, 0, &reply), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_request(NULL, m, 1000, &reply), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_request(p, m, 1000, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_request_async(p, m, 1000, NULL, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_request_to_queue(p, m, "broker-a", 0, 1000, &reply), FMQ_ERR_ILLEGAL_STATE);
    CHECK_ERR(fmq_producer_request_to_queue(p, m, NULL, 0, 1000, &reply), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_request_with_sharding_key(p, m, "k", 1000, &reply), FMQ_ERR_ILLEGAL_STATE);
    CHECK_ERR(fmq_producer_request_with_sharding_key(p, m, NULL, 1000, &reply), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_request_with_selector(p, m, pick_first, NULL, 1000, &reply), FMQ_ERR_ILLEGAL_STATE);
    CHECK_ERR(fmq_producer_request_with_selector(p, m, NULL, NULL, 1000, &reply), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_request_with_selector(p, m, pick_first, NULL, 0, &reply), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_request_with_selector(p, m, pick_first, NULL, 1000, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(reply == (fmq_message_view *)0x1, "reply untouched");
    CHECK_ERR(fmq_producer_send_reply(p, m, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_send_reply(p, m, &r), FMQ_ERR_ILLEGAL_STATE);
    fmq_message *answer = (fmq_message *)0x1;
    CHECK_ERR(fmq_message_reply_to(NULL, (const uint8_t *)"x", 1, &answer), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(answer == (fmq_message *)0x1, "out untouched");
    fmq_message_view_free(NULL);
    fmq_producer_metrics pm;
    memset(&pm, 0x5a, sizeof pm);
    CHECK_ERR(fmq_producer_get_metrics(p, &pm), FMQ_ERR_ILLEGAL_STATE);
    CHECK(((unsigned char *)&pm)[0] == 0x5a, "metrics untouched");
    CHECK_ERR(fmq_producer_get_metrics(p, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_get_metrics(NULL, &pm), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_OK(fmq_producer_shutdown(p));
    CHECK_OK(fmq_producer_shutdown(p)); /* a second shutdown does nothing */
    CHECK_ERR(fmq_producer_start(p), FMQ_ERR_ILLEGAL_STATE);
    CHECK(strstr(fmq_error_message(), "shut down") != NULL, "%s", fmq_error_message());
    CHECK(fmq_error_response_code() == -1, "no server answered: %d", (int)fmq_error_response_code());
    CHECK_ERR(fmq_producer_set_credentials(p, "ak-0001", "sk-0001", NULL), FMQ_ERR_ILLEGAL_STATE);
    CHECK_ERR(fmq_producer_set_tls(p, NULL), FMQ_ERR_ILLEGAL_STATE);
    fmq_producer_free(p);
    fmq_producer_free(NULL);

    /* Credentials and TLS: checked by the setters, before start. */
    fmq_tls_options tls;
    memset(&tls, 0, sizeof tls);
    CHECK_ERR(fmq_producer_set_credentials(NULL, "ak-0001", "sk-0001", NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_set_tls(NULL, &tls), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_push_consumer_set_credentials(NULL, "ak-0001", "sk-0001", NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_pull_consumer_set_tls(NULL, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_transaction_producer_set_credentials(NULL, NULL, NULL, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_OK(fmq_producer_new("127.0.0.1:9876", "api_secure", &p));
    CHECK_ERR(fmq_producer_set_credentials(p, "ak-0001", NULL, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_set_credentials(p, "ak-0001", "", NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_OK(fmq_producer_set_credentials(p, "ak-0001", "sk-0001", "sts-token"));
    CHECK_OK(fmq_producer_set_credentials(p, NULL, NULL, NULL));
    tls.ca_file = "/nonexistent/ca.pem";
    CHECK_ERR(fmq_producer_set_tls(p, &tls), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(strstr(fmq_error_message(), "/nonexistent/ca.pem") != NULL, "%s", fmq_error_message());
    memset(&tls, 0, sizeof tls);
    tls.flags = 1u << 7;
    CHECK_ERR(fmq_producer_set_tls(p, &tls), FMQ_ERR_INVALID_ARGUMENT);
    tls.flags = FMQ_TLS_NO_VERIFY_HOSTNAME | FMQ_TLS_TRUST_ANY_SERVER;
    tls.server_name = "broker.example.com";
    CHECK_OK(fmq_producer_set_tls(p, &tls));
    CHECK_OK(fmq_producer_set_tls(p, NULL));
    fmq_producer_free(p);
    CHECK_ERR(fmq_admin_set_credentials("ak-0001", NULL, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_OK(fmq_admin_set_credentials(NULL, NULL, NULL));
    tls.key_file = "/nonexistent/key.pem";
    CHECK_ERR(fmq_admin_set_tls(&tls), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_OK(fmq_admin_set_tls(NULL));

    /* Consumers and the transaction producer. */
    fmq_push_consumer *c = NULL;
    CHECK_OK(fmq_push_consumer_new("127.0.0.1:9876", "api_cg", &c));
    CHECK_ERR(fmq_push_consumer_subscribe(c, NULL, "*"), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_push_consumer_start(c, NULL, NULL), FMQ_ERR_INVALID_ARGUMENT);
    fmq_consumer_metrics cm;
    fmq_queue_lag lags[2];
    CHECK_ERR(fmq_push_consumer_get_metrics(c, lags, 2, &cm), FMQ_ERR_ILLEGAL_STATE);
    CHECK_ERR(fmq_push_consumer_get_metrics(c, NULL, 2, &cm), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_push_consumer_get_metrics(c, lags, 2, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_push_consumer_start(c, listener, NULL), FMQ_ERR_INVALID_ARGUMENT); /* no subscription */
    CHECK(strstr(fmq_error_message(), "subscription") != NULL, "%s", fmq_error_message());
    /* Option text is parsed by the core; the rules are checked at start. */
    CHECK_ERR(fmq_push_consumer_set_consume_from(c, "sideways"), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(strstr(fmq_error_message(), "lastOffset") != NULL, "names the values: %s", fmq_error_message());
    CHECK_OK(fmq_push_consumer_set_consume_from(c, "CONSUME_FROM_FIRST_OFFSET"));
    CHECK_OK(fmq_push_consumer_set_consume_from(c, "first_offset"));
    CHECK_ERR(fmq_push_consumer_set_message_model(c, "everyone"), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_OK(fmq_push_consumer_set_message_model(c, "BROADCASTING"));
    CHECK_OK(fmq_push_consumer_set_message_model(c, "clustering"));
    CHECK_ERR(fmq_push_consumer_set_allocation(c, "randomly"), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_OK(fmq_push_consumer_set_allocation(c, "avgByCircle"));
    CHECK_OK(fmq_push_consumer_set_allocation(c, "consistentHash"));
    CHECK_ERR(fmq_push_consumer_subscribe_filter(c, "T", "TagA", "a > 1"), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(strstr(fmq_error_message(), "not both") != NULL, "%s", fmq_error_message());
    CHECK_ERR(fmq_push_consumer_subscribe_typed(c, "T", "xpath", "a"), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_OK(fmq_push_consumer_subscribe_typed(c, "T", "SQL92", "a > 1"));
    CHECK_OK(fmq_push_consumer_subscribe_filter(c, "T", NULL, NULL));
    CHECK_OK(fmq_push_consumer_set_consume_batch_size(c, 0));
    CHECK_ERR(fmq_push_consumer_start(c, listener, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(strstr(fmq_error_message(), "batch size") != NULL, "%s", fmq_error_message());
    CHECK_OK(fmq_push_consumer_set_consume_batch_size(c, 4));
    /* Housekeeping options: a zero consume timeout is refused at once, the other rules at
     * start; the start that fails on the timestamp below shows these values were taken. */
    CHECK_ERR(fmq_push_consumer_set_consume_timeout(c, 0), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(strstr(fmq_error_message(), "timeout is 0") != NULL, "%s", fmq_error_message());
    CHECK_OK(fmq_push_consumer_set_consume_timeout(c, 60000));
    CHECK_OK(fmq_push_consumer_set_await_termination(c, 0));
    CHECK_OK(fmq_push_consumer_set_suspend_current_queue_time(c, 5));
    CHECK_ERR(fmq_push_consumer_start(c, listener, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(strstr(fmq_error_message(), "10 ms to 30 s") != NULL, "%s", fmq_error_message());
    CHECK_OK(fmq_push_consumer_set_suspend_current_queue_time(c, 10));
    CHECK_ERR(fmq_push_consumer_set_pull_thresholds_for_topic(c, -2, -1), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_OK(fmq_push_consumer_set_pull_thresholds_for_topic(c, 0, -1));
    CHECK_ERR(fmq_push_consumer_start(c, listener, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(strstr(fmq_error_message(), "pull thresholds") != NULL, "%s", fmq_error_message());
    CHECK_OK(fmq_push_consumer_set_pull_thresholds_for_topic(c, 40, 8 << 20));
    CHECK_OK(fmq_push_consumer_set_pull_thresholds_for_queue(c, 5, 0));
    CHECK_ERR(fmq_push_consumer_start(c, listener, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(strstr(fmq_error_message(), "pull size thresholds") != NULL, "%s", fmq_error_message());
    CHECK_OK(fmq_push_consumer_set_pull_thresholds_for_queue(c, 5, 1 << 20));
    CHECK_OK(fmq_push_consumer_set_consume_timestamp(c, 1700000000000LL));
    CHECK_ERR(fmq_push_consumer_start(c, listener, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(strstr(fmq_error_message(), "timestamp") != NULL, "%s", fmq_error_message());
    CHECK_OK(fmq_push_consumer_shutdown(c));
    CHECK_ERR(fmq_push_consumer_set_consume_threads(c, 4), FMQ_ERR_ILLEGAL_STATE);
    CHECK_ERR(fmq_push_consumer_start(c, listener, NULL), FMQ_ERR_ILLEGAL_STATE);
    fmq_push_consumer_free(c);
    fmq_pull_consumer *pc = NULL;
    CHECK_OK(fmq_pull_consumer_new("127.0.0.1:9876", "api_pull", &pc));
    size_t n = 7;
    CHECK_ERR(fmq_pull_consumer_poll(pc, 100, on_message, NULL, &n), FMQ_ERR_ILLEGAL_STATE);
    CHECK(n == 7, "out untouched");
    bool got = true;
    CHECK_ERR(fmq_pull_consumer_next_message(pc, 100, on_message, NULL, &got), FMQ_ERR_ILLEGAL_STATE);
    CHECK(got, "out untouched");
    CHECK_ERR(fmq_pull_consumer_next_message(pc, 100, on_message, NULL, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_pull_consumer_seek(pc, "T", "b", 0, 2), FMQ_ERR_ILLEGAL_STATE);
    CHECK_ERR(fmq_pull_consumer_seek_to_end(pc, "T"), FMQ_ERR_ILLEGAL_STATE);
    CHECK_ERR(fmq_pull_consumer_pause(pc, "T", NULL, 0), FMQ_ERR_ILLEGAL_STATE);
    CHECK_ERR(fmq_pull_consumer_resume(pc, "T", NULL, 0), FMQ_ERR_ILLEGAL_STATE);
    CHECK_ERR(fmq_pull_consumer_set_consume_from(pc, "sideways"), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_OK(fmq_pull_consumer_set_consume_from(pc, "timestamp"));
    CHECK_ERR(fmq_pull_consumer_start(pc), FMQ_ERR_INVALID_ARGUMENT); /* no timestamp */
    CHECK_OK(fmq_pull_consumer_set_consume_timestamp(pc, -5));
    CHECK_ERR(fmq_pull_consumer_start(pc), FMQ_ERR_INVALID_ARGUMENT);
    fmq_pull_consumer_free(pc);
    fmq_transaction_producer *tp = NULL;
    CHECK_ERR(fmq_transaction_producer_new("127.0.0.1:9876", "api_tx", NULL, NULL, NULL, &tp), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(tp == NULL, "out untouched");
    CHECK_ERR(fmq_transaction_producer_set_msg_trace(NULL, true, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_admin_create_topic("127.0.0.1:9876", NULL, "T", 0), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_admin_create_topic_with_order("127.0.0.1:9876", NULL, "T", -1, true), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_admin_delete_topic("127.0.0.1:9876", NULL, NULL), FMQ_ERR_INVALID_ARGUMENT);
    n = 7;
    CHECK_ERR(fmq_admin_cluster_info("127.0.0.1:9876", NULL, NULL, &n), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_admin_cluster_info("127.0.0.1:9876", on_broker, NULL, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_admin_topic_route("127.0.0.1:9876", "T", NULL, NULL, &n), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_admin_topic_stats("127.0.0.1:9876", NULL, on_offsets, NULL, &n), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_admin_consumer_progress("127.0.0.1:9876", NULL, "T", on_offsets, NULL, &n), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_admin_query_by_key("127.0.0.1:9876", "T", "k", 0, on_message, NULL, &n), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_admin_view_message("127.0.0.1:9876", "id", NULL, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(n == 7, "out untouched");

    fmq_message_free(m);
    printf("ok - api\n");
    return 0;
}
