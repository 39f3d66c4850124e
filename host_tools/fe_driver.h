/* Front-end driver shared by the host tool and the Cortex-M4 build: reads raw
 * int16 little-endian audio, streams it through kws_frontend in a chosen chunk
 * pattern and writes one binary record per window (see fe_driver.c). */
#ifndef FE_DRIVER_H
#define FE_DRIVER_H

#include <stddef.h>

typedef struct {
    int (*open_read)(const char *path); /* handle >= 0, or -1 */
    int (*open_write)(const char *path);
    long (*read)(int handle, void *buf, size_t n); /* bytes read, 0 at end, < 0 on error */
    int (*write)(int handle, const void *buf, size_t n); /* 0 on success */
    void (*close)(int handle);
    void (*error)(const char *message);
    void (*mark)(void); /* instruction-count marker; may be a no-op */
} fe_io_t;

/* argv: --in FILE --out FILE [--minmax FILE] [--first N] [--chunks N,N,...]
 *       [--filter ENABLED,THRESHOLD,DELAY,BACKOFF] [--mark]
 * Returns 0 on success, 2 on bad arguments, 3 on I/O errors. */
int fe_driver_main(int argc, char **argv, const fe_io_t *io);

#endif /* FE_DRIVER_H */
