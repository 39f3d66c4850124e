/* Compiled-model driver shared by the host tool and the Cortex-M4 build.
 *
 * argv: --in FILE --out FILE [--trace] [--repeat N] [--mark] [--time FILE]
 *
 * Reads the input file as consecutive int8 input tensors and runs the model
 * (compiled in; nn_driver_model.h, which kwsgen writes beside the generated
 * model, maps KWS_DRIVER_* to its functions) on each. Without --trace it
 * writes each output tensor; with --trace (a build with
 * -DKWS_MODEL_TRACE=nn_driver_trace) it writes every operator's output as a
 * record: int32 operator index, int32 size, then the bytes, all
 * little-endian. --repeat runs each invoke N times (for timing), --mark calls
 * the instruction-count marker around every invoke (and, when tracing, after
 * every operator), and --time writes "invokes NANOSECONDS" to FILE. */
#include <string.h>

#include "host_io.h"
#include "nn_driver_model.h"

static const host_io_t *g_io;
static int g_out = -1, g_trace, g_mark, g_failed;

static void put_le32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16);
    b[3] = (unsigned char)(v >> 24);
}

void nn_driver_trace(int op, const int8_t *data, int32_t size);

void nn_driver_trace(int op, const int8_t *data, int32_t size)
{
    unsigned char head[8];
    if (g_mark) {
        g_io->mark();
    }
    if (!g_trace || g_out < 0) {
        return;
    }
    put_le32(head, (uint32_t)op);
    put_le32(head + 4, (uint32_t)size);
    if (g_io->write(g_out, head, sizeof(head)) != 0 || g_io->write(g_out, data, (size_t)size) != 0) {
        g_failed = 1;
    }
}

static int parse_count(const char *s, long *value)
{
    long v = 0;
    if (!*s) {
        return -1;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100000000L) {
            return -1;
        }
        v = v * 10 + (*s - '0');
    }
    *value = v;
    return 0;
}

static int read_full(int h, int8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        const long r = g_io->read(h, buf + got, n - got);
        if (r < 0) {
            return -1;
        }
        if (r == 0) {
            break;
        }
        got += (size_t)r;
    }
    return got == n ? 1 : (got == 0 ? 0 : -1);
}

static void format_u64(char *buf, uint64_t v)
{
    char tmp[24];
    int n = 0, i;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (i = 0; i < n; i++) {
        buf[i] = tmp[n - 1 - i];
    }
    buf[n] = '\0';
}

static int write_time(const char *path, uint64_t invokes, uint64_t ns)
{
    char line[64];
    const int h = g_io->open_write(path);
    if (h < 0) {
        return -1;
    }
    format_u64(line, invokes);
    strcat(line, " ");
    format_u64(line + strlen(line), ns);
    strcat(line, "\n");
    if (g_io->write(h, line, strlen(line)) != 0) {
        g_io->close(h);
        return -1;
    }
    g_io->close(h);
    return 0;
}

int driver_main(int argc, char **argv, const host_io_t *io)
{
    static int8_t input[KWS_DRIVER_INPUT_SIZE];
    const char *in_path = NULL, *out_path = NULL, *time_path = NULL;
    long repeat = 1, r;
    uint64_t invokes = 0, elapsed = 0;
    int i, in, status;
    g_io = io;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--trace")) {
            g_trace = 1;
        } else if (!strcmp(a, "--mark")) {
            g_mark = 1;
        } else if (i + 1 >= argc) {
            io->error("missing value after an option, or unknown option");
            return 2;
        } else if (!strcmp(a, "--in")) {
            in_path = argv[++i];
        } else if (!strcmp(a, "--out")) {
            out_path = argv[++i];
        } else if (!strcmp(a, "--time")) {
            time_path = argv[++i];
        } else if (!strcmp(a, "--repeat")) {
            if (parse_count(argv[++i], &repeat) != 0 || repeat < 1) {
                io->error("--repeat needs a count of at least 1");
                return 2;
            }
        } else {
            io->error("unknown option");
            return 2;
        }
    }
    if (!in_path || !out_path) {
        io->error("--in and --out are required");
        return 2;
    }
    in = io->open_read(in_path);
    g_out = io->open_write(out_path);
    if (in < 0 || g_out < 0) {
        io->error("cannot open the input or the output file");
        return 3;
    }
    KWS_DRIVER_INIT();
    while ((status = read_full(in, input, sizeof(input))) == 1) {
        uint64_t t0;
        memcpy(KWS_DRIVER_INPUT(), input, sizeof(input));
        t0 = io->now_ns();
        for (r = 0; r < repeat; r++) {
            if (r > 0) {
                memcpy(KWS_DRIVER_INPUT(), input, sizeof(input)); /* layers may reuse the input's bytes */
            }
            if (g_mark) {
                io->mark();
            }
            KWS_DRIVER_INVOKE();
            if (g_mark) {
                io->mark();
            }
            invokes++;
        }
        elapsed += io->now_ns() - t0;
        if (!g_trace && io->write(g_out, KWS_DRIVER_OUTPUT(), KWS_DRIVER_OUTPUT_SIZE) != 0) {
            g_failed = 1;
        }
        if (g_failed) {
            break;
        }
    }
    io->close(in);
    io->close(g_out);
    if (status < 0) {
        io->error("the input file is not a whole number of input tensors");
        return 3;
    }
    if (g_failed) {
        io->error("cannot write the output file");
        return 3;
    }
    if (time_path && write_time(time_path, invokes, elapsed) != 0) {
        io->error("cannot write the time file");
        return 3;
    }
    return 0;
}
