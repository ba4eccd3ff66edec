/* The request-reply scenario of tests/scenarios.c (docs/scenarios.md, docs/request-reply.md):
 * a push consumer answers every request with "pong:<body>"; blocking requests, requests to a
 * given queue, by sharding key and through a selector, 16 async requests in flight, and
 * requests nobody answers failing with FMQ_ERR_TIMEOUT. Included once, by scenarios.c. */
#ifndef FERROMQ_TEST_REQUEST_REPLY_H
#define FERROMQ_TEST_REQUEST_REPLY_H

#include "common.h"

/* Generous: under valgrind everything is many times slower. */
#define RR_TIMEOUT_MS 30000
#define RR_ASYNC 48
#define RR_IN_FLIGHT 16

typedef struct {
    fmq_producer *replier;
    pthread_mutex_t mu;
    int answered;
    int failures;
    char last_error[256];
    /* The queue each request whose body starts with "route-" came on. */
    int routed;
    char routed_body[8][32];
    int routed_queue[8];
} rr_responder;

/* The queue the request with BODY came on, -1 when it did not come (yet). */
static int rr_queue_of(rr_responder *r, const char *body) {
    int q = -1;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->routed; i++)
        if (strcmp(r->routed_body[i], body) == 0) q = r->routed_queue[i];
    pthread_mutex_unlock(&r->mu);
    return q;
}

/* The responder's listener (a library thread; blocking calls are allowed here). */
static int32_t rr_answer(const fmq_message_view *request, void *userdata) {
    rr_responder *r = userdata;
    size_t len = 0;
    const uint8_t *body = fmq_message_view_body(request, &len);
    /* Noted before the reply goes out: the requester may check it as soon as it has the reply. */
    pthread_mutex_lock(&r->mu);
    if (len > 6 && memcmp(body, "route-", 6) == 0 && r->routed < 8) {
        snprintf(r->routed_body[r->routed], sizeof r->routed_body[0], "%.*s", (int)(len < 31 ? len : 31),
                 (const char *)body);
        r->routed_queue[r->routed++] = fmq_message_view_queue_id(request);
    }
    pthread_mutex_unlock(&r->mu);
    char pong[160];
    int n = snprintf(pong, sizeof pong, "pong:%.*s", (int)(len < 128 ? len : 128), (const char *)body);
    fmq_message *reply = NULL;
    fmq_send_result sr;
    fmq_result rc = fmq_message_reply_to(request, (const uint8_t *)pong, (size_t)n, &reply);
    if (rc == FMQ_OK) rc = fmq_producer_send_reply(r->replier, reply, &sr);
    fmq_message_free(reply);
    pthread_mutex_lock(&r->mu);
    if (rc == FMQ_OK) {
        r->answered++;
    } else {
        r->failures++;
        snprintf(r->last_error, sizeof r->last_error, "%s: %s", fmq_result_name(rc), fmq_error_message());
    }
    pthread_mutex_unlock(&r->mu);
    return FMQ_CONSUME_SUCCESS;
}

/* The async requests: a counting gate of RR_IN_FLIGHT and one slot per request. */
typedef struct rr_async rr_async;
typedef struct {
    rr_async *all;
    int index;
    fmq_result result;
    char body[160];
    char error[256];
    int done;
} rr_slot;

struct rr_async {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int in_flight;
    int max_in_flight;
    int done;
    rr_slot slots[RR_ASYNC];
};

/* Completion of one async request (a runtime thread: copy and return). */
static void rr_on_reply(fmq_result result, const fmq_message_view *reply, const char *error, void *userdata) {
    rr_slot *s = userdata;
    rr_async *a = s->all;
    pthread_mutex_lock(&a->mu);
    s->result = result;
    if (result == FMQ_OK) {
        size_t len = 0;
        const uint8_t *body = fmq_message_view_body(reply, &len);
        snprintf(s->body, sizeof s->body, "%.*s", (int)(len < 150 ? len : 150), (const char *)body);
    } else {
        CHECK(reply == NULL, "a failed request has no reply");
        snprintf(s->error, sizeof s->error, "%s", error);
    }
    s->done = 1;
    a->in_flight--;
    a->done++;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

/* Waits until fewer than LIMIT requests are in flight; fails after 120 s. */
static void rr_wait_below(rr_async *a, int limit) {
    double deadline = now_s() + 120;
    pthread_mutex_lock(&a->mu);
    while (a->in_flight >= limit) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&a->cv, &a->mu, &ts);
        if (now_s() > deadline) FAIL("async requests: %d still in flight", a->in_flight);
    }
    pthread_mutex_unlock(&a->mu);
}

/* A selector picking the last queue; notes the queue count it was given. */
static int32_t rr_last_queue(const fmq_message *m, int32_t queue_count, void *userdata) {
    (void)m;
    *(int32_t *)userdata = queue_count;
    return queue_count - 1;
}

/* A selector answering an index out of range. */
static int32_t rr_no_such_queue(const fmq_message *m, int32_t queue_count, void *userdata) {
    (void)m, (void)userdata;
    return queue_count + 5;
}

/* Checks that REPLY (freed here) is "pong:<BODY>". */
static void rr_check_reply(fmq_message_view *reply, const char *body) {
    char want[64];
    snprintf(want, sizeof want, "pong:%s", body);
    size_t len = 0;
    const uint8_t *got = fmq_message_view_body(reply, &len);
    CHECK(len == strlen(want) && memcmp(got, want, len) == 0, "reply %.*s to %s", (int)len, (const char *)got, body);
    fmq_message_view_free(reply);
}

/* Requests to a chosen queue of TOPIC (4 queues of c-broker-a): by queue, by sharding key (one
 * key, one queue) and through a selector; bad arguments are refused before anything is sent. */
static void rr_routed_requests(fmq_producer *requester, rr_responder *responder, const char *topic) {
    fmq_message_view *reply = NULL;
    fmq_message *m = message(topic, "route-queue");
    CHECK_OK(fmq_producer_request_to_queue(requester, m, "c-broker-a", 2, RR_TIMEOUT_MS, &reply));
    rr_check_reply(reply, "route-queue");
    fmq_message_free(m);
    CHECK(rr_queue_of(responder, "route-queue") == 2, "to queue 2: came on %d", rr_queue_of(responder, "route-queue"));

    m = message(topic, "route-key");
    CHECK_OK(fmq_producer_request_with_sharding_key(requester, m, "k", RR_TIMEOUT_MS, &reply));
    rr_check_reply(reply, "route-key");
    fmq_message_free(m);
    m = message(topic, "route-key-again");
    CHECK_OK(fmq_producer_request_with_sharding_key(requester, m, "k", RR_TIMEOUT_MS, &reply));
    rr_check_reply(reply, "route-key-again");
    fmq_message_free(m);
    int keyed = rr_queue_of(responder, "route-key");
    CHECK(keyed >= 0 && keyed == rr_queue_of(responder, "route-key-again"), "one key, one queue: %d and %d", keyed,
          rr_queue_of(responder, "route-key-again"));

    int32_t count = 0;
    m = message(topic, "route-picked");
    CHECK_OK(fmq_producer_request_with_selector(requester, m, rr_last_queue, &count, RR_TIMEOUT_MS, &reply));
    rr_check_reply(reply, "route-picked");
    CHECK(count == 4, "the selector saw %d queues", count);
    CHECK(rr_queue_of(responder, "route-picked") == 3, "picked queue 3: came on %d", rr_queue_of(responder, "route-picked"));

    reply = NULL;
    CHECK_ERR(fmq_producer_request_with_selector(requester, m, NULL, NULL, RR_TIMEOUT_MS, &reply),
              FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_request_with_selector(requester, m, rr_no_such_queue, NULL, RR_TIMEOUT_MS, &reply),
              FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_request_with_sharding_key(requester, m, NULL, RR_TIMEOUT_MS, &reply),
              FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_request_to_queue(requester, m, NULL, 0, RR_TIMEOUT_MS, &reply), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_request_to_queue(requester, m, "c-broker-a", 1, 0, &reply), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(reply == NULL, "no reply written on failure");
    fmq_message_free(m);
}

static void request_reply(void) {
    char topic[96], silent[96], group[96];
    make_topic(topic, sizeof topic, "CRpc", 4);
    make_topic(silent, sizeof silent, "CRpcSilent", 1);

    /* The responder: a push consumer of TOPIC answering through its own producer. */
    rr_responder responder;
    memset(&responder, 0, sizeof responder);
    pthread_mutex_init(&responder.mu, NULL);
    responder.replier = start_producer();
    unique(group, sizeof group, "cg_rpc");
    fmq_push_consumer *pc = NULL;
    CHECK_OK(fmq_push_consumer_new(namesrv(), group, &pc));
    secure_push_consumer(pc);
    CHECK_OK(fmq_push_consumer_subscribe(pc, topic, "*"));
    CHECK_OK(fmq_push_consumer_set_consume_from_first(pc, true));
    CHECK_OK(fmq_push_consumer_start(pc, rr_answer, &responder));

    fmq_producer *requester = start_producer();

    /* Blocking requests, each matched to its own reply; the reply is the caller's to free. */
    for (int i = 0; i < 8; i++) {
        char body[32], want[64];
        snprintf(body, sizeof body, "sync-%d", i);
        snprintf(want, sizeof want, "pong:%s", body);
        fmq_message *m = message(topic, body);
        fmq_message_view *reply = NULL;
        CHECK_OK(fmq_producer_request(requester, m, RR_TIMEOUT_MS, &reply));
        size_t len = 0;
        const uint8_t *got = fmq_message_view_body(reply, &len);
        CHECK(len == strlen(want) && memcmp(got, want, len) == 0, "reply %.*s to %s", (int)len, (const char *)got, body);
        const char *reply_topic = fmq_message_view_topic(reply);
        CHECK(strcmp(reply_topic, "DefaultCluster_REPLY_TOPIC") == 0, "reply topic %s", reply_topic);
        CHECK(fmq_message_view_property(reply, "CORRELATION_ID") != NULL, "the reply has a correlation id");
        CHECK(strcmp(fmq_message_view_property(reply, "MSG_TYPE"), "reply") == 0, "MSG_TYPE %s",
              fmq_message_view_property(reply, "MSG_TYPE"));
        fmq_message_view_free(reply);
        fmq_message_free(m);
    }

    rr_routed_requests(requester, &responder, topic);

    /* Async: RR_ASYNC requests, RR_IN_FLIGHT at a time, each with its own reply. */
    rr_async *a = calloc(1, sizeof *a);
    CHECK(a != NULL, "calloc");
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    for (int i = 0; i < RR_ASYNC; i++) {
        rr_wait_below(a, RR_IN_FLIGHT);
        char body[32];
        snprintf(body, sizeof body, "async-%d", i);
        a->slots[i].all = a;
        a->slots[i].index = i;
        fmq_message *m = message(topic, body);
        pthread_mutex_lock(&a->mu);
        a->in_flight++;
        if (a->in_flight > a->max_in_flight) a->max_in_flight = a->in_flight;
        pthread_mutex_unlock(&a->mu);
        CHECK_OK(fmq_producer_request_async(requester, m, RR_TIMEOUT_MS, rr_on_reply, &a->slots[i]));
        fmq_message_free(m); /* the request copied it */
    }
    rr_wait_below(a, 1);
    CHECK(a->done == RR_ASYNC, "%d of %d completions", a->done, RR_ASYNC);
    CHECK(a->max_in_flight <= RR_IN_FLIGHT, "%d in flight", a->max_in_flight);
    for (int i = 0; i < RR_ASYNC; i++) {
        char want[64];
        snprintf(want, sizeof want, "pong:async-%d", i);
        rr_slot *s = &a->slots[i];
        CHECK(s->done && s->result == FMQ_OK, "request %d: %s %s", i, fmq_result_name(s->result), s->error);
        CHECK(strcmp(s->body, want) == 0, "request %d got %s", i, s->body);
    }

    /* Nobody consumes SILENT: the blocking and the async form time out. */
    fmq_message *m = message(silent, "nobody-listens");
    fmq_message_view *reply = NULL;
    double started = now_s();
    CHECK_ERR(fmq_producer_request(requester, m, 1500, &reply), FMQ_ERR_TIMEOUT);
    CHECK(now_s() - started >= 1.4, "timed out after %.2f s", now_s() - started);
    CHECK(reply == NULL, "no reply written on failure");
    rr_slot *late = &a->slots[0];
    memset(late, 0, sizeof *late);
    late->all = a;
    pthread_mutex_lock(&a->mu);
    a->in_flight = 1;
    pthread_mutex_unlock(&a->mu);
    CHECK_OK(fmq_producer_request_async(requester, m, 1500, rr_on_reply, late));
    rr_wait_below(a, 1);
    CHECK(late->result == FMQ_ERR_TIMEOUT, "async: %s %s", fmq_result_name(late->result), late->error);
    CHECK(strlen(late->error) > 0, "the timeout has a message");

    /* Bad input. */
    CHECK_ERR(fmq_producer_request(requester, m, 0, &reply), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_request(requester, m, 1000, NULL), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_producer_request_async(requester, m, 1000, NULL, NULL), FMQ_ERR_INVALID_ARGUMENT);
    fmq_send_result sr;
    CHECK_ERR(fmq_producer_send_reply(requester, m, &sr), FMQ_ERR_INVALID_ARGUMENT); /* not a reply */
    fmq_message *out = NULL;
    CHECK_ERR(fmq_message_reply_to(NULL, NULL, 0, &out), FMQ_ERR_INVALID_ARGUMENT);
    fmq_message_free(m);

    CHECK_OK(fmq_push_consumer_shutdown(pc));
    pthread_mutex_lock(&responder.mu);
    CHECK(responder.failures == 0, "%d replies failed, last: %s", responder.failures, responder.last_error);
    CHECK(responder.answered >= 8 + 4 + RR_ASYNC, "%d answered", responder.answered);
    pthread_mutex_unlock(&responder.mu);
    fmq_push_consumer_free(pc);
    fmq_producer_free(requester);
    fmq_producer_free(responder.replier);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
    pthread_mutex_destroy(&responder.mu);
}

#endif
