/* Record layout, little-endian, one per window:
 *   uint32 frame, int32 peak, uint8 cascade_ready, uint8 classify, uint8 dropped,
 *   uint8 0, int32 mfcc[N_COEFFS], int8 features[N_COEFFS], zero padding to 4 bytes.
 * The minmax file holds N_COEFFS int32 minima then N_COEFFS int32 maxima,
 * little-endian. Hosts and Cortex-M are little-endian, so structs are not
 * byte-swapped here. */
#include "fe_driver.h"

#include <stdint.h>
#include <string.h>

#include "kws_frontend.h"

#define READ_SAMPLES 4096 /* also the largest chunk */
#define MAX_CHUNKS 64
#define RECORD_PAD ((4 - (KWS_FE_N_COEFFS % 4)) % 4)

static kws_frontend_t fe;
static kws_minmax_t minmax;
static int16_t samples[READ_SAMPLES];

typedef struct {
    const char *in, *out, *minmax;
    long first;
    long chunks[MAX_CHUNKS];
    int n_chunks;
    int filter_set;
    long filter[4];
    int mark;
} options_t;

static int parse_long(const char *s, long *out)
{
    long v = 0;
    int neg = 0;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    if (*s < '0' || *s > '9') {
        return -1;
    }
    while (*s >= '0' && *s <= '9') {
        if (v > 100000000L) {
            return -1;
        }
        v = v * 10 + (*s++ - '0');
    }
    if (*s != '\0' && *s != ',') {
        return -1;
    }
    *out = neg ? -v : v;
    return 0;
}

static int parse_list(const char *s, long *out, int max)
{
    int n = 0;
    while (*s) {
        if (n == max || parse_long(s, &out[n]) != 0) {
            return -1;
        }
        n++;
        while (*s && *s != ',') {
            s++;
        }
        if (*s == ',') {
            s++;
        }
    }
    return n;
}

static int parse_options(int argc, char **argv, options_t *o, const host_io_t *io)
{
    int i;
    memset(o, 0, sizeof(*o));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : 0;
        if (strcmp(a, "--mark") == 0) {
            o->mark = 1;
            continue;
        }
        if (v == 0) {
            io->error("missing value after an option");
            return -1;
        }
        i++;
        if (strcmp(a, "--in") == 0) {
            o->in = v;
        } else if (strcmp(a, "--out") == 0) {
            o->out = v;
        } else if (strcmp(a, "--minmax") == 0) {
            o->minmax = v;
        } else if (strcmp(a, "--first") == 0) {
            if (parse_long(v, &o->first) != 0 || o->first < 0 || o->first > READ_SAMPLES) {
                io->error("--first needs a count from 0 to 4096");
                return -1;
            }
        } else if (strcmp(a, "--chunks") == 0) {
            int k;
            o->n_chunks = parse_list(v, o->chunks, MAX_CHUNKS);
            if (o->n_chunks <= 0) {
                io->error("--chunks needs 1 to 64 counts from 1 to 4096");
                return -1;
            }
            for (k = 0; k < o->n_chunks; k++) {
                if (o->chunks[k] < 1 || o->chunks[k] > READ_SAMPLES) {
                    io->error("--chunks needs counts from 1 to 4096");
                    return -1;
                }
            }
        } else if (strcmp(a, "--filter") == 0) {
            if (parse_list(v, o->filter, 4) != 4 || o->filter[1] < 0 || o->filter[2] < 0 || o->filter[2] > 65534 ||
                o->filter[3] < 0 || o->filter[3] > 65534) {
                io->error("--filter needs ENABLED,THRESHOLD,DELAY,BACKOFF");
                return -1;
            }
            o->filter_set = 1;
        } else {
            io->error("unknown option");
            return -1;
        }
    }
    if (o->in == 0 || o->out == 0) {
        io->error("--in and --out are required");
        return -1;
    }
    if (o->n_chunks == 0) {
        o->chunks[0] = READ_SAMPLES;
        o->n_chunks = 1;
    }
    return 0;
}

static int read_minmax(const char *path, const host_io_t *io)
{
    const int h = io->open_read(path);
    long got;
    if (h < 0) {
        io->error("cannot open the minmax file");
        return -1;
    }
    got = io->read(h, minmax.min, sizeof(minmax.min));
    if (got == (long)sizeof(minmax.min)) {
        got = io->read(h, minmax.max, sizeof(minmax.max));
    }
    io->close(h);
    if (got != (long)sizeof(minmax.max)) {
        io->error("the minmax file is too short");
        return -1;
    }
    return 0;
}

static int write_record(int h, const kws_fe_hop_t *hop, const host_io_t *io)
{
    uint8_t rec[12 + 4 * KWS_FE_N_COEFFS + KWS_FE_N_COEFFS + RECORD_PAD];
    uint8_t *p = rec;
    memcpy(p, &hop->frame, 4);
    memcpy(p + 4, &hop->peak, 4);
    p[8] = hop->cascade_ready;
    p[9] = hop->classify;
    p[10] = hop->dropped;
    p[11] = 0;
    p += 12;
    memcpy(p, hop->mfcc, sizeof(hop->mfcc));
    p += sizeof(hop->mfcc);
    memcpy(p, hop->features, sizeof(hop->features));
    p += sizeof(hop->features);
    memset(p, 0, RECORD_PAD);
    return io->write(h, rec, sizeof(rec));
}

/* The input file as a stream of samples, refilled so that a chunk of up to
 * READ_SAMPLES is always handed over whole. */
typedef struct {
    int handle;
    size_t pos, end; /* valid samples are samples[pos..end) */
    int eof;
    uint8_t odd; /* a trailing odd byte waiting for its partner */
    int have_odd;
} reader_t;

/* Make at least `want` samples available unless the file ends; 0 or -1 on error. */
static int fill(reader_t *r, size_t want, const host_io_t *io)
{
    while (!r->eof && r->end - r->pos < want) {
        uint8_t *bytes;
        size_t have_bytes;
        long got;
        memmove(samples, samples + r->pos, (r->end - r->pos) * sizeof(int16_t));
        r->end -= r->pos;
        r->pos = 0;
        bytes = (uint8_t *)(samples + r->end);
        have_bytes = 0;
        if (r->have_odd) {
            bytes[0] = r->odd;
            have_bytes = 1;
            r->have_odd = 0;
        }
        got = io->read(r->handle, bytes + have_bytes, (READ_SAMPLES - r->end) * sizeof(int16_t) - have_bytes);
        if (got < 0) {
            return -1;
        }
        if (got == 0) {
            r->eof = 1;
        }
        have_bytes += (size_t)got;
        r->end += have_bytes / 2;
        if (have_bytes % 2) {
            r->odd = bytes[have_bytes - 1];
            r->have_odd = 1;
        }
    }
    return 0;
}

static int run(const options_t *o, int in, int out, const host_io_t *io)
{
    reader_t r = {0, 0, 0, 0, 0, 0};
    int chunk_idx = 0, first = o->first > 0;
    r.handle = in;
    for (;;) {
        size_t want, used;
        kws_fe_hop_t hop;
        if (first) {
            want = (size_t)o->first;
            first = 0;
        } else {
            want = (size_t)o->chunks[chunk_idx];
            chunk_idx = (chunk_idx + 1) % o->n_chunks;
        }
        if (fill(&r, want, io) != 0) {
            io->error("cannot read the input file");
            return -1;
        }
        if (r.end == r.pos) {
            return 0;
        }
        if (want > r.end - r.pos) {
            want = r.end - r.pos;
        }
        /* One chunk may complete several windows (or none): call until it is used up. */
        while (want > 0) {
            if (o->mark) {
                io->mark();
            }
            used = kws_frontend_process(&fe, samples + r.pos, want, &hop);
            if (o->mark) {
                io->mark();
            }
            r.pos += used;
            want -= used;
            if (hop.produced && write_record(out, &hop, io) != 0) {
                io->error("cannot write the output file");
                return -1;
            }
        }
    }
}

int driver_main(int argc, char **argv, const host_io_t *io)
{
    options_t o;
    int in, out, rc = 0;
    if (parse_options(argc, argv, &o, io) != 0) {
        return 2;
    }
    if (o.minmax && read_minmax(o.minmax, io) != 0) {
        return 3;
    }
    kws_frontend_init(&fe, o.minmax ? &minmax : NULL);
    if (o.filter_set) {
        kws_energy_filter_init(&fe.filter, (int)o.filter[0], (int32_t)o.filter[1], (uint16_t)o.filter[2],
                               (uint16_t)o.filter[3]);
    }
    if (o.mark) {
        io->mark(); /* a back-to-back pair measures the marker's own cost */
        io->mark();
    }
    in = io->open_read(o.in);
    if (in < 0) {
        io->error("cannot open the input file");
        return 3;
    }
    out = io->open_write(o.out);
    if (out < 0) {
        io->close(in);
        io->error("cannot open the output file");
        return 3;
    }
    if (run(&o, in, out, io) != 0) {
        rc = 3;
    }
    io->close(in);
    io->close(out);
    return rc;
}
