/* ARM semihosting calls used by the Cortex-M4 test and benchmark builds under
 * QEMU (-semihosting-config enable=on,target=native). */
#ifndef SEMIHOST_H
#define SEMIHOST_H

#include <stddef.h>

int semihost_open(const char *path, int mode); /* mode: 1 "rb", 5 "wb"; handle or -1 */
int semihost_close(int handle);
long semihost_read(int handle, void *buf, size_t n); /* bytes read */
long semihost_write(int handle, const void *buf, size_t n); /* bytes written */
void semihost_puts(const char *s);
int semihost_cmdline(char *buf, size_t size); /* 0 on success */
void semihost_exit(int code) __attribute__((noreturn));

#endif /* SEMIHOST_H */
