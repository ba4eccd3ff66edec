/* The message-trace scenario of tests/scenarios.c (docs/scenarios.md, docs/message-trace.md):
 * traced producers (fmq_producer_set_msg_trace), a traced transaction producer
 * (fmq_transaction_producer_set_msg_trace) and traced push consumers
 * (fmq_push_consumer_set_msg_trace) write records to RMQ_SYS_TRACE_TOPIC; the test queries it
 * by message id (fmq_admin_query_by_key) and decodes the records itself: each ends with \x02,
 * its fields are separated by \x01, the type first. client-core/tests/trace.rs checks the same
 * in Rust. Included once, by scenarios.c (after namespace.h). */
#ifndef FERROMQ_TEST_TRACE_H
#define FERROMQ_TEST_TRACE_H

#include <stdatomic.h>

#include "common.h"
#include "namespace.h"

#define TR_TOPIC "RMQ_SYS_TRACE_TOPIC"
#define TR_MAX_RECORDS 32
#define TR_MAX_FIELDS 16
#define TR_FIELD 128
#define TR_WAIT 60.0

typedef struct {
    int nfields;
    char f[TR_MAX_FIELDS][TR_FIELD];
} tr_record;

/* The records about one message id. */
typedef struct {
    const char *msg_id;
    int count;
    tr_record records[TR_MAX_RECORDS];
} tr_found;

/* Splits one record (LEN bytes at P) into fields; keeps it when a field is the message id. */
static void tr_add(tr_found *t, const char *p, size_t len) {
    tr_record r;
    memset(&r, 0, sizeof r);
    size_t start = 0;
    for (size_t i = 0; i <= len && r.nfields < TR_MAX_FIELDS; i++) {
        if (i == len || p[i] == '\x01') {
            size_t n = i - start < TR_FIELD - 1 ? i - start : TR_FIELD - 1;
            memcpy(r.f[r.nfields], p + start, n);
            r.f[r.nfields][n] = '\0';
            r.nfields++;
            start = i + 1;
        }
    }
    if (r.nfields < 2) return;
    int mine = 0;
    for (int i = 0; i < r.nfields; i++)
        if (strcmp(r.f[i], t->msg_id) == 0) mine = 1;
    if (mine && t->count < TR_MAX_RECORDS) t->records[t->count++] = r;
}

/* One trace message found by fmq_admin_query_by_key (this thread). */
static void tr_on_message(const fmq_message_view *m, void *userdata) {
    size_t len = 0;
    const char *body = (const char *)fmq_message_view_body(m, &len);
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (body[i] == '\x02') {
            tr_add(userdata, body + start, i - start);
            start = i + 1;
        }
    }
}

/* The records about MSG_ID now (none while the trace topic or its index entries are missing). */
static void tr_query(tr_found *t, const char *msg_id) {
    t->msg_id = msg_id;
    t->count = 0;
    size_t n = 0;
    (void)fmq_admin_query_by_key(namesrv(), TR_TOPIC, msg_id, 64, tr_on_message, t, &n);
}

static int tr_count(const tr_found *t, const char *type) {
    int n = 0;
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->records[i].f[0], type) == 0) n++;
    return n;
}

/* The INDEX-th record of TYPE (the test fails when there is none). */
static const tr_record *tr_get(const tr_found *t, const char *type, int index) {
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->records[i].f[0], type) == 0 && index-- == 0) return &t->records[i];
    FAIL("no %s record of %s", type, t->msg_id);
}

/* Waits until the records of MSG_ID hold exactly these numbers of Pub, SubBefore and SubAfter
 * records and at least END EndTransaction records (exactly 0 when END is 0). */
static void tr_wait(tr_found *t, const char *msg_id, int pub, int before, int after, int end) {
    double deadline = now_s() + TR_WAIT;
    for (;;) {
        tr_query(t, msg_id);
        int ends = tr_count(t, "EndTransaction");
        if (tr_count(t, "Pub") == pub && tr_count(t, "SubBefore") == before && tr_count(t, "SubAfter") == after &&
            (end == 0 ? ends == 0 : ends >= end))
            return;
        if (now_s() > deadline)
            FAIL("trace records of %s: Pub %d, SubBefore %d, SubAfter %d, EndTransaction %d", msg_id,
                 tr_count(t, "Pub"), tr_count(t, "SubBefore"), tr_count(t, "SubAfter"), tr_count(t, "EndTransaction"));
        sleep_ms(200);
    }
}

#define TR_FIELD_IS(r, i, want) CHECK(strcmp((r)->f[i], (want)) == 0, "%s field %d: %s, want %s", (r)->f[0], i, (r)->f[i], want)

/* Pub: timestamp, regionId, group, topic, msgId, tags, keys, storeHost, bodyLength, costTime,
 * msgType, offsetMsgId, success. */
static void tr_check_pub(const tr_found *t, const char *group, const char *topic, const char *tag, const char *keys,
                         const char *store_host, const char *body_length, const char *msg_type,
                         const char *offset_msg_id) {
    const tr_record *pub = tr_get(t, "Pub", 0);
    CHECK(pub->nfields >= 14, "Pub has %d fields", pub->nfields);
    TR_FIELD_IS(pub, 3, group);
    TR_FIELD_IS(pub, 4, topic);
    TR_FIELD_IS(pub, 5, t->msg_id);
    TR_FIELD_IS(pub, 6, tag);
    TR_FIELD_IS(pub, 7, keys);
    TR_FIELD_IS(pub, 8, store_host);
    if (body_length) TR_FIELD_IS(pub, 9, body_length);
    TR_FIELD_IS(pub, 11, msg_type);
    if (offset_msg_id) TR_FIELD_IS(pub, 12, offset_msg_id);
    TR_FIELD_IS(pub, 13, "true");
}

/* One SubBefore/SubAfter pair of GROUP sharing a request id, for a first delivery that
 * succeeded. SubBefore: timestamp, regionId, group, requestId, msgId, retryTimes, keys.
 * SubAfter: requestId, msgId, costTime, success, keys, contextCode, timestamp, group. */
static void tr_check_consumed(const tr_found *t, const char *group, const char *keys) {
    const tr_record *before = tr_get(t, "SubBefore", 0);
    const tr_record *after = tr_get(t, "SubAfter", 0);
    CHECK(before->nfields >= 8 && after->nfields >= 9, "fields %d and %d", before->nfields, after->nfields);
    TR_FIELD_IS(before, 3, group);
    CHECK(before->f[4][0], "a request id");
    TR_FIELD_IS(before, 5, t->msg_id);
    TR_FIELD_IS(before, 6, "0");
    TR_FIELD_IS(before, 7, keys);
    TR_FIELD_IS(after, 1, before->f[4]);
    TR_FIELD_IS(after, 2, t->msg_id);
    TR_FIELD_IS(after, 4, "true");
    TR_FIELD_IS(after, 5, keys);
    TR_FIELD_IS(after, 6, "0");
    TR_FIELD_IS(after, 8, group);
}

static void tr_on_broker(const char *cluster, const char *broker, const char *addr, void *userdata) {
    (void)cluster;
    if (strcmp(broker, "c-broker-a") == 0 && addr) snprintf(userdata, 64, "%s", addr);
}

static fmq_producer *tr_producer(const char *group, const char *ns) {
    fmq_producer *p = NULL;
    CHECK_OK(fmq_producer_new(namesrv(), group, &p));
    secure_producer(p);
    if (ns) CHECK_OK(fmq_producer_set_namespace(p, ns));
    CHECK_OK(fmq_producer_set_msg_trace(p, true, NULL));
    CHECK_OK(fmq_producer_start(p));
    return p;
}

static fmq_push_consumer *tr_consumer(const char *group, const char *topic, const char *ns, collector *c) {
    fmq_push_consumer *pc = NULL;
    CHECK_OK(fmq_push_consumer_new(namesrv(), group, &pc));
    secure_push_consumer(pc);
    if (ns) CHECK_OK(fmq_push_consumer_set_namespace(pc, ns));
    CHECK_OK(fmq_push_consumer_subscribe(pc, topic, "*"));
    CHECK_OK(fmq_push_consumer_set_consume_from_first(pc, true));
    CHECK_OK(fmq_push_consumer_set_msg_trace(pc, true, NULL));
    CHECK_OK(fmq_push_consumer_start(pc, collect, c));
    return pc;
}

static int32_t tr_execute_unknown(const fmq_message *m, const char *transaction_id, void *userdata) {
    (void)m, (void)transaction_id, (void)userdata;
    return FMQ_TRANSACTION_UNKNOWN;
}

static int32_t tr_check_commit(const fmq_message_view *m, void *userdata) {
    (void)m;
    atomic_fetch_add((atomic_int *)userdata, 1);
    return FMQ_TRANSACTION_COMMIT;
}

/* The core: one traced send with a tag and two keys, consumed by a traced consumer. */
static void trace_single(tr_found *t, const char *broker) {
    char topic[96], pg[96], cg[96];
    make_topic(topic, sizeof topic, "CTraced", 2);
    unique(pg, sizeof pg, "trace_pg");
    unique(cg, sizeof cg, "trace_cg");
    fmq_producer *p = tr_producer(pg, NULL);
    fmq_message *m = message(topic, "traced");
    CHECK_OK(fmq_message_set_tag(m, "TagT"));
    CHECK_OK(fmq_message_set_keys(m, "order-1 order-2"));
    fmq_send_result sent;
    CHECK_OK(fmq_producer_send(p, m, &sent));
    fmq_message_free(m);
    collector got;
    collector_init(&got);
    fmq_push_consumer *pc = tr_consumer(cg, topic, NULL, &got);
    wait_count(&got, 1, TR_WAIT, "the traced message");
    CHECK(strcmp(got.items[0].msg_id, sent.msg_id) == 0, "consumed %s", got.items[0].msg_id);
    tr_wait(t, sent.msg_id, 1, 1, 1, 0);
    tr_check_pub(t, pg, topic, "TagT", "order-1 order-2", broker, "6", "0", sent.offset_msg_id);
    tr_check_consumed(t, cg, "order-1 order-2");
    fmq_push_consumer_free(pc);
    fmq_producer_free(p);
    pthread_mutex_destroy(&got.mu);
}

/* A batch of 3: each message has its own Pub record (id, offsetMsgId, tag, keys, size) and its
 * own SubBefore/SubAfter pair. */
static void trace_batch(tr_found *t, const char *broker) {
    char topic[96], pg[96], cg[96];
    make_topic(topic, sizeof topic, "CTracedBatch", 1);
    unique(pg, sizeof pg, "trace_batch_pg");
    unique(cg, sizeof cg, "trace_batch_cg");
    fmq_producer *p = tr_producer(pg, NULL);
    fmq_message *batch[3];
    for (int i = 0; i < 3; i++) {
        char body[32], tag[8], keys[32];
        snprintf(body, sizeof body, "batched %d", i);
        snprintf(tag, sizeof tag, "T%d", i);
        snprintf(keys, sizeof keys, "batch-key-%d", i);
        batch[i] = message(topic, body);
        CHECK_OK(fmq_message_set_tag(batch[i], tag));
        CHECK_OK(fmq_message_set_keys(batch[i], keys));
    }
    fmq_send_result sent[3];
    CHECK_OK(fmq_producer_send_batch(p, (const fmq_message *const *)batch, 3, sent));
    for (int i = 0; i < 3; i++) fmq_message_free(batch[i]);
    CHECK(strcmp(sent[0].msg_id, sent[1].msg_id) != 0 && strcmp(sent[1].msg_id, sent[2].msg_id) != 0, "own ids");
    collector got;
    collector_init(&got);
    fmq_push_consumer *pc = tr_consumer(cg, topic, NULL, &got);
    wait_count(&got, 3, TR_WAIT, "the batch");
    for (int i = 0; i < 3; i++) {
        char tag[8], keys[32];
        snprintf(tag, sizeof tag, "T%d", i);
        snprintf(keys, sizeof keys, "batch-key-%d", i);
        tr_wait(t, sent[i].msg_id, 1, 1, 1, 0);
        tr_check_pub(t, pg, topic, tag, keys, broker, "9", "0", sent[i].offset_msg_id);
        tr_check_consumed(t, cg, keys);
    }
    fmq_push_consumer_free(pc);
    fmq_producer_free(p);
    pthread_mutex_destroy(&got.mu);
}

/* A transaction left unknown and committed on the check-back: the half message's Pub record,
 * an EndTransaction record of the local UNKNOW and one of the check-back's COMMIT_MESSAGE with
 * fromTransactionCheck=true; the committed message's consumption is traced too. */
static void trace_transaction(tr_found *t, const char *broker) {
    char topic[96], pg[96], cg[96];
    make_topic(topic, sizeof topic, "CTracedTx", 1);
    unique(pg, sizeof pg, "trace_tx_pg");
    unique(cg, sizeof cg, "trace_tx_cg");
    atomic_int checked = 0;
    fmq_transaction_producer *tp = NULL;
    CHECK_OK(fmq_transaction_producer_new(namesrv(), pg, tr_execute_unknown, tr_check_commit, &checked, &tp));
    secure_transaction_producer(tp);
    CHECK_OK(fmq_transaction_producer_set_msg_trace(tp, true, NULL));
    CHECK_OK(fmq_transaction_producer_start(tp));
    CHECK_ERR(fmq_transaction_producer_set_msg_trace(tp, false, NULL), FMQ_ERR_ILLEGAL_STATE);
    fmq_message *m = message(topic, "checked");
    CHECK_OK(fmq_message_set_keys(m, "check-1"));
    fmq_send_result sent;
    fmq_transaction_state state = FMQ_TRANSACTION_COMMIT;
    CHECK_OK(fmq_transaction_producer_send(tp, m, &sent, &state));
    fmq_message_free(m);
    CHECK(state == FMQ_TRANSACTION_UNKNOWN, "state %d", state);
    collector got;
    collector_init(&got);
    fmq_push_consumer *pc = tr_consumer(cg, topic, NULL, &got);
    wait_count(&got, 1, TR_WAIT, "the committed message");
    CHECK(strcmp(got.items[0].msg_id, sent.msg_id) == 0, "consumed %s", got.items[0].msg_id);
    /* The producer runs until the check-back's record is written. */
    tr_wait(t, sent.msg_id, 1, 1, 1, 2);
    CHECK(atomic_load(&checked) >= 1, "checked back");
    tr_check_pub(t, pg, topic, "null", "check-1", broker, NULL, "1", sent.offset_msg_id);
    /* EndTransaction: timestamp, regionId, group, topic, msgId, tags, keys, storeHost, msgType,
     * transactionId, transactionState, fromTransactionCheck. One for the local decision; one per
     * check-back (a slow answer may be asked for again), each a commit. */
    int ends = tr_count(t, "EndTransaction"), locals = 0;
    const tr_record *local = NULL;
    for (int i = 0; i < ends; i++) {
        const tr_record *end = tr_get(t, "EndTransaction", i);
        CHECK(end->nfields >= 13, "EndTransaction has %d fields", end->nfields);
        TR_FIELD_IS(end, 3, pg);
        TR_FIELD_IS(end, 4, topic);
        TR_FIELD_IS(end, 5, sent.msg_id);
        TR_FIELD_IS(end, 6, "null");
        TR_FIELD_IS(end, 7, "check-1");
        TR_FIELD_IS(end, 8, broker);
        TR_FIELD_IS(end, 9, "2"); /* Java writes every end as a transaction commit type */
        CHECK(end->f[10][0], "a transaction id");
        TR_FIELD_IS(end, 10, tr_get(t, "EndTransaction", 0)->f[10]);
        if (strcmp(end->f[12], "false") == 0) {
            locals++;
            local = end;
        } else {
            TR_FIELD_IS(end, 12, "true");
            TR_FIELD_IS(end, 11, "COMMIT_MESSAGE");
        }
    }
    CHECK(locals == 1 && local, "%d local decisions among %d records", locals, ends);
    TR_FIELD_IS(local, 11, "UNKNOW");
    tr_check_consumed(t, cg, "check-1");
    fmq_push_consumer_free(pc);
    CHECK_OK(fmq_transaction_producer_shutdown(tp));
    fmq_transaction_producer_free(tp);
    pthread_mutex_destroy(&got.mu);
}

/* Namespaced clients: the records name the bare topic and groups and are in the bare
 * RMQ_SYS_TRACE_TOPIC (nothing in `<namespace>%RMQ_SYS_TRACE_TOPIC`). */
static void trace_namespace(tr_found *t, const char *broker) {
    const char *ns = "tenantT";
    char topic[96], wire[128], pg[96], cg[96];
    unique(topic, sizeof topic, "CTracedNs");
    snprintf(wire, sizeof wire, "%s%%%s", ns, topic);
    ns_make_wire_topic(wire);
    unique(pg, sizeof pg, "trace_ns_pg");
    unique(cg, sizeof cg, "trace_ns_cg");
    fmq_producer *p = tr_producer(pg, ns);
    fmq_message *m = message(topic, "in a namespace");
    CHECK_OK(fmq_message_set_keys(m, "ns-key"));
    fmq_send_result sent;
    CHECK_OK(fmq_producer_send(p, m, &sent));
    fmq_message_free(m);
    collector got;
    collector_init(&got);
    fmq_push_consumer *pc = tr_consumer(cg, topic, ns, &got);
    wait_count(&got, 1, TR_WAIT, "the namespaced message");
    tr_wait(t, sent.msg_id, 1, 1, 1, 0);
    tr_check_pub(t, pg, topic, "null", "ns-key", broker, "14", "0", sent.offset_msg_id);
    tr_check_consumed(t, cg, "ns-key");
    char ns_trace[128];
    snprintf(ns_trace, sizeof ns_trace, "%s%%%s", ns, TR_TOPIC);
    int32_t queues = 0;
    CHECK_ERR(fmq_admin_topic_write_queues(namesrv(), ns_trace, &queues), FMQ_ERR_TOPIC_NOT_FOUND);
    fmq_push_consumer_free(pc);
    fmq_producer_free(p);
    pthread_mutex_destroy(&got.mu);
}

/* message-trace: the four parts above, and an illegal trace topic refused at start. */
static void message_trace(void) {
    char broker[64] = "";
    size_t n = 0;
    CHECK_OK(fmq_admin_cluster_info(namesrv(), tr_on_broker, broker, &n));
    CHECK(broker[0], "the address of c-broker-a");
    tr_found *t = calloc(1, sizeof *t);
    CHECK(t != NULL, "calloc");
    trace_single(t, broker);
    trace_batch(t, broker);
    trace_transaction(t, broker);
    trace_namespace(t, broker);
    free(t);

    char group[96];
    unique(group, sizeof group, "trace_bad_pg");
    fmq_producer *p = NULL;
    CHECK_OK(fmq_producer_new(namesrv(), group, &p));
    secure_producer(p);
    CHECK_OK(fmq_producer_set_msg_trace(p, true, "bad/topic"));
    CHECK_ERR(fmq_producer_start(p), FMQ_ERR_INVALID_ARGUMENT);
    fmq_producer_free(p);
}

#endif
