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
 * per half, SEL then picks per half. */
static int32_t frame_peak(const int16_t *x)
{
    int32_t hi = (int32_t)0x80008000u, lo = 0x7FFF7FFF, peak;
    int n;
    for (n = 0; n + 1 < KWS_FE_WINDOW_SIZE; n += 2) {
        const int32_t v = kws_load_pair(x + n);
        (void)__ssub16(v, hi);
        hi = (int32_t)__sel((uint32_t)v, (uint32_t)hi);
        (void)__ssub16(lo, v);
        lo = (int32_t)__sel((uint32_t)v, (uint32_t)lo);
    }
    {
        const int32_t max = (int16_t)hi > (hi >> 16) ? (int16_t)hi : (hi >> 16);
        const int32_t min = (int16_t)lo < (lo >> 16) ? (int16_t)lo : (lo >> 16);
        peak = max > -min ? max : -min;
    }
#if KWS_FE_WINDOW_SIZE % 2
    if (kws_abs32(x[KWS_FE_WINDOW_SIZE - 1]) > peak) {
        peak = kws_abs32(x[KWS_FE_WINDOW_SIZE - 1]);
    }
#endif
    return peak;
}
#else
static int32_t frame_peak(const int16_t *x)
{
    int32_t peak = 0;
    int n;
    for (n = 0; n < KWS_FE_WINDOW_SIZE; n++) {
        const int32_t a = kws_abs32(x[n]);
        if (a > peak) {
            peak = a;
        }
    }
    return peak;
}
#endif

/* Step 2: e = ((32768 x[n] - a x[n-1]) 2^s1 + 2^15) >> 16 into buf, which
 * equals the spec's form with x scaled first: the product never overflows
 * because peak * 2^s1 <= 32768. Returns the OR of g ^ (g >> 31), g = e w. */
static uint32_t emphasise(const int16_t *x, int32_t gain, int16_t *buf)
{
    int32_t prev = 0;
    uint32_t ones = 0;
    int n;
    for (n = 0; n < KWS_FE_WINDOW_SIZE; n++) {
        const int32_t cur = x[n];
        const int32_t e = ((cur * 32768 - KWS_FE_PREEMPH_Q15 * prev) * gain + (1 << 15)) >> 16;
        const int32_t g = e * kws_fe_window[n];
        prev = cur;
        buf[n] = (int16_t)e;
        ones |= (uint32_t)(g ^ (g >> 31));
    }
    return ones;
}

/* Step 3: v = (e w 2^(s2 + 1) + 2^15) >> 16, in place. */
static void apply_window(int16_t *buf, int32_t up)
{
    int n = 0;
#if KWS_USE_DSP
    for (; n + 1 < KWS_FE_WINDOW_SIZE; n += 2) {
        const int32_t e = kws_load_pair(buf + n), w = kws_load_pair(kws_fe_window + n);
        const int32_t g0 = (int16_t)e * (int16_t)w, g1 = (e >> 16) * (w >> 16);
        const uint32_t r0 = (uint32_t)(g0 * up + (1 << 15)), r1 = (uint32_t)(g1 * up + (1 << 15));
        kws_store_pair(buf + n, (int32_t)((r1 & 0xFFFF0000u) | (r0 >> 16)));
    }
#endif
    for (; n < KWS_FE_WINDOW_SIZE; n++) {
        buf[n] = (int16_t)((buf[n] * kws_fe_window[n] * up + (1 << 15)) >> 16);
    }
}

/* Steps 1-3 into the FFT buffer; returns s1 + s2. */
static int emphasise_and_window(const int16_t *x, int32_t peak, int16_t *buf)
{
    const int s1 = input_shift(peak);
    const int s2 = window_shift(emphasise(x, (int32_t)1 << s1, buf));
    apply_window(buf, (int32_t)1 << (s2 + 1));
    memset(buf + KWS_FE_WINDOW_SIZE, 0, sizeof(int16_t) * (2 * KWS_FE_FFT_LEN - KWS_FE_WINDOW_SIZE));
    return s1 + s2;
}

int32_t kws_log2_q10(uint64_t e)
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

/* Steps 6-7: mel energies, log2 in Q10, minus the block gain 2^(2s). */
static void log_mel(const uint32_t *power, int shift, int32_t *logmel)
{
    int m, k;
    for (m = 0; m < KWS_FE_N_MELS; m++) {
        const uint32_t *p = power + kws_fe_mel_start[m];
        const uint16_t *w = kws_fe_mel_weights + kws_fe_mel_offset[m];
        const int count = kws_fe_mel_count[m];
        uint64_t acc = 0;
        for (k = 0; k < count; k++) {
            acc += (uint64_t)p[k] * w[k];
        }
        logmel[m] = kws_log2_q10(acc) - 2048 * shift;
    }
}

/* Step 8: orthonormal DCT-II in Q15, rounded half up. */
static void dct(const int32_t *logmel, int32_t *mfcc)
{
    int i, m;
    for (i = 0; i < KWS_FE_N_COEFFS; i++) {
        const int16_t *row = kws_fe_dct + i * KWS_FE_N_MELS;
        int64_t acc = 1 << 14;
        for (m = 0; m < KWS_FE_N_MELS; m++) {
            acc += (int64_t)row[m] * logmel[m];
        }
        mfcc[i] = (int32_t)(acc >> 15);
    }
}

int32_t kws_mfcc_frame(const int16_t *x, int32_t *mfcc, kws_mfcc_work_t *work)
{
    const int32_t peak = frame_peak(x);
    const int shift = emphasise_and_window(x, peak, work->fft);
    kws_fft_complex(work->fft);
    kws_fft_power(work->fft, work->power);
    log_mel(work->power, shift, work->logmel);
    dct(work->logmel, mfcc);
    return peak;
}
