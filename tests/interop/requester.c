/* A request-reply requester in C over libferromq, for the cross-language interop test
 * (tests/interop/request_reply.sh starts a responder that answers "pong:<body>").
 *
 * Build, against an installed libferromq (bindings/c/install.sh PREFIX; PKG_CONFIG_PATH=PREFIX/lib/pkgconfig):
 *   gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o requester tests/interop/requester.c \
 *       $(pkg-config --cflags --libs ferromq) -lpthread
 * or straight from a cargo build of the binding (cargo build -p ferromq-c), statically:
 *   gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o requester tests/interop/requester.c \
 *       -Ibindings/c/include "$CARGO_TARGET_DIR/debug/libferromq_c.a" -lpthread -ldl -lm
 *
 * Usage:
 *   requester --namesrv ADDR --topic T [--count N] [--concurrency C] [--timeout-ms MS]
 *
 * Sends N requests (default 100) with distinct bodies to topic T, keeping C (default 16) in
 * flight with fmq_producer_request_async, each with a timeout of MS ms (default 10000), and
 * checks that each reply is "pong:<its body>". Prints one summary line:
 *   requester: count=N ok=N failed=0 concurrency=C p50_ms=.. p99_ms=.. requests_per_s=..
 * (latency: from the request's start to its reply's callback) and exits 0 only if every
 * request got its own reply; the first failures are described on stderr. */
#include <ferromq.h>

#include <getopt.h>
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

typedef struct {
    char body[64];
    double started;
    double latency_ms;
    int ok;
} slot;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int in_flight = 0;
static int completed = 0;
static int failed = 0;

static void report_failure(const char *fmt, const char *a, const char *b) {
    /* Called with mu held: the first ten failures are described. */
    if (++failed <= 10) {
        fprintf(stderr, "requester: ");
        fprintf(stderr, fmt, a, b);
        fprintf(stderr, "\n");
    }
}

/* Completion of one request, on a libferromq runtime thread: check, record, return. */
static void on_reply(fmq_result result, const fmq_message_view *reply, const char *error, void *userdata) {
    slot *s = userdata;
    double done = now_s();
    pthread_mutex_lock(&mu);
    if (result != FMQ_OK) {
        report_failure("request %s failed: %s", s->body, error);
    } else {
        char want[80];
        size_t len = 0;
        const uint8_t *got = fmq_message_view_body(reply, &len);
        snprintf(want, sizeof want, "pong:%s", s->body);
        if (len == strlen(want) && memcmp(got, want, len) == 0) {
            s->ok = 1;
            s->latency_ms = (done - s->started) * 1000.0;
        } else {
            char text[96];
            snprintf(text, sizeof text, "%.*s", (int)(len < 80 ? len : 80), (const char *)got);
            report_failure("request %s got the reply %s", s->body, text);
        }
    }
    in_flight--;
    completed++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The Q quantile (0..1) of N sorted values, nearest rank. */
static double quantile(const double *v, int n, double q) {
    if (n == 0) return 0;
    int i = (int)(q * n + 0.999999) - 1;
    if (i < 0) i = 0;
    if (i >= n) i = n - 1;
    return v[i];
}

static void usage(const char *why) {
    fprintf(stderr,
            "requester: %s\nusage: requester --namesrv ADDR --topic T [--count N] [--concurrency C] "
            "[--timeout-ms MS]\n",
            why);
    exit(2);
}

static long positive(const char *name, const char *text) {
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (!end || *end || v <= 0 || v > 100000000L) {
        fprintf(stderr, "requester: --%s wants a positive integer, not '%s'\n", name, text);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    const char *namesrv = NULL, *topic = NULL;
    long count = 100, concurrency = 16, timeout_ms = 10000;
    static const struct option options[] = {
        {"namesrv", required_argument, NULL, 'n'},     {"topic", required_argument, NULL, 't'},
        {"count", required_argument, NULL, 'c'},       {"concurrency", required_argument, NULL, 'p'},
        {"timeout-ms", required_argument, NULL, 'T'},  {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'n': namesrv = optarg; break;
        case 't': topic = optarg; break;
        case 'c': count = positive("count", optarg); break;
        case 'p': concurrency = positive("concurrency", optarg); break;
        case 'T': timeout_ms = positive("timeout-ms", optarg); break;
        case 'h': usage("request-reply requester"); break;
        default: usage("unknown option");
        }
    }
    if (optind < argc) usage("unexpected argument");
    if (!namesrv || !topic) usage("--namesrv and --topic are required");
    if (timeout_ms > UINT32_MAX) usage("--timeout-ms is too large");

    char group[64];
    snprintf(group, sizeof group, "interop_c_requester_%d", (int)getpid());
    fmq_producer *p = NULL;
    fmq_result r = fmq_producer_new(namesrv, group, &p);
    if (r == FMQ_OK) r = fmq_producer_start(p);
    if (r != FMQ_OK) {
        fprintf(stderr, "requester: cannot start the producer: %s: %s\n", fmq_result_name(r), fmq_error_message());
        fmq_producer_free(p);
        return 1;
    }

    slot *slots = calloc((size_t)count, sizeof *slots);
    if (!slots) {
        fprintf(stderr, "requester: out of memory\n");
        return 1;
    }
    int started = 0;
    double began = now_s();
    for (long i = 0; i < count; i++) {
        pthread_mutex_lock(&mu);
        while (in_flight >= concurrency) pthread_cond_wait(&cv, &mu);
        in_flight++;
        pthread_mutex_unlock(&mu);
        slot *s = &slots[i];
        snprintf(s->body, sizeof s->body, "c-%d-%ld", (int)getpid(), i);
        fmq_message *m = NULL;
        r = fmq_message_new(topic, (const uint8_t *)s->body, strlen(s->body), &m);
        s->started = now_s();
        if (r == FMQ_OK) r = fmq_producer_request_async(p, m, (uint32_t)timeout_ms, on_reply, s);
        fmq_message_free(m);
        if (r != FMQ_OK) {
            pthread_mutex_lock(&mu);
            in_flight--;
            report_failure("request %s not started: %s", s->body, fmq_error_message());
            pthread_mutex_unlock(&mu);
            break;
        }
        started++;
    }
    /* Every started request completes (with its reply or an error) within its timeout. */
    pthread_mutex_lock(&mu);
    while (completed < started) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    double elapsed = now_s() - began;

    double *latencies = calloc((size_t)count, sizeof *latencies);
    int ok = 0;
    for (long i = 0; latencies && i < count; i++)
        if (slots[i].ok) latencies[ok++] = slots[i].latency_ms;
    if (latencies) qsort(latencies, (size_t)ok, sizeof *latencies, by_value);
    int failures = (int)count - ok;
    printf("requester: count=%ld ok=%d failed=%d concurrency=%ld p50_ms=%.3f p99_ms=%.3f requests_per_s=%.1f\n",
           count, ok, failures, concurrency, latencies ? quantile(latencies, ok, 0.50) : 0,
           latencies ? quantile(latencies, ok, 0.99) : 0, elapsed > 0 ? ok / elapsed : 0);
    fflush(stdout);
    free(latencies);
    free(slots);
    fmq_producer_free(p);
    return failures == 0 ? 0 : 1;
}
