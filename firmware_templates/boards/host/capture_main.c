/* Host capture firmware: raw 16 kHz int16 little-endian audio on stdin plays
 * the microphone; the capture protocol (kws_capture.h) goes to stdout, and
 * host commands ("connect", "disconnect") are read from the file descriptor
 * given as the first argument. kwsgen virtual-device --capture runs it behind
 * a pseudo-terminal, so kwsgen record talks to it as to a board.
 *
 *     ./kws_capture 3 < audio.raw 3< commands */
#define _POSIX_C_SOURCE 200809L /* read() and fcntl() beside -std=c99 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kws_capture.h"
#include "kws_fe_config.h"

#define CHUNK 320

static kws_capture_t capture;

static void write_out(const uint8_t *bytes, size_t n, void *user)
{
    (void)user;
    fwrite(bytes, 1, n, stdout);
    fflush(stdout);
}

/* Reads whatever commands have arrived, without waiting. */
static void poll_commands(int fd)
{
    uint8_t buf[64];
    for (;;) {
        const ssize_t got = read(fd, buf, sizeof buf);
        if (got <= 0) {
            return;
        }
        kws_capture_command(&capture, buf, (size_t)got);
    }
}

int main(int argc, char **argv)
{
    static unsigned char bytes[2 * CHUNK];
    static int16_t samples[CHUNK];
    int fd = -1;
    size_t pending = 0;
    if (argc > 1) {
        fd = (int)strtol(argv[1], NULL, 10);
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
            fprintf(stderr, "kws_capture: command descriptor %s: %s\n", argv[1], strerror(errno));
            return 2;
        }
    }
    kws_capture_init(&capture, KWS_FE_SAMPLE_RATE, write_out, NULL);
    for (;;) {
        const size_t n = fread(bytes + pending, 1, sizeof bytes - pending, stdin) + pending;
        size_t i;
        if (fd >= 0) {
            poll_commands(fd);
        }
        for (i = 0; i + 1 < n; i += 2) {
            const long v = (long)bytes[i] | (long)bytes[i + 1] << 8;
            samples[i / 2] = (int16_t)(v >= 32768 ? v - 65536 : v);
        }
        kws_capture_push(&capture, samples, n / 2);
        pending = n % 2;
        if (pending) {
            bytes[0] = bytes[n - 1];
        }
        if (n < sizeof bytes && feof(stdin)) {
            break;
        }
    }
    return ferror(stdin) ? 3 : 0;
}
