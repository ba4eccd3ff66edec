/* The consume-timeout and shutdown scenarios of tests/scenarios.c (docs/scenarios.md; the same
 * assertions as client-core/tests/housekeeping.rs). The servers' delay levels are 1 s (but
 * level 2), so a message sent back comes again within a second or two. A stuck listener waits
 * on a condition variable (a gate) on its library thread, which the library allows
 * (fmq_message_callback may block); the test thread keeps polling meanwhile. Included once,
 * by scenarios.c. */
#ifndef FERROMQ_TEST_HOUSEKEEPING_H
#define FERROMQ_TEST_HOUSEKEEPING_H

#include "common.h"

/* Generous deadlines: under valgrind everything is many times slower. */
#define HK_WAIT 60.0
/* The longest a gate holds a listener when a failed test never opened it. */
#define HK_GATE_LIMIT_S 120

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
    int entered;       /* listener calls that reached the gate */
    int finished;      /* listener calls that passed it */
    collector again;   /* deliveries with reconsume times > 0 (consume-timeout) */
} hk_gate;

static void hk_gate_init(hk_gate *g) {
    memset(g, 0, sizeof *g);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    collector_init(&g->again);
}

static void hk_gate_destroy(hk_gate *g) {
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    pthread_mutex_destroy(&g->again.mu);
}

static void hk_open(hk_gate *g) {
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Counts the call in, waits until the gate opens (at most HK_GATE_LIMIT_S), counts it out. */
static void hk_block(hk_gate *g) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += HK_GATE_LIMIT_S;
    pthread_mutex_lock(&g->mu);
    g->entered++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        if (pthread_cond_timedwait(&g->cv, &g->mu, &until) != 0) break;
    g->finished++;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static int hk_read(hk_gate *g, const int *field) {
    pthread_mutex_lock(&g->mu);
    int v = *field;
    pthread_mutex_unlock(&g->mu);
    return v;
}

/* Waits until *FIELD of G is at least N; fails the test after HK_WAIT seconds. */
static void hk_wait(hk_gate *g, const int *field, int n, const char *what) {
    double deadline = now_s() + HK_WAIT;
    while (hk_read(g, field) < n) {
        if (now_s() > deadline) FAIL("timed out waiting for %s", what);
        sleep_ms(20);
    }
}

/* Listener: the first delivery blocks at the gate; redeliveries are collected. */
static int32_t hk_stuck_first(const fmq_message_view *m, void *userdata) {
    hk_gate *g = userdata;
    if (fmq_message_view_reconsume_times(m) == 0)
        hk_block(g);
    else
        collect_view(&g->again, m);
    return FMQ_CONSUME_SUCCESS;
}

/* Listener: every delivery blocks at the gate. */
static int32_t hk_stuck(const fmq_message_view *m, void *userdata) {
    (void)m;
    hk_block(userdata);
    return FMQ_CONSUME_SUCCESS;
}

static void hk_on_progress(const char *broker, int32_t queue_id, int64_t broker_offset, int64_t consumed,
                           int64_t t, void *userdata) {
    (void)broker;
    (void)broker_offset;
    (void)t;
    if (queue_id == 0) *(int64_t *)userdata = consumed;
}

/* The group's committed offset of queue 0 of TOPIC on the broker, -1 while it has none. */
static int64_t hk_committed(const char *group, const char *topic) {
    int64_t consumed = -1;
    size_t n = 0;
    if (fmq_admin_consumer_progress(namesrv(), group, topic, hk_on_progress, &consumed, &n) != FMQ_OK) return -1;
    return consumed;
}

/* A fresh one-queue topic holding one message with BODY; its send result in *SENT. */
static void hk_one_message(char *topic, size_t n, const char *prefix, const char *body, fmq_send_result *sent) {
    make_topic(topic, n, prefix, 1);
    fmq_producer *p = start_producer();
    fmq_message *m = message(topic, body);
    CHECK_OK(fmq_producer_send(p, m, sent));
    fmq_message_free(m);
    fmq_producer_free(p);
}

static fmq_push_consumer *hk_consumer(const char *group, const char *instance, const char *topic) {
    fmq_push_consumer *pc = NULL;
    CHECK_OK(fmq_push_consumer_new(namesrv(), group, &pc));
    secure_push_consumer(pc);
    CHECK_OK(fmq_push_consumer_subscribe(pc, topic, "*"));
    CHECK_OK(fmq_push_consumer_set_consume_from_first(pc, true));
    CHECK_OK(fmq_push_consumer_set_instance_name(pc, instance));
    return pc;
}

/* consume-timeout: a listener call stuck far longer than the consume timeout (1 s): while it is
 * still stuck, the message comes again with reconsume times 1 and the queue's committed offset
 * moves past it; the stuck call's late answer changes nothing. */
static void consume_timeout(void) {
    char topic[96], group[96];
    fmq_send_result sent;
    hk_one_message(topic, sizeof topic, "CExpire", "stuck", &sent);
    unique(group, sizeof group, "cg_expire");
    hk_gate g;
    hk_gate_init(&g);
    fmq_push_consumer *pc = hk_consumer(group, group, topic);
    CHECK_OK(fmq_push_consumer_set_consume_timeout(pc, 1000));
    CHECK_OK(fmq_push_consumer_start(pc, hk_stuck_first, &g));

    wait_count(&g.again, 1, HK_WAIT, "the redelivery");
    pthread_mutex_lock(&g.again.mu);
    received r = g.again.items[0];
    pthread_mutex_unlock(&g.again.mu);
    CHECK(strcmp(r.body, "stuck") == 0, "body %s", r.body);
    CHECK(strcmp(r.msg_id, sent.msg_id) == 0, "msg id %s, sent %s", r.msg_id, sent.msg_id);
    CHECK(r.reconsume_times == 1, "reconsume times %d", r.reconsume_times);
    /* The queue's offset moves past the stuck message while its call still runs (offsets are
     * committed every 5 s). */
    double deadline = now_s() + HK_WAIT;
    while (hk_committed(group, topic) < 1) {
        if (now_s() > deadline) FAIL("the committed offset stayed at %lld", (long long)hk_committed(group, topic));
        sleep_ms(100);
    }
    CHECK(hk_read(&g, &g.entered) == 1 && hk_read(&g, &g.finished) == 0, "the first call is still stuck");

    hk_open(&g);
    hk_wait(&g, &g.finished, 1, "the stuck call to end");
    CHECK_OK(fmq_push_consumer_shutdown(pc));
    CHECK(collector_count(&g.again) == 1, "redelivered %d times", collector_count(&g.again));
    fmq_push_consumer_free(pc);
    hk_gate_destroy(&g);
}

/* Opens the gate a second after it was started (the call ends while shutdown waits). */
static void *hk_open_later(void *arg) {
    sleep_ms(1000);
    hk_open(arg);
    return NULL;
}

/* shutdown: a call that ends within the bound (30 s) is waited for and its offset committed
 * before fmq_push_consumer_shutdown returns; a call outliving the bound (300 ms) is abandoned,
 * its offset stays, and the next member of the group gets the message again. */
static void shutdown_scenario(void) {
    /* Within the bound. */
    char topic[96], group[96];
    fmq_send_result sent;
    hk_one_message(topic, sizeof topic, "CShutdownWait", "slow", &sent);
    unique(group, sizeof group, "cg_shutdown_wait");
    hk_gate g;
    hk_gate_init(&g);
    fmq_push_consumer *pc = hk_consumer(group, group, topic);
    CHECK_OK(fmq_push_consumer_set_await_termination(pc, 30000));
    CHECK_OK(fmq_push_consumer_start(pc, hk_stuck, &g));
    hk_wait(&g, &g.entered, 1, "the listener call");
    pthread_t opener;
    CHECK(pthread_create(&opener, NULL, hk_open_later, &g) == 0, "pthread_create");
    CHECK_OK(fmq_push_consumer_shutdown(pc));
    CHECK(hk_read(&g, &g.finished) == 1, "shutdown waited for the call");
    int64_t committed = hk_committed(group, topic);
    CHECK(committed == 1, "committed offset %lld", (long long)committed);
    pthread_join(opener, NULL);
    fmq_push_consumer_free(pc);
    hk_gate_destroy(&g);

    /* Outliving the bound. */
    hk_one_message(topic, sizeof topic, "CShutdownAbandon", "abandoned", &sent);
    unique(group, sizeof group, "cg_shutdown_abandon");
    char first_name[128], second_name[128];
    snprintf(first_name, sizeof first_name, "%s-first", group);
    snprintf(second_name, sizeof second_name, "%s-second", group);
    hk_gate_init(&g);
    fmq_push_consumer *first = hk_consumer(group, first_name, topic);
    CHECK_OK(fmq_push_consumer_set_await_termination(first, 300));
    CHECK_OK(fmq_push_consumer_start(first, hk_stuck, &g));
    hk_wait(&g, &g.entered, 1, "the listener call");
    CHECK_OK(fmq_push_consumer_shutdown(first));
    CHECK(hk_read(&g, &g.finished) == 0, "the call is still running");
    committed = hk_committed(group, topic);
    CHECK(committed < 1, "committed offset %lld", (long long)committed);

    collector got;
    collector_init(&got);
    fmq_push_consumer *second = hk_consumer(group, second_name, topic);
    CHECK_OK(fmq_push_consumer_start(second, collect, &got));
    wait_count(&got, 1, HK_WAIT, "the redelivery to the next member");
    CHECK(strcmp(got.items[0].msg_id, sent.msg_id) == 0, "msg id %s, sent %s", got.items[0].msg_id, sent.msg_id);
    CHECK(strcmp(got.items[0].body, "abandoned") == 0, "body %s", got.items[0].body);
    /* The abandoned call ends now; its answer commits nothing of its own. */
    hk_open(&g);
    hk_wait(&g, &g.finished, 1, "the abandoned call to end");
    CHECK_OK(fmq_push_consumer_shutdown(second));
    committed = hk_committed(group, topic);
    CHECK(committed == 1, "committed offset %lld", (long long)committed);
    CHECK(collector_count(&got) == 1, "received %d", collector_count(&got));
    fmq_push_consumer_free(second);
    fmq_push_consumer_free(first);
    pthread_mutex_destroy(&got.mu);
    hk_gate_destroy(&g);
}

#endif
