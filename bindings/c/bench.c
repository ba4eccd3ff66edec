/* Throughput of the C binding against running servers, 1 KiB bodies to one fresh topic:
 * sync sends (one thread, one at a time), async sends (a bounded number in flight), then
 * consume throughput of everything sent, through a push-consumer listener (timed from the
 * first message delivered, so the group's start-up and rebalance are not counted).
 *
 *   cc -O2 bench.c $(pkg-config --cflags --libs ferromq) -lpthread -o bench
 *   ./bench NAMESRV [SECONDS [IN_FLIGHT]]   (defaults 5 s per send run, 256 in flight)
 *
 * Prints one line per run. Build libferromq with FERROMQ_PROFILE=release for real figures. */
#include <ferromq.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, fmq_result r) {
    fprintf(stderr, "%s: %s: %s\n", what, fmq_result_name(r), fmq_error_message());
    exit(1);
}

/* Bounds the async sends in flight; counts consumed messages. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int in_flight = 0;
static long completed = 0;
static long failures = 0;
static long consumed = 0;
static double first_consumed = 0; /* when the first message arrived */

static void on_sent(fmq_result result, const fmq_send_result *r, const char *error, void *userdata) {
    (void)r;
    (void)userdata;
    pthread_mutex_lock(&mu);
    if (result != FMQ_OK) {
        if (failures++ == 0) fprintf(stderr, "async send failed: %s\n", error);
    }
    in_flight--;
    completed++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static int32_t on_message(const fmq_message_view *message, void *userdata) {
    (void)message;
    (void)userdata;
    pthread_mutex_lock(&mu);
    if (consumed++ == 0) first_consumed = now_s();
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    return FMQ_CONSUME_SUCCESS;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s NAMESRV [SECONDS [IN_FLIGHT]]\n", argv[0]);
        return 2;
    }
    const char *namesrv = argv[1];
    double seconds = argc > 2 ? atof(argv[2]) : 5.0;
    int window = argc > 3 ? atoi(argv[3]) : 256;
    if (seconds <= 0 || window <= 0) {
        fprintf(stderr, "SECONDS and IN_FLIGHT must be positive\n");
        return 2;
    }
    char topic[64];
    snprintf(topic, sizeof topic, "BenchC_%d", (int)getpid());
    fmq_result r = fmq_admin_create_topic(namesrv, NULL, topic, 8);
    if (r != FMQ_OK) die("create topic", r);
    for (int i = 0; i < 100; i++) { /* wait for the route */
        int32_t w = 0;
        if (fmq_admin_topic_write_queues(namesrv, topic, &w) == FMQ_OK && w == 8) break;
        usleep(100 * 1000);
    }

    fmq_producer *p = NULL;
    if ((r = fmq_producer_new(namesrv, "bench_c_producer", &p)) != FMQ_OK) die("new", r);
    if ((r = fmq_producer_start(p)) != FMQ_OK) die("start", r);
    static uint8_t body[1024];
    memset(body, 'x', sizeof body);
    fmq_message *m = NULL;
    if ((r = fmq_message_new(topic, body, sizeof body, &m)) != FMQ_OK) die("message", r);

    fmq_send_result res;
    long sent = 0;
    for (int i = 0; i < 50; i++, sent++) /* warm up: routes, connections */
        if ((r = fmq_producer_send(p, m, &res)) != FMQ_OK) die("send", r);

    long sync_n = 0;
    double t = now_s(), end = t + seconds;
    while (now_s() < end) {
        if ((r = fmq_producer_send(p, m, &res)) != FMQ_OK) die("send", r);
        sync_n++;
    }
    double sync_s = now_s() - t;
    sent += sync_n;
    printf("sync  sends: %10.0f msg/s (1 KiB, one thread, %ld in %.1f s)\n", sync_n / sync_s, sync_n, sync_s);

    long async_n = 0;
    t = now_s();
    end = t + seconds;
    while (now_s() < end) {
        pthread_mutex_lock(&mu);
        while (in_flight >= window) pthread_cond_wait(&cv, &mu);
        in_flight++;
        pthread_mutex_unlock(&mu);
        if ((r = fmq_producer_send_async(p, m, on_sent, NULL)) != FMQ_OK) die("send_async", r);
        async_n++;
    }
    pthread_mutex_lock(&mu);
    while (completed < async_n) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    double async_s = now_s() - t;
    sent += async_n;
    printf("async sends: %10.0f msg/s (1 KiB, %d in flight, %ld in %.1f s, %ld failed)\n", async_n / async_s, window,
           async_n, async_s, failures);
    fmq_message_free(m);
    fmq_producer_free(p);
    if (failures) return 1;

    char group[64];
    snprintf(group, sizeof group, "bench_c_consumer_%d", (int)getpid());
    fmq_push_consumer *c = NULL;
    if ((r = fmq_push_consumer_new(namesrv, group, &c)) != FMQ_OK) die("consumer new", r);
    if ((r = fmq_push_consumer_subscribe(c, topic, NULL)) != FMQ_OK) die("subscribe", r);
    if ((r = fmq_push_consumer_set_consume_from_first(c, true)) != FMQ_OK) die("consume from", r);
    if ((r = fmq_push_consumer_start(c, on_message, NULL)) != FMQ_OK) die("consumer start", r);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 600;
    pthread_mutex_lock(&mu);
    while (consumed < sent) {
        if (pthread_cond_timedwait(&cv, &mu, &deadline) != 0) {
            fprintf(stderr, "consumed only %ld of %ld\n", consumed, sent);
            exit(1);
        }
    }
    pthread_mutex_unlock(&mu);
    double consume_s = now_s() - first_consumed; /* from the first message, as bench.py */
    printf("consume    : %10.0f msg/s through a C listener (%ld messages)\n", sent / consume_s, sent);
    fmq_push_consumer_free(c);
    return 0;
}
