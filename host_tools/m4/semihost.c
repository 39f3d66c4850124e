#include "semihost.h"

#include <stdint.h>
#include <string.h>

enum {
    SYS_OPEN = 0x01,
    SYS_CLOSE = 0x02,
    SYS_WRITE0 = 0x04,
    SYS_WRITE = 0x05,
    SYS_READ = 0x06,
    SYS_GET_CMDLINE = 0x15,
    SYS_EXIT_EXTENDED = 0x20,
    ADP_STOPPED_APPLICATION_EXIT = 0x20026
};

static int32_t call(int32_t op, void *arg)
{
    register int32_t r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

int semihost_open(const char *path, int mode)
{
    uint32_t args[3] = {(uint32_t)path, (uint32_t)mode, (uint32_t)strlen(path)};
    return call(SYS_OPEN, args);
}

int semihost_close(int handle)
{
    uint32_t args[1] = {(uint32_t)handle};
    return call(SYS_CLOSE, args);
}

long semihost_read(int handle, void *buf, size_t n)
{
    uint32_t args[3] = {(uint32_t)handle, (uint32_t)buf, (uint32_t)n};
    const int32_t left = call(SYS_READ, args);
    return left < 0 ? -1 : (long)n - left;
}

long semihost_write(int handle, const void *buf, size_t n)
{
    uint32_t args[3] = {(uint32_t)handle, (uint32_t)buf, (uint32_t)n};
    return (long)n - call(SYS_WRITE, args);
}

void semihost_puts(const char *s)
{
    call(SYS_WRITE0, (void *)s);
}

int semihost_cmdline(char *buf, size_t size)
{
    uint32_t args[2] = {(uint32_t)buf, (uint32_t)size};
    return call(SYS_GET_CMDLINE, args);
}

void semihost_exit(int code)
{
    uint32_t args[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    call(SYS_EXIT_EXTENDED, args);
    for (;;) {
    }
}
