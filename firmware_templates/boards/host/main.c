/* Host firmware: audio on stdin (a 16 kHz mono 16-bit WAV file, or raw
 * little-endian int16 samples), one JSON line per classification on stdout.
 *
 *     ./kws_host < recording.wav
 *     arecord -f S16_LE -r 16000 -c 1 | ./kws_host
 *
 * An optional argument sets the chunk size in samples (default 512), to show
 * that results do not depend on it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kws_pipeline.h"

#define MAX_CHUNK 16384

static kws_pipeline_t pipeline;
static int16_t chunk[MAX_CHUNK];
static unsigned char bytes[2 * MAX_CHUNK];

static void print_result(const kws_result_t *result, void *user)
{
    char line[KWS_LINE_MAX];
    (void)user;
    if (kws_pipeline_format(result, line, sizeof line) > 0) {
        fputs(line, stdout);
        fflush(stdout); /* a live reader (kwsgen virtual-device) sees each line at once */
    }
}

static unsigned long le32(const unsigned char *b)
{
    return (unsigned long)b[0] | (unsigned long)b[1] << 8 | (unsigned long)b[2] << 16 | (unsigned long)b[3] << 24;
}

static unsigned le16(const unsigned char *b)
{
    return (unsigned)b[0] | (unsigned)b[1] << 8;
}

/* Skips a WAV header up to the samples, checking the format; returns 0, or -1 with a message. */
static int skip_wav_header(FILE *in, const char **problem)
{
    unsigned char head[8];
    int have_fmt = 0;
    for (;;) {
        unsigned long size;
        if (fread(head, 1, 8, in) != 8) {
            *problem = "WAV file without a data chunk";
            return -1;
        }
        size = le32(head + 4);
        if (memcmp(head, "data", 4) == 0) {
            if (!have_fmt) {
                *problem = "WAV file without a fmt chunk before its data";
                return -1;
            }
            return 0;
        }
        if (memcmp(head, "fmt ", 4) == 0 && size >= 16 && size <= 64) {
            unsigned char fmt[64];
            if (fread(fmt, 1, size, in) != size) {
                *problem = "truncated WAV fmt chunk";
                return -1;
            }
            if (le16(fmt) != 1 || le16(fmt + 2) != 1 || le32(fmt + 4) != KWS_FE_SAMPLE_RATE || le16(fmt + 14) != 16) {
                *problem = "WAV must be PCM, mono, 16-bit, at the front end's sample rate";
                return -1;
            }
            have_fmt = 1;
        } else {
            unsigned long i;
            for (i = 0; i < size + (size & 1u); i++) {
                if (fgetc(in) == EOF) {
                    *problem = "truncated WAV file";
                    return -1;
                }
            }
        }
    }
}

int main(int argc, char **argv)
{
    size_t step = 512, got, pending = 0, i;
    unsigned char riff[12];
    const char *problem = NULL;
    if (argc > 1) {
        step = (size_t)strtoul(argv[1], NULL, 10);
        if (step < 1 || step > MAX_CHUNK) {
            fprintf(stderr, "kws_host: the chunk size must be 1..%d samples\n", MAX_CHUNK);
            return 2;
        }
    }
    kws_pipeline_init(&pipeline, print_result, NULL);
    got = fread(riff, 1, sizeof riff, stdin);
    if (got == sizeof riff && memcmp(riff, "RIFF", 4) == 0 && memcmp(riff + 8, "WAVE", 4) == 0) {
        if (skip_wav_header(stdin, &problem) != 0) {
            fprintf(stderr, "kws_host: stdin: %s\n", problem);
            return 3;
        }
    } else {
        /* Raw PCM: these were samples already. */
        for (i = 0; i + 1 < got; i += 2) {
            long v = (long)le16(riff + i);
            chunk[i / 2] = (int16_t)(v >= 32768 ? v - 65536 : v);
        }
        kws_pipeline_process(&pipeline, chunk, got / 2);
        pending = got % 2;
        if (pending) {
            bytes[0] = riff[got - 1];
        }
    }
    for (;;) {
        size_t n = fread(bytes + pending, 1, 2 * step - pending, stdin) + pending;
        size_t samples = n / 2;
        if (samples == 0) {
            break;
        }
        for (i = 0; i < samples; i++) {
            long v = (long)le16(bytes + 2 * i);
            chunk[i] = (int16_t)(v >= 32768 ? v - 65536 : v);
        }
        kws_pipeline_process(&pipeline, chunk, samples);
        pending = n % 2;
        if (pending) {
            bytes[0] = bytes[n - 1];
        }
        if (n < 2 * step && feof(stdin)) {
            break;
        }
    }
    fflush(stdout);
    return ferror(stdin) ? 3 : 0;
}
