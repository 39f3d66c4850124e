/* Cortex-M4 firmware for QEMU mps2-an386 with semihosting: audio from a file
 * of raw little-endian int16 samples on the host, one JSON line per
 * classification to a file (or the console).
 *
 *     qemu-system-arm -M mps2-an386 -semihosting ... -kernel kws_qemu.elf \
 *         -append "audio.raw lines.txt [flags.bin]"
 *
 * Audio goes in one hop (KWS_FE_HOP_SIZE samples) at a time, and
 * kws_bench_mark() is called after each, so an instruction-counting QEMU
 * plugin gives the instructions of every hop; flags.bin, when named, gets one
 * byte per hop: the number of inferences that hop ran. */
#include <stdint.h>
#include <string.h>

#include "kws_pipeline.h"
#include "semihost.h"

static kws_pipeline_t pipeline;
static int16_t hop[KWS_FE_HOP_SIZE];
static int lines = -1;
static char cmdline[512];

/* The marker the instruction-count plugin watches; must stay a real call. */
__attribute__((noinline)) void kws_bench_mark(void)
{
    __asm__ volatile("" ::: "memory");
}

static void write_result(const kws_result_t *result, void *user)
{
    char line[KWS_LINE_MAX];
    size_t n = kws_pipeline_format(result, line, sizeof line);
    (void)user;
    if (lines >= 0) {
        semihost_write(lines, line, n);
    } else {
        semihost_puts(line);
    }
}

static char *next_arg(char **s)
{
    char *start;
    while (**s == ' ') {
        (*s)++;
    }
    start = *s;
    while (**s && **s != ' ') {
        (*s)++;
    }
    if (**s) {
        *(*s)++ = '\0';
    }
    return *start ? start : NULL;
}

int main(void)
{
    char *rest = cmdline, *audio_path, *lines_path, *flags_path;
    int audio, flags = -1;
    long got;
    /* QEMU's semihosting command line starts with the program's name. */
    if (semihost_cmdline(cmdline, sizeof cmdline) != 0 || next_arg(&rest) == NULL ||
        (audio_path = next_arg(&rest)) == NULL) {
        semihost_puts("usage: kws_qemu.elf AUDIO.raw [LINES.txt [FLAGS.bin]]\n");
        return 2;
    }
    lines_path = next_arg(&rest);
    flags_path = next_arg(&rest);
    audio = semihost_open(audio_path, 1);
    if (audio < 0 || (lines_path && (lines = semihost_open(lines_path, 5)) < 0) ||
        (flags_path && (flags = semihost_open(flags_path, 5)) < 0)) {
        semihost_puts("kws_qemu: cannot open a file\n");
        return 3;
    }
    kws_pipeline_init(&pipeline, write_result, NULL);
    kws_bench_mark();
    while ((got = semihost_read(audio, hop, sizeof hop)) > 0) {
        unsigned char ran = (unsigned char)kws_pipeline_process(&pipeline, hop, (size_t)got / 2);
        kws_bench_mark();
        if (flags >= 0) {
            semihost_write(flags, &ran, 1);
        }
    }
    semihost_close(audio);
    if (lines >= 0) {
        semihost_close(lines);
    }
    if (flags >= 0) {
        semihost_close(flags);
    }
    return got < 0 ? 3 : 0;
}
