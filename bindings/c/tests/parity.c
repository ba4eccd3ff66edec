/* The parity suite (tests/parity/README.md) with the C API: runs the ten cases in order and
 * prints one `<case> <outcome>` line each; ci.sh diffs the output with
 * tests/parity/expected.txt. Errors are printed by the core's error kind
 * (fmq_error_kind_name). Usage: parity (FMQ_NAMESRV set) */
#include "common.h"

/* "ok" or "error=<kind>". */
static void print_result(const char *name, fmq_result r) {
    if (r == FMQ_OK)
        printf("%s ok\n", name);
    else
        printf("%s error=%s\n", name, fmq_error_kind_name(r));
    fflush(stdout);
}

static fmq_producer *new_producer(void) {
    char group[96];
    unique(group, sizeof group, "parity_pg");
    fmq_producer *p = NULL;
    CHECK_OK(fmq_producer_new(namesrv(), group, &p));
    secure_producer(p);
    return p;
}

static fmq_push_consumer *new_consumer(const char *topic) {
    char group[96];
    unique(group, sizeof group, "parity_cg");
    fmq_push_consumer *c = NULL;
    CHECK_OK(fmq_push_consumer_new(namesrv(), group, &c));
    secure_push_consumer(c);
    if (topic) CHECK_OK(fmq_push_consumer_subscribe(c, topic, "*"));
    return c;
}

static void start_twice(void) {
    fmq_producer *p = new_producer();
    CHECK_OK(fmq_producer_start(p));
    print_result("start_twice", fmq_producer_start(p));
    fmq_producer_free(p);
}

static void start_after_shutdown(void) {
    fmq_producer *p = new_producer();
    CHECK_OK(fmq_producer_start(p));
    CHECK_OK(fmq_producer_shutdown(p));
    print_result("start_after_shutdown", fmq_producer_start(p));
    fmq_producer_free(p);
}

static void shutdown_twice(void) {
    fmq_producer *p = new_producer();
    CHECK_OK(fmq_producer_start(p));
    CHECK_OK(fmq_producer_shutdown(p));
    print_result("shutdown_twice", fmq_producer_shutdown(p));
    fmq_producer_free(p);
}

static int32_t ignore(const fmq_message_view *m, void *userdata) {
    (void)m;
    (void)userdata;
    return 0;
}

/* Option cases: the first failing call's result (the start when every setting passed). */
static void invalid_consume_from(void) {
    fmq_push_consumer *c = new_consumer("ParityTopic");
    fmq_result r = fmq_push_consumer_set_consume_from(c, "sideways");
    if (r == FMQ_OK) r = fmq_push_consumer_start(c, ignore, NULL);
    print_result("invalid_consume_from", r);
    fmq_push_consumer_free(c);
}

static void timestamp_without_timestamp_start(void) {
    fmq_push_consumer *c = new_consumer("ParityTopic");
    fmq_result r = fmq_push_consumer_set_consume_from(c, "lastOffset");
    if (r == FMQ_OK) r = fmq_push_consumer_set_consume_timestamp(c, (int64_t)time(NULL) * 1000);
    if (r == FMQ_OK) r = fmq_push_consumer_start(c, ignore, NULL);
    print_result("timestamp_without_timestamp_start", r);
    fmq_push_consumer_free(c);
}

static void tag_and_sql(void) {
    fmq_push_consumer *c = new_consumer(NULL);
    fmq_result r = fmq_push_consumer_subscribe_filter(c, "ParityTopic", "TagA", "a > 1");
    if (r == FMQ_OK) r = fmq_push_consumer_start(c, ignore, NULL);
    print_result("tag_and_sql", r);
    fmq_push_consumer_free(c);
}

/* A listener that answers FIRST to the first delivery and 0 afterwards, recording the
 * reconsume times it saw. */
typedef struct {
    pthread_mutex_t mu;
    int32_t first;
    int deliveries;
    int reconsume[16];
} deliveries;

static int32_t count_delivery(const fmq_message_view *m, void *userdata) {
    deliveries *d = userdata;
    pthread_mutex_lock(&d->mu);
    int n = d->deliveries++;
    if (n < 16) d->reconsume[n] = fmq_message_view_reconsume_times(m);
    pthread_mutex_unlock(&d->mu);
    return n == 0 ? d->first : 0;
}

static int delivered(deliveries *d) {
    pthread_mutex_lock(&d->mu);
    int n = d->deliveries;
    pthread_mutex_unlock(&d->mu);
    return n;
}

/* One message to a fresh topic; the listener answers FIRST the first time. Waits for WANT
 * deliveries (at most 60 s), then a quiet second, and prints what the listener saw. */
static void listener_case(const char *name, int32_t first, int want, bool with_reconsume) {
    char topic[96];
    make_topic(topic, sizeof topic, "parity_listener", 1);
    deliveries d;
    memset(&d, 0, sizeof d);
    pthread_mutex_init(&d.mu, NULL);
    d.first = first;
    fmq_push_consumer *c = new_consumer(topic);
    CHECK_OK(fmq_push_consumer_set_consume_from_first(c, true));
    CHECK_OK(fmq_push_consumer_start(c, count_delivery, &d));
    fmq_producer *p = start_producer();
    fmq_message *m = message(topic, "parity");
    fmq_send_result sr;
    CHECK_OK(fmq_producer_send(p, m, &sr));
    fmq_message_free(m);
    double deadline = now_s() + 60;
    while (delivered(&d) < want && now_s() < deadline) sleep_ms(50);
    sleep_ms(1000);
    CHECK_OK(fmq_push_consumer_shutdown(c));
    int n = delivered(&d);
    printf("%s deliveries=%d", name, n);
    if (with_reconsume) {
        printf(" reconsume=");
        for (int i = 0; i < n && i < 16; i++) printf("%s%d", i ? "," : "", d.reconsume[i]);
    }
    printf("\n");
    fflush(stdout);
    fmq_push_consumer_free(c);
    fmq_producer_free(p);
    pthread_mutex_destroy(&d.mu);
}

/* What the pull consumer handed out. */
typedef struct {
    int count;
    long long offsets[16];
    char broker[64];
    int queue_id;
} pulled;

static void on_pulled(const fmq_message_view *m, void *userdata) {
    pulled *p = userdata;
    if (p->count < 16) p->offsets[p->count] = fmq_message_view_queue_offset(m);
    p->count++;
    copy_field(p->broker, sizeof p->broker, fmq_message_view_broker_name(m));
    p->queue_id = fmq_message_view_queue_id(m);
}

/* Takes messages one at a time until P holds WANT (at most 30 s). */
static void pull_until(fmq_pull_consumer *c, pulled *p, int want) {
    double deadline = now_s() + 30;
    while (p->count < want && now_s() < deadline) {
        bool got = false;
        CHECK_OK(fmq_pull_consumer_next_message(c, 500, on_pulled, p, &got));
    }
}

static void print_offsets(const pulled *p) {
    for (int i = 0; i < p->count && i < 16; i++) printf("%s%lld", i ? "," : "", p->offsets[i]);
}

static void pull_seek(void) {
    char topic[96], group[96];
    make_topic(topic, sizeof topic, "parity_pull", 4);
    fmq_producer *prod = start_producer();
    for (int i = 0; i < 5; i++) {
        char body[16];
        snprintf(body, sizeof body, "m%d", i);
        fmq_message *m = message(topic, body);
        fmq_send_result sr;
        CHECK_OK(fmq_producer_send_with_sharding_key(prod, m, "parity-key", &sr));
        fmq_message_free(m);
    }
    unique(group, sizeof group, "parity_pull_cg");
    fmq_pull_consumer *c = NULL;
    CHECK_OK(fmq_pull_consumer_new(namesrv(), group, &c));
    secure_pull_consumer(c);
    CHECK_OK(fmq_pull_consumer_set_consume_from_first(c, true));
    CHECK_OK(fmq_pull_consumer_start(c));
    CHECK_OK(fmq_pull_consumer_assign(c, topic));
    pulled first;
    memset(&first, 0, sizeof first);
    pull_until(c, &first, 5);
    pulled after;
    memset(&after, 0, sizeof after);
    if (first.count > 0) {
        CHECK_OK(fmq_pull_consumer_seek(c, topic, first.broker, first.queue_id, 2));
        pull_until(c, &after, 3);
    }
    printf("pull_seek offsets=");
    print_offsets(&first);
    printf(" after_seek=");
    print_offsets(&after);
    printf("\n");
    fflush(stdout);
    fmq_pull_consumer_free(c);
    fmq_producer_free(prod);
}

int main(void) {
    start_twice();
    start_after_shutdown();
    shutdown_twice();
    invalid_consume_from();
    timestamp_without_timestamp_start();
    tag_and_sql();
    listener_case("listener_success", 0, 1, false);
    listener_case("listener_retry", 1, 2, true);
    listener_case("listener_throws", -1, 2, true);
    pull_seek();
    return 0;
}
