/* The shared scenario list (docs/scenarios.md) against real servers, through the
 * installed libferromq. Usage: scenarios NAME | all   (FMQ_NAMESRV=host:port) */
#include "common.h"
#include "housekeeping.h"
#include "namespace.h"
#include "request_reply.h"
#include "trace.h"

#include <stdatomic.h>

enum { ORDERLY = 1, BROADCAST = 2 };

static fmq_push_consumer *consumer_with(const char *group, const char *instance, const char *topic,
                                        const char *tag, const char *sql, int flags, int max_retries,
                                        collector *c) {
    fmq_push_consumer *pc = NULL;
    CHECK_OK(fmq_push_consumer_new(namesrv(), group, &pc));
    secure_push_consumer(pc);
    if (sql)
        CHECK_OK(fmq_push_consumer_subscribe_sql92(pc, topic, sql));
    else
        CHECK_OK(fmq_push_consumer_subscribe(pc, topic, tag));
    CHECK_OK(fmq_push_consumer_set_consume_from_first(pc, true));
    if (instance) CHECK_OK(fmq_push_consumer_set_instance_name(pc, instance));
    if (flags & ORDERLY) CHECK_OK(fmq_push_consumer_set_orderly(pc, true));
    if (flags & BROADCAST) {
        char dir[128];
        snprintf(dir, sizeof dir, "%s/offsets-%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", instance);
        CHECK_OK(fmq_push_consumer_set_broadcasting(pc, true));
        CHECK_OK(fmq_push_consumer_set_offset_store_dir(pc, dir));
    }
    if (max_retries >= 0) CHECK_OK(fmq_push_consumer_set_max_reconsume_times(pc, max_retries));
    CHECK_OK(fmq_push_consumer_start(pc, collect, c));
    return pc;
}

static fmq_push_consumer *consumer(const char *topic, const char *tag, const char *sql, collector *c) {
    char group[96];
    unique(group, sizeof group, "cg");
    return consumer_with(group, NULL, topic, tag, sql, 0, -1, c);
}

/* The consumer's counters once it consumed N messages of TOPIC (4 queues) and its lag is 0;
 * fails the test after 30 s. */
static void wait_caught_up(fmq_push_consumer *pc, const char *topic, int n) {
    fmq_queue_lag queues[16];
    fmq_consumer_metrics m;
    double deadline = now_s() + 30;
    for (;;) {
        CHECK_OK(fmq_push_consumer_get_metrics(pc, queues, 16, &m));
        int held = 0;
        int64_t ends = 0;
        for (size_t i = 0; i < m.queue_count && i < 16; i++) {
            if (strcmp(queues[i].topic, topic) != 0) continue;
            held++;
            ends += queues[i].broker_max_offset;
        }
        if (m.consumed == (uint64_t)n && held == 4 && m.total_lag == 0 && ends == n) break;
        if (now_s() > deadline)
            FAIL("consumer metrics: consumed %llu, %d queues held, lag %lld, ends %lld", (unsigned long long)m.consumed,
                 held, (long long)m.total_lag, (long long)ends);
        sleep_ms(50);
    }
    CHECK(m.consume_failures == 0, "failures %llu", (unsigned long long)m.consume_failures);
    CHECK(m.consume_latency.count == (uint64_t)n, "listener calls %llu", (unsigned long long)m.consume_latency.count);
    CHECK(m.rebalances >= 1, "rebalances %llu", (unsigned long long)m.rebalances);
    CHECK(m.queue_count <= 16, "queues %zu", m.queue_count);
    for (size_t i = 0; i < m.queue_count; i++) {
        CHECK(queues[i].lag == 0, "lag of %s/%d: %lld", queues[i].topic, queues[i].queue_id, (long long)queues[i].lag);
        CHECK(strcmp(queues[i].broker_name, "c-broker-a") == 0, "broker %s", queues[i].broker_name);
    }
    /* A smaller array gets the first queues only; queue_count still says how many. */
    fmq_consumer_metrics again;
    CHECK_OK(fmq_push_consumer_get_metrics(pc, NULL, 0, &again));
    CHECK(again.queue_count == m.queue_count, "count %zu vs %zu", again.queue_count, m.queue_count);
}

/* The producer's counters: N sends of one message and FAILURES failed calls. */
static void check_producer_metrics(const fmq_producer *p, int n, int failures) {
    fmq_producer_metrics m;
    CHECK_OK(fmq_producer_get_metrics(p, &m));
    CHECK(m.sends == (uint64_t)n && m.messages == (uint64_t)n, "sends %llu messages %llu", (unsigned long long)m.sends,
          (unsigned long long)m.messages);
    CHECK(m.send_failures == (uint64_t)failures, "failures %llu", (unsigned long long)m.send_failures);
    CHECK(m.send_latency.count == (uint64_t)(n + failures), "latency count %llu",
          (unsigned long long)m.send_latency.count);
    uint64_t sum = 0;
    for (int i = 0; i < FMQ_LATENCY_BUCKETS; i++) sum += m.send_latency.counts[i];
    CHECK(sum == m.send_latency.count, "buckets add up: %llu", (unsigned long long)sum);
    CHECK(m.send_latency.bounds_ms[0] == 1 && m.send_latency.bounds_ms[FMQ_LATENCY_BOUNDS - 1] == 10000, "bounds");
}

/* quickstart: N sync sends with tag, key and property; one push consumer gets them intact. */
static void quickstart(void) {
    enum { N = 10 };
    char topic[96];
    make_topic(topic, sizeof topic, "Quickstart", 4);
    collector got;
    collector_init(&got);
    fmq_push_consumer *pc = consumer(topic, "*", NULL, &got);
    fmq_producer *p = start_producer();
    char ids[N][FMQ_ID_CAPACITY];
    for (int i = 0; i < N; i++) {
        char body[32], key[32], idx[16];
        snprintf(body, sizeof body, "hello-%d", i);
        snprintf(key, sizeof key, "key-%d", i);
        snprintf(idx, sizeof idx, "%d", i);
        fmq_message *m = message(topic, body);
        CHECK_OK(fmq_message_set_tag(m, "TagA"));
        CHECK_OK(fmq_message_set_keys(m, key));
        CHECK_OK(fmq_message_set_property(m, "idx", idx));
        fmq_send_result r;
        CHECK_OK(fmq_producer_send(p, m, &r));
        CHECK(r.status == FMQ_SEND_OK, "status %d", r.status);
        CHECK(strlen(r.msg_id) == 32, "msg id %s", r.msg_id);
        CHECK(r.queue_id >= 0 && r.queue_id < 4 && r.queue_offset >= 0, "queue %d offset %lld", r.queue_id,
              (long long)r.queue_offset);
        CHECK(strcmp(r.broker_name, "c-broker-a") == 0, "broker %s", r.broker_name);
        memcpy(ids[i], r.msg_id, FMQ_ID_CAPACITY);
        fmq_message_free(m);
    }
    {
        /* A refused send counts as a failure. */
        fmq_message *bad = message("bad/topic", "x");
        fmq_send_result r;
        CHECK_ERR(fmq_producer_send(p, bad, &r), FMQ_ERR_INVALID_ARGUMENT);
        fmq_message_free(bad);
    }
    check_producer_metrics(p, N, 1);
    wait_count(&got, N, 30, "quickstart messages");
    sleep_ms(300);
    CHECK(collector_count(&got) == N, "exactly N: %d", collector_count(&got));
    wait_caught_up(pc, topic, N);
    for (int i = 0; i < N; i++) {
        char body[32], key[32], idx[16];
        snprintf(body, sizeof body, "hello-%d", i);
        snprintf(key, sizeof key, "key-%d", i);
        snprintf(idx, sizeof idx, "%d", i);
        int j = find_body(&got, body);
        CHECK(j >= 0, "%s received", body);
        received *r = &got.items[j];
        CHECK(strcmp(r->tag, "TagA") == 0, "tag %s", r->tag);
        CHECK(strcmp(r->keys, key) == 0, "keys %s", r->keys);
        CHECK(strcmp(r->prop, idx) == 0, "property %s", r->prop);
        CHECK(strcmp(r->msg_id, ids[i]) == 0, "msg id %s vs %s", r->msg_id, ids[i]);
        CHECK(r->reconsume_times == 0, "reconsume %d", r->reconsume_times);
    }
    CHECK_OK(fmq_push_consumer_shutdown(pc));
    fmq_push_consumer_free(pc);
    CHECK_OK(fmq_producer_shutdown(p));
    fmq_producer_free(p);
}

typedef struct {
    atomic_int ok;
    atomic_int failed;
    atomic_int calls;
} async_box;

static void on_sent(fmq_result result, const fmq_send_result *sr, const char *error, void *userdata) {
    async_box *b = userdata;
    if (result == FMQ_OK && sr && sr->status == FMQ_SEND_OK && strlen(sr->msg_id) == 32) {
        /* A blocking call is refused here instead of deadlocking. */
        if (fmq_producer_send_oneway(NULL, NULL) == FMQ_ERR_INVALID_ARGUMENT) atomic_fetch_add(&b->ok, 1);
    } else {
        fprintf(stderr, "async send failed: %s\n", error ? error : "?");
        atomic_fetch_add(&b->failed, 1);
    }
    atomic_fetch_add(&b->calls, 1);
}

/* async-oneway: N async sends and N oneway sends; all results OK, all 2N consumed. */
static void async_oneway(void) {
    enum { N = 10 };
    char topic[96];
    make_topic(topic, sizeof topic, "AsyncOneway", 4);
    collector got;
    collector_init(&got);
    fmq_push_consumer *pc = consumer(topic, "*", NULL, &got);
    fmq_producer *p = start_producer();
    async_box box = {0};
    for (int i = 0; i < N; i++) {
        char body[32];
        snprintf(body, sizeof body, "async-%d", i);
        fmq_message *m = message(topic, body);
        CHECK_OK(fmq_producer_send_async(p, m, on_sent, &box));
        fmq_message_free(m); /* the library copied it */
        snprintf(body, sizeof body, "oneway-%d", i);
        m = message(topic, body);
        CHECK_OK(fmq_producer_send_oneway(p, m));
        fmq_message_free(m);
    }
    double deadline = now_s() + 30;
    while (atomic_load(&box.calls) < N) {
        CHECK(now_s() < deadline, "async completions: %d", atomic_load(&box.calls));
        sleep_ms(20);
    }
    CHECK(atomic_load(&box.ok) == N && atomic_load(&box.failed) == 0, "ok %d failed %d", atomic_load(&box.ok),
          atomic_load(&box.failed));
    wait_count(&got, 2 * N, 30, "async and oneway messages");
    for (int i = 0; i < N; i++) {
        char body[32];
        snprintf(body, sizeof body, "async-%d", i);
        CHECK(find_body(&got, body) >= 0, "%s", body);
        snprintf(body, sizeof body, "oneway-%d", i);
        CHECK(find_body(&got, body) >= 0, "%s", body);
    }
    fmq_push_consumer_free(pc);
    fmq_producer_free(p);
}

/* batch: one batch of N; N consumed; offsets contiguous in one queue. */
static void batch(void) {
    enum { N = 8 };
    char topic[96];
    make_topic(topic, sizeof topic, "Batch", 4);
    fmq_producer *p = start_producer();
    fmq_message *ms[N];
    for (int i = 0; i < N; i++) {
        char body[32];
        snprintf(body, sizeof body, "batch-%d", i);
        ms[i] = message(topic, body);
    }
    fmq_send_result rs[N];
    CHECK_OK(fmq_producer_send_batch(p, (const fmq_message *const *)ms, N, rs));
    for (int i = 0; i < N; i++) {
        CHECK(rs[i].status == FMQ_SEND_OK, "status");
        CHECK(rs[i].queue_id == rs[0].queue_id, "one queue");
        CHECK(rs[i].queue_offset == rs[0].queue_offset + i, "contiguous offsets");
        CHECK(strlen(rs[i].msg_id) == 32, "id %s", rs[i].msg_id);
        for (int j = 0; j < i; j++) CHECK(strcmp(rs[i].msg_id, rs[j].msg_id) != 0, "distinct ids");
        fmq_message_free(ms[i]);
    }
    collector got;
    collector_init(&got);
    fmq_push_consumer *pc = consumer(topic, "*", NULL, &got);
    wait_count(&got, N, 30, "batch messages");
    for (int i = 0; i < N; i++) {
        char body[32];
        snprintf(body, sizeof body, "batch-%d", i);
        int j = find_body(&got, body);
        CHECK(j >= 0, "%s", body);
        CHECK(got.items[j].queue_id == rs[0].queue_id && got.items[j].queue_offset == rs[0].queue_offset + i,
              "stored where the results said");
        CHECK(strcmp(got.items[j].msg_id, rs[i].msg_id) == 0, "msg id");
    }
    fmq_push_consumer_free(pc);
    fmq_producer_free(p);
}

static void send_ordered(fmq_producer *p, const char *topic, const char *const *keys, int nkeys, int from, int to,
                         int *queue_of) {
    for (int i = from; i < to; i++)
        for (int k = 0; k < nkeys; k++) {
            char body[32];
            snprintf(body, sizeof body, "%d:%d", k, i);
            fmq_message *m = message(topic, body);
            fmq_send_result r;
            CHECK_OK(fmq_producer_send_with_sharding_key(p, m, keys[k], &r));
            if (queue_of[k] < 0) queue_of[k] = r.queue_id;
            CHECK(r.queue_id == queue_of[k], "key %s stays in one queue", keys[k]);
            fmq_message_free(m);
        }
}

/* ordered: 3 sharding keys x M through the hash selector; an orderly group that grows from
 * one member to three mid-stream; per key one queue and exactly 0..M-1 in order. */
static void ordered(void) {
    enum { KEYS = 3, M = 20 };
    const char *keys[KEYS] = {"order-a", "order-b", "order-c"};
    char topic[96], group[96], instance[3][128];
    make_topic(topic, sizeof topic, "Ordered", 4);
    unique(group, sizeof group, "cg-orderly");
    for (int i = 0; i < 3; i++) snprintf(instance[i], sizeof instance[i], "%s-%d", group, i + 1);
    collector got; /* one log for the whole group */
    collector_init(&got);
    fmq_push_consumer *members[3] = {NULL, NULL, NULL};
    members[0] = consumer_with(group, instance[0], topic, "*", NULL, ORDERLY, -1, &got);
    fmq_producer *p = start_producer();
    int queue_of[KEYS] = {-1, -1, -1};
    send_ordered(p, topic, keys, KEYS, 0, M / 2, queue_of);
    wait_count(&got, 1, 30, "the first ordered messages");
    /* Two more members join while messages flow: queues move between members. */
    members[1] = consumer_with(group, instance[1], topic, "*", NULL, ORDERLY, -1, &got);
    members[2] = consumer_with(group, instance[2], topic, "*", NULL, ORDERLY, -1, &got);
    send_ordered(p, topic, keys, KEYS, M / 2, M, queue_of);
    wait_count(&got, KEYS * M, 60, "every ordered message");
    for (int i = 0; i < 3; i++) fmq_push_consumer_free(members[i]);
    CHECK(got.count == KEYS * M, "each once: %d", got.count);
    int next[KEYS] = {0, 0, 0};
    for (int i = 0; i < got.count; i++) {
        int k, seq;
        CHECK(sscanf(got.items[i].body, "%d:%d", &k, &seq) == 2 && k >= 0 && k < KEYS, "body %s", got.items[i].body);
        CHECK(seq == next[k], "key %d: got %d, expected %d", k, seq, next[k]);
        next[k]++;
        CHECK(got.items[i].queue_id == queue_of[k], "queue");
    }
    fmq_producer_free(p);
}

/* delayed: delay level 2 (5 s in the test broker) arrives 5-6 s after the send. */
static void delayed(void) {
    char topic[96];
    make_topic(topic, sizeof topic, "Delayed", 4);
    collector got;
    collector_init(&got);
    fmq_push_consumer *pc = consumer(topic, "*", NULL, &got);
    fmq_producer *p = start_producer();
    fmq_message *m = message(topic, "later");
    CHECK_OK(fmq_message_set_delay_level(m, 2));
    fmq_send_result r;
    double sent = now_s();
    CHECK_OK(fmq_producer_send(p, m, &r));
    fmq_message_free(m);
    wait_count(&got, 1, 30, "the delayed message");
    double elapsed = got.items[0].at - sent;
    CHECK(strcmp(got.items[0].body, "later") == 0, "body");
    CHECK(elapsed >= 4.9 && elapsed <= 10.0, "delivered after %.2f s", elapsed);
    fmq_push_consumer_free(pc);
    fmq_producer_free(p);
}

/* timer: deliver-at 3 s ahead arrives 3-4 s after the send. */
static void timer(void) {
    char topic[96];
    make_topic(topic, sizeof topic, "Timer", 4);
    collector got;
    collector_init(&got);
    fmq_push_consumer *pc = consumer(topic, "*", NULL, &got);
    fmq_producer *p = start_producer();
    fmq_message *m = message(topic, "at");
    double sent = now_s();
    CHECK_OK(fmq_message_set_deliver_time(m, (int64_t)(sent * 1000) + 3000));
    fmq_send_result r;
    CHECK_OK(fmq_producer_send(p, m, &r));
    fmq_message_free(m);
    wait_count(&got, 1, 30, "the timer message");
    double elapsed = got.items[0].at - sent;
    CHECK(strcmp(got.items[0].body, "at") == 0, "body");
    CHECK(elapsed >= 2.9 && elapsed <= 8.0, "delivered after %.2f s", elapsed);
    fmq_push_consumer_free(pc);
    fmq_producer_free(p);
}

typedef struct {
    atomic_int executed;
    atomic_int checked;
} tx_box;

static int32_t tx_execute(const fmq_message *m, const char *transaction_id, void *userdata) {
    tx_box *b = userdata;
    atomic_fetch_add(&b->executed, 1);
    size_t len = 0;
    const uint8_t *body = fmq_message_body(m, &len);
    if (!transaction_id || !*transaction_id) return FMQ_TRANSACTION_ROLLBACK;
    const char *tag = fmq_message_tag(m);
    if (!tag || strcmp(tag, "tx") != 0) return FMQ_TRANSACTION_ROLLBACK;
    if (len == 6 && memcmp(body, "commit", 6) == 0) return FMQ_TRANSACTION_COMMIT;
    if (len == 8 && memcmp(body, "rollback", 8) == 0) return FMQ_TRANSACTION_ROLLBACK;
    return FMQ_TRANSACTION_UNKNOWN;
}

static int32_t tx_check(const fmq_message_view *m, void *userdata) {
    tx_box *b = userdata;
    atomic_fetch_add(&b->checked, 1);
    size_t len = 0;
    const uint8_t *body = fmq_message_view_body(m, &len);
    return (len == 7 && memcmp(body, "unknown", 7) == 0) ? FMQ_TRANSACTION_COMMIT : FMQ_TRANSACTION_ROLLBACK;
}

/* transaction: COMMIT, ROLLBACK, and UNKNOWN answered COMMIT on check-back. */
static void transaction(void) {
    char topic[96], group[96];
    make_topic(topic, sizeof topic, "Transaction", 4);
    collector got;
    collector_init(&got);
    fmq_push_consumer *pc = consumer(topic, "*", NULL, &got);
    tx_box box = {0};
    unique(group, sizeof group, "txg");
    fmq_transaction_producer *tp = NULL;
    CHECK_OK(fmq_transaction_producer_new(namesrv(), group, tx_execute, tx_check, &box, &tp));
    secure_transaction_producer(tp);
    CHECK_OK(fmq_transaction_producer_start(tp));
    const char *bodies[3] = {"commit", "rollback", "unknown"};
    fmq_transaction_state expected[3] = {FMQ_TRANSACTION_COMMIT, FMQ_TRANSACTION_ROLLBACK, FMQ_TRANSACTION_UNKNOWN};
    for (int i = 0; i < 3; i++) {
        fmq_message *m = message(topic, bodies[i]);
        CHECK_OK(fmq_message_set_tag(m, "tx"));
        fmq_send_result r;
        fmq_transaction_state st = (fmq_transaction_state)-1;
        CHECK_OK(fmq_transaction_producer_send(tp, m, &r, &st));
        CHECK(st == expected[i], "%s: state %d", bodies[i], st);
        CHECK(r.status == FMQ_SEND_OK, "half message stored");
        fmq_message_free(m);
    }
    CHECK(atomic_load(&box.executed) == 3, "executed %d", atomic_load(&box.executed));
    wait_count(&got, 2, 40, "the committed messages");
    sleep_ms(2500);
    CHECK(collector_count(&got) == 2, "exactly two delivered: %d", collector_count(&got));
    CHECK(find_body(&got, "commit") >= 0 && find_body(&got, "unknown") >= 0, "commit and checked-back");
    CHECK(find_body(&got, "rollback") < 0, "rolled back never delivered");
    CHECK(atomic_load(&box.checked) >= 1, "check-back called");
    CHECK_OK(fmq_transaction_producer_shutdown(tp));
    fmq_transaction_producer_free(tp);
    fmq_push_consumer_free(pc);
}

/* tag-filter: tags A, B, C; subscribe "A || C"; exactly A and C arrive. */
static void tag_filter(void) {
    char topic[96];
    make_topic(topic, sizeof topic, "TagFilter", 4);
    fmq_producer *p = start_producer();
    const char *tags[3] = {"A", "B", "C"};
    for (int i = 0; i < 6; i++) {
        char body[16];
        snprintf(body, sizeof body, "%s%d", tags[i % 3], i);
        fmq_message *m = message(topic, body);
        CHECK_OK(fmq_message_set_tag(m, tags[i % 3]));
        fmq_send_result r;
        CHECK_OK(fmq_producer_send(p, m, &r));
        fmq_message_free(m);
    }
    collector got;
    collector_init(&got);
    fmq_push_consumer *pc = consumer(topic, "A || C", NULL, &got);
    wait_count(&got, 4, 30, "A and C");
    sleep_ms(1500);
    CHECK(collector_count(&got) == 4, "exactly 4: %d", collector_count(&got));
    for (int i = 0; i < got.count; i++)
        CHECK(strcmp(got.items[i].tag, "A") == 0 || strcmp(got.items[i].tag, "C") == 0, "tag %s", got.items[i].tag);
    fmq_push_consumer_free(pc);
    fmq_producer_free(p);
}

/* sql-filter: a = 1..10, b = 'x' (even a) or 'y'; "a > 5 AND b = 'x'" gets 6, 8, 10. */
static void sql_filter(void) {
    char topic[96];
    make_topic(topic, sizeof topic, "SqlFilter", 4);
    fmq_producer *p = start_producer();
    for (int a = 1; a <= 10; a++) {
        char body[16], av[8];
        snprintf(body, sizeof body, "a%d", a);
        snprintf(av, sizeof av, "%d", a);
        fmq_message *m = message(topic, body);
        CHECK_OK(fmq_message_set_property(m, "a", av));
        CHECK_OK(fmq_message_set_property(m, "b", a % 2 == 0 ? "x" : "y"));
        fmq_send_result r;
        CHECK_OK(fmq_producer_send(p, m, &r));
        fmq_message_free(m);
    }
    collector got;
    collector_init(&got);
    fmq_push_consumer *pc = consumer(topic, NULL, "a > 5 AND b = 'x'", &got);
    wait_count(&got, 3, 30, "the matching messages");
    sleep_ms(1500);
    CHECK(collector_count(&got) == 3, "exactly 3: %d", collector_count(&got));
    CHECK(find_body(&got, "a6") >= 0 && find_body(&got, "a8") >= 0 && find_body(&got, "a10") >= 0, "6, 8, 10");
    fmq_push_consumer_free(pc);
    fmq_producer_free(p);
}

/* broadcast: N messages; two members in broadcasting mode each receive all N. */
static void broadcast(void) {
    enum { N = 5 };
    char topic[96], group[96], i1[96], i2[96];
    make_topic(topic, sizeof topic, "Broadcast", 4);
    unique(group, sizeof group, "cg-bc");
    unique(i1, sizeof i1, "member1");
    unique(i2, sizeof i2, "member2");
    collector a, b;
    collector_init(&a);
    collector_init(&b);
    fmq_push_consumer *ca = consumer_with(group, i1, topic, "*", NULL, BROADCAST, -1, &a);
    fmq_push_consumer *cb = consumer_with(group, i2, topic, "*", NULL, BROADCAST, -1, &b);
    fmq_producer *p = start_producer();
    for (int i = 0; i < N; i++) {
        char body[16];
        snprintf(body, sizeof body, "bc-%d", i);
        fmq_message *m = message(topic, body);
        fmq_send_result r;
        CHECK_OK(fmq_producer_send(p, m, &r));
        fmq_message_free(m);
    }
    wait_count(&a, N, 30, "member 1");
    wait_count(&b, N, 30, "member 2");
    fmq_push_consumer_free(ca);
    fmq_push_consumer_free(cb);
    fmq_producer_free(p);
}

static void collect_poll(const fmq_message_view *m, void *userdata) { collect_view(userdata, m); }

/* retry-dlq: the listener always fails: redelivered with reconsume times 1, 2; then the
 * message is in %DLQ%<group>. */
static void retry_dlq(void) {
    char topic[96], group[96], dlq[128], reader_group[96];
    make_topic(topic, sizeof topic, "Retry", 4);
    unique(group, sizeof group, "cg-retry");
    fmq_producer *p = start_producer();
    fmq_message *m = message(topic, "poison");
    CHECK_OK(fmq_message_set_keys(m, "poison-key"));
    fmq_send_result sent;
    CHECK_OK(fmq_producer_send(p, m, &sent));
    fmq_message_free(m);
    collector got;
    collector_init(&got);
    got.fail = 1;
    fmq_push_consumer *pc = consumer_with(group, NULL, topic, "*", NULL, 0, 2, &got);
    wait_count(&got, 3, 60, "redeliveries");
    snprintf(dlq, sizeof dlq, "%%DLQ%%%s", group);
    unique(reader_group, sizeof reader_group, "dlq-reader");
    fmq_pull_consumer *reader = NULL;
    CHECK_OK(fmq_pull_consumer_new(namesrv(), reader_group, &reader));
    secure_pull_consumer(reader);
    CHECK_OK(fmq_pull_consumer_set_consume_from_first(reader, true));
    CHECK_OK(fmq_pull_consumer_start(reader));
    double deadline = now_s() + 60;
    while (fmq_pull_consumer_assign(reader, dlq) != FMQ_OK) {
        CHECK(now_s() < deadline, "DLQ topic routed: %s", fmq_error_message());
        sleep_ms(200);
    }
    collector dead;
    collector_init(&dead);
    deadline = now_s() + 30;
    while (collector_count(&dead) < 1) {
        size_t n = 0;
        CHECK_OK(fmq_pull_consumer_poll(reader, 500, collect_poll, &dead, &n));
        CHECK(now_s() < deadline, "dead letter");
    }
    sleep_ms(500);
    CHECK(collector_count(&got) == 3, "three attempts: %d", collector_count(&got));
    for (int i = 0; i < 3; i++) CHECK(got.items[i].reconsume_times == i, "attempt %d: %d", i, got.items[i].reconsume_times);
    CHECK(strcmp(dead.items[0].msg_id, sent.msg_id) == 0, "dead letter id %s", dead.items[0].msg_id);
    CHECK(strcmp(dead.items[0].body, "poison") == 0 && strcmp(dead.items[0].keys, "poison-key") == 0, "intact");
    fmq_pull_consumer_free(reader);
    fmq_push_consumer_free(pc);
    fmq_producer_free(p);
}

/* pull: N messages; assign, poll all once; seek back re-reads; the committed offset
 * survives a restart of the consumer. */
static void pull(void) {
    enum { N = 6 };
    char topic[96], group[96];
    make_topic(topic, sizeof topic, "Pull", 2);
    unique(group, sizeof group, "cg-pull");
    fmq_producer *p = start_producer();
    for (int i = 0; i < N; i++) {
        char body[16];
        snprintf(body, sizeof body, "pull-%d", i);
        fmq_message *m = message(topic, body);
        fmq_send_result r;
        CHECK_OK(fmq_producer_send(p, m, &r));
        fmq_message_free(m);
    }
    fmq_pull_consumer *c = NULL;
    CHECK_OK(fmq_pull_consumer_new(namesrv(), group, &c));
    secure_pull_consumer(c);
    CHECK_OK(fmq_pull_consumer_set_consume_from_first(c, true));
    CHECK_OK(fmq_pull_consumer_set_auto_commit(c, false));
    CHECK_OK(fmq_pull_consumer_start(c));
    CHECK_OK(fmq_pull_consumer_assign(c, topic));
    collector got;
    collector_init(&got);
    double deadline = now_s() + 30;
    while (collector_count(&got) < N) {
        size_t n = 0;
        CHECK_OK(fmq_pull_consumer_poll(c, 500, collect_poll, &got, &n));
        CHECK(now_s() < deadline, "polled %d", collector_count(&got));
    }
    size_t n = 0;
    CHECK_OK(fmq_pull_consumer_poll(c, 300, collect_poll, &got, &n));
    CHECK(collector_count(&got) == N, "each once: %d", collector_count(&got));
    CHECK_OK(fmq_pull_consumer_commit(c));
    CHECK_OK(fmq_pull_consumer_seek_to_begin(c, topic));
    collector again;
    collector_init(&again);
    deadline = now_s() + 30;
    while (collector_count(&again) < N) {
        CHECK_OK(fmq_pull_consumer_poll(c, 500, collect_poll, &again, &n));
        CHECK(now_s() < deadline, "re-read %d", collector_count(&again));
    }
    CHECK_OK(fmq_pull_consumer_shutdown(c));
    fmq_pull_consumer_free(c);
    /* A new consumer of the group starts at the committed offsets: nothing left. */
    CHECK_OK(fmq_pull_consumer_new(namesrv(), group, &c));
    secure_pull_consumer(c);
    CHECK_OK(fmq_pull_consumer_set_consume_from_first(c, true));
    CHECK_OK(fmq_pull_consumer_start(c));
    CHECK_OK(fmq_pull_consumer_assign(c, topic));
    collector after;
    collector_init(&after);
    CHECK_OK(fmq_pull_consumer_poll(c, 1000, collect_poll, &after, &n));
    CHECK(collector_count(&after) == 0, "committed offsets kept: %d re-read", collector_count(&after));
    fmq_pull_consumer_free(c);
    fmq_producer_free(p);
}

/* bad-input: oversized message, illegal topic, unknown name server: clear errors of the
 * right kind, nothing sent, the producer keeps working. */
static void bad_input(void) {
    char topic[96], group[96];
    make_topic(topic, sizeof topic, "BadInput", 4);
    unique(group, sizeof group, "pg");
    fmq_producer *p = NULL;
    CHECK_OK(fmq_producer_new(namesrv(), group, &p));
    secure_producer(p);
    CHECK_OK(fmq_producer_set_max_message_size(p, 1024));
    CHECK_OK(fmq_producer_start(p));
    char big[2048];
    memset(big, 'x', sizeof big);
    fmq_message *m = NULL;
    CHECK_OK(fmq_message_new(topic, (const uint8_t *)big, sizeof big, &m));
    fmq_send_result r;
    memset(&r, 0x5a, sizeof r);
    CHECK_ERR(fmq_producer_send(p, m, &r), FMQ_ERR_INVALID_ARGUMENT);
    CHECK(!fmq_error_is_retryable(), "oversized is not retryable");
    CHECK(((unsigned char *)&r)[0] == 0x5a, "output untouched on failure");
    fmq_message_free(m);
    m = message("illegal topic!", "x");
    CHECK_ERR(fmq_producer_send(p, m, &r), FMQ_ERR_INVALID_ARGUMENT);
    fmq_message_free(m);
    m = message(topic, "fine");
    CHECK_OK(fmq_producer_send(p, m, &r));
    CHECK(r.status == FMQ_SEND_OK, "still works");
    fmq_message_free(m);
    CHECK_ERR(fmq_producer_start(p), FMQ_ERR_ILLEGAL_STATE);
    CHECK_OK(fmq_producer_shutdown(p));
    m = message(topic, "late");
    CHECK_ERR(fmq_producer_send(p, m, &r), FMQ_ERR_ILLEGAL_STATE);
    fmq_producer_free(p);

    /* An unknown name server: a connect or timeout error, retryable. */
    fmq_producer *u = NULL;
    CHECK_OK(fmq_producer_new("127.0.0.1:1", group, &u));
    CHECK_OK(fmq_producer_set_send_timeout(u, 1000));
    CHECK_OK(fmq_producer_set_request_timeout(u, 1000));
    CHECK_OK(fmq_producer_set_retry_times(u, 0));
    fmq_result res = fmq_producer_start(u);
    if (res == FMQ_OK) res = fmq_producer_send(u, m, &r);
    CHECK(res == FMQ_ERR_CONNECT || res == FMQ_ERR_TIMEOUT, "%s: %s", fmq_result_name(res), fmq_error_message());
    CHECK(fmq_error_is_retryable(), "a connect failure is retryable");
    CHECK(strstr(fmq_error_message(), "127.0.0.1:1") != NULL, "the message names the address: %s",
          fmq_error_message());
    fmq_producer_free(u);
    fmq_message_free(m);
}

/* Copies the broker name of a route row (one broker in the test cluster). */
static void route_broker(const char *broker, int32_t read, int32_t write, int32_t perm, void *userdata) {
    (void)read;
    (void)write;
    (void)perm;
    snprintf(userdata, 64, "%s", broker);
}

/* Adds up the max offsets of a topic's queues: the messages stored. */
static void sum_max_offsets(const char *broker, int32_t queue_id, int64_t min, int64_t max, int64_t t, void *userdata) {
    (void)broker;
    (void)queue_id;
    (void)min;
    (void)t;
    *(int64_t *)userdata += max;
}

/* pull-control: one message at a time (next_message), pause and resume of a topic's queues,
 * seek of one queue to an offset, seek to the end. */
static void pull_control(void) {
    char topic[96], group[96];
    make_topic(topic, sizeof topic, "PullControl", 2);
    unique(group, sizeof group, "cg-pullctl");
    fmq_producer *p = start_producer();
    fmq_send_result r;
    for (int i = 0; i < 4; i++) {
        char body[16];
        snprintf(body, sizeof body, "first-%d", i);
        fmq_message *m = message(topic, body);
        CHECK_OK(fmq_producer_send_with_sharding_key(p, m, "one-queue", &r));
        fmq_message_free(m);
    }
    fmq_pull_consumer *c = NULL;
    CHECK_OK(fmq_pull_consumer_new(namesrv(), group, &c));
    secure_pull_consumer(c);
    CHECK_OK(fmq_pull_consumer_set_consume_from(c, "firstOffset"));
    CHECK_OK(fmq_pull_consumer_start(c));
    CHECK_OK(fmq_pull_consumer_assign(c, topic));
    collector got;
    collector_init(&got);
    double deadline = now_s() + 30;
    while (collector_count(&got) < 4) {
        bool received = false;
        int before = collector_count(&got);
        CHECK_OK(fmq_pull_consumer_next_message(c, 500, collect_poll, &got, &received));
        CHECK(received == (collector_count(&got) == before + 1), "one message per call");
        CHECK(now_s() < deadline, "read %d", collector_count(&got));
    }
    for (int i = 0; i < 4; i++) CHECK(got.items[i].queue_offset == i, "offset %lld", got.items[i].queue_offset);
    int queue_id = got.items[0].queue_id;

    /* Paused: nothing new is fetched; resumed: it comes. */
    CHECK_OK(fmq_pull_consumer_pause(c, topic, NULL, 0));
    sleep_ms(300);
    fmq_message *m = message(topic, "while-paused");
    CHECK_OK(fmq_producer_send_with_sharding_key(p, m, "one-queue", &r));
    fmq_message_free(m);
    bool received = true;
    CHECK_OK(fmq_pull_consumer_next_message(c, 1500, collect_poll, &got, &received));
    CHECK(!received && collector_count(&got) == 4, "paused: %d", collector_count(&got));
    CHECK_OK(fmq_pull_consumer_resume(c, topic, NULL, 0));
    deadline = now_s() + 30;
    while (collector_count(&got) < 5) {
        CHECK_OK(fmq_pull_consumer_next_message(c, 500, collect_poll, &got, &received));
        CHECK(now_s() < deadline, "resumed: %d", collector_count(&got));
    }
    CHECK(strcmp(got.items[4].body, "while-paused") == 0, "body %s", got.items[4].body);

    /* Seek one queue back to offset 1: offsets 1..4 again. The broker name is the route's. */
    char broker[64] = "";
    size_t rows = 0;
    CHECK_OK(fmq_admin_topic_route(namesrv(), topic, route_broker, broker, &rows));
    CHECK(rows == 1 && broker[0] != 0, "one broker: %zu", rows);
    collector again;
    collector_init(&again);
    CHECK_ERR(fmq_pull_consumer_seek(c, topic, broker, queue_id, -1), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_ERR(fmq_pull_consumer_seek(c, topic, "no-such-broker", queue_id, 1), FMQ_ERR_INVALID_ARGUMENT);
    CHECK_OK(fmq_pull_consumer_seek(c, topic, broker, queue_id, 1));
    deadline = now_s() + 30;
    while (collector_count(&again) < 4) {
        CHECK_OK(fmq_pull_consumer_next_message(c, 500, collect_poll, &again, &received));
        CHECK(now_s() < deadline, "after seek: %d", collector_count(&again));
    }
    for (int i = 0; i < 4; i++)
        CHECK(again.items[i].queue_offset == i + 1, "offset %lld", again.items[i].queue_offset);

    /* Seek to the end (after a seek back to 0): nothing left to read. */
    CHECK_OK(fmq_pull_consumer_seek(c, topic, broker, queue_id, 0));
    CHECK_OK(fmq_pull_consumer_seek_to_end(c, topic));
    collector end;
    collector_init(&end);
    CHECK_OK(fmq_pull_consumer_next_message(c, 1000, collect_poll, &end, &received));
    CHECK(!received && collector_count(&end) == 0, "at the end: %d", collector_count(&end));
    CHECK_OK(fmq_pull_consumer_shutdown(c));
    CHECK_OK(fmq_pull_consumer_shutdown(c));
    CHECK_ERR(fmq_pull_consumer_start(c), FMQ_ERR_ILLEGAL_STATE);
    fmq_pull_consumer_free(c);
    fmq_producer_free(p);
}

/* The selector's userdata: the queue it answers, and how often it was called. */
typedef struct {
    int32_t answer;
    int32_t queue_count;
    int calls;
    char topic[96];
} selection;

static int32_t select_queue(const fmq_message *m, int32_t queue_count, void *userdata) {
    selection *s = userdata;
    s->calls++;
    s->queue_count = queue_count;
    snprintf(s->topic, sizeof s->topic, "%s", fmq_message_topic(m));
    return s->answer;
}

/* Calls a blocking FerroMQ function from the selector: refused there. */
static int32_t select_blocking(const fmq_message *m, int32_t queue_count, void *userdata) {
    (void)queue_count;
    fmq_send_result r;
    fmq_result rc = fmq_producer_send(userdata, m, &r);
    return rc == FMQ_ERR_ILLEGAL_STATE ? 1 : -1;
}

/* selector: a C queue selector picks the queue; an answer out of range sends nothing. */
static void selector(void) {
    char topic[96];
    make_topic(topic, sizeof topic, "Selector", 4);
    fmq_producer *p = start_producer();
    fmq_message *m = message(topic, "selected");
    selection s = {.answer = 2};
    fmq_send_result r;
    CHECK_OK(fmq_producer_send_with_selector(p, m, select_queue, &s, &r));
    CHECK(s.calls == 1 && s.queue_count == 4 && strcmp(s.topic, topic) == 0, "calls %d count %d", s.calls, s.queue_count);
    CHECK(r.queue_id == 2 && r.status == FMQ_SEND_OK, "queue %d", r.queue_id);
    int32_t bad[] = {4, -1, 1000000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s.answer = bad[i];
        memset(&r, 0x5a, sizeof r);
        CHECK_ERR(fmq_producer_send_with_selector(p, m, select_queue, &s, &r), FMQ_ERR_INVALID_ARGUMENT);
        CHECK(strstr(fmq_error_message(), "selector") != NULL, "%s", fmq_error_message());
        CHECK(((unsigned char *)&r)[0] == 0x5a, "out untouched");
    }
    CHECK_OK(fmq_producer_send_with_selector(p, m, select_blocking, p, &r));
    CHECK(r.queue_id == 1, "queue %d", r.queue_id);
    /* Only the two good sends were stored. */
    int64_t total = 0;
    size_t n = 0;
    double deadline = now_s() + 30; /* the broker's queue offsets follow its commit log */
    for (;;) {
        total = 0;
        CHECK_OK(fmq_admin_topic_stats(namesrv(), topic, sum_max_offsets, &total, &n));
        if (total >= 2) break;
        CHECK(now_s() < deadline, "%zu queues, %lld stored", n, (long long)total);
        sleep_ms(100);
    }
    sleep_ms(300); /* nothing more comes */
    total = 0;
    CHECK_OK(fmq_admin_topic_stats(namesrv(), topic, sum_max_offsets, &total, &n));
    CHECK(n == 4 && total == 2, "%zu queues, %lld stored", n, (long long)total);
    fmq_message_free(m);
    fmq_producer_free(p);
}

/* Admin rows, copied out of the callbacks. */
typedef struct {
    int brokers;
    char master[64];
    int route_rows;
    int write_queues;
    int queues;
    long long max_offset_sum;
    long long consumed_sum;
    int found;
    char found_body[64];
} admin_rows;

static void on_broker(const char *cluster, const char *broker, const char *addr, void *userdata) {
    admin_rows *a = userdata;
    if (strcmp(cluster, "DefaultCluster") == 0 && broker[0] && addr) {
        a->brokers++;
        snprintf(a->master, sizeof a->master, "%s", addr);
    }
}

static void on_queue_data(const char *broker, int32_t read, int32_t write, int32_t perm, void *userdata) {
    admin_rows *a = userdata;
    (void)broker;
    (void)read;
    CHECK(perm & 2, "writable: %d", perm);
    a->route_rows++;
    a->write_queues += write;
}

static void on_stats(const char *broker, int32_t queue_id, int64_t min, int64_t max, int64_t t, void *userdata) {
    admin_rows *a = userdata;
    (void)broker;
    (void)queue_id;
    (void)t;
    CHECK(min <= max, "min %lld max %lld", (long long)min, (long long)max);
    a->queues++;
    a->max_offset_sum += max;
}

static void on_progress(const char *broker, int32_t queue_id, int64_t broker_offset, int64_t consumed, int64_t t,
                        void *userdata) {
    admin_rows *a = userdata;
    (void)broker;
    (void)queue_id;
    (void)broker_offset;
    (void)t;
    if (consumed > 0) a->consumed_sum += consumed; /* a queue without messages may have none */
}

static void on_found(const fmq_message_view *m, void *userdata) {
    admin_rows *a = userdata;
    size_t len = 0;
    const uint8_t *body = fmq_message_view_body(m, &len);
    a->found++;
    snprintf(a->found_body, sizeof a->found_body, "%.*s", (int)len, (const char *)body);
}

/* admin: cluster table, ordered topic creation, route, stats, a group's progress, messages
 * by key and by offset id, topic deletion. */
static void admin(void) {
    admin_rows a;
    memset(&a, 0, sizeof a);
    size_t n = 0;
    CHECK_OK(fmq_admin_cluster_info(namesrv(), on_broker, &a, &n));
    CHECK(n >= 1 && a.brokers >= 1 && a.master[0], "brokers %zu", n);

    char topic[96];
    unique(topic, sizeof topic, "Admin");
    CHECK_OK(fmq_admin_create_topic_with_order(namesrv(), NULL, topic, 3, false));
    double deadline = now_s() + 30;
    for (;;) {
        a.route_rows = a.write_queues = 0;
        if (fmq_admin_topic_route(namesrv(), topic, on_queue_data, &a, &n) == FMQ_OK && a.write_queues == 3) break;
        CHECK(now_s() < deadline, "route of %s: %d queues", topic, a.write_queues);
        sleep_ms(100);
    }
    CHECK(n == (size_t)a.route_rows && n >= 1, "rows %zu", n);

    fmq_producer *p = start_producer();
    fmq_send_result sent[3];
    for (int i = 0; i < 3; i++) {
        char body[32];
        snprintf(body, sizeof body, "admin-%d", i);
        fmq_message *m = message(topic, body);
        CHECK_OK(fmq_message_set_keys(m, i == 1 ? "admin-key" : "other-key"));
        CHECK_OK(fmq_producer_send(p, m, &sent[i]));
        fmq_message_free(m);
    }
    deadline = now_s() + 30; /* the broker's queue offsets follow its commit log */
    for (;;) {
        a.queues = 0;
        a.max_offset_sum = 0;
        CHECK_OK(fmq_admin_topic_stats(namesrv(), topic, on_stats, &a, &n));
        if (a.max_offset_sum >= 3) break;
        CHECK(now_s() < deadline, "stats: %zu queues, %lld messages", n, a.max_offset_sum);
        sleep_ms(100);
    }
    CHECK(n == 3 && a.queues == 3 && a.max_offset_sum == 3, "stats: %zu queues, %lld messages", n, a.max_offset_sum);

    /* A pull consumer of a group reads and commits everything: its progress shows it. */
    char group[96];
    unique(group, sizeof group, "cg-admin");
    fmq_pull_consumer *c = NULL;
    CHECK_OK(fmq_pull_consumer_new(namesrv(), group, &c));
    secure_pull_consumer(c);
    CHECK_OK(fmq_pull_consumer_set_consume_from_first(c, true));
    CHECK_OK(fmq_pull_consumer_start(c));
    CHECK_OK(fmq_pull_consumer_assign(c, topic));
    collector got;
    collector_init(&got);
    deadline = now_s() + 30;
    while (collector_count(&got) < 3) {
        bool received = false;
        CHECK_OK(fmq_pull_consumer_next_message(c, 500, collect_poll, &got, &received));
        CHECK(now_s() < deadline, "read %d", collector_count(&got));
    }
    CHECK_OK(fmq_pull_consumer_commit(c));
    CHECK_OK(fmq_admin_consumer_progress(namesrv(), group, topic, on_progress, &a, &n));
    CHECK(n >= 1 && a.consumed_sum == 3, "progress: %zu queues, %lld consumed", n, a.consumed_sum);
    fmq_pull_consumer_free(c);

    /* By key (the index may lag a moment) and by offset id. */
    deadline = now_s() + 30;
    for (;;) {
        a.found = 0;
        CHECK_OK(fmq_admin_query_by_key(namesrv(), topic, "admin-key", 32, on_found, &a, &n));
        if (n == 1) break;
        CHECK(now_s() < deadline, "query by key: %zu", n);
        sleep_ms(200);
    }
    CHECK(a.found == 1 && strcmp(a.found_body, "admin-1") == 0, "found %s", a.found_body);
    a.found = 0;
    CHECK_OK(fmq_admin_view_message(namesrv(), sent[2].offset_msg_id, on_found, &a));
    CHECK(a.found == 1 && strcmp(a.found_body, "admin-2") == 0, "viewed %s", a.found_body);
    CHECK_ERR(fmq_admin_view_message(namesrv(), "not-an-id", on_found, &a), FMQ_ERR_INVALID_ARGUMENT);

    CHECK_OK(fmq_admin_delete_topic(namesrv(), NULL, topic));
    deadline = now_s() + 30;
    while (fmq_admin_topic_route(namesrv(), topic, on_queue_data, &a, &n) == FMQ_OK) {
        CHECK(now_s() < deadline, "%s still routed", topic);
        sleep_ms(100);
    }
    CHECK_ERR(fmq_admin_topic_route(namesrv(), topic, on_queue_data, &a, &n), FMQ_ERR_TOPIC_NOT_FOUND);
    fmq_producer_free(p);
}

/* push-options: batches of up to 4 messages (the listener still gets one per call), queues
 * allocated by circle, a typed subscription; a failure in a batch redelivers the message. */
static int32_t fail_first_b1(const fmq_message_view *m, void *userdata) {
    collector *c = userdata;
    collect_view(c, m);
    size_t len = 0;
    const uint8_t *body = fmq_message_view_body(m, &len);
    if (len == 2 && memcmp(body, "b1", 2) == 0 && fmq_message_view_reconsume_times(m) == 0) return -1;
    return FMQ_CONSUME_SUCCESS;
}

static void push_options(void) {
    char topic[96], group[96];
    make_topic(topic, sizeof topic, "PushOptions", 2);
    unique(group, sizeof group, "cg-options");
    fmq_producer *p = start_producer();
    for (int i = 0; i < 8; i++) {
        char body[16];
        snprintf(body, sizeof body, "b%d", i);
        fmq_message *m = message(topic, body);
        CHECK_OK(fmq_message_set_tag(m, i % 2 ? "odd" : "even"));
        fmq_send_result r;
        CHECK_OK(fmq_producer_send(p, m, &r));
        fmq_message_free(m);
    }
    collector got;
    collector_init(&got);
    fmq_push_consumer *pc = NULL;
    CHECK_OK(fmq_push_consumer_new(namesrv(), group, &pc));
    secure_push_consumer(pc);
    CHECK_OK(fmq_push_consumer_subscribe_typed(pc, topic, "tag", "odd"));
    CHECK_OK(fmq_push_consumer_set_consume_from(pc, "firstOffset"));
    CHECK_OK(fmq_push_consumer_set_consume_batch_size(pc, 4));
    CHECK_OK(fmq_push_consumer_set_allocation(pc, "averagelyByCircle"));
    CHECK_OK(fmq_push_consumer_set_message_model(pc, "clustering"));
    CHECK_OK(fmq_push_consumer_start(pc, fail_first_b1, &got));
    CHECK_ERR(fmq_push_consumer_start(pc, fail_first_b1, &got), FMQ_ERR_ILLEGAL_STATE);
    /* b1, b3, b5, b7, and b1 again later: the batch b1 failed in is redelivered as a whole, so
     * messages after b1 in it may come only then. */
    double deadline = now_s() + 60;
    for (;;) {
        pthread_mutex_lock(&got.mu);
        int retried = 0;
        for (int i = 0; i < got.count; i++)
            if (strcmp(got.items[i].body, "b1") == 0 && got.items[i].reconsume_times == 1) retried = 1;
        int all = find_body(&got, "b1") >= 0 && find_body(&got, "b3") >= 0 && find_body(&got, "b5") >= 0 &&
                  find_body(&got, "b7") >= 0;
        pthread_mutex_unlock(&got.mu);
        if (retried && all) break;
        CHECK(now_s() < deadline, "b1 redelivered: %d received", collector_count(&got));
        sleep_ms(50);
    }
    CHECK_OK(fmq_push_consumer_shutdown(pc)); /* no listener call after it */
    for (int i = 0; i < got.count; i++) CHECK(strcmp(got.items[i].tag, "odd") == 0, "tag %s", got.items[i].tag);
    fmq_push_consumer_free(pc);
    fmq_producer_free(p);
}

typedef struct {
    const char *name;
    void (*run)(void);
} scenario;

static const scenario SCENARIOS[] = {
    {"quickstart", quickstart}, {"async-oneway", async_oneway}, {"batch", batch},
    {"ordered", ordered},       {"delayed", delayed},           {"timer", timer},
    {"transaction", transaction}, {"tag-filter", tag_filter},   {"sql-filter", sql_filter},
    {"broadcast", broadcast},   {"retry-dlq", retry_dlq},       {"pull", pull},
    {"bad-input", bad_input},   {"pull-control", pull_control}, {"selector", selector},
    {"admin", admin},           {"push-options", push_options}, {"request-reply", request_reply},
    {"namespace", namespace_scenario}, {"message-trace", message_trace}, {"consume-timeout", consume_timeout},
    {"shutdown", shutdown_scenario},
};

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "all";
    int passed = 0;
    for (size_t i = 0; i < sizeof SCENARIOS / sizeof SCENARIOS[0]; i++) {
        if (strcmp(which, "all") != 0 && strcmp(which, SCENARIOS[i].name) != 0) continue;
        double t = now_s();
        SCENARIOS[i].run(); /* a failed check exits non-zero */
        printf("ok - %s (%.1f s)\n", SCENARIOS[i].name, now_s() - t);
        fflush(stdout);
        passed++;
    }
    if (passed == 0) FAIL("no scenario named %s", which);
    return 0;
}
