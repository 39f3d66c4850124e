/* Cortex-M4 build of a driver (fe_driver.c or nn_driver.c): files and arguments through
 * semihosting. QEMU's -append string is the argument list. */
#include <string.h>

#include "../host_io.h"
#include "semihost.h"

#define MAX_ARGS 24

static char cmdline[1024];
static char *args[MAX_ARGS];

/* The marker the instruction-count plugin watches; must stay a real call. */
__attribute__((noinline)) void kws_bench_mark(void)
{
    __asm__ volatile("" ::: "memory");
}

static int open_read(const char *path)
{
    return semihost_open(path, 1);
}

static int open_write(const char *path)
{
    return semihost_open(path, 5);
}

static long read_bytes(int h, void *buf, size_t n)
{
    return semihost_read(h, buf, n);
}

static int write_bytes(int h, const void *buf, size_t n)
{
    return semihost_write(h, buf, n) == (long)n ? 0 : -1;
}

static void close_file(int h)
{
    semihost_close(h);
}

static void error(const char *message)
{
        semihost_puts(message);
    semihost_puts("\n");
}

static uint64_t no_clock(void)
{
    return 0;
}

static int split_args(char *s)
{
    int n = 0;
    while (*s && n < MAX_ARGS) {
        while (*s == ' ') {
            *s++ = '\0';
        }
        if (*s) {
            args[n++] = s;
        }
        while (*s && *s != ' ') {
            s++;
        }
    }
    return n;
}

int main(void)
{
    const host_io_t io = {open_read, open_write, read_bytes, write_bytes, close_file, error, kws_bench_mark, no_clock};
    if (semihost_cmdline(cmdline, sizeof(cmdline)) != 0) {
        error("no command line");
        return 2;
    }
    return driver_main(split_args(cmdline), args, &io);
}
