/* TFLite's int8 requantisation arithmetic, spelled out in C99.
 *
 * These reproduce gemmlowp's SaturatingRoundingDoublingHighMul and
 * RoundingDivideByPOT and TFLite's (double-rounding) MultiplyByQuantizedMultiplier
 * exactly, including C's truncating division where gemmlowp divides. Shifts
 * that TFLite performs on possibly negative values are done on 64-bit or
 * unsigned values here, so nothing relies on undefined behaviour. */
#ifndef KWS_NN_MATH_H
#define KWS_NN_MATH_H

#include <stdint.h>

#include "../kws_dsp.h"
#include "../kws_fixed.h"

/* (a * b) / 2^31, rounded to nearest with halves rounded up (gemmlowp's nudge: -0.5 gives 0), saturating INT32_MIN^2. */
KWS_INLINE int32_t kws_srdhm(int32_t a, int32_t b)
{
    int64_t ab;
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    ab = (int64_t)a * b;
    ab += ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    return (int32_t)(ab / ((int64_t)1 << 31)); /* C division truncates toward zero, as gemmlowp's */
}

/* x / 2^exponent rounded to nearest, ties away from zero. 0 <= exponent <= 31. */
KWS_INLINE int32_t kws_rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^left with the wrap-around of 32-bit arithmetic, but no undefined behaviour. */
KWS_INLINE int32_t kws_shl_wrap(int32_t x, int left)
{
    return (int32_t)(uint32_t)((uint32_t)x << left);
}

/* a + b with the wrap-around of 32-bit arithmetic (the accumulators of TFLite's kernels). */
KWS_INLINE int32_t kws_add_wrap(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* TFLite's MultiplyByQuantizedMultiplier: x * multiplier * 2^shift / 2^31. */
KWS_INLINE int32_t kws_mbqm(int32_t x, int32_t multiplier, int shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return kws_rdbpot(kws_srdhm(kws_shl_wrap(x, left), multiplier), right);
}

/* kws_mbqm(x, multiplier, -right) + offset, from x2 = 2x, for 0 <= multiplier < 2^31,
 * 0 <= right <= 20 and |x| < 2^29, which the generator proves for every
 * channel of a layer before it uses this. right_plus_one is right + 1, and
 * rounding is 2^right + offset * 2^(right + 1), precomputed per channel.
 *
 * Why it is exact there:
 *  - For a non-negative multiplier, gemmlowp's nudge-and-truncate equals
 *    floor((x * m + 2^30) / 2^31) = floor((2x * m + 2^31) / 2^32), which is
 *    SMMULR(2x, m) on the DSP. Kernels that can accumulate 2x directly (with
 *    doubled weights) save the doubling.
 *  - RoundingDivideByPOT(h, e) equals floor((2h + 2^e - [h < 0]) / 2^(e+1))
 *    for every e >= 0: ties go away from zero, with no extra case for e = 0.
 *  - Adding offset * 2^(e+1) inside the floor adds exactly offset outside it.
 *  - |h| < 2^29, |offset| <= 128 and e <= 20, so nothing overflows. */
KWS_INLINE int32_t kws_requant_fast_x2(int32_t x2, int32_t multiplier, int32_t rounding, int right_plus_one)
{
    int32_t h;
#if KWS_USE_DSP
    __asm__("smmulr %0, %1, %2" : "=r"(h) : "r"(x2), "r"(multiplier));
#else
    h = (int32_t)(((int64_t)x2 * multiplier + ((int64_t)1 << 31)) >> 32);
#endif
    return (rounding + h + h - (int32_t)((uint32_t)h >> 31)) >> right_plus_one;
}

/* The same from x itself (2x fits, as |x| < 2^29). */
KWS_INLINE int32_t kws_requant_fast(int32_t x, int32_t multiplier, int32_t rounding, int right_plus_one)
{
    return kws_requant_fast_x2(x + x, multiplier, rounding, right_plus_one);
}

/* x clamped to int8. */
KWS_INLINE int8_t kws_sat_s8(int32_t x)
{
#if KWS_USE_DSP
    return (int8_t)__ssat(x, 8);
#else
    return (int8_t)(x < -128 ? -128 : (x > 127 ? 127 : x));
#endif
}

#endif /* KWS_NN_MATH_H */
