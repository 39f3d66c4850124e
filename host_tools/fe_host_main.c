/* Host build of the front-end driver: plain stdio. */
#include <stdio.h>

#include "fe_driver.h"

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
    fprintf(stderr, "kws_fe_tool: %s\n", message);
}

static void mark(void)
{
}

int main(int argc, char **argv)
{
    const fe_io_t io = {open_read, open_write, read_bytes, write_bytes, close_file, error, mark};
    return fe_driver_main(argc, argv, &io);
}
