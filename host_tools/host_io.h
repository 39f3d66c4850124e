/* The I/O a host-tool driver needs, so one driver builds both for the host
 * (stdio) and for the Cortex-M4 under QEMU (semihosting). host_main.c and
 * m4/m4_main.c provide it; each driver (fe_driver.c, nn_driver.c) provides
 * driver_main. */
#ifndef HOST_IO_H
#define HOST_IO_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int (*open_read)(const char *path); /* handle >= 0, or -1 */
    int (*open_write)(const char *path);
    long (*read)(int handle, void *buf, size_t n); /* bytes read, 0 at end, < 0 on error */
    int (*write)(int handle, const void *buf, size_t n); /* 0 on success */
    void (*close)(int handle);
    void (*error)(const char *message);
    void (*mark)(void); /* instruction-count marker; may be a no-op */
    uint64_t (*now_ns)(void); /* a monotonic clock, or 0 where there is none */
} host_io_t;

/* Returns 0 on success, 2 on bad arguments, 3 on I/O errors. */
int driver_main(int argc, char **argv, const host_io_t *io);

#endif /* HOST_IO_H */
