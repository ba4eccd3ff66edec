/* The shared scenario list (docs/scenarios.md) against real servers, through the
 * installed libferromq. Usage: scenarios NAME | all   (FMQ_NAMESRV=host:port) */
#include "common.h"

#include <stdatomic.h>

enum { ORDERLY = 1, BROADCAST = 2 };

static fmq_push_consumer *consumer_with(const char *group, const char *instance, const char *topic,
                                        const char *tag, const char *sql, int flags, int max_retries,
                                        collector *c) {
    fmq_push_consumer *pc = NULL;
    CHECK_OK(fmq_push_consumer_new(namesrv(), group, &pc));
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
    wait_count(&got, N, 30, "quickstart messages");
    sleep_ms(300);
    CHECK(collector_count(&got) == N, "exactly N: %d", collector_count(&got));
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

typedef struct {
    const char *name;
    void (*run)(void);
} scenario;

static const scenario SCENARIOS[] = {
    {"quickstart", quickstart}, {"async-oneway", async_oneway}, {"batch", batch},
    {"ordered", ordered},       {"delayed", delayed},           {"timer", timer},
    {"transaction", transaction}, {"tag-filter", tag_filter},   {"sql-filter", sql_filter},
    {"broadcast", broadcast},   {"retry-dlq", retry_dlq},       {"pull", pull},
    {"bad-input", bad_input},
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
