/* Helpers of the C test programs: checks, unique names, topics, a message collector. */
#ifndef FERROMQ_TEST_COMMON_H
#define FERROMQ_TEST_COMMON_H

#include <ferromq.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FAIL(...)                                                  \
    do {                                                           \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);            \
        fprintf(stderr, __VA_ARGS__);                              \
        fprintf(stderr, "\n");                                     \
        exit(1);                                                   \
    } while (0)

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                         \
            fprintf(stderr, "\n");                                                \
            exit(1);                                                              \
        }                                                                         \
    } while (0)

#define CHECK_OK(call)                                                          \
    do {                                                                        \
        fmq_result r_ = (call);                                                 \
        if (r_ != FMQ_OK)                                                       \
            FAIL("%s -> %s: %s", #call, fmq_result_name(r_), fmq_error_message()); \
    } while (0)

#define CHECK_ERR(call, expected)                                               \
    do {                                                                        \
        fmq_result r_ = (call);                                                 \
        if (r_ != (expected))                                                   \
            FAIL("%s -> %s (wanted %s): %s", #call, fmq_result_name(r_),          \
                 fmq_result_name(expected), fmq_error_message());               \
        CHECK(strlen(fmq_error_message()) > 0, "an error has a message");       \
    } while (0)

/* ACL credentials and TLS from the environment (tests/servers.sh with FMQ_SECURE=1 exports
 * them): FMQ_ACCESS_KEY / FMQ_SECRET_KEY sign every request, FMQ_TLS_CA turns TLS on with that
 * CA. Unset: plaintext without signatures. */
static inline const char *test_access_key(void) { return getenv("FMQ_ACCESS_KEY"); }
static inline const char *test_secret_key(void) { return getenv("FMQ_SECRET_KEY"); }

/* The TLS options of the tests, NULL without FMQ_TLS_CA. */
static inline const fmq_tls_options *test_tls(void) {
    static fmq_tls_options tls;
    const char *ca = getenv("FMQ_TLS_CA");
    if (!ca) return NULL;
    memset(&tls, 0, sizeof tls);
    tls.ca_file = ca;
    return &tls;
}

static pthread_once_t admin_security_once = PTHREAD_ONCE_INIT;

static void admin_security(void) {
    if (test_access_key()) CHECK_OK(fmq_admin_set_credentials(test_access_key(), test_secret_key(), NULL));
    if (test_tls()) CHECK_OK(fmq_admin_set_tls(test_tls()));
}

static inline const char *namesrv(void) {
    const char *ns = getenv("FMQ_NAMESRV");
    if (!ns) FAIL("FMQ_NAMESRV is not set (run the suite through bindings/c/ci.sh)");
    pthread_once(&admin_security_once, admin_security);
    return ns;
}

/* secure_<type>(handle): the environment's credentials and TLS on a new handle. */
#define SECURE_FN(type)                                                                 \
    static inline void secure_##type(fmq_##type *h) {                                   \
        if (test_access_key())                                                          \
            CHECK_OK(fmq_##type##_set_credentials(h, test_access_key(), test_secret_key(), NULL)); \
        if (test_tls()) CHECK_OK(fmq_##type##_set_tls(h, test_tls()));                  \
    }
SECURE_FN(producer)
SECURE_FN(push_consumer)
SECURE_FN(pull_consumer)
SECURE_FN(transaction_producer)

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A name unique in this run: PREFIX_<pid>_<seq>. */
static inline void unique(char *buf, size_t n, const char *prefix) {
    static int seq;
    snprintf(buf, n, "%s_%d_%d_%ld", prefix, (int)getpid(), seq++, (long)time(NULL) % 100000);
}

/* Creates a fresh topic with QUEUES queues and waits until its route shows them. */
static inline void make_topic(char *buf, size_t n, const char *prefix, int queues) {
    unique(buf, n, prefix);
    CHECK_OK(fmq_admin_create_topic(namesrv(), "DefaultCluster", buf, queues));
    double deadline = now_s() + 30;
    for (;;) {
        int32_t w = -1;
        if (fmq_admin_topic_write_queues(namesrv(), buf, &w) == FMQ_OK && w == queues) return;
        if (now_s() > deadline) FAIL("route of %s never showed %d queues", buf, queues);
        sleep_ms(100);
    }
}

/* One received message, copied out of the callback. */
typedef struct {
    char body[128];
    char tag[32];
    char keys[64];
    char prop[32];
    char msg_id[64];
    int queue_id;
    long long queue_offset;
    int reconsume_times;
    double at;
} received;

#define MAX_RECEIVED 256

/* Collects what a listener receives; RETRY makes the listener fail every message. */
typedef struct {
    pthread_mutex_t mu;
    int count;
    int fail;
    received items[MAX_RECEIVED];
} collector;

static inline void collector_init(collector *c) {
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
}

static inline void copy_field(char *dst, size_t n, const char *src) {
    snprintf(dst, n, "%s", src ? src : "");
}

static inline void collect_view(collector *c, const fmq_message_view *m) {
    size_t len = 0;
    const uint8_t *body = fmq_message_view_body(m, &len);
    received r;
    memset(&r, 0, sizeof r);
    size_t copy = len < sizeof r.body - 1 ? len : sizeof r.body - 1;
    if (copy) memcpy(r.body, body, copy);
    copy_field(r.tag, sizeof r.tag, fmq_message_view_tag(m));
    copy_field(r.keys, sizeof r.keys, fmq_message_view_keys(m));
    copy_field(r.prop, sizeof r.prop, fmq_message_view_property(m, "idx"));
    copy_field(r.msg_id, sizeof r.msg_id, fmq_message_view_msg_id(m));
    r.queue_id = fmq_message_view_queue_id(m);
    r.queue_offset = fmq_message_view_queue_offset(m);
    r.reconsume_times = fmq_message_view_reconsume_times(m);
    r.at = now_s();
    pthread_mutex_lock(&c->mu);
    if (c->count < MAX_RECEIVED) c->items[c->count++] = r;
    pthread_mutex_unlock(&c->mu);
}

/* The listener: runs on a library thread. */
static inline int32_t collect(const fmq_message_view *m, void *userdata) {
    collector *c = userdata;
    collect_view(c, m);
    return c->fail ? FMQ_CONSUME_RETRY_LATER : FMQ_CONSUME_SUCCESS;
}

static inline int collector_count(collector *c) {
    pthread_mutex_lock(&c->mu);
    int n = c->count;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* Waits until C holds at least N messages; fails the test after TIMEOUT seconds. */
static inline void wait_count(collector *c, int n, double timeout, const char *what) {
    double deadline = now_s() + timeout;
    while (collector_count(c) < n) {
        if (now_s() > deadline) FAIL("timed out waiting for %s: %d of %d", what, collector_count(c), n);
        sleep_ms(50);
    }
}

/* The index of the message with BODY in C, or -1. */
static inline int find_body(collector *c, const char *body) {
    for (int i = 0; i < c->count; i++)
        if (strcmp(c->items[i].body, body) == 0) return i;
    return -1;
}

static inline fmq_producer *start_producer(void) {
    char group[96];
    unique(group, sizeof group, "pg");
    fmq_producer *p = NULL;
    CHECK_OK(fmq_producer_new(namesrv(), group, &p));
    secure_producer(p);
    CHECK_OK(fmq_producer_start(p));
    return p;
}

static inline fmq_message *message(const char *topic, const char *body) {
    fmq_message *m = NULL;
    CHECK_OK(fmq_message_new(topic, (const uint8_t *)body, strlen(body), &m));
    return m;
}

#endif
