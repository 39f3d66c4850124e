/* Host build of a driver (fe_driver.c or nn_driver.c): plain stdio. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <time.h>

#include "host_io.h"

#define MAX_FILES 4
static FILE *files[MAX_FILES];

static int put(FILE *f)
{
    int i;
    for (i = 0; i < MAX_FILES; i++) {
        if (files[i] == NULL) {
            files[i] = f;
            return i;
        }
    }
    fclose(f);
    return -1;
}

static int open_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    return f ? put(f) : -1;
}

static int open_write(const char *path)
{
    FILE *f = fopen(path, "wb");
    return f ? put(f) : -1;
}

static long read_bytes(int h, void *buf, size_t n)
{
    size_t got = fread(buf, 1, n, files[h]);
    return ferror(files[h]) ? -1 : (long)got;
}

static int write_bytes(int h, const void *buf, size_t n)
{
    return fwrite(buf, 1, n, files[h]) == n ? 0 : -1;
}

static void close_file(int h)
{
    fclose(files[h]);
    files[h] = NULL;
}

static void error(const char *message)
{
    fprintf(stderr, "%s\n", message);
}

static void mark(void)
{
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv)
{
    const host_io_t io = {open_read, open_write, read_bytes, write_bytes, close_file, error, mark, now_ns};
    return driver_main(argc, argv, &io);
}
