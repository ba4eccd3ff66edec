/* The namespace scenario of tests/scenarios.c (docs/scenarios.md, docs/namespaces.md): two
 * producers with namespaces tenantA and tenantB send 3 messages each to the same topic name;
 * one consumer group name subscribed in both namespaces; each namespace's consumer gets exactly
 * its own 3, under the bare topic name. On the wire the topic is `<ns>%<topic>` (created here;
 * the broker holds 3 messages in each). Included once, by scenarios.c. */
#ifndef FERROMQ_TEST_NAMESPACE_H
#define FERROMQ_TEST_NAMESPACE_H

#include "common.h"

#define NS_COUNT 2
#define NS_PER_SPACE 3

static const char *const NS_SPACES[NS_COUNT] = {"tenantA", "tenantB"};

/* What one namespace's consumer received: bodies, and how many came under another topic name
 * than the bare one. */
typedef struct {
    pthread_mutex_t mu;
    const char *topic;
    int count;
    int other_topic;
    char other[160];
    char bodies[16][32];
} ns_received;

/* The listener (a library thread). */
static int32_t ns_collect(const fmq_message_view *m, void *userdata) {
    ns_received *r = userdata;
    size_t len = 0;
    const uint8_t *body = fmq_message_view_body(m, &len);
    const char *topic = fmq_message_view_topic(m);
    pthread_mutex_lock(&r->mu);
    if (!topic || strcmp(topic, r->topic) != 0) {
        r->other_topic++;
        snprintf(r->other, sizeof r->other, "%s", topic ? topic : "(null)");
    }
    if (r->count < 16) snprintf(r->bodies[r->count], sizeof r->bodies[0], "%.*s", (int)(len < 31 ? len : 31), (const char *)body);
    r->count++;
    pthread_mutex_unlock(&r->mu);
    return FMQ_CONSUME_SUCCESS;
}

static int ns_count(ns_received *r) {
    pthread_mutex_lock(&r->mu);
    int n = r->count;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static void ns_sum_max_offsets(const char *broker, int32_t queue, int64_t min, int64_t max, int64_t ts, void *userdata) {
    (void)broker, (void)queue, (void)min, (void)ts;
    *(long long *)userdata += max;
}

/* Creates wire topic WIRE (`ns%topic`, 2 queues) and waits until its route shows them. */
static void ns_make_wire_topic(const char *wire) {
    CHECK_OK(fmq_admin_create_topic(namesrv(), "DefaultCluster", wire, 2));
    double deadline = now_s() + 30;
    for (;;) {
        int32_t w = -1;
        if (fmq_admin_topic_write_queues(namesrv(), wire, &w) == FMQ_OK && w == 2) return;
        if (now_s() > deadline) FAIL("route of %s never showed 2 queues", wire);
        sleep_ms(100);
    }
}

static void namespace_scenario(void) {
    char topic[96], group[96], wire[128];
    unique(topic, sizeof topic, "Ns");
    unique(group, sizeof group, "cg-ns");
    for (int s = 0; s < NS_COUNT; s++) {
        snprintf(wire, sizeof wire, "%s%%%s", NS_SPACES[s], topic);
        ns_make_wire_topic(wire);
    }

    for (int s = 0; s < NS_COUNT; s++) {
        char pg[96];
        unique(pg, sizeof pg, "pg-ns");
        fmq_producer *p = NULL;
        CHECK_OK(fmq_producer_new(namesrv(), pg, &p));
        secure_producer(p);
        CHECK_OK(fmq_producer_set_namespace(p, NS_SPACES[s]));
        CHECK_OK(fmq_producer_start(p));
        for (int i = 0; i < NS_PER_SPACE; i++) {
            char body[32];
            snprintf(body, sizeof body, "%s-%d", NS_SPACES[s], i);
            fmq_message *m = message(topic, body);
            fmq_send_result r;
            CHECK_OK(fmq_producer_send(p, m, &r));
            CHECK(r.status == FMQ_SEND_OK, "status %d", r.status);
            CHECK(r.queue_id >= 0 && r.queue_id < 2, "queue %d", r.queue_id);
            fmq_message_free(m);
        }
        CHECK_OK(fmq_producer_shutdown(p));
        fmq_producer_free(p);
    }
    /* fmq_send_result carries no topic: the broker's offsets show where the sends went, 3 in
     * each `ns%topic`, none under the bare name (that topic does not exist). */
    for (int s = 0; s < NS_COUNT; s++) {
        snprintf(wire, sizeof wire, "%s%%%s", NS_SPACES[s], topic);
        long long stored = 0;
        size_t n = 0;
        double deadline = now_s() + 30; /* the queue offsets follow the commit log */
        for (;;) {
            stored = 0;
            CHECK_OK(fmq_admin_topic_stats(namesrv(), wire, ns_sum_max_offsets, &stored, &n));
            if (stored >= NS_PER_SPACE) break;
            CHECK(now_s() < deadline, "%s: %zu queues, %lld stored", wire, n, stored);
            sleep_ms(100);
        }
        CHECK(n == 2 && stored == NS_PER_SPACE, "%s: %zu queues, %lld stored", wire, n, stored);
    }
    int32_t bare = -1;
    CHECK(fmq_admin_topic_write_queues(namesrv(), topic, &bare) != FMQ_OK, "the bare topic %s has a route", topic);

    ns_received got[NS_COUNT];
    fmq_push_consumer *pcs[NS_COUNT];
    for (int s = 0; s < NS_COUNT; s++) {
        memset(&got[s], 0, sizeof got[s]);
        pthread_mutex_init(&got[s].mu, NULL);
        got[s].topic = topic;
        fmq_push_consumer *pc = NULL;
        CHECK_OK(fmq_push_consumer_new(namesrv(), group, &pc));
        secure_push_consumer(pc);
        CHECK_OK(fmq_push_consumer_set_namespace(pc, NS_SPACES[s]));
        CHECK_OK(fmq_push_consumer_subscribe(pc, topic, "*"));
        CHECK_OK(fmq_push_consumer_set_consume_from_first(pc, true));
        CHECK_OK(fmq_push_consumer_start(pc, ns_collect, &got[s]));
        pcs[s] = pc;
    }
    for (int s = 0; s < NS_COUNT; s++) {
        double deadline = now_s() + 30;
        while (ns_count(&got[s]) < NS_PER_SPACE) {
            if (now_s() > deadline) FAIL("timed out waiting for %s's messages: %d", NS_SPACES[s], ns_count(&got[s]));
            sleep_ms(50);
        }
    }
    sleep_ms(300); /* nothing more comes */
    for (int s = 0; s < NS_COUNT; s++) {
        CHECK_OK(fmq_push_consumer_shutdown(pcs[s]));
        fmq_push_consumer_free(pcs[s]);
    }
    for (int s = 0; s < NS_COUNT; s++) {
        ns_received *r = &got[s];
        CHECK(r->count == NS_PER_SPACE, "%s received %d", NS_SPACES[s], r->count);
        CHECK(r->other_topic == 0, "%s received under topic %s, not %s", NS_SPACES[s], r->other, topic);
        for (int i = 0; i < NS_PER_SPACE; i++) {
            char body[32];
            snprintf(body, sizeof body, "%s-%d", NS_SPACES[s], i);
            int found = 0;
            for (int j = 0; j < r->count; j++) found += strcmp(r->bodies[j], body) == 0;
            CHECK(found == 1, "%s received %s %d times", NS_SPACES[s], body, found);
        }
        pthread_mutex_destroy(&r->mu);
    }

    /* An illegal namespace is refused before anything starts. */
    fmq_producer *bad = NULL;
    CHECK_OK(fmq_producer_new(namesrv(), group, &bad));
    CHECK_ERR(fmq_producer_set_namespace(bad, "bad%ns"), FMQ_ERR_INVALID_ARGUMENT);
    fmq_producer_free(bad);
}

#endif
