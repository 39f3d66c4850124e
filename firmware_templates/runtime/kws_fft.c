/* Fixed-point FFT for the front end.
 *
 * A radix-4 decimation-in-frequency FFT on int16 (re, im) pairs, like
 * kissfft's butterflies but with the scaling of a fixed-point DSP library:
 * each butterfly divides by 4 through two floor halvings and then rotates by
 * a Q15 twiddle, so the data can never outgrow int16 (docs/frontend.md has
 * the bounds). The halvings and rotations are exactly what the Cortex-M4's
 * SHADD16/SHSUB16/SHSAX/SHASX and SMLSD/SMLADX compute on a packed (re, im)
 * word, which is what the KWS_USE_DSP path uses. */
#include "kws_fft.h"

#include "kws_dsp.h"
#include "kws_fixed.h"

#define M KWS_FE_FFT_LEN
#define ROUND_Q15 (1 << 14)

#if KWS_USE_DSP

/* (p * w) for a Q15 twiddle w, each part rounded half up, repacked as
 * (re, im): PKHTB takes im's bits 30..15 (from im << 1) as the top half and
 * re >> 15 as the bottom one. */
KWS_INLINE int32_t rotate(int32_t p, int32_t w)
{
    const int32_t re = __smlsd(p, w, ROUND_Q15);
    const int32_t im = __smladx(p, w, ROUND_Q15);
    int32_t out;
    __asm__("pkhtb %0, %1, %2, asr #15" : "=r"(out) : "r"((int32_t)((uint32_t)im << 1)), "r"(re));
    return out;
}

/* The radix-4 butterfly on packed (re, im) words. */
KWS_INLINE void butterfly4(int16_t *p0, int q, const int32_t *w)
{
    int16_t *p1 = p0 + 2 * q, *p2 = p1 + 2 * q, *p3 = p2 + 2 * q;
    const int32_t a = kws_load_pair(p0), b = kws_load_pair(p1);
    const int32_t c = kws_load_pair(p2), d = kws_load_pair(p3);
    const int32_t t0 = __shadd16(a, c), t1 = __shsub16(a, c);
    const int32_t t2 = __shadd16(b, d), t3 = __shsub16(b, d);
    const int32_t u1 = __shsax(t1, t3), u2 = __shsub16(t0, t2), u3 = __shasx(t1, t3);
    kws_store_pair(p0, __shadd16(t0, t2));
    if (w == 0) {
        kws_store_pair(p1, u1);
        kws_store_pair(p2, u2);
        kws_store_pair(p3, u3);
    } else {
        kws_store_pair(p1, rotate(u1, w[0]));
        kws_store_pair(p2, rotate(u2, w[1]));
        kws_store_pair(p3, rotate(u3, w[2]));
    }
}

/* Inlined per stage, so len is a constant in each copy. */
KWS_INLINE void radix4_stage(int16_t *buf, const int len)
{
    const int q = len / 4;
    const int step = M / len;
    int16_t *const end = buf + 2 * M;
    int16_t *p;
    int j;
    /* j = 0 first: its twiddles are exactly 1, so it needs no multiplies. */
    for (p = buf; p < end; p += 2 * len) {
        butterfly4(p, q, 0);
    }
    if (len == M) {
        /* One block: the three twiddles walk the table at constant strides. */
        const int16_t *t1 = kws_fe_fft_twiddle, *t2 = t1, *t3 = t1;
        for (j = 1; j < q; j++) {
            int32_t w[3];
            t1 += 2;
            t2 += 4;
            t3 += 6;
            w[0] = kws_load_pair(t1);
            w[1] = kws_load_pair(t2);
            w[2] = kws_load_pair(t3);
            butterfly4(buf + 2 * j, q, w);
        }
        return;
    }
    /* Then each twiddle triple once, held in registers for every block that uses it. */
    for (j = 1; j < q; j++) {
        int32_t w[3];
        w[0] = kws_load_pair(kws_fe_fft_twiddle + 2 * (j * step));
        w[1] = kws_load_pair(kws_fe_fft_twiddle + 2 * (2 * j * step));
        w[2] = kws_load_pair(kws_fe_fft_twiddle + 2 * (3 * j * step));
        for (p = buf + 2 * j; p < end; p += 2 * len) {
            butterfly4(p, q, w);
        }
    }
}

#else /* portable C */

KWS_INLINE void rotate_store(int16_t *out, int32_t pr, int32_t pi, const int16_t *w)
{
    const int32_t wr = w[0], wi = w[1];
    out[0] = (int16_t)((pr * wr - pi * wi + ROUND_Q15) >> 15);
    out[1] = (int16_t)((pr * wi + pi * wr + ROUND_Q15) >> 15);
}

KWS_INLINE void butterfly4(int16_t *p0, int q, const int16_t *w1, const int16_t *w2, const int16_t *w3)
{
    int16_t *p1 = p0 + 2 * q, *p2 = p1 + 2 * q, *p3 = p2 + 2 * q;
    const int32_t t0r = (p0[0] + p2[0]) >> 1, t0i = (p0[1] + p2[1]) >> 1;
    const int32_t t1r = (p0[0] - p2[0]) >> 1, t1i = (p0[1] - p2[1]) >> 1;
    const int32_t t2r = (p1[0] + p3[0]) >> 1, t2i = (p1[1] + p3[1]) >> 1;
    const int32_t t3r = (p1[0] - p3[0]) >> 1, t3i = (p1[1] - p3[1]) >> 1;
    const int32_t u1r = (t1r + t3i) >> 1, u1i = (t1i - t3r) >> 1;
    const int32_t u2r = (t0r - t2r) >> 1, u2i = (t0i - t2i) >> 1;
    const int32_t u3r = (t1r - t3i) >> 1, u3i = (t1i + t3r) >> 1;
    p0[0] = (int16_t)((t0r + t2r) >> 1);
    p0[1] = (int16_t)((t0i + t2i) >> 1);
    if (w1 == 0) {
        p1[0] = (int16_t)u1r;
        p1[1] = (int16_t)u1i;
        p2[0] = (int16_t)u2r;
        p2[1] = (int16_t)u2i;
        p3[0] = (int16_t)u3r;
        p3[1] = (int16_t)u3i;
    } else {
        rotate_store(p1, u1r, u1i, w1);
        rotate_store(p2, u2r, u2i, w2);
        rotate_store(p3, u3r, u3i, w3);
    }
}

static void radix4_stage(int16_t *buf, int len)
{
    const int q = len / 4;
    const int step = M / len;
    int base, j;
    /* j = 0 first: its twiddles are exactly 1, so it needs no multiplies. */
    for (base = 0; base < M; base += len) {
        butterfly4(buf + 2 * base, q, 0, 0, 0);
    }
    /* Then each twiddle triple once, for every block that uses it. */
    for (j = 1; j < q; j++) {
        const int16_t *w1 = kws_fe_fft_twiddle + 2 * (j * step);
        const int16_t *w2 = kws_fe_fft_twiddle + 2 * (2 * j * step);
        const int16_t *w3 = kws_fe_fft_twiddle + 2 * (3 * j * step);
        for (base = j; base < M; base += len) {
            butterfly4(buf + 2 * base, q, w1, w2, w3);
        }
    }
}

#endif /* KWS_USE_DSP */

#if KWS_FE_FFT_RADIX2_LAST
static void radix2_last_stage(int16_t *buf)
{
    int k;
    for (k = 0; k < 2 * M; k += 4) {
        const int32_t ar = buf[k], ai = buf[k + 1], br = buf[k + 2], bi = buf[k + 3];
        buf[k] = (int16_t)((ar + br) >> 1);
        buf[k + 1] = (int16_t)((ai + bi) >> 1);
        buf[k + 2] = (int16_t)((ar - br) >> 1);
        buf[k + 3] = (int16_t)((ai - bi) >> 1);
    }
}
#endif

void kws_fft_complex(int16_t *buf)
{
    int len = M, stage;
KWS_UNROLL
    for (stage = 0; stage < KWS_FE_FFT_RADIX4_STAGES; stage++) {
        radix4_stage(buf, len);
        len /= 4;
    }
#if KWS_FE_FFT_RADIX2_LAST
    radix2_last_stage(buf);
#endif
}

KWS_INLINE uint32_t power_of(int32_t xr, int32_t xi)
{
    return (uint32_t)(xr * xr) + (uint32_t)(xi * xi);
}

/* Step 5 for bins k and M - k, which share their inputs Z[k], Z[M - k] and
 * twiddle: the spec's formulas, one bin pair at a time. */
static void split_pair(const int16_t *buf, uint32_t *power, int k)
{
    const int16_t *a = buf + 2 * kws_fe_fft_pos[k];
    const int16_t *b = buf + 2 * kws_fe_fft_pos[M - k];
    const int32_t wr = kws_fe_split_twiddle[2 * k], wi = kws_fe_split_twiddle[2 * k + 1];
    const int32_t er = a[0] + b[0], ei = a[1] - b[1];
    const int32_t odr = a[1] + b[1], odi = b[0] - a[0];
    const int32_t pr = odr * wr - odi * wi;
    const int32_t ti = (odr * wi + odi * wr + ROUND_Q15) >> 15;
    const int32_t tr = (pr + ROUND_Q15) >> 15;
    power[k] = power_of(kws_shr_round(er + tr, 2), kws_shr_round(ei + ti, 2));
    if (k != M - k) {
        /* Mirror bin: twiddle (-wr, wi) and the conjugate inputs. */
        const int32_t tr_m = (-pr + ROUND_Q15) >> 15;
        power[M - k] = power_of(kws_shr_round(er + tr_m, 2), kws_shr_round(-ei + ti, 2));
    }
}

#if KWS_USE_DSP
/* split_pair on packed words, a = Z[k], b = Z[M - k], w = sw[k], nb = -b
 * (exact: |Z| < 23,200):
 *   Or wr - Oi wi    = a.re wi + a.im wr + nb.re wi - nb.im wr     SMLADX, SMLSDX
 *   -(Or wi + Oi wr) = a.re wr - a.im wi + nb.re wr + nb.im wi     SMLSD, SMLAD
 * The accumulators carry the rounding 2^14 and round_shift's +2 (as 2^16),
 * so each bin needs one shift by 15 and one by 2:
 *   Tr + 2 = PR >> 15,  tr_m + 2 = (2^15 + 2^17 - PR) >> 15,  Ti + 2 = -(NI >> 15)
 * for PR = Or wr - Oi wi + 2^14 + 2^16 and NI = -(Or wi + Oi wr) - 49153
 * (floor(-x / 2^15) = -floor((x + 32767) / 2^15) gives the constant). */
#define TR_BIAS (ROUND_Q15 + (1 << 16))
#define MIRROR_BIAS ((1 << 15) + (1 << 17))
#define TI_BIAS (32767 - TR_BIAS)

static void split_pair_dsp(const int16_t *buf, uint32_t *power, int k)
{
    const int32_t a = kws_load_pair(buf + 2 * kws_fe_fft_pos[k]);
    const int32_t b = kws_load_pair(buf + 2 * kws_fe_fft_pos[M - k]);
    const int32_t w = kws_load_pair(kws_fe_split_twiddle + 2 * k);
    const int32_t nb = __ssub16(0, b);
    const int32_t pr = __smladx(a, w, __smlsdx(nb, w, TR_BIAS));
    const int32_t ni = __smlsd(a, w, __smlad(nb, w, TI_BIAS));
    const int32_t er = (int16_t)a + (int16_t)b, ei = (a >> 16) - (b >> 16);
    power[k] = power_of((er + (pr >> 15)) >> 2, (ei - (ni >> 15)) >> 2);
    power[M - k] = power_of((er + ((MIRROR_BIAS - pr) >> 15)) >> 2, (-(ei + (ni >> 15))) >> 2);
}
#endif

void kws_fft_power(const int16_t *buf, uint32_t *power)
{
    int k;
    /* Bins 0 and N/2 come from Z[0] alone, with exact twiddles 1 and -1. */
    {
        const int32_t zr = buf[0], zi = buf[1];
        power[0] = power_of(kws_shr_round(zr + zi, 1), 0);
        power[M] = power_of(kws_shr_round(zr - zi, 1), 0);
    }
#if KWS_USE_DSP
    /* Bin M/2 stays scalar: its twiddle's -1 would not survive negation in 16 bits. */
    for (k = 1; k < M / 2; k++) {
        split_pair_dsp(buf, power, k);
    }
    split_pair(buf, power, M / 2);
#else
    for (k = 1; k <= M / 2; k++) {
        split_pair(buf, power, k);
    }
#endif
}
