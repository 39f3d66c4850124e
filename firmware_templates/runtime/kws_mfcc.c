/* Fixed-point MFCC of one window. The Python reference
 * (kwsgen/frontend/mfcc.py) is the specification; this is the same arithmetic
 * one frame at a time. */
#include "kws_mfcc.h"

#include <string.h>

#include "kws_dsp.h"
#include "kws_fft.h"
#include "kws_fixed.h"

/* Step 1: s1, the largest s in 0..15 with peak * 2^s <= 32767. */
static int input_shift(int32_t peak)
{
    int s;
    if (peak == 0) {
        return 15;
    }
    s = kws_clz32((uint32_t)peak) - 17;
    return s < 0 ? 0 : s;
}

/* Step 3: s2 = clamp(29 - bitlen(ones), -1, 28), ones = OR of g ^ (g >> 31). */
static int window_shift(uint32_t ones)
{
    int s;
    if (ones == 0) {
        return 28;
    }
    s = kws_clz32(ones) - 3;
    return s > 28 ? 28 : s;
}

#if KWS_USE_DSP
/* Running max and min of both halves of each pair: SSUB16 sets the GE flags
 * per half, SEL then picks per half. Four pairs a round keeps the loop
 * overhead small. */
KWS_INLINE void peak_pair(int32_t v, int32_t *hi, int32_t *lo)
{
    (void)__ssub16(v, *hi);
    *hi = (int32_t)__sel((uint32_t)v, (uint32_t)*hi);
    (void)__ssub16(*lo, v);
    *lo = (int32_t)__sel((uint32_t)v, (uint32_t)*lo);
}

int32_t kws_peak(const int16_t *x, int n)
{
    int32_t hi = (int32_t)0x80008000u, lo = 0x7FFF7FFF, peak;
    int k = 0;
    for (; k + 7 < n; k += 8) {
        peak_pair(kws_load_pair(x + k), &hi, &lo);
        peak_pair(kws_load_pair(x + k + 2), &hi, &lo);
        peak_pair(kws_load_pair(x + k + 4), &hi, &lo);
        peak_pair(kws_load_pair(x + k + 6), &hi, &lo);
    }
    for (; k + 1 < n; k += 2) {
        peak_pair(kws_load_pair(x + k), &hi, &lo);
    }
    {
        const int32_t max = (int16_t)hi > (hi >> 16) ? (int16_t)hi : (hi >> 16);
        const int32_t min = (int16_t)lo < (lo >> 16) ? (int16_t)lo : (lo >> 16);
        peak = max > -min ? max : -min;
    }
    if (k < n && kws_abs32(x[k]) > peak) {
        peak = kws_abs32(x[k]);
    }
    return peak < 0 ? 0 : peak; /* n == 0: nothing seen */
}
#else
int32_t kws_peak(const int16_t *x, int n)
{
    int32_t peak = 0;
    int k;
    for (k = 0; k < n; k++) {
        const int32_t a = kws_abs32(x[k]);
        if (a > peak) {
            peak = a;
        }
    }
    return peak;
}
#endif

/* OR of g ^ (g >> 31): the bit length of the largest |g| (step 3). */
KWS_INLINE uint32_t magnitude_bits(int32_t g)
{
    return (uint32_t)(g ^ (g >> 31));
}

#if KWS_USE_DSP
/* The pair (lo -A, hi -32768): SMLSD of it with (x[n-1], x[n]) adds
 * 32768 x[n] - A x[n-1] to its accumulator. */
#define EMPHASIS_PAIR ((int32_t)(0x80000000u | (uint16_t)(-KWS_FE_PREEMPH_Q15)))

/* Step 2 as (d + 2^(15-s1)) >> (16-s1), d = 32768 x[n] - A x[n-1]: the spec's
 * numerator and denominator both divided by 2^s1, so the same integer, and
 * d plus the rounding is one SMLSD on the (possibly unaligned) pair
 * x[n-1], x[n]. |d| + 2^15 < 2^31, so nothing wraps. Returns the OR of
 * g ^ (g >> 31), g = e w. */
KWS_INLINE uint32_t emphasise_pair(const int16_t *x, int16_t *buf, int n, int32_t half, int down)
{
    const int32_t e0 = __smlsd(kws_load_pair(x + n - 1), EMPHASIS_PAIR, half) >> down;
    const int32_t e1 = __smlsd(kws_load_pair(x + n), EMPHASIS_PAIR, half) >> down;
    const int32_t w = kws_load_pair(kws_fe_window + n);
    kws_store_pair(buf + n, kws_pkhbt16(e0, e1));
    return magnitude_bits((int16_t)e0 * (int16_t)w) | magnitude_bits((int16_t)e1 * (w >> 16));
}

static uint32_t emphasise(const int16_t *x, int s1, int16_t *buf)
{
    const int down = 16 - s1;
    const int32_t half = (int32_t)1 << (15 - s1);
    const int32_t e0 = (x[0] * 32768 + half) >> down; /* x[-1] = 0 */
    const int32_t e1 = __smlsd(kws_load_pair(x), EMPHASIS_PAIR, half) >> down;
    const int32_t w = kws_load_pair(kws_fe_window);
    uint32_t ones = magnitude_bits((int16_t)e0 * (int16_t)w) | magnitude_bits((int16_t)e1 * (w >> 16));
    int n;
    kws_store_pair(buf, kws_pkhbt16(e0, e1));
    for (n = 2; n + 1 < KWS_FE_WINDOW_SIZE; n += 2) {
        ones |= emphasise_pair(x, buf, n, half, down);
    }
#if KWS_FE_WINDOW_SIZE % 2
    {
        const int32_t last = __smlsd(kws_load_pair(x + n - 1), EMPHASIS_PAIR, half) >> down;
        buf[n] = (int16_t)last;
        ones |= magnitude_bits(last * kws_fe_window[n]);
    }
#endif
    return ones;
}

/* Step 3: v = (g 2^(s2 + 1) + 2^15) >> 16, g = e w, in place. For s2 <= 14
 * that is (g + 2^(14 - s2)) >> (15 - s2): one SMLAxy and a shift. For larger
 * s2 the low 16 bits of g 2^(s2 + 1) are zero, so v = g 2^(s2 - 15). */
KWS_INLINE int32_t window_pair_rounded(int32_t e, int32_t w, int32_t half, int down)
{
    return kws_pkhbt16(__smlabb(e, w, half) >> down, __smlatt(e, w, half) >> down);
}

KWS_INLINE int32_t window_pair_shifted(int32_t e, int32_t w, int up)
{
    const uint32_t g0 = (uint32_t)((int16_t)e * (int16_t)w), g1 = (uint32_t)((e >> 16) * (w >> 16));
    return kws_pkhbt16((int32_t)(g0 << up), (int32_t)(g1 << up));
}

static void apply_window(int16_t *buf, int s2)
{
    const int16_t *win = kws_fe_window;
    int n = 0;
    if (s2 <= 14) {
        const int down = 15 - s2;
        const int32_t half = (int32_t)1 << (14 - s2);
        for (; n + 1 < KWS_FE_WINDOW_SIZE; n += 2) {
            kws_store_pair(buf + n, window_pair_rounded(kws_load_pair(buf + n), kws_load_pair(win + n), half, down));
        }
    } else {
        const int up = s2 - 15;
        for (; n + 1 < KWS_FE_WINDOW_SIZE; n += 2) {
            kws_store_pair(buf + n, window_pair_shifted(kws_load_pair(buf + n), kws_load_pair(win + n), up));
        }
    }
#if KWS_FE_WINDOW_SIZE % 2
    buf[n] = (int16_t)(((int64_t)buf[n] * win[n] * ((int64_t)1 << (s2 + 1)) + (1 << 15)) >> 16);
#endif
}

#else /* portable C */

/* Step 2: e = ((32768 x[n] - a x[n-1]) 2^s1 + 2^15) >> 16 into buf, which
 * equals the spec's form with x scaled first: the product never overflows
 * because peak * 2^s1 <= 32768. Returns the OR of g ^ (g >> 31), g = e w. */
static uint32_t emphasise(const int16_t *x, int s1, int16_t *buf)
{
    const int32_t gain = (int32_t)1 << s1;
    int32_t prev = 0;
    uint32_t ones = 0;
    int n;
    for (n = 0; n < KWS_FE_WINDOW_SIZE; n++) {
        const int32_t cur = x[n];
        const int32_t e = ((cur * 32768 - KWS_FE_PREEMPH_Q15 * prev) * gain + (1 << 15)) >> 16;
        prev = cur;
        buf[n] = (int16_t)e;
        ones |= magnitude_bits(e * kws_fe_window[n]);
    }
    return ones;
}

/* Step 3: v = (e w 2^(s2 + 1) + 2^15) >> 16, in place. */
static void apply_window(int16_t *buf, int s2)
{
    const int32_t up = (int32_t)1 << (s2 + 1);
    int n;
    for (n = 0; n < KWS_FE_WINDOW_SIZE; n++) {
        buf[n] = (int16_t)((buf[n] * kws_fe_window[n] * up + (1 << 15)) >> 16);
    }
}

#endif /* KWS_USE_DSP */

/* Steps 1-3 into the FFT buffer; returns s1 + s2. */
static int emphasise_and_window(const int16_t *x, int32_t peak, int16_t *buf)
{
    const int s1 = input_shift(peak);
    const int s2 = window_shift(emphasise(x, s1, buf));
    apply_window(buf, s2);
    memset(buf + KWS_FE_WINDOW_SIZE, 0, sizeof(int16_t) * (2 * KWS_FE_FFT_LEN - KWS_FE_WINDOW_SIZE));
    return s1 + s2;
}

/* Step 7's log, inlined into log_mel (kws_log2_q10 below is the same for callers outside). */
KWS_INLINE int32_t log2_q10(uint64_t e)
{
    uint32_t mant, frac, idx, rem;
    int32_t exponent, t0, t1, f16;
    const uint32_t hi = (uint32_t)(e >> 32);
    if (hi != 0) {
        exponent = 63 - kws_clz32(hi);
        mant = (uint32_t)(e >> (exponent - 31));
    } else {
        uint32_t lo = (uint32_t)e;
        if (lo == 0) {
            lo = 1;
        }
        exponent = 31 - kws_clz32(lo);
        mant = lo << (31 - exponent);
    }
    frac = mant - 0x80000000u;
    idx = frac >> 25;
    rem = (frac >> 9) & 0xFFFFu;
    t0 = kws_fe_log2_table[idx];
    t1 = kws_fe_log2_table[idx + 1];
    f16 = t0 + (int32_t)(((uint32_t)(t1 - t0) * rem) >> 16);
    return exponent * 1024 + ((f16 + 32) >> 6);
}

int32_t kws_log2_q10(uint64_t e)
{
    return log2_q10(e);
}

#if KWS_USE_DSP
/* acc += p * w as one UMLAL: written as asm because GCC turns an unrolled
 * chain of 64-bit additions into UMULL, ADDS and ADC. */
KWS_INLINE uint64_t umlal(uint64_t acc, uint32_t p, uint32_t w)
{
    __asm__("umlal %Q0, %R0, %1, %2" : "+r"(acc) : "r"(p), "r"(w));
    return acc;
}

/* Step 6 for one band, four bins a round. */
KWS_INLINE uint64_t band_energy(const uint32_t *p, const uint16_t *w, int count)
{
    const uint32_t *const end = p + count;
    uint64_t acc = 0;
    for (; p + 4 <= end; p += 4, w += 4) {
        acc = umlal(acc, p[0], w[0]);
        acc = umlal(acc, p[1], w[1]);
        acc = umlal(acc, p[2], w[2]);
        acc = umlal(acc, p[3], w[3]);
    }
    for (; p < end; p++, w++) {
        acc = umlal(acc, *p, *w);
    }
    return acc;
}
#else
KWS_INLINE uint64_t band_energy(const uint32_t *p, const uint16_t *w, int count)
{
    uint64_t acc = 0;
    int k;
    for (k = 0; k < count; k++) {
        acc += (uint64_t)p[k] * w[k];
    }
    return acc;
}
#endif

/* Steps 6-7: mel energies, log2 in Q10, minus the block gain 2^(2s). The
 * bands' weights are stored back to back (kws_fe_mel_offset is the running
 * sum of the counts), so one pointer walks them. Kept out of line: inlined
 * into kws_mfcc_frame_peak it runs short of registers. */
KWS_NOINLINE static void log_mel(const uint32_t *power, int shift, int32_t *logmel)
{
    const uint16_t *w = kws_fe_mel_weights;
    int m;
    for (m = 0; m < KWS_FE_N_MELS; m++) {
        const int count = kws_fe_mel_count[m];
        logmel[m] = log2_q10(band_energy(power + kws_fe_mel_start[m], w, count)) - 2048 * shift;
        w += count;
    }
}

/* Step 8: orthonormal DCT-II in Q15, rounded half up. */
/* Row c of the table mirrors itself with the sign (-1)^c (the generator
 * refuses a table that is not), so with
 * s[b] = L[b] + L[B-1-b] and d[b] = L[b] - L[B-1-b] (b < B/2, made in place:
 * s in the first half, d in the second, reversed), even rows need only
 * D[c][b] s[b] and odd rows D[c][b] d[b], plus the middle band when B is odd.
 * Half the multiplies, the same sums: |s|, |d| < 2^19, all in int64. */
static void dct(int32_t *logmel, int32_t *mfcc)
{
    int i, m;
    for (m = 0; m < KWS_FE_N_MELS / 2; m++) {
        const int32_t lo = logmel[m], hi = logmel[KWS_FE_N_MELS - 1 - m];
        logmel[m] = lo + hi;
        logmel[KWS_FE_N_MELS - 1 - m] = lo - hi;
    }
    for (i = 0; i < KWS_FE_N_COEFFS; i++) {
        const int16_t *row = kws_fe_dct + i * KWS_FE_N_MELS;
        int64_t acc = 1 << 14;
        if (i % 2 == 0) {
KWS_UNROLL
            for (m = 0; m < KWS_FE_N_MELS / 2; m++) {
                acc += (int64_t)row[m] * logmel[m];
            }
        } else {
KWS_UNROLL
            for (m = 0; m < KWS_FE_N_MELS / 2; m++) {
                acc += (int64_t)row[m] * logmel[KWS_FE_N_MELS - 1 - m];
            }
        }
#if KWS_FE_N_MELS % 2
        acc += (int64_t)row[KWS_FE_N_MELS / 2] * logmel[KWS_FE_N_MELS / 2];
#endif
        mfcc[i] = (int32_t)(acc >> 15);
    }
}

void kws_mfcc_frame(const int16_t *x, int32_t peak, int32_t *mfcc, kws_mfcc_work_t *work)
{
    const int shift = emphasise_and_window(x, peak, work->fft);
    kws_fft_complex(work->fft);
    kws_fft_power(work->fft, work->power);
    log_mel(work->power, shift, work->logmel);
    dct(work->logmel, mfcc);
}
