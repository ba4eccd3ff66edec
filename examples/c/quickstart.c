/* FerroMQ quickstart in C: send messages with a tag, a key and a property, then receive them
 * with a push consumer.
 *
 *   ./quickstart [NAMESRV [TOPIC [COUNT]]]    (defaults: $FMQ_NAMESRV or 127.0.0.1:9876,
 *                                              TopicTest, 4)
 *
 * Exits 0 once every message sent was received. Build with the Makefile or CMake beside it
 * (both find libferromq through pkg-config). */
#include <ferromq.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int received = 0;

/* Runs on a library thread; the view is valid during the call only. */
static int32_t on_message(const fmq_message_view *m, void *userdata) {
    const char *run = userdata;
    const char *tag = fmq_message_view_tag(m);
    const char *run_prop = fmq_message_view_property(m, "run");
    size_t len = 0;
    const uint8_t *body = fmq_message_view_body(m, &len);
    if (run_prop && strcmp(run_prop, run) == 0) { /* count only this run's messages */
        printf("received %.*s (tag %s, keys %s, msg id %s)\n", (int)len, (const char *)body, tag ? tag : "-",
               fmq_message_view_keys(m), fmq_message_view_msg_id(m));
        pthread_mutex_lock(&lock);
        received++;
        pthread_mutex_unlock(&lock);
    }
    return FMQ_CONSUME_SUCCESS;
}

static int fail(const char *what, fmq_result r) {
    fprintf(stderr, "%s failed: %s: %s\n", what, fmq_result_name(r), fmq_error_message());
    return 1;
}

int main(int argc, char **argv) {
    const char *namesrv = argc > 1 ? argv[1] : getenv("FMQ_NAMESRV") ? getenv("FMQ_NAMESRV") : "127.0.0.1:9876";
    const char *topic = argc > 2 ? argv[2] : "TopicTest";
    int count = argc > 3 ? atoi(argv[3]) : 4;
    /* One group per topic: members of one group must subscribe to the same topics. */
    char producer_group[160], consumer_group[160];
    snprintf(producer_group, sizeof producer_group, "%s_quickstart_producer", topic);
    snprintf(consumer_group, sizeof consumer_group, "%s_quickstart_consumer", topic);
    char run[32];
    snprintf(run, sizeof run, "%d-%ld", (int)getpid(), (long)time(NULL));

    fmq_producer *producer = NULL;
    fmq_result r = fmq_producer_new(namesrv, producer_group, &producer);
    if (r != FMQ_OK) return fail("fmq_producer_new", r);
    if ((r = fmq_producer_start(producer)) != FMQ_OK) return fail("fmq_producer_start", r);

    for (int i = 0; i < count; i++) {
        char body[64], key[32];
        snprintf(body, sizeof body, "Hello FerroMQ %d", i);
        snprintf(key, sizeof key, "key-%d", i);
        fmq_message *msg = NULL;
        if ((r = fmq_message_new(topic, (const uint8_t *)body, strlen(body), &msg)) != FMQ_OK)
            return fail("fmq_message_new", r);
        fmq_message_set_tag(msg, "TagA");
        fmq_message_set_keys(msg, key);
        fmq_message_set_property(msg, "run", run);
        fmq_send_result sent;
        r = fmq_producer_send(producer, msg, &sent);
        fmq_message_free(msg);
        if (r != FMQ_OK) return fail("fmq_producer_send", r);
        printf("sent %s to queue %d at offset %lld\n", sent.msg_id, sent.queue_id, (long long)sent.queue_offset);
    }

    fmq_push_consumer *consumer = NULL;
    if ((r = fmq_push_consumer_new(namesrv, consumer_group, &consumer)) != FMQ_OK)
        return fail("fmq_push_consumer_new", r);
    fmq_push_consumer_subscribe(consumer, topic, "TagA");
    fmq_push_consumer_set_consume_from_first(consumer, true);
    if ((r = fmq_push_consumer_start(consumer, on_message, run)) != FMQ_OK) return fail("fmq_push_consumer_start", r);

    int done = 0;
    for (int waited = 0; waited < 300 && !done; waited++) { /* up to 30 s */
        pthread_mutex_lock(&lock);
        done = received >= count;
        pthread_mutex_unlock(&lock);
        if (!done) usleep(100 * 1000);
    }
    fmq_push_consumer_shutdown(consumer);
    fmq_push_consumer_free(consumer);
    fmq_producer_shutdown(producer);
    fmq_producer_free(producer);
    printf(done ? "received all %d messages\n" : "timed out: not all %d messages received\n", count);
    return done ? 0 : 1;
}
