/* Sends per second from C: sync and async sends of 1 KiB bodies to one topic.
 *
 *   cc -O2 bench.c $(pkg-config --cflags --libs ferromq) -lpthread -o bench
 *   ./bench NAMESRV [SYNC_COUNT [ASYNC_COUNT [IN_FLIGHT]]]   (defaults 2000, 20000, 256)
 *
 * Prints one line per mode. Build libferromq with FERROMQ_PROFILE=release for real figures. */
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

/* Bounds the async sends in flight. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int in_flight = 0;
static int completed = 0;
static int failures = 0;

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

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s NAMESRV [SYNC_COUNT [ASYNC_COUNT [IN_FLIGHT]]]\n", argv[0]);
        return 2;
    }
    const char *namesrv = argv[1];
    int sync_n = argc > 2 ? atoi(argv[2]) : 2000;
    int async_n = argc > 3 ? atoi(argv[3]) : 20000;
    int window = argc > 4 ? atoi(argv[4]) : 256;
    char topic[64];
    snprintf(topic, sizeof topic, "BenchC_%d", (int)getpid());
    fmq_result r = fmq_admin_create_topic(namesrv, NULL, topic, 4);
    if (r != FMQ_OK) die("create topic", r);
    for (int i = 0; i < 100; i++) { /* wait for the route */
        int32_t w = 0;
        if (fmq_admin_topic_write_queues(namesrv, topic, &w) == FMQ_OK && w == 4) break;
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
    for (int i = 0; i < 50; i++) /* warm up: routes, connections */
        if ((r = fmq_producer_send(p, m, &res)) != FMQ_OK) die("send", r);

    double t = now_s();
    for (int i = 0; i < sync_n; i++)
        if ((r = fmq_producer_send(p, m, &res)) != FMQ_OK) die("send", r);
    double sync_s = now_s() - t;
    printf("sync:  %d sends of 1 KiB in %.2f s = %.0f sends/s\n", sync_n, sync_s, sync_n / sync_s);

    t = now_s();
    for (int i = 0; i < async_n; i++) {
        pthread_mutex_lock(&mu);
        while (in_flight >= window) pthread_cond_wait(&cv, &mu);
        in_flight++;
        pthread_mutex_unlock(&mu);
        if ((r = fmq_producer_send_async(p, m, on_sent, NULL)) != FMQ_OK) die("send_async", r);
    }
    pthread_mutex_lock(&mu);
    while (completed < async_n) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    double async_s = now_s() - t;
    printf("async: %d sends of 1 KiB in %.2f s = %.0f sends/s (%d in flight, %d failed)\n", async_n, async_s,
           async_n / async_s, window, failures);

    fmq_message_free(m);
    fmq_producer_free(p);
    return failures ? 1 : 0;
}
