// What writing into fresh file pages costs, by how the pages get mapped: the question behind the
// commitlog's warming thread (docs/performance-broker.md, "Fifth round"). Writes SIZE MiB in
// 1 KiB copies into a new file allocated as the store allocates its files (fallocate), and prints
// the CPU time (user + system) per KiB for each way:
//
//   mmap      memcpy into a shared mapping, a page fault per 4 KiB page
//   populate  the same, with madvise(MADV_POPULATE_WRITE) of each 2 MiB before writing into it
//   pwrite1k  pwrite of each 1 KiB
//   pwrite64k pwrite of 64 KiB at a time
//
//   cc -O2 -o /tmp/page-fault-cost scripts/page-fault-cost.c && /tmp/page-fault-cost 512 /tmp
//
// Linux only (MADV_POPULATE_WRITE needs 5.14). The file is removed afterwards.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static double cpu_seconds(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static void run(const char *way, size_t size, const char *dir) {
    static char chunk[65536];
    memset(chunk, 7, sizeof chunk);
    char path[4096];
    snprintf(path, sizeof path, "%s/page-fault-cost.%d", dir, (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || fallocate(fd, 0, 0, (off_t)size) != 0) {
        perror(path);
        exit(1);
    }
    double began = cpu_seconds();
    if (!strcmp(way, "mmap") || !strcmp(way, "populate")) {
        char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            perror("mmap");
            exit(1);
        }
        int populate = !strcmp(way, "populate");
        for (size_t at = 0; at < size; at += 1024) {
            if (populate && at % (2u << 20) == 0 && madvise(p + at, 2u << 20, MADV_POPULATE_WRITE) != 0) {
                perror("madvise(MADV_POPULATE_WRITE)");
                exit(1);
            }
            memcpy(p + at, chunk, 1024);
        }
        munmap(p, size);
    } else {
        size_t step = !strcmp(way, "pwrite1k") ? 1024 : 65536;
        for (size_t at = 0; at < size; at += step) {
            if (pwrite(fd, chunk, step, (off_t)at) != (ssize_t)step) {
                perror("pwrite");
                exit(1);
            }
        }
    }
    double spent = cpu_seconds() - began;
    printf("%-9s %zu MiB: %.3f s CPU, %.2f us per KiB\n", way, size >> 20, spent, spent * 1e6 / (double)(size / 1024));
    close(fd);
    unlink(path);
}

int main(int argc, char **argv) {
    size_t size = (size_t)(argc > 1 ? atol(argv[1]) : 512) << 20;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    const char *ways[] = {"mmap", "populate", "pwrite1k", "pwrite64k", "mmap", "populate"};
    for (size_t i = 0; i < sizeof ways / sizeof *ways; i++) {
        run(ways[i], size, dir);
    }
    return 0;
}
