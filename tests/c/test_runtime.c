/* C unit tests of the front-end runtime that need no Python: the energy
 * filter's exact trace, the log2 at known points, Min/Max scaling at its
 * edges, and streaming in any chunk size. The bit-exact comparisons with the
 * Python reference live in tests/test_frontend_c.py. */
#include <stdio.h>
#include <string.h>

#include "kws_frontend.h"

static int failures;

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                   \
        }                                                                 \
    } while (0)

static void check_trace(int delay, int backoff, const int32_t *peaks, const int *want, int n)
{
    kws_energy_filter_t f;
    int t;
    kws_energy_filter_init(&f, 1, 200, (uint16_t)delay, (uint16_t)backoff);
    for (t = 0; t < n; t++) {
        const int got = kws_energy_filter_step(&f, peaks[t]);
        if (got != want[t]) {
            fprintf(stderr, "filter delay=%d backoff=%d hop %d: got %d, want %d\n", delay, backoff, t, got, want[t]);
            failures++;
        }
    }
}

static void test_energy_filter_trace(void)
{
    /* Triggers at hops 2 and 10; delay 3, backoff 1 asks at 5, 6 and 13, 14.
     * The loud hops 3..6 fall inside the first event and are ignored. */
    {
        const int32_t peaks[16] = {0, 0, 500, 500, 500, 500, 500, 0, 0, 0, 900, 0, 0, 0, 0, 0};
        const int want[16] = {0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0};
        check_trace(3, 1, peaks, want, 16);
    }
    /* Energy that stays loud re-triggers on the first idle hop after an event. */
    {
        const int32_t peaks[10] = {300, 300, 300, 300, 300, 300, 300, 300, 0, 0};
        const int want[10] = {0, 0, 1, 0, 0, 1, 0, 0, 1, 0};
        check_trace(2, 0, peaks, want, 10);
    }
    /* delay 0: the triggering hop itself asks. */
    {
        const int32_t peaks[6] = {0, 201, 0, 0, 0, 0};
        const int want[6] = {0, 1, 1, 1, 0, 0};
        check_trace(0, 2, peaks, want, 6);
    }
    /* The threshold is strict: a peak equal to it does not trigger. */
    {
        const int32_t peaks[3] = {200, 201, 0};
        const int want[3] = {0, 1, 0};
        check_trace(0, 0, peaks, want, 3);
    }
    /* Disabled: every hop asks. */
    {
        kws_energy_filter_t f;
        kws_energy_filter_init(&f, 0, 200, 25, 0);
        CHECK(kws_energy_filter_step(&f, 0) == 1);
    }
}

static void test_log2(void)
{
    CHECK(kws_log2_q10(0) == 0);
    CHECK(kws_log2_q10(1) == 0);
    CHECK(kws_log2_q10(2) == 1024);
    CHECK(kws_log2_q10(1024) == 10 * 1024);
    CHECK(kws_log2_q10((uint64_t)1 << 40) == 40 * 1024);
    CHECK(kws_log2_q10((uint64_t)1 << 63) == 63 * 1024);
    CHECK(kws_log2_q10(3) == 1623); /* log2(3) = 1.58496 */
}

static void test_scale(void)
{
    kws_minmax_t mm;
    int32_t c[KWS_FE_N_COEFFS];
    int8_t out[KWS_FE_N_COEFFS];
    int i;
    for (i = 0; i < KWS_FE_N_COEFFS; i++) {
        mm.min[i] = -1000;
        mm.max[i] = 1000;
        c[i] = 0;
    }
    c[0] = -5000; /* clamps to min */
    c[1] = 5000; /* clamps to max */
    c[2] = -1000;
    c[3] = 1000;
    kws_scale_minmax(c, &mm, out);
    CHECK(out[0] == -128);
    CHECK(out[1] == 127);
    CHECK(out[2] == -128);
    CHECK(out[3] == 127);
    CHECK(out[4] == 0); /* (1000 * 255 + 1000) / 2000 = 128 -> 0 */
}

static void test_chunking(void)
{
    static kws_frontend_t a, b;
    static int16_t x[16000];
    static int32_t mfcc_a[60][KWS_FE_N_COEFFS];
    kws_minmax_t mm;
    uint32_t state = 12345u;
    int i, na = 0, nb = 0;
    size_t pos;
    for (i = 0; i < 16000; i++) {
        state = state * 1103515245u + 12345u;
        x[i] = (int16_t)((int32_t)(state >> 16) - 32768);
    }
    for (i = 0; i < KWS_FE_N_COEFFS; i++) {
        mm.min[i] = -200000;
        mm.max[i] = 200000;
    }
    kws_frontend_init(&a, &mm);
    kws_frontend_init(&b, &mm);
    for (pos = 0; pos < 16000;) {
        kws_fe_hop_t hop;
        pos += kws_frontend_process(&a, x + pos, 16000 - pos, &hop);
        if (hop.produced) {
            memcpy(mfcc_a[na++], hop.mfcc, sizeof(hop.mfcc));
        }
    }
    for (pos = 0; pos < 16000;) {
        kws_fe_hop_t hop;
        pos += kws_frontend_process(&b, x + pos, 1, &hop);
        if (hop.produced) {
            CHECK(nb < na && memcmp(mfcc_a[nb], hop.mfcc, sizeof(hop.mfcc)) == 0);
            nb++;
        }
    }
    CHECK(na == 49 && nb == 49);
    {
        /* The cascade reads oldest first: its last row is the newest window's features. */
        int8_t cascade[KWS_FE_CASCADE_LEN * KWS_FE_N_COEFFS];
        int8_t newest[KWS_FE_N_COEFFS];
        kws_frontend_cascade(&a, cascade);
        kws_scale_minmax(mfcc_a[na - 1], &mm, newest);
        CHECK(memcmp(cascade + (KWS_FE_CASCADE_LEN - 1) * KWS_FE_N_COEFFS, newest, KWS_FE_N_COEFFS) == 0);
    }
}

int main(void)
{
    test_energy_filter_trace();
    test_log2();
    test_scale();
    test_chunking();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("runtime tests passed\n");
    return 0;
}
